// SPDX-License-Identifier: GPL-2.0
/*
 * Peers: the file operations of /dev/bus1, command dispatch, and the
 * lifecycle of a peer (open, flush, disconnect, free).
 */

#include <linux/atomic.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/bus1.h>
#include "handle.h"
#include "message.h"
#include "peer.h"
#include "trace.h"

/* attempts of a command whose memory keeps going away under it */
#define BUS1_FAULT_RETRIES 8

static atomic64_t bus1_peer_ids = ATOMIC64_INIT(0);
static struct kmem_cache *bus1_peer_cache;

static void bus1_peer_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(bus1_peer_cache,
			container_of(rcu, struct bus1_peer, rcu));
}

static void bus1_peer_free(struct kref *ref)
{
	struct bus1_peer *peer = container_of(ref, struct bus1_peer, ref);

	WARN_ON(!RB_EMPTY_ROOT(&peer->handles_by_id));
	WARN_ON(!RB_EMPTY_ROOT(&peer->handles_by_node));
	bus1_message_free_spare(peer);
	bus1_queue_deinit(&peer->queue);
	bus1_pool_deinit(&peer->pool);
	bus1_quota_deinit(&peer->quota);
	bus1_user_unref(peer->user);
	mutex_destroy(&peer->lock);
	/* a bus1_peer_release() may still be waking @waitq, see there */
	call_rcu(&peer->rcu, bus1_peer_free_rcu);
}

/**
 * bus1_peer_unref() - drop a reference to the memory of a peer
 * @peer:	peer to drop, or NULL
 *
 * May sleep when it frees the peer.
 */
void bus1_peer_unref(struct bus1_peer *peer)
{
	if (peer)
		kref_put(&peer->ref, bus1_peer_free);
}

/**
 * bus1_peer_from_file() - return the peer behind a file
 * @file:	any file
 *
 * Return: the peer if @file is a bus1 peer, NULL otherwise.
 */
struct bus1_peer *bus1_peer_from_file(struct file *file)
{
	return file->f_op == &bus1_fops ? file->private_data : NULL;
}

/**
 * bus1_peer_charge() - charge one resource to a peer and its user
 * @peer:	peer to charge
 * @res:	resource
 * @n:		amount
 *
 * Return: 0 on success, -EDQUOT if a limit would be exceeded.
 */
int bus1_peer_charge(struct bus1_peer *peer, enum bus1_resource res, u64 n)
{
	u32 charge[BUS1_RES_N] = {};
	int r;

	if (!n)
		return 0;
	charge[res] = n;
	spin_lock(&peer->data_lock);
	r = bus1_quota_charge(&peer->quota, peer->user, charge);
	spin_unlock(&peer->data_lock);
	return r;
}

/**
 * bus1_peer_discharge() - return a charge taken by bus1_peer_charge()
 * @peer:	peer that was charged
 * @res:	resource
 * @n:		amount
 */
void bus1_peer_discharge(struct bus1_peer *peer, enum bus1_resource res,
			 u64 n)
{
	u32 charge[BUS1_RES_N] = {};

	if (!n)
		return;
	charge[res] = n;
	spin_lock(&peer->data_lock);
	bus1_quota_discharge(&peer->quota, peer->user, charge);
	spin_unlock(&peer->data_lock);
}

static void bus1_peer_free_entries(struct bus1_queue_node *list)
{
	struct bus1_queue_node *qnode, *next;

	for (qnode = list; qnode; qnode = next) {
		next = qnode->next;
		qnode->next = NULL;
		bus1_message_free_entry(qnode);
	}
}

