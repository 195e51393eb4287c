// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libbus1 - see include/bus1/bus1.h and Documentation/bus1/libbus1.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bus1/bus1.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BUS1_EXPORT __attribute__((visibility("default")))

struct bus1_pool_map {
	void *addr;
	size_t size;
	unsigned long refs;
	bool retired;
	struct bus1_pool_map *next;	/* retired list */
};

struct bus1_peer {
	int fd;
	struct bus1_pool_map *map;	/* current mapping */
	struct bus1_pool_map *retired;	/* older mappings with live views */
	__u64 node_counter;
	/* BUS1_RECV_FLAG_SEND: 0 not known yet, 1 the module has it, -1 not */
	int recv_send;
};

static inline __u64 a8(__u64 x)
{
	return (x + 7) & ~7ULL;
}

static struct bus1_pool_map *pool_map_new(int fd, size_t size, int *errp)
{
	struct bus1_pool_map *m;
	void *addr;

	m = calloc(1, sizeof(*m));
	if (!m) {
		*errp = -ENOMEM;
		return NULL;
	}
	addr = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED) {
		*errp = -errno;
		free(m);
		return NULL;
	}
	m->addr = addr;
	m->size = size;
	return m;
}

static void pool_map_free(struct bus1_pool_map *m)
{
	if (m) {
		munmap(m->addr, m->size);
		free(m);
	}
}

/* Drop a reference; a retired map is unmapped with its last reference. */
static void pool_map_unref(struct bus1_peer *peer, struct bus1_pool_map *m)
{
	struct bus1_pool_map **p;

	if (--m->refs || !m->retired)
		return;
	for (p = &peer->retired; *p; p = &(*p)->next) {
		if (*p == m) {
			*p = m->next;
			break;
		}
	}
	pool_map_free(m);
}

/* Replace the current mapping by a larger one; views of the old one stay. */
static int pool_remap(struct bus1_peer *peer)
{
	struct bus1_pool_map *m, *old = peer->map;
	size_t size;
	int err = 0;

	if (old->size >= BUS1_POOL_SIZE)
		return -ERANGE;
	size = old->size * 2;
	if (size > BUS1_POOL_SIZE)
		size = BUS1_POOL_SIZE;
	m = pool_map_new(peer->fd, size, &err);
	if (!m)
		return err;
	peer->map = m;
	if (old->refs) {
		old->retired = true;
		old->next = peer->retired;
		peer->retired = old;
	} else {
		pool_map_free(old);
	}
	return 0;
}

BUS1_EXPORT int bus1_peer_new_from_fd(int fd, size_t map_size,
				      struct bus1_peer **peerp)
{
	struct bus1_peer *peer;
	long page = sysconf(_SC_PAGESIZE);
	int err = 0;

	if (fd < 0 || !peerp)
		return -EINVAL;
	if (!map_size)
		map_size = BUS1_MAP_DEFAULT;
	map_size = (map_size + page - 1) & ~(size_t)(page - 1);
	if (map_size > BUS1_POOL_SIZE)
		map_size = BUS1_POOL_SIZE;

	peer = calloc(1, sizeof(*peer));
	if (!peer)
		return -ENOMEM;
	peer->fd = fd;
	peer->map = pool_map_new(fd, map_size, &err);
	if (!peer->map) {
		free(peer);
		return err;
	}
	/*
	 * Node IDs are chosen by userspace: bits 0 and 1 clear. Start from a
	 * per-process base so two library instances sharing one peer (e.g.
	 * after exec with an inherited fd) are unlikely to collide.
	 */
	peer->node_counter = ((__u64)getpid() & 0xffffff) << 24;
	*peerp = peer;
	return 0;
}

