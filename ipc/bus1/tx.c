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
 * atomic, and a fresh tick of the destination clock is above everything
 * committed there (commit_unicast below).
 *
 * Only one queue lock is held at a time. See Documentation/bus1/ordering.rst.
 *
 * From its staging to its commit, an entry holds back every entry committed
 * behind it on its queue (head-of-line stall, threat-model.rst). So
 * everything that can be done earlier is: messages are built, charged and
 * copied before the first entry is staged, and nothing between the first
 * staging and the last commit allocates, copies or waits for user memory.
 * The entries are gathered first and staged by bus1_tx_seal() in runs, one
 * per destination queue, each staged and committed under consecutive holds
 * of its lock (BUS1_TX_BATCH entries at most per hold) and synced once.
 * Runs are staged longest first; they are committed shortest first, runs
 * of equal length in staging order. So the runs staged last, the short
 * ones, are committed right after the syncs. A run of r entries waits for
 * one sync per queue, the other runs of length r staged after it or
 * committed before it (never both), and the shorter runs twice: a queue
 * with the only single entry of a transaction of q queues waits for q
 * syncs and its own commit, one with one of t single entries for q + t
 * lock holds (<= 2q), whatever order the sender gave. Which of the runs
 * of one length goes first changes nobody's wait: each of the others is
 * staged after a run or committed before it, exactly once either way.
 * threat-model.rst has the numbers.
 *
 * The plan (bus1_tx_plan()) groups n entries to q queues through a hash
 * table of the queues on the stack of bus1_tx_seal(), min(n, 112)
 * buckets (896 bytes at most), chained through fields of the entries
 * that are free until staged: O(n) time plus the chains, about q / 224
 * extra probes per entry beyond 112 queues (4.6 at 1024); a transaction
 * to some queue twice pays a second pass over the list. Runs are sorted
 * (by length, stably, O(q log q)) only if their lengths differ; the
 * entries never are. Nothing is allocated, so a destruction at peer
 * teardown plans the same way, up to BUS1_TX_PLAN_HASH_MAX entries; a
 * larger one (only a destruction: a SEND has at most 1024 destinations)
 * sorts its entries by queue, O(n log n), as the chains would grow with
 * the number of its queues.
 */

#include <linux/bus1.h>
#include <linux/hash.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/spinlock.h>
#include <linux/string.h>
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
	tx->tail = &tx->staged;
	tx->n = 0;
	tx->ts = 0;
}

/**
 * bus1_tx_stage() - add an entry to a transaction
 * @tx:		transaction
 * @node:	unlinked message or NODE_DESTROY entry
 * @peer:	destination peer; the caller hands over one active reference
 *		on it, which bus1_tx_commit_sealed() drops
 *
 * The entry is staged on its queue by bus1_tx_seal(), with the other
 * entries of its queue, in the order that keeps short runs waiting least.
 */
void bus1_tx_stage(struct bus1_tx *tx, struct bus1_queue_node *node,
		   struct bus1_peer *peer)
{
	WARN_ON(bus1_tx_peer_of(node) != peer);
	node->next = NULL;
	*tx->tail = node;
	tx->tail = &node->next;
	++tx->n;
}

/*
 * Sort order of the plan: ascending ->tag, or descending with @desc. While
 * planning, ->tag of a run's first entry holds the length of the run
 * (bus1_tx_plan()).
 */
static bool bus1_tx_before(struct bus1_queue_node *a,
			   struct bus1_queue_node *b, bool desc)
{
	return desc ? a->tag > b->tag : a->tag < b->tag;
}

/*
 * Stable bottom-up merge sort of a list chained through ->next (no
 * recursion, no allocation; O(r log r) for the r runs of a plan, O(n log
 * n) for the entries of bus1_tx_plan_sorted()).
 */
