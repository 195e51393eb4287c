/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BUS1_MESSAGE_H
#define __BUS1_MESSAGE_H

#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/types.h>
#include <linux/bus1.h>
#include "handle.h"
#include "peer.h"
#include "pool.h"
#include "queue.h"
#include "user.h"

struct bus1_handle;
struct bus1_peer;
struct file;

/**
 * struct bus1_message - one instance of a message, in one receiver's pool
 * @qnode:	entry in the receiver's queue (receiver's data lock)
 * @slice:	slice in the receiver's pool (receiver's data lock)
 * @peer:	receiving peer; the message lives and dies inside it
 * @dst:	receiver's (owner) handle of the destination node, kref held;
 *		NULL for the seed
 * @share:	sender's share the charge counts against until received,
 *		NULL for the seed; kept after RECV (@charged is
 *		BUS1_MESSAGE_RECEIVED) so SLICE_RELEASE settles on the CPU too
 *		(see bus1_quota_settle())
 * @payload:	a short multicast's payload this receiver's RECV copies into
 *		the slice, or NULL (the payload is in the slice already)
 * @charge_bytes: pool bytes charged while in flight (the slice's size)
 * @n_bytes:	payload size
 * @n_handles:	number of attached handles
 * @n_files:	number of attached files
 * @charged:	what is charged to @peer for this message, an enum
 *		bus1_message_charged (bus1_message_charge() spells it out)
 * @strong:	whether the handle pins hold strong references (committed)
 * @arrays:	@n_handles receiver-side handles (pinned; NULL entries are
 *		dead), then @n_files attached files (referenced)
 *
 * Owned by whoever links it: a queue until received, then the pool (as a
 * published slice) until released. It is freed by the receiving peer only.
 */
struct bus1_message {
	struct bus1_queue_node qnode;
	struct bus1_pool_slice slice;
	struct bus1_peer *peer;
	struct bus1_handle *dst;
	struct bus1_share *share;
	struct bus1_payload *payload;
	u32 charge_bytes;
	u32 n_bytes;
	u32 n_handles;
	u32 n_files;
	u8 charged;
	bool strong;
	void *arrays[];
};

/**
 * enum bus1_message_charged - what a message holds charged to its receiver
 * @BUS1_MESSAGE_UNCHARGED:	nothing (not charged yet, or refused)
 * @BUS1_MESSAGE_IN_FLIGHT:	one slice, @charge_bytes bytes, its handles and
 *				files, counted against the sender's share
 * @BUS1_MESSAGE_RECEIVED:	the slice alone, until SLICE_RELEASE; RECV
 *				took it out of the share already
 *
 * The charge is derived from the message instead of stored per resource:
 * RECV's settle is the only change, and the header stays within 192 bytes.
 */
enum bus1_message_charged {
	BUS1_MESSAGE_UNCHARGED,
	BUS1_MESSAGE_IN_FLIGHT,
	BUS1_MESSAGE_RECEIVED,
};

/**
 * bus1_message_charge() - the resources a message holds in a charge state
 * @m:		message
 * @state:	an enum bus1_message_charged (@m's own, or the one it enters)
 * @charge:	BUS1_RES_N counters to fill
 */
static inline void bus1_message_charge(const struct bus1_message *m,
				       unsigned int state, u32 *charge)
{
	charge[BUS1_RES_SLICES] = state != BUS1_MESSAGE_UNCHARGED;
	if (state == BUS1_MESSAGE_IN_FLIGHT) {
		charge[BUS1_RES_HANDLES] = m->n_handles;
		charge[BUS1_RES_BYTES] = m->charge_bytes;
		charge[BUS1_RES_FDS] = m->n_files;
	} else {
		charge[BUS1_RES_HANDLES] = 0;
		charge[BUS1_RES_BYTES] = 0;
		charge[BUS1_RES_FDS] = 0;
	}
}

/*
 * The payload of a short multicast, read from the sender once: the first
 * destination gets it in its pool at SEND, every further one at its RECV
 * (each receiver pays for its own copy, not the sender for all of them).
 * Each message not received yet holds a reference.
 */
struct bus1_payload {
	refcount_t ref;
	u32 len;
	u8 data[];
};

static inline void bus1_payload_put(struct bus1_payload *p)
{
	if (p && refcount_dec_and_test(&p->ref))
		kfree(p);
}

static inline struct bus1_handle **
bus1_message_handles(struct bus1_message *message)
{
	return (struct bus1_handle **)message->arrays;
}

static inline struct file **bus1_message_files(struct bus1_message *message)
{
	return (struct file **)(message->arrays + message->n_handles);
}

/*
 * Poisons a stack structure declared __uninitialized on KASAN kernels, so
 * that a field read before it is set shows up in the debug test run (as a
 * non-canonical pointer or an absurd size) instead of reading stale stack.
 */
static inline void bus1_debug_poison(void *p, size_t n)
{
	if (IS_ENABLED(CONFIG_KASAN))
		memset(p, 0xa5, n);
}