BUS1_EXPORT int bus1_peer_new(struct bus1_peer **peerp)
{
	int fd, r;

	fd = open(BUS1_DEVICE_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	r = bus1_peer_new_from_fd(fd, 0, peerp);
	if (r < 0)
		close(fd);
	return r;
}

BUS1_EXPORT int bus1_peer_new_from_env(const char *name,
				       struct bus1_peer **peerp)
{
	const char *v;
	char *end;
	long fd;
	int r;

	if (!name)
		name = BUS1_PEER_FD_ENV;
	v = getenv(name);
	if (!v || !*v)
		return -ENOENT;
	errno = 0;
	fd = strtol(v, &end, 10);
	if (errno || *end || fd < 0 || fd > 0x7fffffff)
		return -EBADF;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	r = bus1_peer_new_from_fd(fd, 0, peerp);
	if (r >= 0)
		unsetenv(name);
	return r;
}

BUS1_EXPORT struct bus1_peer *bus1_peer_free(struct bus1_peer *peer)
{
	struct bus1_pool_map *m;

	if (!peer)
		return NULL;
	/* views still held by the caller become invalid here */
	while ((m = peer->retired)) {
		peer->retired = m->next;
		pool_map_free(m);
	}
	pool_map_free(peer->map);
	if (peer->fd >= 0)
		close(peer->fd);
	free(peer);
	return NULL;
}

BUS1_EXPORT int bus1_peer_get_fd(struct bus1_peer *peer)
{
	return peer->fd;
}

BUS1_EXPORT size_t bus1_peer_get_map_size(struct bus1_peer *peer)
{
	return peer->map->size;
}

BUS1_EXPORT int bus1_peer_disconnect(struct bus1_peer *peer)
{
	if (ioctl(peer->fd, BUS1_CMD_PEER_DISCONNECT, 0) < 0)
		return -errno;
	return 0;
}

BUS1_EXPORT int bus1_peer_query(struct bus1_peer *peer,
				struct bus1_limits *limits)
{
	struct bus1_cmd_peer_reset q = { 0 };

	if (ioctl(peer->fd, BUS1_CMD_PEER_QUERY, &q) < 0)
		return -errno;
	limits->max_slices = q.max_slices;
	limits->max_handles = q.max_handles;
	limits->max_inflight_bytes = q.max_inflight_bytes;
	limits->max_inflight_fds = q.max_inflight_fds;
	return 0;
}

BUS1_EXPORT int bus1_peer_reset(struct bus1_peer *peer, __u64 flags,
				const struct bus1_limits *limits)
{
	struct bus1_cmd_peer_reset r = {
		.flags = flags,
		.peer_flags = (__u64)-1,
		.max_slices = BUS1_LIMIT_KEEP,
		.max_handles = BUS1_LIMIT_KEEP,
		.max_inflight_bytes = BUS1_LIMIT_KEEP,
		.max_inflight_fds = BUS1_LIMIT_KEEP,
	};

	if (limits) {
		r.max_slices = limits->max_slices;
		r.max_handles = limits->max_handles;
		r.max_inflight_bytes = limits->max_inflight_bytes;
		r.max_inflight_fds = limits->max_inflight_fds;
	}
	if (ioctl(peer->fd, BUS1_CMD_PEER_RESET, &r) < 0)
		return -errno;
	return 0;
}

static const struct {
	const char *key;
	size_t off;
	int base;
} stat_keys[] = {
	{ "bus1-peer:", offsetof(struct bus1_peer_stats, peer_id), 16 },
	{ "bus1-queued:", offsetof(struct bus1_peer_stats, queued), 10 },
	{ "bus1-pool-bytes:", offsetof(struct bus1_peer_stats, pool_bytes), 10 },
	{ "bus1-pool-slices:", offsetof(struct bus1_peer_stats, pool_slices), 10 },
	{ "bus1-handles:", offsetof(struct bus1_peer_stats, handles), 10 },
	{ "bus1-nodes:", offsetof(struct bus1_peer_stats, nodes), 10 },
	{ "bus1-charge-slices:",
	  offsetof(struct bus1_peer_stats, charge_slices), 10 },
	{ "bus1-charge-handles:",
	  offsetof(struct bus1_peer_stats, charge_handles), 10 },
	{ "bus1-charge-bytes:",
	  offsetof(struct bus1_peer_stats, charge_bytes), 10 },
	{ "bus1-charge-fds:", offsetof(struct bus1_peer_stats, charge_fds), 10 },
};

BUS1_EXPORT int bus1_fd_get_stats(int fd, struct bus1_peer_stats *st)
{
	char path[64], line[256];
	bool found = false;
	size_t i, n;
	FILE *f;

	memset(st, 0xff, sizeof(*st));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < ARRAY_SIZE(stat_keys); i++) {
			n = strlen(stat_keys[i].key);
			if (strncmp(line, stat_keys[i].key, n))
				continue;
			*(__u64 *)((char *)st + stat_keys[i].off) =
				strtoull(line + n, NULL, stat_keys[i].base);
			if (!i)
				found = true;
		}
	}
	fclose(f);
	return found ? 0 : -ENOTTY;
}

BUS1_EXPORT int bus1_peer_get_stats(struct bus1_peer *peer,
				    struct bus1_peer_stats *st)
{
	return bus1_fd_get_stats(peer->fd, st);
}

