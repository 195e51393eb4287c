// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-broker core: clients, the name registry and its watches, and the
 * event loop. Bootstrap, activation and requests have files of their own
 * (broker-int.h).
 * Protocol: Documentation/bus1/broker.rst.
 *
 * Single-threaded event loop over the broker's bus1 peer, its listening
 * AF_UNIX socket, connections still in bootstrap, and a SIGCHLD pipe. The
 * broker never blocks on a client: bus1 sends do not block, replies that
 * cannot be queued (receiver quota, dead peer) are dropped and counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "broker-int.h"

static int sig_pipe[2] = { -1, -1 };

/* for results that do not matter (a full pipe, a vanished client) */
static void ignore_result(ssize_t r)
{
	(void)r;
}

/* signals are turned into bytes on a pipe the event loop polls */
static void on_signal(int sig)
{
	int saved = errno;
	char c = sig;

	ignore_result(write(sig_pipe[1], &c, 1));
	errno = saved;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void logm(struct broker *b, int level, const char *fmt, ...)
{
	va_list ap;

	if (level > b->cfg->verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "bus1-broker: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

struct client *client_by_node(struct broker *b, __u64 node)
{
	unsigned int i;

	for (i = 0; i < b->n_clients; i++)
		if (b->clients[i]->node == node)
			return b->clients[i];
	return NULL;
}

struct client *client_by_id(struct broker *b, __u64 id)
{
	unsigned int i;

	for (i = 0; i < b->n_clients; i++)
		if (b->clients[i]->id == id)
			return b->clients[i];
	return NULL;
}

struct name *name_find(struct broker *b, const char *n)
{
	unsigned int i;

	for (i = 0; i < b->n_names; i++)
		if (!strcmp(b->names[i]->name, n))
			return b->names[i];
	return NULL;
}

/* a new entry for @name, without owner or handle, to *np */
int name_add(struct broker *b, const char *name, struct name **np)
{
	struct name *n;

	if (b->n_names == MAX_NAMES)
		return -ENOSPC;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	strcpy(n->name, name);
	n->handle = BUS1_HANDLE_INVALID;
	b->names[b->n_names++] = n;
	*np = n;
	return 0;
}

void name_remove(struct broker *b, struct name *n)
{
	unsigned int i;

	for (i = 0; i < b->n_names; i++) {
		if (b->names[i] == n) {
			b->names[i] = b->names[--b->n_names];
			free(n);
			return;
		}
	}
}

int send_to(struct broker *b, __u64 dst, const void *data, size_t len,
	    const __u64 *handles, size_t n_handles)
{
	struct iovec v = { (void *)data, len };
	struct bus1_send s = {
		.destinations = &dst,
		.n_destinations = 1,
		.vecs = &v,
		.n_vecs = 1,
		.handles = handles,
		.n_handles = n_handles,
	};
	int r;

	r = bus1_send(b->peer, &s);
	if (r < 0) {
		b->n_dropped++;
		logm(b, 2, "dropped message to handle 0x%llx: %s",
		     (unsigned long long)dst, bus1_strerror(r));
	}
	return r;
}

/* a reply without body */
void reply_status(struct broker *b, struct client *c, __u8 op,
		  __u32 serial, int status)
{
	unsigned char buf[B1B_HDR_SIZE];
	struct b1b_buf w;

	b1b_buf_init(&w, buf, sizeof(buf));
	b1b_put_hdr(&w, op, serial, status);
	if (b1b_finish(&w) > 0)
		send_to(b, c->reply, buf, w.len, NULL, 0);
}

void reply_owner(struct broker *b, struct client *c, __u32 serial,
		 struct name *n)
{
	unsigned char buf[B1B_HDR_SIZE + 8];
	struct b1b_buf w;

	b1b_buf_init(&w, buf, sizeof(buf));
	b1b_put_hdr(&w, B1B_OP_GET_NAME_OWNER | B1B_OP_REPLY, serial, 0);
	b1b_put_u64(&w, n->owner->id);
	if (b1b_finish(&w) > 0)
		send_to(b, c->reply, buf, w.len, &n->handle, 1);
}

/* NameOwnerChanged to every watcher of @name, as one multicast transaction */
void emit_owner_changed(struct broker *b, const char *name,
			__u64 old_owner, __u64 new_owner)
{
	unsigned char buf[B1B_HDR_SIZE + 2 + B1B_NAME_MAX + 16];
	__u64 dsts[MAX_CLIENTS], errs[MAX_CLIENTS];
	struct b1b_buf w;
	struct iovec v;
	struct bus1_send s = { 0 };
	struct client *c;
	unsigned int i, j, n = 0;
	int r;

	logm(b, 1, "NameOwnerChanged %s: %llu -> %llu", name,
	     (unsigned long long)old_owner, (unsigned long long)new_owner);
	for (i = 0; i < b->n_clients; i++) {
		c = b->clients[i];
		if (c->watch_all) {
			dsts[n++] = c->reply;
			continue;
		}
		for (j = 0; j < c->n_watches; j++) {
			if (!strcmp(c->watches[j], name)) {
				dsts[n++] = c->reply;
				break;
			}
		}
	}
	if (!n)
		return;
	b1b_buf_init(&w, buf, sizeof(buf));
	b1b_put_hdr(&w, B1B_OP_NAME_OWNER_CHANGED, 0, 0);
	b1b_put_str(&w, name);
	b1b_put_u64(&w, old_owner);
	b1b_put_u64(&w, new_owner);
	if (b1b_finish(&w) < 0)
		return;
	v.iov_base = buf;
	v.iov_len = w.len;
	s.flags = BUS1_SEND_FLAG_CONTINUE;
	s.destinations = dsts;
	s.n_destinations = n;
	s.errors = errs;
	s.vecs = &v;
	s.n_vecs = 1;
	memset(errs, 0, sizeof(errs[0]) * n);
	r = bus1_send(b->peer, &s);
	if (r < 0) {
		b->n_dropped += n;
		logm(b, 1, "NameOwnerChanged multicast failed: %s",
		     bus1_strerror(r));
		return;
	}
	b->n_events++;
	for (i = 0; i < n; i++)
		if (errs[i])
			b->n_dropped++;
}

/* ownership of @n ends (release, owner death, client gone) */
void name_drop_owner(struct broker *b, struct name *n)
{
	__u64 old = n->owner->id;

	n->owner->n_names--;
	bus1_handle_release(b->peer, n->handle);
	n->owner = NULL;
	n->handle = BUS1_HANDLE_INVALID;
	emit_owner_changed(b, n->name, old, 0);
	if (!n->activating && !n->n_lookups)
		name_remove(b, n);
}

void fail_lookups(struct broker *b, struct name *n, int err)
{
	struct client *c;
	unsigned int i;

	for (i = 0; i < n->n_lookups; i++) {
		c = client_by_id(b, n->lookups[i].client_id);
		if (c)
			reply_status(b, c, B1B_OP_GET_NAME_OWNER |
				     B1B_OP_REPLY, n->lookups[i].serial, err);
	}
	n->n_lookups = 0;
}

void client_free(struct broker *b, struct client *c)
{
	unsigned int i;

	for (i = 0; i < b->n_clients; i++) {
		if (b->clients[i] == c) {
			b->clients[i] = b->clients[--b->n_clients];
			break;
		}
	}
	for (i = 0; i < c->n_watches; i++)
		free(c->watches[i]);
	if (c->node != BUS1_HANDLE_INVALID)
		bus1_node_destroy(b->peer, &c->node, 1,
				  BUS1_NODES_DESTROY_FLAG_RELEASE_HANDLES);
	if (c->reply != BUS1_HANDLE_INVALID)
		bus1_handle_release(b->peer, c->reply);
	free(c);
}

void client_gone(struct broker *b, struct client *c, const char *why)
{
	unsigned int i;
	struct name *n;

	/* short-lived clients (bus1ctl) only clutter the log at level 1 */
	logm(b, c->n_names ? 1 : 2, "client %llu (pid %d) gone: %s",
	     (unsigned long long)c->id, (int)c->pid, why);
	for (i = 0; i < b->n_names;) {
		n = b->names[i];
		if (n->owner == c) {
			name_drop_owner(b, n);
			if (i < b->n_names && b->names[i] != n)
				continue;	/* removed, slot refilled */
		}
		i++;
	}
	client_free(b, c);
}

struct client *client_new(struct broker *b, uid_t uid, pid_t pid)
{
	struct client *c;

	if (b->n_clients == MAX_CLIENTS)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->node = BUS1_HANDLE_INVALID;
	c->reply = BUS1_HANDLE_INVALID;
	if (bus1_node_new(b->peer, &c->node) < 0) {
		free(c);
		return NULL;
	}
	c->id = ++b->next_client_id;
	c->uid = uid;
	c->pid = pid;
	b->clients[b->n_clients++] = c;
	return c;
}

static void check_deadlines(struct broker *b, long long now)
{
	unsigned int i;
	struct name *n;

	for (i = 0; i < b->n_names; i++) {
		n = b->names[i];
		if (n->owner || !n->n_lookups || n->deadline > now)
			continue;
		logm(b, 1, "activation of %s timed out", n->name);
		fail_lookups(b, n, -ETIMEDOUT);
		if (n->activating)
			kill(n->activating, SIGTERM);
	}
	for (i = 0; i < b->n_conns;) {
		if (b->conns[i].deadline <= now) {
			close(b->conns[i].fd);
			b->conns[i] = b->conns[--b->n_conns];
			b->n_rejected++;
			continue;
		}
		i++;
	}
}

static int next_timeout(struct broker *b, long long now)
{
	long long t = -1, d;
	unsigned int i;

	for (i = 0; i < b->n_names; i++) {
		if (b->names[i]->owner || !b->names[i]->n_lookups)
			continue;
		d = b->names[i]->deadline - now;
		if (t < 0 || d < t)
			t = d;
	}
	for (i = 0; i < b->n_conns; i++) {
		d = b->conns[i].deadline - now;
		if (t < 0 || d < t)
			t = d;
	}
	if (t < 0)
		return -1;
	return t > 0 ? (int)t : 0;
}

int broker_run(const struct broker_config *cfg)
{
	struct pollfd pfd[3 + MAX_CONNS];
	struct sigaction sa = { .sa_handler = on_signal };
	char errbuf[256];
	struct broker *b;
	unsigned int i, n;
	int r, ret = 1;
	bool quit = false;
	char c;

	b = calloc(1, sizeof(*b));
	if (!b)
		return 1;
	b->cfg = cfg;
	b->listen_fd = -1;
	policy_init(&b->policy);
	if (cfg->policy_path) {
		r = policy_load(&b->policy, cfg->policy_path, errbuf,
				sizeof(errbuf));
		if (r < 0) {
			fprintf(stderr, "bus1-broker: policy %s: %s\n",
				cfg->policy_path, errbuf);
			goto out;
		}
	}
	r = bus1_peer_new(&b->peer);
	if (r < 0) {
		fprintf(stderr, "bus1-broker: cannot open %s: %s\n",
			BUS1_DEVICE_PATH, bus1_strerror(r));
		goto out;
	}
	b->fence = BUS1_HANDLE_INVALID;
	if (cfg->max_burst) {
		r = bus1_node_new(b->peer, &b->fence);
		if (r < 0) {
			fprintf(stderr, "bus1-broker: no fence node: %s\n",
				bus1_strerror(r));
			goto out;
		}
	}
	if (cfg->max_queue) {
		/* optionally bound the broker's queue (-q) */
		struct bus1_limits lim = { cfg->max_queue, BUS1_LIMIT_KEEP,
					   BUS1_LIMIT_KEEP, BUS1_LIMIT_KEEP };

		r = bus1_peer_reset(b->peer, 0, &lim);
		if (r < 0)
			logm(b, 0, "cannot limit the queue: %s",
			     bus1_strerror(r));
	}
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		goto out;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	b->listen_fd = listen_on(cfg->socket_path);
	if (b->listen_fd < 0) {
		fprintf(stderr, "bus1-broker: cannot listen on %s: %s\n",
			cfg->socket_path, strerror(-b->listen_fd));
		goto out;
	}
	logm(b, 1, "listening on %s (%u activatable names)",
	     cfg->socket_path, b->policy.n_acts);
	if (cfg->ready_fd >= 0) {
		ignore_result(write(cfg->ready_fd, "ready\n", 6));
		close(cfg->ready_fd);
	}

	while (!quit) {
		pfd[0].fd = bus1_peer_get_fd(b->peer);
		pfd[0].events = POLLIN;
		pfd[1].fd = b->listen_fd;
		pfd[1].events = POLLIN;
		pfd[2].fd = sig_pipe[0];
		pfd[2].events = POLLIN;
		n = b->n_conns;
		for (i = 0; i < n; i++) {
			pfd[3 + i].fd = b->conns[i].fd;
			pfd[3 + i].events = POLLIN;
		}
		r = poll(pfd, 3 + n, next_timeout(b, now_ms()));
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (pfd[2].revents & POLLIN)) {
			while (read(sig_pipe[0], &c, 1) > 0)
				if (c != SIGCHLD)
					quit = true;
			reap_children(b);
		}
		if (r > 0 && (pfd[0].revents & POLLIN))
			process_bus1(b);
		if (r > 0 && (pfd[0].revents & POLLHUP))
			break;
		/* bootstrap connections, highest index first (removal) */
		for (i = n; r > 0 && i-- > 0;) {
			if (!pfd[3 + i].revents)
				continue;
			process_hello(b, b->conns[i].fd);
			close(b->conns[i].fd);
			b->conns[i] = b->conns[--b->n_conns];
		}
		if (r > 0 && (pfd[1].revents & POLLIN))
			accept_conns(b);
		check_deadlines(b, now_ms());
	}
	ret = 0;
	logm(b, 1, "exiting");
out:
	if (b->listen_fd >= 0) {
		close(b->listen_fd);
		unlink(cfg->socket_path);
	}
	while (b->n_clients)
		client_free(b, b->clients[0]);
	while (b->n_names)
		name_remove(b, b->names[0]);
	for (i = 0; i < b->n_conns; i++)
		close(b->conns[i].fd);
	bus1_peer_free(b->peer);
	policy_clear(&b->policy);
	free(b);
	return ret;
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: bus1-broker [-s SOCKET] [-p POLICY] [-t MS] [-r FD] [-v]...\n"
		"  -s SOCKET  listen here (default %s)\n"
		"  -p POLICY  policy file (default: anyone may own any name)\n"
		"  -t MS      activation timeout (default 5000)\n"
		"  -r FD      write \"ready\" to FD once listening\n"
		"  -q SLICES  slice limit of the broker's peer (default: kernel's)\n"
		"  -B BURST   cut off clients with more requests queued at once\n"
		"             (default %d, 0: never)\n"
		"  -v         log connections and name changes (twice: more)\n",
		B1B_SOCKET_DEFAULT, BROKER_MAX_BURST);
}

int broker_main(int argc, char **argv)
{
	struct broker_config cfg = {
		.socket_path = B1B_SOCKET_DEFAULT,
		.activation_timeout_ms = 5000,
		.ready_fd = -1,
		.max_burst = BROKER_MAX_BURST,
	};
	int opt;

	while ((opt = getopt(argc, argv, "s:p:t:r:q:B:vh")) != -1) {
		switch (opt) {
		case 's':
			cfg.socket_path = optarg;
			break;
		case 'p':
			cfg.policy_path = optarg;
			break;
		case 't':
			cfg.activation_timeout_ms = atoi(optarg);
			break;
		case 'r':
			cfg.ready_fd = atoi(optarg);
			break;
		case 'q':
			cfg.max_queue = atoi(optarg);
			break;
		case 'B':
			cfg.max_burst = atoi(optarg);
			break;
		case 'v':
			cfg.verbose++;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		print_usage(stderr);
		return 2;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	return broker_run(&cfg);
}
