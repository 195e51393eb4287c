// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libbus1-dbus: D-Bus natively over bus1 (dbus-native.h). A connection is a
 * bus1 peer with one *inbox* node; everything for it arrives there. It
 * holds a handle to its connection node in bus1-dbus-broker (calls to the
 * bus, signals, calls to socket clients) and, once looked up, handles to
 * the inboxes of the native peers it calls. A direct call goes to a *door*:
 * a node the callee made for this one caller, so the node a call arrives
 * on names its sender (bus1 messages carry no sender). The callee replies
 * to the caller's inbox. The broker is not on that path.
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
#include "dbus-native.h"
#include "dbus-wire.h"

#define B1D_IFACE		"org.bus1.DBus"
#define DOOR_IFACE		"org.bus1.DBus.Door"
#define DEFAULT_TIMEOUT_MS	25000

/* a received message not handled yet */
struct qmsg {
	struct qmsg *next;
	DBusMessage *m;
	__u64 handle;		/* handle[0] of the bus1 message, or INVALID */
	__u64 node;		/* which of our nodes it arrived on */
};

/* a destination name and the handle to its owner's inbox */
struct peer_ent {
	struct peer_ent *next;
	char *name;
	__u64 handle;		/* INVALID: look it up again */
	__u64 door;		/* the owner's door for us, INVALID: none yet */
	bool watched;		/* AddMatch for its NameOwnerChanged sent */
	bool via_bus;		/* no native owner: send through the bus */
};

/* a node of ours that exactly one caller holds a handle to */
struct door {
	struct door *next;
	__u64 node;
	char caller[64];	/* its unique name */
};

struct object {
	struct object *next;
	char *path, *iface;
	const struct b1d_method *methods;
	void *userdata;
};

struct smatch {
	struct smatch *next;
	char *sender, *path, *iface, *member;
	void (*fn)(struct b1d_bus *bus, DBusMessage *signal, void *userdata);
	void *userdata;
};