BUS1_EXPORT int bus1_node_new(struct bus1_peer *peer, __u64 *idp)
{
	struct bus1_cmd_send s = { 0 };
	__u64 id = ++peer->node_counter << 3;

	/* a SEND without destinations only creates the attached nodes */
	s.ptr_handles = (unsigned long)&id;
	s.n_handles = 1;
	if (ioctl(peer->fd, BUS1_CMD_SEND, &s) < 0)
		return -errno;
	*idp = id;
	return 0;
}

BUS1_EXPORT int bus1_node_destroy(struct bus1_peer *peer, const __u64 *ids,
				  size_t n, __u64 flags)
{
	struct bus1_cmd_nodes_destroy d = {
		.flags = flags,
		.ptr_nodes = (unsigned long)ids,
		.n_nodes = n,
	};

	if (ioctl(peer->fd, BUS1_CMD_NODES_DESTROY, &d) < 0)
		return -errno;
	return 0;
}

BUS1_EXPORT int bus1_handle_transfer_fd(struct bus1_peer *src,
					__u64 src_handle, int dst_fd,
					__u64 *dst_handlep)
{
	struct bus1_cmd_handle_transfer t = {
		.src_handle = src_handle,
		.dst_fd = dst_fd < 0 ? (__u64)-1 : (__u64)dst_fd,
		.dst_handle = BUS1_HANDLE_INVALID,
	};

	if (ioctl(src->fd, BUS1_CMD_HANDLE_TRANSFER, &t) < 0)
		return -errno;
	if (dst_handlep)
		*dst_handlep = t.dst_handle;
	return 0;
}

BUS1_EXPORT int bus1_handle_transfer(struct bus1_peer *src, __u64 src_handle,
				     struct bus1_peer *dst,
				     __u64 *dst_handlep)
{
	return bus1_handle_transfer_fd(src, src_handle, dst ? dst->fd : -1,
				       dst_handlep);
}

BUS1_EXPORT int bus1_handle_release(struct bus1_peer *peer, __u64 handle)
{
	if (ioctl(peer->fd, BUS1_CMD_HANDLE_RELEASE, &handle) < 0)
		return -errno;
	return 0;
}

/* the kernel's SEND argument for @a; -EINVAL for arguments it cannot hold */
static int send_param(const struct bus1_send *a, struct bus1_cmd_send *s)
{
	if ((a->flags & BUS1_SEND_FLAG_CONTINUE) && a->n_destinations &&
	    !a->errors)
		return -EINVAL;
	*s = (struct bus1_cmd_send){
		.flags = a->flags,
		.ptr_destinations = (unsigned long)a->destinations,
		.ptr_errors = (unsigned long)a->errors,
		.n_destinations = a->n_destinations,
		.ptr_vecs = (unsigned long)a->vecs,
		.n_vecs = a->n_vecs,
		.ptr_handles = (unsigned long)a->handles,
		.n_handles = a->n_handles,
		.ptr_fds = (unsigned long)a->fds,
		.n_fds = a->n_fds,
	};
	return 0;
}

BUS1_EXPORT int bus1_send(struct bus1_peer *peer, const struct bus1_send *a)
{
	struct bus1_cmd_send s;
	int r;

	r = send_param(a, &s);
	if (r < 0)
		return r;
	if (ioctl(peer->fd, BUS1_CMD_SEND, &s) < 0)
		return -errno;
	return 0;
}

BUS1_EXPORT int bus1_send_data(struct bus1_peer *peer, __u64 destination,
			       const void *data, size_t len)
{
	struct iovec vec = { (void *)data, len };
	struct bus1_send s = {
		.destinations = &destination,
		.n_destinations = 1,
		.vecs = &vec,
		.n_vecs = 1,
	};

	return bus1_send(peer, &s);
}

BUS1_EXPORT int bus1_seed_set(struct bus1_peer *peer,
			      const struct iovec *vecs, size_t n_vecs,
			      const __u64 *handles, size_t n_handles)
{
	struct bus1_send s = {
		.flags = BUS1_SEND_FLAG_SEED,
		.vecs = vecs,
		.n_vecs = n_vecs,
		.handles = handles,
		.n_handles = n_handles,
	};

	return bus1_send(peer, &s);
}

/* fills @msg with the result of a successful RECV @r */
static void message_fill(struct bus1_peer *peer, const struct bus1_cmd_recv *r,
			 struct bus1_message *msg)
{
	const char *base;

	memset(msg, 0, sizeof(*msg));
	msg->type = r->msg.type;
	msg->flags = r->msg.flags;
	msg->destination = r->msg.destination;
	msg->offset = r->msg.offset;
	msg->peer = peer;
	if (r->msg.offset == BUS1_OFFSET_INVALID)
		return;

