/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the message, ordering and quota selftests
 * (test-msg.c, test-order.c, test-quota.c), on top of bus1-util.h (b1_*).
 *
 * Adds: SEND with an errors array, PEER_RESET with limits, a peer whose
 * pool window grows on ERANGE, the fdinfo counter set, a PRNG, fd passing
 * and opening a peer as another uid. Every helper returns 0 (or a value
 * >= 0) on success and -errno on failure, never touches the harness state,
 * and is safe to call from threads and forked children. Prefix: mu_.
 */
#ifndef __BUS1_MSG_UTIL_H
#define __BUS1_MSG_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/bus1.h>

#include "bus1-util.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define MU_A8(x) (((x) + 7ULL) & ~7ULL)
#define MU_POOL_MAX 0x100000000ULL
#define MU_ID_REMOTE(n) B1_REMOTE_ID(n)

#define MU_KEEP 0xffffffffU

static inline int mu_reset(int fd, __u64 flags, __u32 slices, __u32 handles,
			   __u32 bytes, __u32 fds)
{
	struct bus1_cmd_peer_reset r = {
		.flags = flags,
		.peer_flags = (__u64)-1,
		.max_slices = slices,
		.max_handles = handles,
		.max_inflight_bytes = bytes,
		.max_inflight_fds = fds,
	};

	return b1_reset_raw(fd, &r);
}

/* Full SEND. */
static inline int mu_sendv(int fd, __u64 flags, const __u64 *dst, size_t n_dst,
			   __u64 *errors, const struct iovec *vecs,
			   size_t n_vecs, const __u64 *handles,
			   size_t n_handles, const int *fds, size_t n_fds)
{
	struct bus1_cmd_send s = {
		.flags = flags,
		.ptr_destinations = (uintptr_t)dst,
		.ptr_errors = (uintptr_t)errors,
		.n_destinations = n_dst,
		.ptr_vecs = (uintptr_t)vecs,
		.n_vecs = n_vecs,
		.ptr_handles = (uintptr_t)handles,
		.n_handles = n_handles,
		.ptr_fds = (uintptr_t)fds,
		.n_fds = n_fds,
	};

	return b1_send_raw(fd, &s);
}

/* SEND of one buffer to @n_dst destinations. */
static inline int mu_send(int fd, const __u64 *dst, size_t n_dst,
			  const void *buf, size_t len)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };

	return mu_sendv(fd, 0, dst, n_dst, NULL, &v, 1, NULL, 0, NULL, 0);
}

static inline int mu_send1(int fd, __u64 dst, const void *buf, size_t len)
{
	return mu_send(fd, &dst, 1, buf, len);
}

/*
 * A peer with a read-only pool window starting at offset 0. mu_peer_recv()
 * remaps a larger window when RECV reports ERANGE (the message stays queued)
 * and retries.
 */
struct mu_peer {
	int fd;
	const __u8 *pool;
	size_t size;
};

