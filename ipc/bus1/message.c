// SPDX-License-Identifier: GPL-2.0
/*
 * Messages: SEND, RECV, SLICE_RELEASE and the seed.
 *
 * SEND runs in two phases. The first imports and validates everything and
 * builds one message per destination right in the destination's pool:
 * charges, slice, payload (read once from the sender's memory, into the
 * first receiver's pages; the others copy from there), pinned
 * receiver-side handles and file references. None
 * of it is visible. The second phase cannot fail: it turns the pins strong
 * and commits all messages as one transaction (tx.c).
 */

#include <linux/compat.h>
#include <linux/err.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/major.h>
#include <linux/net.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <linux/bus1.h>
#include "compat.h"
#include "handle.h"
#include "message.h"
#include "peer.h"
#include "trace.h"
#include "tx.h"

/**
 * struct bus1_send_dest - one destination of a SEND
 * @handle:	sender's handle of the destination node (borrowed)
 * @peer:	owner of the node, active reference held while set
 * @message:	message built for it
 * @error:	positive errno absorbed under SEND_FLAG_CONTINUE
 */
struct bus1_send_dest {
	struct bus1_handle *handle;
	struct bus1_peer *peer;
	struct bus1_message *message;
	u64 error;
};

/**
 * struct bus1_send - state of one SEND command (on the caller's stack)
 * @peer:	sending peer
 * @param:	the command as copied from userspace
 * @iov_stack:	inline iovecs for small vectors
 * @iov:	iovecs of the payload
 * @iter:	payload iterator, copied for every destination
 * @n_bytes:	payload size
 * @slice_size:	slice size of every message
 * @handles:	sender's handles to attach (borrowed)
 * @n_handles:	number of entries in @handles
 * @files:	files to attach, referenced
 * @n_files:	number of entries in @files
 * @created:	owner handles of nodes created by this command
 * @n_created:	number of entries in @created
 * @dests:	destinations
 * @n_dests:	number of entries in @dests
 * @mark:	duplicate-destination mark of this command
 * @source:	first message built with the payload, which the others copy
 *		(a multicast reads the sender's memory once)
 * @dests_stack: inline storage for small multicasts
 * @handles_stack: inline storage for few handles
 * @created_stack: inline storage for few created nodes
 * @files_stack: inline storage for few files
 *
 * The common small commands run without a single temporary allocation.
 */
struct bus1_send {
	struct bus1_peer *peer;
	struct bus1_cmd_send param;
	struct iovec iov_stack[UIO_FASTIOV];
	struct iovec *iov;
	struct iov_iter iter;
	size_t n_bytes;
	size_t slice_size;
	struct bus1_handle **handles;
	size_t n_handles;
	struct file **files;
	size_t n_files;
	struct bus1_handle **created;
	size_t n_created;
	struct bus1_send_dest *dests;
	size_t n_dests;
	u64 mark;
	struct bus1_message *source;
	struct bus1_send_dest dests_stack[2];
	struct bus1_handle *handles_stack[4];
	struct bus1_handle *created_stack[4];
	struct file *files_stack[4];
};

/* storage for @n elements: inline if it fits, allocated otherwise */
static void *bus1_send_array(void *stack, size_t n_stack, size_t n,
			     size_t size)
{
	if (n <= n_stack)
		return stack;
	return kvmalloc_array(n, size, GFP_KERNEL_ACCOUNT);
}

static void bus1_send_array_free(void *array, void *stack)
{
	if (array != stack)
		kvfree(array);
}

static struct kmem_cache *bus1_message_cache;

static size_t bus1_a8(size_t x)
{
	return ALIGN(x, 8);
}

static struct bus1_message *bus1_message_new(struct bus1_peer *peer,
					     size_t n_handles, size_t n_files)
{
	struct bus1_message *m;
	size_t size;

	/*
	 * Most messages carry neither handles nor files: they come from an
	 * exact-size cache, and each peer keeps the last one it freed. Every
	 * field is set below, so neither needs zeroing; the arrays do.
	 */
	if (!n_handles && !n_files) {
		m = xchg(&peer->message_spare, NULL);
		if (!m)
			m = kmem_cache_alloc(bus1_message_cache,
					     GFP_KERNEL_ACCOUNT);
	} else {
		size = sizeof(*m) + (n_handles + n_files) * sizeof(void *);
		m = kzalloc(size, GFP_KERNEL_ACCOUNT);
	}
	if (!m)
		return NULL;
	bus1_queue_node_init(&m->qnode, BUS1_MSG_DATA);
	INIT_LIST_HEAD(&m->slice.link);
	RB_CLEAR_NODE(&m->slice.rb_gap);
	RB_CLEAR_NODE(&m->slice.rb_published);
	m->slice.offset = 0;
	m->slice.size = 0;
	m->slice.gap = 0;
	m->peer = peer;
	m->dst = NULL;
	memset(m->charge, 0, sizeof(m->charge));
	m->share = NULL;
	m->strong = false;
	m->n_bytes = 0;
	m->n_handles = n_handles;
	m->n_files = n_files;
	return m;
}

