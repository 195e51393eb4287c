// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-broker core: bootstrap, name registry, watches, activation.
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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "broker.h"

#define MAX_CLIENTS		1024
#define MAX_NAMES		4096
#define MAX_NAMES_PER_CLIENT	64
#define MAX_WATCHES_PER_CLIENT	64
#define MAX_PENDING_LOOKUPS	64
#define MAX_CONNS		32
#define CONN_TIMEOUT_MS		2000
#define BATCH			64
#define SPAWN_REPLY_NODE	0x4ULL	/* never chosen by libbus1 */

struct client {
	__u64 id;
	__u64 node;		/* broker's node this client talks to */
	__u64 reply;		/* broker's handle to the client's reply node */
	uid_t uid;
	pid_t pid;
	bool watch_all;
	unsigned int n_watches;
	char *watches[MAX_WATCHES_PER_CLIENT];
	unsigned int n_names;
	unsigned int n_batch;	/* requests in the current batch */
};

struct lookup {
	__u64 client_id;
	__u32 serial;
};

struct name {
	char name[B1B_NAME_MAX + 1];
	struct client *owner;	/* NULL: only activation state */
	__u64 handle;		/* broker's handle to the owner's node */
	pid_t activating;
	long long deadline;
	unsigned int n_lookups;
	struct lookup lookups[MAX_PENDING_LOOKUPS];
};

struct conn {
	int fd;
	long long deadline;
};

struct broker {
	const struct broker_config *cfg;
	struct policy policy;
	struct bus1_peer *peer;
	int listen_fd;
	unsigned int n_clients;
	struct client *clients[MAX_CLIENTS];
	unsigned int n_names;
	struct name *names[MAX_NAMES];
	unsigned int n_conns;
	struct conn conns[MAX_CONNS];
	__u64 next_client_id;
	/* statistics (GET_STATS) */
	__u64 n_requests, n_rejected, n_dropped, n_events;
};

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

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void logm(struct broker *b, int level, const char *fmt, ...)
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

static struct client *client_by_node(struct broker *b, __u64 node)
{
	unsigned int i;

	for (i = 0; i < b->n_clients; i++)
		if (b->clients[i]->node == node)
			return b->clients[i];
	return NULL;
}

static struct client *client_by_id(struct broker *b, __u64 id)
{
	unsigned int i;

	for (i = 0; i < b->n_clients; i++)
		if (b->clients[i]->id == id)
			return b->clients[i];
	return NULL;
}

static struct name *name_find(struct broker *b, const char *n)
{
	unsigned int i;

	for (i = 0; i < b->n_names; i++)
		if (!strcmp(b->names[i]->name, n))
			return b->names[i];
	return NULL;
}

static void name_remove(struct broker *b, struct name *n)
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

