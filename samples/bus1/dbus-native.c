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
#include "dbus-wire.h"

#define DEFAULT_TIMEOUT_MS	25000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void b1di_qmsg_free(struct b1d_bus *bus, struct qmsg *q)
{
	if (q->handle != BUS1_HANDLE_INVALID)
		bus1_handle_release(bus->c->peer, q->handle);
	dbus_message_unref(q->m);
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

/* a NameOwnerChanged from the bus invalidates what we know of the name */
static void peers_name_changed(struct b1d_bus *bus, DBusMessage *m)
{
	const char *name, *old, *new;
	struct peer_ent *p;

	if (!dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged") ||
	    !dbus_message_has_sender(m, DBUS_SERVICE_DBUS) ||
	    !dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name,
				   DBUS_TYPE_STRING, &old, DBUS_TYPE_STRING,
				   &new, DBUS_TYPE_INVALID))
		return;
	p = peer_find(bus, name);
	if (p)
		peer_forget(bus, p);
}

/* --- sending and receiving ---------------------------------------------- */

/*
 * @m itself, or a copy if it was sent before: sending locks a message
 * (its serial and sender can no longer be set), and a copy is unlocked
 */
static DBusMessage *sendable(DBusMessage *m)
{
	return dbus_message_get_serial(m) ? dbus_message_copy(m) :
					    dbus_message_ref(m);
}

/*
 * Set @m's sender or destination to @v unless it already is @v: libdbus
 * rewrites and revalidates the header for every field it sets (~13k-20k
 * instructions each, a good part of a native round trip), and most of
 * these fields already hold the right value.
 */
bool b1di_set_sender(DBusMessage *m, const char *v)
{
	const char *cur = dbus_message_get_sender(m);

	return (cur && v && !strcmp(cur, v)) || dbus_message_set_sender(m, v);
}

static bool set_destination(DBusMessage *m, const char *v)
{
	const char *cur = dbus_message_get_destination(m);

	return (cur && v && !strcmp(cur, v)) ||
	       dbus_message_set_destination(m, v);
}

int b1di_prepare(struct b1d_bus *bus, DBusMessage *m)
{
	if (!++bus->serial)
		bus->serial = 1;
	dbus_message_set_serial(m, bus->serial);
	if (bus->unique[0] && !b1di_set_sender(m, bus->unique))
		return -ENOMEM;
	return 0;
}

/*
 * The destination first: libdbus rebuilds its cache of header fields on
 * the first look after an edit (~5k instructions; appending the body is
 * one), and setting the sender is another edit, so this order rebuilds it
 * once where the other rebuilt it twice.
 */
int b1di_prepare_reply(struct b1d_bus *bus, DBusMessage *call, DBusMessage *r)
{
	if (!set_destination(r, dbus_message_get_sender(call)))
		return -ENOMEM;
	return b1di_prepare(bus, r);
}

static int barrier(struct b1d_bus *bus);

int b1di_send_to(struct b1d_bus *bus, DBusMessage *m, __u64 dst,
		 const __u64 *handle)
{
	/* a direct message must not overtake signals the broker still holds */
	if (bus->unsynced && dst != bus->c->broker)
		barrier(bus);
	return dwire_send(bus->c->peer, m, &dst, 1, NULL, handle,
			  handle ? 1 : 0);
}

/* receive one bus1 message; 1 and *qp if it was a D-Bus message */
int b1di_recv_one(struct b1d_bus *bus, struct qmsg **qp)
{
	struct bus1_message msg;
	struct qmsg *q = NULL;
	bool from_bus;
	DBusMessage *m;
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
		m = dwire_parse(&msg, NULL);
		q = m ? calloc(1, sizeof(*q)) : NULL;
		if (!q) {
			if (m)
				dbus_message_unref(m);
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
		if (from_bus || q->node == bus->sigbox)
			peers_name_changed(bus, m);
		break;
	case BUS1_MSG_NODE_DESTROY:
		if (msg.destination == bus->c->broker)
			bus->broker_dead = true;
		if (bus->waiting_handle != BUS1_HANDLE_INVALID &&
		    (msg.destination == bus->waiting_handle ||
		     peer_door_of(bus, msg.destination) == bus->waiting_handle))
			bus->waiting_dead = true;
		b1di_doors_close_for(bus, msg.destination);
		peers_forget_handle(bus, msg.destination);
		break;
	}
	bus1_message_release(&msg);
	*qp = q;
	return q ? 1 : 0;
}

static void enqueue(struct b1d_bus *bus, struct qmsg *q)
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
	if (bus->q)
		return 1;
	return wait_recv(bus, timeout_ms);
}

