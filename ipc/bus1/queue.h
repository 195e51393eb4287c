/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BUS1_QUEUE_H
#define __BUS1_QUEUE_H

#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <linux/types.h>

/**
 * struct bus1_queue_node - entry of a message queue
 * @rb:		link in bus1_queue.entries, ordered by (ts, tag, address)
 * @next:	scratch link owned by whoever holds the entry outside of a
 *		queue (transaction staging list, flush list)
 * @ts:		0 if not queued, odd while staging, even once committed
 * @tag:	id of the peer whose clock issued the commit timestamp; before
 *		an entry is staged, bus1_tx_seal() keeps the length of its
 *		run there (tx.c)
 * @type:	BUS1_MSG_* of the container (data, destroy, release)
 *
 * A queue node is embedded in its container (message, handle, node) and is
 * protected by the data lock of the peer owning the queue it is linked into.
 */
struct bus1_queue_node {
	struct rb_node rb;
	struct bus1_queue_node *next;
	u64 ts;
	u64 tag;
	unsigned int type;
};

/**
 * struct bus1_queue - per-peer message queue with a Lamport clock
 * @clock:	Lamport clock of the peer, always even
 * @flush:	commit timestamp of the last flush; entries committed at or
 *		below (@flush, @flush_tag) are stale
 * @flush_tag:	tag of the last flush
 * @entries:	all linked entries, staging and committed, by key
 * @n_entries:	number of linked entries
 * @lock:	with lockdep only: the lock protecting the queue, for
 *		bus1_queue_assert_held(); NULL for the self-tests' queues
 *
 * Everything is protected by the data lock of the owning peer. See
 * Documentation/bus1/ordering.rst for the invariants.
 */
struct bus1_queue {
	u64 clock;
	u64 flush;
	u64 flush_tag;
	struct rb_root_cached entries;
	unsigned long n_entries;
#ifdef CONFIG_LOCKDEP
	spinlock_t *lock; /* lockdep only, see above */
#endif
};

/**
 * bus1_queue_set_lock() - tell lockdep which lock protects a queue
 * @queue:	initialized queue
 * @lock:	the data lock of the owning peer
 */
static inline void bus1_queue_set_lock(struct bus1_queue *queue,
				       spinlock_t *lock)
{
#ifdef CONFIG_LOCKDEP
	queue->lock = lock;
#endif
}

/**
 * bus1_queue_assert_held() - assert that the lock of a queue is held
 * @queue:	queue about to be read or written
 */
static inline void bus1_queue_assert_held(struct bus1_queue *queue)
{
#ifdef CONFIG_LOCKDEP
	if (queue->lock)
		lockdep_assert_held(queue->lock);
#endif
}

static inline void bus1_queue_node_init(struct bus1_queue_node *node,
					unsigned int type)
{
	RB_CLEAR_NODE(&node->rb);
	node->next = NULL;
	node->ts = 0;
	node->tag = 0;
	node->type = type;
}

static inline bool bus1_queue_node_is_queued(struct bus1_queue_node *node)
{
	return !RB_EMPTY_NODE(&node->rb);
}

static inline bool bus1_queue_node_is_committed(struct bus1_queue_node *node)
{
	return node->ts && !(node->ts & 1);
}

void bus1_queue_init(struct bus1_queue *queue);
void bus1_queue_deinit(struct bus1_queue *queue);
u64 bus1_queue_tick(struct bus1_queue *queue);
u64 bus1_queue_stage(struct bus1_queue *queue, struct bus1_queue_node *node,
		     u64 tag, u64 ts);
bool bus1_queue_commit_staged(struct bus1_queue *queue,
			      struct bus1_queue_node *node, u64 ts);
bool bus1_queue_commit_unstaged(struct bus1_queue *queue,
				struct bus1_queue_node *node, u64 tag);
