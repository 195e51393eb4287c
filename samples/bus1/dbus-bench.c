// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-bench: the D-Bus figures of `make bench` (issue 19), run by
 * bus1-bench (tools/testing/selftests/bus1/bench) in the icount VM, where
 * CLOCK_MONOTONIC ns are guest instructions (user + kernel, whole VM).
 *
 *   bus1-dbus-bench DAEMON_ADDR BROKER_ADDR BUS1_SOCKET
 *
 * DAEMON_ADDR is Debian's dbus-daemon, BROKER_ADDR the socket of
 * bus1-dbus-broker and BUS1_SOCKET its bus1 bootstrap (bus1-bench starts
 * them). Every figure is the median of 7 repetitions of a steady-state loop
 * after a warm-up one, with the context switches of the whole VM per
 * operation (/proc/stat ctxt). Cases, each beside its baseline through
 * dbus-daemon between libdbus clients:
 *   (a) Echo(s) -> s between two native peers (libbus1-dbus)      <= 0.40x
 *   (b) the same from a libdbus socket client to a native service
 *       through bus1-dbus-broker                                    <= 1.20x
 *   (c) one signal to 10 matching subscribers                      <= 0.30x
 *   (d) connecting: Hello + RequestName (and the disconnect)       <= 1.00x
 * Under (a) and (c) their libdbus floor: the work the library did with
 * libdbus before its port to sd-bus, for the case without a transport (see
 * struct floor), to show what libdbus messages cost at all.
 *
 *   bus1-dbus-bench --dbus-broker ROOT CONF DAEMON_ADDR BROKER_ADDR ...
 *
 * also measures, after those rows, the baseline of each case through
 * Debian's dbus-broker, started here from ROOT with dbus-daemon's
 * configuration file CONF (see dbb_start()): one "(X) vs dbus-broker" line
 * per case, informational (the targets are dbus-daemon's); "dbus-broker:
 * not installed, skipped" where ROOT has none. With SCALE "baselines" it
 * prints dbus-daemon's and dbus-broker's baselines alone (no bus1).
 *
 *   bus1-dbus-bench DAEMON_ADDR BROKER_ADDR BUS1_SOCKET SCALE floor
 *
 * prints the floors alone (no broker or daemon needed).
 *
 *   bus1-dbus-bench DAEMON_ADDR BROKER_ADDR BUS1_SOCKET SCALE names
 *
 * is the scaling of the broker's lookups (dbus.rst "Lookups"): (b) and (e),
 * the native setup (connect, resolve the service's name through the broker,
 * one call, disconnect), with 10 and with 5,000 well-known names owned by
 * 10 other (socket) connections of the broker; no dbus-daemon baseline.
 *
 *   bus1-dbus-bench DAEMON_ADDR BROKER_ADDR BUS1_SOCKET SCALE conns
 *
 * is the cost of idle connections to the broker's main loop (dbus.rst
 * "Lookups"): (b) with 10 and with 1,000 idle socket connections open (the
 * broker needs --max-connections-per-user above 1,000 and an fd limit
 * above that, see bus1-bench.sh).
 * Socket clients are linked statically with Debian's libdbus-1.a (the
 * library of the dbus-daemon baseline's clients, same version); the native
 * ones use libbus1-dbus, whose messages are sd-bus's (libsystemd).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "dbus-native.h"
#include "dbus-wire.h"
#include "dbus-bench-util.h"

#define NAME	"org.bus1.Bench"
#define PATH	"/org/bus1/Bench"
#define IFACE	"org.bus1.Bench"
#define NSUBS	10
#define BATCH	10	/* signals between two acks of every subscriber */
#define ARG	"hello"

static const char *daemon_addr, *broker_addr, *b1sock;
static void dbb_stop(void);

static void die(const char *what)
{
	fprintf(stderr, "bus1-dbus-bench: %s failed\n", what);
	dbench_kill_kids();
	dbb_stop();
	exit(1);
}

static DBusMessage *echo_reply(DBusMessage *call)
{
	DBusMessage *r;
	const char *s;

	if (!dbus_message_get_args(call, NULL, DBUS_TYPE_STRING, &s,
				   DBUS_TYPE_INVALID))
		return dbus_message_new_error(call, DBUS_ERROR_INVALID_ARGS, "s");
	r = dbus_message_new_method_return(call);
	if (r)
		dbus_message_append_args(r, DBUS_TYPE_STRING, &s,
					 DBUS_TYPE_INVALID);
	return r;
}

/* --- libdbus on a socket (dbus-daemon, or bus1-dbus-broker) ------------- */

static DBusConnection *sock_connect(const char *addr)
{
	DBusConnection *c = dbus_connection_open_private(addr, NULL);

	if (!c || !dbus_bus_register(c, NULL))
		die("libdbus connect");
	return c;
}

static const char *svc_addr;

static void sock_service(void *arg, int fd)
{
	DBusConnection *c = sock_connect(svc_addr);
	DBusMessage *m, *r;

	if (dbus_bus_request_name(c, NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE, NULL) !=
	    DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		die("libdbus RequestName");
	if (write(fd, "r", 1) != 1)
		_exit(1);
	while (dbus_connection_read_write(c, -1)) {
		while ((m = dbus_connection_pop_message(c))) {
			if (dbus_message_is_method_call(m, IFACE, "Echo")) {
				r = echo_reply(m);
				dbus_connection_send(c, r, NULL);
				dbus_message_unref(r);
			}
			dbus_message_unref(m);
		}
	}
}

static DBusMessage *new_call(void)
{
	DBusMessage *m = dbus_message_new_method_call(NAME, PATH, IFACE,
						      "Echo");
	const char *s = ARG;

	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &s,
					    DBUS_TYPE_INVALID))
		die("message");
	return m;
}

static void sock_call(void *ctx)
{
	DBusMessage *m = new_call(), *r;

	r = dbus_connection_send_with_reply_and_block(ctx, m, -1, NULL);
	if (!r || dbus_message_get_type(r) != DBUS_MESSAGE_TYPE_METHOD_RETURN)
		die("libdbus Echo");
	dbus_message_unref(r);
	dbus_message_unref(m);
}

static int sub_ack;

