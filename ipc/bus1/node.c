// SPDX-License-Identifier: GPL-2.0
/*
 * Nodes: creation, destruction and NODES_DESTROY.
 *
 * A node is created by its owner on demand, when an id it does not know
 * is imported (bus1_handle_import() in handle.c), and lives as long as a
 * handle references it. Destroying it is one transaction (tx.c): every
 * holder's handle and the owner's own get a NODE_DESTROY, added to the
 * transaction under the node lock (and staged by bus1_tx_seal(), queue by
 * queue), and the commit timestamp is recorded in the node before any
 * notification is visible, so that messages ordered after it see the node
 * as dead. A peer that goes away destroys all its nodes the same way.
 *
 * Top to bottom: allocation, the destruction transaction, destroying all
 * nodes of a peer, and the NODES_DESTROY command.
 */

#include <linux/err.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/rbtree.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/bus1.h>
#include "handle.h"
#include "message.h"
#include "peer.h"
#include "trace.h"
#include "tx.h"

struct kmem_cache *bus1_node_cache;

/**
 * bus1_node_free() - free a node, kref release function
 * @ref:	the node's kref
 */
void bus1_node_free(struct kref *ref)
{
	struct bus1_node *node = container_of(ref, struct bus1_node, ref);

	WARN_ON(!list_empty(&node->handles));
	WARN_ON(bus1_queue_node_is_queued(&node->qrelease));
	bus1_peer_unref(node->owner);
	kmem_cache_free(bus1_node_cache, node);
}

/**
 * bus1_node_new() - allocate a node
 * @owner:	owning peer
 *
 * Return: the node, with one kref, or NULL.
 */
struct bus1_node *bus1_node_new(struct bus1_peer *owner)
{
	struct bus1_node *node;

	node = kmem_cache_zalloc(bus1_node_cache, GFP_KERNEL_ACCOUNT);
	if (!node)
		return NULL;
	kref_init(&node->ref);
	node->owner = bus1_peer_ref(owner);
	spin_lock_init(&node->lock);
	INIT_LIST_HEAD(&node->handles);
	bus1_queue_node_init(&node->qrelease, BUS1_MSG_NODE_RELEASE);
	return node;
}

static void bus1_node_destroy_stage(struct bus1_tx *tx,
				    struct bus1_handle *owner_handle)
{
	struct bus1_node *node = owner_handle->node;
	struct bus1_peer *peer = node->owner;
	struct bus1_handle *h;
	bool wake;

	lockdep_assert_held(&peer->lock);
	spin_lock(&node->lock);
	node->destroyed = true;
	trace_bus1_node_destroy(peer->id, owner_handle->id);

	spin_lock(&peer->data_lock);
	wake = bus1_queue_remove(&peer->queue, &node->qrelease);
	spin_unlock(&peer->data_lock);
	if (wake)
		bus1_peer_wake(peer);

	list_for_each_entry(h, &node->handles, link_node) {
		if (!bus1_peer_acquire(h->holder))
			continue;
		kref_get(&h->ref);
		bus1_tx_stage(tx, &h->qdestroy, h->holder);
	}
	if (bus1_peer_acquire(peer)) {
		kref_get(&owner_handle->ref);
		bus1_tx_stage(tx, &owner_handle->qdestroy, peer);
	}
	spin_unlock(&node->lock);
	--peer->n_nodes;
}

static void bus1_node_destroy_finish(struct bus1_handle *owner_handle, u64 ts)
{
	struct bus1_node *node = owner_handle->node;

	lockdep_assert_held(&node->owner->lock);
	spin_lock(&node->lock);
	node->destroy_ts = ts;
	node->destroy_tag = node->owner->id;
	spin_unlock(&node->lock);
}

/**
 * bus1_node_destroy_batch() - destroy nodes in one transaction
 * @peer:	owner, local lock held
 * @handles:	owner handles of live nodes
 * @n:		number of entries in @handles
 *
 * Return: the commit timestamp of the destruction.
 */
u64 bus1_node_destroy_batch(struct bus1_peer *peer,
			    struct bus1_handle **handles, size_t n)
{
	struct bus1_tx tx;
	size_t i;
	u64 ts;

	lockdep_assert_held(&peer->lock);
	bus1_tx_init(&tx, peer);
	for (i = 0; i < n; ++i)
		bus1_node_destroy_stage(&tx, handles[i]);
	/*
	 * The destruction key is known before any notification is visible:
	 * whoever sees one sees the key, and judges the liveness of handles
	 * in messages ordered after it correctly.
	 */
	ts = bus1_tx_seal(&tx);
	for (i = 0; i < n; ++i)
		bus1_node_destroy_finish(handles[i], ts);
	bus1_tx_commit_sealed(&tx, ts);
	return ts;
}

/**
 * bus1_handle_spared() - check whether a handle is spared for the seed
 * @peer:	holder, local lock held
 * @h:		handle of @peer
 * @spare_seed:	whether nodes the seed carries are spared
 *
 * Return: true if @h is an owner handle of a node the seed carries.
 */
