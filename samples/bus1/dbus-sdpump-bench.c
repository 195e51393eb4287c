// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-sdpump-bench: what D-Bus cases (a) and (c) of `make bench`
 * (issue 19) cost when the D-Bus work is sd-bus's (Debian's libsystemd,
 * linked dynamically) and the bytes travel over bus1. A measurement to
 * decide a design (Documentation/bus1/dbus.rst, *Benchmark*), not a
 * transport: it changes neither libbus1-dbus nor the broker.
 *
 *   bus1-dbus-sdpump-bench DAEMON_A DAEMON_C [SCALE]
 *
 * DAEMON_A and DAEMON_C are dbus-daemon's instructions for (a) and (c) of
 * the same icount VM run (bus1-bench.sh takes them from bus1-dbus-bench's
 * rows); the figures are printed as shares of them, like the floor lines.
 *
 * sd-bus neither gives a message's bytes nor builds a message from bytes
 * (libsystemd 252's sd-bus.h): its only public path between bytes and
 * messages is an fd. So every sd_bus here sits on one end of its own
 * socketpair and the process's *pump* holds the other end: what sd-bus
 * writes, the pump recv()s and sends as one bus1 message; what the pump's
 * bus1 peer receives (RECV with WAIT and RELEASE, bus1_recv_next()), it
 * write()s into the socketpair for sd_bus_process() to read and parse.
 * Each sd_bus authenticates once (ANONYMOUS) against a throw-away sd_bus on
 * the pump's end of its socketpair, in the same process, before the pump
 * takes that end over: the SASL exchange is not D-Bus messages and has no
 * meaning between one sender and 10 subscribers of a multicast.
 *
 *   (a) caller and callee processes: the caller builds Echo("s")
 *       (sd_bus_message_new_method_call(), append), sd_bus_send(); its pump
 *       sends the bytes to the callee's node; the callee's pump writes them,
 *       sd_bus_process() dispatches to the object's Echo method
 *       (sd_bus_add_object_vtable()), which reads the string and replies;
 *       the reply comes back the same way, to the caller's node, and the
 *       caller reads its string. Per round trip.
 *   (c) one sender, 10 subscriber processes: one sd-bus signal, its bytes
 *       in ONE bus1 multicast to the 10 subscribers' nodes; each
 *       subscriber's sd_bus_match_signal() callback reads the string.
 *       Per signal, all processes, in batches of 10 with an ack as
 *       bus1-dbus-bench measures (c).
 * The messages carry the header fields the library's do (the floor of
 * bus1-dbus-bench): the call its destination name and the caller's unique
 * name as sender, the reply the callee's as sender, the signal the
 * sender's; Echo is SD_BUS_VTABLE_UNPRIVILEGED (else sd-bus asks the bus
 * for the sender's credentials, which a connection to no bus cannot: the
 * access control is the broker's and bus1's handles).
 * Then the pump's own share: the socketpair write + read of one message's
 * bytes (a *hop*: sd-bus's and the pump's system calls on one side of one
 * message), in one process, and the read that finds the socket empty
 * (sd_bus_process() reads until EAGAIN): what an fd-free sd-bus API would
 * save. Last, bus1's own share of (c) with no scheduling (one process
 * multicasts the signal's bytes to 10 peers and receives each copy),
 * added to sd-bus's own work: (c)'s floor for any design whose subscribers
 * parse with sd-bus and receive through bus1. Handles: every peer and node
 * is made before the fork and the
 * handles are passed with bus1_handle_transfer(), as the tests do.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <bus1/bus1.h>
#include "dbus-bench-util.h"
#include "dbus-sd-auth.h"

#define NAME	"org.bus1.Bench"
#define PATH	"/org/bus1/Bench"
#define IFACE	"org.bus1.Bench"
#define ARG	"hello"
#define NSUBS	10
#define BATCH	10	/* signals between two acks of every subscriber */
#define BUFSZ	4096
/* the unique names the library's messages would carry (as in the floor) */
#define CALLER	":1.41"
#define CALLEE	":1.42"

static int sub_ack;

