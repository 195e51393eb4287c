/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BUS1_HANDLE_H
#define __BUS1_HANDLE_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include "queue.h"

struct bus1_handle;
struct bus1_peer;
struct kmem_cache;

/**
 * struct bus1_node - an object owned by a peer, the target of messages
 * @ref:	kref on the memory; held by every handle of the node
 * @owner:	owning peer (kref held), constant
 * @lock:	protects everything below, and the user refs and pins of every
 *		handle of the node
 * @handles:	remote handles that get a NODE_DESTROY when it is destroyed
 * @owner_handle: the owner's handle while the owner holds it (weak)
 * @n_strong:	user refs of all handles (minus the owner's pin) plus pins
 *		held by in-flight messages; NODE_RELEASE fires at 0
 * @destroyed:	destruction has started: no handle joins @handles anymore
 * @destroy_ts:	commit timestamp of the destruction, 0 until committed
 * @destroy_tag: tag of the destruction transaction
 * @qrelease:	the NODE_RELEASE slot in the owner's queue (owner's data
 *		lock); linked only while the node is live, so the owner
 *		handle keeps the node alive while it is queued
 */
struct bus1_node {
	struct kref ref;
	struct bus1_peer *owner;
	spinlock_t lock; /* see above */
	struct list_head handles;
	struct bus1_handle *owner_handle;
	unsigned int n_strong;
	bool destroyed;
	u64 destroy_ts;
	u64 destroy_tag;
	struct bus1_queue_node qrelease;
};

/**
 * struct bus1_handle - a peer's reference to a node
 * @ref:	kref on the memory; held while the handle is pinned (user refs
 *		or in-flight pins), by each in-flight message entry and by a
 *		queued NODE_DESTROY
 * @node:	node the handle refers to (kref held), constant
 * @holder:	peer holding the handle (kref held), constant
 * @link_node:	entry in node->handles (node lock)
 * @rb_node:	entry in holder->handles_by_node while pinned (holder's data
 *		lock; remote handles only)
 * @rb_id:	entry in holder->handles_by_id while @n_user > 0 (holder's
 *		local lock)
 * @id:		id visible to the holder, BUS1_HANDLE_INVALID if none yet
 *		(holder's local lock)
 * @n_user:	user refs (written under holder's local lock and node lock)
 * @n_pin:	pins by in-flight messages and commands (node lock)
 * @send_mark:	SEND duplicate detection (holder's local lock)
 * @qdestroy:	the NODE_DESTROY slot in the holder's queue
 */
struct bus1_handle {
	struct kref ref;
	struct bus1_node *node;
	struct bus1_peer *holder;
	struct list_head link_node;
	struct rb_node rb_node;
	struct rb_node rb_id;
	u64 id;
	unsigned int n_user;
	unsigned int n_pin;
	u64 send_mark;
	struct bus1_queue_node qdestroy;
};

static inline bool bus1_handle_is_owner(struct bus1_handle *handle)
{
	return handle->node->owner == handle->holder;
}

void bus1_handle_free(struct kref *ref);

/**
 * bus1_handle_unref() - drop a reference to a handle
 * @handle:	handle to drop, or NULL
 *
 * Must not be called under a spinlock: the last reference may free the
 * node and the peers it pins.
 */
static inline void bus1_handle_unref(struct bus1_handle *handle)
{
	if (handle)
		kref_put(&handle->ref, bus1_handle_free);
}

struct bus1_handle *bus1_handle_find(struct bus1_peer *peer, u64 id);
struct bus1_handle *bus1_handle_import(struct bus1_peer *peer, u64 id,
				       bool *created);
void bus1_handle_forget(struct bus1_peer *peer, struct bus1_handle *handle);
struct bus1_handle *bus1_handle_pin(struct bus1_peer *holder,
				    struct bus1_node *node);
void bus1_handle_unpin(struct bus1_handle *handle, bool strong);
void bus1_handle_pin_strong(struct bus1_handle *handle);
u64 bus1_handle_pin_to_user(struct bus1_handle *handle, bool strong,
			    u64 ts, u64 tag);

/**
 * bus1_node_is_live_at() - check whether a node is live at a position
 * @node:	node to check, its lock or its owner's local lock held (the
 *		destruction is recorded under both)
 * @ts:		commit timestamp of the position, or 0 for "now"
 * @tag:	tag of the position
 *
 * Return: true if the node's destruction is not ordered before (@ts, @tag).
 */
static inline bool bus1_node_is_live_at(struct bus1_node *node, u64 ts,
					u64 tag)
{
	if (!ts)
		return !node->destroyed;
	return !node->destroy_ts ||
	       bus1_key_before(ts, tag, node->destroy_ts, node->destroy_tag);
}

extern struct kmem_cache *bus1_node_cache;
void bus1_node_free(struct kref *ref);
struct bus1_node *bus1_node_new(struct bus1_peer *owner);
void bus1_handle_release_user(struct bus1_handle *h, unsigned int n);
bool bus1_handle_spared(struct bus1_peer *peer, struct bus1_handle *h,
			bool spare_seed);

u64 bus1_node_destroy_batch(struct bus1_peer *peer,
			    struct bus1_handle **handles, size_t n);
void bus1_handle_flush_all(struct bus1_peer *peer, bool spare_seed);
u64 bus1_handle_destroy_all(struct bus1_peer *peer, bool spare_seed);

int bus1_cmd_handle_transfer(struct bus1_peer *peer, unsigned long arg);
int bus1_cmd_handle_release(struct bus1_peer *peer, unsigned long arg);
int bus1_cmd_nodes_destroy(struct bus1_peer *peer, unsigned long arg);

int bus1_handle_init_caches(void);
void bus1_handle_exit_caches(void);

#endif /* __BUS1_HANDLE_H */
