// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: the socket transport. libdbus's DBusServer listens,
 * authenticates (SASL EXTERNAL only) and negotiates unix fd passing; every
 * client is a DBusConnection whose messages go to bus_receive(). The main
 * loop is a plain poll() over libdbus's watches and timeouts plus a
 * signalfd (SIGCHLD for activation, SIGTERM/SIGINT to stop).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dbus-b1.h"
#include "dbus-socket.h"

#define DISPATCH_BATCH	32	/* messages of one client per loop turn */

struct sconn {
	struct bconn bc;
	struct sock *s;
	DBusConnection *conn;
	struct sconn *next;
	__u64 deadline_ms;		/* for authentication and Hello */
	bool authed;
	bool dead;			/* Disconnected seen; free it */
};

struct tmo {
	DBusTimeout *t;
	__u64 deadline_ms;
};

struct sock {
	struct bus *bus;
	DBusServer *server;
	struct sconn *conns;
	/* libdbus's watches and timeouts, polled by run_loop() */
	DBusWatch **watches;
	unsigned int n_watches, cap_watches;
	struct tmo *tmos;
	unsigned int n_tmos, cap_tmos;
	DBusWatch **polled;		/* watch of each pollfd this turn */
	unsigned int n_polled;
	unsigned int n_incomplete;
};

static dbus_bool_t add_watch(DBusWatch *w, void *data)
{
	struct sock *s = data;
	DBusWatch **v;

	if (s->n_watches == s->cap_watches) {
		s->cap_watches = s->cap_watches ? 2 * s->cap_watches : 64;
		v = realloc(s->watches, s->cap_watches * sizeof(*v));
		if (!v)
			return FALSE;
		s->watches = v;
	}
	s->watches[s->n_watches++] = w;
	return TRUE;
}

static void remove_watch(DBusWatch *w, void *data)
{
	struct sock *s = data;
	unsigned int i;

	for (i = 0; i < s->n_watches; i++) {
		if (s->watches[i] == w) {
			s->watches[i] = s->watches[--s->n_watches];
			break;
		}
	}
	/* it may be one we are about to handle in this turn */
	for (i = 0; i < s->n_polled; i++)
		if (s->polled[i] == w)
			s->polled[i] = NULL;
}

static void toggle_watch(DBusWatch *w, void *data)
{
	/* enabled state is read when the pollfds are built */
}

static void tmo_arm(struct tmo *t)
{
	t->deadline_ms = bus_now_ms() + dbus_timeout_get_interval(t->t);
}

static dbus_bool_t add_timeout(DBusTimeout *t, void *data)
{
	struct sock *s = data;
	struct tmo *v;

	if (s->n_tmos == s->cap_tmos) {
		s->cap_tmos = s->cap_tmos ? 2 * s->cap_tmos : 16;
		v = realloc(s->tmos, s->cap_tmos * sizeof(*v));
		if (!v)
			return FALSE;
		s->tmos = v;
	}
	s->tmos[s->n_tmos].t = t;
	tmo_arm(&s->tmos[s->n_tmos++]);
	return TRUE;
}

static void remove_timeout(DBusTimeout *t, void *data)
{
	struct sock *s = data;
	unsigned int i;

	for (i = 0; i < s->n_tmos; i++) {
		if (s->tmos[i].t == t) {
			s->tmos[i] = s->tmos[--s->n_tmos];
			return;
		}
	}
}

static void toggle_timeout(DBusTimeout *t, void *data)
{
	struct sock *s = data;
	unsigned int i;

	for (i = 0; i < s->n_tmos; i++)
		if (s->tmos[i].t == t)
			tmo_arm(&s->tmos[i]);
}

/* --- bconn_ops ------------------------------------------------------- */

static struct sconn *to_sconn(struct bconn *c)
{
	return c->priv;
}

static bool sc_send(struct bconn *c, DBusMessage *m)
{
	return dbus_connection_send(to_sconn(c)->conn, m, NULL);
}

