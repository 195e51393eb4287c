// SPDX-License-Identifier: GPL-2.0
/*
 * RECV and SLICE_RELEASE: a queued message becomes a published slice.
 *
 * RECV takes the ready head of the queue (or the seed). A data message
 * gets its handle IDs and fd numbers written to its slice, the slice is
 * published and what the message held in flight is returned; everything
 * that can fail happens first, so on failure the message stays queued.
 * NODE_DESTROY and NODE_RELEASE are reported without a slice. The slice
 * stays charged until SLICE_RELEASE returns it and frees the message.
 *
 * Top to bottom: storing the result, fd installation, dequeuing, data and
 * notifications, the fast path, the command, and SLICE_RELEASE. RECV can
 * release the previous slice and wait for the next message in the same
 * call (BUS1_RECV_FLAG_RELEASE and _WAIT, extensions of the 2016 ABI).
 */

#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/bus1.h>
#include "compat.h"
#include "handle.h"
#include "message.h"
#include "peer.h"
#include "trace.h"

/*
 * Stores the result, call->param.msg; flags and max_offset go back to
 * userspace unchanged. Page faults are disabled: a store that faults
 * part-way leaves the words before the fault written, so it marks the call
 * dirty, and a call that fails in the end stores the caller's words back
 * (bus1_recv_restore()). msg.offset goes last: with BUS1_RECV_FLAG_RELEASE
 * it holds BUS1_OFFSET_INVALID once the slice is released, for a call
 * restarted after a signal (bus1_slice_release_locked()).
 */
static int bus1_recv_store(struct bus1_recv_call *call)
{
	struct bus1_cmd_recv __user *uparam = call->uparam;
	const struct bus1_cmd_recv *param = &call->param;

	/*
	 * Seven stores instead of copy_to_user() (see bus1_send_load_param();
	 * with the loads below 136 instructions of a 0 B unicast, 4.2%).
	 * Invariant: every field of msg is stored.
	 */
	BUILD_BUG_ON(sizeof(param->msg) != 7 * sizeof(u64));
	if (!user_access_begin(&uparam->msg, sizeof(uparam->msg)))
		return -EFAULT;
	unsafe_put_user(param->msg.type, &uparam->msg.type, fault);
	unsafe_put_user(param->msg.flags, &uparam->msg.flags, fault);
	unsafe_put_user(param->msg.destination, &uparam->msg.destination,
			fault);
	unsafe_put_user(param->msg.n_bytes, &uparam->msg.n_bytes, fault);
	unsafe_put_user(param->msg.n_handles, &uparam->msg.n_handles, fault);
	unsafe_put_user(param->msg.n_fds, &uparam->msg.n_fds, fault);
	unsafe_put_user(param->msg.offset, &uparam->msg.offset, fault);
	user_access_end();
	return 0;

fault:
	user_access_end();
	call->dirty = true;
	return -EFAULT;
}

/**
 * bus1_recv_restore() - store back the argument of a failed RECV
 * @call:	the call, dirty
 * @r:		its error
 *
 * Runs with page faults enabled and nothing held. Every word is stored on
 * its own: a word on a page that cannot be written was not written by the
 * call either.
 *
 * Return: @r, or -EFAULT if a word could not be stored back.
 */
long bus1_recv_restore(struct bus1_recv_call *call, long r)
{
	const u64 *orig = (const u64 *)&call->orig.msg;
	u64 __user *u = (u64 __user *)&call->uparam->msg;
	size_t i;

	BUILD_BUG_ON(sizeof(call->orig.msg) != 7 * sizeof(u64));
	for (i = 0; i < 7; ++i)
		if (put_user(orig[i], u + i))
			r = -EFAULT;
	return r;
}

/*
 * Reserves @n fd numbers, so a full fd table fails the RECV with the
 * message still queued. The commit hands each number back right before
 * receive_fd() takes the lowest free one (see bus1_recv_install()).
 */
static int bus1_recv_install_prepare(size_t n, int *fds)
{
	size_t i;
	int r;

	for (i = 0; i < n; ++i) {
		r = get_unused_fd_flags(O_CLOEXEC);
		if (r < 0) {
			while (i-- > 0)
				put_unused_fd(fds[i]);
			return r;
		}
		fds[i] = r;
	}
	return 0;
}