static void sock_subscriber(void *arg, int fd)
{
	DBusConnection *c = sock_connect(svc_addr);
	DBusMessage *m;
	unsigned long n = 0;

	dbus_bus_add_match(c, "type='signal',interface='" IFACE
			   "',member='Tick'", NULL);
	/* AddMatch with a NULL error does not wait: a round trip does */
	if (!dbus_bus_name_has_owner(c, "org.freedesktop.DBus", NULL))
		die("NameHasOwner");
	if (write(fd, "r", 1) != 1)
		_exit(1);
	while (dbus_connection_read_write(c, -1)) {
		while ((m = dbus_connection_pop_message(c))) {
			if (dbus_message_is_signal(m, IFACE, "Tick") &&
			    ++n % BATCH == 0 && write(sub_ack, "a", 1) != 1)
				_exit(1);
			dbus_message_unref(m);
		}
	}
}

struct emit {
	DBusConnection *c;
	struct b1d_bus *b;
	int ack;
};

static sd_bus_message *nat_new_tick(struct b1d_bus *b)
{
	sd_bus_message *m = NULL;

	if (sd_bus_message_new_signal(b1d_sd_bus(b), &m, PATH, IFACE,
				      "Tick") < 0 ||
	    sd_bus_message_append(m, "s", ARG) < 0)
		die("signal");
	return m;
}

static DBusMessage *new_tick(void)
{
	DBusMessage *m = dbus_message_new_signal(PATH, IFACE, "Tick");
	const char *s = ARG;

	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &s,
					    DBUS_TYPE_INVALID))
		die("signal");
	return m;
}

/* one op = BATCH signals, then every subscriber's ack */
static void emit_batch(void *ctx)
{
	struct emit *e = ctx;
	char buf[NSUBS];
	int got = 0;
	ssize_t n;

	for (int i = 0; i < BATCH; i++) {
		if (e->c) {
			DBusMessage *m = new_tick();

			dbus_connection_send(e->c, m, NULL);
			dbus_connection_flush(e->c);
			dbus_message_unref(m);
		} else {
			sd_bus_message *m = nat_new_tick(e->b);

			if (b1d_send(e->b, m) < 0)
				die("b1d_send");
			sd_bus_message_unref(m);
		}
	}
	while (got < NSUBS) {
		n = read(e->ack, buf, NSUBS - got);
		if (n <= 0)
			die("ack");
		got += n;
	}
}

static void sock_connect_op(void *ctx)
{
	DBusConnection *c = sock_connect(ctx);

	if (dbus_bus_request_name(c, NAME ".Conn", DBUS_NAME_FLAG_DO_NOT_QUEUE,
				  NULL) < 0)
		die("RequestName");
	dbus_connection_close(c);
	dbus_connection_unref(c);
}

/* --- libbus1-dbus ---------------------------------------------------------- */

static struct b1d_bus *nat_connect(void)
{
	struct b1d_bus *b;

	if (b1d_connect(b1sock, &b) < 0)
		die("b1d_connect");
	return b;
}

static sd_bus_message *m_echo(struct b1d_bus *bus, sd_bus_message *call,
			      void *u)
{
	sd_bus_message *r = NULL;
	const char *s;

	if (sd_bus_message_read(call, "s", &s) <= 0)
		sd_bus_message_new_method_errorf(call, &r,
						 SD_BUS_ERROR_INVALID_ARGS, "s");
	else if (sd_bus_message_new_method_return(call, &r) >= 0 &&
		 sd_bus_message_append(r, "s", s) < 0)
		r = sd_bus_message_unref(r);
	return r;
}

static const struct b1d_method methods[] = {
	{ "Echo", m_echo, "s", "s" },
	{}
};

static void nat_loop(struct b1d_bus *b)
{
	while (b1d_wait(b, -1) >= 0)
		while (b1d_process(b) > 0)
			;
}

