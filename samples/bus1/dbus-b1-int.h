/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bus1-dbus-broker's bus1 transport, what dbus-b1.c (bootstrap, receiving,
 * org.bus1.DBus) shares with dbus-b1-mon.c (monitors of direct traffic:
 * the copies native connections send while the bus is monitored).
 */
#ifndef _BUS1_DBUS_B1_INT_H
#define _BUS1_DBUS_B1_INT_H

#include "broker-proto.h"
#include "dbus-b1.h"
#include "dbus-wire.h"

#define BOOT_MAX	16	/* half-open bootstrap sockets */
#define BOOT_TIMEOUT_MS	2000
#define RECV_BATCH	64	/* messages per loop turn */

struct nconn {
	struct bconn bc;
	struct b1t *t;
	struct nconn *next;
	__u64 node;			/* connection node (ours) */
	__u64 inbox;			/* handle to the client's inbox */
	__u64 sigbox;			/* ... to its signal node, or INVALID */
	__u64 copy;			/* its copy node (ours), or INVALID */
	/*
	 * in t->by_node (and by_copy once it has one) from listing to
	 * reaping, by_inbox/sigbox until death
	 */
	struct map_entry by_node, by_inbox, by_sigbox, by_copy;
	/*
	 * on t->hello from its connect until its Hello or its death (left
	 * there after its Hello until it reaches the head): one auth_timeout
	 * for all, so the list is in deadline order and only its head is due
	 */
	struct fifo_node hello;
	__u64 hello_deadline_ms;
	/*
	 * bc.gone: nothing is sent to it anymore (set by a send that found
	 * its inbox destroyed, before its NODE_DESTROY, whose messages
	 * before it are still routed); dead: gone or closed,
	 * bus_disconnect() due
	 */
	bool dead;
	/*
	 * the ids of the connections whose inbox GetConnectionHandle gave
	 * it: only those may get its inbox by GetCallerHandle
	 */
	__u64 *granted;
	unsigned int n_granted, max_granted;
};

struct boot {
	int fd;
	__u64 deadline_ms;
};

struct b1t {
	struct bus *bus;
	struct bus1_peer *peer;
	int listen_fd;
	char *path;
	struct boot boots[BOOT_MAX];
	unsigned int n_boots;
	struct nconn *conns;
	struct fifo hello;		/* of nconn.hello: oldest first */
	struct map by_node;		/* nconn by node (also dead ones) */
	struct map by_inbox;		/* live nconn by inbox handle */
	struct map by_sigbox;		/* live nconn by signal node handle */
	struct map by_copy;		/* nconn by copy node (also dead) */
	unsigned int n_dead;
};

static inline struct nconn *to_nconn(struct bconn *c)
{
	return c->priv;
}

/* dbus-b1.c */
/*
 * the reply to an org.bus1.DBus call: @handle (if any) as handle[0], then
 * the connection node, which shows the reply is the bus's
 */
void ext_reply(struct nconn *nc, struct DBusMessage *call,
	       struct DBusMessage *r, const __u64 *handle);

/* dbus-b1-mon.c */
/* bconn_ops.monitored: tell the client, with the node for its copies */
void b1t_monitored(struct bconn *c, bool on);
/* a bus1 message on @nc's copy node: to the monitors, never routed */
void b1t_copy(struct nconn *nc, struct bus1_message *msg);
/* org.bus1.DBus.GetMonitorStats() -> (uttt) */
void b1t_monitor_stats(struct nconn *nc, struct DBusMessage *call);

#endif /* _BUS1_DBUS_B1_INT_H */
