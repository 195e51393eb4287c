// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-native, its peers below the library: raw bus1 clients of the
 * broker (garbage, no Hello) and hostile native peers that forge senders
 * of direct calls and Door.Open answers.
 */
#define TAP_SHARED
#define DBUS_TEST_SHARED
#include "test-dbus-native.h"

/*
 * a bus1 client that sends the broker bytes that are no D-Bus message
 * (@garbage), or nothing at all: the broker drops it, which it sees as
 * NODE_DESTROY of its broker handle; *ms: when
 */
bool raw_dropped(bool garbage, long long *ms)
{
	long long t0 = test_now_ms(), end = t0 + 15000;
	struct bus1_message msg;
	struct b1c *raw = NULL;
	bool gone = false;
	struct pollfd p;

	if (b1c_connect(b1sock, &raw) < 0)
		return false;
	if (garbage &&
	    bus1_send_data(raw->peer, raw->broker, "l\1\0\1garbage", 11) < 0)
		goto out;
	p.fd = bus1_peer_get_fd(raw->peer);
	p.events = POLLIN;
	while (!gone && test_now_ms() < end) {
		if (poll(&p, 1, 200) <= 0)
			continue;
		while (!gone && !bus1_recv(raw->peer, 0, &msg)) {
			gone = msg.type == BUS1_MSG_NODE_DESTROY &&
			       msg.destination == raw->broker;
			bus1_message_release(&msg);
		}
	}
out:
	*ms = test_now_ms() - t0;
	b1c_free(raw);
	return gone;
}

/* --- a hostile native peer, below the library ------------------------- */

static int raw_serial;

/* send @m from @raw to @dst with @handle attached (INVALID: none) */
int raw_send(struct b1c *raw, DBusMessage *m, __u64 dst, __u64 handle)
{
	dbus_message_set_serial(m, ++raw_serial);
	return dwire_send(raw->peer, m, &dst, 1, NULL, &handle,
			  handle == BUS1_HANDLE_INVALID ? 0 : 1);
}

/* the reply to serial @serial on @raw's inbox; *handlep: its handle[0] */
static DBusMessage *raw_reply(struct b1c *raw, dbus_uint32_t serial,
			      __u64 *handlep)
{
	long long end = test_now_ms() + 10000;
	struct pollfd p = { .fd = bus1_peer_get_fd(raw->peer),
			    .events = POLLIN };
	struct bus1_message msg;
	DBusMessage *m = NULL;
	size_t i;

	while (!m && test_now_ms() < end) {
		if (bus1_recv(raw->peer, BUS1_RECV_FLAG_INSTALL_FDS, &msg) < 0) {
			poll(&p, 1, 200);
			continue;
		}
		if (msg.type == BUS1_MSG_DATA) {
			m = dwire_parse(&msg, NULL);
			if (m && dbus_message_get_reply_serial(m) != serial) {
				dbus_message_unref(m);
				m = NULL;
			}
			for (i = 0; i < msg.n_handles; i++)
				if (m && !i && handlep)
					*handlep = msg.handles[0];
				else
					bus1_handle_release(raw->peer,
							    msg.handles[i]);
		}
		bus1_message_release(&msg);
	}
	return m;
}

/* a bus call from @raw: the reply, *handlep its handle[0] if any */
static DBusMessage *raw_bus_call(struct b1c *raw, DBusMessage *m,
				 __u64 *handlep)
{
	if (raw_send(raw, m, raw->broker, BUS1_HANDLE_INVALID) < 0)
		return NULL;
	return raw_reply(raw, raw_serial, handlep);
}

static __u64 raw_get_handle(struct b1c *raw, const char *name)
{
	DBusMessage *m, *r;
	__u64 h = BUS1_HANDLE_INVALID;

	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 "org.bus1.DBus", "GetConnectionHandle");
	dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID);
	r = raw_bus_call(raw, m, &h);
	dbus_message_unref(m);
	unref(r);
	return h;
}

/*
 * a native peer below the library, connected and past its Hello: its
 * unique name goes to @unique (if not NULL). NULL if either failed.
 */
struct b1c *raw_hello(char *unique, size_t size)
{
	struct b1c *raw = NULL;
	const char *u = NULL;
	DBusMessage *m, *r;