static int send_to(struct broker *b, __u64 dst, const void *data, size_t len,
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
static void reply_status(struct broker *b, struct client *c, __u8 op,
			 __u32 serial, int status)
{
	unsigned char buf[B1B_HDR_SIZE];
	struct b1b_buf w;

	b1b_buf_init(&w, buf, sizeof(buf));
	b1b_put_hdr(&w, op, serial, status);
	if (b1b_finish(&w) > 0)
		send_to(b, c->reply, buf, w.len, NULL, 0);
}

static void reply_owner(struct broker *b, struct client *c, __u32 serial,
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
static void emit_owner_changed(struct broker *b, const char *name,
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
static void name_drop_owner(struct broker *b, struct name *n)
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

static void fail_lookups(struct broker *b, struct name *n, int err)
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

static void client_free(struct broker *b, struct client *c)
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

static void client_gone(struct broker *b, struct client *c, const char *why)
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

static struct client *client_new(struct broker *b, uid_t uid, pid_t pid)
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

/* --- activation --- */

static int spawn(struct broker *b, struct name *n, const struct policy_act *a)
{
	char env_h[64], env_r[64], env_i[64], env_fd[32];
	struct bus1_peer *child_peer = NULL;
	struct client *c;
	__u64 h;
	pid_t pid;
	int r, fd;

	r = bus1_peer_new(&child_peer);
	if (r < 0)
		return r;
	fd = bus1_peer_get_fd(child_peer);
	c = client_new(b, getuid(), 0);
	if (!c) {
		bus1_peer_free(child_peer);
		return -ENOMEM;
	}
	/* create the child's reply node inside its peer, take a handle */
	r = bus1_handle_transfer_fd(child_peer, SPAWN_REPLY_NODE,
				    bus1_peer_get_fd(b->peer), &c->reply);
	if (r >= 0)
		r = bus1_handle_transfer(b->peer, c->node, child_peer, &h);
	if (r < 0)
		goto fail;
	snprintf(env_h, sizeof(env_h), "%s=0x%llx", B1B_HANDLE_ENV,
		 (unsigned long long)h);
	snprintf(env_r, sizeof(env_r), "%s=0x%llx", B1B_REPLY_ENV,
		 SPAWN_REPLY_NODE);
	snprintf(env_i, sizeof(env_i), "%s=%llu", B1B_ID_ENV,
		 (unsigned long long)c->id);
	snprintf(env_fd, sizeof(env_fd), "%s=3", BUS1_PEER_FD_ENV);

	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto fail;
	}
	if (!pid) {
		sigset_t ss;

		sigemptyset(&ss);
		sigprocmask(SIG_SETMASK, &ss, NULL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		/* dup2() onto itself would keep FD_CLOEXEC */
		if (fd == 3 ? fcntl(fd, F_SETFD, 0) < 0 : dup2(fd, 3) < 0)
			_exit(127);
		putenv(env_h);
		putenv(env_r);
		putenv(env_i);
		putenv(env_fd);
		setenv(B1B_SOCKET_ENV, b->cfg->socket_path, 1);
		execv(a->argv[0], a->argv);
		_exit(127);
	}
	c->pid = pid;
	n->activating = pid;
	n->deadline = now_ms() + b->cfg->activation_timeout_ms;
	bus1_peer_free(child_peer);
	logm(b, 1, "activating %s: started %s as pid %d (client %llu)",
	     n->name, a->argv[0], (int)pid, (unsigned long long)c->id);
	return 0;

fail:
	client_free(b, c);
	bus1_peer_free(child_peer);
	return r;
}

static void reap_children(struct broker *b)
{
	unsigned int i;
	struct name *n;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		logm(b, 1, "pid %d exited (status %d)", (int)pid,
		     WIFEXITED(status) ? WEXITSTATUS(status) :
		     128 + WTERMSIG(status));
		for (i = 0; i < b->n_names; i++) {
			n = b->names[i];
			if (n->activating != pid)
				continue;
			n->activating = 0;
			if (!n->owner) {
				fail_lookups(b, n, -ESRCH);
				name_remove(b, n);
				i--;
			}
		}
	}
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

/* --- requests --- */

struct send_dst {
	struct broker *b;
	struct client *owner;	/* NULL: nobody owns @name yet */
	const char *name;
};

/*
 * A send rule names a destination by the names its owner owns (dbus.rst,
 * *Policy*): looking up another name of the same client is no way around a
 * deny. A name without owner (activation) is matched as asked.
 */
static bool send_dst_matches(void *ctx, const char *pattern)
{
	struct send_dst *d = ctx;
	unsigned int i;

	if (!d->owner)
		return policy_pattern_match(pattern, d->name);
	for (i = 0; i < d->b->n_names; i++)
		if (d->b->names[i]->owner == d->owner &&
		    policy_pattern_match(pattern, d->b->names[i]->name))
			return true;
	return false;
}

/*
 * may @c get a handle to the owner of @name (@owner, or NULL)? The handle
 * is the capability to send: the send rules are applied here, as
 * bus1-dbus-broker applies them to GetConnectionHandle
 */
static bool may_send(struct broker *b, struct client *c, struct client *owner,
		     const char *name)
{
	struct send_dst d = { b, owner, name };

	if (policy_may_send(&b->policy, c->uid, send_dst_matches, &d))
		return true;
	logm(b, 2, "client %llu (uid %u) may not send to %s: no handle",
	     (unsigned long long)c->id, (unsigned int)c->uid, name);
	return false;
}

static int req_request_name(struct broker *b, struct client *c,
			    const char *name, const __u64 *handles,
			    bool *keep_handle)
{
	struct name *n;
	unsigned int i;

	if (handles[0] == BUS1_HANDLE_INVALID)
		return -EHOSTUNREACH;	/* owner node already dead */
	if (!(handles[0] & BUS1_HANDLE_FLAG_REMOTE))
		return -EINVAL;		/* one of the broker's own nodes */
	if (!policy_may_own(&b->policy, name, c->uid))
		return -EACCES;
	n = name_find(b, name);
	if (n && n->owner) {
		if (n->owner == c && n->handle == handles[0])
			return 0;
		return n->owner == c ? -EALREADY : -EEXIST;
	}
	if (c->n_names >= MAX_NAMES_PER_CLIENT)
		return -ENOSPC;
	if (!n) {
		if (b->n_names == MAX_NAMES)
			return -ENOSPC;
		n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		strcpy(n->name, name);
		b->names[b->n_names++] = n;
	}
	n->owner = c;
	n->handle = handles[0];
	c->n_names++;
	*keep_handle = true;
	logm(b, 1, "client %llu (uid %u) owns %s", (unsigned long long)c->id,
	     (unsigned int)c->uid, name);
	emit_owner_changed(b, name, 0, c->id);
	for (i = 0; i < n->n_lookups; i++) {
		struct client *w = client_by_id(b, n->lookups[i].client_id);

		/* checked again now that the name has an owner */
		if (w && may_send(b, w, c, name))
			reply_owner(b, w, n->lookups[i].serial, n);
		else if (w)
			reply_status(b, w, B1B_OP_GET_NAME_OWNER |
				     B1B_OP_REPLY, n->lookups[i].serial,
				     -EACCES);
	}
	n->n_lookups = 0;
	return 0;
}

static int req_release_name(struct broker *b, struct client *c,
			    const char *name)
{
	struct name *n = name_find(b, name);

	if (!n || !n->owner)
		return -ENOENT;
	if (n->owner != c)
		return -EPERM;
	name_drop_owner(b, n);
	return 0;
}

/* returns 1 if the reply is deferred (activation) or was already sent */
static int req_get_name_owner(struct broker *b, struct client *c,
			      __u32 serial, const char *name)
{
	const struct policy_act *a;
	struct name *n = name_find(b, name);
	int r;

	if (n && n->owner) {
		if (!may_send(b, c, n->owner, name))
			return -EACCES;
		reply_owner(b, c, serial, n);
		return 1;
	}
	a = policy_activation(&b->policy, name);
	if (!a)
		return -ENOENT;
	if (!may_send(b, c, NULL, name))
		return -EACCES;
	if (!n) {
		if (b->n_names == MAX_NAMES)
			return -ENOSPC;
		n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		strcpy(n->name, name);
		n->handle = BUS1_HANDLE_INVALID;
		b->names[b->n_names++] = n;
	}
	if (n->n_lookups == MAX_PENDING_LOOKUPS)
		return -EBUSY;
	if (!n->activating) {
		r = spawn(b, n, a);
		if (r < 0) {
			if (!n->n_lookups)
				name_remove(b, n);
			logm(b, 1, "activation of %s failed: %s", name,
			     strerror(-r));
			return r;
		}
	}
	n->lookups[n->n_lookups].client_id = c->id;
	n->lookups[n->n_lookups].serial = serial;
	n->n_lookups++;
	return 1;
}

static int req_list_names(struct broker *b, struct client *c, __u32 serial)
{
	static unsigned char buf[B1B_MAX_REPLY];
	unsigned int i, count = 0;
	struct b1b_buf w;
	struct name *n;

	b1b_buf_init(&w, buf, sizeof(buf));
	b1b_put_hdr(&w, B1B_OP_LIST_NAMES | B1B_OP_REPLY, serial, 0);
	for (i = 0; i < b->n_names; i++)
		count += !!b->names[i]->owner;
	for (i = 0; i < b->policy.n_acts; i++) {
		n = name_find(b, b->policy.acts[i].name);
		count += !(n && n->owner);
	}
	b1b_put_u32(&w, count);
	for (i = 0; i < b->n_names; i++) {
		n = b->names[i];
		if (!n->owner)
			continue;
		b1b_put_str(&w, n->name);
		b1b_put_u64(&w, n->owner->id);
		b1b_put_u8(&w, !!policy_activation(&b->policy, n->name));
	}
	for (i = 0; i < b->policy.n_acts; i++) {
		n = name_find(b, b->policy.acts[i].name);
		if (n && n->owner)
			continue;
		b1b_put_str(&w, b->policy.acts[i].name);
		b1b_put_u64(&w, 0);
		b1b_put_u8(&w, 1);
	}
	if (b1b_finish(&w) < 0)
		return -EMSGSIZE;
	send_to(b, c->reply, buf, w.len, NULL, 0);
	return 1;
}

static int req_watch(struct client *c, const char *name, bool add)
{
	unsigned int i;

	if (!*name) {
		c->watch_all = add;
		return 0;
	}
	if (!b1b_name_valid(name))
		return -EINVAL;
	for (i = 0; i < c->n_watches; i++) {
		if (!strcmp(c->watches[i], name)) {
			if (!add) {
				free(c->watches[i]);
				c->watches[i] = c->watches[--c->n_watches];
			}
			return 0;
		}
	}
	if (!add)
		return -ENOENT;
	if (c->n_watches == MAX_WATCHES_PER_CLIENT)
		return -ENOSPC;
	c->watches[c->n_watches] = strdup(name);
	if (!c->watches[c->n_watches])
		return -ENOMEM;
	c->n_watches++;
	return 0;
}

static int req_stats(struct broker *b, struct client *c, __u32 serial)
{
	unsigned char buf[B1B_HDR_SIZE + 6 * 8];
	struct b1b_buf w;

	b1b_buf_init(&w, buf, sizeof(buf));
	b1b_put_hdr(&w, B1B_OP_GET_STATS | B1B_OP_REPLY, serial, 0);
	b1b_put_u64(&w, b->n_clients);
	b1b_put_u64(&w, b->n_names);
	b1b_put_u64(&w, b->n_requests);
	b1b_put_u64(&w, b->n_rejected);
	b1b_put_u64(&w, b->n_dropped);
	b1b_put_u64(&w, b->n_events);
	if (b1b_finish(&w) < 0)
		return -EMSGSIZE;
	send_to(b, c->reply, buf, w.len, NULL, 0);
	return 1;
}

static void handle_request(struct broker *b, struct client *c,
			   const struct bus1_message *m)
{
	char name[B1B_NAME_MAX + 1] = "";
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	bool keep_handle = false, takes_name, takes_handle;
	size_t i;
	int r;

	b->n_requests++;
	if (m->n_bytes > B1B_MAX_MSG) {
		r = -EMSGSIZE;
		b1b_parse_hdr(m->data, B1B_HDR_SIZE - 1, &hdr, &body);
	} else {
		r = b1b_parse_hdr(m->data, m->n_bytes, &hdr, &body);
	}
	if (!r && (hdr.flags || hdr.status))
		r = -EINVAL;
	if (r < 0) {
		reply_status(b, c, B1B_OP_ERROR, hdr.serial, r);
		goto out;
	}

	switch (hdr.opcode) {
	case B1B_OP_REQUEST_NAME:
	case B1B_OP_RELEASE_NAME:
	case B1B_OP_GET_NAME_OWNER:
	case B1B_OP_WATCH:
	case B1B_OP_UNWATCH:
		takes_name = true;
		break;
	case B1B_OP_LIST_NAMES:
	case B1B_OP_PING:
	case B1B_OP_GET_STATS:
		takes_name = false;
		break;
	default:
		reply_status(b, c, B1B_OP_ERROR, hdr.serial, -EOPNOTSUPP);
		r = -EOPNOTSUPP;
		goto out;
	}
	takes_handle = hdr.opcode == B1B_OP_REQUEST_NAME;

	if (takes_name)
		b1b_get_str(&body, name, sizeof(name));
	r = b1b_end(&body);
	if (!r && m->n_handles != takes_handle)
		r = -EINVAL;
	if (!r && takes_name && !b1b_name_valid(name) &&
	    !(*name == 0 && (hdr.opcode == B1B_OP_WATCH ||
			     hdr.opcode == B1B_OP_UNWATCH)))
		r = -EINVAL;
	if (r < 0)
		goto reply;

	switch (hdr.opcode) {
	case B1B_OP_REQUEST_NAME:
		r = req_request_name(b, c, name, m->handles, &keep_handle);
		break;
	case B1B_OP_RELEASE_NAME:
		r = req_release_name(b, c, name);
		break;
	case B1B_OP_GET_NAME_OWNER:
		r = req_get_name_owner(b, c, hdr.serial, name);
		break;
	case B1B_OP_LIST_NAMES:
		r = req_list_names(b, c, hdr.serial);
		break;
	case B1B_OP_WATCH:
	case B1B_OP_UNWATCH:
		r = req_watch(c, name, hdr.opcode == B1B_OP_WATCH);
		break;
	case B1B_OP_PING:
		r = 0;
		break;
	case B1B_OP_GET_STATS:
		r = req_stats(b, c, hdr.serial);
		break;
	}
reply:
	if (r <= 0)
		reply_status(b, c, hdr.opcode | B1B_OP_REPLY, hdr.serial, r);
out:
	if (r < 0) {
		b->n_rejected++;
		logm(b, 2, "client %llu: %s rejected: %s",
		     (unsigned long long)c->id, b1b_op_name(hdr.opcode),
		     strerror(-r));
	}
	for (i = keep_handle ? 1 : 0; i < m->n_handles; i++)
		if (m->handles[i] != BUS1_HANDLE_INVALID)
			bus1_handle_release(b->peer, m->handles[i]);
}

/* one of our handles reports its node destroyed */
static void handle_destroy(struct broker *b, __u64 h)
{
	unsigned int i;
	struct name *n;

	for (i = 0; i < b->n_clients; i++) {
		if (b->clients[i]->reply == h) {
			client_gone(b, b->clients[i], "reply node destroyed");
			i = -1;	/* list changed, rescan */
		}
	}
	for (i = 0; i < b->n_names; i++) {
		n = b->names[i];
		if (n->owner && n->handle == h) {
			logm(b, 1, "owner of %s died", n->name);
			name_drop_owner(b, n);
			i = -1;
		}
	}
}

/*
 * The kernel's sender quotas bound how much of the broker's queue one user
 * can fill; this bounds how long one client can keep the broker busy. The
 * broker drains its queue in batches of at most BATCH messages, never more
 * than were queued when the batch started; a client with more than
 * max_burst requests in one batch had that many queued at once, which a
 * client waiting for its replies never has: it is cut off (its node is
 * destroyed, so its further sends fail and queued ones are dropped cheaply).
 */
static bool over_burst(struct broker *b, struct client *c)
{
	return b->cfg->max_burst && ++c->n_batch > b->cfg->max_burst;
}

static void process_bus1(struct broker *b)
{
	struct bus1_message m = { .offset = BUS1_OFFSET_INVALID };
	struct bus1_peer_stats st;
	unsigned int k, batch = BATCH;
	struct client *c;
	size_t i;
	int r;

	/*
	 * Take at most what is queued now, so that a batch never contains
	 * requests a client sent after it got a reply from this batch.
	 */
	if (b->cfg->max_burst && !bus1_peer_get_stats(b->peer, &st) &&
	    st.queued < batch)
		batch = st.queued ? st.queued : 1;
	for (k = 0; k < b->n_clients; k++)
		b->clients[k]->n_batch = 0;
	/*
	 * Each RECV releases the slice of the message handled before it
	 * (BUS1_RECV_FLAG_RELEASE): one ioctl per message, not two. The
	 * kernel releases it even when nothing is queued.
	 */
	for (k = 0; k < batch; k++) {
		r = bus1_recv_next(b->peer, 0, &m);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			logm(b, 0, "RECV failed: %s", bus1_strerror(r));
			break;
		}
		switch (m.type) {
		case BUS1_MSG_DATA:
			c = client_by_node(b, m.destination);
			if (c && over_burst(b, c)) {
				b->n_rejected++;
				client_gone(b, c, "flooding, cut off");
				c = NULL;
			}
			if (c) {
				handle_request(b, c, &m);
			} else {
				for (i = 0; i < m.n_handles; i++)
					if (m.handles[i] != BUS1_HANDLE_INVALID)
						bus1_handle_release(b->peer,
								    m.handles[i]);
			}
			break;
		case BUS1_MSG_NODE_DESTROY:
			handle_destroy(b, m.destination);
			break;
		case BUS1_MSG_NODE_RELEASE:
			c = client_by_node(b, m.destination);
			if (c)
				client_gone(b, c, "released the broker handle");
			break;
		}
	}
	bus1_message_release(&m);
}

/* --- bootstrap --- */

static void welcome(int fd, int status, struct client *c, __u64 h)
{
	b1b_welcome(fd, status, c ? c->id : 0, h);
}

static void process_hello(struct broker *b, int fd)
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

static void accept_conns(struct broker *b)
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

static int listen_on(const char *path)
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
