/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbus1-dbus internals shared by dbus-native.c (connections, calls),
 * dbus-native-dispatch.c (what a received message is given to),
 * dbus-native-door.c (doors: who sent a direct call) and
 * dbus-native-introspect.c (Peer, Introspectable). Not installed; the API
 * is dbus-native.h.
 */
#ifndef _BUS1_DBUS_NATIVE_INT_H
#define _BUS1_DBUS_NATIVE_INT_H

#include <stdbool.h>
#include "broker-proto.h"
#include "dbus-native.h"

#define B1D_IFACE		"org.bus1.DBus"
#define DOOR_IFACE		"org.bus1.DBus.Door"

/* a received message not handled yet */
struct qmsg {
	struct qmsg *next;
	DBusMessage *m;
	__u64 handle;		/* handle[0] of the bus1 message, or INVALID */
	__u64 node;		/* which of our nodes it arrived on */
	bool from_bus;		/* it carried our broker handle */
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

/*
 * our node for the replies of the callee behind door handle @door: one per
 * door, as the callee has one door per caller, however many names of it
 * we call it by
 */
struct rpath {
	struct rpath *next;
	__u64 door;
	__u64 node;
	bool sent;		/* the callee has it */
};

/* a node of ours that exactly one caller holds a handle to */
struct door {
	struct door *next;
	__u64 node;
	__u64 inbox;		/* the caller's, from GetCallerHandle */
	__u64 reply;		/* the caller's node for our replies, or INVALID */
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
	struct rpath *rpaths;
	__u64 sigbox;			/* our node for the bus's broadcasts */
	unsigned long n_refused;	/* calls whose sender was unverifiable */
	unsigned long n_forged;		/* replies not from where the call went */
	unsigned long n_forged_signals;	/* signals not from the bus */
	bool unsynced;			/* signals sent since the last barrier */
	__u64 waiting_handle;		/* the callee b1d_call() waits for */
	bool waiting_dead;		/* ... and its inbox was destroyed */
	bool broker_dead;
};

/* dbus-native.c */
/* give @m our next serial and our unique name as sender */
int b1di_prepare(struct b1d_bus *bus, DBusMessage *m);
bool b1di_set_sender(DBusMessage *m, const char *v);
/* b1di_prepare() of reply @r, and @call's sender as its destination */
int b1di_prepare_reply(struct b1d_bus *bus, DBusMessage *call,
		       DBusMessage *r);
/* send @m to handle @dst, with @handle attached if not NULL */
int b1di_send_to(struct b1d_bus *bus, DBusMessage *m, __u64 dst,
		 const __u64 *handle);
/*
 * send @call to @dst (@direct: a peer, else the broker), with @attach if
 * not NULL, and wait for its reply, which must arrive on our node
 * @reply_on (INVALID: come from the bus); *handlep (if not NULL) gets the
 * handle the reply carried
 */
int b1di_call_at(struct b1d_bus *bus, DBusMessage *call_in, __u64 dst,
		 bool direct, const __u64 *attach, __u64 reply_on,
		 int timeout_ms, DBusMessage **replyp, __u64 *handlep);
/* a call to the bus; 0 only for a method return */
int b1di_bus_call(struct b1d_bus *bus, DBusMessage *call,
		  DBusMessage **replyp, __u64 *handlep);
/* a method call of org.freedesktop.DBus */
DBusMessage *b1di_driver_call(const char *member);
/* free @q and release the handle it carried */
void b1di_qmsg_free(struct b1d_bus *bus, struct qmsg *q);
/* receive one message: 1 and *qp, 0 if none was ready or it was no data */
int b1di_recv_one(struct b1d_bus *bus, struct qmsg **qp);
/* AddMatch @rule on the bus, no reply asked */
void b1di_add_match_rule(struct b1d_bus *bus, const char *rule);

/* dbus-native-introspect.c */
bool b1di_builtin(struct b1d_bus *bus, DBusMessage *m, DBusMessage **replyp);

/* dbus-native-door.c */
__u64 b1di_door_open(struct b1d_bus *bus, struct peer_ent *p, __u64 inbox);
bool b1di_call_origin(struct b1d_bus *bus, struct qmsg *q, __u64 *reply_to);
void b1di_doors_close_for(struct b1d_bus *bus, __u64 handle);
void b1di_doors_free(struct b1d_bus *bus);
struct rpath *b1di_rpath_get(struct b1d_bus *bus, __u64 door);
void b1di_rpath_put(struct b1d_bus *bus, __u64 door);

#endif /* _BUS1_DBUS_NATIVE_INT_H */
