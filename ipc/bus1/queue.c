// SPDX-License-Identifier: GPL-2.0
/*
 * Per-peer queues ordered by Lamport timestamps.
 *
 * Invariant: an entry committed on a queue with key (T, tag) can only ever
 * be preceded by entries that are already linked into that queue. Anything
 * staged later gets a staging timestamp above the queue clock, and the
 * transaction commit protocol (tx.c) raises every destination clock to T
 * before any of its entries is committed. Re-keying only moves an entry
 * backwards. Hence a committed head is final: nothing can be inserted in
 * front of it, and it is yielded only when no staging entry precedes it.
 *
 * All functions expect the caller to hold the data lock of the owning peer.
 */

#include <linux/kernel.h>
#include <linux/rbtree.h>
#include "queue.h"

/**
 * bus1_queue_init() - initialize a queue
 * @queue:	queue to initialize
 */
void bus1_queue_init(struct bus1_queue *queue)
{
	queue->clock = 0;
	queue->flush = 0;
	queue->flush_tag = 0;
	queue->entries = RB_ROOT_CACHED;
	queue->n_entries = 0;
	bus1_queue_set_lock(queue, NULL);
}

/**
 * bus1_queue_deinit() - tear down an empty queue
 * @queue:	queue to tear down
 */
void bus1_queue_deinit(struct bus1_queue *queue)
{
	WARN_ON(!RB_EMPTY_ROOT(&queue->entries.rb_root));
	WARN_ON(queue->n_entries);
}

/**
 * bus1_queue_tick() - advance the clock of a queue
 * @queue:	queue to operate on
 *
 * Return: the new (even) clock value; the caller owns it and its odd
 * successor.
 */
u64 bus1_queue_tick(struct bus1_queue *queue)
{
	bus1_queue_assert_held(queue);
	queue->clock += 2;
	return queue->clock;
}

static bool bus1_queue_less(struct rb_node *a, const struct rb_node *b)
{
	struct bus1_queue_node *x = rb_entry(a, struct bus1_queue_node, rb);
	struct bus1_queue_node *y = rb_entry(b, struct bus1_queue_node, rb);

	if (x->ts != y->ts)
		return x->ts < y->ts;
	if (x->tag != y->tag)
		return x->tag < y->tag;
	return x < y;
}

static void bus1_queue_link(struct bus1_queue *queue,
			    struct bus1_queue_node *node)
{
	rb_add_cached(&node->rb, &queue->entries, bus1_queue_less);
	++queue->n_entries;
}

static bool bus1_queue_is_readable(struct bus1_queue *queue)
{
	struct rb_node *rb = rb_first_cached(&queue->entries);

	return rb && bus1_queue_node_is_committed(rb_entry(rb,
						struct bus1_queue_node, rb));
}

/**
 * bus1_queue_stage() - link an entry as staging
 * @queue:	queue to operate on
 * @node:	unlinked entry
 * @tag:	tag of the transaction
 * @ts:		highest clock seen by the transaction so far
 *
 * Return: the clock of @queue after syncing it to @ts; the entry is staged
 * right above it.
 */
u64 bus1_queue_stage(struct bus1_queue *queue, struct bus1_queue_node *node,
		     u64 tag, u64 ts)
{
	bus1_queue_assert_held(queue);
	bus1_queue_sync(queue, ts);
	node->ts = queue->clock + 1;
	node->tag = tag;
	bus1_queue_link(queue, node);
	return queue->clock;
}

/**
 * bus1_queue_commit_staged() - commit a staging entry
 * @queue:	queue to operate on
 * @node:	staging entry of @queue
 * @ts:		even commit timestamp, above the staging timestamp
 *
 * Return: true if the queue turned readable (readers must be woken).
 */
bool bus1_queue_commit_staged(struct bus1_queue *queue,
			      struct bus1_queue_node *node, u64 ts)
{
	bool readable = bus1_queue_is_readable(queue);
	struct rb_node *next;