/* local lock held; @final once no other peer can reach this one anymore */
static void bus1_peer_flush(struct bus1_peer *peer, u64 flags, bool final)
{
	struct bus1_message *seed = NULL, *m, *published = NULL;
	struct bus1_queue_node *list;
	struct bus1_pool_slice *slice;
	bool spare_seed;
	u64 ts;

	lockdep_assert_held(&peer->lock);
	if (flags & BUS1_PEER_RESET_FLAG_FLUSH_SEED) {
		seed = peer->seed;
		peer->seed = NULL;
	}

	if (flags & BUS1_PEER_RESET_FLAG_FLUSH) {
		spare_seed = !final && peer->seed;
		ts = bus1_handle_destroy_all(peer, spare_seed);
		trace_bus1_flush(peer->id, flags, ts);
		bus1_handle_flush_all(peer, spare_seed);

		spin_lock(&peer->data_lock);
		if (final)
			list = bus1_queue_drain(&peer->queue);
		else
			list = bus1_queue_flush(&peer->queue, ts, peer->id);
		while ((slice = bus1_pool_first_published(&peer->pool))) {
			bus1_pool_unpublish(&peer->pool, slice->offset);
			m = container_of(slice, struct bus1_message, slice);
			m->qnode.next = (void *)published;
			published = m;
		}
		spin_unlock(&peer->data_lock);

		bus1_peer_free_entries(list);
		while ((m = published)) {
			published = (void *)m->qnode.next;
			m->qnode.next = NULL;
			bus1_message_free(m);
		}
	}

	if (seed)
		bus1_message_free(seed);
}

static int bus1_peer_disconnect(struct bus1_peer *peer)
{
	if (test_and_set_bit(BUS1_PEER_DISCONNECTING, &peer->flags)) {
		wait_event(peer->waitq,
			   test_bit(BUS1_PEER_DISCONNECTED, &peer->flags));
		return -ESHUTDOWN;
	}

	/* no new operation can start; wait for the running ones */
	atomic_add(BUS1_ACTIVE_BIAS, &peer->active);
	wake_up_all(&peer->waitq);
	wait_event(peer->waitq,
		   atomic_read(&peer->active) == BUS1_ACTIVE_BIAS);

	mutex_lock(&peer->lock);
	bus1_peer_flush(peer, BUS1_PEER_RESET_FLAG_FLUSH |
			BUS1_PEER_RESET_FLAG_FLUSH_SEED, true);
	/*
	 * Remote handles to our nodes keep the peer's memory, not its pool:
	 * nobody can reach the pool anymore, so its pages, its file and its
	 * memcg reference go now.
	 */
	bus1_pool_deinit(&peer->pool);
	mutex_unlock(&peer->lock);

	set_bit(BUS1_PEER_DISCONNECTED, &peer->flags);
	wake_up_all(&peer->waitq);
	return 0;
}

/*
 * QUERY and RESET stay out of line: their stack buffers would give the
 * hot ioctl path a frame and a stack canary.
 */
static noinline int bus1_peer_cmd_query(struct bus1_peer *peer,
					unsigned long arg)
{
	struct bus1_cmd_peer_reset param;

	if (copy_from_user(&param, (void __user *)arg, sizeof(param)))
		return -EFAULT;
	if (param.flags)
		return -EINVAL;

	param.peer_flags = 0;
	spin_lock(&peer->data_lock);
	param.max_slices = peer->quota.max[BUS1_RES_SLICES];
	param.max_handles = peer->quota.max[BUS1_RES_HANDLES];
	param.max_inflight_bytes = peer->quota.max[BUS1_RES_BYTES];
	param.max_inflight_fds = peer->quota.max[BUS1_RES_FDS];
	spin_unlock(&peer->data_lock);

	if (copy_to_user((void __user *)arg, &param, sizeof(param)))
		return -EFAULT;
	return 0;
}

static noinline int bus1_peer_cmd_reset(struct bus1_peer *peer,
					unsigned long arg)
{
	struct bus1_cmd_peer_reset param;
	u32 max[BUS1_RES_N];
	int i;

	if (copy_from_user(&param, (void __user *)arg, sizeof(param)))
		return -EFAULT;
	if (param.flags & ~(BUS1_PEER_RESET_FLAG_FLUSH |
			    BUS1_PEER_RESET_FLAG_FLUSH_SEED))
		return -EINVAL;
	if (param.peer_flags != (u64)-1)
		return -EINVAL;

	max[BUS1_RES_SLICES] = param.max_slices;
	max[BUS1_RES_HANDLES] = param.max_handles;
	max[BUS1_RES_BYTES] = param.max_inflight_bytes;
	max[BUS1_RES_FDS] = param.max_inflight_fds;
	for (i = 0; i < BUS1_RES_N; ++i)
		if (max[i] != U32_MAX && max[i] > INT_MAX)
			return -EINVAL;

	spin_lock(&peer->data_lock);
	for (i = 0; i < BUS1_RES_N; ++i)
		if (max[i] != U32_MAX)
			peer->quota.max[i] = max[i];
	spin_unlock(&peer->data_lock);

	bus1_peer_flush(peer, param.flags, false);
	return 0;
}

