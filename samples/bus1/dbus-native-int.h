/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbus1-dbus internals shared by dbus-native.c (connections, calls),
 * dbus-native-dispatch.c (what a received message is given to),
 * dbus-native-door.c (doors: who sent a direct call),
 * dbus-native-async.c (b1d_call_async()),
 * dbus-native-introspect.c (Peer, Introspectable), dbus-native-props.c
 * (Properties) and dbus-native-pump.c (sd-bus's bytes to and from bus1
 * messages). Not installed; the API is dbus-native.h.
 */
#ifndef _BUS1_DBUS_NATIVE_INT_H
#define _BUS1_DBUS_NATIVE_INT_H

#include <stdbool.h>
#include "broker-proto.h"
#include "dbus-native.h"

#define B1D_IFACE		"org.bus1.DBus"
#define DOOR_IFACE		"org.bus1.DBus.Door"
#define DBUS_NAME		"org.freedesktop.DBus"
#define DBUS_OPATH		"/org/freedesktop/DBus"
#define B1DI_DEFAULT_TIMEOUT_MS	25000

/*
 * One sd_bus and the library's ends of its two SOCK_STREAM sockets: sd-bus
 * writes messages on @out (the pump takes one at a time, framed by its
 * fixed header, with its fds) and reads @in (the pump writes what bus1
 * brought). Documentation/bus1/dbus.rst, "sd-bus over bus1".
 */
struct b1d_pump {
	sd_bus *sd;
	int in;			/* we write, sd-bus reads */
	int out;		/* sd-bus writes, we read */
	char *buf;		/* the message taken last */
	size_t size;		/* of @buf: @base, or a bigger message's */
	size_t base;		/* sd-bus's SO_SNDBUF: what it writes at once */
	bool filter;		/* all sd-bus reads goes to @got */
	sd_bus_message *got;	/* what the filter was given */
};

/*
 * @p->sd on new sockets, authenticated (ANONYMOUS, unix fds) against a
 * throw-away sd_bus of the other role (@server: @p->sd is the server);
 * @filter: every message sd_bus_process() reads goes to @p->got, before
 * sd-bus's own handling (no built-in replies)
 */
int b1d_pump_open(struct b1d_pump *p, bool server, bool filter);
void b1d_pump_close(struct b1d_pump *p);
/*
 * the message sd-bus wrote last, whole (sd_bus_process() writes the rest of
 * one larger than the socket buffer: not from an sd-bus callback): its bytes
 * in @p->buf, *n_fdsp fds (at most @max_fds, ours to close) in @fds; its
 * length, or -errno: -EMSGSIZE over B1D_MESSAGE_MAX or with more fds,
 * -ENOMEM (those were read to their end: the next message is whole);
 * -EAGAIN: there was none
 */
ssize_t b1d_pump_take(struct b1d_pump *p, int *fds, size_t max_fds,
		      size_t *n_fdsp);
/*
 * give sd-bus @data (exactly one whole D-Bus message, checked) and @fds
 * (always closed); with @mp (filter mode) have sd-bus read it: 1 and *mp
 * the message, 0 if sd-bus dropped it; -errno: the connection is broken.
 * Without @mp only write it (0), for sd_bus_process() of the caller's own.
 */
int b1d_pump_feed(struct b1d_pump *p, const void *data, size_t n,
		  const int *fds, size_t n_fds, sd_bus_message **mp);
/* messages in @p->out nobody took (sd-bus wrote on its own); drains them */
int b1d_pump_strays(struct b1d_pump *p);

/* a received message not handled yet */
struct qmsg {
	struct qmsg *next;
	sd_bus_message *m;
	__u64 handle;		/* handle[0] of the bus1 message, or INVALID */
	__u64 node;		/* which of our nodes it arrived on */
	bool from_bus;		/* it carried our broker handle */
	bool no_reply;		/* b1di_async_gone()'s, for a call */
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
	const struct b1d_method *methods;	/* never NULL */
	const struct b1d_property *props;	/* NULL: none */
	const struct b1d_signal *signals;	/* NULL: none */
	void *userdata;
};

/*
 * a call of b1d_call_async() until its end: its reply handed to @fn, its
 * timeout, or b1d_call_cancel() (dbus-native-async.c)
 */
struct acall {
	struct acall *next;
	sd_bus_message *call;
	uint64_t cookie;
	__u64 reply_on;		/* our node its reply comes to, INVALID: bus */
	__u64 callee;		/* door or broker handle: its death ends it */
	long long deadline_ms;
	bool dead;		/* its NoReply is queued */
	b1d_reply_fn fn;
	void *userdata;
};

struct smatch {
	struct smatch *next;
	char *sender, *path, *iface, *member;
	void (*fn)(struct b1d_bus *bus, sd_bus_message *signal, void *userdata);
	void *userdata;
};

struct b1d_bus {
	struct b1c *c;			/* bootstrap state: peer, nodes */
	struct b1d_pump pump;
	char unique[64];
	struct qmsg *q, **q_tail;
	struct peer_ent *peers;
	struct object *objects;
	struct smatch *matches;
	struct door *doors;
	struct rpath *rpaths;
	struct acall *acalls;		/* b1d_call_async()'s, newest first */
	__u64 sigbox;			/* our node for the bus's broadcasts */
	__u64 copy;			/* the broker's node for our copies */
	unsigned long n_refused;	/* calls whose sender was unverifiable */
	unsigned long n_forged;		/* replies not from where the call went */
	unsigned long n_forged_signals;	/* signals not from the bus */
	__u64 waiting_handle;		/* the callee b1d_call() waits for */
	bool waiting_dead;		/* ... and its inbox was destroyed */
	bool broker_dead;
	bool unsynced;			/* signals sent since the last barrier */
	/*
	 * the bus has monitors: every direct send goes to @copy too (the
	 * bools together: the struct stays in its malloc size class, which
	 * moves the heap and the bench's icount figures otherwise)
	 */
	bool monitored;
};

