// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal Binder ping-pong for the bus1 benchmark: a context-manager server
 * (BINDER_SET_CONTEXT_MGR, then a BC_REPLY loop) and a client that sends
 * BC_TRANSACTION to handle 0, both speaking BINDER_WRITE_READ directly (no
 * libbinder). The server frees every request buffer together with its
 * reply; the client frees every reply buffer together with its next
 * transaction: no BINDER_WRITE_READ of its own for a free.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/android/binder.h>
#include "bench.h"

#define BINDER_DEV	"/dev/binder"
#define BINDER_MAP	(1024 * 1024)

struct binder {
	int fd;
	void *map;
};

static int binder_open(struct binder *b)
{
	struct binder_version v = { 0 };

	b->fd = open(BINDER_DEV, O_RDWR | O_CLOEXEC);
	if (b->fd < 0)
		return -errno;
	if (ioctl(b->fd, BINDER_VERSION, &v) < 0 ||
	    v.protocol_version != BINDER_CURRENT_PROTOCOL_VERSION) {
		close(b->fd);
		return -EPROTO;
	}
	b->map = mmap(NULL, BINDER_MAP, PROT_READ, MAP_PRIVATE, b->fd, 0);
	if (b->map == MAP_FAILED) {
		close(b->fd);
		return -errno;
	}
	return 0;
}

static void put_cmd(char **p, u32 cmd, const void *arg, size_t len)
{
	memcpy(*p, &cmd, sizeof(cmd));
	*p += sizeof(cmd);
	if (len)
		memcpy(*p, arg, len);
	*p += len;
}

/*
 * One BINDER_WRITE_READ with @wlen bytes of commands; reads until a
 * BR_TRANSACTION or BR_REPLY arrives and copies it to @tr. Returns the BR
 * code, or -errno.
 */
static int binder_xfer(struct binder *b, const void *wbuf, size_t wlen,
		       struct binder_transaction_data *tr)
{
	u64 rbuf[64];
	struct binder_write_read bwr = {
		.write_size = wlen,
		.write_buffer = (binder_uintptr_t)wbuf,
	};

	for (;;) {
		const char *p, *end;

		bwr.read_size = sizeof(rbuf);
		bwr.read_consumed = 0;
		bwr.read_buffer = (binder_uintptr_t)rbuf;
		if (ioctl(b->fd, BINDER_WRITE_READ, &bwr) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		bwr.write_size = 0;
		p = (const char *)rbuf;
		end = p + bwr.read_consumed;
		while (p + sizeof(u32) <= end) {
			u32 cmd;

			memcpy(&cmd, p, sizeof(cmd));
			p += sizeof(cmd);
			if (cmd == BR_TRANSACTION || cmd == BR_REPLY) {
				memcpy(tr, p, sizeof(*tr));
				return cmd;
			}
			if (cmd == BR_DEAD_REPLY || cmd == BR_FAILED_REPLY)
				return -ECONNRESET;
			p += _IOC_SIZE(cmd);
		}
	}
}

static void binder_server(int ready, size_t len, struct bench_rt *rt)
{
	unsigned long total = rt->warmup + (unsigned long)rt->reps * rt->iters;
	unsigned long done;
	struct binder_transaction_data tr, reply;
	char wbuf[128], *w;
	static char payload[65536];
	struct binder b;
	int r;

	r = binder_open(&b);
	if (!r && ioctl(b.fd, BINDER_SET_CONTEXT_MGR, 0) < 0)
		r = -errno;
	if (write(ready, &r, sizeof(r)) != sizeof(r) || r)
		_exit(1);
	close(ready);
	memset(&reply, 0, sizeof(reply));
	reply.data_size = len;
	reply.data.ptr.buffer = (binder_uintptr_t)payload;
	w = wbuf;
	put_cmd(&w, BC_ENTER_LOOPER, NULL, 0);
	for (done = 0; done < total; done++) {
		/* sends reply done - 1 (if any), waits for request done */
		r = binder_xfer(&b, wbuf, w - wbuf, &tr);
		if (r != (int)BR_TRANSACTION)
			_exit(2);
		bench_rt_server_mark(rt, done);
		w = wbuf;
		put_cmd(&w, BC_FREE_BUFFER, &tr.data.ptr.buffer,
			sizeof(binder_uintptr_t));
		put_cmd(&w, BC_REPLY, &reply, sizeof(reply));
	}
	/* send the last reply; the client's BR_REPLY ends the loop */
	{
		struct binder_write_read bwr = {
			.write_size = w - wbuf,
			.write_buffer = (binder_uintptr_t)wbuf,
		};

		if (ioctl(b.fd, BINDER_WRITE_READ, &bwr) < 0)
			_exit(3);
	}
	bench_rt_server_mark(rt, total);
	bench_rt_server_done(rt);
	_exit(0);
}

int binder_pingpong(size_t len, struct bench_rt *rt)
{
	struct binder_transaction_data tr, req;
	static char payload[65536];
	binder_uintptr_t pending = 0;
	char wbuf[128], *w;
	struct binder b;
	unsigned int rep, i;
	int pfd[2], r, st;
	pid_t pid;

	if (len > sizeof(payload) || access(BINDER_DEV, R_OK | W_OK))
		return -ENODEV;
	if (pipe(pfd))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		close(pfd[0]);
		binder_server(pfd[1], len, rt);
	}
	close(pfd[1]);
	if (read(pfd[0], &r, sizeof(r)) != sizeof(r))
		r = -EPIPE;
	close(pfd[0]);
	if (!r)
		r = binder_open(&b);
	if (r) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return r;
	}
	memset(&req, 0, sizeof(req));
	req.target.handle = 0;
	req.code = 1;
	req.data_size = len;
	req.data.ptr.buffer = (binder_uintptr_t)payload;

	for (rep = 0; rep <= rt->reps; ++rep) {
		unsigned int n = rep ? rt->iters : rt->warmup;
		u64 t0 = bench_now(), t1;

		for (i = 0; i < n; ++i) {
			w = wbuf;
			if (pending)
				put_cmd(&w, BC_FREE_BUFFER, &pending,
					sizeof(pending));
			put_cmd(&w, BC_TRANSACTION, &req, sizeof(req));
			r = binder_xfer(&b, wbuf, w - wbuf, &tr);
			if (r != (int)BR_REPLY || tr.data_size != len)
				bench_die("binder: transaction failed (%d)", r);
			pending = tr.data.ptr.buffer;
		}
		t1 = bench_now();
		bench_csw_now(&rt->cli[rep]);
		if (rep)
			rt->t[rep - 1] = (double)(t1 - t0) / n;
	}
	bench_rt_client_done(rt);
	waitpid(pid, &st, 0);
	close(b.fd);
	munmap(b.map, BINDER_MAP);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		bench_die("binder: server failed (status %d)", st);
	return 0;
}