static long sc_outgoing_size(struct bconn *c)
{
	return dbus_connection_get_outgoing_size(to_sconn(c)->conn);
}

static bool sc_can_pass_fds(struct bconn *c)
{
	return dbus_connection_can_send_type(to_sconn(c)->conn,
					     DBUS_TYPE_UNIX_FD);
}

static void sc_close(struct bconn *c)
{
	dbus_connection_close(to_sconn(c)->conn);
}

static const struct bconn_ops sc_ops = {
	.send = sc_send,
	.outgoing_size = sc_outgoing_size,
	.can_pass_fds = sc_can_pass_fds,
	.close = sc_close,
};

static DBusHandlerResult sc_filter(DBusConnection *conn, DBusMessage *m,
				   void *data)
{
	struct sconn *sc = data;

	if (sc->dead)
		return DBUS_HANDLER_RESULT_HANDLED;
	if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected") &&
	    !dbus_message_get_sender(m)) {
		sc->dead = true;
		bus_disconnect(&sc->bc);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	bus_receive(&sc->bc, m);
	return DBUS_HANDLER_RESULT_HANDLED;
}

static dbus_bool_t sc_allow_user(DBusConnection *conn, unsigned long uid,
				 void *data)
{
	struct sconn *sc = data;

	return bus_user_allowed(sc->s->bus, &sc->bc, (uid_t)uid);
}

static void new_connection(DBusServer *server, DBusConnection *conn,
			   void *data)
{
	struct sock *s = data;
	struct bus *b = s->bus;
	struct sconn *sc;

	if (s->n_incomplete >= b->limits.max_incomplete_connections) {
		bus_log(b, 0, "refusing a connection: %u %s",
			s->n_incomplete,
			"are still authenticating (max_incomplete_connections)");
		dbus_connection_close(conn);
		return;
	}
	sc = calloc(1, sizeof(*sc));
	if (!sc) {
		dbus_connection_close(conn);
		return;
	}
	sc->s = s;
	sc->conn = dbus_connection_ref(conn);
	sc->deadline_ms = bus_now_ms() + b->limits.auth_timeout_ms;
	bconn_init(b, &sc->bc, &sc_ops, sc);
	dbus_connection_set_exit_on_disconnect(conn, FALSE);
	dbus_connection_set_unix_user_function(conn, sc_allow_user, sc, NULL);
	dbus_connection_set_max_message_size(conn, b->limits.max_message_size);
	dbus_connection_set_max_message_unix_fds(conn,
						 b->limits.max_message_fds);
	/* read at most a few messages ahead of what we dispatched */
	dbus_connection_set_max_received_size(conn,
					      2 * b->limits.max_message_size);
	if (!dbus_connection_set_watch_functions(conn, add_watch, remove_watch,
						 toggle_watch, s, NULL) ||
	    !dbus_connection_set_timeout_functions(conn, add_timeout,
						   remove_timeout,
						   toggle_timeout, s, NULL) ||
	    !dbus_connection_add_filter(conn, sc_filter, sc, NULL)) {
		bus_log(b, 0, "out of memory setting up a connection");
		sc->bc.closing = true;
		dbus_connection_close(conn);
	}
	sc->next = s->conns;
	s->conns = sc;
	s->n_incomplete++;
}

/* --- main loop ------------------------------------------------------- */

/* the client's supplementary groups (GetConnectionCredentials) */
static void peer_groups(struct sconn *sc)
{
	socklen_t len = 64 * sizeof(gid_t);
	gid_t *g = NULL, *ng;
	int fd, i;

	if (!dbus_connection_get_socket(sc->conn, &fd))
		return;
	for (i = 0; i < 2; i++) {
		ng = realloc(g, len ? len : 1);
		if (!ng)
			break;
		g = ng;
		if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len)) {
			sc->bc.groups = g;
			sc->bc.n_groups = len / sizeof(gid_t);
			return;
		}
		if (errno != ERANGE)
			break;
	}
	free(g);
}