/*
 * Installs the files the way SCM_RIGHTS does: receive_fd() asks the LSMs
 * (security_file_receive()) and updates a socket's cgroup data. A file an
 * LSM refuses (or, if another thread of the receiver just took the last
 * free number, one that finds no fd) reads as -1 in the slice: like
 * SCM_RIGHTS, the message is delivered without it.
 */
static void bus1_recv_install(struct file **files, size_t n, int *fds)
{
	size_t i;
	int r;

	for (i = 0; i < n; ++i) {
		put_unused_fd(fds[i]);
		r = bus1_receive_fd(files[i], O_CLOEXEC);
		fds[i] = r < 0 ? -1 : r;
	}
}

/* the message as RECV reports it */
static void bus1_recv_describe(struct bus1_cmd_recv *param,
			       struct bus1_message *m, bool seed,
			       bool continues, size_t n_fds)
{
	param->msg.type = BUS1_MSG_DATA;
	param->msg.flags = continues ? BUS1_MSG_FLAG_CONTINUE : 0;
	param->msg.destination = seed ? BUS1_HANDLE_INVALID : m->dst->id;
	param->msg.offset = m->slice.offset;
	param->msg.n_bytes = m->n_bytes;
	param->msg.n_handles = m->n_handles;
	param->msg.n_fds = n_fds;
}

/*
 * Dequeues a received message, publishes its slice and returns what it
 * held in flight; the data lock is held. Poll looks at the queued head,
 * destination included, under the data lock; once published, SLICE_RELEASE
 * may free @m as soon as the lock is dropped. Returns the destination
 * handle, for the caller to drop after unlocking.
 *
 * @released is a message whose slice RECV with BUS1_RECV_FLAG_RELEASE
 * freed under the same lock hold and whose charges are not settled yet
 * (bus1_slice_release_locked() without @settle), or NULL. If it has the
 * same share (the same sender's user), its charges go back in the same
 * settle as @m's, one round of the per-CPU share lock instead of two, and
 * true is returned in @settled; otherwise the caller settles it.
 */
static struct bus1_handle *bus1_recv_take(struct bus1_peer *peer,
					  struct bus1_message *m, bool seed,
					  u32 n_invalid,
					  struct bus1_message *released,
					  bool *settled)
{
	struct bus1_handle *dst = m->dst;
	u32 unshare[BUS1_RES_N], charge[BUS1_RES_N];

	lockdep_assert_held(&peer->data_lock);
	if (seed)
		peer->seed = NULL;
	else
		bus1_queue_dequeue(&peer->queue, &m->qnode);
	m->dst = NULL;
	bus1_pool_publish(&peer->pool, &m->slice);
	/*
	 * Valid handles now stand for user refs, the slice stays charged
	 * until released; in-flight resources are returned.
	 */
	/* a queued message is in flight: bus1_send_charge() charged it */
	bus1_message_charge(m, BUS1_MESSAGE_IN_FLIGHT, unshare);
	charge[BUS1_RES_SLICES] = 0;
	charge[BUS1_RES_HANDLES] = n_invalid;
	charge[BUS1_RES_BYTES] = unshare[BUS1_RES_BYTES];
	charge[BUS1_RES_FDS] = unshare[BUS1_RES_FDS];
	/*
	 * A received message took its charge out of the share already; it
	 * holds its slice alone (BUS1_MESSAGE_RECEIVED).
	 */
	if (released && released->share == m->share &&
	    released->charged == BUS1_MESSAGE_RECEIVED) {
		charge[BUS1_RES_SLICES] += 1;
		*settled = true;
	}
	bus1_quota_settle(&peer->quota, peer->user, m->share, unshare, charge);
	m->charged = BUS1_MESSAGE_RECEIVED;
	return dst;
}

/*
 * Delivers a data message (queued head or seed). Everything that can fail
 * happens before the first visible effect, including the allocation of the
 * pool pages the handle IDs and fd numbers go to; on failure the message
 * stays where it is.
 */
