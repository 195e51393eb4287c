// SPDX-License-Identifier: GPL-2.0
/*
 * SEND: one command, one message per destination, one transaction.
 *
 * SEND runs in two phases. The first imports and validates everything and
 * builds one message per destination right in the destination's pool:
 * charges, slice, payload (read once from the sender's memory), pinned
 * receiver-side handles and file references. None of it is visible. The
 * second phase cannot fail: it turns the pins strong and commits all
 * messages as one transaction (tx.c).
 *
 * Destinations are collected first (node, owner, active reference), then
 * their messages built: a multicast charges each receiving user once for
 * all its destinations (Documentation/bus1/quota.rst, "Multicast
 * charges").
 *
 * Top to bottom: import of the payload, charge and build one message
 * (message.c), destinations, commit (or the seed), the command. The
 * general path's checks, the import of several (or compat) vectors, the
 * handle and file imports and the fault-in of a SEND that faulted with
 * page faults disabled are in send-import.c.
 */

#include <linux/compat.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/bus1.h>
#include "compat.h"
#include "handle.h"
#include "message.h"
#include "peer.h"
#include "send.h"
#include "trace.h"
#include "tx.h"

/*
 * The common payload, one native vector, is one user buffer: an ITER_UBUF
 * iterator (cheaper to walk than a one-segment ITER_IOVEC), set up from two
 * loads with no iovec array, no 16-byte string copy and its hardened
 * usercopy check. It fails as bus1_send_import_iovecs() does, in its order;
 * any other vector goes there. Out of line, so that an empty payload's path
 * stays a test and a store.
 */
static noinline int bus1_send_import_ubuf(struct bus1_send *s)
{
	const struct iovec __user *uvec = u64_to_user_ptr(s->param.ptr_vecs);
	void __user *base;
	size_t len;

	if (s->param.n_vecs != 1 || in_compat_syscall())
		return bus1_send_import_iovecs(s);
	if (get_user(base, &uvec->iov_base) || get_user(len, &uvec->iov_len))
		return -EFAULT;
	if ((ssize_t)len < 0)
		return -EMSGSIZE;
	if (!access_ok(base, len))
		return -EFAULT;
	if (len > MAX_RW_COUNT)
		return -EMSGSIZE;
	iov_iter_ubuf(&s->iter, ITER_SOURCE, base, len);
	s->n_bytes = len;
	return 0;
}

/**
 * bus1_send_import_vecs() - set up the payload iterator of a SEND
 * @s:		SEND being built, its argument loaded
 *
 * An empty payload, common for signals, costs no call and no frame.
 *
 * Return: 0 on success, negative error code if the vector array cannot be
 * read or describes too much.
 */
int bus1_send_import_vecs(struct bus1_send *s)
{
	if (!s->param.n_vecs) {
		/* @iter is read only for a non-empty payload */
		s->n_bytes = 0;
		return 0;
	}
	return bus1_send_import_ubuf(s);
}

/*
 * Imports the payload and adds it to the slice size, which holds the size
 * of the arrays so far; every slice takes at least 8 bytes.
 */
static int bus1_send_import_payload(struct bus1_send *s)
{
	int r;

	r = bus1_send_import_vecs(s);
	if (r)
		return r;
	if (check_add_overflow(s->slice_size, bus1_a8(s->n_bytes),
			       &s->slice_size) ||
	    s->slice_size > BUS1_POOL_SIZE_MAX)
		return -EMSGSIZE;
	s->slice_size = max_t(size_t, s->slice_size, 8);
	return 0;
}

/*
 * Charges a message to its receiver and places it in the receiver's pool.
 * The seed is the peer's own business and counts against no sender share.
 * A sender's first message to a receiver creates its share records. A
 * message to a user the command holds a reservation on is charged from it
 * (quota.rst, "Multicast charges"), or exactly once the reservation is
 * returned if the peer's part does not fit it.
 */
static int bus1_send_charge(struct bus1_send *s, struct bus1_peer *peer,
			    struct bus1_message *m)
{
	kuid_t sender = s->peer->user->uid;
	u32 charge[BUS1_RES_N];
	int r;

	bus1_message_charge(m, BUS1_MESSAGE_IN_FLIGHT, charge);