static void nat_service(void *arg, int fd)
{
	struct b1d_bus *b = nat_connect();

	b1d_add_object(b, PATH, IFACE, methods, NULL);
	if (b1d_request_name(b, NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE) !=
	    DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		die("b1d_request_name");
	if (write(fd, "r", 1) != 1)
		_exit(1);
	nat_loop(b);
}

static void nat_call(void *ctx)
{
	sd_bus_message *m = NULL, *r = NULL;
	const char *s;

	if (sd_bus_message_new_method_call(b1d_sd_bus(ctx), &m, NAME, PATH,
					   IFACE, "Echo") < 0 ||
	    sd_bus_message_append(m, "s", ARG) < 0)
		die("message");
	if (b1d_call(ctx, m, -1, &r) < 0 || sd_bus_message_is_method_error(r, NULL) ||
	    sd_bus_message_read(r, "s", &s) <= 0)
		die("native Echo");
	sd_bus_message_unref(r);
	sd_bus_message_unref(m);
}

static void nat_tick(struct b1d_bus *b, sd_bus_message *m, void *u)
{
	static unsigned long n;

	if (++n % BATCH == 0 && write(sub_ack, "a", 1) != 1)
		_exit(1);
}

static void nat_subscriber(void *arg, int fd)
{
	struct b1d_bus *b = nat_connect();

	if (b1d_match_signal(b, NULL, NULL, IFACE, "Tick", nat_tick, NULL) < 0)
		die("b1d_match_signal");
	if (write(fd, "r", 1) != 1)
		_exit(1);
	nat_loop(b);
}

static void nat_connect_op(void *ctx)
{
	struct b1d_bus *b = nat_connect();

	if (b1d_request_name(b, NAME ".Conn", DBUS_NAME_FLAG_DO_NOT_QUEUE) < 0)
		die("b1d_request_name");
	b1d_free(b);
}

/* --- the libdbus floor: the library's libdbus work, no transport -------- */

/*
 * What libbus1-dbus did with libdbus for case (a) or (c) before its port
 * to sd-bus, in one process, the marshalled bytes handed to the receiver
 * in memory instead of in a bus1 message: its functions of then (kept
 * here: floor_prepare(), floor_prepare_reply(), floor_set_sender();
 * dwire_parse()), the libdbus calls it made inline. Its lists, the ioctls
 * and the kernel are left out, so no transport carrying libdbus messages
 * costs less.
 */
struct floor_end {
	dbus_uint32_t serial;
	char unique[64];
};

struct floor {
	struct floor_end caller, callee;
	DBusMessage *tmpl;	/* the template of the last variant, or NULL */
	bool broker;		/* (c): add bus1-dbus-broker's share */
	char *bytes;		/* parse-only ops: the marshalled message */
	int len;
};

/* the old library's floor_set_sender(): a header edit only if it differs */
static bool floor_set_sender(DBusMessage *m, const char *v)
{
	const char *cur = dbus_message_get_sender(m);

	return (cur && v && !strcmp(cur, v)) || dbus_message_set_sender(m, v);
}

/* ... floor_prepare(): the next serial and our unique name */
static int floor_prepare(struct floor_end *e, DBusMessage *m)
{
	if (!++e->serial)
		e->serial = 1;
	dbus_message_set_serial(m, e->serial);
	return floor_set_sender(m, e->unique) ? 0 : -ENOMEM;
}

/* ... b1di_prepare_reply(): the destination first (one cache rebuild) */
static int floor_prepare_reply(struct floor_end *e, DBusMessage *call,
			       DBusMessage *r)
{
	const char *cur = dbus_message_get_destination(r);
	const char *v = dbus_message_get_sender(call);

	if (!(cur && v && !strcmp(cur, v)) &&
	    !dbus_message_set_destination(r, v))
		return -ENOMEM;
	return floor_prepare(e, r);
}

static DBusMessage *floor_parse(const char *buf, int len)
{
	struct bus1_message msg = { .data = buf, .n_bytes = len };
	DBusMessage *m = dwire_parse(&msg, NULL);

	if (!m)
		die("dwire_parse");
	return m;
}

/* dwire_send()'s marshal, then recv_one()'s parse of the bytes */
static DBusMessage *floor_wire(DBusMessage *m)
{
	DBusMessage *in;
	char *buf;
	int len;

	if (!dbus_message_marshal(m, &buf, &len))
		die("dbus_message_marshal");
	dbus_message_contains_unix_fds(m);
	in = floor_parse(buf, len);
	dbus_free(buf);
	return in;
}

/*
 * the call of nat_call(), or a copy of the template (sender set once)
 * with the argument appended: the library's floor_set_sender() then finds
 * the sender right and leaves the header alone
 */
static DBusMessage *floor_new_call(struct floor *f)
{
	const char *s = ARG;
	DBusMessage *m;

	if (!f->tmpl)
		return new_call();
	m = dbus_message_copy(f->tmpl);
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &s,
					    DBUS_TYPE_INVALID))
		die("template copy");
	return m;
}

/* (a): nat_call() -> b1d_call() -> b1di_call_at(), the callee's handle() */
static void floor_call(void *ctx)
{
	struct floor *f = ctx;
	DBusMessage *m = floor_new_call(f), *c, *in, *r, *out;

	if (!dbus_message_get_destination(m))
		die("floor: call");
	c = dbus_message_ref(m);	/* sendable(): not sent before */
	if (floor_prepare(&f->caller, c) < 0)
		die("floor: prepare");
	in = floor_wire(c);
	/* b1di_call_origin() on a door: the sender is already right */
	if (dbus_message_get_type(in) != DBUS_MESSAGE_TYPE_METHOD_CALL ||
	    !floor_set_sender(in, f->caller.unique))
		die("floor: call origin");
	/* dispatch_call() */
	if (!dbus_message_get_path(in) || !dbus_message_get_interface(in) ||
	    !dbus_message_get_member(in))
		die("floor: dispatch");
	r = echo_reply(in);
	if (!r || dbus_message_get_no_reply(in) ||
	    floor_prepare_reply(&f->callee, in, r) < 0)
		die("floor: reply");
	out = floor_wire(r);
	/* b1di_call_at(): is it the reply? */
	if (dbus_message_get_type(out) != DBUS_MESSAGE_TYPE_METHOD_RETURN ||
	    dbus_message_get_reply_serial(out) != f->caller.serial)
		die("floor: reply serial");
	dbus_message_unref(out);
	dbus_message_unref(r);
	dbus_message_unref(in);
	dbus_message_unref(c);
	dbus_message_unref(m);
}

/* recv_one()'s and handle()'s looks at a signal a subscriber receives */
static void floor_subscriber(const char *buf, int len)
{
	DBusMessage *in = floor_parse(buf, len);

	if (dbus_message_is_signal(in, DBUS_INTERFACE_DBUS, "NameOwnerChanged") ||
	    dbus_message_get_type(in) != DBUS_MESSAGE_TYPE_SIGNAL ||
	    !dbus_message_get_sender(in) || !dbus_message_get_path(in) ||
	    !dbus_message_get_interface(in) || !dbus_message_get_member(in))
		die("floor: signal");
	dbus_message_unref(in);
}

/*
 * (c): b1d_send() of one signal, NSUBS subscribers' parses; with ->broker
 * also the broker's: its parse (b1t's recv), bus_receive()'s
 * bus_set_sender() (not linked here: floor_set_sender() is the same test)
 * and the one marshal of the multicast
 */
static void floor_signal(void *ctx)
{
	struct floor *f = ctx;
	DBusMessage *m, *s, *in;
	char *buf, *bbuf;
	int len, blen;

	if (f->tmpl) {
		m = dbus_message_copy(f->tmpl);
		if (!m)
			die("template copy");
	} else {
		m = new_tick();
	}
	s = dbus_message_ref(m);	/* sendable() */
	if (dbus_message_get_type(s) != DBUS_MESSAGE_TYPE_SIGNAL ||
	    floor_prepare(&f->caller, s) < 0 ||
	    !dbus_message_marshal(s, &buf, &len))
		die("floor: emit");
	dbus_message_contains_unix_fds(s);
	if (f->broker) {
		in = floor_parse(buf, len);
		if (!floor_set_sender(in, f->caller.unique) ||
		    !dbus_message_marshal(in, &bbuf, &blen))
			die("floor: broker");
		dbus_message_unref(in);
		dbus_free(buf);
		buf = bbuf;
		len = blen;
	}
	for (int i = 0; i < NSUBS; i++)
		floor_subscriber(buf, len);
	dbus_free(buf);
	dbus_message_unref(s);
	dbus_message_unref(m);
}