static struct bus1_queue_node *bus1_tx_sort(struct bus1_queue_node *list,
					    bool desc)
{
	struct bus1_queue_node *p, *q, *e, *head, **tail;
	size_t width, merges, np, nq;

	for (width = 1; list; width *= 2) {
		head = NULL;
		tail = &head;
		merges = 0;
		for (p = list; p; p = q) {
			++merges;
			q = p;
			for (np = 0; np < width && q; ++np)
				q = q->next;
			nq = width;
			while (np || (nq && q)) {
				if (!np) {
					e = q;
					q = q->next;
					--nq;
				} else if (!nq || !q ||
					   !bus1_tx_before(q, p, desc)) {
					e = p;
					p = p->next;
					--np;
				} else {
					e = q;
					q = q->next;
					--nq;
				}
				*tail = e;
				tail = &e->next;
			}
		}
		*tail = NULL;
		list = head;
		if (merges <= 1)
			break;
	}
	return list;
}

/* ->ts of an entry not staged yet, used as a link by bus1_tx_plan() */
static struct bus1_queue_node *bus1_tx_link(u64 ts)
{
	return (struct bus1_queue_node *)(unsigned long)ts;
}

/*
 * Buckets of the plan for @n entries: about one per entry, at most
 * BUS1_TX_PLAN_BUCKETS (the table lives on the stack of bus1_tx_seal()).
 */
static unsigned int bus1_tx_plan_buckets(size_t n)
{
	return clamp_t(size_t, n, 1, BUS1_TX_PLAN_BUCKETS);
}

/* the bucket of a peer address among @nb */
static unsigned int bus1_tx_bucket(u64 key, unsigned int nb)
{
	return reciprocal_scale(hash_64(key, 32), nb);
}

/* the head of @key's run in the bucket chain from @head, or NULL */
static struct bus1_queue_node *bus1_tx_find(struct bus1_queue_node *head,
					    u64 key)
{
	while (head && head->tag != key)
		head = bus1_tx_link(head->ts);
	return head;
}

/*
 * Runs of different lengths: cut the list (runs spliced behind their heads,
 * each entry's ->tag its run length) into runs, the head keeping the rest
 * of its run in ->ts, sort the runs by length, stably, and splice them
 * back.
 */
static struct bus1_queue_node *bus1_tx_sort_runs(struct bus1_queue_node *list)
{
	struct bus1_queue_node *head, *last, *next, *node, **tail = &list;
	u64 i;

	for (head = list; head; head = next) {
		for (i = 1, last = head; i < head->tag; ++i)
			last = last->next;
		next = last->next;
		last->next = NULL;
		head->ts = (u64)(unsigned long)(head == last ? NULL : head->next);
		*tail = head;
		tail = &head->next;
	}
	*tail = NULL;
	list = bus1_tx_sort(list, true);

	for (head = list, tail = &list; head; head = next) {
		next = head->next;
		*tail = head;
		tail = &head->next;
		for (node = bus1_tx_link(head->ts); node; node = node->next) {
			*tail = node;
			tail = &node->next;
		}
	}
	*tail = NULL;
	return list;
}

/*
 * The plan of a transaction too large for the hash table: more entries
 * than a SEND can have (a destruction of many handles, held by up to as
 * many peers), where the chains would make the grouping O(n q /
 * buckets). The entries are sorted by queue instead, O(n log n): ->tag
 * holds the peer's address for the first sort, the run length after it;
 * the second sort (stable) runs only if the lengths differ.
 */
static struct bus1_queue_node *bus1_tx_plan_sorted(struct bus1_queue_node *list)
{
	struct bus1_queue_node *run, *node;
	bool one_length = true;
	u64 i, n, key, first = 0;

	for (node = list; node; node = node->next)
		node->tag = (u64)(unsigned long)bus1_tx_peer_of(node);
	list = bus1_tx_sort(list, false);
	for (run = list; run; run = node) {
		key = run->tag;
		n = 0;
		for (node = run; node && node->tag == key; node = node->next)
			++n;
		for (i = 0, node = run; i < n; ++i, node = node->next)
			node->tag = n;
		if (!first)
			first = n;
		one_length &= n == first;
	}
	return one_length ? list : bus1_tx_sort(list, true);
}