	for (;;) {
		spin_lock(&peer->data_lock);
		if (!m->dst)
			r = bus1_quota_charge(&peer->quota, peer->user,
					      charge);
		else if (s->resv.n && s->resv.user == peer->user)
			r = bus1_quota_charge_reserved(&peer->quota, &s->resv,
						       sender, &m->share);
		else
			r = bus1_quota_charge_shared(&peer->quota, peer->user,
						     sender, charge,
						     &m->share);
		if (!r) {
			m->charged = BUS1_MESSAGE_IN_FLIGHT;
			r = bus1_pool_alloc(&peer->pool, &m->slice,
					    s->slice_size);
			if (r)
				INIT_LIST_HEAD(&m->slice.link);
		}
		spin_unlock(&peer->data_lock);
		if (r == -EAGAIN) {
			bus1_quota_unreserve(&s->resv);
			continue;
		}
		if (r != -ENOENT)
			break;
		r = bus1_quota_prepare(&peer->quota, peer->user, sender);
		if (r)
			break;
	}

	if (r == -EDQUOT)
		trace_bus1_quota_refusal(peer->id, __kuid_val(sender),
					 charge[BUS1_RES_SLICES],
					 charge[BUS1_RES_HANDLES],
					 charge[BUS1_RES_BYTES],
					 charge[BUS1_RES_FDS]);
	/* a failed pool allocation leaves the charge to bus1_message_free() */
	return r;
}

/*
 * All receivers of one message see the same bytes, whatever the sender's
 * threads write meanwhile: user memory is read once, at the first
 * destination, into a shared buffer for a short multicast (each further
 * destination's RECV copies it into its own pool: the page lookup is the
 * receiver's, not the sender's once per destination), else into the first
 * pool, which the others copy. Out of line, so that an empty message does
 * not pay for the iterator's stack slot; once the payload is in the
 * buffer, bus1_send_build() hands it on itself.
 */
static noinline int bus1_send_write_payload(struct bus1_send *s,
					    struct bus1_peer *peer,
					    struct bus1_message *m)
{
	struct iov_iter iter = s->iter;

	if (s->n_dests > 1 && s->n_bytes <= BUS1_SEND_BOUNCE_MAX) {
		/* the first destination: the others get @payload (build) */
		s->payload = kmalloc(sizeof(*s->payload) + s->n_bytes,
				     GFP_KERNEL_ACCOUNT);
		if (!s->payload)
			return -ENOMEM;
		refcount_set(&s->payload->ref, 1);
		s->payload->len = s->n_bytes;
		if (copy_from_iter(s->payload->data, s->n_bytes, &iter) !=
		    s->n_bytes)
			return -EFAULT;
		s->bounced = true;
		return bus1_pool_write_kernel(&peer->pool, &m->slice, 0,
					      s->payload->data, s->n_bytes);
	}
	if (s->source)
		return bus1_pool_copy(&peer->pool, &m->slice,
				      &s->source->peer->pool,
				      &s->source->slice, s->n_bytes);
	return bus1_pool_write_iter(&peer->pool, &m->slice, 0, &iter,
				    s->n_bytes);
}

/*
 * The handles and files of a message: the slice part their IDs and fd
 * numbers go to at RECV is zeroed, the handles are pinned for the
 * receiver and the files referenced. Apart, so that the common message
 * without either pays for none of it.
 */
static noinline int bus1_send_build_attachments(struct bus1_send *s,
						struct bus1_peer *peer,
						struct bus1_message *m)
{
	size_t arrays = s->slice_size - bus1_a8(s->n_bytes);
	struct bus1_handle **handles, *h;
	struct file **files;
	size_t i;
	int r;

	/*
	 * Arrays are written at RECV; never expose stale pool content there.
	 * The padding of a message without arrays is unspecified.
	 */
	if (arrays) {
		r = bus1_pool_write_kernel(&peer->pool, &m->slice,
					   bus1_a8(s->n_bytes), NULL, arrays);
		if (r)
			return r;
	}

	handles = bus1_message_handles(m);
	for (i = 0; i < s->n_handles; ++i) {
		h = bus1_handle_pin(peer, s->handles[i]->node);
		if (IS_ERR(h))
			return PTR_ERR(h);
		handles[i] = h;
	}
	files = bus1_message_files(m);
	for (i = 0; i < s->n_files; ++i)
		files[i] = get_file(s->files[i]);
	return 0;
}

/*
 * Builds the message for @peer in its pool; @dst (NULL for the seed) is a
 * reference the message takes over, or that is dropped on failure.
 */