/* returns the handle pins and files a message still holds */
static void bus1_message_put_attachments(struct bus1_message *m)
{
	size_t i;

	/* most messages carry neither: no loop setup (measured, ~18 each) */
	if (!m->n_handles && !m->n_files)
		return;
	for (i = 0; i < m->n_handles; ++i)
		if (bus1_message_handles(m)[i])
			bus1_handle_unpin(bus1_message_handles(m)[i], m->strong);
	for (i = 0; i < m->n_files; ++i)
		if (bus1_message_files(m)[i])
			fput(bus1_message_files(m)[i]);
}

/* returns the slice and the charges; the receiver's data lock is held */
static void bus1_message_unaccount(struct bus1_message *m)
{
	struct bus1_peer *peer = m->peer;

	lockdep_assert_held(&peer->data_lock);
	if (!list_empty(&m->slice.link))
		bus1_pool_free(&peer->pool, &m->slice);
	bus1_quota_settle(&peer->quota, peer->user, m->share, m->charge,
			  m->charge);
}

static void bus1_message_dealloc(struct bus1_message *m)
{
	struct bus1_handle *dst = m->dst;

	if (m->n_handles || m->n_files)
		kfree(m);
	else if (cmpxchg(&m->peer->message_spare, NULL, m))
		kmem_cache_free(bus1_message_cache, m);
	/* last: it may hold the last reference to the peer touched above */
	bus1_handle_unref(dst);
}

/**
 * bus1_message_free() - free a message that no queue or pool tree links
 * @m:		message: unreceived (discarded), or received and unpublished
 *
 * Returns whatever the message still holds: handle pins, files, its slice
 * and its charges.
 */
void bus1_message_free(struct bus1_message *m)
{
	struct bus1_peer *peer = m->peer;

	bus1_message_put_attachments(m);
	spin_lock(&peer->data_lock);
	bus1_message_unaccount(m);
	spin_unlock(&peer->data_lock);
	bus1_message_dealloc(m);
}

/**
 * bus1_message_free_spare() - free the message a peer keeps for reuse
 * @peer:	peer that is going away
 */
void bus1_message_free_spare(struct bus1_peer *peer)
{
	struct bus1_message *m = xchg(&peer->message_spare, NULL);

	if (m)
		kmem_cache_free(bus1_message_cache, m);
}

/**
 * bus1_message_pins_node() - check whether a message carries a handle
 * @message:	message to search
 * @handle:	handle to look for
 *
 * Return: true if @handle is among the message's attached handles.
 */
bool bus1_message_pins_node(struct bus1_message *message,
			    struct bus1_handle *handle)
{
	size_t i;

	for (i = 0; i < message->n_handles; ++i)
		if (bus1_message_handles(message)[i] == handle)
			return true;
	return false;
}

static int bus1_send_import_iovecs(struct bus1_send *s)
{
	void __user *uvecs = u64_to_user_ptr(s->param.ptr_vecs);
	size_t i, n = s->param.n_vecs, total = 0;
	struct iovec *iov = s->iov_stack;

	if (n > UIO_FASTIOV) {
		iov = kmalloc_array(n, sizeof(*iov), GFP_KERNEL_ACCOUNT);
		if (!iov)
			return -ENOMEM;
	}
	s->iov = iov;

	if (in_compat_syscall()) {
		struct compat_iovec __user *cvecs = uvecs;
		struct compat_iovec cv;

		for (i = 0; i < n; ++i) {
			if (copy_from_user(&cv, cvecs + i, sizeof(cv)))
				return -EFAULT;
			iov[i].iov_base = compat_ptr(cv.iov_base);
			iov[i].iov_len = cv.iov_len;
		}
	} else if (n == 1) {
		/* the common case, with a size known at compile time */
		if (copy_from_user(iov, uvecs, sizeof(*iov)))
			return -EFAULT;
	} else if (copy_from_user(iov, uvecs, n * sizeof(*iov))) {
		return -EFAULT;
	}

	for (i = 0; i < n; ++i) {
		if ((ssize_t)iov[i].iov_len < 0)
			return -EMSGSIZE;
		if (!access_ok(iov[i].iov_base, iov[i].iov_len))
			return -EFAULT;
		if (check_add_overflow(total, iov[i].iov_len, &total) ||
		    total > MAX_RW_COUNT)
			return -EMSGSIZE;
	}

	if (n == 1)
		/* cheaper to walk than a one-segment ITER_IOVEC */
		iov_iter_ubuf(&s->iter, ITER_SOURCE, iov->iov_base, total);
	else
		iov_iter_init(&s->iter, ITER_SOURCE, iov, n, total);
	s->n_bytes = total;
	return 0;
}

