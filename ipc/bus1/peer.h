/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BUS1_PEER_H
#define __BUS1_PEER_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rbtree.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/sched.h>
#include <linux/wait.h>
#include "pool.h"
#include "queue.h"
#include "user.h"

struct bus1_message;
struct file;

enum {
	BUS1_PEER_DISCONNECTING,
	BUS1_PEER_DISCONNECTED,
};

/**
 * struct bus1_peer - one open file description of /dev/bus1
 * @id:		global peer id, for introspection and transaction tags
 * @ref:	kref on the memory; held by the file, by every handle the peer
 *		holds and by every node it owns
 * @active:	active references: >= 0 while connected, the number of
 *		operations currently running on the peer; negative once
 *		disconnecting, until it drains to BUS1_ACTIVE_BIAS
 * @flags:	BUS1_PEER_DISCONNECTING/DISCONNECTED
 * @waitq:	pollers, RECV with BUS1_RECV_FLAG_WAIT, and disconnect waiting
 *		for @active to drain
 * @user:	user the peer is charged to, constant
 * @lock:	local lock: serializes the peer's own commands (all but
 *		SLICE_RELEASE, which touches published slices only); protects
 *		@handles_by_id, @id_counter, @n_handles, @n_nodes and @seed,
 *		and every handle's id and user refs (together with the node
 *		lock)
 * @data_lock:	protects @queue, @pool, @quota and @handles_by_node; taken by
 *		remote peers while they deliver to this peer, never held across
 *		a sleep or a copy
 * @queue:	incoming messages and notifications
 * @pool:	received message payloads
 * @quota:	resources charged to this peer
 * @handles_by_node: remote handles held by this peer, by node
 * @handles_by_id: handles visible to userspace, by id
 * @id_counter:	source of kernel-assigned handle ids, never reset
 * @n_handles:	number of entries in @handles_by_id
 * @n_nodes:	number of live nodes owned
 * @mark_seq:	source of per-command marks (duplicate detection)
 * @seed:	the seed message, if any
 * @message_spare: the last plain message freed, kept for the next one to
 *		this peer (exchanged atomically, no lock)
 * @rcu:	the memory is freed after a grace period (bus1_peer_release())
 *
 * A peer is connected from open until disconnect; other peers may touch its
 * queue and pool only while they hold an active reference, so disconnect
 * can drain them and then tear everything down under @lock.
 *
 * Lock order: @lock (two peers: by address) -> bus1_node.lock ->
 * @data_lock (one peer at a time) -> bus1_user.lock.
 */
struct bus1_peer {
	u64 id;
	struct kref ref;
	atomic_t active;
	unsigned long flags;
	wait_queue_head_t waitq;
	struct bus1_user *user;

	struct mutex lock; /* local lock, see above */
	spinlock_t data_lock; /* see above */

	struct bus1_queue queue;
	struct bus1_pool pool;
	struct bus1_quota quota;
	struct rb_root handles_by_node;

	struct rb_root handles_by_id;
	u64 id_counter;
	unsigned long n_handles;
	unsigned long n_nodes;
	u64 mark_seq;
	struct bus1_message *seed;
	struct bus1_message *message_spare;
	struct rcu_head rcu;
};

#define BUS1_ACTIVE_BIAS INT_MIN

/**
 * bus1_peer_acquire() - take an active reference
 * @peer:	peer to acquire
 *
 * Return: true on success, false if the peer is disconnecting.
 */
static inline bool bus1_peer_acquire(struct bus1_peer *peer)
{
	return atomic_inc_unless_negative(&peer->active);
}

/* a snapshot: the peer is disconnecting or disconnected */
static inline bool bus1_peer_is_shutdown(struct bus1_peer *peer)
{
	return atomic_read(&peer->active) < 0;
}

/**
 * bus1_peer_release() - drop an active reference
 * @peer:	peer to release
 *
 * The decrement to BUS1_ACTIVE_BIAS lets a waiting disconnect finish, and
 * the closing side may free the peer before the wake-up below has run (the
 * wait can see the count without sleeping). The caller need not hold any
 * other reference, so the peer's memory is freed only after an RCU grace
 * period (bus1_peer_free()), and the read-side section spans the decrement
 * and the wake-up. While the peer is connected (count positive), a
 * decrement cannot end a wait and touches nothing afterwards: that common
 * case needs no read-side section.
 */
static inline void bus1_peer_release(struct bus1_peer *peer)
{
	int v = atomic_read(&peer->active);

	/* connected: no disconnect waits for the count, nothing to wake */
	while (likely(v > 0))
		if (atomic_try_cmpxchg(&peer->active, &v, v - 1))
			return;

	rcu_read_lock();
	if (atomic_dec_return(&peer->active) == BUS1_ACTIVE_BIAS)
		wake_up_all(&peer->waitq);
	rcu_read_unlock();
}

static inline struct bus1_peer *bus1_peer_ref(struct bus1_peer *peer)
{
	kref_get(&peer->ref);
	return peer;
}

/**
 * bus1_peer_wake() - wake up pollers after the queue became readable
 * @peer:	peer to wake
 */
static inline void bus1_peer_wake(struct bus1_peer *peer)
{
	/*
	 * wq_has_sleeper() pairs with the barrier in poll_wait(). Not the
	 * sync wake-up AF_UNIX uses: it bought nothing measurable and made
	 * the head-of-line bound fail on PREEMPT_RT (see testing.rst).
	 */
	if (wq_has_sleeper(&peer->waitq))
		wake_up_interruptible_poll(&peer->waitq, EPOLLIN | EPOLLRDNORM);
}

void bus1_peer_unref(struct bus1_peer *peer);
struct bus1_peer *bus1_peer_from_file(struct file *file);
int bus1_fault_in_user(u64 ptr, u64 n, size_t size, bool write);
int bus1_peer_charge(struct bus1_peer *peer, enum bus1_resource res, u64 n);
void bus1_peer_discharge(struct bus1_peer *peer, enum bus1_resource res,
			 u64 n);

int bus1_peer_init_cache(void);
void bus1_peer_exit_cache(void);

extern const struct file_operations bus1_fops;

#endif /* __BUS1_PEER_H */
