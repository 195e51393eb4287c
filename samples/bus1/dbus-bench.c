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
#include "dbus-bench.h"

static const char *daemon_addr, *broker_addr, *b1sock;

void die(const char *what)
{
	fprintf(stderr, "bus1-dbus-bench: %s failed\n", what);
	dbench_kill_kids();
	dbb_stop();
	exit(1);
}

DBusMessage *echo_reply(DBusMessage *call)
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

DBusConnection *sock_connect(const char *addr)
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

DBusMessage *new_call(void)
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

DBusMessage *new_tick(void)
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

/* --- the cases --------------------------------------------------------- */

static void row(const char *what, struct fig f, struct fig base,
		double target)
{
	double ratio = f.instr / base.instr;

	printf("%-44s %9.0f %6.2f %9.0f %6.2f %6.2fx  <= %.2fx  %s\n", what,
	       f.instr, f.csw, base.instr, base.csw, ratio, target,
	       ratio <= target ? "PASS" : "MISS");
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
