/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bus1-dbus-broker: the message bus logic (names, matches, the
 * org.freedesktop.DBus driver, activation, routing), independent of how
 * messages reach it. A transport (today only dbus-socket.c, AF_UNIX via
 * libdbus's DBusServer) creates one struct bconn per client, feeds every
 * message it receives to bus_receive() and delivers what the bus hands to
 * bconn_ops.send(). A bus1-native transport (issue 19 item 2/3) plugs in
 * the same way. Design: Documentation/bus1/dbus.rst.
 *
 * Lookups on a message's path are hash lookups (dbus-map.h): connections
 * by unique name, names by name, connections per uid; what a connection
 * owns is a list of its own. Lists walked whole are the connections (a
 * broadcast's receivers, ListNames) and per-connection, bounded ones (its
 * matches, one name's queue). dbus.rst "Lookups".
 */
#ifndef _BUS1_DBUS_BUS_H
#define _BUS1_DBUS_BUS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include <sys/types.h>
#include <dbus/dbus.h>
#include "broker.h"
#include "dbus-fifo.h"
#include "dbus-map.h"

#define BUS_DRIVER_NAME		"org.freedesktop.DBus"
#define BUS_DRIVER_PATH		"/org/freedesktop/DBus"
#define BUS_MONITORING_IFACE	"org.freedesktop.DBus.Monitoring"

struct bus;
struct bconn;
struct match;
struct b1t;

struct bus_limits {
	unsigned int max_connections_per_user;
	unsigned int max_names_per_connection;
	unsigned int max_matches_per_connection;
	unsigned int max_replies_per_connection;
	unsigned int max_message_size;
	unsigned int max_message_fds;
	long max_outgoing_bytes;	/* queued towards one client */
	int reply_timeout_ms;
	int activation_timeout_ms;
	int auth_timeout_ms;
	unsigned int max_incomplete_connections;
};

struct bconn_ops {
	/* queue m towards the client; false if that is impossible */
	bool (*send)(struct bconn *c, DBusMessage *m);
	/* bytes queued towards the client and not yet written */
	long (*outgoing_size)(struct bconn *c);
	/* may the client receive unix fds */
	bool (*can_pass_fds)(struct bconn *c);
	/* close the connection; bus_disconnect() follows later */
	void (*close)(struct bconn *c);
	/*
	 * optional: deliver m to n clients of this transport in one
	 * transaction (bus1: one multicast); returns how many took it
	 */
	unsigned int (*multicast)(struct bconn **to, unsigned int n,
				  DBusMessage *m);
	/*
	 * optional: the bus has monitors now (@on) or has none anymore;
	 * the client copies its direct messages to the bus while it has
	 */
	void (*monitored)(struct bconn *c, bool on);
};

struct bconn {
	struct bus *bus;
	const struct bconn_ops *ops;
	void *priv;			/* the transport's */
	struct bconn *next, *prev;	/* bus->conns */
	struct map_entry by_unique;	/* bus->by_unique while registered
					 * and not a monitor
					 */
	__u64 id;			/* ":1.<id>" once registered */
	char unique[32];		/* "" before Hello */
	bool registered;		/* Hello done */
	bool counted;			/* in bus->users under @uid */
	bool monitor;			/* BecomeMonitor done */
	bool closing;			/* close requested, log line written */
	bool gone;			/* the transport found the client gone
					 * (bus_disconnect() follows)
					 */
	bool warned_full;		/* logged one dropped message */
	bool warned_copy;		/* logged one dropped copy */
	uid_t uid;
	gid_t gid;
	pid_t pid;			/* 0: unknown */
	gid_t *groups;			/* supplementary groups, the transport's */
	unsigned int n_groups;
	unsigned int n_names;		/* owned or queued */
	struct owner *owned;		/* the same, through owner.cnext */
	unsigned int n_matches;
	unsigned int n_pending;		/* calls it waits a reply for */
	struct pending *calls;		/* the same, for its replies */
	struct pending *answers;	/* calls it owes a reply to */
	struct match *matches;
};

/*
 * A method call waiting for its reply (dbus-daemon's "expected reply"). On
 * three lists: the bus's, in deadline order (one reply_timeout for the bus,
 * so appending keeps the order and expiring looks at the head only), its
 * caller's and its callee's (a disconnect touches its own calls only).
 */
struct pending {
	struct fifo_node by_deadline;	/* bus->pending */
	struct pending *cnext, **cpprev; /* caller->calls */
	struct pending *anext, **apprev; /* callee->answers */
	struct bconn *caller;
	struct bconn *callee;
	__u32 serial;		/* the call's serial (caller's) */
	__u64 deadline_ms;
};

/* one owner or queued owner of a well-known name */
struct owner {
	struct owner *next;		/* name->owners, the queue */
	struct owner *cnext, **cpprev;	/* conn->owned */
	struct name *name;
	struct bconn *conn;
	__u32 flags;			/* DBUS_NAME_FLAG_* of its request */
};

struct name {
	struct name *next, *prev;	/* bus->names, for ListNames */
	struct map_entry by_name;	/* bus->by_name, keyed by @name */
	char *name;
	struct owner *owners;		/* head: primary owner */
};

/* an activation in progress, and what waits for it */
struct waiter {
	struct waiter *next;
	struct bconn *conn;
	DBusMessage *msg;		/* routed once the name has an owner */
	bool start_reply;		/* msg is a StartServiceByName call */
};

struct activation {
	struct activation *next;
	char *name;
	pid_t pid;			/* 0 once reaped */
	__u64 deadline_ms;
	struct waiter *waiters;
	unsigned int n_waiters;
};

/* how many connections a uid has (max_connections_per_user) */
struct bus_user {
	struct map_entry by_uid;	/* bus->users, keyed by the uid */
	unsigned int n_conns;
};

struct bus {
	struct bus_limits limits;
	struct policy policy;
	char *address;			/* handed to activated services */
	char id[33];			/* GetId */
	int verbose;
	__u64 next_id;
	struct bconn *conns;
	unsigned int n_conns;
	unsigned int n_monitors;	/* bus_monitor() has work to do */
	struct map by_unique;		/* registered non-monitor bconns */
	struct map users;		/* struct bus_user by uid */
	struct map by_name;		/* struct name by name */
	struct name *names;
	struct fifo pending;		/* of pending.by_deadline */
	struct activation *activations;
	struct b1t *native;		/* the bus1 transport, if enabled */
	__u64 n_messages, n_dropped, n_denied;	/* n_denied: by send rules */
	/* what the bus carried between clients (GetStats of dbus-b1.c) */
	__u64 n_calls_routed, n_replies_routed;
	__u64 n_multicasts, n_multicast_dsts, n_handles_given, n_lookups;
	/* copies of direct messages: received, given to monitors, dropped */
	__u64 n_copies, n_copies_monitored, n_copies_dropped;
};

/* dbus-bus.c */
void bus_init(struct bus *b);
void bus_destroy(struct bus *b);
__u64 bus_now_ms(void);
void bus_log(struct bus *b, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void bconn_init(struct bus *b, struct bconn *c, const struct bconn_ops *ops,
		void *priv);
bool bus_user_allowed(struct bus *b, struct bconn *c, uid_t uid);
void bus_register(struct bconn *c);
void bus_become_monitor(struct bconn *c);
void bus_receive(struct bconn *c, DBusMessage *m);
/* make @c's unique name the sender of @m; false: out of memory */
bool bus_set_sender(struct bconn *c, DBusMessage *m);
void bus_disconnect(struct bconn *c);
void bconn_kill(struct bconn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct bconn *bus_find_unique(struct bus *b, const char *unique);
bool bus_deliver(struct bconn *to, DBusMessage *m);
void bus_route(struct bconn *from, DBusMessage *m);
void bus_broadcast(struct bus *b, DBusMessage *m);
void bus_monitor(struct bus *b, DBusMessage *m);
/* the copy of a message @c sent directly to a peer: to monitors only */
void bus_monitor_copy(struct bconn *c, DBusMessage *m);
/* tell @c that the bus is monitored (bconn_ops.monitored), if it is */
void bus_monitored_tell(struct bconn *c);
void bus_reply_error(struct bconn *c, DBusMessage *call, const char *error,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void bus_deny_send(struct bconn *from, DBusMessage *m, struct bconn *to,
		   const char *dest);
int bus_expire(struct bus *b);	/* timeouts; returns ms until the next */
void bus_pending_drop_conn(struct bconn *c);

/* dbus-names.c */
struct name *names_lookup(struct bus *b, const char *name);
struct bconn *names_owner(struct bus *b, const char *name);
bool names_valid_wellknown(const char *name);
int names_request(struct bconn *c, const char *name, __u32 flags,
		  DBusError *err);
int names_release(struct bconn *c, const char *name, DBusError *err);
void names_release_all(struct bconn *c);
bool names_owns(struct bconn *c, const char *name);
/* the send rules: may @from send to @to (NULL: @name has no owner yet) */
bool names_may_send(struct bconn *from, struct bconn *to, const char *name);
void names_owner_changed(struct bus *b, const char *name, const char *old,
			 const char *new);
void names_signal_to(struct bconn *c, const char *member, const char *name);

/* dbus-match.c */
struct match *match_parse(const char *rule, DBusError *err);
void match_free(struct match *m);
int match_parse_list(char **rules, int n, struct match **out, DBusError *err);
bool match_equal(const struct match *a, const struct match *b);
bool match_eavesdrop(const struct match *m);
/* does m match msg, sent by "from" (NULL: the driver), addressed to "to" */
bool match_matches(struct bus *b, const struct match *m, DBusMessage *msg,
		   struct bconn *from, struct bconn *to);
int match_add(struct bconn *c, const char *rule, DBusError *err);
int match_remove(struct bconn *c, const char *rule, DBusError *err);
void match_remove_all(struct bconn *c);
bool match_any(struct bconn *c, DBusMessage *msg, struct bconn *from);

/* dbus-driver.c */
void driver_handle(struct bconn *c, DBusMessage *m);
DBusMessage *driver_signal(const char *member);

/* dbus-activation.c */
int activation_start(struct bconn *c, const char *name, DBusMessage *msg,
		     bool start_reply, DBusError *err);
void activation_name_acquired(struct bus *b, const char *name);
void activation_reap(struct bus *b);
int activation_expire(struct bus *b, __u64 now);
void activation_drop_conn(struct bconn *c);

#endif /* _BUS1_DBUS_BUS_H */