static int bus1_send_build(struct bus1_send *s, struct bus1_peer *peer,
			   struct bus1_handle *dst, struct bus1_message **out)
{
	struct bus1_message *m;
	int r;

	r = bus1_pool_ensure(&peer->pool);
	if (r)
		goto err_dst;
	m = bus1_message_new(peer, s->n_handles, s->n_files);
	if (!m) {
		r = -ENOMEM;
		goto err_dst;
	}
	*out = m;
	m->dst = dst;
	m->n_bytes = s->n_bytes;

	m->charge_bytes = s->slice_size;
	r = bus1_send_charge(s, peer, m);
	if (r)
		return r;

	if (s->n_bytes) {
		if (s->bounced) {
			/* a further destination of a short multicast: RECV copies */
			refcount_inc(&s->payload->ref);
			m->payload = s->payload;
		} else {
			r = bus1_send_write_payload(s, peer, m);
			if (r)
				return r;
		}
	}
	if (s->n_handles || s->n_files) {
		r = bus1_send_build_attachments(s, peer, m);
		if (r)
			return r;
	}
	/* kept until the command ends: dropped messages failed before this */
	if (!s->source)
		s->source = m;
	return 0;

err_dst:
	/* the message owns @dst once it exists; until then, we do */
	bus1_handle_unref(dst);
	return r;
}

/* resolves the node of @h, a handle of the sender, to its owner */
static int bus1_send_resolve(struct bus1_send_dest *d, struct bus1_handle *h)
{
	struct bus1_node *node = h->node;

	if (!bus1_peer_acquire(node->owner))
		return -EHOSTUNREACH;
	d->peer = node->owner;

	spin_lock(&node->lock);
	d->dst = node->destroy_ts ? NULL : node->owner_handle;
	if (d->dst)
		kref_get(&d->dst->ref);
	spin_unlock(&node->lock);
	return d->dst ? 0 : -EHOSTUNREACH;
}

/* builds the message of a resolved destination; it takes @d->dst over */
static int bus1_send_build_dest(struct bus1_send *s, struct bus1_send_dest *d)
{
	struct bus1_handle *dst = d->dst;

	d->dst = NULL;
	return bus1_send_build(s, d->peer, dst, &d->message);
}

/*
 * Destinations listed in ascending ID order (as a sender that keeps its
 * handles sorted lists them) are found by stepping from the previous one to
 * its successor in the ID tree, not by a search from the root each: one
 * walk of the tree for the whole list, like a merge. Any other order, or
 * an ID that is not the next one in the tree, takes the search.
 */
static struct bus1_handle *bus1_send_import_dest(struct bus1_send *s, u64 id,
						 bool *created)
{
	struct bus1_handle *prev = s->prev_dest;
	struct rb_node *rb;

	lockdep_assert_held(&s->peer->lock);
	if (prev && prev->id < id) {
		rb = rb_next(&prev->rb_id);
		if (rb && rb_entry(rb, struct bus1_handle, rb_id)->id == id) {
			*created = false;
			return rb_entry(rb, struct bus1_handle, rb_id);
		}
	}
	return bus1_handle_import(s->peer, id, created);
}

static int bus1_send_prepare_dest(struct bus1_send *s,
				  struct bus1_send_dest *d, u64 id)
{
	struct bus1_handle *h;
	bool created;

	h = bus1_send_import_dest(s, id, &created);
	if (IS_ERR(h))
		return PTR_ERR(h);
	s->prev_dest = h;
	if (created)
		s->created[s->n_created++] = h;
	if (h->send_mark == s->mark)
		return -ENOTUNIQ;
	h->send_mark = s->mark;
	return bus1_send_resolve(d, h);
}

static void bus1_send_drop_dest(struct bus1_send_dest *d)
{
	if (d->message) {
		bus1_message_free(d->message);
		d->message = NULL;
	}
	bus1_handle_unref(d->dst);
	d->dst = NULL;
	if (d->peer) {
		bus1_peer_release(d->peer);
		d->peer = NULL;
	}
}

static bool bus1_send_error_is_per_destination(int r)
{
	switch (r) {
	case -ENXIO:
	case -ENOTUNIQ:
	case -EHOSTUNREACH:
	case -ESHUTDOWN:
	case -EDQUOT:
	case -EXFULL:
	case -EMSGSIZE:
	case -ENOMEM:
		return true;
	default:
		return false;
	}
}