	base = (const char *)peer->map->addr + r->msg.offset;
	msg->map = peer->map;
	msg->map->refs++;
	msg->data = base;
	msg->n_bytes = r->msg.n_bytes;
	msg->n_handles = r->msg.n_handles;
	if (msg->n_handles)
		msg->handles = (const __u64 *)(base + a8(r->msg.n_bytes));
	msg->n_fds = r->msg.n_fds;
	if (msg->n_fds)
		msg->fds = (const int *)(base + a8(r->msg.n_bytes) +
					 8 * r->msg.n_handles);
}

/* forgets the view of @msg, whose slice the kernel has released */
static void message_drop(struct bus1_message *msg)
{
	if (msg->peer && msg->map)
		pool_map_unref(msg->peer, msg->map);
	memset(msg, 0, sizeof(*msg));
	msg->offset = BUS1_OFFSET_INVALID;
}

/*
 * One RECV, remapping a larger pool window on ERANGE (the message stays
 * queued). @release is the slice to release in the same call
 * (BUS1_RECV_FLAG_RELEASE, an extension of the 2016 ABI) or
 * BUS1_OFFSET_INVALID; *@released is set once
 * the kernel has released it, which it does even if the receive fails.
 * @send is the SEND argument to run first in the same call
 * (BUS1_RECV_FLAG_SEND) or NULL; *@sent is set once the kernel has sent it,
 * which it tells by storing 0 in msg.destination when the receive fails
 * after the SEND (a failing SEND leaves it and fails the call whole).
 */
static int recv_once(struct bus1_peer *peer, __u64 flags, __u64 release,
		     const struct bus1_cmd_send *send,
		     struct bus1_cmd_recv *r, int *released, int *sent)
{
	int err;

	*released = release == BUS1_OFFSET_INVALID;
	*sent = !send;
	for (;;) {
		memset(r, 0, sizeof(*r));
		/* RELEASE and SEND come from @release and @send only */
		r->flags = flags & ~(__u64)(BUS1_RECV_FLAG_RELEASE |
					    BUS1_RECV_FLAG_SEND);
		r->max_offset = peer->map->size;
		if (!*released) {
			r->flags |= BUS1_RECV_FLAG_RELEASE;
			r->msg.offset = release;
		}
		if (!*sent) {
			r->flags |= BUS1_RECV_FLAG_SEND;
			r->msg.destination = (unsigned long)send;
		}
		if (ioctl(peer->fd, BUS1_CMD_RECV, r) >= 0) {
			*released = 1;
			*sent = 1;
			return 0;
		}
		err = -errno;
		/* the kernel resets the offset once it has released the slice */
		if (!*released && r->msg.offset == BUS1_OFFSET_INVALID)
			*released = 1;
		if (!*sent && !r->msg.destination)
			*sent = 1;
		if (err != -ERANGE)
			return err;
		err = pool_remap(peer);
		if (err < 0)
			return err;
	}
}

BUS1_EXPORT int bus1_recv(struct bus1_peer *peer, __u64 flags,
			  struct bus1_message *msg)
{
	struct bus1_cmd_recv r;
	int err, released, sent;

	memset(msg, 0, sizeof(*msg));
	err = recv_once(peer, flags, BUS1_OFFSET_INVALID, NULL, &r, &released,
			&sent);
	if (err < 0)
		return err;
	message_fill(peer, &r, msg);
	return 0;
}

/* bus1_recv_next() with a SEND first in the same RECV (@send may be NULL) */
static int recv_next(struct bus1_peer *peer, const struct bus1_cmd_send *send,
		     __u64 flags, struct bus1_message *msg, int *sent)
{
	__u64 release = BUS1_OFFSET_INVALID;
	struct bus1_cmd_recv r;
	int err, released;

	if (msg->peer)
		release = msg->offset;
	err = recv_once(peer, flags, release, send, &r, &released, sent);
	if (released)
		message_drop(msg);
	if (err < 0)
		return err;
	message_fill(peer, &r, msg);
	return 0;
}

BUS1_EXPORT int bus1_recv_next(struct bus1_peer *peer, __u64 flags,
			       struct bus1_message *msg)
{
	int sent;

	if (msg->peer && msg->peer != peer)
		return -EINVAL;
	return recv_next(peer, NULL, flags, msg, &sent);
}

/*
 * Does the module know BUS1_RECV_FLAG_SEND? Asked once per peer, after a
 * RECV with it failed with EINVAL, which an older module answers to the
 * unknown flag before it looks at anything else. A SEND argument in kernel
 * space fails a module that has the flag with EFAULT, before anything
 * else happens: the probe sends nothing, releases nothing, receives
 * nothing.
 */