/* a NoReply error for a call whose callee went away */
static DBusMessage *no_reply(DBusMessage *call, const char *why)
{
	DBusMessage *e = dbus_message_new_error(call, DBUS_ERROR_NO_REPLY, why);

	if (e)
		dbus_message_set_sender(e, DBUS_SERVICE_DBUS);
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
static bool reply_origin_ok(struct b1d_bus *bus, struct qmsg *q,
			    __u64 reply_on)
{
	if (reply_on == BUS1_HANDLE_INVALID ? q->from_bus : q->node == reply_on)
		return true;
	if (!bus->n_forged++)
		fprintf(stderr, "libbus1-dbus %s: %s (first: %s claiming %s)\n",
			bus->unique, "dropping replies not from their callee",
			dbus_message_get_error_name(q->m) ?: "a return",
			dbus_message_get_sender(q->m) ?: "no sender");
	return false;
}

/*
 * send @call to @dst and wait for the reply; *handlep (if not NULL) gets
 * the handle the reply carried
 */
int b1di_call_at(struct b1d_bus *bus, DBusMessage *call_in, __u64 dst,
		 bool direct, const __u64 *attach, __u64 reply_on,
		 int timeout_ms, DBusMessage **replyp, __u64 *handlep)
{
	DBusMessage *call;
	long long deadline;
	dbus_uint32_t serial;
	struct qmsg *q;
	int r;

	if (bus->broker_dead)
		return -ESHUTDOWN;
	call = sendable(call_in);
	if (!call)
		return -ENOMEM;
	r = b1di_prepare(bus, call);
	serial = bus->serial;
	if (!r)
		r = b1di_send_to(bus, call, dst, attach);
	if (r < 0) {
		dbus_message_unref(call);
		return r;
	}
	deadline = now_ms() + (timeout_ms < 0 ? DEFAULT_TIMEOUT_MS : timeout_ms);
	bus->waiting_handle = direct ? dst : bus->c->broker;
	bus->waiting_dead = false;
	for (;;) {
		r = b1di_recv_one(bus, &q);
		if (r < 0)
			break;
		if (r > 0) {
			int t = dbus_message_get_type(q->m);

			if ((t == DBUS_MESSAGE_TYPE_METHOD_RETURN ||
			     t == DBUS_MESSAGE_TYPE_ERROR) &&
			    dbus_message_get_reply_serial(q->m) == serial &&
			    !reply_origin_ok(bus, q, reply_on)) {
				b1di_qmsg_free(bus, q);
				continue;
			}
			if ((t == DBUS_MESSAGE_TYPE_METHOD_RETURN ||
			     t == DBUS_MESSAGE_TYPE_ERROR) &&
			    dbus_message_get_reply_serial(q->m) == serial) {
				*replyp = dbus_message_ref(q->m);
				if (handlep) {
					*handlep = q->handle;
					q->handle = BUS1_HANDLE_INVALID;
				}
				b1di_qmsg_free(bus, q);
				r = 0;
				break;
			}
			enqueue(bus, q);
			continue;
		}
		if (bus->waiting_dead) {
			*replyp = no_reply(call, "Remote peer disconnected before replying");
			r = *replyp ? 0 : -ENOMEM;
			break;
		}
		r = (int)(deadline - now_ms());
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
	dbus_message_unref(call);
	return r;
}

DBusMessage *b1di_driver_call(const char *member)
{
	return dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					    DBUS_INTERFACE_DBUS, member);
}

/* a call to the bus; 0 only for a method return */
int b1di_bus_call(struct b1d_bus *bus, DBusMessage *call,
		  DBusMessage **replyp, __u64 *handlep)
{
	DBusMessage *r = NULL;
	int ret;

	ret = b1di_call_at(bus, call, bus->c->broker, false, NULL,
			   BUS1_HANDLE_INVALID, -1, &r, handlep);
	if (ret < 0)
		return ret;
	if (dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_ERROR) {
		if (handlep && *handlep != BUS1_HANDLE_INVALID)
			bus1_handle_release(bus->c->peer, *handlep);
		dbus_message_unref(r);
		return -EREMOTEIO;
	}
	*replyp = r;
	return 0;
}

void b1di_add_match_rule(struct b1d_bus *bus, const char *rule)
{
	DBusMessage *m = b1di_driver_call("AddMatch");

	if (!m)
		return;
	if (dbus_message_append_args(m, DBUS_TYPE_STRING, &rule,
				     DBUS_TYPE_INVALID)) {
		dbus_message_set_no_reply(m, TRUE);
		if (!b1di_prepare(bus, m))
			b1di_send_to(bus, m, bus->c->broker, NULL);
	}
	dbus_message_unref(m);
}

/* the handle to the inbox of @name's owner, or INVALID: go through the bus */
static __u64 peer_lookup(struct b1d_bus *bus, const char *name)
{
	DBusMessage *m, *r = NULL;
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
		     DBUS_SERVICE_DBUS, DBUS_INTERFACE_DBUS, name) <
		     (int)sizeof(rule)) {
		b1di_add_match_rule(bus, rule);
		p->watched = true;
	}
	m = b1di_driver_call("GetConnectionHandle");
	if (!m || !dbus_message_set_interface(m, B1D_IFACE) ||
	    !dbus_message_append_args(m, DBUS_TYPE_STRING, &name,
				      DBUS_TYPE_INVALID) ||
	    b1di_bus_call(bus, m, &r, &h) < 0) {
		if (m)
			dbus_message_unref(m);
		/*
		 * until its NameOwnerChanged (unique names never get
		 * another owner)
		 */
		p->via_bus = name[0] == ':' || p->watched;
		return BUS1_HANDLE_INVALID;
	}
	dbus_message_unref(m);
	dbus_message_unref(r);
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
	DBusMessage *m, *r = NULL;
	int ret;

	bus->unsynced = false;
	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 DBUS_INTERFACE_PEER, "Ping");
	if (!m)
		return -ENOMEM;
	ret = b1di_call_at(bus, m, bus->c->broker, false, NULL,
			   BUS1_HANDLE_INVALID, -1, &r, NULL);
	dbus_message_unref(m);
	if (r)
		dbus_message_unref(r);
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