static int bus1_recv_data(struct bus1_peer *peer, struct bus1_message *m,
			  struct bus1_recv_call *call, bool seed, bool continues)
{
	struct bus1_cmd_recv *param = &call->param;
	bool install = param->flags & BUS1_RECV_FLAG_INSTALL_FDS;
	size_t i, n_fds = install ? m->n_files : 0;
	size_t len = 8 * m->n_handles + 4 * n_fds;
	struct bus1_pool_pin pin;
	u32 n_invalid = 0;
	struct bus1_handle *dst;
	u64 *ids = NULL;
	int r, *fds;

	if (param->max_offset < (u64)m->slice.offset + m->slice.size)
		return -ERANGE;

	if (len) {
		ids = kvmalloc(len, GFP_KERNEL_ACCOUNT);
		if (!ids)
			return -ENOMEM;
		r = bus1_pool_pin(&peer->pool, &m->slice, bus1_a8(m->n_bytes),
				  len, &pin);
		if (r)
			goto exit;
	}
	/* a further destination of a short multicast: its copy is made here */
	if (m->payload) {
		r = bus1_pool_write_kernel(&peer->pool, &m->slice, 0,
					   m->payload->data, m->payload->len);
		if (r)
			goto exit_pin;
		bus1_payload_put(m->payload);
		m->payload = NULL;
	}
	fds = (int *)(ids + m->n_handles);
	if (n_fds) {
		r = bus1_recv_install_prepare(n_fds, fds);
		if (r)
			goto exit_pin;
	}

	bus1_recv_describe(param, m, seed, continues, n_fds);
	trace_bus1_recv(peer->id, BUS1_MSG_DATA, param->msg.destination,
			param->msg.offset, m->n_bytes, m->n_handles, n_fds);
	r = bus1_recv_store(call);
	if (r)
		goto exit_fds;

	/* commit: nothing below can fail */
	for (i = 0; i < m->n_handles; ++i) {
		ids[i] = BUS1_HANDLE_INVALID;
		if (bus1_message_handles(m)[i])
			ids[i] = bus1_handle_pin_to_user(bus1_message_handles(m)[i],
							 m->strong,
							 m->qnode.ts,
							 m->qnode.tag);
		bus1_message_handles(m)[i] = NULL;
		if (ids[i] == BUS1_HANDLE_INVALID)
			++n_invalid;
	}
	bus1_recv_install(bus1_message_files(m), n_fds, fds);
	if (len) {
		bus1_pool_pin_write(&pin, ids);
		bus1_pool_unpin(&peer->pool, &pin);
	}
	for (i = 0; i < m->n_files; ++i) {
		fput(bus1_message_files(m)[i]);
		bus1_message_files(m)[i] = NULL;
	}

	spin_lock(&peer->data_lock);
	dst = bus1_recv_take(peer, m, seed, n_invalid, NULL, NULL);
	spin_unlock(&peer->data_lock);

	bus1_handle_unref(dst);
	kvfree(ids);
	return 0;

exit_fds:
	for (i = 0; i < n_fds; ++i)
		put_unused_fd(fds[i]);
exit_pin:
	if (len)
		bus1_pool_unpin(&peer->pool, &pin);
exit:
	kvfree(ids);
	return r;
}

/* fills in a notification's result and stores it */
static int bus1_recv_notification(struct bus1_peer *peer,
				  struct bus1_recv_call *call,
				  unsigned int type, u64 id, bool continues)
{
	struct bus1_cmd_recv *param = &call->param;

	param->msg.type = type;
	param->msg.flags = continues ? BUS1_MSG_FLAG_CONTINUE : 0;
	param->msg.destination = id;
	param->msg.offset = BUS1_OFFSET_INVALID;
	param->msg.n_bytes = 0;
	param->msg.n_handles = 0;
	param->msg.n_fds = 0;
	trace_bus1_recv(peer->id, type, id, BUS1_OFFSET_INVALID, 0, 0, 0);
	return bus1_recv_store(call);
}

/*
 * A NODE_RELEASE can be withdrawn by others: it is looked at, its result
 * stored (page faults are disabled) and dequeued under the node lock. A
 * stale one is dropped and -EAGAIN returned, for the caller to look on.
 */
static int bus1_recv_release(struct bus1_peer *peer,
			     struct bus1_queue_node *qnode,
			     struct bus1_recv_call *call)
{
	struct bus1_node *node = container_of(qnode, struct bus1_node,
					      qrelease);
	bool continues;
	int r = -EAGAIN;