static void die(const char *what, int err)
{
	fprintf(stderr, "bus1-dbus-sdpump-bench: %s failed: %s\n", what,
		strerror(err < 0 ? -err : err));
	dbench_kill_kids();
	exit(1);
}

/* one sd_bus and the pump on the other end of its socketpair */
struct pump {
	sd_bus *bus;
	int fd;				/* the pump's end */
	struct bus1_peer *peer;
	__u64 node;			/* where this process receives */
	__u64 dst[NSUBS];		/* handles the pump sends to */
	size_t n_dst;
	struct bus1_message msg;	/* released by the next RECV */
	size_t len;			/* bytes of the last pump_out() */
	char buf[BUFSZ];
};

/*
 * p->bus on one end of a new socketpair, authenticated (ANONYMOUS) against
 * a throw-away sd_bus of the other role on a dup of the other end, which
 * then becomes the pump's (blocking again: sd-bus made the shared file
 * description non-blocking).
 */
static void sd_pair(struct pump *p, bool server)
{
	sd_bus *tmp, *srv, *cli;
	sd_id128_t id;
	int sp[3], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
		die("socketpair", errno);
	sp[2] = fcntl(sp[1], F_DUPFD_CLOEXEC, 3);
	if (sp[2] < 0)
		die("dup", errno);
	r = sd_id128_randomize(&id);
	if (r >= 0)
		r = sd_bus_new(&p->bus);
	if (r >= 0)
		r = sd_bus_new(&tmp);
	if (r < 0)
		die("sd_bus_new", r);
	srv = server ? p->bus : tmp;
	cli = server ? tmp : p->bus;
	if (sd_bus_set_fd(p->bus, sp[0], sp[0]) < 0 ||
	    sd_bus_set_fd(tmp, sp[2], sp[2]) < 0 ||
	    sd_bus_set_anonymous(srv, 1) < 0 ||
	    sd_bus_set_anonymous(cli, 1) < 0 ||
	    sd_bus_set_server(srv, 1, id) < 0)
		die("sd_bus_set_*", EINVAL);
	r = sd_auth_pair(srv, cli);
	if (r < 0)
		die("the authentication", r);
	sd_bus_unref(tmp);
	if (fcntl(sp[1], F_SETFL, 0))
		die("fcntl", errno);
	p->fd = sp[1];
}

/* what sd-bus wrote, in one recv(), as one bus1 message to p->dst */
static void pump_out(struct pump *p)
{
	ssize_t n = recv(p->fd, p->buf, sizeof(p->buf), 0);
	struct iovec v = { p->buf, n };
	struct bus1_send s = {
		.destinations = p->dst,
		.n_destinations = p->n_dst,
		.vecs = &v,
		.n_vecs = 1,
	};
	int r;

	if (n <= 0)
		die("recv from sd-bus", n < 0 ? errno : EPIPE);
	r = bus1_send(p->peer, &s);
	if (r < 0)
		die("bus1_send", r);
	p->len = n;
}

/* the next bus1 message (waiting for it), into sd-bus's socket */
static void pump_in(struct pump *p)
{
	const char *d;
	size_t left;
	ssize_t n;
	int r;

	r = bus1_recv_next(p->peer, BUS1_RECV_FLAG_WAIT, &p->msg);
	if (r < 0)
		die("bus1_recv_next", r);
	if (p->msg.type != BUS1_MSG_DATA)
		die("RECV: not a data message", EPROTO);
	for (d = p->msg.data, left = p->msg.n_bytes; left; d += n, left -= n) {
		n = write(p->fd, d, left);
		if (n <= 0)
			die("write to sd-bus", n < 0 ? errno : EPIPE);
	}
}

/* sd_bus_process() until it has nothing left (its last read: EAGAIN) */
static void process_all(struct pump *p)
{
	int r;

	while ((r = sd_bus_process(p->bus, NULL)) > 0)
		;
	if (r < 0)
		die("sd_bus_process", r);
}

static void ready(int fd)
{
	if (write(fd, "r", 1) != 1)
		_exit(1);
}