bool bus1_handle_spared(struct bus1_peer *peer, struct bus1_handle *h,
			bool spare_seed)
{
	lockdep_assert_held(&peer->lock);
	return spare_seed && peer->seed && bus1_handle_is_owner(h) &&
	       bus1_message_pins_node(peer->seed, h);
}

/**
 * bus1_handle_destroy_all() - destroy all live nodes of a peer
 * @peer:	owner, local lock held
 * @spare_seed:	keep nodes whose handles the seed carries
 *
 * Return: the commit timestamp of the destruction transaction.
 */
u64 bus1_handle_destroy_all(struct bus1_peer *peer, bool spare_seed)
{
	struct bus1_handle *h;
	struct rb_node *rb;
	struct bus1_tx tx;
	u64 ts;

	lockdep_assert_held(&peer->lock);
	bus1_tx_init(&tx, peer);
	for (rb = rb_first(&peer->handles_by_id); rb; rb = rb_next(rb)) {
		h = rb_entry(rb, struct bus1_handle, rb_id);
		if (bus1_handle_is_owner(h) && !h->node->destroyed &&
		    !bus1_handle_spared(peer, h, spare_seed))
			bus1_node_destroy_stage(&tx, h);
	}
	ts = bus1_tx_seal(&tx);
	for (rb = rb_first(&peer->handles_by_id); rb; rb = rb_next(rb)) {
		h = rb_entry(rb, struct bus1_handle, rb_id);
		if (bus1_handle_is_owner(h) && h->node->destroyed &&
		    !h->node->destroy_ts)
			bus1_node_destroy_finish(h, ts);
	}
	bus1_tx_commit_sealed(&tx, ts);
	return ts;
}

static int bus1_nodes_destroy_collect(struct bus1_peer *peer,
				      const u64 __user *ids,
				      struct bus1_handle **handles,
				      bool *created, size_t n, u64 mark)
{
	struct bus1_handle *h;
	size_t i;
	u64 id;

	lockdep_assert_held(&peer->lock);
	for (i = 0; i < n; ++i) {
		if (get_user(id, ids + i))
			return -EFAULT;
		h = bus1_handle_import(peer, id, &created[i]);
		if (IS_ERR(h))
			return PTR_ERR(h);
		handles[i] = h;
		if (h->send_mark == mark)
			return -ENOTUNIQ;
		h->send_mark = mark;
		if (!bus1_handle_is_owner(h))
			return -EREMOTE;
		if (h->node->destroyed)
			return -ESTALE;
	}
	return 0;
}

/**
 * bus1_cmd_nodes_destroy() - BUS1_CMD_NODES_DESTROY
 * @peer:	calling peer, active reference and local lock held
 * @arg:	user pointer to struct bus1_cmd_nodes_destroy
 *
 * Return: 0 on success, negative error code on failure.
 */
int bus1_cmd_nodes_destroy(struct bus1_peer *peer, unsigned long arg)
{
	struct bus1_cmd_nodes_destroy param;
	struct bus1_handle **handles;
	size_t i, n, n_created = 0;
	bool *created;
	int r;

	lockdep_assert_held(&peer->lock);
	if (copy_from_user(&param, (void __user *)arg, sizeof(param)))
		return -EFAULT;
	if (param.flags & ~BUS1_NODES_DESTROY_FLAG_RELEASE_HANDLES)
		return -EINVAL;
	if (param.ptr_nodes != (u64)(unsigned long)param.ptr_nodes)
		return -EFAULT;
	if (param.n_nodes > peer->user->quota.max[BUS1_RES_HANDLES])
		return -EINVAL;
	/* bounds how long the destruction holds back the holders' queues */
	if (param.n_nodes > BUS1_DESTINATION_MAX)
		return -EMSGSIZE;
	n = param.n_nodes;
	if (!n)
		return 0;

	handles = kvcalloc(n, sizeof(*handles), GFP_KERNEL_ACCOUNT);
	created = kvcalloc(n, sizeof(*created), GFP_KERNEL_ACCOUNT);
	if (!handles || !created) {
		r = -ENOMEM;
		goto exit;
	}

	r = bus1_nodes_destroy_collect(peer, u64_to_user_ptr(param.ptr_nodes),
				       handles, created, n, ++peer->mark_seq);
	for (i = 0; i < n; ++i)
		if (created[i])
			++n_created;
	if (!r)
		r = bus1_peer_charge(peer, BUS1_RES_HANDLES, n_created);
	if (r) {
		for (i = 0; i < n; ++i)
			if (created[i])
				bus1_handle_forget(peer, handles[i]);
		goto exit;
	}

	bus1_node_destroy_batch(peer, handles, n);
	if (param.flags & BUS1_NODES_DESTROY_FLAG_RELEASE_HANDLES)
		for (i = 0; i < n; ++i)
			bus1_handle_release_user(handles[i], 1);

exit:
	kvfree(created);
	kvfree(handles);
	return r;
}