/*
 * After the first message of a multicast, the other destinations on the
 * same user are charged to that user at once; each of their peers is then
 * charged alone (quota.rst, "Multicast charges"). One try per command:
 * the count walks the destinations.
 */
static noinline void bus1_send_reserve(struct bus1_send *s, size_t i)
{
	struct bus1_message *m = s->dests[i].message;
	struct bus1_user *user = s->dests[i].peer->user;
	u32 charge[BUS1_RES_N];
	unsigned int n = 0;
	size_t j;

	s->resv_tried = true;
	if (!m->share)
		return;
	for (j = i + 1; j < s->n_dests; ++j)
		if (s->dests[j].peer && s->dests[j].peer->user == user)
			++n;
	/* a reservation for one message would only add work */
	if (n > 1) {
		bus1_message_charge(m, BUS1_MESSAGE_IN_FLIGHT, charge);
		bus1_quota_reserve(&s->resv, user, m->share->user_share,
				   charge, n);
	}
}

/* under SEND_FLAG_CONTINUE, records the error of a destination and drops it */
static int bus1_send_dest_error(struct bus1_send *s, struct bus1_send_dest *d,
				int r)
{
	if (!(s->param.flags & BUS1_SEND_FLAG_CONTINUE) ||
	    !bus1_send_error_is_per_destination(r))
		return r;
	bus1_send_drop_dest(d);
	d->error = -r;
	return 0;
}

/*
 * Collects every destination first (node, owner, active reference), then
 * builds the messages: the charges of one receiving user are known before
 * the first is taken.
 */
static int bus1_send_prepare_dests(struct bus1_send *s)
{
	const u64 __user *ids = u64_to_user_ptr(s->param.ptr_destinations);
	struct bus1_send_dest *d;
	size_t i;
	u64 id;
	int r;

	for (i = 0; i < s->n_dests; ++i) {
		d = &s->dests[i];
		if (get_user(id, ids + i))
			return -EFAULT;
		r = bus1_send_prepare_dest(s, d, id);
		if (r && bus1_send_dest_error(s, d, r))
			return r;
	}
	for (i = 0; i < s->n_dests; ++i) {
		d = &s->dests[i];
		if (d->error)
			continue;
		r = bus1_send_build_dest(s, d);
		if (!r && !s->resv_tried)
			bus1_send_reserve(s, i);
		else if (r && bus1_send_dest_error(s, d, r))
			return r;
	}

	if ((s->param.flags & BUS1_SEND_FLAG_CONTINUE) && s->n_dests) {
		u64 __user *errors = u64_to_user_ptr(s->param.ptr_errors);

		for (i = 0; i < s->n_dests; ++i)
			if (put_user(s->dests[i].error, errors + i))
				return -EFAULT;
	}
	return 0;
}

/*
 * A handle is pinned per destination, and a node whose destruction started
 * meanwhile gives no new pins: decide once for the whole transaction, so
 * that no receiver gets a handle another receiver of the same message is
 * told is INVALID.
 */
static void bus1_send_unify_handles(struct bus1_send *s)
{
	struct bus1_message *m;
	size_t i, j;
	bool dead;

	for (i = 0; i < s->n_handles; ++i) {
		dead = false;
		for (j = 0; j < s->n_dests && !dead; ++j) {
			m = s->dests[j].message;
			dead = m && !bus1_message_handles(m)[i];
		}
		for (j = 0; j < s->n_dests && dead; ++j) {
			m = s->dests[j].message;
			if (!m || !bus1_message_handles(m)[i])
				continue;
			bus1_handle_unpin(bus1_message_handles(m)[i], false);
			bus1_message_handles(m)[i] = NULL;
		}
	}
}

static void bus1_send_strengthen(struct bus1_message *m)
{
	size_t i;

	for (i = 0; i < m->n_handles; ++i)
		if (bus1_message_handles(m)[i])
			bus1_handle_pin_strong(bus1_message_handles(m)[i]);
	m->strong = true;
}

/* a single destination is committed without staging (see tx.c) */
static void bus1_send_commit_unicast(struct bus1_send *s,
				     struct bus1_send_dest *d)
{
	bus1_send_strengthen(d->message);
	bus1_tx_commit_unicast(s->peer, &d->message->qnode, d->peer);
	d->message = NULL;
	d->peer = NULL;
}