/* a peer with one node; @from gets a handle to it in @from->dst */
static void peer_with_node(struct pump *p, struct pump *from)
{
	int r;

	memset(p, 0, sizeof(*p));
	r = bus1_peer_new(&p->peer);
	if (r >= 0)
		r = bus1_node_new(p->peer, &p->node);
	if (r >= 0 && from)
		r = bus1_handle_transfer(p->peer, p->node, from->peer,
					 &from->dst[from->n_dst++]);
	if (r < 0)
		die("bus1 peer, node, handle", r);
	/* libbus1 opens the peer O_NONBLOCK, which wins over RECV's WAIT */
	if (fcntl(bus1_peer_get_fd(p->peer), F_SETFL, 0))
		die("fcntl", errno);
}

/* --- the callee and the subscribers --------------------------------------- */

/*
 * Echo: the reply carries the callee's unique name as its sender, as the
 * library's replies do (sd-bus sets none on a connection that is not to a
 * bus); sd_bus_message_new_method_return() takes its destination from the
 * call's sender.
 */
static int m_echo(sd_bus_message *m, void *u, sd_bus_error *e)
{
	sd_bus_message *r;
	const char *s;
	int ret;

	ret = sd_bus_message_read(m, "s", &s);
	if (ret >= 0)
		ret = sd_bus_message_new_method_return(m, &r);
	if (ret < 0)
		return ret;
	ret = sd_bus_message_set_sender(r, CALLEE);
	if (ret >= 0)
		ret = sd_bus_message_append(r, "s", s);
	if (ret >= 0)
		ret = sd_bus_send(NULL, r, NULL);
	sd_bus_message_unref(r);
	return ret < 0 ? ret : 1;
}

static const sd_bus_vtable vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Echo", "s", "s", m_echo, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static int on_tick(sd_bus_message *m, void *u, sd_bus_error *e)
{
	static unsigned long n;
	const char *s;
	int r = sd_bus_message_read(m, "s", &s);

	if (r < 0 || strcmp(s, ARG))
		die("the Tick signal", r < 0 ? r : EPROTO);
	if (++n % BATCH == 0 && write(sub_ack, "a", 1) != 1)
		_exit(1);
	return 1;
}

/*
 * The callee of (a) (it sends: the Echo object) or a subscriber of (c) (it
 * only receives: the Tick match), until it is killed.
 */
static void child(void *arg, int fd)
{
	struct pump *p = arg;
	int r;

	sd_pair(p, true);
	if (p->n_dst)
		r = sd_bus_add_object_vtable(p->bus, NULL, PATH, IFACE,
					     vtable, NULL);
	else
		r = sd_bus_match_signal(p->bus, NULL, NULL, PATH, IFACE,
					"Tick", on_tick, NULL);
	if (r < 0)
		die("the object or match", r);
	ready(fd);
	for (;;) {
		pump_in(p);
		process_all(p);
		if (p->n_dst)
			pump_out(p);
	}
}

/* --- (a) ---------------------------------------------------------------- */

/* the caller's Echo("s"), written into its socketpair; its cookie */
static uint64_t send_echo(struct pump *p)
{
	sd_bus_message *m;
	uint64_t cookie;
	int e;

	e = sd_bus_message_new_method_call(p->bus, &m, NAME, PATH, IFACE,
					   "Echo");
	if (e >= 0)
		e = sd_bus_message_set_sender(m, CALLER);
	if (e >= 0)
		e = sd_bus_message_append(m, "s", ARG);
	if (e >= 0)
		e = sd_bus_send(p->bus, m, &cookie);
	if (e < 0)
		die("the Echo call", e);
	sd_bus_message_unref(m);
	return cookie;
}

/* the reply to @cookie, once its bytes are in the caller's socketpair */
static void read_reply(struct pump *p, uint64_t cookie)
{
	sd_bus_message *r = NULL;
	const char *s;
	uint64_t rc;
	int e;

	while (!r) {
		e = sd_bus_process(p->bus, &r);
		if (e <= 0)
			die("sd_bus_process (reply)", e ? e : ENOMSG);
	}
	e = sd_bus_message_get_reply_cookie(r, &rc);
	if (e >= 0)
		e = sd_bus_message_read(r, "s", &s);
	if (e < 0 || rc != cookie || strcmp(s, ARG))
		die("the Echo reply", e < 0 ? e : EPROTO);
	sd_bus_message_unref(r);
}

