/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The functions of libdbus's message loader that dbus_message_demarshal()
 * is made of (dbus-message-internal.h, libdbus-1 1.14). They are not
 * public, but the static libdbus-1.a we link has them; dbus-wire.c says
 * why they are needed.
 */
#ifndef _BUS1_DBUS_LOADER_H
#define _BUS1_DBUS_LOADER_H

#include <dbus/dbus.h>

struct DBusMessageLoader;
struct DBusString;

struct DBusMessageLoader *_dbus_message_loader_new(void);
void _dbus_message_loader_unref(struct DBusMessageLoader *l);
void _dbus_message_loader_get_buffer(struct DBusMessageLoader *l,
				     struct DBusString **buf, int *max_to_read,
				     dbus_bool_t *may_fds);
void _dbus_message_loader_return_buffer(struct DBusMessageLoader *l,
					struct DBusString *buf);
dbus_bool_t _dbus_message_loader_get_unix_fds(struct DBusMessageLoader *l,
					      int **fds, unsigned int *max);
void _dbus_message_loader_return_unix_fds(struct DBusMessageLoader *l,
					  int *fds, unsigned int n);
dbus_bool_t _dbus_message_loader_queue_messages(struct DBusMessageLoader *l);
dbus_bool_t _dbus_message_loader_get_is_corrupted(struct DBusMessageLoader *l);
struct DBusMessage *_dbus_message_loader_pop_message(struct DBusMessageLoader *l);
dbus_bool_t _dbus_string_append_len(struct DBusString *s, const char *buf,
				    int len);
void _dbus_message_get_unix_fds(struct DBusMessage *m, const int **fds,
				unsigned int *n);

#endif /* _BUS1_DBUS_LOADER_H */