	spin_lock(&node->lock);
	spin_lock(&peer->data_lock);
	if (bus1_queue_peek(&peer->queue, &continues) != qnode)
		goto exit;
	if (!bus1_queue_node_is_stale(&peer->queue, qnode) &&
	    node->owner_handle) {
		r = bus1_recv_notification(peer, call, BUS1_MSG_NODE_RELEASE,
					   node->owner_handle->id, continues);
		if (r)
			goto exit;
	}
	bus1_queue_dequeue(&peer->queue, qnode);
exit:
	spin_unlock(&peer->data_lock);
	spin_unlock(&node->lock);
	return r;
}

/*
 * The common case in the caller's round of the data lock: a live data
 * message without handles and files at the head is stored to userspace with
 * page faults disabled and dequeued under the same lock. Anything else, or
 * a store that would fault, is left to the general path, which looks again.
 *
 * Return: the destination handle of the received message, for the caller
 * to drop after unlocking, or NULL if nothing was received.
 */
static struct bus1_handle *bus1_recv_plain(struct bus1_peer *peer,
					   struct bus1_recv_call *call,
					   struct bus1_message *released,
					   bool *settled)
{
	struct bus1_cmd_recv *param = &call->param;
	struct bus1_queue_node *qnode;
	struct bus1_message *m;
	bool continues;
	int r;

	lockdep_assert_held(&peer->data_lock);
	qnode = bus1_queue_peek(&peer->queue, &continues);
	if (!qnode || qnode->type != BUS1_MSG_DATA)
		return NULL;
	m = container_of(qnode, struct bus1_message, qnode);
	if (m->n_handles || m->n_files ||
	    param->max_offset < (u64)m->slice.offset + m->slice.size ||
	    bus1_recv_entry_is_stale(peer, qnode))
		return NULL;

	/*
	 * A further destination of a short multicast: copied under the lock,
	 * so a page that is not present takes the general path. The slice
	 * keeps its copy if the store below fails.
	 */
	if (unlikely(m->payload)) {
		if (bus1_pool_write_present(&peer->pool, &m->slice,
					    m->payload->data, m->payload->len))
			return NULL;
		bus1_payload_put(m->payload);
		m->payload = NULL;
	}
	bus1_recv_describe(param, m, false, continues, 0);
	pagefault_disable();
	r = bus1_recv_store(call);
	pagefault_enable();
	if (r)
		return NULL;
	return bus1_recv_take(peer, m, false, 0, released, settled);
}

static int bus1_recv_queue(struct bus1_peer *peer,
			   struct bus1_recv_call *call)
{
	struct bus1_queue_node *qnode;
	struct bus1_handle *h;
	bool continues;
	int r;

	for (;;) {
		qnode = bus1_message_peek_live(peer, &continues);
		if (!qnode)
			return -EAGAIN;

		switch (qnode->type) {
		case BUS1_MSG_NODE_RELEASE:
			r = bus1_recv_release(peer, qnode, call);
			if (r != -EAGAIN)
				return r;
			break;
		case BUS1_MSG_NODE_DESTROY:
			/* the entry stays queued if the result can't be stored */
			h = container_of(qnode, struct bus1_handle, qdestroy);
			r = bus1_recv_notification(peer, call,
						   BUS1_MSG_NODE_DESTROY,
						   h->id, continues);
			if (r)
				return r;
			spin_lock(&peer->data_lock);
			bus1_queue_dequeue(&peer->queue, qnode);
			spin_unlock(&peer->data_lock);
			bus1_handle_unref(h);
			return 0;
		default:
			return bus1_recv_data(peer,
					      container_of(qnode,
							   struct bus1_message,
							   qnode),
					      call, false, continues);
		}
	}
}

/**
 * bus1_recv_begin() - load and check the argument of BUS1_CMD_RECV
 * @call:	the call to set up (all of it but param.msg, which a run fills
 *		before it stores it)
 * @arg:	user pointer to struct bus1_cmd_recv
 *
 * Runs once per ioctl, with page faults enabled and nothing held. Input
 * are flags and max_offset, and msg.offset with BUS1_RECV_FLAG_RELEASE,
 * msg.destination with BUS1_RECV_FLAG_SEND; all of msg is kept, to be
 * stored back if the call fails (bus1_recv_restore()). Reading the whole
 * argument also fails one that is not readable as a whole with EFAULT
 * before anything happens.
 *
 * Return: 0, -EFAULT or -EINVAL.
 */
