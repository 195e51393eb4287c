// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: the socket transport. libdbus's DBusServer listens,
 * authenticates (SASL EXTERNAL only) and negotiates unix fd passing; every
 * client is a DBusConnection whose messages go to bus_receive(). The main
 * loop poll()s an epoll set of libdbus's watches, a signalfd (SIGCHLD for
 * activation, SIGTERM/SIGINT to stop) and the bus1 transport's few fds;
 * each turn costs the ready fds and connections, not all of them (a bus
 * may hold thousands of idle ones, dbus.rst "Lookups").
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dbus-b1.h"
#include "dbus-socket.h"

#define DISPATCH_BATCH	32	/* messages of one client per loop turn */
#define EPOLL_BATCH	64	/* ready fds taken per epoll_wait() */

/*
 * One fd in the epoll set. libdbus gives a connection a read and a write
 * watch on the same socket, and epoll takes an fd once: the entry holds
 * both and is registered for what the enabled ones want.
 */
struct wfd {
	int fd;
	unsigned int events;		/* registered; 0: not in the set */
	struct DBusWatch *watch[2];
	struct sconn *sc;		/* NULL: the server's listening fd */
	struct wfd *next;		/* the server's entries */
};

struct sconn {
	struct bconn bc;
	struct sock *s;
	DBusConnection *conn;
	struct wfd wfd;
	/* on sock.ready: may have messages, or changed state, to handle */
	struct fifo_node ready;
	/* on sock.pending while deadline_ms is set */
	struct fifo_node pending;
	__u64 deadline_ms;		/* for authentication and Hello */
	bool authed;
	bool dead;			/* Disconnected seen; free it */
};

struct tmo {
	DBusTimeout *t;
	__u64 deadline_ms;
};

/*
 * The loop costs what is ready, not what is connected: the sockets are in
 * an epoll set, connections with something to dispatch are queued on
 * @ready (FIFO: one batch each per turn), and the connections that have
 * not said Hello yet are on @pending in deadline order (one fixed
 * auth_timeout, added as they connect, so appending keeps the order).
 */
struct sock {
	struct bus *bus;
	DBusServer *server;
	int epfd;
	struct wfd *srv_wfds;
	struct fifo ready;		/* of sconn.ready */
	struct fifo pending;		/* of sconn.pending */
	/* libdbus's timeouts, still a walk (the broker sends no calls) */
	struct tmo *tmos;
	unsigned int n_tmos, cap_tmos;
	unsigned int n_incomplete;
};

static void wfd_update(struct sock *s, struct wfd *e)
{
	struct epoll_event ev = { .data.ptr = e };
	unsigned int i, f;
	int op;

	for (i = 0; i < 2; i++) {
		if (!e->watch[i] || !dbus_watch_get_enabled(e->watch[i]))
			continue;
		f = dbus_watch_get_flags(e->watch[i]);
		ev.events |= (f & DBUS_WATCH_READABLE ? EPOLLIN : 0) |
			     (f & DBUS_WATCH_WRITABLE ? EPOLLOUT : 0);
	}
	if (ev.events == e->events)
		return;
	if (!ev.events)
		op = EPOLL_CTL_DEL;
	else
		op = e->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(s->epfd, op, e->fd, &ev) && op != EPOLL_CTL_DEL) {
		bus_log(s->bus, 0, "epoll_ctl fd %d: %s", e->fd,
			strerror(errno));
		return;
	}
	e->events = ev.events;
}

static dbus_bool_t wfd_add(struct sock *s, struct wfd *e, DBusWatch *w)
{
	unsigned int i = e->watch[0] ? 1 : 0;

	if (e->watch[i])
		return FALSE;	/* libdbus uses two per fd */
	e->fd = dbus_watch_get_unix_fd(w);
	e->watch[i] = w;
	dbus_watch_set_data(w, e, NULL);
	wfd_update(s, e);
	return TRUE;
}

static void wfd_remove(struct sock *s, DBusWatch *w)
{
	struct wfd *e = dbus_watch_get_data(w);

	if (!e)
		return;
	if (e->watch[0] == w)
		e->watch[0] = NULL;
	if (e->watch[1] == w)
		e->watch[1] = NULL;
	dbus_watch_set_data(w, NULL, NULL);
	wfd_update(s, e);
}

