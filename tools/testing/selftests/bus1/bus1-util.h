/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tiny helpers shared by the bus1 selftests
 *
 * Every wrapper returns 0 (or a non-negative value) on success and -errno on
 * failure, so tests can write ASSERT_EQ(-EINVAL, b1_foo(...)).
 *
 * Conventions:
 *  - b1_open() opens /dev/bus1 O_RDWR|O_CLOEXEC and returns the fd.
 *  - B1_SELF as destination fd means "the calling peer" (dst_fd = (u64)-1).
 *  - struct b1_peer bundles an fd with a read-only pool mapping of
 *    B1_POOL_SIZE bytes; b1_peer_recv() passes the mapping size as
 *    max_offset.
 *  - b1_fdinfo(fd, "bus1-handles") reads one fdinfo counter (see the team
 *    conventions); returns the value (>= 0) or -errno (-ENOENT: no such key).
 */
#ifndef __BUS1_UTIL_H
#define __BUS1_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/bus1.h>

#define B1_DEVICE	"/dev/bus1"
#define B1_POOL_SIZE	(16ULL * 1024 * 1024)
#define B1_SELF		(-1)

/* kernel-assigned IDs: (counter << 3) | MANAGED | REMOTE */
#define B1_REMOTE_ID(_n) (((__u64)(_n) << 3) | \
			  BUS1_HANDLE_FLAG_MANAGED | BUS1_HANDLE_FLAG_REMOTE)