/*
 * Order the @n entries of @list into runs, one per destination queue,
 * longest run first, without sorting entries. ->next, ->ts and ->tag of an
 * entry are free until bus1_queue_stage() sets them:
 *
 * 0. Distinct queues (a multicast to peers with one node each, the common
 *    case): every entry is put in the hash table (step 1) without leaving
 *    the list; if no queue comes twice, the list is the plan as it is,
 *    runs of one entry in the sender's order. Otherwise, from the start:
 * 1. Group: the first entry of a queue heads its run; it keeps the peer's
 *    address in ->tag and is chained to the other heads of its hash bucket
 *    through ->ts. Later entries of the queue are pushed on the head's
 *    ->next, each with its place in the run in ->tag, so the top one holds
 *    the run length.
 * 2. Runs: the buckets are walked in order; each head takes the length of
 *    its run in ->tag and is followed by its other entries, back in the
 *    order they were added and with the length in ->tag too.
 * 3. Only if the runs differ in length, the runs (not the entries) are
 *    sorted by length, stably: when every run has one length (a few peers
 *    with one number of nodes each) the list is ready.
 *
 * Runs of one length end up in the sender's order (step 0) or in bucket
 * order, which follows the hash of the peer's address; their order does
 * not change any queue's wait (see the head of this file).
 */
static struct bus1_queue_node *bus1_tx_plan(struct bus1_queue_node *list,
					    size_t n)
{
	struct bus1_queue_node *buckets[BUS1_TX_PLAN_BUCKETS];
	struct bus1_queue_node *node, *next, *head, *top, *rev, **tail;
	unsigned int i, nb = bus1_tx_plan_buckets(n);
	size_t runs = 0;
	u64 key, len, longest = 1;

	if (n > BUS1_TX_PLAN_HASH_MAX)
		return bus1_tx_plan_sorted(list);

	/* distinct queues (the common case): the list stays as it is */
	memset(buckets, 0, sizeof(*buckets) * nb);
	for (node = list; node; node = node->next) {
		key = (u64)(unsigned long)bus1_tx_peer_of(node);
		i = bus1_tx_bucket(key, nb);
		head = bus1_tx_find(buckets[i], key);
		if (head)
			break;
		node->tag = key;
		node->ts = (u64)(unsigned long)buckets[i];
		buckets[i] = node;
	}
	if (!node) {
		for (node = list; node; node = node->next)
			node->tag = 1;
		return list;
	}

	memset(buckets, 0, sizeof(*buckets) * nb);
	for (node = list; node; node = next) {
		next = node->next;
		key = (u64)(unsigned long)bus1_tx_peer_of(node);
		i = bus1_tx_bucket(key, nb);
		head = bus1_tx_find(buckets[i], key);
		if (head) {
			node->tag = head->next ? head->next->tag + 1 : 2;
			node->next = head->next;
			head->next = node;
			longest = max(longest, node->tag);
		} else {
			node->tag = key;
			node->ts = (u64)(unsigned long)buckets[i];
			node->next = NULL;
			buckets[i] = node;
			++runs;
		}
	}

	list = NULL;
	tail = &list;
	for (i = 0; i < nb; ++i) {
		for (head = buckets[i]; head; head = next) {
			next = bus1_tx_link(head->ts);
			top = head->next;
			len = top ? top->tag : 1;
			head->tag = len;
			rev = NULL;
			for (node = top; node; node = top) {
				top = node->next;
				node->tag = len;
				node->next = rev;
				rev = node;
			}
			*tail = head;
			/* the entry pushed last is the run's last now */
			tail = head->next ? &head->next->next : &head->next;
			head->next = rev;
		}
	}
	*tail = NULL;
	/* all runs have the longest length if they add up to @n */
	return runs * longest == n ? list : bus1_tx_sort_runs(list);
}

/*
 * Move the group of runs of one length, in staging order, to the front of
 * the commit order: groups staged later (shorter runs) commit earlier.
 */
static void bus1_tx_push_group(struct bus1_queue_node **order,
			       struct bus1_queue_node **group,
			       struct bus1_queue_node ***tail)
{
	**tail = *order;
	*order = *group;
	*group = NULL;
	*tail = group;
}

