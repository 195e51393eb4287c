// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-broker bootstrap: a client connects to the broker's AF_UNIX
 * socket, sends its hello with its peer fd and gets a handle to the
 * broker's node for it. Protocol: Documentation/bus1/broker.rst.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "broker-int.h"

static void welcome(int fd, int status, struct client *c, __u64 h)
{
	b1b_welcome(fd, status, c ? c->id : 0, h);
}

void process_hello(struct broker *b, int fd)
{
	struct b1b_hello h;
	struct ucred cred;
	struct client *c = NULL;
	__u64 h_client = BUS1_HANDLE_INVALID;
	int peer_fd = -1, r;

	r = b1b_hello_recv(fd, &h, &peer_fd, &cred);
	if (r == -EAGAIN)
		return;
	if (r < 0)
		goto out;
	c = client_new(b, cred.uid, cred.pid);
	r = -ENOSPC;
	if (!c)
		goto out;
	/* a handle to the client's reply node, taken through its own fd */
	r = b1b_take_client_node(b->peer, peer_fd, h.reply_node, &c->reply);
	if (r < 0)
		goto out;
	r = bus1_handle_transfer_fd(b->peer, c->node, peer_fd, &h_client);
out:
	if (r < 0 && c) {
		client_free(b, c);
		c = NULL;
	}
	welcome(fd, r, c, h_client);
	if (c)
		logm(b, 2, "client %llu connected (pid %d, uid %u)",
		     (unsigned long long)c->id, (int)cred.pid,
		     (unsigned int)cred.uid);
	else
		b->n_rejected++;
	if (peer_fd >= 0)
		close(peer_fd);
}

void accept_conns(struct broker *b)
{
	int fd;

	for (;;) {
		fd = accept4(b->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (b->n_conns == MAX_CONNS) {
			/* too many half-open connections: refuse */
			welcome(fd, -EBUSY, NULL, BUS1_HANDLE_INVALID);
			close(fd);
			b->n_rejected++;
			continue;
		}
		b->conns[b->n_conns].fd = fd;
		b->conns[b->n_conns].deadline = now_ms() + CONN_TIMEOUT_MS;
		b->n_conns++;
	}
}

int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0666) < 0 || listen(fd, 64) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}
