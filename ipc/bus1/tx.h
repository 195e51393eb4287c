/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BUS1_TX_H
#define __BUS1_TX_H

#include <linux/types.h>

struct bus1_peer;
struct bus1_queue_node;

/**
 * struct bus1_tx - a transaction being committed
 * @origin:	peer whose clock issues the commit timestamp
 * @staged:	staged entries in staging order, chained through
 *		bus1_queue_node.next
 * @tail:	where the next staged entry is linked
 * @ts:		highest destination clock seen while staging
 *
 * Lives on the stack of the committing command; no lock needed.
 */
struct bus1_tx {
	struct bus1_peer *origin;
	struct bus1_queue_node *staged;
	struct bus1_queue_node **tail;
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

#endif /* __BUS1_TX_H */
