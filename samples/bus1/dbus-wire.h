/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One D-Bus message in one bus1 message: the payload is the message as
 * dbus_message_marshal() writes it, its unix fds travel as bus1 fds.
 * Shared by bus1-dbus-broker's bus1 transport and the native library.
 * Design: Documentation/bus1/dbus.rst, "D-Bus natively over bus1".
 */
#ifndef _BUS1_DBUS_WIRE_H
#define _BUS1_DBUS_WIRE_H

#include <dbus/dbus.h>
#include <linux/types.h>
#include <bus1/bus1.h>

/*
 * The D-Bus message in @msg (received with BUS1_RECV_FLAG_INSTALL_FDS).
 * The message takes over the installed fds; on failure they are closed.
 * NULL and @err set if the payload is not one valid D-Bus message.
 */
struct DBusMessage *dwire_parse(const struct bus1_message *msg,
				struct DBusError *err);

/*
 * Send @m to @n_dst destinations as one transaction. With more than one
 * destination BUS1_SEND_FLAG_CONTINUE is used and @errors (n_dst entries)
 * receives each destination's errno. @handles are attached.
 */
int dwire_send(struct bus1_peer *peer, DBusMessage *m, const __u64 *dst,
	       size_t n_dst, __u64 *errors, const __u64 *handles,
	       size_t n_handles);

#endif /* _BUS1_DBUS_WIRE_H */
