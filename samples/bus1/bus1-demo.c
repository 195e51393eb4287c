// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-demo - a walk through the raw bus1 ABI, printing a transcript.
 *
 * Three peers: "server", "client" and "watcher". The server creates a node,
 * hands a handle to it to the client (HANDLE_TRANSFER), the client sends a
 * request carrying a handle to its own reply node, the server answers
 * through that handle, multicasts to client and watcher, and finally
 * destroys its node so that every holder receives NODE_DESTROY.
 *
 * Uses only <linux/bus1.h>; no library.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/bus1.h>

#define POOL_SIZE (16UL * 1024 * 1024)

struct peer {
	const char *name;
	int fd;
	const __u8 *pool;
};

static int failed;

static void die(const char *what, int err)
{
	printf("FAILED: %s: %s (errno %d)\n", what, strerror(err), err);
	exit(1);
}

static void peer_open(struct peer *p, const char *name)
{
	void *map;

	p->name = name;
	p->fd = open("/dev/bus1", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (p->fd < 0)
		die("open /dev/bus1", errno);
	map = mmap(NULL, POOL_SIZE, PROT_READ, MAP_SHARED, p->fd, 0);
	if (map == MAP_FAILED)
		die("mmap pool", errno);
	p->pool = map;
	printf("%-8s opened /dev/bus1 as fd %d, pool mapped (%lu MiB window)\n",
	       name, p->fd, POOL_SIZE >> 20);
}

static __u64 transfer(struct peer *src, __u64 id, struct peer *dst)
{
	struct bus1_cmd_handle_transfer t = {
		.src_handle = id,
		.dst_fd = dst ? (__u64)dst->fd : (__u64)-1,
	};

	if (ioctl(src->fd, BUS1_CMD_HANDLE_TRANSFER, &t) < 0)
		die("HANDLE_TRANSFER", errno);
	return t.dst_handle;
}

static void send_msg(struct peer *p, const __u64 *dst, size_t n_dst,
		     const char *text, const __u64 *handles, size_t n_h)
{
	struct iovec vec = { (void *)text, strlen(text) };
	struct bus1_cmd_send s = {
		.ptr_destinations = (uintptr_t)dst,
		.n_destinations = n_dst,
		.ptr_vecs = (uintptr_t)&vec,
		.n_vecs = 1,
		.ptr_handles = (uintptr_t)handles,
		.n_handles = n_h,
	};

	if (ioctl(p->fd, BUS1_CMD_SEND, &s) < 0)
		die("SEND", errno);
}

static const char *type_name(__u64 type)
{
	switch (type) {
	case BUS1_MSG_DATA:
		return "DATA";
	case BUS1_MSG_NODE_DESTROY:
		return "NODE_DESTROY";
	case BUS1_MSG_NODE_RELEASE:
		return "NODE_RELEASE";
	}
	return "???";
}

/* Receive one message, print it, return the first attached handle. */
static __u64 recv_msg(struct peer *p, __u64 want_type)
{
	struct bus1_cmd_recv r = { .max_offset = POOL_SIZE };
	const __u64 *h;
	__u64 first = BUS1_HANDLE_INVALID;
	__u64 i;

	if (ioctl(p->fd, BUS1_CMD_RECV, &r) < 0)
		die("RECV", errno);
	printf("%-8s <- %s on handle 0x%llx", p->name, type_name(r.msg.type),
	       (unsigned long long)r.msg.destination);
	if (r.msg.flags & BUS1_MSG_FLAG_CONTINUE)
		printf(" [CONTINUE]");
	if (r.msg.type == BUS1_MSG_DATA) {
		printf(": \"%.*s\"", (int)r.msg.n_bytes, p->pool + r.msg.offset);
		h = (const __u64 *)(p->pool + r.msg.offset +
				       ((r.msg.n_bytes + 7) & ~7ULL));
		for (i = 0; i < r.msg.n_handles; i++) {
			printf("%s0x%llx", i ? ", " : " + handles ",
			       (unsigned long long)h[i]);
			if (!i)
				first = h[i];
		}
		printf(" (slice @%llu)\n", (unsigned long long)r.msg.offset);
		if (ioctl(p->fd, BUS1_CMD_SLICE_RELEASE, &r.msg.offset) < 0)
			die("SLICE_RELEASE", errno);
	} else {
		printf("\n");
	}
	if (r.msg.type != want_type) {
		printf("FAILED: expected %s\n", type_name(want_type));
		failed = 1;
	}
	return first;
}

static void expect_empty(struct peer *p)
{
	struct bus1_cmd_recv r = { .max_offset = POOL_SIZE };

	if (ioctl(p->fd, BUS1_CMD_RECV, &r) == 0 || errno != EAGAIN) {
		printf("FAILED: %s: queue not empty\n", p->name);
		failed = 1;
	}
}

static void show_fdinfo(struct peer *p)
{
	char path[64], line[256], *v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", p->fd);
	f = fopen(path, "re");
	if (!f)
		return;
	printf("%-8s fdinfo:", p->name);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "bus1-", 5))
			continue;
		line[strcspn(line, "\n")] = 0;
		v = strchr(line, ':');
		if (!v)
			continue;
		*v++ = 0;
		v += strspn(v, " \t");
		printf(" %s=%s", line + 5, v);
	}
	printf("\n");
	fclose(f);
}

