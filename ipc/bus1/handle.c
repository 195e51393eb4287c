// SPDX-License-Identifier: GPL-2.0
/*
 * Handles: the capability model; nodes are in node.c.
 *
 * A node is created by its owner and represented there by the owner handle,
 * which carries the user-chosen id and one pinned user ref while the node
 * is live. Every other peer reaches the node through at most one remote
 * handle, coalesced by node (holder->handles_by_node), and shows it to
 * userspace under a kernel-assigned id once it has user refs.
 *
 * A handle is "pinned" while it has user refs or in-flight pins (messages
 * not yet received, commands in progress). Only pinned handles are linked
 * into handles_by_node and node->handles; the pin state holds one kref.
 * Unpinned handles are invisible and die with their last kref.
 *
 * node->lock protects the pin state of all handles of the node, so a
 * destruction sees a consistent set of holders: a handle is either linked
 * before the node is marked destroyed (and then gets a NODE_DESTROY) or is
 * never created (and its user gets BUS1_HANDLE_INVALID).
 */

#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/bus1.h>
#include "compat.h"
#include "handle.h"
#include "message.h"
#include "peer.h"
#include "trace.h"
#include "tx.h"

static struct kmem_cache *bus1_handle_cache;

/**
 * bus1_handle_free() - release function of a handle's kref
 * @ref:	the kref of a handle with no references left
 *
 * Called through bus1_handle_unref() only.
 */
void bus1_handle_free(struct kref *ref)
{
	struct bus1_handle *h = container_of(ref, struct bus1_handle, ref);

	WARN_ON(h->n_user || h->n_pin);
	WARN_ON(!list_empty(&h->link_node));
	WARN_ON(bus1_queue_node_is_queued(&h->qdestroy));
	kref_put(&h->node->ref, bus1_node_free);
	bus1_peer_unref(h->holder);
	kmem_cache_free(bus1_handle_cache, h);
}

static struct bus1_handle *bus1_handle_new(struct bus1_peer *holder,
					   struct bus1_node *node)
{
	struct bus1_handle *h;

	h = kmem_cache_zalloc(bus1_handle_cache, GFP_KERNEL_ACCOUNT);
	if (!h)
		return NULL;
	kref_init(&h->ref);
	kref_get(&node->ref);
	h->node = node;
	h->holder = bus1_peer_ref(holder);
	INIT_LIST_HEAD(&h->link_node);
	RB_CLEAR_NODE(&h->rb_node);
	RB_CLEAR_NODE(&h->rb_id);
	h->id = BUS1_HANDLE_INVALID;
	bus1_queue_node_init(&h->qdestroy, BUS1_MSG_NODE_DESTROY);
	return h;
}

static int bus1_handle_id_cmp(const void *key, const struct rb_node *n)
{
	u64 id = *(const u64 *)key;
	u64 other = rb_entry(n, struct bus1_handle, rb_id)->id;

	return id < other ? -1 : id > other;
}

static bool bus1_handle_id_less(struct rb_node *a, const struct rb_node *b)
{
	return rb_entry(a, struct bus1_handle, rb_id)->id <
	       rb_entry(b, struct bus1_handle, rb_id)->id;
}

static int bus1_handle_node_cmp(const void *key, const struct rb_node *n)
{
	const struct bus1_node *node = key;
	const struct bus1_node *other = rb_entry(n, struct bus1_handle,
						 rb_node)->node;

	return node < other ? -1 : node > other;
}

static bool bus1_handle_node_less(struct rb_node *a, const struct rb_node *b)
{
	return rb_entry(a, struct bus1_handle, rb_node)->node <
	       rb_entry(b, struct bus1_handle, rb_node)->node;
}