/* dispatch a batch of each client; true if some have more */
static bool dispatch_all(struct sock *s)
{
	struct sconn *sc, **pp;
	bool more = false;
	int i;

	for (sc = s->conns; sc; sc = sc->next) {
		if (!sc->authed && !sc->dead &&
		    dbus_connection_get_is_authenticated(sc->conn)) {
			unsigned long pid;

			sc->authed = true;
			if (dbus_connection_get_unix_process_id(sc->conn, &pid))
				sc->bc.pid = pid;
			peer_groups(sc);
		}
		for (i = 0; i < DISPATCH_BATCH && !sc->dead; i++)
			if (dbus_connection_dispatch(sc->conn) !=
			    DBUS_DISPATCH_DATA_REMAINS)
				break;
		if (!sc->dead && dbus_connection_get_dispatch_status(sc->conn) ==
		    DBUS_DISPATCH_DATA_REMAINS)
			more = true;
		if (sc->deadline_ms && sc->bc.registered) {
			sc->deadline_ms = 0;
			s->n_incomplete--;
		}
	}
	for (pp = &s->conns; (sc = *pp);) {
		if (!sc->dead) {
			pp = &sc->next;
			continue;
		}
		*pp = sc->next;
		if (sc->deadline_ms)
			s->n_incomplete--;
		dbus_connection_close(sc->conn);
		dbus_connection_unref(sc->conn);
		free(sc->bc.groups);
		free(sc);
	}
	return more;
}

/* clients that did not authenticate and say Hello in time */
static int check_deadlines(struct sock *s, __u64 now)
{
	__u64 first = UINT64_MAX;
	struct sconn *sc;

	for (sc = s->conns; sc; sc = sc->next) {
		if (!sc->deadline_ms || sc->dead)
			continue;
		if (sc->deadline_ms <= now) {
			sc->deadline_ms = 0;
			s->n_incomplete--;
			bconn_kill(&sc->bc, sc->authed ?
				   "no Hello within auth_timeout" :
				   "not authenticated within auth_timeout");
		} else if (sc->deadline_ms < first) {
			first = sc->deadline_ms;
		}
	}
	return first == UINT64_MAX ? -1 : (int)(first - now);
}

