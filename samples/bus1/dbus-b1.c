// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: the bus1 transport for native clients (issue 19 item
 * 2). The broker owns one bus1 peer. A client bootstraps with the
 * bus1-broker hello (broker.rst): it passes its peer fd and the ID of its
 * *inbox* node; the broker takes a handle to the inbox and gives the client
 * a handle to a *connection node* of its own, one per client, so the node a
 * message arrives on names its sender. From then on every message either
 * way is one D-Bus message in one bus1 message (dbus-wire.h): driver calls,
 * signals and calls to socket clients go to the connection node, the bus
 * answers and forwards to the inbox. Calls between two native clients do
 * not come here at all: GetConnectionHandle hands the caller a handle to the
 * callee's inbox. Broadcast signals go to a second node of the client, its
 * *signal node*, whose handle the client attaches to Hello and nobody else
 * gets, so the client knows what arrives there is the bus's. Design:
 * Documentation/bus1/dbus.rst.
 *
 * A message's node names its connection through t->by_node; the handles of
 * live connections' inboxes and signal nodes are in t->by_inbox and
 * t->by_sigbox (they are released, and may be reused, when it dies).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "broker-proto.h"
#include "dbus-b1-int.h"
#include "dbus-wire.h"

static const struct bconn_ops nc_ops;

static void nc_gone(struct nconn *nc);

static bool nc_send(struct bconn *c, DBusMessage *m)
{
	struct nconn *nc = to_nconn(c);
	int r;

	if (nc->bc.gone)
		return false;
	/*
	 * our node for the client rides along: nobody else can attach it, so
	 * the client knows a call with it came through the bus (dbus.rst)
	 */
	r = dwire_send(nc->t->peer, m, &nc->inbox, 1, NULL, &nc->node, 1);
	if (r < 0)
		bus_log(c->bus, 2, "%s: cannot send: %s", c->unique,
			bus1_strerror(r));
	/*
	 * its inbox is destroyed, its NODE_DESTROY still on its way to us (a
	 * socket caller is not ordered against it): nothing more goes to it,
	 * but what it sent before its death is queued before that
	 * NODE_DESTROY and is still routed; the disconnect waits for it
	 */
	if (r == -EHOSTUNREACH)
		nc->bc.gone = true;
	return !r;
}

static long nc_outgoing_size(struct bconn *c)
{
	/* nothing queues here: the kernel charges the receiver's quota */
	return 0;
}

static bool nc_can_pass_fds(struct bconn *c)
{
	return true;
}

static void hello_del(struct nconn *nc)
{
	fifo_del(&nc->t->hello, &nc->hello);
}

static void nc_gone(struct nconn *nc)
{
	if (nc->dead)
		return;
	nc->dead = true;
	nc->bc.gone = true;
	hello_del(nc);
	nc->t->n_dead++;
	map_del(&nc->t->by_inbox, &nc->by_inbox);
	map_del(&nc->t->by_sigbox, &nc->by_sigbox);
	/* the client's further sends to us fail, and it sees NODE_DESTROY */
	bus1_node_destroy(nc->t->peer, &nc->node, 1,
			  BUS1_NODES_DESTROY_FLAG_RELEASE_HANDLES);
	if (nc->copy != BUS1_HANDLE_INVALID)
		bus1_node_destroy(nc->t->peer, &nc->copy, 1,
				  BUS1_NODES_DESTROY_FLAG_RELEASE_HANDLES);
	bus1_handle_release(nc->t->peer, nc->inbox);
	if (nc->sigbox != BUS1_HANDLE_INVALID)
		bus1_handle_release(nc->t->peer, nc->sigbox);
}

static void nc_close(struct bconn *c)
{
	nc_gone(to_nconn(c));
}

/*
 * one bus1 multicast to every native receiver of a broadcast: to their
 * signal nodes (a client that gave none, a raw peer, gets it on its inbox)
 */