/* holder's local lock held, handle gained its first user ref */
static void bus1_handle_link_id(struct bus1_handle *h)
{
	struct bus1_peer *peer = h->holder;

	lockdep_assert_held(&peer->lock);
	if (h->id == BUS1_HANDLE_INVALID)
		h->id = (++peer->id_counter << 3) | BUS1_HANDLE_FLAG_MANAGED |
			BUS1_HANDLE_FLAG_REMOTE;
	rb_add(&h->rb_id, &peer->handles_by_id, bus1_handle_id_less);
	++peer->n_handles;
}

/* holder's local lock held, handle lost its last user ref */
static void bus1_handle_unlink_id(struct bus1_handle *h)
{
	lockdep_assert_held(&h->holder->lock);
	rb_erase(&h->rb_id, &h->holder->handles_by_id);
	RB_CLEAR_NODE(&h->rb_id);
	h->id = BUS1_HANDLE_INVALID;
	--h->holder->n_handles;
}

/*
 * Node lock held. Unlinks a handle that lost its last user ref and pin.
 * Returns true if the caller must drop the pin-state reference.
 */
static bool bus1_handle_unpin_state(struct bus1_handle *h)
{
	struct bus1_node *node = h->node;
	struct bus1_peer *holder = h->holder;

	lockdep_assert_held(&node->lock);
	if (h->n_user || h->n_pin)
		return false;

	if (bus1_handle_is_owner(h)) {
		if (node->owner_handle == h)
			node->owner_handle = NULL;
	} else {
		list_del_init(&h->link_node);
		spin_lock(&holder->data_lock);
		rb_erase(&h->rb_node, &holder->handles_by_node);
		RB_CLEAR_NODE(&h->rb_node);
		spin_unlock(&holder->data_lock);
	}
	return true;
}

/* node lock held */
static void bus1_node_strong_add(struct bus1_node *node, unsigned int n)
{
	struct bus1_peer *owner = node->owner;
	bool wake = false;

	lockdep_assert_held(&node->lock);
	if (!n)
		return;
	if (!node->n_strong && bus1_queue_node_is_queued(&node->qrelease)) {
		spin_lock(&owner->data_lock);
		wake = bus1_queue_remove(&owner->queue, &node->qrelease);
		spin_unlock(&owner->data_lock);
	}
	node->n_strong += n;
	if (wake)
		bus1_peer_wake(owner);
}

/* node lock held */
static void bus1_node_strong_sub(struct bus1_node *node, unsigned int n)
{
	struct bus1_peer *owner = node->owner;
	bool wake;

	lockdep_assert_held(&node->lock);
	if (!n)
		return;
	if (WARN_ON(node->n_strong < n))
		n = node->n_strong;
	node->n_strong -= n;
	if (node->n_strong || node->destroyed || !node->owner_handle ||
	    bus1_queue_node_is_queued(&node->qrelease))
		return;
	if (!bus1_peer_acquire(owner))
		return;
	spin_lock(&owner->data_lock);
	wake = bus1_queue_commit_unstaged(&owner->queue, &node->qrelease,
					  owner->id);
	spin_unlock(&owner->data_lock);
	trace_bus1_node_release(owner->id, node->owner_handle->id);
	if (wake)
		bus1_peer_wake(owner);
	bus1_peer_release(owner);
}

/* strong references a handle's user refs stand for (the owner's pin not) */
static unsigned int bus1_handle_user_strong(struct bus1_handle *h,
					    unsigned int n_user)
{
	if (bus1_handle_is_owner(h))
		return n_user ? n_user - 1 : 0;
	return n_user;
}

/**
 * bus1_handle_find() - look up an id of a peer
 * @peer:	peer whose id table to search, local lock held
 * @id:		id to look up
 *
 * Return: the handle, borrowed from the id table, or NULL.
 */
struct bus1_handle *bus1_handle_find(struct bus1_peer *peer, u64 id)
{
	struct rb_node *rb;

	lockdep_assert_held(&peer->lock);
	rb = rb_find(&id, &peer->handles_by_id, bus1_handle_id_cmp);
	return rb ? rb_entry(rb, struct bus1_handle, rb_id) : NULL;
}

