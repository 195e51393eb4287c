// SPDX-License-Identifier: GPL-2.0
/*
 * Transactions: the commit protocol that makes multicast atomic and every
 * queue agree on one global order.
 *
 * 1. Stage: every destination entry is linked as staging, each above the
 *    clock of its queue and of all queues staged before; the highest clock
 *    seen is collected.
 * 2. Commit timestamp: the origin syncs its clock to what was collected
 *    and ticks; the result T is above every staging timestamp.
 * 3. Sync: every destination clock is raised to T before any entry becomes
 *    visible, so whatever a receiver does after seeing the message is
 *    ordered after it everywhere.
 * 4. Commit: every entry is re-keyed to (T, origin id).
 *
 * A unicast needs no staging: with one destination there is nothing to make
 * atomic, and a fresh tick of the destination clock, synced to the origin
 * clock first, is above everything either has seen (commit_unicast below).
 *
 * Only one queue lock is held at a time. See Documentation/bus1/ordering.rst.
 */

#include <linux/bus1.h>
#include <linux/kernel.h>
#include <linux/spinlock.h>
#include "handle.h"
#include "message.h"
#include "peer.h"
#include "queue.h"
#include "tx.h"

static struct bus1_peer *bus1_tx_peer_of(struct bus1_queue_node *node)
{
	if (node->type == BUS1_MSG_DATA)
		return container_of(node, struct bus1_message, qnode)->peer;
	return container_of(node, struct bus1_handle, qdestroy)->holder;
}

/**
 * bus1_tx_init() - start a transaction
 * @tx:		transaction to initialize
 * @origin:	origin peer, active reference held by the caller
 */
void bus1_tx_init(struct bus1_tx *tx, struct bus1_peer *origin)
{
	tx->origin = origin;
	tx->staged = NULL;
	tx->ts = 0;
}

/**
 * bus1_tx_stage() - stage an entry on its destination queue
 * @tx:		transaction
 * @node:	unlinked message or NODE_DESTROY entry
 * @peer:	destination peer; the caller hands over one active reference
 *		on it, which bus1_tx_commit() drops
 */
void bus1_tx_stage(struct bus1_tx *tx, struct bus1_queue_node *node,
		   struct bus1_peer *peer)
{
	WARN_ON(bus1_tx_peer_of(node) != peer);
	spin_lock(&peer->data_lock);
	tx->ts = bus1_queue_stage(&peer->queue, node, tx->origin->id, tx->ts);
	spin_unlock(&peer->data_lock);
	node->next = tx->staged;
	tx->staged = node;
}

/**
 * bus1_tx_seal() - take the commit timestamp of a transaction
 * @tx:		transaction with everything staged
 *
 * Return: the commit timestamp, above every staging timestamp.
 */
u64 bus1_tx_seal(struct bus1_tx *tx)
{
	struct bus1_peer *origin = tx->origin;
	u64 ts;

	spin_lock(&origin->data_lock);
	bus1_queue_sync(&origin->queue, tx->ts);
	ts = bus1_queue_tick(&origin->queue);
	spin_unlock(&origin->data_lock);
	return ts;
}

/**
 * bus1_tx_commit_sealed() - commit all staged entries
 * @tx:		transaction sealed with bus1_tx_seal()
 * @ts:		its commit timestamp
 *
 * Cannot fail. Once an entry is committed its receiver may dequeue and
 * free it, so each entry is left alone right after its own commit.
 */
void bus1_tx_commit_sealed(struct bus1_tx *tx, u64 ts)
{
	struct bus1_queue_node *node, *next;
	struct bus1_peer *peer;
	bool wake;

	/*
	 * Every destination clock reaches @ts before any entry is visible.
	 * With a single destination the commit below does both at once.
	 */
	if (tx->staged && tx->staged->next) {
		for (node = tx->staged; node; node = node->next) {
			peer = bus1_tx_peer_of(node);
			spin_lock(&peer->data_lock);
			bus1_queue_sync(&peer->queue, ts);
			spin_unlock(&peer->data_lock);
		}
	}

	for (node = tx->staged; node; node = next) {
		next = node->next;
		peer = bus1_tx_peer_of(node);
		spin_lock(&peer->data_lock);
		node->next = NULL;
		bus1_queue_sync(&peer->queue, ts);
		wake = bus1_queue_commit_staged(&peer->queue, node, ts);
		spin_unlock(&peer->data_lock);
		if (wake)
			bus1_peer_wake(peer);
		bus1_peer_release(peer);
	}
	tx->staged = NULL;
}

/**
 * bus1_tx_commit_unicast() - commit a transaction with one entry
 * @origin:	origin peer, active reference and local lock held
 * @node:	unlinked message
 * @peer:	destination peer; the caller hands over one active reference
 *
 * Like commit_direct of NODE_RELEASE, with the destination clock synced to
 * the origin clock first: T = tick(sync(D, clock of O)), keyed (T, origin
 * id). The origin clock is read without its lock: it only grows, and every
 * entry the origin has dequeued raised it before it became visible, so the
 * value read is above everything the origin has seen. Afterwards the origin
 * clock is synced to T, as a commit timestamp taken on the origin would
 * have left it. Cannot fail.
 */
void bus1_tx_commit_unicast(struct bus1_peer *origin,
			    struct bus1_queue_node *node,
			    struct bus1_peer *peer)
{
	bool wake;
	u64 ts;

	/* the unlocked read of the origin clock relies on it */
	lockdep_assert_held(&origin->lock);
	WARN_ON(bus1_tx_peer_of(node) != peer);
	spin_lock(&peer->data_lock);
	bus1_queue_sync(&peer->queue,
			bus1_queue_clock_unlocked(&origin->queue));
	wake = bus1_queue_commit_unstaged(&peer->queue, node, origin->id);
	/* the receiver may free @node once the lock is dropped */
	ts = node->ts;
	spin_unlock(&peer->data_lock);
	if (wake)
		bus1_peer_wake(peer);

	if (peer != origin) {
		spin_lock(&origin->data_lock);
		bus1_queue_sync(&origin->queue, ts);
		spin_unlock(&origin->data_lock);
	}
	bus1_peer_release(peer);
}

/**
 * bus1_tx_commit() - seal and commit a transaction
 * @tx:		transaction with everything staged
 *
 * Return: the commit timestamp.
 */
u64 bus1_tx_commit(struct bus1_tx *tx)
{
	u64 ts = bus1_tx_seal(tx);

	bus1_tx_commit_sealed(tx, ts);
	return ts;
}