int bus1_recv_begin(struct bus1_recv_call *call, unsigned long arg)
{
	struct bus1_cmd_recv __user *u = (void __user *)arg;
	struct bus1_cmd_recv *p = &call->param, *o = &call->orig;

	/* flags, max_offset and msg are all of it */
	BUILD_BUG_ON(offsetofend(struct bus1_cmd_recv, msg.n_fds) !=
		     sizeof(*p));
	if (!user_access_begin(u, sizeof(*u)))
		return -EFAULT;
	unsafe_get_user(p->flags, &u->flags, fault);
	unsafe_get_user(p->max_offset, &u->max_offset, fault);
	unsafe_get_user(o->msg.type, &u->msg.type, fault);
	unsafe_get_user(o->msg.flags, &u->msg.flags, fault);
	unsafe_get_user(o->msg.destination, &u->msg.destination, fault);
	unsafe_get_user(o->msg.offset, &u->msg.offset, fault);
	unsafe_get_user(o->msg.n_bytes, &u->msg.n_bytes, fault);
	unsafe_get_user(o->msg.n_handles, &u->msg.n_handles, fault);
	unsafe_get_user(o->msg.n_fds, &u->msg.n_fds, fault);
	user_access_end();

	if (p->flags & ~(BUS1_RECV_FLAG_SEED | BUS1_RECV_FLAG_INSTALL_FDS |
			 BUS1_RECV_FLAG_RELEASE | BUS1_RECV_FLAG_WAIT |
			 BUS1_RECV_FLAG_SEND))
		return -EINVAL;
	/* nobody else queues a seed: there is nothing to wait for */
	if ((p->flags & BUS1_RECV_FLAG_SEED) &&
	    (p->flags & BUS1_RECV_FLAG_WAIT))
		return -EINVAL;
	call->uparam = u;
	call->release = BUS1_OFFSET_INVALID;
	if (p->flags & BUS1_RECV_FLAG_RELEASE)
		call->release = o->msg.offset;
	call->send = 0;
	if (p->flags & BUS1_RECV_FLAG_SEND) {
		/* a user pointer: one that does not fit cannot be read */
		if (o->msg.destination != (unsigned long)o->msg.destination)
			return -EFAULT;
		call->send = o->msg.destination;
	}
	call->dirty = false;
	return 0;

fault:
	user_access_end();
	return -EFAULT;
}

/*
 * Unpublishes the slice at @offset and returns its slice and charges; the
 * data lock is held. With @uoffset (RECV with BUS1_RECV_FLAG_RELEASE),
 * BUS1_OFFSET_INVALID is stored there under the same lock first: a RECV
 * that runs again after a fault, after WAIT slept or after a signal
 * restarted it, reads that and releases nothing the second time. If the
 * store would fault, the slice is published again before anyone can see
 * it was gone, and nothing happened. The caller frees the message with
 * bus1_slice_release_end() once the lock is dropped.
 */
static struct bus1_message *bus1_slice_release_locked(struct bus1_peer *peer,
						      u64 offset,
						      u64 __user *uoffset,
						      bool settle)
{
	struct bus1_pool_slice *slice;
	struct bus1_message *m;

	lockdep_assert_held(&peer->data_lock);
	slice = bus1_pool_unpublish(&peer->pool, offset);
	if (!slice)
		return ERR_PTR(-ENXIO);
	/* page faults are disabled (bus1_peer_ioctl()): no sleep here */
	if (uoffset && put_user(BUS1_OFFSET_INVALID, uoffset)) {
		bus1_pool_publish(&peer->pool, slice);
		return ERR_PTR(-EFAULT);
	}
	m = container_of(slice, struct bus1_message, slice);
	bus1_pool_free(&peer->pool, &m->slice);
	if (settle)
		bus1_message_settle(m);
	trace_bus1_slice_release(peer->id, offset, m->slice.size);
	return m;
}

static void bus1_slice_release_end(struct bus1_message *m)
{
	bus1_message_put_attachments(m);
	bus1_message_dealloc(m);
}