/**
 * bus1_handle_import() - resolve an id of a peer, creating nodes on demand
 * @peer:	peer whose id table to use, local lock held
 * @id:		id to resolve
 * @created:	set to whether a new node was created
 *
 * A new node is provisional: the caller either keeps it (and charges it) or
 * drops it with bus1_handle_forget() before the command returns.
 *
 * Return: the handle, borrowed from the id table, or ERR_PTR(-ENXIO) for
 * an unknown kernel id, ERR_PTR(-ENOMEM).
 */
struct bus1_handle *bus1_handle_import(struct bus1_peer *peer, u64 id,
				       bool *created)
{
	struct bus1_handle *h;
	struct bus1_node *node;

	lockdep_assert_held(&peer->lock);
	*created = false;
	h = bus1_handle_find(peer, id);
	if (h)
		return h;
	if (id & (BUS1_HANDLE_FLAG_MANAGED | BUS1_HANDLE_FLAG_REMOTE))
		return ERR_PTR(-ENXIO);

	node = bus1_node_new(peer);
	if (!node)
		return ERR_PTR(-ENOMEM);
	h = bus1_handle_new(peer, node);
	kref_put(&node->ref, bus1_node_free);
	if (!h)
		return ERR_PTR(-ENOMEM);

	h->id = id;
	h->n_user = 1;
	node->owner_handle = h;
	rb_add(&h->rb_id, &peer->handles_by_id, bus1_handle_id_less);
	++peer->n_handles;
	++peer->n_nodes;
	*created = true;
	return h;
}

/**
 * bus1_handle_forget() - drop a node created by a failed command
 * @peer:	owner, local lock held
 * @handle:	owner handle returned by bus1_handle_import() as created
 */
void bus1_handle_forget(struct bus1_peer *peer, struct bus1_handle *handle)
{
	struct bus1_node *node = handle->node;
	bool unpinned;

	lockdep_assert_held(&peer->lock);
	rb_erase(&handle->rb_id, &peer->handles_by_id);
	RB_CLEAR_NODE(&handle->rb_id);
	--peer->n_handles;
	--peer->n_nodes;

	spin_lock(&node->lock);
	handle->n_user = 0;
	unpinned = bus1_handle_unpin_state(handle);
	spin_unlock(&node->lock);
	if (unpinned)
		bus1_handle_unref(handle);
}

/**
 * bus1_handle_pin() - pin the handle a peer has, or gets, for a node
 * @holder:	peer that is to hold the handle
 * @node:	node the handle refers to
 *
 * Used to prepare the receiver side of a handle transfer. The returned
 * handle carries one pin and one reference, both released through
 * bus1_handle_unpin() or bus1_handle_pin_to_user().
 *
 * Return: the handle; NULL if the node is destroyed (or its owner handle
 * gone) and @holder has no handle for it yet; ERR_PTR(-ENOMEM).
 */
struct bus1_handle *bus1_handle_pin(struct bus1_peer *holder,
				    struct bus1_node *node)
{
	struct bus1_handle *h, *spare = NULL;
	struct rb_node *rb;

	if (node->owner == holder) {
		spin_lock(&node->lock);
		h = node->owner_handle;
		if (h) {
			++h->n_pin;
			kref_get(&h->ref);
		}
		spin_unlock(&node->lock);
		return h;
	}

	for (;;) {
		spin_lock(&node->lock);
		spin_lock(&holder->data_lock);
		rb = rb_find(node, &holder->handles_by_node,
			     bus1_handle_node_cmp);
		if (rb) {
			h = rb_entry(rb, struct bus1_handle, rb_node);
			break;
		}
		if (node->destroyed) {
			h = NULL;
			break;
		}
		if (spare) {
			h = spare;
			spare = NULL;
			rb_add(&h->rb_node, &holder->handles_by_node,
			       bus1_handle_node_less);
			list_add_tail(&h->link_node, &node->handles);
			/* the initial reference is the pin-state reference */
			break;
		}
		spin_unlock(&holder->data_lock);
		spin_unlock(&node->lock);

		spare = bus1_handle_new(holder, node);
		if (!spare)
			return ERR_PTR(-ENOMEM);
	}
	if (h) {
		++h->n_pin;
		kref_get(&h->ref);
	}
	spin_unlock(&holder->data_lock);
	spin_unlock(&node->lock);