static unsigned int nc_multicast(struct bconn **to, unsigned int n,
				 DBusMessage *m)
{
	struct b1t *t = to_nconn(to[0])->t;
	__u64 dst[BUS1_DESTINATION_MAX], err[BUS1_DESTINATION_MAX];
	unsigned int i, k = 0, ok = 0;

	for (i = 0; i < n && k < BUS1_DESTINATION_MAX; i++) {
		struct nconn *nc = to_nconn(to[i]);

		if (!nc->bc.gone)
			dst[k++] = nc->sigbox != BUS1_HANDLE_INVALID ?
				   nc->sigbox : nc->inbox;
	}
	if (!k)
		return 0;
	memset(err, 0, k * sizeof(err[0]));
	if (dwire_send(t->peer, m, dst, k, err, NULL, 0) < 0)
		return 0;
	for (i = 0; i < k; i++)
		ok += !err[i];
	t->bus->n_multicasts++;
	t->bus->n_multicast_dsts += k;
	return ok;
}

static const struct bconn_ops nc_ops = {
	.send = nc_send,
	.outgoing_size = nc_outgoing_size,
	.can_pass_fds = nc_can_pass_fds,
	.close = nc_close,
	.multicast = nc_multicast,
	.monitored = b1t_monitored,
};

/* --- the org.bus1.DBus extension --------------------------------------- */

static bool grant_has(const struct nconn *nc, __u64 id)
{
	unsigned int i;

	for (i = 0; i < nc->n_granted; i++)
		if (nc->granted[i] == id)
			return true;
	return false;
}

/*
 * @nc got @to's inbox: remember it; false if out of memory. The ids of
 * dead connections (never reused) go when the array is full.
 */
static bool grant_add(struct nconn *nc, const struct bconn *to)
{
	char unique[32];
	unsigned int i, n = 0;
	__u64 *v;

	if (grant_has(nc, to->id))
		return true;
	if (nc->n_granted == nc->max_granted) {
		for (i = 0; i < nc->n_granted; i++) {
			snprintf(unique, sizeof(unique), ":1.%llu",
				 (unsigned long long)nc->granted[i]);
			if (bus_find_unique(nc->bc.bus, unique))
				nc->granted[n++] = nc->granted[i];
		}
		nc->n_granted = n;
	}
	if (nc->n_granted == nc->max_granted) {
		n = nc->max_granted ? 2 * nc->max_granted : 8;
		v = realloc(nc->granted, n * sizeof(*v));
		if (!v)
			return false;
		nc->granted = v;
		nc->max_granted = n;
	}
	nc->granted[nc->n_granted++] = to->id;
	return true;
}

/*
 * the reply to an org.bus1.DBus call: @handle (if any) as handle[0], then
 * the connection node, which shows the reply is the bus's (as in nc_send)
 */
void ext_reply(struct nconn *nc, DBusMessage *call, DBusMessage *r,
	       const __u64 *handle)
{
	__u64 h[2] = { handle ? *handle : nc->node, nc->node };

	dbus_message_set_sender(r, BUS_DRIVER_NAME);
	dbus_message_set_destination(r, nc->bc.unique);
	dbus_message_set_no_reply(r, TRUE);
	bus_monitor(nc->bc.bus, r);
	if (dwire_send(nc->t->peer, r, &nc->inbox, 1, NULL, h, handle ? 2 : 1))
		nc->bc.bus->n_dropped++;
	dbus_message_unref(r);
}

/*
 * GetConnectionHandle(s name) -> (s unique), handle: the owner's inbox,
 * which lets the caller send it anything: only if the send rules let the
 * caller send to it. GetCallerHandle(s unique) is the other direction, for
 * a callee answering a Door.Open: the caller's inbox, only if the caller
 * may send to the asker (its replies then go there, as a reply to a call
 * let through is always allowed) and the caller got the asker's inbox from
 * GetConnectionHandle (so sent it the Door.Open). Without the latter any
 * peer could get the inbox of any connection that may send to it, one it
 * may not send to included. A native peer with neither handle has no way
 * to reach the other's inbox: the kernel refuses sends to a node the
 * sender holds no handle for.
 */