/* an empty payload, common for signals, costs no call and no frame */
static int bus1_send_import_vecs(struct bus1_send *s)
{
	if (!s->param.n_vecs) {
		/* @iter is read only for a non-empty payload */
		s->n_bytes = 0;
		return 0;
	}
	return bus1_send_import_iovecs(s);
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

static int bus1_send_import_handles(struct bus1_send *s)
{
	const u64 __user *ids = u64_to_user_ptr(s->param.ptr_handles);
	struct bus1_handle *h;
	bool created;
	size_t i;
	u64 id;

	for (i = 0; i < s->n_handles; ++i) {
		if (get_user(id, ids + i))
			return -EFAULT;
		h = bus1_handle_import(s->peer, id, &created);
		if (IS_ERR(h))
			return PTR_ERR(h);
		if (created)
			s->created[s->n_created++] = h;
		s->handles[i] = h;
	}
	return 0;
}

/*
 * A message holds references to the files it carries. A file that can
 * itself hold file references (an io_uring with registered files, an
 * AF_UNIX socket with queued SCM_RIGHTS, a bus1 peer with queued messages,
 * a binder or vhost device, ...) could end up holding the very peer the
 * message is queued on, a cycle nothing ever breaks. So only kinds known
 * to hold no file references pass, by what fstat() reports (bus1(7),
 * "PASSING FILES"): O_PATH descriptors (a path, no file), regular files,
 * directories, FIFOs and pipes, the memory devices (/dev/null, ...),
 * terminals, eventfds, and IPv4/IPv6 sockets.
 */
static bool bus1_file_is_passable(struct file *f)
{
	struct inode *inode = file_inode(f);
	struct eventfd_ctx *ev;
	struct socket *sock;
	unsigned int major;

	if (f->f_mode & FMODE_PATH)
		return true;
	switch (inode->i_mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFIFO:
		return true;
	case S_IFCHR:
		major = imajor(inode);
		return major == MEM_MAJOR || major == TTY_MAJOR ||
		       major == TTYAUX_MAJOR ||
		       (major >= UNIX98_PTY_MASTER_MAJOR &&
			major < UNIX98_PTY_SLAVE_MAJOR + UNIX98_PTY_MAJOR_COUNT);
	case S_IFSOCK:
		sock = sock_from_file(f);
		return sock && sock->sk && (sock->sk->sk_family == AF_INET ||
					    sock->sk->sk_family == AF_INET6);
	case 0:
		/* anonymous inodes have no type; of them, eventfds pass */
		ev = eventfd_ctx_fileget(f);
		if (IS_ERR(ev))
			return false;
		eventfd_ctx_put(ev);
		return true;
	default:
		return false;
	}
}

static int bus1_send_import_files(struct bus1_send *s)
{
	const int __user *fds = u64_to_user_ptr(s->param.ptr_fds);
	struct file *f;
	size_t i;
	int fd;

	for (i = 0; i < s->param.n_fds; ++i) {
		if (get_user(fd, fds + i))
			return -EFAULT;
		if (fd < 0)
			return -EBADF;
		f = fget_raw(fd);
		if (!f)
			return -EBADF;
		s->files[s->n_files++] = f;
		if (!bus1_file_is_passable(f))
			return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Charges a message to its receiver and places it in the receiver's pool.
 * The seed is the peer's own business and counts against no sender share.
 * A sender's first message to a receiver creates its share records.
 */
static int bus1_send_charge(struct bus1_peer *peer, struct bus1_message *m,
			    kuid_t sender, size_t size)
{
	bool charged = false;
	int r;

	for (;;) {
		spin_lock(&peer->data_lock);
		if (m->dst)
			r = bus1_quota_charge_shared(&peer->quota, peer->user,
						     sender, m->charge,
						     &m->share);
		else
			r = bus1_quota_charge(&peer->quota, peer->user,
					      m->charge);
		if (!r) {
			charged = true;
			r = bus1_pool_alloc(&peer->pool, &m->slice, size);
			if (r)
				INIT_LIST_HEAD(&m->slice.link);
		}
		spin_unlock(&peer->data_lock);
		if (r != -ENOENT)
			break;
		r = bus1_quota_prepare(&peer->quota, peer->user, sender);
		if (r)
			break;
	}

	if (r == -EDQUOT)
		trace_bus1_quota_refusal(peer->id, __kuid_val(sender),
					 m->charge[BUS1_RES_SLICES],
					 m->charge[BUS1_RES_HANDLES],
					 m->charge[BUS1_RES_BYTES],
					 m->charge[BUS1_RES_FDS]);
	/* a failed pool allocation leaves the charge to bus1_message_free() */
	if (!charged)
		memset(m->charge, 0, sizeof(m->charge));
	return r;
}

/*
 * The first destination reads the payload from the start, with a copy of
 * the iterator. Out of line, so that an empty message does not pay for the
 * iterator's stack slot.
 */
static noinline int bus1_send_write_payload(struct bus1_send *s,
					    struct bus1_peer *peer,
					    struct bus1_message *m)
{
	struct iov_iter iter = s->iter;

	/*
	 * Every receiver of one message sees the same bytes, whatever the
	 * sender's threads write meanwhile: user memory is read once, the
	 * other destinations copy from the first one's pool.
	 */
	if (s->source)
		return bus1_pool_copy(&peer->pool, &m->slice,
				      &s->source->peer->pool,
				      &s->source->slice, s->n_bytes);
	return bus1_pool_write_iter(&peer->pool, &m->slice, 0, &iter,
				    s->n_bytes);
}

/*
 * Builds the message for @peer in its pool; @dst (NULL for the seed) is a
 * reference the message takes over, or that is dropped on failure.
 */
static int bus1_send_build(struct bus1_send *s, struct bus1_peer *peer,
			   struct bus1_handle *dst, struct bus1_message **out)
{
	size_t arrays = s->slice_size - bus1_a8(s->n_bytes);
	struct bus1_handle **handles, *h;
	struct bus1_message *m;
	struct file **files;
	size_t i;
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

	m->charge[BUS1_RES_SLICES] = 1;
	m->charge[BUS1_RES_HANDLES] = s->n_handles;
	m->charge[BUS1_RES_BYTES] = s->slice_size;
	m->charge[BUS1_RES_FDS] = s->n_files;
	r = bus1_send_charge(peer, m, s->peer->user->uid, s->slice_size);
	if (r)
		return r;

	if (s->n_bytes) {
		r = bus1_send_write_payload(s, peer, m);
		if (r)
			return r;
	}
	/*
	 * Arrays are written at RECV; never expose stale pool content there.
	 * The padding of a message without arrays is unspecified.
	 */
	if (arrays && (s->n_handles || s->n_files)) {
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
	/* kept until the command ends: dropped messages failed before this */
	if (!s->source)
		s->source = m;
	return 0;

err_dst:
	/* the message owns @dst once it exists; until then, we do */
	bus1_handle_unref(dst);
	return r;
}

/* builds the message for the node of @h, a handle of the sender */
static int bus1_send_build_for(struct bus1_send *s, struct bus1_send_dest *d,
			       struct bus1_handle *h)
{
	struct bus1_node *node = h->node;
	struct bus1_handle *dst;

	d->handle = h;
	if (!bus1_peer_acquire(node->owner))
		return -EHOSTUNREACH;
	d->peer = node->owner;

	spin_lock(&node->lock);
	dst = node->destroy_ts ? NULL : node->owner_handle;
	if (dst)
		kref_get(&dst->ref);
	spin_unlock(&node->lock);
	if (!dst)
		return -EHOSTUNREACH;

	return bus1_send_build(s, d->peer, dst, &d->message);
}

static int bus1_send_prepare_dest(struct bus1_send *s,
				  struct bus1_send_dest *d, u64 id)
{
	struct bus1_handle *h;
	bool created;

	h = bus1_handle_import(s->peer, id, &created);
	if (IS_ERR(h))
		return PTR_ERR(h);
	if (created)
		s->created[s->n_created++] = h;
	if (h->send_mark == s->mark)
		return -ENOTUNIQ;
	h->send_mark = s->mark;
	return bus1_send_build_for(s, d, h);
}

static void bus1_send_drop_dest(struct bus1_send_dest *d)
{
	if (d->message) {
		bus1_message_free(d->message);
		d->message = NULL;
	}
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

static int bus1_send_prepare_dests(struct bus1_send *s)
{
	const u64 __user *ids = u64_to_user_ptr(s->param.ptr_destinations);
	bool cont = s->param.flags & BUS1_SEND_FLAG_CONTINUE;
	struct bus1_send_dest *d;
	size_t i;
	u64 id;
	int r;

	for (i = 0; i < s->n_dests; ++i) {
		d = &s->dests[i];
		if (get_user(id, ids + i))
			return -EFAULT;
		r = bus1_send_prepare_dest(s, d, id);
		if (!r)
			continue;
		if (!cont || !bus1_send_error_is_per_destination(r))
			return r;
		bus1_send_drop_dest(d);
		d->error = -r;
	}

	if (cont && s->n_dests) {
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

static int bus1_send_validate(struct bus1_send *s)
{
	struct bus1_cmd_send *p = &s->param;
	size_t size;

	if (p->flags & ~(BUS1_SEND_FLAG_CONTINUE | BUS1_SEND_FLAG_SEED))
		return -EINVAL;
	if (p->n_destinations > INT_MAX || p->n_vecs > UIO_MAXIOV ||
	    p->n_fds > BUS1_FD_MAX || p->n_handles > INT_MAX)
		return -EMSGSIZE;
	if (p->ptr_destinations != (u64)(unsigned long)p->ptr_destinations ||
	    p->ptr_errors != (u64)(unsigned long)p->ptr_errors ||
	    p->ptr_vecs != (u64)(unsigned long)p->ptr_vecs ||
	    p->ptr_handles != (u64)(unsigned long)p->ptr_handles ||
	    p->ptr_fds != (u64)(unsigned long)p->ptr_fds)
		return -EFAULT;
	if (p->n_destinations > s->peer->user->quota.max[BUS1_RES_HANDLES] ||
	    p->n_handles > s->peer->user->quota.max[BUS1_RES_HANDLES])
		return -EINVAL;
	/* bounds how long the commit holds back each destination queue */
	if (p->n_destinations > BUS1_DESTINATION_MAX)
		return -EMSGSIZE;

	s->n_dests = p->n_destinations;
	s->n_handles = p->n_handles;
	s->handles = bus1_send_array(s->handles_stack,
				     ARRAY_SIZE(s->handles_stack),
				     s->n_handles, sizeof(*s->handles));
	s->created = bus1_send_array(s->created_stack,
				     ARRAY_SIZE(s->created_stack),
				     s->n_handles + s->n_dests,
				     sizeof(*s->created));
	s->dests = bus1_send_array(s->dests_stack, ARRAY_SIZE(s->dests_stack),
				   s->n_dests, sizeof(*s->dests));
	/*
	 * The other arrays are filled before they are read; every entry of
	 * this one is unwound, even if an allocation below fails. (A memset
	 * of constant size is a few stores, not a call.)
	 */
	if (s->dests == s->dests_stack)
		memset(s->dests_stack, 0, sizeof(s->dests_stack));
	else if (s->dests)
		memset(s->dests, 0, s->n_dests * sizeof(*s->dests));
	s->files = bus1_send_array(s->files_stack, ARRAY_SIZE(s->files_stack),
				   p->n_fds, sizeof(*s->files));
	if (!s->handles || !s->created || !s->dests || !s->files)
		return -ENOMEM;

	size = 0;
	if (check_add_overflow(size, bus1_a8(8 * s->n_handles), &size) ||
	    check_add_overflow(size, bus1_a8(4 * (size_t)p->n_fds), &size))
		return -EMSGSIZE;
	s->slice_size = size;
	return 0;
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

/*
 * Ten loads instead of a byte-wise copy of 80 bytes: SEND is the hot path.
 * (A string copy is counted per byte by qemu's icount, and is not much
 * cheaper on real hardware at this size either.)
 */
static int bus1_send_load_param(struct bus1_cmd_send *p,
				const struct bus1_cmd_send __user *u)
{
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
	r = bus1_send_run(s);

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

	r = bus1_send_build_for(s, &d, h);
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
	/* not zeroed by CONFIG_INIT_STACK_ALL_ZERO either: 512 bytes */
	struct bus1_send s __uninitialized;

	lockdep_assert_held(&peer->lock);
	if (bus1_send_load_param(&s.param, (void __user *)arg))
		return -EFAULT;

	/* no blanket memset: only what the unwinding looks at */
	s.peer = peer;
	s.iov = s.iov_stack;
	s.source = NULL;
	if (bus1_send_is_plain_unicast(&s))
		return bus1_send_plain_unicast(&s);
	return bus1_send_general(&s);
}

/**
 * bus1_send_fault_in() - fault in the user memory a SEND touches
 * @arg:	user pointer to struct bus1_cmd_send
 *
 * For a SEND that failed with -EFAULT under disabled page faults; called
 * with no lock and no active reference held (see bus1_peer_ioctl()).
 *
 * Return: 0 if it is resident now, negative error code otherwise.
 */
int bus1_send_fault_in(unsigned long arg)
{
	struct bus1_send s __uninitialized;
	struct bus1_cmd_send *p = &s.param;
	int r;

	if (bus1_send_load_param(p, (void __user *)arg))
		return -EFAULT;
	if (p->n_vecs > UIO_MAXIOV)
		return -EMSGSIZE;
	if (p->ptr_vecs != (u64)(unsigned long)p->ptr_vecs)
		return -EFAULT;
	s.iov = s.iov_stack;
	r = bus1_send_import_vecs(&s);
	if (!r && s.n_bytes && fault_in_iov_iter_readable(&s.iter, s.n_bytes))
		r = -EFAULT;
	if (s.iov != s.iov_stack)
		kfree(s.iov);
	if (!r)
		r = bus1_fault_in_user(p->ptr_destinations, p->n_destinations,
				       sizeof(u64), false);
	if (!r && (p->flags & BUS1_SEND_FLAG_CONTINUE))
		r = bus1_fault_in_user(p->ptr_errors, p->n_destinations,
				       sizeof(u64), true);
	if (!r)
		r = bus1_fault_in_user(p->ptr_handles, p->n_handles,
				       sizeof(u64), false);
	if (!r)
		r = bus1_fault_in_user(p->ptr_fds, p->n_fds, sizeof(int),
				       false);
	return r;
}

/*
 * Only msg is output; flags and max_offset go back to userspace unchanged.
 * Inlined: every RECV stores once, and the call would cost half as much as
 * the stores.
 */
static __always_inline int
bus1_recv_store(struct bus1_cmd_recv __user *uparam,
		const struct bus1_cmd_recv *param)
{
	/* seven stores instead of a byte-wise copy (see bus1_send_load_param) */
	if (!user_access_begin(&uparam->msg, sizeof(uparam->msg)))
		return -EFAULT;
	unsafe_put_user(param->msg.type, &uparam->msg.type, fault);
	unsafe_put_user(param->msg.flags, &uparam->msg.flags, fault);
	unsafe_put_user(param->msg.destination, &uparam->msg.destination,
			fault);
	unsafe_put_user(param->msg.offset, &uparam->msg.offset, fault);
	unsafe_put_user(param->msg.n_bytes, &uparam->msg.n_bytes, fault);
	unsafe_put_user(param->msg.n_handles, &uparam->msg.n_handles, fault);
	unsafe_put_user(param->msg.n_fds, &uparam->msg.n_fds, fault);
	user_access_end();
	return 0;

fault:
	user_access_end();
	return -EFAULT;
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
 */
static struct bus1_handle *bus1_recv_take(struct bus1_peer *peer,
					  struct bus1_message *m, bool seed,
					  u32 n_invalid)
{
	struct bus1_handle *dst = m->dst;
	u32 charge[BUS1_RES_N];

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
	charge[BUS1_RES_SLICES] = 0;
	charge[BUS1_RES_HANDLES] = n_invalid;
	charge[BUS1_RES_BYTES] = m->charge[BUS1_RES_BYTES];
	charge[BUS1_RES_FDS] = m->charge[BUS1_RES_FDS];
	bus1_quota_settle(&peer->quota, peer->user, m->share, m->charge,
			  charge);
	m->share = NULL;
	m->charge[BUS1_RES_HANDLES] = 0;
	m->charge[BUS1_RES_BYTES] = 0;
	m->charge[BUS1_RES_FDS] = 0;
	return dst;
}

/*
 * Delivers a data message (queued head or seed). Everything that can fail
 * happens before the first visible effect, including the allocation of the
 * pool pages the handle IDs and fd numbers go to; on failure the message
 * stays where it is.
 */
static int bus1_recv_data(struct bus1_peer *peer, struct bus1_message *m,
			  struct bus1_cmd_recv *param,
			  struct bus1_cmd_recv __user *uparam, bool seed,
			  bool continues)
{
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
	fds = (int *)(ids + m->n_handles);
	if (n_fds) {
		r = bus1_recv_install_prepare(n_fds, fds);
		if (r)
			goto exit_pin;
	}

	bus1_recv_describe(param, m, seed, continues, n_fds);
	trace_bus1_recv(peer->id, BUS1_MSG_DATA, param->msg.destination,
			param->msg.offset, m->n_bytes, m->n_handles, n_fds);
	r = bus1_recv_store(uparam, param);
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
	dst = bus1_recv_take(peer, m, seed, n_invalid);
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

static int bus1_recv_notification(struct bus1_peer *peer,
				  struct bus1_cmd_recv *param,
				  struct bus1_cmd_recv __user *uparam,
				  unsigned int type, u64 id, bool continues)
{
	param->msg.type = type;
	param->msg.flags = continues ? BUS1_MSG_FLAG_CONTINUE : 0;
	param->msg.destination = id;
	param->msg.offset = BUS1_OFFSET_INVALID;
	param->msg.n_bytes = 0;
	param->msg.n_handles = 0;
	param->msg.n_fds = 0;
	trace_bus1_recv(peer->id, type, id, BUS1_OFFSET_INVALID, 0, 0, 0);
	return bus1_recv_store(uparam, param);
}

/* a NODE_RELEASE can be withdrawn by others: dequeue it under node lock */
static int bus1_recv_release(struct bus1_peer *peer,
			     struct bus1_queue_node *qnode,
			     struct bus1_cmd_recv *param,
			     struct bus1_cmd_recv __user *uparam)
{
	struct bus1_node *node = container_of(qnode, struct bus1_node,
					      qrelease);
	bool stale, continues;
	u64 id = 0;

	/* fail before dequeuing if the result cannot be stored */
	if (bus1_recv_store(uparam, param))
		return -EFAULT;

	spin_lock(&node->lock);
	spin_lock(&peer->data_lock);
	if (bus1_queue_peek(&peer->queue, &continues) != qnode) {
		spin_unlock(&peer->data_lock);
		spin_unlock(&node->lock);
		return -EAGAIN;
	}
	stale = bus1_queue_node_is_stale(&peer->queue, qnode) ||
		!node->owner_handle;
	bus1_queue_dequeue(&peer->queue, qnode);
	spin_unlock(&peer->data_lock);
	if (!stale)
		id = node->owner_handle->id;
	spin_unlock(&node->lock);

	if (stale)
		return -EAGAIN;
	return bus1_recv_notification(peer, param, uparam,
				      BUS1_MSG_NODE_RELEASE,
				      id, continues);
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

/**
 * bus1_message_free_entry() - drop a queue entry that was unlinked
 * @qnode:	entry no queue links anymore
 *
 * A data message is freed, a NODE_DESTROY drops its handle reference; a
 * NODE_RELEASE is embedded in its node and owns nothing.
 */
void bus1_message_free_entry(struct bus1_queue_node *qnode)
{
	if (qnode->type == BUS1_MSG_DATA)
		bus1_message_free(container_of(qnode, struct bus1_message,
					       qnode));
	else if (qnode->type == BUS1_MSG_NODE_DESTROY)
		bus1_handle_unref(container_of(qnode, struct bus1_handle,
					       qdestroy));
}

/**
 * bus1_message_peek_live() - discard stale heads and return the next entry
 * @peer:	receiving peer, active reference and local lock held
 * @continues:	set to whether the next entry belongs to the same transaction
 *
 * Data messages and NODE_DESTROY are removed only by the holder under its
 * local lock, which we hold, and nothing can be ordered in front of a ready
 * head. So the returned head stays put while the caller looks at it
 * unlocked; only a NODE_RELEASE can still be withdrawn.
 *
 * Return: the ready head, or NULL if nothing is ready.
 */
struct bus1_queue_node *bus1_message_peek_live(struct bus1_peer *peer,
					       bool *continues)
{
	struct bus1_queue_node *qnode;

	lockdep_assert_held(&peer->lock);
	for (;;) {
		spin_lock(&peer->data_lock);
		qnode = bus1_queue_peek(&peer->queue, continues);
		spin_unlock(&peer->data_lock);
		if (!qnode || !bus1_recv_entry_is_stale(peer, qnode))
			return qnode;

		spin_lock(&peer->data_lock);
		bus1_queue_dequeue(&peer->queue, qnode);
		spin_unlock(&peer->data_lock);
		bus1_message_free_entry(qnode);
	}
}

/**
 * bus1_message_peek_ready() - check for a ready head without the local lock
 * @peer:	receiving peer, active reference and data lock held
 *
 * For poll. The head cannot be freed while the data lock is held, but its
 * staleness is decided under the local lock, which the caller does not
 * hold: the answer is a snapshot, like any poll result.
 *
 * Return: 1 if the head is ready and live, 0 if there is no ready head, -1
 * if the head may be stale (bus1_message_peek_live() decides).
 */
int bus1_message_peek_ready(struct bus1_peer *peer)
{
	struct bus1_queue_node *qnode;

	lockdep_assert_held(&peer->data_lock);
	qnode = bus1_queue_peek(&peer->queue, NULL);
	if (!qnode)
		return 0;
	return bus1_recv_entry_is_stale(peer, qnode) ? -1 : 1;
}

/*
 * The common case in one round of the data lock: a live data message
 * without handles and files at the head is stored to userspace with page
 * faults disabled and dequeued under the same lock. Anything else, or a
 * store that would fault, is left to the general path, which looks again.
 *
 * Return: true if the message was received.
 */
static bool bus1_recv_plain(struct bus1_peer *peer,
			    struct bus1_cmd_recv *param,
			    struct bus1_cmd_recv __user *uparam)
{
	struct bus1_queue_node *qnode;
	struct bus1_handle *dst;
	struct bus1_message *m;
	bool continues;
	int r;

	spin_lock(&peer->data_lock);
	qnode = bus1_queue_peek(&peer->queue, &continues);
	if (!qnode || qnode->type != BUS1_MSG_DATA)
		goto fallback;
	m = container_of(qnode, struct bus1_message, qnode);
	if (m->n_handles || m->n_files ||
	    param->max_offset < (u64)m->slice.offset + m->slice.size ||
	    bus1_recv_entry_is_stale(peer, qnode))
		goto fallback;

	bus1_recv_describe(param, m, false, continues, 0);
	pagefault_disable();
	r = bus1_recv_store(uparam, param);
	pagefault_enable();
	if (r)
		goto fallback;
	dst = bus1_recv_take(peer, m, false, 0);
	spin_unlock(&peer->data_lock);

	trace_bus1_recv(peer->id, BUS1_MSG_DATA, param->msg.destination,
			param->msg.offset, param->msg.n_bytes, 0, 0);
	bus1_handle_unref(dst);
	return true;

fallback:
	spin_unlock(&peer->data_lock);
	return false;
}

static int bus1_recv_queue(struct bus1_peer *peer,
			   struct bus1_cmd_recv *param,
			   struct bus1_cmd_recv __user *uparam)
{
	struct bus1_queue_node *qnode;
	struct bus1_handle *h;
	bool continues;
	int r;

	if (bus1_recv_plain(peer, param, uparam))
		return 0;

	for (;;) {
		qnode = bus1_message_peek_live(peer, &continues);
		if (!qnode)
			return -EAGAIN;

		switch (qnode->type) {
		case BUS1_MSG_NODE_RELEASE:
			r = bus1_recv_release(peer, qnode, param, uparam);
			if (r != -EAGAIN)
				return r;
			break;
		case BUS1_MSG_NODE_DESTROY:
			/* the entry stays queued if the result can't be stored */
			h = container_of(qnode, struct bus1_handle, qdestroy);
			r = bus1_recv_notification(peer, param, uparam,
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
					      param, uparam, false, continues);
		}
	}
}

/*
 * Only flags and max_offset are input. The last word is read as well, so
 * an argument that is not readable as a whole fails with EFAULT before
 * anything happens, as with a full copy (72 bytes span at most two pages).
 * The output starts zeroed: whatever path stores it, no stack content
 * reaches userspace (a constant-size memset is a few stores).
 */
static int bus1_recv_load_param(struct bus1_cmd_recv *p,
				const struct bus1_cmd_recv __user *u)
{
	if (!user_access_begin(u, sizeof(*u)))
		return -EFAULT;
	unsafe_get_user(p->flags, &u->flags, fault);
	unsafe_get_user(p->max_offset, &u->max_offset, fault);
	unsafe_get_user(p->msg.n_fds, &u->msg.n_fds, fault);
	user_access_end();
	memset(&p->msg, 0, sizeof(p->msg));
	return 0;

fault:
	user_access_end();
	return -EFAULT;
}

/**
 * bus1_cmd_recv() - BUS1_CMD_RECV
 * @peer:	calling peer, active reference and local lock held
 * @arg:	user pointer to struct bus1_cmd_recv
 *
 * Return: 0 on success, negative error code on failure.
 */
int bus1_cmd_recv(struct bus1_peer *peer, unsigned long arg)
{
	struct bus1_cmd_recv __user *uparam = (void __user *)arg;
	/* loaded field by field; not auto-zeroed as a whole */
	struct bus1_cmd_recv param __uninitialized;

	lockdep_assert_held(&peer->lock);
	if (bus1_recv_load_param(&param, uparam))
		return -EFAULT;
	if (param.flags & ~(BUS1_RECV_FLAG_SEED | BUS1_RECV_FLAG_INSTALL_FDS))
		return -EINVAL;
	if (param.flags & BUS1_RECV_FLAG_SEED) {
		if (!peer->seed)
			return -EAGAIN;
		return bus1_recv_data(peer, peer->seed, &param, uparam, true,
				      false);
	}
	return bus1_recv_queue(peer, &param, uparam);
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
	struct bus1_pool_slice *slice;
	struct bus1_message *m = NULL;
	u64 offset;

	if (get_user(offset, (u64 __user *)arg))
		return -EFAULT;

	spin_lock(&peer->data_lock);
	slice = bus1_pool_unpublish(&peer->pool, offset);
	if (slice) {
		m = container_of(slice, struct bus1_message, slice);
		bus1_message_unaccount(m);
	}
	spin_unlock(&peer->data_lock);
	if (!m)
		return -ENXIO;

	trace_bus1_slice_release(peer->id, offset, m->slice.size);
	bus1_message_put_attachments(m);
	bus1_message_dealloc(m);
	return 0;
}

/**
 * bus1_message_init_cache() - create the slab cache of plain messages
 *
 * Return: 0 on success, -ENOMEM on failure.
 */
int bus1_message_init_cache(void)
{
	BUILD_BUG_ON(sizeof(struct bus1_message) > 192);
	bus1_message_cache = KMEM_CACHE(bus1_message, SLAB_ACCOUNT);
	return bus1_message_cache ? 0 : -ENOMEM;
}

/**
 * bus1_message_exit_cache() - destroy the slab cache of plain messages
 */
void bus1_message_exit_cache(void)
{
	kmem_cache_destroy(bus1_message_cache);
	bus1_message_cache = NULL;
}