/* one dwire_parse() of f->bytes: what every receiver must do */
static void floor_parse_op(void *ctx)
{
	struct floor *f = ctx;

	dbus_message_unref(floor_parse(f->bytes, f->len));
}

static void floor_init(struct floor *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->caller.unique, ":1.41");
	strcpy(f->callee.unique, ":1.42");
}

/* the marshalled bytes of @m, as the library sends it from f->caller */
static void floor_bytes(struct floor *f, DBusMessage *m)
{
	if (floor_prepare(&f->caller, m) < 0 ||
	    !dbus_message_marshal(m, &f->bytes, &f->len))
		die("floor: bytes");
	dbus_message_unref(m);
}

/* --- the cases --------------------------------------------------------- */

static void row(const char *what, struct fig f, struct fig base,
		double target)
{
	double ratio = f.instr / base.instr;

	printf("%-44s %9.0f %6.2f %9.0f %6.2f %6.2fx  <= %.2fx  %s\n", what,
	       f.instr, f.csw, base.instr, base.csw, ratio, target,
	       ratio <= target ? "PASS" : "MISS");
}

/* the floor lines of case (a), against @d, dbus-daemon's figure */
static void floor_call_rows(struct fig d, int iters)
{
	struct floor f;
	struct fig p1, p2;
	DBusMessage *call, *r;

	floor_init(&f);
	dbench_ratio_line("floor (libdbus only)",
			  dbench_measure(floor_call, &f, iters), d, 0.40);
	/* of it, what the two receivers' parses cost */
	call = new_call();
	floor_bytes(&f, dbus_message_ref(call));
	p1 = dbench_measure(floor_parse_op, &f, iters);
	dbus_free(f.bytes);
	r = echo_reply(call);
	dbus_message_set_destination(r, f.caller.unique);
	floor_bytes(&f, r);
	p2 = dbench_measure(floor_parse_op, &f, iters);
	dbus_free(f.bytes);
	dbus_message_unref(call);
	p1.instr += p2.instr;
	dbench_ratio_line("of which the 2 parses (call, reply)", p1, d, 0.40);
	/* a library user's cheapest call: a copy of one with the sender set */
	f.tmpl = dbus_message_new_method_call(NAME, PATH, IFACE, "Echo");
	if (!f.tmpl || !floor_set_sender(f.tmpl, f.caller.unique))
		die("template");
	dbench_ratio_line("floor, the call copied from a template",
			  dbench_measure(floor_call, &f, iters), d, 0.40);
	dbus_message_unref(f.tmpl);
}

/* the floor lines of case (c), against @d, dbus-daemon's figure */
static void floor_signal_rows(struct fig d, int iters)
{
	struct floor f;
	struct fig p;

	floor_init(&f);
	dbench_ratio_line("floor (libdbus only)",
			  dbench_measure(floor_signal, &f, iters), d, 0.30);
	floor_bytes(&f, new_tick());
	p = dbench_measure(floor_parse_op, &f, iters);
	dbus_free(f.bytes);
	p.instr *= NSUBS;
	dbench_ratio_line("of which the 10 subscribers' parses", p, d, 0.30);
	f.tmpl = new_tick();
	if (!floor_set_sender(f.tmpl, f.caller.unique))
		die("template");
	dbench_ratio_line("floor, the signal copied from a template",
			  dbench_measure(floor_signal, &f, iters), d, 0.30);
	dbus_message_unref(f.tmpl);
	f.tmpl = NULL;
	f.broker = true;
	dbench_ratio_line("floor + the broker's parse, sender, marshal",
			  dbench_measure(floor_signal, &f, iters), d, 0.30);
}

/* the last call_case()'s switches: caller and service, voluntary/not */
static long sw[4];

static struct fig call_case(const char *addr, bool native_svc,
			    bool native_client, int iters)
{
	struct b1d_bus *b = NULL;
	DBusConnection *c = NULL;
	struct rusage s0, c0, s1, c1;
	struct fig f;
	int p[2];

	getrusage(RUSAGE_SELF, &s0);
	getrusage(RUSAGE_CHILDREN, &c0);
	if (pipe(p))
		die("pipe");
	svc_addr = addr;
	dbench_spawn(native_svc ? nat_service : sock_service, NULL, p[1]);
	dbench_wait_ready(p[0], 1);
	if (native_client) {
		b = nat_connect();
		f = dbench_measure(nat_call, b, iters);
		b1d_free(b);
	} else {
		c = sock_connect(addr);
		f = dbench_measure(sock_call, c, iters);
		dbus_connection_close(c);
		dbus_connection_unref(c);
	}
	dbench_reap();
	close(p[0]);
	close(p[1]);
	getrusage(RUSAGE_SELF, &s1);
	getrusage(RUSAGE_CHILDREN, &c1);
	sw[0] = s1.ru_nvcsw - s0.ru_nvcsw;
	sw[1] = s1.ru_nivcsw - s0.ru_nivcsw;
	sw[2] = c1.ru_nvcsw - c0.ru_nvcsw;
	sw[3] = c1.ru_nivcsw - c0.ru_nivcsw;
	return f;
}

/* who blocked and who was preempted in the last call_case() of @ops ops */
static void switches_line(int ops)
{
	printf("  %-42s caller %.2f + %.2f, service %.2f + %.2f\n",
	       "switches/op, voluntary + preempted", (double)sw[0] / ops,
	       (double)sw[1] / ops, (double)sw[2] / ops, (double)sw[3] / ops);
}

static struct fig signal_case(const char *addr, bool native, int iters)
{
	struct emit e = {};
	struct fig f;
	int p[2], a[2];

	if (pipe(p) || pipe(a))
		die("pipe");
	svc_addr = addr;
	sub_ack = a[1];
	for (int i = 0; i < NSUBS; i++)
		dbench_spawn(native ? nat_subscriber : sock_subscriber, NULL,
			     p[1]);
	dbench_wait_ready(p[0], NSUBS);
	e.ack = a[0];
	if (native)
		e.b = nat_connect();
	else
		e.c = sock_connect(addr);
	f = dbench_measure(emit_batch, &e, iters);
	f.instr /= BATCH;
	f.csw /= BATCH;
	if (native) {
		b1d_free(e.b);
	} else {
		dbus_connection_close(e.c);
		dbus_connection_unref(e.c);
	}
	dbench_reap();
	close(p[0]);
	close(p[1]);
	close(a[0]);
	close(a[1]);
	return f;
}