static void call(void *ctx)
{
	struct pump *p = ctx;
	uint64_t cookie = send_echo(p);

	pump_out(p);
	pump_in(p);
	read_reply(p, cookie);
}

static struct fig call_case(int iters, size_t *len, size_t *rlen)
{
	struct pump caller, callee_p;
	struct fig f;
	int p[2];

	if (pipe(p))
		die("pipe", errno);
	peer_with_node(&caller, NULL);
	peer_with_node(&callee_p, &caller);
	if (bus1_handle_transfer(caller.peer, caller.node, callee_p.peer,
				 &callee_p.dst[0]) < 0)
		die("handle to the caller", EINVAL);
	callee_p.n_dst = 1;
	dbench_spawn(child, &callee_p, p[1]);
	dbench_wait_ready(p[0], 1);
	sd_pair(&caller, false);
	f = dbench_measure(call, &caller, iters);
	*len = caller.len;
	*rlen = caller.msg.n_bytes;
	dbench_reap();
	close(p[0]);
	close(p[1]);
	return f;
}

/* --- (c) ---------------------------------------------------------------- */

struct emit {
	struct pump *p;
	int ack;
};

/* the sender's Tick("s"), written into its socketpair */
static void send_tick(struct pump *p)
{
	sd_bus_message *m;
	int r;

	r = sd_bus_message_new_signal(p->bus, &m, PATH, IFACE, "Tick");
	if (r >= 0)
		r = sd_bus_message_set_sender(m, CALLER);
	if (r >= 0)
		r = sd_bus_message_append(m, "s", ARG);
	if (r >= 0)
		r = sd_bus_send(p->bus, m, NULL);
	if (r < 0)
		die("the Tick signal", r);
	sd_bus_message_unref(m);
}

/* one op = BATCH signals, then every subscriber's ack */
static void emit_batch(void *ctx)
{
	struct emit *e = ctx;
	struct pump *p = e->p;
	char buf[NSUBS];
	int got = 0;
	ssize_t n;

	for (int i = 0; i < BATCH; i++) {
		send_tick(p);
		pump_out(p);
	}
	while (got < NSUBS) {
		n = read(e->ack, buf, NSUBS - got);
		if (n <= 0)
			die("ack", n < 0 ? errno : EPIPE);
		got += n;
	}
}

static struct fig signal_case(int iters, size_t *len)
{
	static struct pump sender, subs[NSUBS];
	struct emit e = { .p = &sender };
	struct fig f;
	int p[2], a[2];

	if (pipe(p) || pipe(a))
		die("pipe", errno);
	sub_ack = a[1];
	peer_with_node(&sender, NULL);
	for (int i = 0; i < NSUBS; i++) {
		peer_with_node(&subs[i], &sender);
		dbench_spawn(child, &subs[i], p[1]);
	}
	dbench_wait_ready(p[0], NSUBS);
	sd_pair(&sender, false);
	e.ack = a[0];
	f = dbench_measure(emit_batch, &e, iters);
	*len = sender.len;
	dbench_reap();
	for (int i = 0; i < 2; i++) {
		close(p[i]);
		close(a[i]);
	}
	/* per signal */
	f.instr /= BATCH;
	f.csw /= BATCH;
	return f;
}

/* --- sd-bus and the pump alone --------------------------------------------- */

/*
 * The same two cases in one process, without bus1: the bytes one pump end
 * reads are written into the other sd_bus's socketpair directly. No
 * kernel IPC but the socketpairs, no context switch: sd-bus's work and the
 * pump's system calls; less the pump's share, what sd-bus itself costs.
 */
static struct pump local[NSUBS + 1];
static int local_null;	/* on_tick()'s acks here: nobody waits for them */