/* @recv: the call, for BUS1_CMD_RECV (see bus1_peer_recv()) */
static __always_inline long bus1_peer_dispatch(struct bus1_peer *peer,
					       unsigned int cmd,
					       unsigned long arg,
					       struct bus1_recv_call *recv)
{
	/* the message path first: a switch is a tree of compares */
	if (cmd == BUS1_CMD_SEND)
		return bus1_cmd_send(peer, arg);
	if (cmd == BUS1_CMD_RECV)
		return bus1_cmd_recv(peer, recv);
	switch (cmd) {
	case BUS1_CMD_PEER_QUERY:
		return bus1_peer_cmd_query(peer, arg);
	case BUS1_CMD_PEER_RESET:
		return bus1_peer_cmd_reset(peer, arg);
	case BUS1_CMD_HANDLE_RELEASE:
		return bus1_cmd_handle_release(peer, arg);
	case BUS1_CMD_NODES_DESTROY:
		return bus1_cmd_nodes_destroy(peer, arg);
	}
	return -ENOTTY;
}

/**
 * bus1_fault_in_user() - fault in a user array
 * @ptr:	user address of the array
 * @n:		number of elements
 * @size:	size of one element
 * @write:	whether the array is written to (its content is kept)
 *
 * Return: 0 if the whole array is resident, -EFAULT if it cannot be.
 */
int bus1_fault_in_user(u64 ptr, u64 n, size_t size, bool write)
{
	const char __user *u = u64_to_user_ptr(ptr);
	size_t len;

	if (!n)
		return 0;
	if (ptr != (u64)(unsigned long)ptr ||
	    check_mul_overflow((size_t)n, size, &len) || n != (size_t)n)
		return -EFAULT;
	if (write)
		return fault_in_safe_writeable(u, len) ? -EFAULT : 0;
	return fault_in_readable(u, len) ? -EFAULT : 0;
}

/* RECV's argument, and the SEND it has yet to run */
static int bus1_peer_fault_in_recv(const struct bus1_recv_call *call)
{
	int r;

	r = bus1_fault_in_user((unsigned long)call->uparam, 1,
			       sizeof(*call->uparam), true);
	if (r || !call->send)
		return r;
	return bus1_send_fault_in(call->send);
}

/* faults in what a command run by bus1_peer_ioctl()'s loop touches */
static noinline int bus1_peer_fault_in(unsigned int cmd, unsigned long arg,
				       const struct bus1_recv_call *recv)
{
	struct bus1_cmd_nodes_destroy d;

	switch (cmd) {
	case BUS1_CMD_SEND:
		return bus1_send_fault_in(arg);
	case BUS1_CMD_RECV:
		return bus1_peer_fault_in_recv(recv);
	case BUS1_CMD_PEER_QUERY:
		return bus1_fault_in_user(arg, 1,
					  sizeof(struct bus1_cmd_peer_reset),
					  true);
	case BUS1_CMD_PEER_RESET:
		return bus1_fault_in_user(arg, 1,
					  sizeof(struct bus1_cmd_peer_reset),
					  false);
	case BUS1_CMD_HANDLE_RELEASE:
	case BUS1_CMD_SLICE_RELEASE:
		return bus1_fault_in_user(arg, 1, sizeof(u64), false);
	case BUS1_CMD_NODES_DESTROY:
		if (copy_from_user(&d, (void __user *)arg, sizeof(d)))
			return -EFAULT;
		return bus1_fault_in_user(d.ptr_nodes, d.n_nodes, sizeof(u64),
					  false);
	}
	return -EFAULT;
}