struct b1d_bus {
	struct b1c *c;			/* bootstrap state: peer, nodes */
	char unique[64];
	dbus_uint32_t serial;
	struct qmsg *q, **q_tail;
	struct peer_ent *peers;
	struct object *objects;
	struct smatch *matches;
	struct door *doors;
	unsigned long n_refused;	/* calls whose sender was unverifiable */
	bool unsynced;			/* signals sent since the last barrier */
	__u64 waiting_handle;		/* the callee b1d_call() waits for */
	bool waiting_dead;		/* ... and its inbox was destroyed */
	bool broker_dead;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void qmsg_free(struct b1d_bus *bus, struct qmsg *q)
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
	p->via_bus = false;
	if (p->door != BUS1_HANDLE_INVALID) {
		bus1_handle_release(bus->c->peer, p->door);
		p->door = BUS1_HANDLE_INVALID;
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

static struct door *door_find(struct b1d_bus *bus, __u64 node)
{
	struct door *d;

	for (d = bus->doors; d; d = d->next)
		if (d->node == node)
			return d;
	return NULL;
}

/* the caller behind inbox @handle is gone: so are its doors */
static void doors_close_for(struct b1d_bus *bus, __u64 handle)
{
	struct door *d, **dp;
	struct peer_ent *p;

	for (dp = &bus->doors; (d = *dp);) {
		p = peer_find(bus, d->caller);
		if (!p || p->handle != handle) {
			dp = &d->next;
			continue;
		}
		*dp = d->next;
		bus1_node_destroy(bus->c->peer, &d->node, 1, 0);
		free(d);
	}
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

static int prepare(struct b1d_bus *bus, DBusMessage *m)
{
	if (!++bus->serial)
		bus->serial = 1;
	dbus_message_set_serial(m, bus->serial);
	if (bus->unique[0] && !dbus_message_set_sender(m, bus->unique))
		return -ENOMEM;
	return 0;
}

static int barrier(struct b1d_bus *bus);

static int send_to(struct b1d_bus *bus, DBusMessage *m, __u64 dst,
		   const __u64 *handle)
{
	/* a direct message must not overtake signals the broker still holds */
	if (bus->unsynced && dst != bus->c->broker)
		barrier(bus);
	return dwire_send(bus->c->peer, m, &dst, 1, NULL, handle,
			  handle ? 1 : 0);
}

/* receive one bus1 message; 1 and *qp if it was a D-Bus message */
static int recv_one(struct b1d_bus *bus, struct qmsg **qp)
{
	struct bus1_message msg;
	struct qmsg *q = NULL;
	DBusMessage *m;
	size_t i;
	int r;

	r = bus1_recv(bus->c->peer, BUS1_RECV_FLAG_INSTALL_FDS, &msg);
	if (r < 0)
		return r == -EAGAIN ? 0 : r;
	switch (msg.type) {
	case BUS1_MSG_DATA:
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
		peers_name_changed(bus, m);
		break;
	case BUS1_MSG_NODE_DESTROY:
		if (msg.destination == bus->c->broker)
			bus->broker_dead = true;
		if (bus->waiting_handle != BUS1_HANDLE_INVALID &&
		    (msg.destination == bus->waiting_handle ||
		     peer_door_of(bus, msg.destination) == bus->waiting_handle))
			bus->waiting_dead = true;
		doors_close_for(bus, msg.destination);
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

int b1d_wait(struct b1d_bus *bus, int timeout_ms)
{
	struct pollfd p = { .fd = bus1_peer_get_fd(bus->c->peer),
			    .events = POLLIN };
	int r;

	if (bus->q)
		return 1;
	r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r > 0;
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
 * send @call to @dst and wait for the reply; *handlep (if not NULL) gets
 * the handle the reply carried
 */
static int call_at(struct b1d_bus *bus, DBusMessage *call_in, __u64 dst,
		   bool direct, int timeout_ms, DBusMessage **replyp,
		   __u64 *handlep)
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
	r = prepare(bus, call);
	serial = bus->serial;
	if (!r)
		r = send_to(bus, call, dst, NULL);
	if (r < 0) {
		dbus_message_unref(call);
		return r;
	}
	deadline = now_ms() + (timeout_ms < 0 ? DEFAULT_TIMEOUT_MS : timeout_ms);
	bus->waiting_handle = direct ? dst : bus->c->broker;
	bus->waiting_dead = false;
	for (;;) {
		r = recv_one(bus, &q);
		if (r < 0)
			break;
		if (r > 0) {
			int t = dbus_message_get_type(q->m);

			if ((t == DBUS_MESSAGE_TYPE_METHOD_RETURN ||
			     t == DBUS_MESSAGE_TYPE_ERROR) &&
			    dbus_message_get_reply_serial(q->m) == serial) {
				*replyp = dbus_message_ref(q->m);
				if (handlep) {
					*handlep = q->handle;
					q->handle = BUS1_HANDLE_INVALID;
				}
				qmsg_free(bus, q);
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
		r = b1d_wait(bus, r);
		if (r < 0)
			break;
	}
	bus->waiting_handle = BUS1_HANDLE_INVALID;
	dbus_message_unref(call);
	return r;
}

static DBusMessage *driver_call(const char *member)
{
	return dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					    DBUS_INTERFACE_DBUS, member);
}

/* a call to the bus; 0 only for a method return */
static int bus_call(struct b1d_bus *bus, DBusMessage *call,
		    DBusMessage **replyp, __u64 *handlep)
{
	DBusMessage *r = NULL;
	int ret;

	ret = call_at(bus, call, bus->c->broker, false, -1, &r, handlep);
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

static void add_match_rule(struct b1d_bus *bus, const char *rule)
{
	DBusMessage *m = driver_call("AddMatch");

	if (!m)
		return;
	if (dbus_message_append_args(m, DBUS_TYPE_STRING, &rule,
				     DBUS_TYPE_INVALID)) {
		dbus_message_set_no_reply(m, TRUE);
		if (!prepare(bus, m))
			send_to(bus, m, bus->c->broker, NULL);
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
		add_match_rule(bus, rule);
		p->watched = true;
	}
	m = driver_call("GetConnectionHandle");
	if (!m || !dbus_message_set_interface(m, B1D_IFACE) ||
	    !dbus_message_append_args(m, DBUS_TYPE_STRING, &name,
				      DBUS_TYPE_INVALID) ||
	    bus_call(bus, m, &r, &h) < 0) {
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
	ret = call_at(bus, m, bus->c->broker, false, -1, &r, NULL);
	dbus_message_unref(m);
	if (r)
		dbus_message_unref(r);
	return ret;
}

/*
 * Ask @p's owner (inbox @inbox) for a door: Door.Open(t nonce) to its
 * inbox. The callee sends the door to the inbox the bus gives it for our
 * unique name, so only we can get a door in our name; the nonce, only ever
 * sent to the callee's inbox, shows the answer is the callee's.
 */
static __u64 door_open(struct b1d_bus *bus, struct peer_ent *p, __u64 inbox)
{
	DBusMessage *m, *r = NULL;
	__u64 door = BUS1_HANDLE_INVALID;
	dbus_uint64_t nonce, echo = 0;
	int ret;

	if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
		return BUS1_HANDLE_INVALID;
	m = dbus_message_new_method_call(p->name, "/", DOOR_IFACE, "Open");
	if (!m)
		return BUS1_HANDLE_INVALID;
	ret = dbus_message_append_args(m, DBUS_TYPE_UINT64, &nonce,
				       DBUS_TYPE_INVALID) ?
	      call_at(bus, m, inbox, true, -1, &r, &door) : -ENOMEM;
	dbus_message_unref(m);
	if (ret < 0)
		return BUS1_HANDLE_INVALID;
	if (dbus_message_get_type(r) != DBUS_MESSAGE_TYPE_METHOD_RETURN ||
	    !dbus_message_get_args(r, NULL, DBUS_TYPE_UINT64, &echo,
				   DBUS_TYPE_INVALID) || echo != nonce) {
		if (door != BUS1_HANDLE_INVALID)
			bus1_handle_release(bus->c->peer, door);
		door = BUS1_HANDLE_INVALID;
	}
	dbus_message_unref(r);
	p->door = door;
	return door;
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
	return door_open(bus, p, inbox);
}

int b1d_call(struct b1d_bus *bus, DBusMessage *call, int timeout_ms,
	     DBusMessage **replyp)
{
	const char *dest = dbus_message_get_destination(call);
	__u64 h = BUS1_HANDLE_INVALID;
	int r;

	if (!dest || dbus_message_get_type(call) != DBUS_MESSAGE_TYPE_METHOD_CALL)
		return -EINVAL;
	if (strcmp(dest, DBUS_SERVICE_DBUS))
		h = peer_door(bus, dest);
	if (h != BUS1_HANDLE_INVALID) {
		r = call_at(bus, call, h, true, timeout_ms, replyp, NULL);
		/* its door went away since the lookup: ask the bus */
		if (r != -EHOSTUNREACH && r != -ENXIO)
			return r;
		peers_forget_handle(bus, h);
	}
	return call_at(bus, call, bus->c->broker, false, timeout_ms, replyp,
		       NULL);
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
	r = prepare(bus, m);
	/* signals go to the bus, which multicasts them once to all matches */
	if (!r && (h == BUS1_HANDLE_INVALID || send_to(bus, m, h, NULL)))
		r = send_to(bus, m, bus->c->broker, NULL);
	if (!r && dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_SIGNAL)
		bus->unsynced = true;
	dbus_message_unref(m);
	return r;
}

/* --- dispatching ------------------------------------------------------- */

static bool eq_or_any(const char *want, const char *have)
{
	return !want || (have && !strcmp(want, have));
}

static void dispatch_signal(struct b1d_bus *bus, DBusMessage *m)
{
	const char *sender = dbus_message_get_sender(m);
	struct smatch *s;

	for (s = bus->matches; s; s = s->next) {
		/* a well-known sender was checked by the bus */
		if (s->sender && s->sender[0] == ':' &&
		    !eq_or_any(s->sender, sender))
			continue;
		if (eq_or_any(s->path, dbus_message_get_path(m)) &&
		    eq_or_any(s->iface, dbus_message_get_interface(m)) &&
		    eq_or_any(s->member, dbus_message_get_member(m)))
			s->fn(bus, m, s->userdata);
	}
}

static DBusMessage *dispatch_call(struct b1d_bus *bus, DBusMessage *m)
{
	const char *path = dbus_message_get_path(m);
	const char *iface = dbus_message_get_interface(m);
	const char *member = dbus_message_get_member(m);
	const struct b1d_method *me;
	struct object *o;
	bool path_known = false;

	for (o = bus->objects; o; o = o->next) {
		if (strcmp(o->path, path))
			continue;
		path_known = true;
		if (iface && strcmp(o->iface, iface))
			continue;
		for (me = o->methods; me->member; me++)
			if (!strcmp(me->member, member))
				return me->fn(bus, m, o->userdata);
	}
	if (!path_known)
		return dbus_message_new_error_printf(m, DBUS_ERROR_UNKNOWN_OBJECT,
						     "No object at %s", path);
	return dbus_message_new_error_printf(m, DBUS_ERROR_UNKNOWN_METHOD,
					     "No method %s.%s at %s",
					     iface ?: "*", member, path);
}

/* Door.Open(t nonce) on our inbox: the door goes to the claimed caller */
static void door_grant(struct b1d_bus *bus, DBusMessage *m)
{
	const char *caller = dbus_message_get_sender(m);
	dbus_uint64_t nonce;
	DBusMessage *r;
	struct door *d;
	__u64 inbox;

	if (!caller || caller[0] != ':' || strlen(caller) >= sizeof(d->caller) ||
	    !dbus_message_get_args(m, NULL, DBUS_TYPE_UINT64, &nonce,
				   DBUS_TYPE_INVALID))
		return;
	inbox = peer_lookup(bus, caller);
	if (inbox == BUS1_HANDLE_INVALID)
		return;
	/* one door per caller, however often (and by whom) it is asked for */
	for (d = bus->doors; d; d = d->next)
		if (!strcmp(d->caller, caller))
			break;
	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d)
			return;
		if (bus1_node_new(bus->c->peer, &d->node) < 0) {
			free(d);
			return;
		}
		strcpy(d->caller, caller);
		d->next = bus->doors;
		bus->doors = d;
	}
	r = dbus_message_new_method_return(m);
	if (r && dbus_message_append_args(r, DBUS_TYPE_UINT64, &nonce,
					  DBUS_TYPE_INVALID) &&
	    !prepare(bus, r) && dbus_message_set_destination(r, caller))
		send_to(bus, r, inbox, &d->node);
	if (r)
		dbus_message_unref(r);
}

/*
 * Who sent call @q, and where its reply goes. A call on a door is from the
 * door's caller, whatever its sender field says; one on our inbox is
 * trusted only if it carries our handle to the broker's node for us, which
 * nobody but the broker can attach.
 */
static bool call_origin(struct b1d_bus *bus, struct qmsg *q, __u64 *reply_to)
{
	struct door *d = door_find(bus, q->node);

	if (d) {
		*reply_to = peer_lookup(bus, d->caller);
		if (*reply_to == BUS1_HANDLE_INVALID)
			*reply_to = bus->c->broker;
		return dbus_message_set_sender(q->m, d->caller);
	}
	*reply_to = bus->c->broker;
	if (q->node != bus->c->reply_node)
		return false;
	if (q->handle == bus->c->broker)
		return true;
	if (dbus_message_has_interface(q->m, DOOR_IFACE) &&
	    dbus_message_has_member(q->m, "Open"))
		door_grant(bus, q->m);
	else if (!bus->n_refused++)
		fprintf(stderr, "libbus1-dbus %s: %s (first: %s claiming %s)\n",
			bus->unique, "refusing direct calls not on a door",
			dbus_message_get_member(q->m) ?: "",
			dbus_message_get_sender(q->m) ?: "no sender");
	return false;
}

static void handle(struct b1d_bus *bus, struct qmsg *q)
{
	const char *caller;
	DBusMessage *r;
	__u64 reply_to;

	switch (dbus_message_get_type(q->m)) {
	case DBUS_MESSAGE_TYPE_SIGNAL:
		dispatch_signal(bus, q->m);
		break;
	case DBUS_MESSAGE_TYPE_METHOD_CALL:
		if (!call_origin(bus, q, &reply_to))
			break;
		r = dispatch_call(bus, q->m);
		if (!r)
			break;
		caller = dbus_message_get_sender(q->m);
		if (!dbus_message_get_no_reply(q->m) && !prepare(bus, r) &&
		    dbus_message_set_destination(r, caller) &&
		    send_to(bus, r, reply_to, NULL) &&
		    reply_to != bus->c->broker)
			send_to(bus, r, bus->c->broker, NULL);
		dbus_message_unref(r);
		break;
	}
	/* late replies and the like are dropped */
}

int b1d_process(struct b1d_bus *bus)
{
	struct qmsg *q = bus->q;
	int r;

	if (q) {
		bus->q = q->next;
		if (!bus->q)
			bus->q_tail = &bus->q;
	} else {
		if (bus->broker_dead)
			return -ESHUTDOWN;
		r = recv_one(bus, &q);
		if (r <= 0)
			return r;
	}
	handle(bus, q);
	qmsg_free(bus, q);
	return 1;
}

int b1d_queued(struct b1d_bus *bus)
{
	struct qmsg *q;
	int n = 0;

	for (q = bus->q; q; q = q->next)
		n++;
	return n;
}

/* --- setup ------------------------------------------------------------- */

int b1d_add_object(struct b1d_bus *bus, const char *path,
		   const char *interface, const struct b1d_method *methods,
		   void *userdata)
{
	struct object *o;

	if (!dbus_validate_path(path, NULL) ||
	    !dbus_validate_interface(interface, NULL))
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->path = strdup(path);
	o->iface = strdup(interface);
	if (!o->path || !o->iface) {
		free(o->path);
		free(o->iface);
		free(o);
		return -ENOMEM;
	}
	o->methods = methods;
	o->userdata = userdata;
	o->next = bus->objects;
	bus->objects = o;
	return 0;
}

static bool rule_add(char *rule, size_t size, const char *key,
		     const char *value)
{
	size_t len = strlen(rule);

	if (!value)
		return true;
	/* values with quotes would need escaping: D-Bus names never have them */
	if (strchr(value, '\''))
		return false;
	return snprintf(rule + len, size - len, ",%s='%s'", key, value) <
	       (int)(size - len);
}

static char *dup_or_null(const char *s, bool *fail)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = true;
	return d;
}

int b1d_match_signal(struct b1d_bus *bus, const char *sender,
		     const char *path, const char *interface,
		     const char *member,
		     void (*fn)(struct b1d_bus *bus, DBusMessage *signal,
				void *userdata),
		     void *userdata)
{
	DBusMessage *m, *r = NULL;
	char rule[1024] = "type='signal'";
	struct smatch *s;
	bool fail = false;
	const char *rp = rule;
	int ret;

	if (!rule_add(rule, sizeof(rule), "sender", sender) ||
	    !rule_add(rule, sizeof(rule), "path", path) ||
	    !rule_add(rule, sizeof(rule), "interface", interface) ||
	    !rule_add(rule, sizeof(rule), "member", member))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->sender = dup_or_null(sender, &fail);
	s->path = dup_or_null(path, &fail);
	s->iface = dup_or_null(interface, &fail);
	s->member = dup_or_null(member, &fail);
	s->fn = fn;
	s->userdata = userdata;
	m = driver_call("AddMatch");
	ret = -ENOMEM;
	if (!fail && m && dbus_message_append_args(m, DBUS_TYPE_STRING, &rp,
						   DBUS_TYPE_INVALID))
		ret = bus_call(bus, m, &r, NULL);
	if (m)
		dbus_message_unref(m);
	if (ret < 0) {
		free(s->sender);
		free(s->path);
		free(s->iface);
		free(s->member);
		free(s);
		return ret == -EREMOTEIO ? -EINVAL : ret;
	}
	dbus_message_unref(r);
	s->next = bus->matches;
	bus->matches = s;
	return 0;
}

static int name_call(struct b1d_bus *bus, const char *member,
		     const char *name, const unsigned int *flags)
{
	DBusMessage *m = driver_call(member), *r = NULL;
	dbus_uint32_t f = flags ? *flags : 0, v;
	int ret = -ENOMEM;

	if (!m)
		return -ENOMEM;
	if (dbus_message_append_args(m, DBUS_TYPE_STRING, &name,
				     DBUS_TYPE_INVALID) &&
	    (!flags || dbus_message_append_args(m, DBUS_TYPE_UINT32, &f,
						DBUS_TYPE_INVALID)))
		ret = bus_call(bus, m, &r, NULL);
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
	ret = b1c_connect(path, &bus->c);
	if (ret < 0) {
		free(bus);
		return ret;
	}
	m = driver_call("Hello");
	ret = m ? call_at(bus, m, bus->c->broker, false, 10000, &r, NULL) :
		  -ENOMEM;
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
	struct door *d;
	struct qmsg *q;

	if (!bus)
		return NULL;
	while ((d = bus->doors)) {
		bus->doors = d->next;
		free(d);
	}
	while ((q = bus->q)) {
		bus->q = q->next;
		qmsg_free(bus, q);
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
