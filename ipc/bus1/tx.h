/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BUS1_TX_H
#define __BUS1_TX_H

#include <linux/bus1.h>
#include <linux/types.h>

/*
 * Most entries staged or committed on one queue under one hold of its lock:
 * a run is batched (one lock round trip, not one per entry), but the lock
 * is still dropped now and then for the queue's readers and unicasts.
 */
#define BUS1_TX_BATCH 64

/*
 * Hash buckets of a transaction's plan, at most (on the stack of
 * bus1_tx_seal(): 112 pointers, 896 bytes): a transaction to up to 112
 * queues finds each in about one probe, one to 1024 in about five.
 */
#define BUS1_TX_PLAN_BUCKETS 112

/*
 * Entries a plan groups through the hash table, at most: a SEND's 1024
 * destinations. Larger transactions (a destruction of many handles)
 * sort their entries instead, O(n log n), since the chains would grow
 * with their number of queues.
 */
#define BUS1_TX_PLAN_HASH_MAX BUS1_DESTINATION_MAX

struct bus1_peer;
struct bus1_queue_node;

/**
 * struct bus1_tx - a transaction being committed
 * @origin:	peer whose clock issues the commit timestamp
 * @staged:	entries chained through bus1_queue_node.next: in the order
 *		they were added until bus1_tx_seal(), in commit order after
 * @tail:	where the next entry is linked; NULL once sealed
 * @n:		number of entries added
 * @ts:		highest destination clock seen while staging
 *
 * Lives on the stack of the committing command; no lock needed.
 */
struct bus1_tx {
	struct bus1_peer *origin;
	struct bus1_queue_node *staged;
	struct bus1_queue_node **tail;
	size_t n;
	u64 ts;
};

void bus1_tx_init(struct bus1_tx *tx, struct bus1_peer *origin);
void bus1_tx_stage(struct bus1_tx *tx, struct bus1_queue_node *node,
		   struct bus1_peer *peer);
u64 bus1_tx_seal(struct bus1_tx *tx);
void bus1_tx_commit_sealed(struct bus1_tx *tx, u64 ts);
u64 bus1_tx_commit(struct bus1_tx *tx);
void bus1_tx_commit_unicast(struct bus1_peer *origin,
			    struct bus1_queue_node *node,
			    struct bus1_peer *peer);

#ifdef BUS1_SELFTEST
bool bus1_tx_run_selftests(void);
#else
static inline bool bus1_tx_run_selftests(void)
{
	return true;
}
#endif

#endif /* __BUS1_TX_H */