/* one run of a command, with page faults disabled (see bus1_peer_ioctl()) */
static __always_inline long bus1_peer_ioctl_once(struct bus1_peer *peer,
						 unsigned int cmd,
						 unsigned long arg,
						 struct bus1_recv_call *recv)
{
	long r;

	if (!bus1_peer_acquire(peer))
		return -ESHUTDOWN;
	pagefault_disable();
	if (cmd == BUS1_CMD_SLICE_RELEASE) {
		/* needs the data lock only */
		r = bus1_cmd_slice_release(peer, arg);
	} else {
		mutex_lock(&peer->lock);
		r = bus1_peer_dispatch(peer, cmd, arg, recv);
		mutex_unlock(&peer->lock);
	}
	pagefault_enable();
	bus1_peer_release(peer);
	return r;
}

/*
 * A command failed with -EFAULT with page faults disabled: fault its memory
 * in with nothing held, and run it again. A fault that cannot be resolved
 * is a real -EFAULT; memory that keeps going away under the command (a
 * racing munmap()) ends the loop with -EFAULT after a few rounds, a fatal
 * signal with -EINTR.
 */
static noinline long bus1_peer_ioctl_faulted(struct bus1_peer *peer,
					     unsigned int cmd,
					     unsigned long arg,
					     struct bus1_recv_call *recv)
{
	long r = -EFAULT;
	int i;

	for (i = 0; i < BUS1_FAULT_RETRIES && r == -EFAULT; ++i) {
		r = bus1_peer_fault_in(cmd, arg, recv);
		if (r)
			return r;
		if (fatal_signal_pending(current))
			return -EINTR;
		r = bus1_peer_ioctl_once(peer, cmd, arg, recv);
	}
	return r;
}

/*
 * RECV with BUS1_RECV_FLAG_WAIT found nothing (BUS1_RECV_WAIT): sleep until
 * the queue has a ready head or the peer is disconnecting, then the caller
 * runs RECV again. Nothing is held while sleeping: not the local lock (the
 * senders' path to our queue needs only the data lock, but poll, fdinfo
 * and HANDLE_TRANSFER take it) and not our active reference (a disconnect
 * waits for those to drain, and wakes us through @waitq). A signal ends
 * the wait with -ERESTARTSYS; a restarted RECV does not release its slice
 * twice (bus1_slice_release_locked()).
 *
 * RECV has just found the queue empty, so the condition is checked once,
 * after the waiter is queued: a commit or a disconnect after the check
 * wakes it, and woken_wake_function() records a wake-up that comes before
 * wait_woken() sleeps (the add_wait_queue()/wait_woken() pairing of
 * sk_wait_event()). wait_event_interruptible() checked it three times.
 */
static noinline long bus1_peer_recv_wait(struct file *file,
					 struct bus1_peer *peer)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int readable = 1;

	/* O_NONBLOCK wins: the file is never to block, whatever the flags */
	if (file->f_flags & O_NONBLOCK)
		return -EAGAIN;
	add_wait_queue(&peer->waitq, &wait);
	if (bus1_peer_acquire(peer)) {
		spin_lock(&peer->data_lock);
		/* a maybe stale head (-1) ends it: RECV purges it, or waits */
		readable = bus1_message_peek_ready(peer);
		spin_unlock(&peer->data_lock);
		bus1_peer_release(peer);
	}
	if (readable) {
		remove_wait_queue(&peer->waitq, &wait);
		return 0;
	}
	wait_woken(&wait, TASK_INTERRUPTIBLE, MAX_SCHEDULE_TIMEOUT);
	remove_wait_queue(&peer->waitq, &wait);
	return signal_pending(current) ? -ERESTARTSYS : 0;
}

/*
 * BUS1_CMD_RECV: its argument is loaded once, and the command runs until
 * it is done, again after a fault and after WAIT slept (see
 * bus1_peer_ioctl()). A call that fails after a run changed its argument
 * (a store of the result that faulted part-way, a SEND that ran) stores
 * the caller's words back, with the changes bus1(7) allows
 * (bus1_recv_restore()): for its caller, and for a call restarted after a
 * signal (SA_RESTART), which then has nothing to send or release.
 */