	if (spare)
		bus1_handle_unref(spare);
	return h;
}

/**
 * bus1_handle_unpin() - drop a pin taken by bus1_handle_pin()
 * @handle:	pinned handle
 * @strong:	whether the pin was made strong by bus1_handle_pin_strong()
 */
void bus1_handle_unpin(struct bus1_handle *handle, bool strong)
{
	struct bus1_node *node = handle->node;
	bool unpinned;

	spin_lock(&node->lock);
	--handle->n_pin;
	if (strong)
		bus1_node_strong_sub(node, 1);
	unpinned = bus1_handle_unpin_state(handle);
	spin_unlock(&node->lock);

	if (unpinned)
		bus1_handle_unref(handle);
	bus1_handle_unref(handle);
}

/**
 * bus1_handle_pin_strong() - make a pin count as a strong reference
 * @handle:	pinned handle
 *
 * Done when the message carrying the pin is committed: a node with handles
 * in flight does not trigger NODE_RELEASE.
 */
void bus1_handle_pin_strong(struct bus1_handle *handle)
{
	spin_lock(&handle->node->lock);
	bus1_node_strong_add(handle->node, 1);
	spin_unlock(&handle->node->lock);
}

/**
 * bus1_handle_pin_to_user() - turn a pin into a user ref
 * @handle:	pinned handle, holder's local lock held
 * @strong:	whether the pin is strong
 * @ts:		position of the transfer in the global order, 0 for "now"
 * @tag:	tag of that position
 *
 * If the node is still live at that position the holder gains one user
 * ref (and an id, if the handle had none); otherwise the pin is dropped.
 * Handle charges are the caller's business.
 *
 * Return: the holder's id of the handle, or BUS1_HANDLE_INVALID.
 */
u64 bus1_handle_pin_to_user(struct bus1_handle *handle, bool strong,
			    u64 ts, u64 tag)
{
	struct bus1_node *node = handle->node;
	bool live, unpinned = false;
	unsigned int strong_before;
	u64 id = BUS1_HANDLE_INVALID;

	lockdep_assert_held(&handle->holder->lock);
	spin_lock(&node->lock);
	live = bus1_node_is_live_at(node, ts, tag) &&
	       (!bus1_handle_is_owner(handle) || handle->n_user);
	--handle->n_pin;
	if (live) {
		strong_before = bus1_handle_user_strong(handle,
							handle->n_user);
		++handle->n_user;
		bus1_node_strong_add(node,
				     bus1_handle_user_strong(handle,
							     handle->n_user) -
				     strong_before);
		if (strong)
			bus1_node_strong_sub(node, 1);
	} else {
		if (strong)
			bus1_node_strong_sub(node, 1);
		unpinned = bus1_handle_unpin_state(handle);
	}
	spin_unlock(&node->lock);

	if (live) {
		if (handle->n_user == 1)
			bus1_handle_link_id(handle);
		id = handle->id;
	}
	if (unpinned)
		bus1_handle_unref(handle);
	bus1_handle_unref(handle);
	return id;
}

/**
 * bus1_handle_release_user() - drop user refs of a handle
 * @h:		handle, holder's local lock held
 * @n:		number of user refs to drop
 *
 * Returns the handle charges to give back.
 */