static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static int run_loop(struct sock *s, int sfd)
{
	struct pollfd *pfd = NULL;
	struct signalfd_siginfo si;
	unsigned int i, n, n_b1 = 0, cap = 0;
	__u64 now;
	int timeout, r;

	for (;;) {
		timeout = dispatch_all(s) ? 0 : -1;
		now = bus_now_ms();
		timeout = min_timeout(timeout, bus_expire(s->bus));
		timeout = min_timeout(timeout, check_deadlines(s, now));
		if (s->bus->native)
			timeout = min_timeout(timeout,
					      b1t_timeout(s->bus->native));
		for (i = 0; i < s->n_tmos; i++)
			if (dbus_timeout_get_enabled(s->tmos[i].t))
				timeout = min_timeout(timeout,
						      s->tmos[i].deadline_ms > now ?
						      (int)(s->tmos[i].deadline_ms - now) : 0);
		/* (+ the bus1 transport's listening socket, peer, bootstraps) */
		if (cap < s->n_watches + 1 + 32) {
			cap = 2 * (s->n_watches + 1 + 32);
			free(pfd);
			free(s->polled);
			pfd = calloc(cap, sizeof(*pfd));
			s->polled = calloc(cap, sizeof(*s->polled));
			if (!pfd || !s->polled)
				return 1;
		}
		pfd[0].fd = sfd;
		pfd[0].events = POLLIN;
		n = 1;
		if (s->bus->native) {
			n_b1 = b1t_pollfds(s->bus->native, pfd + 1, 32);
			for (i = 1; i <= n_b1; i++)
				s->polled[i] = NULL;
			n += n_b1;
		}
		for (i = 0; i < s->n_watches; i++) {
			DBusWatch *w = s->watches[i];
			unsigned int f;

			if (!dbus_watch_get_enabled(w))
				continue;
			f = dbus_watch_get_flags(w);
			pfd[n].fd = dbus_watch_get_unix_fd(w);
			pfd[n].events = (f & DBUS_WATCH_READABLE ? POLLIN : 0) |
					(f & DBUS_WATCH_WRITABLE ? POLLOUT : 0);
			s->polled[n] = w;
			n++;
		}
		s->n_polled = n;
		r = poll(pfd, n, timeout);
		if (r < 0 && errno != EINTR)
			return 1;
		if (r > 0 && (pfd[0].revents & POLLIN)) {
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				bus_log(s->bus, 1, "signal %u: exiting",
					si.ssi_signo);
				free(pfd);
				return 0;
			}
			activation_reap(s->bus);
		}
		if (s->bus->native)
			b1t_dispatch(s->bus->native, pfd + 1, r > 0 ? n_b1 : 0);
		for (i = 1; r > 0 && i < n; i++) {
			unsigned int f = 0;

			if (!pfd[i].revents || !s->polled[i])
				continue;
			if (pfd[i].revents & POLLIN)
				f |= DBUS_WATCH_READABLE;
			if (pfd[i].revents & POLLOUT)
				f |= DBUS_WATCH_WRITABLE;
			if (pfd[i].revents & POLLERR)
				f |= DBUS_WATCH_ERROR;
			if (pfd[i].revents & POLLHUP)
				f |= DBUS_WATCH_HANGUP;
			dbus_watch_handle(s->polled[i], f);
		}
		s->n_polled = 0;
		now = bus_now_ms();
		/* handlers may add or remove timeouts: restart after each */
		for (i = 0; i < s->n_tmos; i++) {
			struct tmo *t = &s->tmos[i];

			if (!dbus_timeout_get_enabled(t->t) ||
			    t->deadline_ms > now)
				continue;
			tmo_arm(t);
			dbus_timeout_handle(t->t);
			i = -1;
		}
	}
}

int sock_run(struct bus *b, int ready_fd)
{
	static const char * const mechs[] = { "EXTERNAL", NULL };
	struct sock s = { .bus = b };
	sigset_t mask;
	DBusError err;
	char *addr;
	int sfd, r;

	dbus_error_init(&err);
	s.server = dbus_server_listen(b->address, &err);
	if (!s.server) {
		bus_log(b, -1, "cannot listen on %s: %s", b->address,
			err.message);
		dbus_error_free(&err);
		return 1;
	}
	addr = dbus_server_get_address(s.server);
	/* a system bus socket: every user may connect, policy decides */
	if (addr && !strncmp(addr, "unix:path=", 10)) {
		char path[4096];

		snprintf(path, sizeof(path), "%s", addr + 10);
		path[strcspn(path, ",")] = 0;
		if (chmod(path, 0666))
			bus_log(b, 0, "chmod %s: %s", path, strerror(errno));
	}
	free(b->address);
	b->address = strdup(addr ? addr : "");
	dbus_free(addr);
	if (!dbus_server_set_auth_mechanisms(s.server, (const char **)mechs) ||
	    !dbus_server_set_watch_functions(s.server, add_watch, remove_watch,
					     toggle_watch, &s, NULL) ||
	    !dbus_server_set_timeout_functions(s.server, add_timeout,
					       remove_timeout, toggle_timeout,
					       &s, NULL)) {
		bus_log(b, -1, "out of memory");
		return 1;
	}
	dbus_server_set_new_connection_function(s.server, new_connection, &s,
						NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		bus_log(b, -1, "signalfd: %s", strerror(errno));
		return 1;
	}
	bus_log(b, 0, "listening on %s (%u activatable names)", b->address,
		b->policy.n_acts);
	if (ready_fd >= 0) {
		if (write(ready_fd, "ready\n", 6) != 6)
			bus_log(b, 0, "cannot write to the ready fd");
		close(ready_fd);
	}
	r = run_loop(&s, sfd);
	dbus_server_disconnect(s.server);
	dbus_server_unref(s.server);
	close(sfd);
	return r;
}