static __always_inline long bus1_peer_recv(struct file *file,
					   struct bus1_peer *peer,
					   unsigned long arg)
{
	/*
	 * Not zeroed by CONFIG_INIT_STACK_ALL_ZERO: clearing its 176 bytes
	 * costs 29 instructions of a 0 B unicast (1.0%, session 13).
	 * Invariant: every field but param.msg is set by bus1_recv_begin(),
	 * and param.msg is filled by a run before it is stored. KASAN kernels
	 * poison it instead (test-recv-ext read_only_argument_* fails there
	 * if @dirty is read unset).
	 */
	struct bus1_recv_call call __uninitialized;
	long r;

	bus1_debug_poison(&call, sizeof(call));
	r = bus1_recv_begin(&call, arg);
	/* the peer's state comes first, as for every command (EFAULT, EINVAL) */
	if (unlikely(r))
		return bus1_peer_is_shutdown(peer) ? -ESHUTDOWN : r;
	for (;;) {
		r = bus1_peer_ioctl_once(peer, BUS1_CMD_RECV, arg, &call);
		if (unlikely(r == -EFAULT))
			r = bus1_peer_ioctl_faulted(peer, BUS1_CMD_RECV, arg,
						    &call);
		if (likely(r <= 0))
			break;
		/* each round either sleeps or finds the queue ready */
		r = bus1_peer_recv_wait(file, peer);
		if (r)
			break;
	}
	if (unlikely(r && call.dirty))
		r = bus1_recv_restore(&call, r);
	return r;
}

static long bus1_peer_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct bus1_peer *peer = file->private_data;
	long r;

	if (cmd == BUS1_CMD_PEER_DISCONNECT)
		return arg ? -EINVAL : bus1_peer_disconnect(peer);

	if (cmd == BUS1_CMD_HANDLE_TRANSFER)
		/* takes its active references and both local locks itself */
		return bus1_cmd_handle_transfer(peer, arg);

	/*
	 * No lock and no active reference is held across a user fault, which
	 * can take forever (userfaultfd, FUSE): other peers, poll and fdinfo
	 * take the local lock, a disconnect waits for active references, and
	 * SEND holds those of its destinations. So commands run with page
	 * faults disabled; one that would fault fails with -EFAULT before any
	 * visible effect (every command copies in and validates before it
	 * commits), its memory is faulted in with nothing held, and it runs
	 * again (bus1_peer_ioctl_faulted()).
	 */
	if (cmd == BUS1_CMD_RECV)
		return bus1_peer_recv(file, peer, arg);
	r = bus1_peer_ioctl_once(peer, cmd, arg, NULL);
	if (unlikely(r == -EFAULT))
		r = bus1_peer_ioctl_faulted(peer, cmd, arg, NULL);
	return r;
}

static int bus1_peer_open(struct inode *inode, struct file *file)
{
	struct bus1_peer *peer;
	struct bus1_user *user;

	user = bus1_user_ref_by_uid(current_uid());
	if (IS_ERR(user))
		return PTR_ERR(user);

	peer = kmem_cache_zalloc(bus1_peer_cache, GFP_KERNEL_ACCOUNT);
	if (!peer) {
		bus1_user_unref(user);
		return -ENOMEM;
	}
	peer->id = atomic64_inc_return(&bus1_peer_ids);
	kref_init(&peer->ref);
	atomic_set(&peer->active, 0);
	init_waitqueue_head(&peer->waitq);
	peer->user = user;
	mutex_init(&peer->lock);
	spin_lock_init(&peer->data_lock);
	bus1_queue_init(&peer->queue);
	bus1_queue_set_lock(&peer->queue, &peer->data_lock);
	bus1_quota_init(&peer->quota, user->quota.max);
	bus1_quota_set_lock(&peer->quota, &peer->data_lock);
	peer->handles_by_node = RB_ROOT;
	peer->handles_by_id = RB_ROOT;

	bus1_pool_init(&peer->pool);
	bus1_pool_set_lock(&peer->pool, &peer->data_lock);

	file->private_data = peer;
	return 0;
}

static int bus1_peer_release_file(struct inode *inode, struct file *file)
{
	struct bus1_peer *peer = file->private_data;

	bus1_peer_disconnect(peer);
	bus1_peer_unref(peer);
	return 0;
}