void bus1_handle_release_user(struct bus1_handle *h, unsigned int n)
{
	struct bus1_node *node = h->node;
	unsigned int strong_before;
	bool last, unpinned = false;

	lockdep_assert_held(&h->holder->lock);
	spin_lock(&node->lock);
	strong_before = bus1_handle_user_strong(h, h->n_user);
	h->n_user -= n;
	bus1_node_strong_sub(node, strong_before -
			     bus1_handle_user_strong(h, h->n_user));
	last = !h->n_user;
	if (last)
		unpinned = bus1_handle_unpin_state(h);
	spin_unlock(&node->lock);

	if (last)
		bus1_handle_unlink_id(h);
	bus1_peer_discharge(h->holder, BUS1_RES_HANDLES, n);
	if (unpinned)
		bus1_handle_unref(h);
}

/**
 * bus1_handle_flush_all() - release every user ref of a peer
 * @peer:	holder, local lock held
 * @spare_seed:	owner handles of nodes carried by the seed keep their pin
 */
void bus1_handle_flush_all(struct bus1_peer *peer, bool spare_seed)
{
	struct bus1_handle *h;
	struct rb_node *rb, *next;

	lockdep_assert_held(&peer->lock);
	for (rb = rb_first(&peer->handles_by_id); rb; rb = next) {
		next = rb_next(rb);
		h = rb_entry(rb, struct bus1_handle, rb_id);
		if (bus1_handle_spared(peer, h, spare_seed) &&
		    !h->node->destroyed) {
			if (h->n_user > 1)
				bus1_handle_release_user(h, h->n_user - 1);
		} else {
			bus1_handle_release_user(h, h->n_user);
		}
	}
}

static int bus1_peer_lock_pair(struct bus1_peer *a, struct bus1_peer *b)
{
	if (a == b)
		return mutex_lock_interruptible(&a->lock);
	if (a > b)
		swap(a, b);
	if (mutex_lock_interruptible(&a->lock))
		return -EINTR;
	if (mutex_lock_interruptible_nested(&b->lock, SINGLE_DEPTH_NESTING)) {
		mutex_unlock(&a->lock);
		return -EINTR;
	}
	return 0;
}

static void bus1_peer_unlock_pair(struct bus1_peer *a, struct bus1_peer *b)
{
	mutex_unlock(&a->lock);
	if (a != b)
		mutex_unlock(&b->lock);
}

static int bus1_handle_transfer_locked(struct bus1_peer *src,
				       struct bus1_peer *dst, u64 src_id,
				       u64 *dst_id)
{
	struct bus1_handle *h, *target;
	bool created;
	int r;

	lockdep_assert_held(&src->lock);
	lockdep_assert_held(&dst->lock);
	h = bus1_handle_import(src, src_id, &created);
	if (IS_ERR(h))
		return PTR_ERR(h);

	target = bus1_handle_pin(dst, h->node);
	if (IS_ERR(target)) {
		r = PTR_ERR(target);
		goto err_forget;
	}
	if (!target) {
		/* node destroyed: succeed without effect */
		*dst_id = BUS1_HANDLE_INVALID;
		return 0;
	}

	r = bus1_peer_charge(dst, BUS1_RES_HANDLES, 1);
	if (r)
		goto err_unpin;
	if (created) {
		r = bus1_peer_charge(src, BUS1_RES_HANDLES, 1);
		if (r) {
			bus1_peer_discharge(dst, BUS1_RES_HANDLES, 1);
			goto err_unpin;
		}
	}

	*dst_id = bus1_handle_pin_to_user(target, false, 0, 0);
	if (*dst_id == BUS1_HANDLE_INVALID)
		bus1_peer_discharge(dst, BUS1_RES_HANDLES, 1);
	return 0;

err_unpin:
	bus1_handle_unpin(target, false);
err_forget:
	if (created)
		bus1_handle_forget(src, h);
	return r;
}

/**
 * bus1_cmd_handle_transfer() - BUS1_CMD_HANDLE_TRANSFER
 * @peer:	calling peer, no active reference held, local lock not held
 * @arg:	user pointer to struct bus1_cmd_handle_transfer
 *
 * Takes its active references (the caller's and the destination's) only
 * after the copy-in and drops them before the result is stored: neither
 * is held across a user fault (disconnect waits for them).
 *
 * Return: 0 on success, negative error code on failure.
 */