/* --- Debian's dbus-broker: a second baseline, informational -------------- */

/*
 * dbus-broker without systemd: its launcher, dbus-broker-launch --scope
 * user, takes its listening socket by socket activation (LISTEN_FDS=1,
 * LISTEN_PID, fd 3), joins the bus it serves as a client through
 * DBUS_SESSION_BUS_ADDRESS (one :1.x connection besides ours), and opens
 * journald's socket at start, which it must find: where the root it runs
 * from has no journald listening, a child of ours binds a stand-in there
 * (replacing a dead socket file) and drains it. It
 * also reads /etc/machine-id (for the broker's --machine-id): a root other
 * than "/" without one gets a random one for the run. The root
 * (--dbus-broker ROOT CONF) is entered by chroot unless it is "/": in the
 * VM it is /hostroot, the host's /usr, whose /run and /tmp are the guest's
 * and whose /etc holds only passwd and group. CONF is dbus-daemon's
 * configuration file (its path inside ROOT): the same policy, allow all
 * (dbus-broker ignores <listen>, and warns that it ignores
 * eavesdrop="true", which no client here uses). The broker is started
 * only after the dbus-daemon and bus1 rows: measured between them, its
 * cases moved bus1's (c) by 14k (what ran before a case moves its figure).
 * Its launcher's wakeups and the journal messages during its figures are
 * printed (both 0 so far): the figures are the broker's and the clients'.
 */
#define DBB_SOCK	"/run/bus1/bench-dbus-broker.%d.sock"	/* our pid */
#define DBB_JOURNAL	"/run/systemd/journal/socket"
#define DBB_LOG		"/tmp/bench-dbus-broker.log"

static struct {
	const char *root, *conf;
	char inner[PATH_MAX];		/* the listening socket, in ROOT */
	char sock[PATH_MAX];		/* the same, as seen from here */
	char addr[PATH_MAX + 16];	/* its address for our clients */
	char journal[PATH_MAX];		/* the stand-in we bound, or "" */
	char machine_id[PATH_MAX];	/* the machine-id we wrote, or "" */
	pid_t owner, launcher, broker, drainer;
	unsigned long *journal_msgs;	/* counted by the drainer */
	char unique[64];		/* the launcher's connection */
	long wakeups;			/* the launcher's, before the figures */
	unsigned long msgs;		/* journal messages, before the figures */
} dbb;

/* @path inside dbb.root, as seen from here */
static void dbb_path(char *buf, const char *path)
{
	snprintf(buf, PATH_MAX, "%s%s", strcmp(dbb.root, "/") ? dbb.root : "",
		 path);
}

/* mkdir -p of the directory of @file */
static void mkdirs(const char *file)
{
	char d[PATH_MAX];

	snprintf(d, sizeof(d), "%s", file);
	for (char *p = d + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		mkdir(d, 0755);
		*p = '/';
	}
}

static int unix_socket(int type, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	mkdirs(path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (type == SOCK_STREAM && listen(fd, SOMAXCONN))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Whether someone is bound at @path: a socket file with nobody behind it
 * (a killed run's stand-in, or a package's leftover where journald never
 * ran) refuses the launcher just as no file does, so it is replaced.
 */
static bool socket_listens(int type, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	strcpy(sa.sun_path, path);
	ok = !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return ok;
}

/* the journal stand-in: every datagram counted and appended to the log */
static void dbb_drain(int fd, int log)
{
	char buf[8192];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			continue;
		__atomic_add_fetch(dbb.journal_msgs, 1, __ATOMIC_RELAXED);
		buf[n++] = '\n';
		if (write(log, buf, n) < 0)
			_exit(1);
	}
}

static void dbb_launch(int lfd, int log)
{
	char pid[16], addr[PATH_MAX + 16];

	if (strcmp(dbb.root, "/") && (chroot(dbb.root) || chdir("/")))
		_exit(127);
	if (dup2(log, 1) < 0 || dup2(log, 2) < 0)
		_exit(127);
	if (lfd == 3 ? fcntl(3, F_SETFD, 0) : dup2(lfd, 3) != 3)
		_exit(127);
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(addr, sizeof(addr), "unix:path=%s", dbb.inner);
	clearenv();
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("DBUS_SESSION_BUS_ADDRESS", addr, 1);
	execl("/usr/bin/dbus-broker-launch", "dbus-broker-launch", "--scope",
	      "user", "--config-file", dbb.conf, (char *)NULL);
	_exit(127);
}

/* the broker: the launcher's one child, or 0 */
static pid_t dbb_broker_pid(void)
{
	char path[64];
	int pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", dbb.launcher,
		 dbb.launcher);
	f = fopen(path, "r");
	if (f && fscanf(f, "%d", &pid) != 1)
		pid = 0;
	if (f)
		fclose(f);
	return pid;
}

/* the launcher's wakeups so far: its voluntary and preempted switches */
static long dbb_launcher_wakeups(void)
{
	char path[64], line[128];
	long v, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", dbb.launcher);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
			n += v;
	if (f)
		fclose(f);
	return n;
}

/* the pid of the connection @name, by the driver's call; 0 if none */
static unsigned long conn_pid(DBusConnection *c, const char *name)
{
	DBusMessage *m, *r;
	dbus_uint32_t pid = 0;

	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 DBUS_INTERFACE_DBUS,
					 "GetConnectionUnixProcessID");
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &name,
					    DBUS_TYPE_INVALID))
		die("GetConnectionUnixProcessID");
	r = dbus_connection_send_with_reply_and_block(c, m, -1, NULL);
	if (r && !dbus_message_get_args(r, NULL, DBUS_TYPE_UINT32, &pid,
					DBUS_TYPE_INVALID))
		pid = 0;
	if (r)
		dbus_message_unref(r);
	dbus_message_unref(m);
	return pid;
}