	bus1_queue_assert_held(queue);
	WARN_ON(!(node->ts & 1) || ts <= node->ts || (ts & 1));
	/*
	 * The key only grows, so the entry keeps its place unless its
	 * successor now sorts before it; mostly there is no successor.
	 * rb_erase_cached() does not look at keys.
	 */
	node->ts = ts;
	next = rb_next(&node->rb);
	if (next && bus1_queue_less(next, &node->rb)) {
		rb_erase_cached(&node->rb, &queue->entries);
		rb_add_cached(&node->rb, &queue->entries, bus1_queue_less);
	}
	return !readable && bus1_queue_is_readable(queue);
}

/**
 * bus1_queue_commit_unstaged() - link an entry as committed right away
 * @queue:	queue to operate on
 * @node:	unlinked entry
 * @tag:	tag of the entry (id of the peer whose event it is)
 *
 * Used for NODE_RELEASE and unicast messages; a fresh tick orders the entry
 * after everything the queue has seen.
 *
 * Return: true if the queue turned readable (readers must be woken).
 */
bool bus1_queue_commit_unstaged(struct bus1_queue *queue,
				struct bus1_queue_node *node, u64 tag)
{
	bool readable = bus1_queue_is_readable(queue);

	bus1_queue_assert_held(queue);
	node->ts = bus1_queue_tick(queue);
	node->tag = tag;
	bus1_queue_link(queue, node);
	return !readable && bus1_queue_is_readable(queue);
}

/**
 * bus1_queue_remove() - unlink an entry
 * @queue:	queue to operate on
 * @node:	entry to unlink, may be unlinked already
 *
 * Return: true if the queue turned readable (readers must be woken).
 */
bool bus1_queue_remove(struct bus1_queue *queue, struct bus1_queue_node *node)
{
	bool readable;

	bus1_queue_assert_held(queue);
	if (!bus1_queue_node_is_queued(node))
		return false;
	readable = bus1_queue_is_readable(queue);
	bus1_queue_unlink(queue, node);
	return !readable && bus1_queue_is_readable(queue);
}

/**
 * bus1_queue_flush() - drop committed entries up to a timestamp
 * @queue:	queue to operate on
 * @ts:		commit timestamp of the flush
 * @tag:	tag of the flush
 *
 * Unlinks every committed entry ordered at or before (@ts, @tag) and records
 * the key, so entries that commit later at or before it are discarded on
 * dequeue (compared on full keys, as every ordering decision is).
 *
 * Return: the unlinked entries, chained through ->next.
 */
struct bus1_queue_node *bus1_queue_flush(struct bus1_queue *queue, u64 ts,
					 u64 tag)
{
	struct bus1_queue_node *node, *list = NULL;
	struct rb_node *rb, *next;

	bus1_queue_assert_held(queue);
	if (bus1_key_before(queue->flush, queue->flush_tag, ts, tag)) {
		queue->flush = ts;
		queue->flush_tag = tag;
	}
	for (rb = rb_first_cached(&queue->entries); rb; rb = next) {
		next = rb_next(rb);
		node = rb_entry(rb, struct bus1_queue_node, rb);
		if (bus1_key_before(ts, tag, node->ts, node->tag))
			break;
		if (!bus1_queue_node_is_committed(node))
			continue;
		bus1_queue_unlink(queue, node);
		node->next = list;
		list = node;
	}
	return list;
}

/**
 * bus1_queue_drain() - unlink every entry
 * @queue:	queue to operate on
 *
 * Only valid once no transaction can stage on @queue anymore.
 *
 * Return: the unlinked entries, chained through ->next.
 */
struct bus1_queue_node *bus1_queue_drain(struct bus1_queue *queue)
{
	struct bus1_queue_node *node, *list = NULL;
	struct rb_node *rb;

	bus1_queue_assert_held(queue);
	while ((rb = rb_first_cached(&queue->entries))) {
		node = rb_entry(rb, struct bus1_queue_node, rb);
		bus1_queue_unlink(queue, node);
		node->next = list;
		list = node;
	}
	return list;
}

#ifdef BUS1_SELFTEST
#include "selftest/queue.c"

/**
 * bus1_queue_run_selftests() - check the queue logic at module load
 *
 * Return: true if every self-test passed.
 */
bool bus1_queue_run_selftests(void)
{
	if (!bus1_queue_selftest())
		return false;
	pr_info("bus1: queue self-tests: pass\n");
	return true;
}
#endif