int bus1_cmd_handle_transfer(struct bus1_peer *peer, unsigned long arg)
{
	struct bus1_cmd_handle_transfer __user *uparam = (void __user *)arg;
	struct bus1_cmd_handle_transfer param;
	struct bus1_peer *dst = peer;
	struct fd dst_f = {};
	u64 dst_id;
	int r;

	/* like every command of a disconnected peer, before the copy-in */
	if (test_bit(BUS1_PEER_DISCONNECTING, &peer->flags))
		return -ESHUTDOWN;
	if (copy_from_user(&param, uparam, sizeof(param)))
		return -EFAULT;
	if (param.flags)
		return -EINVAL;
	if (!bus1_peer_acquire(peer))
		return -ESHUTDOWN;

	if (param.dst_fd != (u64)-1) {
		r = -EBADF;
		if (param.dst_fd > INT_MAX)
			goto exit_peer;
		dst_f = fdget(param.dst_fd);
		if (!fd_file(dst_f))
			goto exit_peer;
		dst = bus1_peer_from_file(fd_file(dst_f));
		if (!dst) {
			r = -EOPNOTSUPP;
			goto exit_fd;
		}
	}
	if (dst != peer && !bus1_peer_acquire(dst)) {
		r = -ESHUTDOWN;
		goto exit_fd;
	}

	r = bus1_peer_lock_pair(peer, dst);
	if (r)
		goto exit_dst;
	r = bus1_handle_transfer_locked(peer, dst, param.src_handle, &dst_id);
	bus1_peer_unlock_pair(peer, dst);

exit_dst:
	if (dst != peer)
		bus1_peer_release(dst);
exit_fd:
	fdput(dst_f);
exit_peer:
	bus1_peer_release(peer);
	/* effects are not undone if the caller's memory went away */
	if (!r && put_user(dst_id, &uparam->dst_handle))
		r = -EFAULT;
	return r;
}

/**
 * bus1_cmd_handle_release() - BUS1_CMD_HANDLE_RELEASE
 * @peer:	calling peer, active reference and local lock held
 * @arg:	user pointer to the u64 id
 *
 * Return: 0 on success, negative error code on failure.
 */
int bus1_cmd_handle_release(struct bus1_peer *peer, unsigned long arg)
{
	struct bus1_handle *h;
	u64 id;

	lockdep_assert_held(&peer->lock);
	if (get_user(id, (u64 __user *)arg))
		return -EFAULT;

	h = bus1_handle_find(peer, id);
	if (!h)
		return (id & (BUS1_HANDLE_FLAG_MANAGED |
			      BUS1_HANDLE_FLAG_REMOTE)) ? -ENXIO : -EBUSY;
	if (bus1_handle_is_owner(h) && h->n_user == 1 && !h->node->destroyed)
		return -EBUSY;

	bus1_handle_release_user(h, 1);
	return 0;
}

/**
 * bus1_handle_init_caches() - create the slab caches of nodes and handles
 *
 * Return: 0 on success, -ENOMEM on failure.
 */
int bus1_handle_init_caches(void)
{
	bus1_node_cache = KMEM_CACHE(bus1_node, SLAB_ACCOUNT);
	bus1_handle_cache = KMEM_CACHE(bus1_handle, SLAB_ACCOUNT);
	if (!bus1_node_cache || !bus1_handle_cache) {
		bus1_handle_exit_caches();
		return -ENOMEM;
	}
	return 0;
}

/**
 * bus1_handle_exit_caches() - destroy the slab caches of nodes and handles
 */
void bus1_handle_exit_caches(void)
{
	kmem_cache_destroy(bus1_handle_cache);
	kmem_cache_destroy(bus1_node_cache);
	bus1_handle_cache = NULL;
	bus1_node_cache = NULL;
}