static void ext_get_handle(struct nconn *nc, DBusMessage *call, bool caller)
{
	struct bus *b = nc->bc.bus;
	const char *name, *unique;
	struct bconn *to;
	DBusMessage *r;
	DBusError err;
	bool ok;

	b->n_lookups++;
	dbus_error_init(&err);
	if (!dbus_message_get_args(call, &err, DBUS_TYPE_STRING, &name,
				   DBUS_TYPE_INVALID)) {
		bus_reply_error(&nc->bc, call, err.name, "%s", err.message);
		dbus_error_free(&err);
		return;
	}
	if (caller && name[0] != ':') {
		bus_reply_error(&nc->bc, call, DBUS_ERROR_INVALID_ARGS,
				"GetCallerHandle takes a unique name");
		return;
	}
	to = name[0] == ':' ? bus_find_unique(b, name) : names_owner(b, name);
	if (!to) {
		bus_reply_error(&nc->bc, call, DBUS_ERROR_NAME_HAS_NO_OWNER,
				"Name \"%s\" does not exist", name);
		return;
	}
	ok = caller ? names_may_send(to, &nc->bc, nc->bc.unique) :
		      names_may_send(&nc->bc, to, name);
	if (ok && caller && to->ops == &nc_ops &&
	    !grant_has(to_nconn(to), nc->bc.id)) {
		bus_reply_error(&nc->bc, call, DBUS_ERROR_ACCESS_DENIED,
				"%s got no handle to %s from the bus: no handle",
				name, nc->bc.unique);
		return;
	}
	if (!ok) {
		if (caller)
			bus_reply_error(&nc->bc, call, DBUS_ERROR_ACCESS_DENIED,
					"%s may not send to %s: no handle",
					name, nc->bc.unique);
		else
			bus_deny_send(&nc->bc, call, to, name);
		return;
	}
	if (to->ops != &nc_ops || to_nconn(to)->dead) {
		/* the caller sends through the bus instead */
		bus_reply_error(&nc->bc, call, B1D_ERROR_NOT_NATIVE,
				"%s is not a bus1 connection", name);
		return;
	}
	if (!caller && !grant_add(nc, to)) {
		bus_reply_error(&nc->bc, call, DBUS_ERROR_NO_MEMORY,
				"out of memory");
		return;
	}
	unique = to->unique;
	r = dbus_message_new_method_return(call);
	if (!r || !dbus_message_append_args(r, DBUS_TYPE_STRING, &unique,
					    DBUS_TYPE_INVALID)) {
		if (r)
			dbus_message_unref(r);
		return;
	}
	b->n_handles_given++;
	ext_reply(nc, call, r, &to_nconn(to)->inbox);
}

static void ext_get_stats(struct nconn *nc, DBusMessage *call)
{
	struct bus *b = nc->bc.bus;
	DBusMessage *r = dbus_message_new_method_return(call);
	dbus_uint64_t v[8] = {
		b->n_messages, b->n_calls_routed, b->n_replies_routed,
		b->n_multicasts, b->n_multicast_dsts, b->n_handles_given,
		b->n_lookups, b->n_denied,
	};

	if (!r || !dbus_message_append_args(r, DBUS_TYPE_UINT64, &v[0],
					    DBUS_TYPE_UINT64, &v[1],
					    DBUS_TYPE_UINT64, &v[2],
					    DBUS_TYPE_UINT64, &v[3],
					    DBUS_TYPE_UINT64, &v[4],
					    DBUS_TYPE_UINT64, &v[5],
					    DBUS_TYPE_UINT64, &v[6],
					    DBUS_TYPE_UINT64, &v[7],
					    DBUS_TYPE_INVALID)) {
		if (r)
			dbus_message_unref(r);
		return;
	}
	ext_reply(nc, call, r, NULL);
}

/* true if the message was the extension's */
static bool ext_handle(struct nconn *nc, DBusMessage *m)
{
	const char *dest = dbus_message_get_destination(m);

	if (!nc->bc.registered || nc->bc.monitor || !dest ||
	    strcmp(dest, BUS_DRIVER_NAME) ||
	    dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL ||
	    !dbus_message_has_interface(m, B1D_IFACE))
		return false;
	nc->bc.bus->n_messages++;
	if (!bus_set_sender(&nc->bc, m))
		return true;
	bus_monitor(nc->bc.bus, m);
	if (dbus_message_has_member(m, "GetConnectionHandle"))
		ext_get_handle(nc, m, false);
	else if (dbus_message_has_member(m, "GetCallerHandle"))
		ext_get_handle(nc, m, true);
	else if (dbus_message_has_member(m, "GetStats"))
		ext_get_stats(nc, m);
	else if (dbus_message_has_member(m, "GetMonitorStats"))
		b1t_monitor_stats(nc, m);
	else
		bus_reply_error(&nc->bc, m, DBUS_ERROR_UNKNOWN_METHOD,
				"%s.%s is not known", B1D_IFACE,
				dbus_message_get_member(m) ?: "");
	return true;
}