/* what @from's sd_bus wrote, into the socketpairs of @n others */
static void forward(struct pump *from, struct pump *to, int n)
{
	ssize_t len = recv(from->fd, from->buf, sizeof(from->buf), 0);

	if (len <= 0)
		die("recv from sd-bus", len < 0 ? errno : EPIPE);
	for (int i = 0; i < n; i++)
		if (write(to[i].fd, from->buf, len) != len)
			die("write to sd-bus", errno);
}

static void local_call(void *ctx)
{
	uint64_t cookie = send_echo(&local[0]);

	forward(&local[0], &local[1], 1);
	process_all(&local[1]);
	forward(&local[1], &local[0], 1);
	read_reply(&local[0], cookie);
}

static void local_signal(void *ctx)
{
	send_tick(&local[0]);
	forward(&local[0], &local[1], NSUBS);
	for (int i = 1; i <= NSUBS; i++)
		process_all(&local[i]);
}

static void local_init(void)
{
	static bool done;
	int r;

	if (done)
		return;
	done = true;
	local_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (local_null < 0)
		die("/dev/null", errno);
	sd_pair(&local[0], false);
	for (int i = 1; i <= NSUBS; i++) {
		sd_pair(&local[i], true);
		r = sd_bus_match_signal(local[i].bus, NULL, NULL, PATH, IFACE,
					"Tick", on_tick, NULL);
		if (r < 0)
			die("sd_bus_match_signal", r);
	}
	r = sd_bus_add_object_vtable(local[1].bus, NULL, PATH, IFACE, vtable,
				     NULL);
	if (r < 0)
		die("sd_bus_add_object_vtable", r);
}

/* --- the pump's share ------------------------------------------------------ */

struct hop {
	int fd[2];
	size_t len;
	char buf[BUFSZ];
};

/* one side of one message: the write into the socketpair and its read */
static void hop(void *ctx)
{
	struct hop *h = ctx;

	if (write(h->fd[0], h->buf, h->len) != (ssize_t)h->len ||
	    recv(h->fd[1], h->buf, sizeof(h->buf), 0) != (ssize_t)h->len)
		die("hop", errno);
}

/* the read sd_bus_process() ends with: nothing there */
static void empty_read(void *ctx)
{
	struct hop *h = ctx;

	if (recv(h->fd[1], h->buf, sizeof(h->buf), MSG_DONTWAIT) >= 0 ||
	    errno != EAGAIN)
		die("empty read", EPROTO);
}

/*
 * bus1's own share of (c) without any scheduling: one process sends the
 * signal's bytes in one multicast to NSUBS peers and receives each copy
 * (RECV releasing the previous one), no wake-up, no pump, no sd-bus.
 */
struct mcast {
	struct pump snd;
	struct pump sub[NSUBS];
	struct iovec v;
};

static void mcast(void *ctx)
{
	struct mcast *m = ctx;
	struct bus1_send s = {
		.destinations = m->snd.dst,
		.n_destinations = m->snd.n_dst,
		.vecs = &m->v,
		.n_vecs = 1,
	};
	int i, r;

	r = bus1_send(m->snd.peer, &s);
	if (r < 0)
		die("bus1_send", r);
	for (i = 0; i < NSUBS; i++) {
		r = bus1_recv_next(m->sub[i].peer, 0, &m->sub[i].msg);
		if (r < 0)
			die("bus1_recv_next", r);
	}
}

static struct fig mcast_fig(size_t len, int iters)
{
	static struct mcast m;
	struct fig f;
	int i;

	peer_with_node(&m.snd, NULL);
	for (i = 0; i < NSUBS; i++)
		peer_with_node(&m.sub[i], &m.snd);
	m.v.iov_base = m.snd.buf;
	m.v.iov_len = len;
	f = dbench_measure(mcast, &m, iters);
	for (i = 0; i < NSUBS; i++) {
		bus1_message_release(&m.sub[i].msg);
		bus1_peer_free(m.sub[i].peer);
	}
	bus1_peer_free(m.snd.peer);
	return f;
}

