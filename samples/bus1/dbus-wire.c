// SPDX-License-Identifier: GPL-2.0
/*
 * D-Bus messages in bus1 messages. libdbus's public API marshals a message
 * (dbus_message_marshal()) but cannot demarshal one that carries unix fds:
 * dbus_message_demarshal() has no way to be given them and reports the
 * message corrupt. So messages with fds are loaded by the same internal
 * loader dbus_message_demarshal() uses, handed the fds first. Those
 * functions are in the static libdbus-1.a we link (no ABI drift at run
 * time); they validate exactly as for a socket. No wire parsing here.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "dbus-loader.h"
#include "dbus-wire.h"

int dwire_send(struct bus1_peer *peer, DBusMessage *m, const __u64 *dst,
	       size_t n_dst, __u64 *errors, const __u64 *handles,
	       size_t n_handles)
{
	const int *fds = NULL;
	unsigned int n_fds = 0;
	struct iovec iov;
	static dbus_uint32_t next_serial;
	char *buf;
	int len, r;

	/*
	 * the bus's own messages get their serial where libdbus would give
	 * one: when first sent (a socket connection may have done so)
	 */
	if (!dbus_message_get_serial(m)) {
		if (!++next_serial)
			next_serial = 1;
		dbus_message_set_serial(m, next_serial);
	}
	if (!dbus_message_marshal(m, &buf, &len))
		return -ENOMEM;
	if (dbus_message_contains_unix_fds(m))
		_dbus_message_get_unix_fds(m, &fds, &n_fds);
	iov.iov_base = buf;
	iov.iov_len = len;
	r = bus1_send(peer, &(struct bus1_send){
		.flags = n_dst > 1 ? BUS1_SEND_FLAG_CONTINUE : 0,
		.destinations = dst,
		.n_destinations = n_dst,
		.errors = n_dst > 1 ? errors : NULL,
		.vecs = &iov,
		.n_vecs = 1,
		.handles = handles,
		.n_handles = n_handles,
		.fds = fds,
		.n_fds = n_fds,
	});
	dbus_free(buf);
	return r;
}

static void close_fds(const struct bus1_message *msg, size_t from)
{
	size_t i;

	for (i = from; i < msg->n_fds; i++)
		close(msg->fds[i]);
}

DBusMessage *dwire_parse(const struct bus1_message *msg, DBusError *err)
{
	struct DBusMessageLoader *l;
	DBusMessage *m = NULL;
	struct DBusString *buf;
	unsigned int max;
	int *fds;

	/* (libdbus reports a truncated message as out of memory) */
	if (msg->n_bytes > 0x7fffffff ||
	    dbus_message_demarshal_bytes_needed(msg->data, msg->n_bytes) !=
	    (int)msg->n_bytes) {
		close_fds(msg, 0);
		dbus_set_error_const(err, DBUS_ERROR_INVALID_ARGS,
				     "Not one whole D-Bus message");
		return NULL;
	}
	if (!msg->n_fds)
		return dbus_message_demarshal(msg->data, msg->n_bytes, err);
	l = _dbus_message_loader_new();
	if (!l) {
		close_fds(msg, 0);
		dbus_set_error_const(err, DBUS_ERROR_NO_MEMORY, "Out of memory");
		return NULL;
	}
	/* the loader owns the fds from here, also when it fails */
	if (!_dbus_message_loader_get_unix_fds(l, &fds, &max) ||
	    max < msg->n_fds) {
		close_fds(msg, 0);
		dbus_set_error_const(err, DBUS_ERROR_LIMITS_EXCEEDED,
				     "Too many unix fds");
		goto out;
	}
	memcpy(fds, msg->fds, msg->n_fds * sizeof(int));
	_dbus_message_loader_return_unix_fds(l, fds, msg->n_fds);
	_dbus_message_loader_get_buffer(l, &buf, NULL, NULL);
	if (!_dbus_string_append_len(buf, msg->data, msg->n_bytes)) {
		_dbus_message_loader_return_buffer(l, buf);
		dbus_set_error_const(err, DBUS_ERROR_NO_MEMORY, "Out of memory");
		goto out;
	}
	_dbus_message_loader_return_buffer(l, buf);
	if (!_dbus_message_loader_queue_messages(l) ||
	    _dbus_message_loader_get_is_corrupted(l)) {
		dbus_set_error_const(err, DBUS_ERROR_INVALID_ARGS,
				     "Message is corrupted");
		goto out;
	}
	m = _dbus_message_loader_pop_message(l);
	if (!m)
		dbus_set_error_const(err, DBUS_ERROR_INVALID_ARGS,
				     "Message is incomplete");
	if (m) {
		DBusMessage *extra = _dbus_message_loader_pop_message(l);

		/* one bus1 message carries exactly one D-Bus message */
		if (extra) {
			dbus_message_unref(extra);
			dbus_message_unref(m);
			m = NULL;
			dbus_set_error_const(err, DBUS_ERROR_INVALID_ARGS,
					     "More than one message");
		}
	}
	if (m) {
		const int *mfds;
		unsigned int n;

		/* ... and exactly its fds (the loader closes the others) */
		_dbus_message_get_unix_fds(m, &mfds, &n);
		if (n != msg->n_fds) {
			dbus_message_unref(m);
			m = NULL;
			dbus_set_error_const(err, DBUS_ERROR_INVALID_ARGS,
					     "Unix fds the message does not announce");
		}
	}
out:
	_dbus_message_loader_unref(l);
	return m;
}
