// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libbus1-dbus: D-Bus natively over bus1 (dbus-native.h). A connection is a
 * bus1 peer with one *inbox* node; nearly everything arrives there. It
 * holds a handle to its connection node in bus1-dbus-broker (calls to the
 * bus, signals, calls to socket clients) and, once looked up, handles to
 * the inboxes of the native peers it calls. A direct call goes to a *door*:
 * a node the callee made for this one caller, so the node a call arrives
 * on names its sender (bus1 messages carry no sender). The callee replies
 * to a node the caller gave it alone, so the node a reply arrives on names
 * its sender too. The broker is not on that path. Signals come from the
 * bus only: broadcasts on a *signal node* whose one handle the broker got
 * with Hello, unicasts on the inbox with our broker handle attached.
 * Messages are sd-bus's: each connection's sd_bus writes and reads them
 * through the pump (dbus-native-pump.c), which carries the bytes and unix
 * fds in and out of bus1 messages.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "broker-proto.h"
#include "dbus-native-int.h"

long long b1di_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void b1di_qmsg_free(struct b1d_bus *bus, struct qmsg *q)
{
	if (q->handle != BUS1_HANDLE_INVALID)
		bus1_handle_release(bus->c->peer, q->handle);
	sd_bus_message_unref(q->m);
	free(q);
}

/* --- the cache of destinations ------------------------------------------ */

static struct peer_ent *peer_find(struct b1d_bus *bus, const char *name)
{
	struct peer_ent *p;