	if (b1c_connect(b1sock, &raw) < 0)
		return NULL;
	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 DBUS_INTERFACE_DBUS, "Hello");
	r = raw_bus_call(raw, m, NULL);
	dbus_message_unref(m);
	if (r && dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &u,
				       DBUS_TYPE_INVALID) && unique)
		snprintf(unique, size, "%s", u);
	unref(r);
	if (!u) {
		b1c_free(raw);
		return NULL;
	}
	return raw;
}

/*
 * a native peer that says Hello, looks up the service and @victim's inbox
 * like any client may, then sends the service Note() calls that claim to
 * come from @victim: one carrying its own inbox as reply handle, one
 * carrying the victim's. false if it could not even send them.
 */
bool forge_notes(const char *victim)
{
	__u64 hs, hv, own;
	struct b1c *raw;
	DBusMessage *m;
	bool ok = false;

	raw = raw_hello(NULL, 0);
	if (!raw)
		return false;
	hs = raw_get_handle(raw, SVC_NAME);
	hv = raw_get_handle(raw, victim);
	own = raw->reply_node;
	if (hs == BUS1_HANDLE_INVALID || hv == BUS1_HANDLE_INVALID)
		goto out;
	m = dbus_message_new_method_call(SVC_NAME, SVC_PATH, SVC_IFACE, "Note");
	dbus_message_set_sender(m, victim);
	dbus_message_set_no_reply(m, TRUE);
	ok = !raw_send(raw, m, hs, own);
	dbus_message_unref(m);
	m = dbus_message_new_method_call(SVC_NAME, SVC_PATH, SVC_IFACE, "Note");
	dbus_message_set_sender(m, victim);
	dbus_message_set_no_reply(m, TRUE);
	ok = ok && !raw_send(raw, m, hs, hv);
	dbus_message_unref(m);
out:
	b1c_free(raw);
	return ok;
}

/*
 * a native peer below the library calls the service's Note() through the
 * bus, the call claiming to come from @victim: the bus must write the
 * peer's own name, which goes to @unique. false if the call failed.
 */
bool forge_via_bus(const char *victim, char *unique, size_t size)
{
	struct b1c *raw;
	DBusMessage *m, *r;
	bool ok;

	raw = raw_hello(unique, size);
	if (!raw)
		return false;
	m = dbus_message_new_method_call(SVC_NAME, SVC_PATH, SVC_IFACE, "Note");
	dbus_message_set_sender(m, victim);
	r = raw_bus_call(raw, m, NULL);
	dbus_message_unref(m);
	ok = r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_METHOD_RETURN;
	unref(r);
	b1c_free(raw);
	return ok;
}

/*
 * a native peer below the library opens a door at the service the way the
 * library does (Door.Open with a nonce, in its own name, to the inbox the
 * bus gave it), then calls Note() on the door in its own name, then one
 * claiming to be @victim: the callee serves the first and drops the second
 * (its sender is not the door's caller); the peer's name goes to @unique. false
 * if it got no door or could not send. The peer goes to *rawp: its inbox
 * must outlive the call (the callee closes its doors when it goes).
 */
bool forge_on_door(const char *victim, char *unique, size_t size,
		   struct b1c **rawp)
{
	dbus_uint64_t nonce = 0x5eed0fd002ULL, echo = 0;
	__u64 hs, door = BUS1_HANDLE_INVALID;
	struct b1c *raw;
	DBusMessage *m, *r;
	bool ok = false;