static int recv_send_supported(struct bus1_peer *peer)
{
	struct bus1_cmd_recv r = {
		.flags = BUS1_RECV_FLAG_SEND,
		.msg.destination = ~0ULL << 12,
		.msg.offset = BUS1_OFFSET_INVALID,
	};

	if (!peer->recv_send) {
		if (ioctl(peer->fd, BUS1_CMD_RECV, &r) >= 0 || errno != EINVAL)
			peer->recv_send = 1;
		else
			peer->recv_send = -1;
	}
	return peer->recv_send > 0;
}

BUS1_EXPORT int bus1_send_recv_next(struct bus1_peer *peer,
				    const struct bus1_send *send, __u64 flags,
				    struct bus1_message *msg, int *sentp)
{
	struct bus1_cmd_send s;
	int err, sent = 0;

	if (sentp)
		*sentp = 0;
	if (msg->peer && msg->peer != peer)
		return -EINVAL;
	if (send) {
		err = send_param(send, &s);
		if (err < 0)
			return err;
	}
	if (send && peer->recv_send >= 0) {
		err = recv_next(peer, &s, flags, msg, &sent);
		/* EINVAL from a module without the flag, or from the SEND */
		if (err == -EINVAL && !sent && !recv_send_supported(peer))
			goto plain;
		if (!err || sent)
			peer->recv_send = 1;
		if (sentp)
			*sentp = sent;
		return err;
	}
plain:
	if (send && ioctl(peer->fd, BUS1_CMD_SEND, &s) < 0)
		return -errno;
	if (sentp)
		*sentp = 1;
	return recv_next(peer, NULL, flags, msg, &sent);
}

BUS1_EXPORT int bus1_seed_get(struct bus1_peer *peer, __u64 flags,
			      struct bus1_message *msg)
{
	return bus1_recv(peer, flags | BUS1_RECV_FLAG_SEED, msg);
}

BUS1_EXPORT int bus1_message_release(struct bus1_message *msg)
{
	int r = 0;

	if (!msg->peer)
		return 0;
	if (msg->offset != BUS1_OFFSET_INVALID &&
	    ioctl(msg->peer->fd, BUS1_CMD_SLICE_RELEASE, &msg->offset) < 0)
		r = -errno;
	if (msg->map)
		pool_map_unref(msg->peer, msg->map);
	memset(msg, 0, sizeof(*msg));
	msg->offset = BUS1_OFFSET_INVALID;
	return r;
}

BUS1_EXPORT const char *bus1_message_type_name(__u64 type)
{
	switch (type) {
	case BUS1_MSG_NONE:
		return "NONE";
	case BUS1_MSG_DATA:
		return "DATA";
	case BUS1_MSG_NODE_DESTROY:
		return "NODE_DESTROY";
	case BUS1_MSG_NODE_RELEASE:
		return "NODE_RELEASE";
	}
	return "UNKNOWN";
}

static const struct {
	int err;
	const char *text;
} bus1_errors[] = {
	{ EAGAIN, "no message ready (queue empty, or head still in flight)" },
	{ EBADF, "not an open file descriptor (destination fd or attached fd)" },
	{ EBUSY, "handle is pinned (owner handle of a live node) or ID unknown" },
	{ EDQUOT, "quota exceeded: the receiver (or you) hit a slice, handle, byte or fd limit" },
	{ EHOSTUNREACH, "destination node is gone (owner disconnected or node destroyed)" },
	{ EMSGSIZE, "too many destinations, vectors, fds or bytes in one message" },
	{ ENXIO, "no such handle ID in this peer" },
	{ ENOTUNIQ, "the same destination or node was given twice" },
	{ EOPNOTSUPP, "not a bus1 fd, or a bus1/AF_UNIX fd cannot be attached" },
	{ EREMOTE, "handle is not an owner handle (only owners can destroy a node)" },
	{ ERANGE, "message lies beyond the mapped pool window" },
	{ ESHUTDOWN, "peer (or destination owner) is disconnected" },
	{ ESTALE, "node was already destroyed" },
	{ EXFULL, "the receiver's pool is full" },
	{ ENOTTY, "not a bus1 fd, or unknown bus1 command" },
	{ EPERM, "the pool can only be mapped read-only" },
};

BUS1_EXPORT const char *bus1_strerror(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < ARRAY_SIZE(bus1_errors); i++)
		if (bus1_errors[i].err == err)
			return bus1_errors[i].text;
	return strerror(err);
}