static inline int b1_open(void)
{
	int fd = open(B1_DEVICE, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int b1_close(int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

static inline int b1_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static inline int b1_disconnect(int fd)
{
	return b1_ioctl(fd, BUS1_CMD_PEER_DISCONNECT, 0);
}

/* PEER_QUERY; @q is fully overwritten (flags = 0 on input) */
static inline int b1_query(int fd, struct bus1_cmd_peer_reset *q)
{
	memset(q, 0, sizeof(*q));
	return b1_ioctl(fd, BUS1_CMD_PEER_QUERY, (unsigned long)q);
}

/* PEER_RESET with @flags, keeping all limits */
static inline int b1_reset(int fd, __u64 flags)
{
	struct bus1_cmd_peer_reset r = {
		.flags = flags,
		.peer_flags = (__u64)-1,
		.max_slices = 0xffffffffU,
		.max_handles = 0xffffffffU,
		.max_inflight_bytes = 0xffffffffU,
		.max_inflight_fds = 0xffffffffU,
	};

	return b1_ioctl(fd, BUS1_CMD_PEER_RESET, (unsigned long)&r);
}

/* PEER_RESET with a caller-filled struct (raw) */
static inline int b1_reset_raw(int fd, struct bus1_cmd_peer_reset *r)
{
	return b1_ioctl(fd, BUS1_CMD_PEER_RESET, (unsigned long)r);
}

/*
 * HANDLE_TRANSFER of @src_handle from peer @src_fd to peer @dst_fd
 * (B1_SELF = the source peer itself). On success *@dst_handle (if non-NULL)
 * receives the destination's ID.
 */
static inline int b1_transfer(int src_fd, __u64 src_handle, int dst_fd,
			      __u64 *dst_handle)
{
	struct bus1_cmd_handle_transfer t = {
		.flags = 0,
		.src_handle = src_handle,
		.dst_fd = dst_fd < 0 ? (__u64)-1 : (__u64)dst_fd,
		.dst_handle = BUS1_HANDLE_INVALID,
	};
	int r;

	r = b1_ioctl(src_fd, BUS1_CMD_HANDLE_TRANSFER, (unsigned long)&t);
	if (!r && dst_handle)
		*dst_handle = t.dst_handle;
	return r;
}

static inline int b1_transfer_raw(int fd, struct bus1_cmd_handle_transfer *t)
{
	return b1_ioctl(fd, BUS1_CMD_HANDLE_TRANSFER, (unsigned long)t);
}

static inline int b1_release(int fd, __u64 id)
{
	return b1_ioctl(fd, BUS1_CMD_HANDLE_RELEASE, (unsigned long)&id);
}

static inline int b1_destroy(int fd, __u64 flags, const __u64 *ids,
			     size_t n)
{
	struct bus1_cmd_nodes_destroy d = {
		.flags = flags,
		.ptr_nodes = (uintptr_t)ids,
		.n_nodes = n,
	};

	return b1_ioctl(fd, BUS1_CMD_NODES_DESTROY, (unsigned long)&d);
}

static inline int b1_destroy1(int fd, __u64 id)
{
	return b1_destroy(fd, 0, &id, 1);
}

static inline int b1_slice_release(int fd, __u64 offset)
{
	return b1_ioctl(fd, BUS1_CMD_SLICE_RELEASE, (unsigned long)&offset);
}

static inline int b1_send(int fd, __u64 flags,
			  const __u64 *dests, size_t n_dests,
			  const struct iovec *vecs, size_t n_vecs,
			  const __u64 *handles, size_t n_handles,
			  const int *fds, size_t n_fds)
{
	struct bus1_cmd_send s = {
		.flags = flags,
		.ptr_destinations = (uintptr_t)dests,
		.ptr_errors = 0,
		.n_destinations = n_dests,
		.ptr_vecs = (uintptr_t)vecs,
		.n_vecs = n_vecs,
		.ptr_handles = (uintptr_t)handles,
		.n_handles = n_handles,
		.ptr_fds = (uintptr_t)fds,
		.n_fds = n_fds,
	};

	return b1_ioctl(fd, BUS1_CMD_SEND, (unsigned long)&s);
}

static inline int b1_send_raw(int fd, struct bus1_cmd_send *s)
{
	return b1_ioctl(fd, BUS1_CMD_SEND, (unsigned long)s);
}

/* send @len bytes of @data to the single destination @dest */
static inline int b1_send1(int fd, __u64 dest, const void *data,
			   size_t len)
{
	struct iovec v = { .iov_base = (void *)data, .iov_len = len };

	return b1_send(fd, 0, &dest, 1, &v, len ? 1 : 0, NULL, 0, NULL, 0);
}

/* RECV; @out is fully overwritten on success */
static inline int b1_recv(int fd, __u64 flags, __u64 max_offset,
			  struct bus1_cmd_recv *out)
{
	struct bus1_cmd_recv r;
	int ret;

	memset(&r, 0, sizeof(r));
	r.flags = flags;
	r.max_offset = max_offset;
	ret = b1_ioctl(fd, BUS1_CMD_RECV, (unsigned long)&r);
	if (!ret)
		*out = r;
	return ret;
}

/* read-only shared mapping of the pool; returns 0 or -errno */
static inline int b1_mmap_pool(int fd, size_t size, const void **pool)
{
	void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	*pool = p;
	return 0;
}

/* returns the revents of @fd after a poll with @timeout_ms, or -errno */
static inline int b1_poll(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = poll(&p, 1, timeout_ms);

	if (r < 0)
		return -errno;
	return r ? p.revents : 0;
}

/*
 * Read one fdinfo counter of a bus1 fd by key (e.g. "bus1-handles").
 * Returns the value, or -errno (-ENOENT if the key is missing). The
 * bus1-peer line is parsed as hex, every other key as decimal.
 */
static inline __s64 b1_fdinfo(int fd, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	__s64 v = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *end;
		unsigned long long x;

		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		errno = 0;
		x = strtoull(line + klen + 1, &end,
			     strcmp(key, "bus1-peer") ? 10 : 16);
		if (errno || end == line + klen + 1)
			v = -EINVAL;
		else
			v = (__s64)x;
		break;
	}
	fclose(f);
	return v;
}

static inline __u64 b1_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* a peer plus its read-only pool mapping */
struct b1_peer {
	int fd;
	const __u8 *pool;
	size_t pool_size;
};

/* open a peer and map B1_POOL_SIZE bytes of its pool; 0 or -errno */
static inline int b1_peer_new(struct b1_peer *p)
{
	const void *pool = NULL;
	int r;

	p->fd = -1;
	p->pool = NULL;
	p->pool_size = 0;
	r = b1_open();
	if (r < 0)
		return r;
	p->fd = r;
	r = b1_mmap_pool(p->fd, B1_POOL_SIZE, &pool);
	if (r < 0) {
		close(p->fd);
		p->fd = -1;
		return r;
	}
	p->pool = pool;
	p->pool_size = B1_POOL_SIZE;
	return 0;
}

static inline void b1_peer_free(struct b1_peer *p)
{
	if (p->pool)
		munmap((void *)p->pool, p->pool_size);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->pool = NULL;
	p->pool_size = 0;
}

/* RECV with max_offset = mapping size */
static inline int b1_peer_recv(struct b1_peer *p, __u64 flags,
			       struct bus1_cmd_recv *out)
{
	return b1_recv(p->fd, flags, p->pool_size, out);
}

/* pointer to the slice of a received DATA message */
static inline const void *b1_peer_slice(const struct b1_peer *p,
					const struct bus1_cmd_recv *r)
{
	return p->pool + r->msg.offset;
}

#endif /* __BUS1_UTIL_H */
