/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _BUS1_BROKER_H
#define _BUS1_BROKER_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include "broker-proto.h"

#define POLICY_MAX_RULES	256
#define POLICY_MAX_ACTS		64
#define POLICY_MAX_ARGS		16

struct policy_rule {
	char pattern[B1B_NAME_MAX + 1];
	bool any_uid;
	uid_t uid;
	bool allow;
	bool send;		/* allow-send/deny-send, else an own rule */
};

struct policy_act {
	char name[B1B_NAME_MAX + 1];
	char *argv[POLICY_MAX_ARGS + 1];
};

struct policy {
	bool default_allow;		/* default-own */
	bool default_send_allow;	/* default-send */
	unsigned int n_send_rules;	/* of n_rules */
	unsigned int n_rules;
	struct policy_rule rules[POLICY_MAX_RULES];
	unsigned int n_acts;
	struct policy_act acts[POLICY_MAX_ACTS];
};

void policy_init(struct policy *p);
void policy_clear(struct policy *p);
/* returns 0, or -EINVAL with "line N: reason" in err */
int policy_parse(struct policy *p, FILE *f, char *err, size_t errlen);
int policy_load(struct policy *p, const char *path, char *err, size_t errlen);
bool policy_may_own(const struct policy *p, const char *name, uid_t uid);
/*
 * may @uid send to a destination? @dst_matches(ctx, pattern) says whether
 * a send rule's name pattern (never "*": that always matches) names it
 */
bool policy_may_send(const struct policy *p, uid_t uid,
		     bool (*dst_matches)(void *ctx, const char *pattern),
		     void *ctx);
const struct policy_act *policy_activation(const struct policy *p,
					   const char *name);
bool policy_pattern_match(const char *pattern, const char *name);

#define BROKER_MAX_BURST	32	/* queued requests of one client */

struct broker_config {
	const char *socket_path;
	const char *policy_path;
	int activation_timeout_ms;
	int verbose;
	int ready_fd;		/* written "ready\n" once listening, or -1 */
	unsigned int max_queue;	/* slice limit of the broker peer, 0: keep */
	unsigned int max_burst;	/* queued requests before a client is cut */
};

/* runs until SIGTERM/SIGINT; returns an exit code */
int broker_run(const struct broker_config *cfg);
int broker_main(int argc, char **argv);

#endif /* _BUS1_BROKER_H */