bool bus1_queue_remove(struct bus1_queue *queue, struct bus1_queue_node *node);
struct bus1_queue_node *bus1_queue_flush(struct bus1_queue *queue, u64 ts,
					 u64 tag);
struct bus1_queue_node *bus1_queue_drain(struct bus1_queue *queue);

/**
 * bus1_key_before() - compare two ordering keys
 * @ts_a:	timestamp of a
 * @tag_a:	tag of a
 * @ts_b:	timestamp of b
 * @tag_b:	tag of b
 *
 * Return: true if (ts_a, tag_a) is ordered strictly before (ts_b, tag_b).
 */
static inline bool bus1_key_before(u64 ts_a, u64 tag_a, u64 ts_b, u64 tag_b)
{
	return ts_a < ts_b || (ts_a == ts_b && tag_a < tag_b);
}

/**
 * bus1_queue_node_is_stale() - check the flush rule for a committed entry
 * @queue:	queue the entry is linked into
 * @node:	committed entry
 *
 * Return: true if a flush ordered after the entry discards it.
 */
static inline bool bus1_queue_node_is_stale(struct bus1_queue *queue,
					    struct bus1_queue_node *node)
{
	return !bus1_key_before(queue->flush, queue->flush_tag, node->ts,
				node->tag);
}

/**
 * bus1_queue_sync() - raise the clock of a queue
 * @queue:	queue to operate on
 * @ts:		even timestamp the clock must reach
 *
 * Return: the new clock value.
 */
static inline u64 bus1_queue_sync(struct bus1_queue *queue, u64 ts)
{
	bus1_queue_assert_held(queue);
	if (ts > queue->clock)
		queue->clock = ts;
	return queue->clock;
}

/* every removal of an entry goes through here */
static inline void bus1_queue_unlink(struct bus1_queue *queue,
				     struct bus1_queue_node *node)
{
	bus1_queue_assert_held(queue);
	/* the last entry leaves an empty tree: no rebalancing, no successor */
	if (queue->n_entries == 1)
		queue->entries = RB_ROOT_CACHED;
	else
		rb_erase_cached(&node->rb, &queue->entries);
	RB_CLEAR_NODE(&node->rb);
	node->ts = 0;
	--queue->n_entries;
}

/**
 * bus1_queue_dequeue() - unlink the ready head
 * @queue:	queue to operate on
 * @node:	the head, as returned by bus1_queue_peek()
 *
 * Unlike bus1_queue_remove() this does not report readability: whoever
 * dequeues the head is the reader.
 */
static inline void bus1_queue_dequeue(struct bus1_queue *queue,
				      struct bus1_queue_node *node)
{
	bus1_queue_unlink(queue, node);
}

/**
 * bus1_queue_peek() - return the ready head
 * @queue:	queue to operate on
 * @continues:	set to whether the next entry belongs to the same transaction
 *
 * Return: the head if it is committed, NULL if the queue is empty or the
 * head is still staging.
 */
static inline struct bus1_queue_node *
bus1_queue_peek(struct bus1_queue *queue, bool *continues)
{
	struct bus1_queue_node *node, *next;
	struct rb_node *rb;

	bus1_queue_assert_held(queue);
	rb = rb_first_cached(&queue->entries);
	if (!rb)
		return NULL;
	node = rb_entry(rb, struct bus1_queue_node, rb);
	if (!bus1_queue_node_is_committed(node))
		return NULL;

	if (continues) {
		/* a lone head has no successor: no tree walk for that */
		rb = queue->n_entries > 1 ? rb_next(rb) : NULL;
		next = rb ? rb_entry(rb, struct bus1_queue_node, rb) : NULL;
		*continues = next && next->ts == node->ts &&
			     next->tag == node->tag;
	}
	return node;
}

#ifdef BUS1_SELFTEST
bool bus1_queue_run_selftests(void);
#else
static inline bool bus1_queue_run_selftests(void)
{
	return true;
}
#endif

#endif /* __BUS1_QUEUE_H */