static struct fig hop_fig(void (*op)(void *), size_t len, int iters)
{
	struct hop h = { .len = len };
	struct fig f;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, h.fd))
		die("socketpair", errno);
	f = dbench_measure(op, &h, iters);
	close(h.fd[0]);
	close(h.fd[1]);
	return f;
}

int main(int argc, char **argv)
{
	struct fig da = { 1, 0 }, dc = { 1, 0 }, a, c, h1, h2, ea, pa, pc, l, k;
	int it = argc > 3 ? atoi(argv[3]) : 1;
	size_t len, rlen, slen;

	if (argc < 3) {
		fprintf(stderr, "usage: bus1-dbus-sdpump-bench DAEMON_A DAEMON_C [SCALE]\n");
		return 2;
	}
	da.instr = atof(argv[1]);
	dc.instr = atof(argv[2]);
	if (da.instr <= 0 || dc.instr <= 0 || it < 1) {
		fprintf(stderr, "bus1-dbus-sdpump-bench: bad figures\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	printf("\n## D-Bus (issue 19): sd-bus (libsystemd, dynamic) as the marshaller, %s\n",
	       "bytes over bus1 through a socketpair pump");
	printf("# against dbus-daemon's (a) %.0f and (c) %.0f of this run; %s\n",
	       da.instr, dc.instr, "csw = context switches per op (whole VM)");
	a = call_case(200 * it, &len, &rlen);
	dbench_ratio_line("(a) sd-bus over bus1 (pump)", a, da, 0.40);
	printf("  %-42s %9.2f (call %zu B, reply %zu B)\n", "(a) csw per round trip",
	       a.csw, len, rlen);
	h1 = hop_fig(hop, len, 200 * it);
	h2 = hop_fig(hop, rlen, 200 * it);
	ea = hop_fig(empty_read, len, 200 * it);
	/* each message: a hop on both sides; the callee's loop: one empty read */
	pa.instr = 2 * h1.instr + 2 * h2.instr + ea.instr;
	dbench_ratio_line("of which the pump: 4 hops, 1 empty read", pa, da,
			  0.40);
	a.instr -= pa.instr;
	dbench_ratio_line("(a) without the pump (estimate)", a, da, 0.40);
	local_init();
	l = dbench_measure(local_call, NULL, 200 * it);
	dbench_ratio_line("sd-bus + pump in one process, no bus1", l, da,
			  0.40);
	l.instr -= pa.instr;
	dbench_ratio_line("sd-bus alone (that less the pump)", l, da, 0.40);
	fflush(stdout);

	c = signal_case(10 * it, &slen);
	dbench_ratio_line("(c) sd-bus over bus1 (pump), per signal", c, dc,
			  0.30);
	printf("  %-42s %9.2f (signal %zu B)\n", "(c) csw per signal", c.csw,
	       slen);
	h1 = hop_fig(hop, slen, 200 * it);
	/* the sender's side, each subscriber's side and its empty read */
	pc.instr = (1 + NSUBS) * h1.instr + NSUBS * ea.instr;
	dbench_ratio_line("of which the pump: 11 hops, 10 empty reads", pc, dc,
			  0.30);
	c.instr -= pc.instr;
	dbench_ratio_line("(c) without the pump (estimate)", c, dc, 0.30);
	sub_ack = local_null;
	l = dbench_measure(local_signal, NULL, 100 * it);
	dbench_ratio_line("sd-bus + pump in one process, no bus1", l, dc,
			  0.30);
	l.instr -= pc.instr;
	dbench_ratio_line("sd-bus alone (that less the pump)", l, dc, 0.30);
	k = mcast_fig(slen, 200 * it);
	dbench_ratio_line("bus1: the multicast to 10 and 10 RECVs", k, dc,
			  0.30);
	l.instr += k.instr;
	dbench_ratio_line("(c) floor: those two, no wake-up, no pump", l, dc,
			  0.30);
	printf("# a hop (one message's write + read on a socketpair) %.0f for %zu B, %s %.0f\n",
	       h1.instr, slen, "an empty read", ea.instr);
	return 0;
}