/* dbus-native.c */
/*
 * send @m to handle @dst, with @handle attached if not NULL: sealed by
 * sd-bus (our unique name as sender if it has none), its cookie in
 * *cookiep if not NULL (else a call expects no reply)
 */
int b1di_send_to(struct b1d_bus *bus, sd_bus_message *m, __u64 dst,
		 const __u64 *handle, uint64_t *cookiep);
/* @m's type, 0 if unknown */
uint8_t b1di_type(sd_bus_message *m);
/*
 * send @call to @dst (@direct: a peer, else the broker), with @attach if
 * not NULL, and wait for its reply, which must arrive on our node
 * @reply_on (INVALID: come from the bus); *handlep (if not NULL) gets the
 * handle the reply carried
 */
int b1di_call_at(struct b1d_bus *bus, sd_bus_message *call, __u64 dst,
		 bool direct, const __u64 *attach, __u64 reply_on,
		 int timeout_ms, sd_bus_message **replyp, __u64 *handlep);
/* a call to the bus; 0 only for a method return */
int b1di_bus_call(struct b1d_bus *bus, sd_bus_message *call,
		  sd_bus_message **replyp, __u64 *handlep);
/* a method call of @iface (NULL: org.freedesktop.DBus) to the bus */
sd_bus_message *b1di_driver_call(struct b1d_bus *bus, const char *iface,
				 const char *member);
/* free @q and release the handle it carried */
void b1di_qmsg_free(struct b1d_bus *bus, struct qmsg *q);
/* receive one message: 1 and *qp, 0 if none was ready or it was no data */
int b1di_recv_one(struct b1d_bus *bus, struct qmsg **qp);
/* AddMatch @rule on the bus, no reply asked */
void b1di_add_match_rule(struct b1d_bus *bus, const char *rule);
long long b1di_now_ms(void);
/* append @q to the messages b1d_process() hands out */
void b1di_enqueue(struct b1d_bus *bus, struct qmsg *q);
/*
 * send @call to its destination's door (our node for the replies attached
 * the first time) or, with none, through the bus: *cookiep its cookie,
 * *reply_onp where its reply must come (INVALID: from the bus), *calleep
 * the handle whose destruction means it never comes
 */
int b1di_send_call(struct b1d_bus *bus, sd_bus_message *call,
		   uint64_t *cookiep, __u64 *reply_onp, __u64 *calleep);
/* is @m a reply to the call with @cookie; did @q come from where it went */
bool b1di_is_reply_to(sd_bus_message *m, uint64_t cookie);
bool b1di_reply_origin_ok(struct b1d_bus *bus, struct qmsg *q,
			  __u64 reply_on);
/* a sealed NoReply error to @call, as if the bus had sent it */
sd_bus_message *b1di_no_reply(sd_bus_message *call, const char *why);

/* dbus-native-async.c */
/* hand reply @q to its call's callback; false: it answers none of them */
bool b1di_async_reply(struct b1d_bus *bus, struct qmsg *q);
/* @handle (a door, the broker) was destroyed, @door with it: NoReplies */
void b1di_async_gone(struct b1d_bus *bus, __u64 handle, __u64 door);
/* hand out one call whose time is up; false if none is */
bool b1di_async_expire(struct b1d_bus *bus);
void b1di_async_free(struct b1d_bus *bus);

/* dbus-native-introspect.c */
bool b1di_builtin(struct b1d_bus *bus, sd_bus_message *m,
		  sd_bus_message **replyp);
/* is @sig a valid D-Bus signature (sd-bus exports no check of its own) */
bool b1di_signature_valid(const char *sig);
/* ... and exactly one complete type */
bool b1di_signature_single(const char *sig);
/* is @si's member, signature and names what Introspect may write */
bool b1di_signal_valid(const struct b1d_signal *si);

/* dbus-native-props.c */
/*
 * a call of org.freedesktop.DBus.Properties at @m's path, which has
 * objects: true and *replyp
 */
bool b1di_props_call(struct b1d_bus *bus, sd_bus_message *m,
		     sd_bus_message **replyp);
/* is @iface one the library answers on every path (Peer, ...) */
bool b1di_std_iface(const char *iface);

/* dbus-native-mon.c */
/* is @q the bus's Monitored signal: then it was handled (*q's handle taken) */
bool b1di_mon_notice(struct b1d_bus *bus, struct qmsg *q);
/*
 * send @v with @handle (if not NULL) and @fds to @dst and, in the same
 * multicast, to the broker's copy node: the result is @dst's
 */
int b1di_mon_send(struct b1d_bus *bus, __u64 dst, const struct iovec *v,
		  const __u64 *handle, const int *fds, size_t n_fds);

/* dbus-native-door.c */
__u64 b1di_door_open(struct b1d_bus *bus, struct peer_ent *p, __u64 inbox);
bool b1di_call_origin(struct b1d_bus *bus, struct qmsg *q, __u64 *reply_to);
void b1di_doors_close_for(struct b1d_bus *bus, __u64 handle);
void b1di_doors_free(struct b1d_bus *bus);
struct rpath *b1di_rpath_get(struct b1d_bus *bus, __u64 door);
void b1di_rpath_put(struct b1d_bus *bus, __u64 door);

#endif /* _BUS1_DBUS_NATIVE_INT_H */