static dbus_bool_t srv_add_watch(DBusWatch *w, void *data)
{
	struct sock *s = data;
	int fd = dbus_watch_get_unix_fd(w);
	struct wfd *e;

	for (e = s->srv_wfds; e; e = e->next)
		if (e->fd == fd)
			return wfd_add(s, e, w);
	e = calloc(1, sizeof(*e));
	if (!e)
		return FALSE;
	e->fd = fd;
	e->next = s->srv_wfds;
	s->srv_wfds = e;
	return wfd_add(s, e, w);
}

static void srv_remove_watch(DBusWatch *w, void *data)
{
	wfd_remove(data, w);
}

static dbus_bool_t sc_add_watch(DBusWatch *w, void *data)
{
	struct sconn *sc = data;

	return wfd_add(sc->s, &sc->wfd, w);
}

static void sc_remove_watch(DBusWatch *w, void *data)
{
	struct sconn *sc = data;

	wfd_remove(sc->s, w);
}

static void srv_toggle_watch(DBusWatch *w, void *data)
{
	struct wfd *e = dbus_watch_get_data(w);

	if (e)
		wfd_update(data, e);
}

static void sc_toggle_watch(DBusWatch *w, void *data)
{
	struct sconn *sc = data;

	srv_toggle_watch(w, sc->s);
}

static void ready_add(struct sconn *sc)
{
	if (!fifo_queued(&sc->ready))
		fifo_push(&sc->s->ready, &sc->ready);
}

static void ready_del(struct sconn *sc)
{
	fifo_del(&sc->s->ready, &sc->ready);
}

static void pending_add(struct sconn *sc)
{
	fifo_push(&sc->s->pending, &sc->pending);
	sc->s->n_incomplete++;
}

/* the connection said Hello, timed out or died */
static void pending_del(struct sconn *sc)
{
	struct sock *s = sc->s;

	if (!sc->deadline_ms)
		return;
	sc->deadline_ms = 0;
	fifo_del(&s->pending, &sc->pending);
	s->n_incomplete--;
}