/* is the launcher's connection on the bus? Its name into dbb.unique */
static bool dbb_find_launcher(DBusConnection *c)
{
	DBusMessageIter it, a;
	DBusMessage *m, *r;
	const char *name;
	bool found = false;

	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 DBUS_INTERFACE_DBUS, "ListNames");
	r = m ? dbus_connection_send_with_reply_and_block(c, m, -1, NULL) : NULL;
	if (!r || !dbus_message_iter_init(r, &it) ||
	    dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_ARRAY)
		die("dbus-broker ListNames");
	for (dbus_message_iter_recurse(&it, &a);
	     !found && dbus_message_iter_get_arg_type(&a) == DBUS_TYPE_STRING;
	     dbus_message_iter_next(&a)) {
		dbus_message_iter_get_basic(&a, &name);
		if (name[0] == ':' &&
		    conn_pid(c, name) == (unsigned long)dbb.launcher) {
			snprintf(dbb.unique, sizeof(dbb.unique), "%s", name);
			found = true;
		}
	}
	dbus_message_unref(r);
	dbus_message_unref(m);
	return found;
}

/* end the launcher (its broker follows) and the drainer; ours only */
static void dbb_stop(void)
{
	if (dbb.owner != getpid())
		return;
	dbb.owner = 0;
	if (dbb.launcher > 0) {
		kill(dbb.launcher, SIGTERM);
		waitpid(dbb.launcher, NULL, 0);
	}
	/* ours too (subreaper): its exit is not left running past ours */
	if (dbb.broker > 0) {
		kill(dbb.broker, SIGTERM);
		waitpid(dbb.broker, NULL, 0);
	}
	if (dbb.drainer > 0) {
		kill(dbb.drainer, SIGKILL);
		waitpid(dbb.drainer, NULL, 0);
	}
	if (dbb.journal[0])
		unlink(dbb.journal);
	if (dbb.machine_id[0])
		unlink(dbb.machine_id);
	unlink(dbb.sock);
}

/* a random /etc/machine-id in a root other than "/" that has none */
static int dbb_machine_id(void)
{
	unsigned char r[16];
	char path[PATH_MAX], id[34];
	int fd;

	dbb_path(path, "/etc/machine-id");
	if (!strcmp(dbb.root, "/") || !access(path, F_OK))
		return 0;
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return -1;
	for (int i = 0; i < 16; i++)
		sprintf(id + 2 * i, "%02x", r[i]);
	id[32] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return -1;
	snprintf(dbb.machine_id, sizeof(dbb.machine_id), "%s", path);
	if (write(fd, id, 33) != 33) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* the launcher's output and journal lines, on a failure */
static void dbb_fail(const char *what)
{
	char line[512];
	FILE *f;

	printf("# dbus-broker: %s, skipped; its log (%s):\n", what, DBB_LOG);
	f = fopen(DBB_LOG, "r");
	while (f && fgets(line, sizeof(line), f))
		printf("#   %s%s", line, strchr(line, '\n') ? "" : "\n");
	if (f)
		fclose(f);
	dbb_stop();
}

/*
 * dbb_start() - start Debian's dbus-broker from dbb.root (see above)
 *
 * Return: 0 once the launcher's own connection is on the bus (its start-up
 * done, not measured), 1 if it is not installed (a line says so), -1 if it
 * did not start (a line and its log say why).
 */
static int dbb_start(void)
{
	char launch[PATH_MAX];
	DBusConnection *c;
	int lfd, jfd, log, i;

	dbb_path(launch, "/usr/bin/dbus-broker-launch");
	if (access(launch, X_OK)) {
		printf("# dbus-broker: not installed, skipped (no %s)\n", launch);
		return 1;
	}
	dbb.owner = getpid();
	/* the broker, the launcher's child, is reparented to us at the end */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	log = open(DBB_LOG, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
		   0644);
	dbb.journal_msgs = mmap(NULL, sizeof(*dbb.journal_msgs),
				PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (log < 0 || dbb.journal_msgs == MAP_FAILED) {
		dbb.journal_msgs = NULL;
		dbb_fail("no log file");
		return -1;
	}
	if (dbb_machine_id()) {
		dbb_fail("no /etc/machine-id in its root");
		return -1;
	}
	dbb_path(launch, DBB_JOURNAL);
	if (!socket_listens(SOCK_DGRAM, launch)) {
		jfd = unix_socket(SOCK_DGRAM, launch);
		if (jfd < 0) {
			dbb_fail("no journal socket stand-in");
			return -1;
		}
		snprintf(dbb.journal, sizeof(dbb.journal), "%s", launch);
		dbb.drainer = fork();
		if (!dbb.drainer)
			dbb_drain(jfd, log);
		close(jfd);
	}
	snprintf(dbb.inner, sizeof(dbb.inner), DBB_SOCK, dbb.owner);
	dbb_path(dbb.sock, dbb.inner);
	snprintf(dbb.addr, sizeof(dbb.addr), "unix:path=%s", dbb.sock);
	lfd = unix_socket(SOCK_STREAM, dbb.sock);
	if (lfd < 0 || dbb.drainer < 0) {
		dbb_fail("no listening socket");
		return -1;
	}
	dbb.launcher = fork();
	if (!dbb.launcher)
		dbb_launch(lfd, log);
	close(lfd);
	close(log);
	if (dbb.launcher < 0) {
		dbb_fail("fork");
		return -1;
	}
	/* the socket was ours first: a client queues until the broker runs */
	c = dbus_connection_open_private(dbb.addr, NULL);
	if (!c || !dbus_bus_register(c, NULL)) {
		dbb_fail("did not start");
		return -1;
	}
	for (i = 0; i < 600 && !dbb_find_launcher(c); i++)
		usleep(100000);
	dbus_connection_close(c);
	dbus_connection_unref(c);
	if (!dbb.unique[0]) {
		dbb_fail("its launcher never joined the bus");
		return -1;
	}
	/* the launcher's calls to systemd (absent) have their answers */
	usleep(500000);
	dbb.broker = dbb_broker_pid();
	dbb.wakeups = dbb_launcher_wakeups();
	dbb.msgs = __atomic_load_n(dbb.journal_msgs, __ATOMIC_RELAXED);
	return 0;
}

/* a dbus-broker line: the row's bus1 figure against dbus-broker's */
static void dbb_row(const char *what, struct fig f, struct fig base)
{
	printf("  %-42s %9.0f %6.2f %9.0f %6.2f %6.2fx  (informational)\n",
	       what, f.instr, f.csw, base.instr, base.csw, f.instr / base.instr);
}

/* did dbus-broker's launcher or logging add to its figures? */
static void dbb_report(void)
{
	printf("# dbus-broker: pid %d; its launcher (pid %d, on the bus as %s) ",
	       dbb.broker, dbb.launcher, dbb.unique);
	printf("woke %ld times during the dbus-broker figures; %lu journal messages\n",
	       dbb_launcher_wakeups() - dbb.wakeups,
	       __atomic_load_n(dbb.journal_msgs, __ATOMIC_RELAXED) - dbb.msgs);
}

/* --- the names of other connections (the scaling rows) ------------------- */

/* both rows: 10 connections (at most 512 names each by default) */
#define FILL_CONNS	10

/* a socket client that owns @fill_n names, then idles */
static int fill_n, fill_id;

static void filler(void *arg, int fd)
{
	DBusConnection *c = sock_connect(broker_addr);
	char name[64];
	const char *p = name;
	DBusError err;

	/* all requests first, one round trip at the end: minutes less in TCG */
	for (int i = 0; i < fill_n; i++) {
		DBusMessage *m;
		dbus_uint32_t flags = DBUS_NAME_FLAG_DO_NOT_QUEUE;

		snprintf(name, sizeof(name), "org.bus1.Fill.c%d.n%d", fill_id, i);
		m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
						 DBUS_INTERFACE_DBUS,
						 "RequestName");
		if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &p,
						    DBUS_TYPE_UINT32, &flags,
						    DBUS_TYPE_INVALID))
			die("RequestName message");
		dbus_message_set_no_reply(m, true);
		dbus_connection_send(c, m, NULL);
		dbus_message_unref(m);
	}
	dbus_error_init(&err);
	if (fill_n && !dbus_bus_name_has_owner(c, name, &err)) {
		fprintf(stderr, "bus1-dbus-bench: %s: %s\n", name,
			err.message ?: "no owner");
		die("RequestName of the names");
	}
	if (write(fd, "r", 1) != 1)
		_exit(1);
	while (dbus_connection_read_write_dispatch(c, -1))
		;
}