/* the release (if any) and the receive of RECV, its argument checked */
static int bus1_recv_run(struct bus1_peer *peer, struct bus1_recv_call *call)
{
	struct bus1_cmd_recv *param = &call->param;
	struct bus1_message *released = NULL;
	struct bus1_handle *dst = NULL;
	bool waiting = false, settled = false;
	int r;

	/* the release and the common receive share one round of the lock */
	spin_lock(&peer->data_lock);
	if (call->release != BUS1_OFFSET_INVALID) {
		released = bus1_slice_release_locked(peer, call->release,
						     &call->uparam->msg.offset,
						     false);
		if (IS_ERR(released)) {
			spin_unlock(&peer->data_lock);
			return PTR_ERR(released);
		}
		call->release = BUS1_OFFSET_INVALID;
		call->orig.msg.offset = BUS1_OFFSET_INVALID;
	}
	if (!(param->flags & BUS1_RECV_FLAG_SEED))
		dst = bus1_recv_plain(peer, call, released, &settled);
	if (released && !settled)
		bus1_message_settle(released);
	/* the common empty queue needs no second look (bus1_recv_queue()) */
	if (!dst && (param->flags & BUS1_RECV_FLAG_WAIT))
		waiting = !bus1_queue_peek(&peer->queue, NULL);
	spin_unlock(&peer->data_lock);
	if (released)
		bus1_slice_release_end(released);
	if (waiting)
		return BUS1_RECV_WAIT;
	if (dst) {
		trace_bus1_recv(peer->id, BUS1_MSG_DATA,
				param->msg.destination, param->msg.offset,
				param->msg.n_bytes, 0, 0);
		bus1_handle_unref(dst);
		return 0;
	}

	if (param->flags & BUS1_RECV_FLAG_SEED) {
		if (!peer->seed)
			return -EAGAIN;
		return bus1_recv_data(peer, peer->seed, call, true, false);
	}
	r = bus1_recv_queue(peer, call);
	if (r == -EAGAIN && (param->flags & BUS1_RECV_FLAG_WAIT))
		return BUS1_RECV_WAIT;
	return r;
}

/**
 * bus1_cmd_recv() - one run of BUS1_CMD_RECV
 * @peer:	calling peer, active reference and local lock held, page
 *		faults disabled
 * @call:	the call (bus1_recv_begin())
 *
 * With BUS1_RECV_FLAG_SEND the SEND at msg.destination (0: none) runs
 * first. If it fails, nothing else happens and its error is returned;
 * once it ran, no later run sends again. With BUS1_RECV_FLAG_RELEASE the
 * slice at msg.offset is released next (BUS1_OFFSET_INVALID: none), and
 * stays released whatever the receive does. With BUS1_RECV_FLAG_WAIT an
 * empty queue returns BUS1_RECV_WAIT: the caller sleeps with nothing held
 * and runs the command again (see bus1_peer_ioctl()).
 *
 * Return: 0 on success, BUS1_RECV_WAIT, or a negative error code.
 */
int bus1_cmd_recv(struct bus1_peer *peer, struct bus1_recv_call *call)
{
	int r;

	lockdep_assert_held(&peer->lock);
	if (call->send) {
		/* as BUS1_CMD_SEND runs it */
		r = bus1_cmd_send(peer, call->send);
		if (r)
			return r;
		call->send = 0;
		call->orig.msg.destination = 0;
		call->dirty = true;
	}
	return bus1_recv_run(peer, call);
}

/**
 * bus1_cmd_slice_release() - BUS1_CMD_SLICE_RELEASE
 * @peer:	calling peer, active reference held (no local lock: a
 *		published slice is found, unlinked and returned under the data
 *		lock; what RECV left in the message is not the local lock's)
 * @arg:	user pointer to the u64 pool offset
 *
 * Return: 0 on success, -ENXIO if no published slice starts at the offset.
 */
int bus1_cmd_slice_release(struct bus1_peer *peer, unsigned long arg)
{
	struct bus1_message *m;
	u64 offset;

	if (get_user(offset, (u64 __user *)arg))
		return -EFAULT;
	spin_lock(&peer->data_lock);
	m = bus1_slice_release_locked(peer, offset, NULL, true);
	spin_unlock(&peer->data_lock);
	if (IS_ERR(m))
		return PTR_ERR(m);
	bus1_slice_release_end(m);
	return 0;
}