static __poll_t bus1_peer_poll(struct file *file, poll_table *wait)
{
	struct bus1_peer *peer = file->private_data;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;
	bool continues;
	int readable;

	poll_wait(file, &peer->waitq, wait);
	if (!bus1_peer_acquire(peer))
		return EPOLLHUP;

	spin_lock(&peer->data_lock);
	readable = bus1_message_peek_ready(peer);
	spin_unlock(&peer->data_lock);
	/* purge stale heads, so POLLIN means RECV has something */
	if (readable < 0) {
		mutex_lock(&peer->lock);
		readable = !!bus1_message_peek_live(peer, &continues);
		mutex_unlock(&peer->lock);
	}
	if (readable)
		mask |= EPOLLIN | EPOLLRDNORM;

	bus1_peer_release(peer);
	return mask;
}

static int bus1_peer_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct bus1_peer *peer = file->private_data;
	int r;

	if (!bus1_peer_acquire(peer))
		return -ESHUTDOWN;
	r = bus1_pool_mmap(&peer->pool, vma);
	bus1_peer_release(peer);
	return r;
}

static void bus1_peer_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct bus1_peer *peer = file->private_data;
	unsigned long n_handles, n_nodes;
	unsigned long queued, pool_bytes, pool_slices;
	u64 used[BUS1_RES_N];

	/*
	 * Never the local lock: a reader of fdinfo must not wait for the
	 * peer's commands. Both counters are snapshots, like the rest
	 * (written under the local lock only, read without tearing).
	 */
	n_handles = READ_ONCE(peer->n_handles);
	n_nodes = READ_ONCE(peer->n_nodes);
	spin_lock(&peer->data_lock);
	queued = peer->queue.n_entries;
	pool_bytes = peer->pool.n_bytes;
	pool_slices = peer->pool.n_slices;
	memcpy(used, peer->quota.used, sizeof(used));
	spin_unlock(&peer->data_lock);

	seq_printf(m, "bus1-peer:\t%16llx\n", peer->id);
	seq_printf(m, "bus1-queued:\t%lu\n", queued);
	seq_printf(m, "bus1-pool-bytes:\t%lu\n", pool_bytes);
	seq_printf(m, "bus1-pool-slices:\t%lu\n", pool_slices);
	seq_printf(m, "bus1-handles:\t%lu\n", n_handles);
	seq_printf(m, "bus1-nodes:\t%lu\n", n_nodes);
	seq_printf(m, "bus1-charge-slices:\t%llu\n", used[BUS1_RES_SLICES]);
	seq_printf(m, "bus1-charge-handles:\t%llu\n", used[BUS1_RES_HANDLES]);
	seq_printf(m, "bus1-charge-bytes:\t%llu\n", used[BUS1_RES_BYTES]);
	seq_printf(m, "bus1-charge-fds:\t%llu\n", used[BUS1_RES_FDS]);
}

/**
 * bus1_peer_init_cache() - create the slab cache of peers
 *
 * Return: 0 on success, -ENOMEM on failure.
 */
int bus1_peer_init_cache(void)
{
	bus1_peer_cache = KMEM_CACHE(bus1_peer, SLAB_ACCOUNT);
	return bus1_peer_cache ? 0 : -ENOMEM;
}

/**
 * bus1_peer_exit_cache() - destroy the slab cache of peers
 */
void bus1_peer_exit_cache(void)
{
	/* peers are freed by RCU callbacks */
	rcu_barrier();
	kmem_cache_destroy(bus1_peer_cache);
	bus1_peer_cache = NULL;
}

const struct file_operations bus1_fops = {
	.owner			= THIS_MODULE,
	.open			= bus1_peer_open,
	.release		= bus1_peer_release_file,
	.poll			= bus1_peer_poll,
	.llseek			= noop_llseek,
	.mmap			= bus1_peer_mmap,
	.unlocked_ioctl		= bus1_peer_ioctl,
	.compat_ioctl		= bus1_peer_ioctl,
	.show_fdinfo		= bus1_peer_show_fdinfo,
};