static void bus1_send_commit(struct bus1_send *s)
{
	struct bus1_message *m;
	struct bus1_tx tx;
	size_t i;

	s->n_created = 0;
	if (s->n_dests == 1 && s->dests[0].message) {
		bus1_send_commit_unicast(s, &s->dests[0]);
		return;
	}

	/* before staging: the staged entries hold back their queues */
	for (i = 0; i < s->n_dests; ++i)
		if (s->dests[i].message)
			bus1_send_strengthen(s->dests[i].message);
	bus1_tx_init(&tx, s->peer);
	for (i = 0; i < s->n_dests; ++i) {
		m = s->dests[i].message;
		if (!m)
			continue;
		bus1_tx_stage(&tx, &m->qnode, s->dests[i].peer);
		s->dests[i].message = NULL;
		s->dests[i].peer = NULL;
	}
	bus1_tx_commit(&tx);
}

static void bus1_send_set_seed(struct bus1_send *s, struct bus1_message *m)
{
	struct bus1_message *old = s->peer->seed;

	lockdep_assert_held(&s->peer->lock);
	s->n_created = 0;
	bus1_send_strengthen(m);
	s->peer->seed = m;
	if (old)
		bus1_message_free(old);
}

static int bus1_send_run(struct bus1_send *s)
{
	struct bus1_message *seed = NULL;
	int r;

	r = bus1_send_validate(s);
	if (r)
		return r;
	r = bus1_send_import_payload(s);
	if (r)
		return r;
	r = bus1_send_import_handles(s);
	if (r)
		return r;
	r = bus1_send_import_files(s);
	if (r)
		return r;

	if (s->param.flags & BUS1_SEND_FLAG_SEED) {
		if ((s->param.flags & BUS1_SEND_FLAG_CONTINUE) || s->n_dests)
			return -EINVAL;
		r = bus1_send_build(s, s->peer, NULL, &seed);
		if (!r)
			r = bus1_peer_charge(s->peer, BUS1_RES_HANDLES,
					     s->n_created);
		if (r) {
			if (seed)
				bus1_message_free(seed);
			return r;
		}
		trace_bus1_send(s->peer->id, s->param.flags, 0, s->n_bytes,
				s->n_handles, s->n_files);
		bus1_send_set_seed(s, seed);
		return 0;
	}

	r = bus1_send_prepare_dests(s);
	if (r)
		return r;
	if (s->n_handles && s->n_dests > 1)
		bus1_send_unify_handles(s);
	if (s->n_created) {
		r = bus1_peer_charge(s->peer, BUS1_RES_HANDLES, s->n_created);
		if (r)
			return r;
	}

	trace_bus1_send(s->peer->id, s->param.flags, s->n_dests, s->n_bytes,
			s->n_handles, s->n_files);
	bus1_send_commit(s);
	return 0;
}

/**
 * bus1_send_load_param() - copy SEND's argument from user memory
 * @p:		where to store it
 * @u:		user pointer to struct bus1_cmd_send
 *
 * Ten loads instead of copy_from_user() of 80 bytes: 78 instructions of a
 * 0 B unicast (2.4%, Documentation/bus1/performance.rst); a string copy is
 * counted per byte by qemu's icount, and is not much cheaper on real
 * hardware at this size either. Invariant: every field of the struct is
 * loaded; the size check breaks the build when the struct changes.
 *
 * Return: 0 on success, -EFAULT if @u cannot be read.
 */
int bus1_send_load_param(struct bus1_cmd_send *p,
			 const struct bus1_cmd_send __user *u)
{
	BUILD_BUG_ON(sizeof(*p) != 10 * sizeof(u64));
	if (!user_access_begin(u, sizeof(*u)))
		return -EFAULT;
	unsafe_get_user(p->flags, &u->flags, fault);
	unsafe_get_user(p->ptr_destinations, &u->ptr_destinations, fault);
	unsafe_get_user(p->ptr_errors, &u->ptr_errors, fault);
	unsafe_get_user(p->n_destinations, &u->n_destinations, fault);
	unsafe_get_user(p->ptr_vecs, &u->ptr_vecs, fault);
	unsafe_get_user(p->n_vecs, &u->n_vecs, fault);
	unsafe_get_user(p->ptr_handles, &u->ptr_handles, fault);
	unsafe_get_user(p->n_handles, &u->n_handles, fault);
	unsafe_get_user(p->ptr_fds, &u->ptr_fds, fault);
	unsafe_get_user(p->n_fds, &u->n_fds, fault);
	user_access_end();
	return 0;

fault:
	user_access_end();
	return -EFAULT;
}