int main(void)
{
	struct peer server, client, watcher;
	__u64 node = 0x100, reply_node = 0x200;
	__u64 h_client, h_watcher, h_reply, dsts[2];
	struct bus1_cmd_nodes_destroy d = {
		.ptr_nodes = (uintptr_t)&node,
		.n_nodes = 1,
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("== bus1 raw ABI demo ==\n");
	peer_open(&server, "server");
	peer_open(&client, "client");
	peer_open(&watcher, "watcher");

	h_client = transfer(&server, node, &client);
	printf("server   created node 0x%llx and gave the client handle 0x%llx\n",
	       (unsigned long long)node, (unsigned long long)h_client);
	h_watcher = transfer(&server, node, &watcher);
	printf("server   gave the watcher handle 0x%llx to the same node\n",
	       (unsigned long long)h_watcher);

	printf("client   -> request \"ping\" to 0x%llx, attaching its reply node 0x%llx\n",
	       (unsigned long long)h_client, (unsigned long long)reply_node);
	send_msg(&client, &h_client, 1, "ping", &reply_node, 1);
	h_reply = recv_msg(&server, BUS1_MSG_DATA);

	printf("server   -> reply \"pong\" through handle 0x%llx\n",
	       (unsigned long long)h_reply);
	send_msg(&server, &h_reply, 1, "pong", NULL, 0);
	recv_msg(&client, BUS1_MSG_DATA);

	printf("client   -> multicast \"hello all\" to the server node and its own node\n");
	dsts[0] = h_client;
	dsts[1] = reply_node;
	send_msg(&client, dsts, 2, "hello all", NULL, 0);
	recv_msg(&server, BUS1_MSG_DATA);
	recv_msg(&client, BUS1_MSG_DATA);

	show_fdinfo(&server);
	show_fdinfo(&client);

	printf("server   destroys node 0x%llx\n", (unsigned long long)node);
	if (ioctl(server.fd, BUS1_CMD_NODES_DESTROY, &d) < 0)
		die("NODES_DESTROY", errno);
	recv_msg(&server, BUS1_MSG_NODE_DESTROY);
	recv_msg(&client, BUS1_MSG_NODE_DESTROY);
	recv_msg(&watcher, BUS1_MSG_NODE_DESTROY);

	printf("server   releases its handle 0x%llx to the client's reply node\n",
	       (unsigned long long)h_reply);
	if (ioctl(server.fd, BUS1_CMD_HANDLE_RELEASE, &h_reply) < 0)
		die("HANDLE_RELEASE", errno);
	recv_msg(&client, BUS1_MSG_NODE_RELEASE);

	expect_empty(&server);
	expect_empty(&client);
	expect_empty(&watcher);
	close(server.fd);
	close(client.fd);
	close(watcher.fd);
	printf("== raw ABI demo %s ==\n", failed ? "FAILED" : "done");
	return failed;
}