/* 8-byte alignment of the parts of a slice */
static inline size_t bus1_a8(size_t x)
{
	return ALIGN(x, 8);
}

/*
 * A data message goes stale when its receiver (the node owner) released
 * its handle, flushed its queue, or destroyed the node before the message;
 * a NODE_DESTROY when its holder released the handle or flushed. All of it
 * happens under the receiver's local lock only, so a caller that holds it
 * needs no other lock to look. A NODE_RELEASE is checked when it is
 * dequeued (it can be withdrawn by others).
 */
static __always_inline bool
bus1_recv_entry_is_stale(struct bus1_peer *peer, struct bus1_queue_node *qnode)
{
	struct bus1_message *m;

	/* the local lock decides; poll takes a snapshot under the data lock */
	lockdep_assert(lockdep_is_held(&peer->lock) ||
		       lockdep_is_held(&peer->data_lock));
	if (qnode->type == BUS1_MSG_NODE_RELEASE)
		return false;
	if (bus1_queue_node_is_stale(&peer->queue, qnode))
		return true;
	if (qnode->type == BUS1_MSG_NODE_DESTROY)
		return !container_of(qnode, struct bus1_handle,
				     qdestroy)->n_user;
	m = container_of(qnode, struct bus1_message, qnode);
	return !m->dst->n_user ||
	       !bus1_node_is_live_at(m->dst->node, m->qnode.ts, m->qnode.tag);
}

struct bus1_message *bus1_message_new(struct bus1_peer *peer,
				      size_t n_handles, size_t n_files);
void __bus1_message_put_attachments(struct bus1_message *m);

/**
 * bus1_message_put_attachments() - return the handle pins and files
 * @m:		message
 *
 * Returns the handle pins and files a message still holds. Most messages
 * carry neither: they pay a test, no call and no loop setup.
 */
static inline void bus1_message_put_attachments(struct bus1_message *m)
{
	if (m->n_handles || m->n_files)
		__bus1_message_put_attachments(m);
}

void bus1_message_settle(struct bus1_message *m);
void bus1_message_unaccount(struct bus1_message *m);
void bus1_message_dealloc(struct bus1_message *m);
void bus1_message_free(struct bus1_message *m);
bool bus1_file_is_passable(struct file *f);
void bus1_message_free_entry(struct bus1_queue_node *qnode);
bool bus1_message_pins_node(struct bus1_message *message,
			    struct bus1_handle *handle);

struct bus1_queue_node *bus1_message_peek_live(struct bus1_peer *peer,
					       bool *continues);
int bus1_message_peek_ready(struct bus1_peer *peer);

void bus1_message_free_spare(struct bus1_peer *peer);
int bus1_message_init_cache(void);
void bus1_message_exit_cache(void);

int bus1_cmd_send(struct bus1_peer *peer, unsigned long arg);
int bus1_send_fault_in(unsigned long arg);

/**
 * struct bus1_recv_call - one BUS1_CMD_RECV ioctl, across its runs
 * @uparam:	the caller's argument
 * @param:	flags and max_offset as loaded; msg is the result a run fills
 *		and stores
 * @orig:	the argument as the caller passed it (only msg is used), with
 *		the changes bus1(7) allows a failed call: msg.offset
 *		BUS1_OFFSET_INVALID once the slice is released, msg.destination
 *		0 once the SEND ran
 * @release:	offset of the slice to release, or BUS1_OFFSET_INVALID (none,
 *		or released by an earlier run)
 * @send:	user address of the SEND to run (checked to fit), or 0 (none,
 *		or sent by an earlier run)
 * @dirty:	the argument may differ from @orig's msg: a store of the result
 *		faulted part-way, or the SEND ran
 *
 * The ioctl loads its argument once, with nothing held, and runs the
 * command until it is done: again after a fault (memory faulted in with
 * nothing held) and after WAIT slept. A store of the result runs with
 * page faults disabled; if it faults part-way, the words before the fault
 * are written, and a later run that fails (the message went while nothing
 * was held) would leave them. So a failed call stores @orig back, with
 * page faults enabled (bus1_recv_restore()). Lives on the stack of
 * bus1_peer_ioctl(); runs hold the local lock.
 */
struct bus1_recv_call {
	struct bus1_cmd_recv __user *uparam;
	struct bus1_cmd_recv param;
	struct bus1_cmd_recv orig;
	u64 release;
	unsigned long send;
	bool dirty;
};

/* RECV with BUS1_RECV_FLAG_WAIT found nothing: sleep and run it again */
#define BUS1_RECV_WAIT 1

int bus1_recv_begin(struct bus1_recv_call *call, unsigned long arg);
int bus1_cmd_recv(struct bus1_peer *peer, struct bus1_recv_call *call);
long bus1_recv_restore(struct bus1_recv_call *call, long r);
int bus1_cmd_slice_release(struct bus1_peer *peer, unsigned long arg);

#endif /* __BUS1_MESSAGE_H */