static inline int mu_map(struct mu_peer *p, size_t size)
{
	void *m;

	if (p->pool)
		munmap((void *)p->pool, p->size);
	p->pool = NULL;
	p->size = 0;
	m = mmap(NULL, size, PROT_READ, MAP_SHARED, p->fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	p->pool = m;
	p->size = size;
	return 0;
}

static inline int mu_peer_open(struct mu_peer *p, size_t size)
{
	int r;

	memset(p, 0, sizeof(*p));
	p->fd = b1_open();
	if (p->fd < 0)
		return p->fd;
	r = mu_map(p, size);
	if (r < 0) {
		close(p->fd);
		p->fd = -1;
	}
	return r;
}

static inline void mu_peer_close(struct mu_peer *p)
{
	if (p->pool)
		munmap((void *)p->pool, p->size);
	if (p->fd >= 0)
		close(p->fd);
	p->pool = NULL;
	p->fd = -1;
}

static inline int mu_peer_recv(struct mu_peer *p, __u64 flags,
			       struct bus1_cmd_recv *r)
{
	int ret;

	memset(r, 0, sizeof(*r));
	for (;;) {
		ret = b1_recv(p->fd, flags, p->size, r);
		if (ret != -ERANGE || p->size >= MU_POOL_MAX)
			return ret;
		ret = mu_map(p, p->size * 2 > MU_POOL_MAX ?
				MU_POOL_MAX : p->size * 2);
		if (ret < 0)
			return ret;
	}
}

static inline const void *mu_payload(const struct mu_peer *p,
				     const struct bus1_cmd_recv *r)
{
	return p->pool + r->msg.offset;
}

static inline const __u64 *mu_handles(const struct mu_peer *p,
				      const struct bus1_cmd_recv *r)
{
	return (const __u64 *)(p->pool + r->msg.offset +
			       MU_A8(r->msg.n_bytes));
}

static inline const int *mu_fds(const struct mu_peer *p,
				const struct bus1_cmd_recv *r)
{
	return (const int *)(p->pool + r->msg.offset +
			     MU_A8(r->msg.n_bytes) + 8 * r->msg.n_handles);
}

/* RECV the next DATA message and release its slice right away. */
static inline int mu_peer_recv_release(struct mu_peer *p,
				       struct bus1_cmd_recv *r)
{
	int ret = mu_peer_recv(p, 0, r);

	if (ret < 0 || r->msg.type != BUS1_MSG_DATA)
		return ret;
	return b1_slice_release(p->fd, r->msg.offset);
}

/* Counter or ~0 if missing (for direct use in ASSERT_EQ). */
static inline __u64 mu_counter(int fd, const char *key)
{
	__s64 v = b1_fdinfo(fd, key);

	return v < 0 ? ~0ULL : (__u64)v;
}

static const char *const mu_counter_keys[] = {
	"bus1-queued", "bus1-pool-bytes", "bus1-pool-slices", "bus1-handles",
	"bus1-nodes", "bus1-charge-slices", "bus1-charge-handles",
	"bus1-charge-bytes", "bus1-charge-fds",
};

#define MU_N_COUNTERS ARRAY_SIZE(mu_counter_keys)

struct mu_counters {
	__u64 v[MU_N_COUNTERS];
};

static inline int mu_counters_read(int fd, struct mu_counters *c)
{
	__s64 v;
	size_t i;

	for (i = 0; i < MU_N_COUNTERS; i++) {
		v = b1_fdinfo(fd, mu_counter_keys[i]);
		if (v < 0)
			return v;
		c->v[i] = v;
	}
	return 0;
}

/* Returns the index of the first differing counter, or -1 if equal. */
static inline int mu_counters_diff(const struct mu_counters *a,
				   const struct mu_counters *b)
{
	size_t i;

	for (i = 0; i < MU_N_COUNTERS; i++)
		if (a->v[i] != b->v[i])
			return i;
	return -1;
}

/* xorshift64* PRNG; deterministic per seed, thread-local by value. */
static inline __u64 mu_rand(__u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static inline void mu_fill(void *buf, size_t len, __u64 seed)
{
	__u8 *b = buf;
	__u64 s = seed | 1, x = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!(i & 7))
			x = mu_rand(&s);
		b[i] = x >> ((i & 7) * 8);
	}
}

/* Environment parameter (e.g. BUS1_SOAK_MSGS) or @def. */
static inline unsigned long mu_param(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

/* Wait for @pid; returns its exit code, or 128 + signal. */
static inline int mu_wait(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return 255;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Pass @fd over the unix socket @sock (SCM_RIGHTS). */
static inline int mu_send_fd(int sock, int fd)
{
	char c = 0, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec v = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &v, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -errno;
}

static inline int mu_recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec v = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &v, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -EIO;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -EIO;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * Open a peer as @uid (fork, setresuid, open) and return its fd in the
 * caller; the peer (and its accounting) belongs to @uid.
 */
static inline int mu_open_as(uid_t uid)
{
	int sv[2], fd, r;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (!pid) {
		close(sv[0]);
		if (setresgid(uid, uid, uid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(1);
		fd = b1_open();
		if (fd < 0 || mu_send_fd(sv[1], fd) < 0)
			_exit(2);
		_exit(0);
	}
	close(sv[1]);
	fd = mu_recv_fd(sv[0]);
	close(sv[0]);
	r = mu_wait(pid);
	if (r) {
		if (fd >= 0)
			close(fd);
		return -ECHILD;
	}
	return fd;
}

#endif /* __BUS1_MSG_UTIL_H */