/* --- receiving --------------------------------------------------------- */

static struct nconn *find_node(struct b1t *t, __u64 node)
{
	return map_get_u64(&t->by_node, node, struct nconn, by_node);
}

/* the live connection whose inbox or signal node @handle is */
static struct nconn *find_inbox(struct b1t *t, __u64 handle)
{
	struct nconn *nc = map_get_u64(&t->by_inbox, handle, struct nconn,
				       by_inbox);

	return nc ?: map_get_u64(&t->by_sigbox, handle, struct nconn, by_sigbox);
}

/*
 * A handle on the first message (Hello) is the client's signal node: ours
 * to keep if it is a remote node no connection uses yet. Only the client
 * and we hold it, so it is no way to reach another connection: a client
 * that gives the inbox of another one only sends that one signals it will
 * drop (they arrive on its inbox without our handle).
 */
static bool take_sigbox(struct nconn *nc, __u64 h)
{
	if (nc->dead || nc->bc.registered || nc->sigbox != BUS1_HANDLE_INVALID ||
	    !(h & BUS1_HANDLE_FLAG_REMOTE) || find_inbox(nc->t, h))
		return false;
	nc->sigbox = h;
	nc->by_sigbox.key.u64 = h;
	map_add(&nc->t->by_sigbox, &nc->by_sigbox);
	return true;
}

static void handle_data(struct b1t *t, struct bus1_message *msg)
{
	struct nconn *nc = find_node(t, msg->destination), *copy;
	DBusMessage *m;
	DBusError err;
	size_t i;

	/* a copy for the monitors: never routed (dbus-b1-mon.c) */
	copy = nc ? NULL : map_get_u64(&t->by_copy, msg->destination,
				       struct nconn, by_copy);
	if (copy) {
		b1t_copy(copy, msg);
		return;
	}

	/* but the signal node with Hello, nobody sends the bus handles */
	for (i = 0; i < msg->n_handles; i++)
		if (i || !nc || !take_sigbox(nc, msg->handles[0]))
			bus1_handle_release(t->peer, msg->handles[i]);
	bus_log(t->bus, 3, "bus1: %zu bytes, %zu fds on node %llx (%s)",
		msg->n_bytes, msg->n_fds, (unsigned long long)msg->destination,
		nc ? nc->bc.unique : "no connection");
	if (!nc || nc->dead || nc->bc.closing) {
		for (i = 0; i < msg->n_fds; i++)
			close(msg->fds[i]);
		return;
	}
	if (msg->n_fds > t->bus->limits.max_message_fds ||
	    msg->n_bytes > t->bus->limits.max_message_size) {
		for (i = 0; i < msg->n_fds; i++)
			close(msg->fds[i]);
		bconn_kill(&nc->bc, "message over the limits (%zu bytes, %zu fds)",
			   msg->n_bytes, msg->n_fds);
		return;
	}
	dbus_error_init(&err);
	m = dwire_parse(msg, &err);
	if (!m) {
		bconn_kill(&nc->bc, "malformed message: %s", err.message);
		dbus_error_free(&err);
		return;
	}
	if (!ext_handle(nc, m))
		bus_receive(&nc->bc, m);
	dbus_message_unref(m);
}

/*
 * bus_disconnect() for every connection that died or was closed. A
 * disconnect sends (NameOwnerChanged, NoReply); should that close another
 * one behind us in the list (bconn_kill()): again until no death is left.
 */
static void reap(struct b1t *t)
{
	struct nconn *nc, **pp;

	while (t->n_dead) {
		t->n_dead = 0;
		for (pp = &t->conns; (nc = *pp);) {
			if (!nc->dead) {
				pp = &nc->next;
				continue;
			}
			*pp = nc->next;
			map_del(&t->by_node, &nc->by_node);
			if (nc->copy != BUS1_HANDLE_INVALID)
				map_del(&t->by_copy, &nc->by_copy);
			bus_disconnect(&nc->bc);
			free(nc->granted);
			free(nc);
		}
	}
}