/* native setup: connect, GetConnectionHandle of NAME, Echo, disconnect */
static void nat_setup_op(void *ctx)
{
	struct b1d_bus *b = nat_connect();

	nat_call(b);
	b1d_free(b);
}

static void names_rows(int total, int it)
{
	int p[2];
	DBusConnection *c;
	struct fig b, e;
	char what[64];

	if (pipe(p))
		die("pipe");
	for (fill_id = 0; fill_id < FILL_CONNS; fill_id++) {
		fill_n = total / FILL_CONNS;
		dbench_spawn(filler, NULL, p[1]);
	}
	svc_addr = broker_addr;
	dbench_spawn(nat_service, NULL, p[1]);
	dbench_wait_ready(p[0], fill_id + 1);
	c = sock_connect(broker_addr);
	b = dbench_measure(sock_call, c, 200 * it);
	dbus_connection_close(c);
	dbus_connection_unref(c);
	snprintf(what, sizeof(what), "(b) socket -> native svc, %d names", total);
	printf("%-44s %9.0f %6.2f\n", what, b.instr, b.csw);
	fflush(stdout);
	e = dbench_measure(nat_setup_op, NULL, 20 * it);
	snprintf(what, sizeof(what), "(e) native setup+call, %d names", total);
	printf("%-44s %9.0f %6.2f\n", what, e.instr, e.csw);
	fflush(stdout);
	dbench_reap();
	close(p[0]);
	close(p[1]);
}

/* (b) with @n idle socket connections (Hello said, never read again) */
static void conns_row(int n, int it)
{
	DBusConnection **idle = calloc(n, sizeof(*idle));
	DBusConnection *c;
	char what[64];
	struct fig b;
	int p[2], i;

	if (!idle || pipe(p))
		die("conns setup");
	svc_addr = broker_addr;
	/* first: it inherits no idle socket */
	dbench_spawn(nat_service, NULL, p[1]);
	dbench_wait_ready(p[0], 1);
	for (i = 0; i < n; i++)
		idle[i] = sock_connect(broker_addr);
	c = sock_connect(broker_addr);
	b = dbench_measure(sock_call, c, 200 * it);
	snprintf(what, sizeof(what), "(b) socket -> native svc, %d idle", n);
	printf("%-44s %9.0f %6.2f\n", what, b.instr, b.csw);
	fflush(stdout);
	dbus_connection_close(c);
	dbus_connection_unref(c);
	for (i = 0; i < n; i++) {
		dbus_connection_close(idle[i]);
		dbus_connection_unref(idle[i]);
	}
	free(idle);
	dbench_reap();
	close(p[0]);
	close(p[1]);
}

/*
 * BASELINES: the baselines alone, dbus-daemon's beside dbus-broker's (no
 * bus1 needed: a check of the dbus-broker start-up on a host)
 */
static void baseline_rows(int it)
{
	struct fig d, k;

	printf("\n## D-Bus baselines: libdbus clients through dbus-daemon and dbus-broker\n");
	printf("%-44s %9s %6s %9s %6s %7s\n", "case", "daemon", "csw",
	       "broker", "csw", "ratio");
	d = call_case(daemon_addr, false, false, 200 * it);
	k = call_case(dbb.addr, false, false, 200 * it);
	printf("%-44s %9.0f %6.2f %9.0f %6.2f %6.2fx\n", "(a) Echo(s) call+reply",
	       d.instr, d.csw, k.instr, k.csw, k.instr / d.instr);
	d = signal_case(daemon_addr, false, 10 * it);
	k = signal_case(dbb.addr, false, 10 * it);
	printf("%-44s %9.0f %6.2f %9.0f %6.2f %6.2fx\n", "(c) one signal to 10 subscribers",
	       d.instr, d.csw, k.instr, k.csw, k.instr / d.instr);
	d = dbench_measure(sock_connect_op, (void *)daemon_addr, 30 * it);
	k = dbench_measure(sock_connect_op, dbb.addr, 30 * it);
	printf("%-44s %9.0f %6.2f %9.0f %6.2f %6.2fx\n", "(d) Hello+RequestName+disconnect",
	       d.instr, d.csw, k.instr, k.csw, k.instr / d.instr);
}