/* the command as a whole; on failure, everything it touched is unwound */
static int bus1_send_general(struct bus1_send *s)
{
	size_t i;
	int r;

	s->mark = ++s->peer->mark_seq;
	s->handles = NULL;
	s->n_handles = 0;
	s->files = NULL;
	s->n_files = 0;
	s->created = NULL;
	s->n_created = 0;
	s->dests = NULL;
	s->n_dests = 0;
	s->source = NULL;
	s->bounced = false;
	s->payload = NULL;
	s->resv.n = 0;
	s->resv_tried = false;
	s->prev_dest = NULL;
	r = bus1_send_run(s);
	bus1_quota_unreserve(&s->resv);
	bus1_payload_put(s->payload);

	/* a successful commit took every destination over */
	for (i = 0; r && s->dests && i < s->n_dests; ++i)
		bus1_send_drop_dest(&s->dests[i]);
	for (i = s->n_created; i-- > 0; )
		bus1_handle_forget(s->peer, s->created[i]);
	for (i = 0; i < s->n_files; ++i)
		fput(s->files[i]);
	if (s->iov != s->iov_stack)
		kfree(s->iov);
	bus1_send_array_free(s->files, s->files_stack);
	bus1_send_array_free(s->dests, s->dests_stack);
	bus1_send_array_free(s->created, s->created_stack);
	bus1_send_array_free(s->handles, s->handles_stack);
	return r;
}

/*
 * The common message: one destination the sender already holds a handle
 * to, no handles, no files, no flags, at most one vector. It checks and
 * fails in the same order as bus1_send_run() and needs none of the arrays,
 * so the only thing to unwind is the destination.
 */
static bool bus1_send_is_plain_unicast(const struct bus1_send *s)
{
	const struct bus1_cmd_send *p = &s->param;

	return !p->flags && p->n_destinations == 1 && !p->n_handles &&
	       !p->n_fds && p->n_vecs <= 1 &&
	       s->peer->user->quota.max[BUS1_RES_HANDLES] >= 1;
}

static int bus1_send_plain_unicast(struct bus1_send *s)
{
	const u64 __user *ids = u64_to_user_ptr(s->param.ptr_destinations);
	struct bus1_send_dest d = {};
	struct bus1_handle *h;
	u64 id;
	int r;

	s->n_handles = 0;
	s->n_files = 0;
	s->n_dests = 1;
	s->slice_size = 0;
	r = bus1_send_import_payload(s);
	if (r)
		return r;
	if (get_user(id, ids))
		return -EFAULT;
	h = bus1_handle_find(s->peer, id);
	if (!h)
		/* a node to create on demand, or an error: not common */
		return bus1_send_general(s);

	r = bus1_send_resolve(&d, h);
	if (!r)
		r = bus1_send_build_dest(s, &d);
	if (r) {
		bus1_send_drop_dest(&d);
		return r;
	}
	trace_bus1_send(s->peer->id, 0, 1, s->n_bytes, 0, 0);
	bus1_send_commit_unicast(s, &d);
	return 0;
}

/**
 * bus1_cmd_send() - BUS1_CMD_SEND
 * @peer:	calling peer, active reference and local lock held
 * @arg:	user pointer to struct bus1_cmd_send
 *
 * Return: 0 on success, negative error code on failure; on failure nothing
 * was delivered and every node created on demand is forgotten again.
 */
int bus1_cmd_send(struct bus1_peer *peer, unsigned long arg)
{
	/*
	 * Not zeroed by CONFIG_INIT_STACK_ALL_ZERO either: clearing it (512
	 * bytes then) cost 86 instructions of a 0 B unicast (2.7%,
	 * Documentation/bus1/performance.rst). Invariant: every path sets a
	 * field before it reads it. KASAN kernels (make check-debug) poison
	 * the frame instead, so a field read unset is a wild pointer there.
	 */
	struct bus1_send s __uninitialized;

	bus1_debug_poison(&s, sizeof(s));
	lockdep_assert_held(&peer->lock);
	if (bus1_send_load_param(&s.param, (void __user *)arg))
		return -EFAULT;

	/* no blanket memset: only what the unwinding looks at */
	s.peer = peer;
	s.iov = s.iov_stack;
	s.source = NULL;
	s.bounced = false;
	s.resv.n = 0;
	if (bus1_send_is_plain_unicast(&s))
		return bus1_send_plain_unicast(&s);
	return bus1_send_general(&s);
}