static void recv_all(struct b1t *t)
{
	struct bus1_message msg;
	struct nconn *nc;
	int i;

	for (i = 0; i < RECV_BATCH; i++) {
		if (bus1_recv(t->peer, BUS1_RECV_FLAG_INSTALL_FDS, &msg) < 0)
			return;
		switch (msg.type) {
		case BUS1_MSG_DATA:
			handle_data(t, &msg);
			break;
		case BUS1_MSG_NODE_DESTROY:	/* a client's node is gone */
			nc = find_inbox(t, msg.destination);
			if (nc)
				nc_gone(nc);
			break;
		case BUS1_MSG_NODE_RELEASE:	/* a client dropped our node */
			nc = find_node(t, msg.destination);
			if (nc)
				nc_gone(nc);
			break;
		}
		bus1_message_release(&msg);
		/*
		 * before the next message: bus1's order puts a death before
		 * whatever a caller sent after seeing it, so such a call
		 * finds the dead one's names gone, or with their next owners
		 */
		reap(t);
	}
}

/* --- bootstrap --------------------------------------------------------- */

static void welcome(int fd, int status, __u64 h)
{
	b1b_welcome(fd, status, 0, h);
}

static void boot_hello(struct b1t *t, int fd)
{
	struct b1b_hello h;
	struct ucred cred;
	struct nconn *nc = NULL;
	__u64 h_client = BUS1_HANDLE_INVALID;
	int peer_fd = -1, r;

	r = b1b_hello_recv(fd, &h, &peer_fd, &cred);
	if (r < 0)
		goto out;
	r = -ENOMEM;
	nc = calloc(1, sizeof(*nc));
	if (!nc)
		goto out;
	nc->t = t;
	nc->inbox = BUS1_HANDLE_INVALID;
	nc->sigbox = BUS1_HANDLE_INVALID;
	nc->node = BUS1_HANDLE_INVALID;
	nc->copy = BUS1_HANDLE_INVALID;
	bconn_init(t->bus, &nc->bc, &nc_ops, nc);
	nc->bc.pid = cred.pid;
	nc->bc.gid = cred.gid;
	r = -EUSERS;
	if (!bus_user_allowed(t->bus, &nc->bc, cred.uid))
		goto out;
	/* the inbox handle, taken through the client's fd */
	r = b1b_take_client_node(t->peer, peer_fd, h.reply_node, &nc->inbox);
	if (r < 0)
		goto out;
	r = bus1_node_new(t->peer, &nc->node);
	if (r < 0)
		goto out;
	r = bus1_handle_transfer_fd(t->peer, nc->node, peer_fd, &h_client);
out:
	if (r < 0 && nc) {
		if (nc->inbox != BUS1_HANDLE_INVALID)
			bus1_handle_release(t->peer, nc->inbox);
		if (nc->node != BUS1_HANDLE_INVALID)
			bus1_node_destroy(t->peer, &nc->node, 1,
					  BUS1_NODES_DESTROY_FLAG_RELEASE_HANDLES);
		nc->bc.closing = true;	/* refused: no "disconnected" line */
		bus_disconnect(&nc->bc);
		free(nc);
		nc = NULL;
		bus_log(t->bus, 0, "refusing a bus1 client: %s", strerror(-r));
	}
	welcome(fd, r, h_client);
	if (nc) {
		nc->hello_deadline_ms = bus_now_ms() +
					t->bus->limits.auth_timeout_ms;
		fifo_push(&t->hello, &nc->hello);
		nc->next = t->conns;
		t->conns = nc;
		nc->by_node.key.u64 = nc->node;
		map_add(&t->by_node, &nc->by_node);
		nc->by_inbox.key.u64 = nc->inbox;
		map_add(&t->by_inbox, &nc->by_inbox);
		bus_log(t->bus, 1, "bus1 client connected (uid %u pid %d)",
			(unsigned int)cred.uid, (int)cred.pid);
	}
	if (peer_fd >= 0)
		close(peer_fd);
}

static void boot_drop(struct b1t *t, unsigned int i)
{
	close(t->boots[i].fd);
	t->boots[i] = t->boots[--t->n_boots];
}