static void sc_dispatch_status(DBusConnection *conn,
			       DBusDispatchStatus st, void *data)
{
	if (st == DBUS_DISPATCH_DATA_REMAINS)
		ready_add(data);
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
	ready_add(to_sconn(c));		/* to see its Disconnected */
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
	sc->wfd.sc = sc;
	sc->wfd.fd = -1;
	sc->deadline_ms = bus_now_ms() + b->limits.auth_timeout_ms;
	pending_add(sc);
	bconn_init(b, &sc->bc, &sc_ops, sc);
	dbus_connection_set_exit_on_disconnect(conn, FALSE);
	dbus_connection_set_unix_user_function(conn, sc_allow_user, sc, NULL);
	dbus_connection_set_max_message_size(conn, b->limits.max_message_size);
	dbus_connection_set_max_message_unix_fds(conn,
						 b->limits.max_message_fds);
	/* read at most a few messages ahead of what we dispatched */
	dbus_connection_set_max_received_size(conn,
					      2 * b->limits.max_message_size);
	dbus_connection_set_dispatch_status_function(conn, sc_dispatch_status,
						     sc, NULL);
	if (!dbus_connection_set_watch_functions(conn, sc_add_watch,
						 sc_remove_watch,
						 sc_toggle_watch, sc, NULL) ||
	    !dbus_connection_set_timeout_functions(conn, add_timeout,
						   remove_timeout,
						   toggle_timeout, s, NULL) ||
	    !dbus_connection_add_filter(conn, sc_filter, sc, NULL)) {
		bus_log(b, 0, "out of memory setting up a connection");
		sc->bc.closing = true;
		dbus_connection_close(conn);
	}
	ready_add(sc);
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

static void sc_free(struct sconn *sc)
{
	ready_del(sc);
	pending_del(sc);
	/* no more callbacks into @sc: its watches leave the epoll set */
	dbus_connection_set_dispatch_status_function(sc->conn, NULL, NULL,
						     NULL);
	dbus_connection_set_watch_functions(sc->conn, NULL, NULL, NULL, NULL,
					    NULL);
	dbus_connection_close(sc->conn);
	dbus_connection_unref(sc->conn);
	free(sc->bc.groups);
	free(sc);
}

/* a batch of each ready client, in turn; true if some have more */
static bool dispatch_ready(struct sock *s)
{
	struct sconn *sc, *last = NULL;
	int i;

	/* those that become ready meanwhile wait for the next turn */
	last = fifo_last(&s->ready, struct sconn, ready);
	while ((sc = fifo_first(&s->ready, struct sconn, ready))) {
		ready_del(sc);
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
		if (sc->bc.registered)
			pending_del(sc);
		if (sc->dead)
			sc_free(sc);
		else if (dbus_connection_get_dispatch_status(sc->conn) ==
			 DBUS_DISPATCH_DATA_REMAINS)
			ready_add(sc);
		if (sc == last)
			break;
	}
	return s->ready.head;
}

/* clients that did not authenticate and say Hello in time */
static int check_deadlines(struct sock *s, __u64 now)
{
	struct sconn *sc;

	while ((sc = fifo_first(&s->pending, struct sconn, pending)) &&
	       sc->deadline_ms <= now) {
		pending_del(sc);
		if (sc->dead)
			continue;
		bconn_kill(&sc->bc, sc->authed ?
			   "no Hello within auth_timeout" :
			   "not authenticated within auth_timeout");
	}
	return sc ? (int)(sc->deadline_ms - now) : -1;
}

static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* the watches of one ready fd; handling one may remove the other */
static void wfd_handle(struct wfd *e, unsigned int ev)
{
	struct sconn *sc = e->sc;
	unsigned int i, f;

	for (i = 0; i < 2; i++) {
		DBusWatch *w = e->watch[i];

		if (!w || !dbus_watch_get_enabled(w))
			continue;
		f = dbus_watch_get_flags(w);
		f &= (ev & EPOLLIN ? DBUS_WATCH_READABLE : 0) |
		     (ev & EPOLLOUT ? DBUS_WATCH_WRITABLE : 0);
		if (ev & EPOLLERR)
			f |= DBUS_WATCH_ERROR;
		if (ev & EPOLLHUP)
			f |= DBUS_WATCH_HANGUP;
		if (f)
			dbus_watch_handle(w, f);
	}
	/* authentication progressed, or it hung up */
	if (sc)
		ready_add(sc);
}

static int run_loop(struct sock *s, int sfd)
{
	struct pollfd pfd[2 + 32];
	struct epoll_event ev[EPOLL_BATCH];
	struct signalfd_siginfo si;
	unsigned int i, n_b1 = 0;
	__u64 now;
	int timeout, r, n;

	for (;;) {
		timeout = dispatch_ready(s) ? 0 : -1;
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
		pfd[0].fd = sfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = s->epfd;
		pfd[1].events = POLLIN;
		/* (+ the bus1 transport's listening socket, peer, bootstraps) */
		if (s->bus->native)
			n_b1 = b1t_pollfds(s->bus->native, pfd + 2, 32);
		r = poll(pfd, 2 + n_b1, timeout);
		if (r < 0 && errno != EINTR)
			return 1;
		if (r > 0 && (pfd[0].revents & POLLIN)) {
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				bus_log(s->bus, 1, "signal %u: exiting",
					si.ssi_signo);
				return 0;
			}
			activation_reap(s->bus);
		}
		if (s->bus->native)
			b1t_dispatch(s->bus->native, pfd + 2, r > 0 ? n_b1 : 0);
		/*
		 * The entries stay valid through the batch: a connection is
		 * freed only in dispatch_ready(), the server's never; a watch
		 * a handler removes is cleared from its entry.
		 */
		n = r > 0 && (pfd[1].revents & POLLIN) ?
		    epoll_wait(s->epfd, ev, EPOLL_BATCH, 0) : 0;
		for (i = 0; (int)i < n; i++)
			wfd_handle(ev[i].data.ptr, ev[i].events);
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
	struct sock s = { .bus = b, .epfd = -1 };
	sigset_t mask;
	DBusError err;
	char *addr;
	int sfd, r;

	fifo_init(&s.ready);
	fifo_init(&s.pending);
	s.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s.epfd < 0) {
		bus_log(b, -1, "epoll_create1: %s", strerror(errno));
		return 1;
	}
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
	    !dbus_server_set_watch_functions(s.server, srv_add_watch,
					     srv_remove_watch,
					     srv_toggle_watch, &s, NULL) ||
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
	close(s.epfd);
	return r;
}