	for (p = bus->peers; p; p = p->next)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

static void peer_forget(struct b1d_bus *bus, struct peer_ent *p)
{
	__u64 door = p->door;

	p->via_bus = false;
	if (door != BUS1_HANDLE_INVALID) {
		bus1_handle_release(bus->c->peer, door);
		p->door = BUS1_HANDLE_INVALID;
		b1di_rpath_put(bus, door);
	}
	if (p->handle == BUS1_HANDLE_INVALID)
		return;
	bus1_handle_release(bus->c->peer, p->handle);
	p->handle = BUS1_HANDLE_INVALID;
}

static void peers_forget_handle(struct b1d_bus *bus, __u64 handle)
{
	struct peer_ent *p;

	for (p = bus->peers; p; p = p->next)
		if (p->handle == handle || p->door == handle)
			peer_forget(bus, p);
}

/*
 * the door we hold of the peer whose inbox is @inbox: it dies with it, and
 * forgetting the inbox releases it before its own NODE_DESTROY comes
 */
static __u64 peer_door_of(struct b1d_bus *bus, __u64 inbox)
{
	struct peer_ent *p;

	for (p = bus->peers; p; p = p->next)
		if (p->handle == inbox && p->door != BUS1_HANDLE_INVALID)
			return p->door;
	return BUS1_HANDLE_INVALID;
}

uint8_t b1di_type(sd_bus_message *m)
{
	uint8_t t = 0;

	return sd_bus_message_get_type(m, &t) < 0 ? 0 : t;
}

/* a NameOwnerChanged from the bus invalidates what we know of the name */
static void peers_name_changed(struct b1d_bus *bus, sd_bus_message *m)
{
	const char *name, *old, *new, *sender = sd_bus_message_get_sender(m);
	struct peer_ent *p;
	int r;

	if (!sd_bus_message_is_signal(m, DBUS_NAME, "NameOwnerChanged") ||
	    !sender || strcmp(sender, DBUS_NAME))
		return;
	r = sd_bus_message_read(m, "sss", &name, &old, &new);
	/* (the match callbacks read it from the start) */
	sd_bus_message_rewind(m, true);
	if (r < 0)
		return;
	p = peer_find(bus, name);
	if (p)
		peer_forget(bus, p);
}

/* --- sending and receiving ---------------------------------------------- */

static int barrier(struct b1d_bus *bus);

int b1di_send_to(struct b1d_bus *bus, sd_bus_message *m, __u64 dst,
		 const __u64 *handle, uint64_t *cookiep)
{
	int fds[253];
	size_t n_fds = 0, i;
	uint64_t cookie;
	struct iovec v;
	ssize_t n;
	int r;

	/* a direct message must not overtake signals the broker still holds */
	if (bus->unsynced && dst != bus->c->broker)
		barrier(bus);
	/*
	 * our unique name as sender, before sd-bus seals it (a message sent
	 * before, or received, is sealed and goes as it is)
	 */
	if (bus->unique[0] && sd_bus_message_get_cookie(m, &cookie) < 0 &&
	    !sd_bus_message_get_sender(m)) {
		r = sd_bus_message_set_sender(m, bus->unique);
		if (r < 0)
			return r;
	}
	/*
	 * sd-bus seals it (its cookie) and writes it; the pump takes it whole
	 * (-EMSGSIZE over B1D_MESSAGE_MAX, read to its end and dropped)
	 */
	r = sd_bus_send(bus->pump.sd, m, cookiep);
	if (r < 0)
		return r;
	n = b1d_pump_take(&bus->pump, fds, 253, &n_fds);
	if (n < 0)
		return (int)n;
	v.iov_base = bus->pump.buf;
	v.iov_len = n;
	/* monitored: the broker's copy in the same multicast (dbus.rst) */
	if (bus->monitored && dst != bus->c->broker)
		r = b1di_mon_send(bus, dst, &v, handle, fds, n_fds);
	else
		r = bus1_send(bus->c->peer, &(struct bus1_send){
			.destinations = &dst,
			.n_destinations = 1,
			.vecs = &v,
			.n_vecs = 1,
			.handles = handle,
			.n_handles = handle ? 1 : 0,
			.fds = n_fds ? fds : NULL,
			.n_fds = n_fds,
		});
	for (i = 0; i < n_fds; i++)
		close(fds[i]);
	return r;
}

/* receive one bus1 message; 1 and *qp if it was a D-Bus message */
int b1di_recv_one(struct b1d_bus *bus, struct qmsg **qp)
{
	struct bus1_message msg;
	struct qmsg *q = NULL;
	sd_bus_message *m = NULL;
	bool from_bus;
	size_t i;
	int r;

	r = bus1_recv(bus->c->peer, BUS1_RECV_FLAG_INSTALL_FDS, &msg);
	if (r < 0)
		return r == -EAGAIN ? 0 : r;
	switch (msg.type) {
	case BUS1_MSG_DATA:
		/*
		 * the broker attaches our handle to its node to all it sends
		 * us alone (second, after the one a lookup answers with)
		 */
		from_bus = (msg.n_handles > 0 &&
			    msg.handles[0] == bus->c->broker) ||
			   (msg.n_handles > 1 &&
			    msg.handles[1] == bus->c->broker);
		for (i = 1; i < msg.n_handles; i++)
			bus1_handle_release(bus->c->peer, msg.handles[i]);
		/* sd-bus validates it; what is not one valid message is dropped */
		r = b1d_pump_feed(&bus->pump, msg.data, msg.n_bytes, msg.fds,
				  msg.n_fds, &m);
		q = r > 0 ? calloc(1, sizeof(*q)) : NULL;
		if (!q) {
			sd_bus_message_unref(m);
			if (msg.n_handles)
				bus1_handle_release(bus->c->peer,
						    msg.handles[0]);
			break;
		}
		q->m = m;
		q->handle = msg.n_handles ? msg.handles[0] :
					    BUS1_HANDLE_INVALID;
		q->node = msg.destination;
		q->from_bus = from_bus;
		if (from_bus && b1di_mon_notice(bus, q)) {
			b1di_qmsg_free(bus, q);
			q = NULL;
			break;
		}
		if (from_bus || q->node == bus->sigbox)
			peers_name_changed(bus, m);
		break;
	case BUS1_MSG_NODE_DESTROY:
		if (msg.destination == bus->c->broker)
			bus->broker_dead = true;
		b1di_async_gone(bus, msg.destination,
				peer_door_of(bus, msg.destination));
		if (bus->waiting_handle != BUS1_HANDLE_INVALID &&
		    (msg.destination == bus->waiting_handle ||
		     peer_door_of(bus, msg.destination) == bus->waiting_handle))
			bus->waiting_dead = true;
		b1di_doors_close_for(bus, msg.destination);
		peers_forget_handle(bus, msg.destination);
		break;
	}
	bus1_message_release(&msg);
	/* a broken pump (b1d_pump_feed(): its sd_bus failed) is an error */
	if (r < 0)
		return r;
	*qp = q;
	return q ? 1 : 0;
}

void b1di_enqueue(struct b1d_bus *bus, struct qmsg *q)
{
	q->next = NULL;
	*bus->q_tail = q;
	bus->q_tail = &q->next;
}

/* wait until the kernel has a message for us (or @timeout_ms passes) */
static int wait_recv(struct b1d_bus *bus, int timeout_ms)
{
	struct pollfd p = { .fd = bus1_peer_get_fd(bus->c->peer),
			    .events = POLLIN };
	int r;

	r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r > 0;
}

int b1d_wait(struct b1d_bus *bus, int timeout_ms)
{
	int t = b1d_get_timeout(bus), r;

	if (bus->q || !t)
		return 1;
	if (t > 0 && (timeout_ms < 0 || t < timeout_ms))
		timeout_ms = t;
	r = wait_recv(bus, timeout_ms);
	return r ?: !b1d_get_timeout(bus);
}

/*
 * a NoReply error for a call whose callee went away, sealed (readable) as
 * if the bus had sent it
 */
sd_bus_message *b1di_no_reply(sd_bus_message *call, const char *why)
{
	sd_bus_message *e = NULL;

	if (sd_bus_message_new_method_errorf(call, &e, SD_BUS_ERROR_NO_REPLY,
					     "%s", why) < 0)
		return NULL;
	if (sd_bus_message_set_sender(e, DBUS_NAME) < 0 ||
	    sd_bus_message_seal(e, 0xffffffffULL, 0) < 0)
		return sd_bus_message_unref(e);
	return e;
}

/*
 * Is reply @q from where its call went? Anybody holding a handle to our
 * inbox can send a reply there with a guessed serial, so a reply counts
 * only on the node it must come to: from the bus, with our broker handle
 * attached; from a peer, on the node we gave that peer alone (its door
 * carried it, dbus-native-door.c); the answer to Door.Open, on the inbox,
 * is checked by its nonce.
 */
bool b1di_reply_origin_ok(struct b1d_bus *bus, struct qmsg *q,
			  __u64 reply_on)
{
	const sd_bus_error *e = sd_bus_message_get_error(q->m);

	if (reply_on == BUS1_HANDLE_INVALID ? q->from_bus : q->node == reply_on)
		return true;
	if (!bus->n_forged++)
		fprintf(stderr, "libbus1-dbus %s: %s (first: %s claiming %s)\n",
			bus->unique, "dropping replies not from their callee",
			e && e->name ? e->name : "a return",
			sd_bus_message_get_sender(q->m) ?: "no sender");
	return false;
}

bool b1di_is_reply_to(sd_bus_message *m, uint64_t cookie)
{
	uint8_t t = b1di_type(m);
	uint64_t rc;

	return (t == SD_BUS_MESSAGE_METHOD_RETURN ||
		t == SD_BUS_MESSAGE_METHOD_ERROR) &&
	       sd_bus_message_get_reply_cookie(m, &rc) >= 0 && rc == cookie;
}

/*
 * send @call to @dst and wait for the reply; *handlep (if not NULL) gets
 * the handle the reply carried
 */
int b1di_call_at(struct b1d_bus *bus, sd_bus_message *call, __u64 dst,
		 bool direct, const __u64 *attach, __u64 reply_on,
		 int timeout_ms, sd_bus_message **replyp, __u64 *handlep)
{
	long long deadline;
	uint64_t cookie = 0;
	struct qmsg *q;
	int r;

	if (bus->broker_dead)
		return -ESHUTDOWN;
	r = b1di_send_to(bus, call, dst, attach, &cookie);
	if (r < 0)
		return r;
	deadline = b1di_now_ms() + (timeout_ms < 0 ? B1DI_DEFAULT_TIMEOUT_MS : timeout_ms);
	bus->waiting_handle = direct ? dst : bus->c->broker;
	bus->waiting_dead = false;
	for (;;) {
		r = b1di_recv_one(bus, &q);
		if (r < 0)
			break;
		if (r > 0) {
			if (!b1di_is_reply_to(q->m, cookie)) {
				b1di_enqueue(bus, q);
				continue;
			}
			if (!b1di_reply_origin_ok(bus, q, reply_on)) {
				b1di_qmsg_free(bus, q);
				continue;
			}
			*replyp = sd_bus_message_ref(q->m);
			if (handlep) {
				*handlep = q->handle;
				q->handle = BUS1_HANDLE_INVALID;
			}
			b1di_qmsg_free(bus, q);
			r = 0;
			break;
		}
		if (bus->waiting_dead) {
			*replyp = b1di_no_reply(call, "Remote peer disconnected before replying");
			r = *replyp ? 0 : -ENOMEM;
			break;
		}
		r = (int)(deadline - b1di_now_ms());
		if (r <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		/*
		 * Not b1d_wait(): it returns at once while messages wait for
		 * b1d_process() (the NameAcquired of Hello, for one, stays
		 * there in a client that never dispatches), and this loop
		 * then spins on an empty RECV. On one CPU, whenever the woken
		 * callee did not preempt us, that spin lasted until the next
		 * timer tick: 1.5-5.5M instructions every ~40M, the second
		 * level of make bench's (a) (dbus.rst, "Benchmark").
		 */
		r = wait_recv(bus, r);
		if (r < 0)
			break;
	}
	bus->waiting_handle = BUS1_HANDLE_INVALID;
	return r;
}

sd_bus_message *b1di_driver_call(struct b1d_bus *bus, const char *iface,
				 const char *member)
{
	sd_bus_message *m = NULL;

	if (sd_bus_message_new_method_call(bus->pump.sd, &m, DBUS_NAME,
					   DBUS_OPATH, iface ?: DBUS_NAME,
					   member) < 0)
		return NULL;
	return m;
}

/* a call to the bus; 0 only for a method return */
int b1di_bus_call(struct b1d_bus *bus, sd_bus_message *call,
		  sd_bus_message **replyp, __u64 *handlep)
{
	sd_bus_message *r = NULL;
	int ret;

	ret = b1di_call_at(bus, call, bus->c->broker, false, NULL,
			   BUS1_HANDLE_INVALID, -1, &r, handlep);
	if (ret < 0)
		return ret;
	if (b1di_type(r) == SD_BUS_MESSAGE_METHOD_ERROR) {
		if (handlep && *handlep != BUS1_HANDLE_INVALID)
			bus1_handle_release(bus->c->peer, *handlep);
		sd_bus_message_unref(r);
		return -EREMOTEIO;
	}
	*replyp = r;
	return 0;
}

void b1di_add_match_rule(struct b1d_bus *bus, const char *rule)
{
	sd_bus_message *m = b1di_driver_call(bus, NULL, "AddMatch");

	/* (no cookie asked: sd-bus marks it NO_REPLY_EXPECTED) */
	if (m && sd_bus_message_append(m, "s", rule) >= 0)
		b1di_send_to(bus, m, bus->c->broker, NULL, NULL);
	sd_bus_message_unref(m);
}

/* the handle to the inbox of @name's owner, or INVALID: go through the bus */
static __u64 peer_lookup(struct b1d_bus *bus, const char *name)
{
	sd_bus_message *m, *r = NULL;
	struct peer_ent *p = peer_find(bus, name);
	__u64 h = BUS1_HANDLE_INVALID;
	char rule[512];

	if (p && (p->handle != BUS1_HANDLE_INVALID || p->via_bus))
		return p->handle;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (p)
			p->name = strdup(name);
		if (!p || !p->name) {
			free(p);
			return BUS1_HANDLE_INVALID;
		}
		p->handle = BUS1_HANDLE_INVALID;
		p->door = BUS1_HANDLE_INVALID;
		p->next = bus->peers;
		bus->peers = p;
	}
	/* watch first, so no owner change after the lookup goes unseen */
	if (name[0] != ':' && !p->watched &&
	    snprintf(rule, sizeof(rule),
		     "type='signal',sender='%s',interface='%s',member='NameOwnerChanged',arg0='%s'",
		     DBUS_NAME, DBUS_NAME, name) < (int)sizeof(rule)) {
		b1di_add_match_rule(bus, rule);
		p->watched = true;
	}
	m = b1di_driver_call(bus, B1D_IFACE, "GetConnectionHandle");
	if (!m || sd_bus_message_append(m, "s", name) < 0 ||
	    b1di_bus_call(bus, m, &r, &h) < 0) {
		sd_bus_message_unref(m);
		/*
		 * until its NameOwnerChanged (unique names never get
		 * another owner)
		 */
		p->via_bus = name[0] == ':' || p->watched;
		return BUS1_HANDLE_INVALID;
	}
	sd_bus_message_unref(m);
	sd_bus_message_unref(r);
	p->handle = h;
	return h;
}

/*
 * The broker handles one connection's messages in order and multicasts a
 * signal before it answers the next message, so once this Ping returns
 * every signal sent before it is in its receivers' queues, and bus1's
 * order (causal, ordering.rst) puts whatever we send next behind it.
 */
static int barrier(struct b1d_bus *bus)
{
	sd_bus_message *m, *r = NULL;
	int ret;

	bus->unsynced = false;
	m = b1di_driver_call(bus, "org.freedesktop.DBus.Peer", "Ping");
	if (!m)
		return -ENOMEM;
	ret = b1di_call_at(bus, m, bus->c->broker, false, NULL,
			   BUS1_HANDLE_INVALID, -1, &r, NULL);
	sd_bus_message_unref(m);
	sd_bus_message_unref(r);
	return ret;
}

/* the door of @name's owner for us, or INVALID: go through the bus */
static __u64 peer_door(struct b1d_bus *bus, const char *name)
{
	__u64 inbox = peer_lookup(bus, name);
	struct peer_ent *p = peer_find(bus, name);

	if (inbox == BUS1_HANDLE_INVALID || !p)
		return BUS1_HANDLE_INVALID;
	if (p->door != BUS1_HANDLE_INVALID)
		return p->door;
	return b1di_door_open(bus, p, inbox);
}

int b1d_call(struct b1d_bus *bus, sd_bus_message *call, int timeout_ms,
	     sd_bus_message **replyp)
{
	const char *dest = sd_bus_message_get_destination(call);
	__u64 h = BUS1_HANDLE_INVALID;
	struct rpath *rp;
	int r;

	if (!dest || b1di_type(call) != SD_BUS_MESSAGE_METHOD_CALL)
		return -EINVAL;
	if (strcmp(dest, DBUS_NAME))
		h = peer_door(bus, dest);
	rp = h != BUS1_HANDLE_INVALID ? b1di_rpath_get(bus, h) : NULL;
	if (rp) {
		/* the callee learns our node for its replies on the door */
		r = b1di_call_at(bus, call, h, true, rp->sent ? NULL : &rp->node,
				 rp->node, timeout_ms, replyp, NULL);
		if (!r)
			rp->sent = true;
		/* its door went away since the lookup: ask the bus */
		if (r != -EHOSTUNREACH && r != -ENXIO)
			return r;
		peers_forget_handle(bus, h);
	}
	return b1di_call_at(bus, call, bus->c->broker, false, NULL,
			    BUS1_HANDLE_INVALID, timeout_ms, replyp, NULL);
}

int b1di_send_call(struct b1d_bus *bus, sd_bus_message *call,
		   uint64_t *cookiep, __u64 *reply_onp, __u64 *calleep)
{
	const char *dest = sd_bus_message_get_destination(call);
	__u64 h = BUS1_HANDLE_INVALID;
	struct rpath *rp;
	int r;

	if (strcmp(dest, DBUS_NAME))
		h = peer_door(bus, dest);
	rp = h != BUS1_HANDLE_INVALID ? b1di_rpath_get(bus, h) : NULL;
	if (rp) {
		r = b1di_send_to(bus, call, h, rp->sent ? NULL : &rp->node,
				 cookiep);
		if (!r) {
			rp->sent = true;
			*reply_onp = rp->node;
			*calleep = h;
			return 0;
		}
		if (r != -EHOSTUNREACH && r != -ENXIO)
			return r;
		peers_forget_handle(bus, h);
	}
	*reply_onp = BUS1_HANDLE_INVALID;
	*calleep = bus->c->broker;
	return b1di_send_to(bus, call, bus->c->broker, NULL, cookiep);
}

int b1d_send(struct b1d_bus *bus, sd_bus_message *m)
{
	const char *dest = sd_bus_message_get_destination(m);
	uint8_t t = b1di_type(m);
	__u64 h = BUS1_HANDLE_INVALID;
	int r;

	if (bus->broker_dead)
		return -ESHUTDOWN;
	if (t == SD_BUS_MESSAGE_METHOD_CALL) {
		if (!dest)
			return -EINVAL;
		if (strcmp(dest, DBUS_NAME))
			h = peer_door(bus, dest);
	}
	/*
	 * (no cookie asked: sd-bus marks an unsealed call NO_REPLY_EXPECTED)
	 * signals go to the bus, which multicasts them once to all matches
	 */
	r = h == BUS1_HANDLE_INVALID ? -ENXIO :
	    b1di_send_to(bus, m, h, NULL, NULL);
	if (r < 0)
		r = b1di_send_to(bus, m, bus->c->broker, NULL, NULL);
	if (!r && t == SD_BUS_MESSAGE_SIGNAL)
		bus->unsynced = true;
	return r;
}

/* --- names and setup ---------------------------------------------- */

static int name_call(struct b1d_bus *bus, const char *member,
		     const char *name, const unsigned int *flags)
{
	sd_bus_message *m = b1di_driver_call(bus, NULL, member), *r = NULL;
	uint32_t v;
	int ret = -ENOMEM;

	if (!m)
		return -ENOMEM;
	if (sd_bus_message_append(m, "s", name) >= 0 &&
	    (!flags || sd_bus_message_append(m, "u", (uint32_t)*flags) >= 0))
		ret = b1di_bus_call(bus, m, &r, NULL);
	sd_bus_message_unref(m);
	if (ret < 0)
		return ret == -EREMOTEIO ? -EPERM : ret;
	ret = sd_bus_message_read(r, "u", &v) > 0 ? (int)v : -EBADMSG;
	sd_bus_message_unref(r);
	return ret;
}

int b1d_request_name(struct b1d_bus *bus, const char *name,
		     unsigned int flags)
{
	return name_call(bus, "RequestName", name, &flags);
}

int b1d_release_name(struct b1d_bus *bus, const char *name)
{
	return name_call(bus, "ReleaseName", name, NULL);
}

const char *b1d_unique_name(struct b1d_bus *bus)
{
	return bus->unique;
}

sd_bus *b1d_sd_bus(struct b1d_bus *bus)
{
	return bus->pump.sd;
}

int b1d_get_fd(struct b1d_bus *bus)
{
	return bus1_peer_get_fd(bus->c->peer);
}

int b1d_connect(const char *path, struct b1d_bus **busp)
{
	sd_bus_message *m, *r = NULL;
	struct b1d_bus *bus;
	const char *unique;
	int ret;

	if (!path)
		path = getenv(B1D_SOCKET_ENV);
	if (!path)
		path = B1D_SOCKET_DEFAULT;
	bus = calloc(1, sizeof(*bus));
	if (!bus)
		return -ENOMEM;
	bus->q_tail = &bus->q;
	bus->waiting_handle = BUS1_HANDLE_INVALID;
	bus->sigbox = BUS1_HANDLE_INVALID;
	bus->copy = BUS1_HANDLE_INVALID;
	ret = b1d_pump_open(&bus->pump, false, true);
	if (ret < 0) {
		free(bus);
		return ret;
	}
	ret = b1c_connect(path, &bus->c);
	if (ret < 0) {
		b1d_pump_close(&bus->pump);
		free(bus);
		return ret;
	}
	ret = bus1_node_new(bus->c->peer, &bus->sigbox);
	if (ret < 0) {
		b1d_free(bus);
		return ret;
	}
	/* the signal node's one handle goes to the broker, with Hello */
	m = b1di_driver_call(bus, NULL, "Hello");
	ret = m ? b1di_call_at(bus, m, bus->c->broker, false, &bus->sigbox,
			       BUS1_HANDLE_INVALID, 10000, &r, NULL) : -ENOMEM;
	sd_bus_message_unref(m);
	if (!ret && b1di_type(r) == SD_BUS_MESSAGE_METHOD_ERROR)
		ret = -ECONNREFUSED;
	if (!ret) {
		if (sd_bus_message_read(r, "s", &unique) > 0 &&
		    strlen(unique) < sizeof(bus->unique))
			strcpy(bus->unique, unique);
		else
			ret = -EBADMSG;
	}
	sd_bus_message_unref(r);
	if (ret < 0) {
		b1d_free(bus);
		return ret;
	}
	*busp = bus;
	return 0;
}

struct b1d_bus *b1d_free(struct b1d_bus *bus)
{
	struct peer_ent *p;
	struct object *o;
	struct smatch *s;
	struct qmsg *q;
	int n;

	if (!bus)
		return NULL;
	b1di_doors_free(bus);
	b1di_async_free(bus);
	while ((q = bus->q)) {
		bus->q = q->next;
		b1di_qmsg_free(bus, q);
	}
	while ((p = bus->peers)) {
		bus->peers = p->next;
		free(p->name);
		free(p);
	}
	while ((o = bus->objects)) {
		bus->objects = o->next;
		free(o->path);
		free(o->iface);
		free(o);
	}
	while ((s = bus->matches)) {
		bus->matches = s->next;
		free(s->sender);
		free(s->path);
		free(s->iface);
		free(s->member);
		free(s);
	}
	/* closing the peer drops every handle and destroys the inbox */
	b1c_free(bus->c);
	/* the pump carried all sd-bus wrote: it never answered on its own */
	n = b1d_pump_strays(&bus->pump);
	if (n)
		fprintf(stderr, "libbus1-dbus %s: %d messages sd-bus wrote on its own\n",
			bus->unique, n);
	b1d_pump_close(&bus->pump);
	free(bus);
	return NULL;
}
