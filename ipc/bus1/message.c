// SPDX-License-Identifier: GPL-2.0
/*
 * Messages: the message object, from allocation to freeing.
 *
 * A message is one instance of a payload in one receiver's pool. SEND
 * (send.c) allocates it with bus1_message_new() (plain messages come from
 * the peer's spare or a cache), charges it and fills its slice, pins and
 * file references; it is then queued (tx.c), or becomes the seed. RECV
 * (recv.c) publishes its slice and returns what it held in flight;
 * SLICE_RELEASE returns the slice and frees it. A message dropped
 * unreceived (a failed SEND, a stale or flushed queue entry, a replaced
 * seed) is freed with bus1_message_free(). The queue-entry helpers below
 * decide staleness and drop unlinked entries, for RECV, poll and flush.
 */

#include <linux/err.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/major.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <net/sock.h>
#include <linux/bus1.h>
#include "handle.h"
#include "message.h"
#include "peer.h"

static struct kmem_cache *bus1_message_cache;

/**
 * bus1_message_new() - allocate a message for a receiver
 * @peer:	receiving peer
 * @n_handles:	number of handles it will carry
 * @n_files:	number of files it will carry
 *
 * Return: the message, unaccounted and not linked anywhere, or NULL.
 */
struct bus1_message *bus1_message_new(struct bus1_peer *peer,
				      size_t n_handles, size_t n_files)
{
	struct bus1_message *m;
	size_t size;

	/*
	 * Most messages carry neither handles nor files: they come from an
	 * exact-size cache, and each peer keeps the last one it freed. The
	 * spare saves a memcg-charged allocation and free per message: 425
	 * instructions of a 0 B unicast (13%, Documentation/bus1/
	 * performance.rst). Invariants: whoever wins the xchg() owns the
	 * spare; bus1_message_dealloc() touches the peer before dropping the
	 * destination reference that may keep it alive (KASAN in make
	 * check-debug sees the reverse order); the peer frees its spare last.
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
	/* the header only: a spare is not zero, the arrays came zeroed */
	memset(m, 0, sizeof(*m));
	bus1_queue_node_init(&m->qnode, BUS1_MSG_DATA);
	INIT_LIST_HEAD(&m->slice.link);
	RB_CLEAR_NODE(&m->slice.rb_gap);
	RB_CLEAR_NODE(&m->slice.rb_published);
	m->peer = peer;
	m->n_handles = n_handles;
	m->n_files = n_files;
	return m;
}

/**
 * __bus1_message_put_attachments() - return the handle pins and files
 * @m:		message with handles or files
 *
 * The out-of-line half of bus1_message_put_attachments().
 */
void __bus1_message_put_attachments(struct bus1_message *m)
{
	size_t i;

	for (i = 0; i < m->n_handles; ++i)
		if (bus1_message_handles(m)[i])
			bus1_handle_unpin(bus1_message_handles(m)[i], m->strong);
	for (i = 0; i < m->n_files; ++i)
		if (bus1_message_files(m)[i])
			fput(bus1_message_files(m)[i]);
}

/**
 * bus1_message_settle() - return the charges of a message
 * @m:		message whose slice is freed or never was allocated; the
 *		receiver's data lock is held
 */
void bus1_message_settle(struct bus1_message *m)
{
	static const u32 none[BUS1_RES_N];
	struct bus1_peer *peer = m->peer;
	u32 charge[BUS1_RES_N];

	lockdep_assert_held(&peer->data_lock);
	/*
	 * The common case, a release after RECV: the slice alone, out of the
	 * share already. A constant state, so the settle is one counter each
	 * (a round trip 67 instructions less than with the generic settle).
	 */
	if (m->charged == BUS1_MESSAGE_RECEIVED) {
		bus1_message_charge(m, BUS1_MESSAGE_RECEIVED, charge);
		bus1_quota_settle(&peer->quota, peer->user, m->share, none,
				  charge);
		return;
	}
	bus1_message_charge(m, m->charged, charge);
	bus1_quota_settle(&peer->quota, peer->user, m->share, charge, charge);
}

/**
 * bus1_message_unaccount() - return the slice and the charges
 * @m:		message; the receiver's data lock is held
 */
void bus1_message_unaccount(struct bus1_message *m)
{
	struct bus1_peer *peer = m->peer;

	lockdep_assert_held(&peer->data_lock);
	if (!list_empty(&m->slice.link))
		bus1_pool_free(&peer->pool, &m->slice);
	bus1_message_settle(m);
}

/**
 * bus1_message_dealloc() - free the memory of a message
 * @m:		message that holds nothing but its destination reference
 */
void bus1_message_dealloc(struct bus1_message *m)
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
 * Returns whatever the message still holds: handle pins, files, a short
 * multicast's payload, its slice and its charges.
 */
void bus1_message_free(struct bus1_message *m)
{
	struct bus1_peer *peer = m->peer;

	bus1_message_put_attachments(m);
	/* only here: RECV dropped the payload of every message it took */
	bus1_payload_put(m->payload);
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

/**
 * bus1_file_is_passable() - check whether a file may be attached
 * @f:		file
 *
 * A message holds references to the files it carries. A file that can
 * itself hold file references (an io_uring with registered files, an
 * AF_UNIX socket with queued SCM_RIGHTS, a bus1 peer with queued messages,
 * a binder or vhost device, ...) could end up holding the very peer the
 * message is queued on, a cycle nothing ever breaks. So only kinds known
 * to hold no file references pass, by what fstat() reports (bus1(7),
 * "PASSING FILES"): O_PATH descriptors (a path, no file), regular files,
 * directories, FIFOs and pipes, the memory devices (/dev/null, ...),
 * terminals, eventfds, and IPv4/IPv6 sockets.
 *
 * Return: true if @f may be attached to a message.
 */
bool bus1_file_is_passable(struct file *f)
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
	/*
	 * An intended data race: the handle's n_user and the node's
	 * destruction change under the local lock, which poll does not take.
	 * An outdated or torn view costs at most a spurious POLLIN (RECV then
	 * finds nothing, as after a release right after poll) or a second
	 * look under the local lock (-1); the head itself cannot go away
	 * while the data lock is held.
	 */
	return data_race(bus1_recv_entry_is_stale(peer, qnode)) ? -1 : 1;
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
