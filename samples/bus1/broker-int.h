/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bus1-broker internals shared by broker.c (clients, names, the event
 * loop), broker-boot.c (bootstrap), broker-activation.c (activation) and
 * broker-requests.c (the requests on the broker's bus1 peer). Single
 * threaded: everything here belongs to the event loop of broker_run().
 */
#ifndef _BUS1_BROKER_INT_H
#define _BUS1_BROKER_INT_H

#include <stdbool.h>
#include <sys/types.h>
#include <bus1/bus1.h>
#include "broker.h"

#define MAX_CLIENTS		1024
#define MAX_NAMES		4096
#define MAX_NAMES_PER_CLIENT	64
#define MAX_WATCHES_PER_CLIENT	64
#define MAX_PENDING_LOOKUPS	64
#define MAX_CONNS		32
#define CONN_TIMEOUT_MS		2000
#define BATCH			64
#define SPAWN_REPLY_NODE	0x4ULL	/* never chosen by libbus1 */

struct client {
	__u64 id;
	__u64 node;		/* broker's node this client talks to */
	__u64 reply;		/* broker's handle to the client's reply node */
	uid_t uid;
	pid_t pid;
	bool watch_all;
	unsigned int n_watches;
	char *watches[MAX_WATCHES_PER_CLIENT];
	unsigned int n_names;
	unsigned int n_epoch;	/* requests in the current epoch */
};

struct lookup {
	__u64 client_id;
	__u32 serial;
};

struct name {
	char name[B1B_NAME_MAX + 1];
	struct client *owner;	/* NULL: only activation state */
	__u64 handle;		/* broker's handle to the owner's node */
	pid_t activating;
	long long deadline;
	unsigned int n_lookups;
	struct lookup lookups[MAX_PENDING_LOOKUPS];
};

struct conn {
	int fd;
	long long deadline;
};

struct broker {
	const struct broker_config *cfg;
	struct policy policy;
	struct bus1_peer *peer;
	int listen_fd;
	unsigned int n_clients;
	struct client *clients[MAX_CLIENTS];
	unsigned int n_names;
	struct name *names[MAX_NAMES];
	unsigned int n_conns;
	struct conn conns[MAX_CONNS];
	__u64 next_client_id;
	/* the burst cut-off's epochs (broker-requests.c) */
	__u64 fence;		/* node the broker sends its fences to */
	bool fence_queued;	/* a fence is queued: the epoch goes on */
	/* statistics (GET_STATS) */
	__u64 n_requests, n_rejected, n_dropped, n_events;
};

/* broker.c */
long long now_ms(void);
void logm(struct broker *b, int level, const char *fmt, ...);
struct client *client_by_node(struct broker *b, __u64 node);
struct client *client_by_id(struct broker *b, __u64 id);
struct name *name_find(struct broker *b, const char *n);
int name_add(struct broker *b, const char *name, struct name **np);
void name_remove(struct broker *b, struct name *n);
int send_to(struct broker *b, __u64 dst, const void *data, size_t len,
	    const __u64 *handles, size_t n_handles);
void reply_status(struct broker *b, struct client *c, __u8 op,
		  __u32 serial, int status);
void reply_owner(struct broker *b, struct client *c, __u32 serial,
		 struct name *n);
void emit_owner_changed(struct broker *b, const char *name,
			__u64 old_owner, __u64 new_owner);
void name_drop_owner(struct broker *b, struct name *n);
void fail_lookups(struct broker *b, struct name *n, int err);
void client_free(struct broker *b, struct client *c);
void client_gone(struct broker *b, struct client *c, const char *why);
struct client *client_new(struct broker *b, uid_t uid, pid_t pid);

/* broker-boot.c */
void process_hello(struct broker *b, int fd);
void accept_conns(struct broker *b);
int listen_on(const char *path);

/* broker-activation.c */
int spawn(struct broker *b, struct name *n, const struct policy_act *a);
void reap_children(struct broker *b);

/* broker-requests.c */
void process_bus1(struct broker *b);

#endif /* _BUS1_BROKER_INT_H */