static void boot_accept(struct b1t *t)
{
	int fd;

	for (;;) {
		fd = accept4(t->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (t->n_boots == BOOT_MAX) {
			welcome(fd, -EBUSY, BUS1_HANDLE_INVALID);
			close(fd);
			bus_log(t->bus, 0, "refusing a bus1 client: %d %s",
				BOOT_MAX, "bootstraps are pending");
			continue;
		}
		t->boots[t->n_boots].fd = fd;
		t->boots[t->n_boots].deadline_ms = bus_now_ms() +
						   BOOT_TIMEOUT_MS;
		t->n_boots++;
	}
}

/* the oldest connection still waiting for its Hello (registered ones go) */
static struct nconn *hello_first(struct b1t *t)
{
	struct nconn *nc;

	while ((nc = fifo_first(&t->hello, struct nconn, hello)) &&
	       nc->bc.registered)
		hello_del(nc);
	return nc;
}

/* as for socket clients: Hello within auth_timeout */
static void hello_deadlines(struct b1t *t, __u64 now)
{
	struct nconn *nc;

	while ((nc = hello_first(t)) && nc->hello_deadline_ms <= now) {
		hello_del(nc);
		bconn_kill(&nc->bc, "no Hello within auth_timeout");
	}
}

/* --- the main loop's side ------------------------------------------------ */

unsigned int b1t_pollfds(struct b1t *t, struct pollfd *pfd, unsigned int max)
{
	unsigned int i, n = 0;

	if (max < 2 + t->n_boots)
		return 0;
	pfd[n].fd = t->listen_fd;
	pfd[n++].events = POLLIN;
	pfd[n].fd = bus1_peer_get_fd(t->peer);
	pfd[n++].events = POLLIN;
	for (i = 0; i < t->n_boots; i++) {
		pfd[n].fd = t->boots[i].fd;
		pfd[n++].events = POLLIN;
	}
	return n;
}

void b1t_dispatch(struct b1t *t, const struct pollfd *pfd, unsigned int n)
{
	__u64 now = bus_now_ms();
	unsigned int i;
	int fd;

	/* bootstraps first: their slots move when one is dropped */
	for (i = n; i > 2; i--) {
		if (!pfd[i - 1].revents)
			continue;
		fd = pfd[i - 1].fd;
		boot_hello(t, fd);
		if (t->boots[i - 3].fd == fd)
			boot_drop(t, i - 3);
	}
	for (i = 0; i < t->n_boots;) {
		if (t->boots[i].deadline_ms <= now) {
			bus_log(t->bus, 0, "dropping a bus1 bootstrap: no hello within %d ms",
				BOOT_TIMEOUT_MS);
			boot_drop(t, i);
		} else {
			i++;
		}
	}
	if (n > 0 && pfd[0].revents)
		boot_accept(t);
	if (n > 1 && pfd[1].revents)
		recv_all(t);
	hello_deadlines(t, bus_now_ms());
	reap(t);
}

int b1t_timeout(struct b1t *t)
{
	__u64 now = bus_now_ms(), first = UINT64_MAX;
	struct nconn *nc;
	unsigned int i;

	if (t->n_dead)
		return 0;
	for (i = 0; i < t->n_boots; i++)
		if (t->boots[i].deadline_ms < first)
			first = t->boots[i].deadline_ms;
	nc = hello_first(t);
	if (nc && nc->hello_deadline_ms < first)
		first = nc->hello_deadline_ms;
	if (first == UINT64_MAX)
		return -1;
	return first > now ? (int)(first - now) : 0;
}

int b1t_new(struct bus *b, const char *path, struct b1t **tp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct b1t *t;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->bus = b;
	t->listen_fd = -1;
	fifo_init(&t->hello);
	map_init(&t->by_node, false);
	map_init(&t->by_inbox, false);
	map_init(&t->by_sigbox, false);
	map_init(&t->by_copy, false);
	r = bus1_peer_new(&t->peer);
	if (r < 0)
		goto fail;
	t->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
			      SOCK_CLOEXEC, 0);
	unlink(path);
	if (t->listen_fd < 0 ||
	    bind(t->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0666) < 0 || listen(t->listen_fd, 64) < 0) {
		r = -errno;
		goto fail;
	}
	t->path = strdup(path);
	*tp = t;
	return 0;
fail:
	if (t->listen_fd >= 0)
		close(t->listen_fd);
	bus1_peer_free(t->peer);
	free(t);
	return r;
}

void b1t_free(struct b1t *t)
{
	if (!t)
		return;
	close(t->listen_fd);
	while (t->n_boots)
		boot_drop(t, 0);
	if (t->path)
		unlink(t->path);
	free(t->path);
	bus1_peer_free(t->peer);
	map_destroy(&t->by_node);
	map_destroy(&t->by_inbox);
	map_destroy(&t->by_sigbox);
	map_destroy(&t->by_copy);
	free(t);
}