int b1d_call(struct b1d_bus *bus, DBusMessage *call, int timeout_ms,
	     DBusMessage **replyp)
{
	const char *dest = dbus_message_get_destination(call);
	__u64 h = BUS1_HANDLE_INVALID;
	struct rpath *rp;
	int r;

	if (!dest || dbus_message_get_type(call) != DBUS_MESSAGE_TYPE_METHOD_CALL)
		return -EINVAL;
	if (strcmp(dest, DBUS_SERVICE_DBUS))
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

int b1d_send(struct b1d_bus *bus, DBusMessage *m_in)
{
	const char *dest = dbus_message_get_destination(m_in);
	__u64 h = BUS1_HANDLE_INVALID;
	DBusMessage *m;
	int r;

	if (bus->broker_dead)
		return -ESHUTDOWN;
	if (dbus_message_get_type(m_in) == DBUS_MESSAGE_TYPE_METHOD_CALL) {
		if (!dest)
			return -EINVAL;
		if (strcmp(dest, DBUS_SERVICE_DBUS))
			h = peer_door(bus, dest);
	}
	m = sendable(m_in);
	if (!m)
		return -ENOMEM;
	if (dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_METHOD_CALL)
		dbus_message_set_no_reply(m, TRUE);
	r = b1di_prepare(bus, m);
	/* signals go to the bus, which multicasts them once to all matches */
	if (!r && (h == BUS1_HANDLE_INVALID || b1di_send_to(bus, m, h, NULL)))
		r = b1di_send_to(bus, m, bus->c->broker, NULL);
	if (!r && dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_SIGNAL)
		bus->unsynced = true;
	dbus_message_unref(m);
	return r;
}

/* --- names and setup ---------------------------------------------- */

static int name_call(struct b1d_bus *bus, const char *member,
		     const char *name, const unsigned int *flags)
{
	DBusMessage *m = b1di_driver_call(member), *r = NULL;
	dbus_uint32_t f = flags ? *flags : 0, v;
	int ret = -ENOMEM;

	if (!m)
		return -ENOMEM;
	if (dbus_message_append_args(m, DBUS_TYPE_STRING, &name,
				     DBUS_TYPE_INVALID) &&
	    (!flags || dbus_message_append_args(m, DBUS_TYPE_UINT32, &f,
						DBUS_TYPE_INVALID)))
		ret = b1di_bus_call(bus, m, &r, NULL);
	dbus_message_unref(m);
	if (ret < 0)
		return ret == -EREMOTEIO ? -EPERM : ret;
	ret = dbus_message_get_args(r, NULL, DBUS_TYPE_UINT32, &v,
				    DBUS_TYPE_INVALID) ? (int)v : -EBADMSG;
	dbus_message_unref(r);
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

int b1d_get_fd(struct b1d_bus *bus)
{
	return bus1_peer_get_fd(bus->c->peer);
}

int b1d_connect(const char *path, struct b1d_bus **busp)
{
	DBusMessage *m, *r = NULL;
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
	ret = b1c_connect(path, &bus->c);
	if (ret < 0) {
		free(bus);
		return ret;
	}
	ret = bus1_node_new(bus->c->peer, &bus->sigbox);
	if (ret < 0) {
		b1d_free(bus);
		return ret;
	}
	/* the signal node's one handle goes to the broker, with Hello */
	m = b1di_driver_call("Hello");
	ret = m ? b1di_call_at(bus, m, bus->c->broker, false, &bus->sigbox,
			       BUS1_HANDLE_INVALID, 10000, &r, NULL) : -ENOMEM;
	if (!ret && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_ERROR) {
		dbus_message_unref(r);
		ret = -ECONNREFUSED;
	}
	if (m)
		dbus_message_unref(m);
	if (!ret) {
		if (dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &unique,
					  DBUS_TYPE_INVALID) &&
		    strlen(unique) < sizeof(bus->unique))
			strcpy(bus->unique, unique);
		else
			ret = -EBADMSG;
		dbus_message_unref(r);
	}
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

	if (!bus)
		return NULL;
	b1di_doors_free(bus);
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
	free(bus);
	return NULL;
}