int main(int argc, char **argv)
{
	struct fig d, n, k, nb[4];
	int it;

	/* --dbus-broker ROOT CONF: Debian's dbus-broker beside dbus-daemon */
	if (argc > 3 && !strcmp(argv[1], "--dbus-broker")) {
		dbb.root = argv[2];
		dbb.conf = argv[3];
		argv[3] = argv[0];
		argv += 3;
		argc -= 3;
	}
	it = argc > 4 ? atoi(argv[4]) : 1;

	/*
	 * NATIVE-ONLY: case (a) alone, for a profile under callgrind, with
	 * the voluntary and involuntary switches of the caller (this
	 * process) and of the service (its reaped child): which of the two
	 * the scheduler preempts decides what a round trip costs
	 */
	if (argc > 5 && !strcmp(argv[5], "native-only")) {
		struct rusage us, uc;

		b1sock = argv[3];
		n = call_case(argv[2], true, true, it);
		getrusage(RUSAGE_SELF, &us);
		getrusage(RUSAGE_CHILDREN, &uc);
		printf("native<->native %.0f %.2f self vcsw %ld ivcsw %ld svc vcsw %ld ivcsw %ld\n",
		       n.instr, n.csw, us.ru_nvcsw, us.ru_nivcsw, uc.ru_nvcsw,
		       uc.ru_nivcsw);
		return 0;
	}
	/* FLOOR: the libdbus floors alone, against a baseline of 1 */
	if (argc > 5 && !strcmp(argv[5], "floor")) {
		floor_call_rows((struct fig){ 1, 0 }, 200 * it);
		floor_signal_rows((struct fig){ 1, 0 }, 20 * it);
		return 0;
	}
	if (argc > 5 && !strcmp(argv[5], "names")) {
		broker_addr = argv[2];
		b1sock = argv[3];
		signal(SIGPIPE, SIG_IGN);
		printf("\n## D-Bus broker lookups: names of other connections\n");
		printf("%-44s %9s %6s\n", "case", "bus1", "csw");
		names_rows(10, it);
		names_rows(5000, it);
		return 0;
	}
	if (argc > 5 && !strcmp(argv[5], "conns")) {
		struct rlimit rl;

		broker_addr = argv[2];
		b1sock = argv[3];
		signal(SIGPIPE, SIG_IGN);
		/* 1,000 sockets: the soft limit is often 1,024 */
		if (!getrlimit(RLIMIT_NOFILE, &rl)) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		printf("\n## D-Bus broker: idle connections\n");
		printf("%-44s %9s %6s\n", "case", "bus1", "csw");
		conns_row(10, it);
		conns_row(1000, it);
		return 0;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: bus1-dbus-bench [--dbus-broker ROOT CONF] %s\n",
			"DAEMON_ADDR BROKER_ADDR BUS1_SOCKET [SCALE [native-only|floor|names|conns|baselines]]");
		return 2;
	}
	daemon_addr = argv[1];
	broker_addr = argv[2];
	b1sock = argv[3];
	signal(SIGPIPE, SIG_IGN);
	if (argc > 5 && !strcmp(argv[5], "baselines")) {
		int r = dbb.root ? dbb_start() : -1;

		if (r)
			return r < 0;	/* not installed: said, not an error */
		baseline_rows(it);
		dbb_report();
		dbb_stop();
		return 0;
	}

	printf("\n## D-Bus (issue 19): bus1 vs Debian's dbus-daemon, %s\n",
	       "instructions per operation");
	printf("# whole VM, median of %d after a warm-up; %s\n", DBENCH_REPS,
	       "csw = context switches per op (whole VM)");
	printf("# baseline: the same operation between libdbus clients through dbus-daemon\n");
	printf("%-44s %9s %6s %9s %6s %7s  %7s\n", "case", "bus1", "csw",
	       "daemon", "csw", "ratio", "target");

	d = call_case(daemon_addr, false, false, 200 * it);
	n = call_case(broker_addr, true, true, 200 * it);
	row("(a) Echo(s) call+reply, native<->native", n, d, 0.40);
	switches_line(200 * it * (DBENCH_REPS + 1));
	floor_call_rows(d, 200 * it);
	nb[0] = n;
	n = call_case(broker_addr, true, false, 200 * it);
	row("(b) Echo(s), libdbus socket -> native svc", n, d, 1.20);
	switches_line(200 * it * (DBENCH_REPS + 1));
	fflush(stdout);
	nb[1] = n;

	d = signal_case(daemon_addr, false, 10 * it);
	n = signal_case(broker_addr, true, 10 * it);
	row("(c) one signal to 10 matching subscribers", n, d, 0.30);
	floor_signal_rows(d, 20 * it);
	fflush(stdout);
	nb[2] = n;

	d = dbench_measure(sock_connect_op, (void *)daemon_addr, 30 * it);
	n = dbench_measure(nat_connect_op, NULL, 30 * it);
	row("(d) connect: Hello+RequestName+disconnect", n, d, 1.00);
	fflush(stdout);
	nb[3] = n;

	/*
	 * dbus-broker last, started only now: the rows above are measured
	 * as they were before it, in the same sequence (what a process did
	 * before a case moves its figure, dbus.rst "Benchmark")
	 */
	if (!dbb.root)
		return 0;
	printf("# dbus-broker (informational, no target): %s\n",
	       "each row's bus1 figure against the same");
	printf("# baseline through Debian's dbus-broker, %s\n",
	       "measured after the rows above; columns:");
	printf("# bus1, csw, dbus-broker, csw, ratio\n");
	fflush(stdout);
	switch (dbb_start()) {
	case 1:
		return 0;
	case -1:
		return 1;
	}
	k = call_case(dbb.addr, false, false, 200 * it);
	dbb_row("(a) vs dbus-broker", nb[0], k);
	dbb_row("(b) vs dbus-broker", nb[1], k);
	fflush(stdout);
	k = signal_case(dbb.addr, false, 10 * it);
	dbb_row("(c) vs dbus-broker", nb[2], k);
	fflush(stdout);
	k = dbench_measure(sock_connect_op, dbb.addr, 30 * it);
	dbb_row("(d) vs dbus-broker", nb[3], k);
	dbb_report();
	dbb_stop();
	return 0;
}