/**
 * bus1_tx_seal() - stage all entries and take the commit timestamp
 * @tx:		transaction with every entry added
 *
 * Stages the runs longest first, each under consecutive holds of its
 * queue's lock (BUS1_TX_BATCH entries at most per hold), and leaves the
 * list in commit order: shortest runs first, runs of equal length in
 * staging order (see the head of this file).
 *
 * Return: the commit timestamp, above every staging timestamp.
 */
u64 bus1_tx_seal(struct bus1_tx *tx)
{
	struct bus1_queue_node *node, *next, *order = NULL, *group = NULL;
	struct bus1_queue_node **tail = &group;
	struct bus1_peer *origin = tx->origin;
	struct bus1_peer *peer;
	unsigned int held;
	u64 len = 0, ts;

	node = bus1_tx_plan(tx->staged, tx->n);
	while (node) {
		peer = bus1_tx_peer_of(node);
		spin_lock(&peer->data_lock);
		held = 0;
		do {
			next = node->next;
			/* ->tag holds the run length until staged */
			if (node->tag != len) {
				bus1_tx_push_group(&order, &group, &tail);
				len = node->tag;
			}
			tx->ts = bus1_queue_stage(&peer->queue, node,
						  origin->id, tx->ts);
			node->next = NULL;
			*tail = node;
			tail = &node->next;
			node = next;
		} while (node && ++held < BUS1_TX_BATCH &&
			 bus1_tx_peer_of(node) == peer);
		spin_unlock(&peer->data_lock);
	}
	bus1_tx_push_group(&order, &group, &tail);
	tx->staged = order;
	tx->tail = NULL; /* sealed: nothing is added anymore */

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
	unsigned int held;
	bool wake;

	/*
	 * Every destination clock reaches @ts before any entry is visible:
	 * one sync per run (a queue's runs are adjacent; its clock only
	 * grows). The run committed first is synced by its own commit,
	 * right after all the others.
	 */
	peer = tx->staged ? bus1_tx_peer_of(tx->staged) : NULL;
	for (node = tx->staged; node; node = node->next) {
		if (bus1_tx_peer_of(node) == peer)
			continue;
		peer = bus1_tx_peer_of(node);
		spin_lock(&peer->data_lock);
		bus1_queue_sync(&peer->queue, ts);
		spin_unlock(&peer->data_lock);
	}

	node = tx->staged;
	while (node) {
		peer = bus1_tx_peer_of(node);
		wake = false;
		spin_lock(&peer->data_lock);
		bus1_queue_sync(&peer->queue, ts);
		held = 0;
		do {
			next = node->next;
			node->next = NULL;
			wake |= bus1_queue_commit_staged(&peer->queue, node, ts);
			node = next; /* not committed yet: still ours */
			++held;
		} while (node && held < BUS1_TX_BATCH &&
			 bus1_tx_peer_of(node) == peer);
		spin_unlock(&peer->data_lock);
		if (wake)
			bus1_peer_wake(peer);
		while (held--)
			bus1_peer_release(peer);
	}
	tx->staged = NULL;
	tx->tail = &tx->staged;
	tx->n = 0;
}

/**
 * bus1_tx_commit_unicast() - commit a transaction with one entry
 * @origin:	origin peer, active reference and local lock held
 * @node:	unlinked message
 * @peer:	destination peer; the caller hands over one active reference
 *
 * Commits like a NODE_RELEASE: T = tick(D), keyed (T, origin id). With one
 * destination there is no second entry to keep invisible, and G1-G5 rest
 * on the destination clock alone (Documentation/bus1/ordering.rst,
 * "Unicast"). The origin's local lock serializes its transactions, which
 * keeps the keys of one origin unique on @peer's queue (I4). Cannot fail.
 */
void bus1_tx_commit_unicast(struct bus1_peer *origin,
			    struct bus1_queue_node *node,
			    struct bus1_peer *peer)
{
	bool wake;

	lockdep_assert_held(&origin->lock);
	WARN_ON(bus1_tx_peer_of(node) != peer);
	spin_lock(&peer->data_lock);
	wake = bus1_queue_commit_unstaged(&peer->queue, node, origin->id);
	spin_unlock(&peer->data_lock);
	if (wake)
		bus1_peer_wake(peer);
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

#ifdef BUS1_SELFTEST
#include "selftest/tx.c"
#endif