	raw = raw_hello(unique, size);
	if (!raw)
		return false;
	hs = raw_get_handle(raw, SVC_NAME);
	if (hs == BUS1_HANDLE_INVALID)
		goto out;
	m = dbus_message_new_method_call(SVC_NAME, "/", "org.bus1.DBus.Door",
					 "Open");
	dbus_message_set_sender(m, unique);
	dbus_message_append_args(m, DBUS_TYPE_UINT64, &nonce,
				 DBUS_TYPE_INVALID);
	r = raw_send(raw, m, hs, BUS1_HANDLE_INVALID) ? NULL :
	    raw_reply(raw, raw_serial, &door);
	dbus_message_unref(m);
	if (!r || !dbus_message_get_args(r, NULL, DBUS_TYPE_UINT64, &echo,
					 DBUS_TYPE_INVALID) ||
	    echo != nonce || door == BUS1_HANDLE_INVALID) {
		unref(r);
		goto out;
	}
	unref(r);
	/* its own first: the door works; then the forged one */
	m = dbus_message_new_method_call(SVC_NAME, SVC_PATH, SVC_IFACE, "Note");
	dbus_message_set_sender(m, unique);
	dbus_message_set_no_reply(m, TRUE);
	ok = !raw_send(raw, m, door, BUS1_HANDLE_INVALID);
	dbus_message_unref(m);
	m = dbus_message_new_method_call(SVC_NAME, SVC_PATH, SVC_IFACE, "Note");
	dbus_message_set_sender(m, victim);
	dbus_message_set_no_reply(m, TRUE);
	ok = ok && !raw_send(raw, m, door, BUS1_HANDLE_INVALID);
	dbus_message_unref(m);
out:
	*rawp = raw;
	return ok;
}

/*
 * a child: a peer below the library owning FORGER_NAME that answers
 * Door.Open with a wrong nonce and a node of its own attached, as anybody
 * holding the caller's inbox could; Echo() answers "door" if the call came
 * on that node (to the node the call carries), "bus" if it came from the
 * bus. Writes "<RequestName result>\n" to @fd.
 */
void door_forger(int fd)
{
	struct pollfd p = { .events = POLLIN };
	__u64 fake = BUS1_HANDLE_INVALID, h, dst;
	const char *name = FORGER_NAME, *caller;
	dbus_uint32_t flags = DBUS_NAME_FLAG_DO_NOT_QUEUE, rn = 0;
	struct bus1_message msg;
	dbus_uint64_t nonce;
	struct b1c *raw;
	DBusMessage *m, *r;

	raw = raw_hello(NULL, 0);
	if (raw) {
		m = dbus_message_new_method_call(DBUS_SERVICE_DBUS,
						 DBUS_PATH_DBUS,
						 DBUS_INTERFACE_DBUS,
						 "RequestName");
		dbus_message_append_args(m, DBUS_TYPE_STRING, &name,
					 DBUS_TYPE_UINT32, &flags,
					 DBUS_TYPE_INVALID);
		r = raw_bus_call(raw, m, NULL);
		dbus_message_unref(m);
		if (r)
			dbus_message_get_args(r, NULL, DBUS_TYPE_UINT32, &rn,
					      DBUS_TYPE_INVALID);
		unref(r);
	}
	dprintf(fd, "%u\n", rn);
	close(fd);
	if (rn != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		_exit(1);
	p.fd = bus1_peer_get_fd(raw->peer);
	for (;;) {
		if (bus1_recv(raw->peer, BUS1_RECV_FLAG_INSTALL_FDS, &msg) < 0) {
			poll(&p, 1, -1);
			continue;
		}
		m = msg.type == BUS1_MSG_DATA ? dwire_parse(&msg, NULL) : NULL;
		h = msg.n_handles ? msg.handles[0] : BUS1_HANDLE_INVALID;
		dst = msg.destination;
		bus1_message_release(&msg);
		if (!m)
			continue;
		caller = dbus_message_get_sender(m);
		if (dbus_message_is_method_call(m, "org.bus1.DBus.Door", "Open") &&
		    caller && dbus_message_get_args(m, NULL, DBUS_TYPE_UINT64,
						    &nonce, DBUS_TYPE_INVALID) &&
		    !bus1_node_new(raw->peer, &fake)) {
			nonce ^= 1;
			r = dbus_message_new_method_return(m);
			dbus_message_append_args(r, DBUS_TYPE_UINT64, &nonce,
						 DBUS_TYPE_INVALID);
			raw_send(raw, r, raw_get_handle(raw, caller), fake);
			dbus_message_unref(r);
		} else if (dbus_message_is_method_call(m, SVC_IFACE, "Echo")) {
			r = reply_str(m, dst == fake ? "door" : "bus");
			raw_send(raw, r, dst == fake ? h : raw->broker,
				 BUS1_HANDLE_INVALID);
			dbus_message_unref(r);
		}
		dbus_message_unref(m);
	}
}
