// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-native: D-Bus natively over bus1 (issue 19 item 2). A private
 * bus1-dbus-broker serves a socket and a bus1 bootstrap; a native service
 * (libbus1-dbus, a child process) owns a name and methods; native clients
 * in this process call it, subscribe to its signals, and check through the
 * broker's GetStats that no call or reply between native peers went
 * through the broker, and that each signal was one multicast to exactly
 * its subscribers. A libdbus socket client calling the same service is the
 * control: its call and reply do go through the broker. The standard
 * interfaces and Debian's clients are in dbus-native-test-peers.c,
 * Properties in dbus-native-test-props.c, the peers below the library in
 * dbus-native-test-raw.c. Prints TAP.
 */
#define TAP_SHARED
#define TAP_SHARED_DEFINE
#define DBUS_TEST_SHARED
#define DBUS_TEST_SHARED_DEFINE
#include "test-dbus-native.h"

static pid_t svc_pid, sock_pid, forger_pid;

/* --- the service --------------------------------------------------------- */

static sd_bus_message *m_echo(struct b1d_bus *bus, sd_bus_message *call,
			      void *u)
{
	const char *s = sd_str_arg(call);
	sd_bus_message *r;
	char *buf;

	if (!s)
		return sd_error_new(call, DBUS_ERROR_INVALID_ARGS,
				    "want a string");
	/* whole (the message size checks echo 64 KiB) */
	if (asprintf(&buf, "echo:%s", s) < 0)
		return NULL;
	r = sd_reply_str(call, buf);
	free(buf);
	return r;
}

static sd_bus_message *m_fail(struct b1d_bus *bus, sd_bus_message *call,
			      void *u)
{
	return sd_error_new(call, SVC_ERROR, "failing as asked");
}

static sd_bus_message *m_read_fd(struct b1d_bus *bus, sd_bus_message *call,
				 void *u)
{
	char buf[64] = "";
	ssize_t n;
	int fd;

	/* (the fd is the message's: sd-bus closes it with the message) */
	if (sd_bus_message_read(call, "h", &fd) <= 0)
		return sd_error_new(call, DBUS_ERROR_INVALID_ARGS,
				    "want an fd");
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	return sd_reply_str(call, buf);
}

static void emit(struct b1d_bus *bus, const char *member, const char *arg)
{
	sd_bus_message *s = NULL;

	if (sd_bus_message_new_signal(b1d_sd_bus(bus), &s, SVC_PATH,
				      SVC_IFACE, member) >= 0 &&
	    sd_bus_message_append(s, "s", arg) >= 0)
		b1d_send(bus, s);
	sd_unref(s);
}

static sd_bus_message *empty_reply(sd_bus_message *call)
{
	sd_bus_message *r = NULL;

	sd_bus_message_new_method_return(call, &r);
	return r;
}

/* Ping(arg) then Pong(arg), then the reply */
static sd_bus_message *m_emit(struct b1d_bus *bus, sd_bus_message *call,
			      void *u)
{
	const char *s = sd_str_arg(call) ?: "";

	emit(bus, "Ping", s);
	emit(bus, "Pong", s);
	return empty_reply(call);
}

static char last_note[64];

/* remembers who called it: the sender the service believes */
static sd_bus_message *m_note(struct b1d_bus *bus, sd_bus_message *call,
			      void *u)
{
	snprintf(last_note, sizeof(last_note), "%s",
		 sd_bus_message_get_sender(call) ?: "(none)");
	return empty_reply(call);
}

static sd_bus_message *m_last_note(struct b1d_bus *bus,
				   sd_bus_message *call, void *u)
{
	return sd_reply_str(call, last_note);
}

/* never replies */
static sd_bus_message *m_hang(struct b1d_bus *bus, sd_bus_message *call,
			      void *u)
{
	return NULL;
}

/* dies without replying */
static sd_bus_message *m_die(struct b1d_bus *bus, sd_bus_message *call,
			     void *u)
{
	_exit(0);
}

const struct b1d_method svc_methods[] = {
	{ "Echo", m_echo, "s", "s" },
	{ "Fail", m_fail, "", "" },
	{ "ReadFd", m_read_fd, "h", "s" },
	{ "Emit", m_emit, "s", "" },
	{ "Die", m_die, "", "" },
	{ "Hang", m_hang, "", "" },
	{ "Note", m_note, "", "" },
	{ "LastNote", m_last_note, "", "s" },
	{}
};

/*
 * A child's life as a native service: objects at SVC_PATH (and SVC_CHILD
 * and the properties if @full), RequestName(@name, @flags); writes
 * "<RequestName result> <unique>\n" to @fd, then serves until killed.
 */
void native_service(int fd, const char *name, __u32 flags, bool full)
{
	struct b1d_bus *bus;
	int r;

	r = b1d_connect(b1sock, &bus);
	if (r < 0) {
		dprintf(fd, "%d -\n", r);
		_exit(1);
	}
	b1d_add_object(bus, SVC_PATH, SVC_IFACE, svc_methods, NULL);
	if (full) {
		b1d_add_object(bus, SVC_CHILD, SVC_IFACE, svc_methods, NULL);
		props_serve(bus);
	}
	r = b1d_request_name(bus, name, flags);
	dprintf(fd, "%d %s\n", r, b1d_unique_name(bus));
	close(fd);
	while (b1d_wait(bus, -1) >= 0)
		while (b1d_process(bus) > 0)
			;
	_exit(0);
}

static void service(int fd)
{
	native_service(fd, SVC_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE, true);
}

/* a child: an unmodified libdbus service on the socket, owning @name */
static void socket_service(int fd)
{
	DBusConnection *c = dbus_connection_open_private(addr, NULL);
	DBusMessage *m, *r;
	const char *s;
	char *buf;
	int rn = -1;

	if (c && dbus_bus_register(c, NULL))
		rn = dbus_bus_request_name(c, "org.bus1.Sock",
					   DBUS_NAME_FLAG_DO_NOT_QUEUE, NULL);
	dprintf(fd, "%d\n", rn);
	close(fd);
	while (c && dbus_connection_read_write(c, -1)) {
		while ((m = dbus_connection_pop_message(c))) {
			if (dbus_message_is_method_call(m, SVC_IFACE, "Echo") &&
			    dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &s,
						  DBUS_TYPE_INVALID)) {
				/* whole: native_big_sock() sends 2 MiB */
				if (asprintf(&buf, "sock:%s", s) < 0)
					_exit(1);
				r = reply_str(m, buf);
				free(buf);
				dbus_connection_send(c, r, NULL);
				dbus_message_unref(r);
			}
			dbus_message_unref(m);
		}
	}
	_exit(0);
}

/* --- clients ------------------------------------------------------------- */

struct seen {
	int n;
	char first[32], arg[32];
};

static void on_signal(struct b1d_bus *bus, sd_bus_message *m, void *u)
{
	struct seen *s = u;

	if (!s->n++) {
		snprintf(s->first, sizeof(s->first), "%s",
			 sd_bus_message_get_member(m));
		snprintf(s->arg, sizeof(s->arg), "%s", sd_str_arg(m) ?: "");
	}
}

long long test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

long long test_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* process @bus until @s saw a signal or 10 s passed */
static void wait_signal(struct b1d_bus *bus, struct seen *s)
{
	long long end = test_now_ms() + 10000;

	while (!s->n && test_now_ms() < end)
		if (b1d_wait(bus, 200) > 0)
			while (b1d_process(bus) > 0)
				;
}

/*
 * NameAcquired and NameLost reach a native connection's match callbacks:
 * the library has no callbacks of its own for them (sd-bus neither: a
 * match on the bus's signals). Static: a match stays for the connection's
 * life.
 */
static bool name_signals(struct b1d_bus *bus, char *got, size_t size)
{
	static struct seen acq, lost;
	const char *name = "org.bus1.Acquired";
	bool ok;

	while (b1d_process(bus) > 0)
		;	/* Hello's NameAcquired and the like, unmatched */
	if (b1d_match_signal(bus, DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
			     DBUS_INTERFACE_DBUS, "NameAcquired", on_signal,
			     &acq) < 0 ||
	    b1d_match_signal(bus, DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
			     DBUS_INTERFACE_DBUS, "NameLost", on_signal,
			     &lost) < 0)
		return false;
	ok = b1d_request_name(bus, name, 0) ==
	     DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER;
	wait_signal(bus, &acq);
	ok = ok && b1d_release_name(bus, name) ==
		   DBUS_RELEASE_NAME_REPLY_RELEASED;
	wait_signal(bus, &lost);
	snprintf(got, size, "NameAcquired %d (%s), NameLost %d (%s)", acq.n,
		 acq.arg, lost.n, lost.arg);
	return ok && acq.n == 1 && !strcmp(acq.arg, name) && lost.n == 1 &&
	       !strcmp(lost.arg, name);
}

struct stats {
	uint64_t messages, calls, replies, multicasts, dsts, handles;
	uint64_t lookups;
};

static int get_stats(struct b1d_bus *bus, struct stats *st)
{
	sd_bus_message *m, *r = NULL;
	int ret;

	m = sd_call_new(bus, DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
			"org.bus1.DBus", "GetStats", NULL);
	ret = m ? b1d_call(bus, m, 5000, &r) : -ENOMEM;
	sd_unref(m);
	if (ret < 0)
		return ret;
	ret = sd_bus_message_read(r, "ttttttt", &st->messages, &st->calls,
				  &st->replies, &st->multicasts, &st->dsts,
				  &st->handles, &st->lookups) > 0 ? 0 : -EBADMSG;
	sd_unref(r);
	return ret;
}

/* @m (its reference taken) sent with b1d_call(): the reply or NULL */
sd_bus_message *call_unref(struct b1d_bus *bus, sd_bus_message *m,
			   int timeout_ms)
{
	sd_bus_message *r = NULL;

	if (!m || b1d_call(bus, m, timeout_ms, &r) < 0)
		r = NULL;
	sd_unref(m);
	return r;
}

/* call SVC_IFACE.@member(@arg) on SVC_NAME; @arg NULL: no argument */
static sd_bus_message *svc_call(struct b1d_bus *bus, const char *member,
				const char *arg)
{
	return call_unref(bus, sd_call_new(bus, SVC_NAME, SVC_PATH, SVC_IFACE,
					   member, arg), 10000);
}

bool is_error(sd_bus_message *r, const char *name)
{
	return sd_error_name(r) && !strcmp(sd_error_name(r), name);
}

static const char *err_or(sd_bus_message *r, const char *other)
{
	return r ? sd_error_name(r) ?: other : "(none)";
}

#define N_TIMED	200

/*
 * the control: an unmodified libdbus client on the socket calls Echo,
 * once, then N_TIMED times for the timing; *us: microseconds per call
 */
static bool socket_echo(long long *us)
{
	DBusConnection *c;
	DBusMessage *m, *r;
	const char *arg = "sock";
	long long t0;
	bool ok;
	int i;

	c = dbus_connection_open_private(addr, NULL);
	if (!c)
		return false;
	ok = dbus_bus_register(c, NULL);
	m = dbus_message_new_method_call(SVC_NAME, SVC_PATH, SVC_IFACE, "Echo");
	dbus_message_append_args(m, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID);
	r = ok ? dbus_connection_send_with_reply_and_block(c, m, 10000, NULL) :
		 NULL;
	ok = is_str_reply(r, "echo:sock");
	unref(r);
	t0 = test_now_us();
	for (i = 0; ok && i < N_TIMED; i++) {
		r = dbus_connection_send_with_reply_and_block(c, m, 10000,
							      NULL);
		ok = is_str_reply(r, "echo:sock");
		unref(r);
	}
	*us = (test_now_us() - t0) / N_TIMED;
	dbus_message_unref(m);
	dbus_connection_close(c);
	dbus_connection_unref(c);
	return ok;
}

/*
 * the same calls from a native client, peer to peer, one message reused
 * (sealed by its first send, it goes again with its cookie)
 */
static bool native_echo(struct b1d_bus *bus, long long *us)
{
	long long t0 = test_now_us();
	sd_bus_message *m, *r;
	bool ok;
	int i;

	m = sd_call_new(bus, SVC_NAME, SVC_PATH, SVC_IFACE, "Echo", "sock");
	ok = m;
	for (i = 0; ok && i < N_TIMED; i++) {
		r = NULL;
		ok = !b1d_call(bus, m, 10000, &r) &&
		     sd_is_str_reply(r, "echo:sock");
		sd_unref(r);
	}
	sd_unref(m);
	*us = (test_now_us() - t0) / N_TIMED;
	return ok;
}

static bool last_note_is(struct b1d_bus *bus, const char *want, char *got,
			 size_t size)
{
	sd_bus_message *r = svc_call(bus, "LastNote", NULL);
	const char *s = sd_is_return(r) ? sd_str_arg(r) : NULL;

	snprintf(got, size, "%s", s ?: "(no reply)");
	sd_unref(r);
	return !strcmp(got, want);
}

#define N_ORDER	100

/*
 * issue 19 item 3: Emit sends Ping, then replies. A native caller that
 * subscribed to Ping must have received Ping before the reply, every
 * time: when b1d_call() returns, Ping is already queued.
 */
static int order_native(struct b1d_bus *bus, struct seen *seen)
{
	sd_bus_message *r;
	int i, bad = 0;

	for (i = 0; i < N_ORDER; i++) {
		seen->n = 0;
		r = svc_call(bus, "Emit", "order");
		if (!sd_is_return(r) || b1d_queued(bus) < 1)
			bad++;
		sd_unref(r);
		wait_signal(bus, seen);
	}
	return bad;
}

/* the same for an unmodified libdbus client on the socket */
static int order_socket(void)
{
	const char *arg = "order";
	DBusConnection *c;
	DBusMessage *m, *r, *s;
	DBusError err;
	int i, bad = 0;

	c = dbus_connection_open_private(addr, NULL);
	if (!c || !dbus_bus_register(c, NULL))
		return -1;
	/* with an error to fill, it waits for the bus's answer */
	dbus_error_init(&err);
	dbus_bus_add_match(c, "type='signal',interface='" SVC_IFACE
			   "',member='Ping'", &err);
	if (dbus_error_is_set(&err)) {
		dbus_error_free(&err);
		return -1;
	}
	/* NameAcquired and the like, received before the first call */
	while ((s = dbus_connection_pop_message(c)))
		dbus_message_unref(s);
	m = dbus_message_new_method_call(SVC_NAME, SVC_PATH, SVC_IFACE, "Emit");
	dbus_message_append_args(m, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID);
	for (i = 0; i < N_ORDER; i++) {
		r = dbus_connection_send_with_reply_and_block(c, m, 10000,
							      NULL);
		/* pops what was received before the reply, does no I/O */
		s = dbus_connection_pop_message(c);
		if (!r || !s || !dbus_message_is_signal(s, SVC_IFACE, "Ping"))
			bad++;
		unref(r);
		unref(s);
		while ((s = dbus_connection_pop_message(c)))
			dbus_message_unref(s);
	}
	dbus_message_unref(m);
	dbus_connection_close(c);
	dbus_connection_unref(c);
	return bad;
}

/*
 * Forks a child running @fn with the write end of a pipe, and reads the
 * one line it reports there into @line (NUL-terminated, without the
 * newline). Returns the child's pid, or -1 if no pipe could be made.
 */
pid_t spawn_reporter(void (*fn)(int fd), char *line, size_t size)
{
	size_t i;
	pid_t pid;
	int p[2];

	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (!pid) {
		close(p[0]);
		fn(p[1]);
	}
	close(p[1]);
	for (i = 0; i + 1 < size; i++)
		if (read(p[0], &line[i], 1) != 1 || line[i] == '\n')
			break;
	line[i] = 0;
	close(p[0]);
	return pid;
}

int main(void)
{
	struct b1d_bus *cl = NULL, *sub[3] = {};
	struct b1c *raw = NULL;
	struct seen seen[3] = {};
	struct stats s0, s1, s2;
	long long us_sock = 0, us_native = 0, ms;
	char line[128] = "", svc_unique[64] = "", raw_unique[64] = "";
	const char *owner = NULL;
	sd_bus_message *m, *r;
	int p[2], fd, i, rn = 0, status;
	bool ok;

	tap_start("test-dbus-native");
	tap_plan(96);
	dbus_connection_set_change_sigpipe(TRUE);
	signal(SIGPIPE, SIG_IGN);

	rn = dbus_test_broker_start("b1dn", 0700, NULL, "--auth-timeout",
				    "3000");
	CHECK_R(rn, 0, "bus1-dbus-broker serves a socket and a bus1 bootstrap");
	svc_pid = spawn_reporter(service, line, sizeof(line));
	if (svc_pid < 0)
		return 1;
	if (sscanf(line, "%d %63s", &rn, svc_unique) != 2)
		rn = 0;
	CHECK(rn == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER &&
	      !strncmp(svc_unique, ":1.", 3),
	      "native service: Hello gave %s, RequestName(%s) = %d (primary owner)",
	      svc_unique, SVC_NAME, rn);

	CHECK_R(b1d_connect(b1sock, &cl), 0, "native client connects");
	for (i = 0; i < 3; i++)
		if (b1d_connect(b1sock, &sub[i]) < 0)
			sub[i] = NULL;
	ok = cl && sub[0] && sub[1] && sub[2];
	for (i = 0; ok && i < 3; i++)
		ok = strncmp(b1d_unique_name(sub[i]), ":1.", 3) == 0 &&
		     strcmp(b1d_unique_name(sub[i]), b1d_unique_name(cl)) &&
		     strcmp(b1d_unique_name(sub[i]), svc_unique) &&
		     strcmp(b1d_unique_name(sub[i]),
			    b1d_unique_name(sub[(i + 1) % 3]));
	CHECK(ok, "five native connections, five distinct unique names");
	if (!ok)
		goto out;

	CHECK(b1d_request_name(cl, SVC_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE) ==
	      DBUS_REQUEST_NAME_REPLY_EXISTS,
	      "RequestName of an owned name with DO_NOT_QUEUE: EXISTS");
	rn = b1d_request_name(cl, "org.bus1.Other", 0);
	CHECK(rn == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER &&
	      b1d_release_name(cl, "org.bus1.Other") ==
	      DBUS_RELEASE_NAME_REPLY_RELEASED,
	      "RequestName then ReleaseName of a free name");
	ok = name_signals(cl, line, sizeof(line));
	CHECK(ok, "NameAcquired and NameLost reach the match callbacks (%s)",
	      line);

	r = call_unref(cl, sd_driver(cl, "GetNameOwner", SVC_NAME), 5000);
	owner = sd_str_arg(r) ?: "";
	CHECK(!strcmp(owner, svc_unique), "GetNameOwner(%s) = %s", SVC_NAME,
	      owner);
	sd_unref(r);

	for (i = 0; i < 3; i++)
		if (b1d_match_signal(sub[i], NULL, SVC_PATH, SVC_IFACE,
				     i < 2 ? "Ping" : "Pong", on_signal,
				     &seen[i]) < 0)
			ok = false;
	CHECK(ok, "AddMatch: two subscribers of Ping, one of Pong");
	CHECK_R(get_stats(cl, &s0), 0, "the broker's GetStats");

	r = svc_call(cl, "Echo", "hello");
	CHECK(sd_is_str_reply(r, "echo:hello"), "Echo(\"hello\") -> \"echo:hello\"");
	CHECK(r && !strcmp(sd_bus_message_get_sender(r) ?: "", svc_unique),
	      "the reply's sender is the service's unique name");
	sd_unref(r);
	r = svc_call(cl, "Fail", NULL);
	CHECK(is_error(r, SVC_ERROR), "Fail() -> error %s",
	      err_or(r, "(not an error)"));
	sd_unref(r);
	if (pipe(p) < 0)
		return 1;
	if (write(p[1], "through a bus1 fd", 17) != 17)
		return 1;
	close(p[1]);
	fd = p[0];
	m = sd_call_new(cl, SVC_NAME, SVC_PATH, SVC_IFACE, "ReadFd", NULL);
	if (m && sd_bus_message_append(m, "h", fd) < 0)
		m = sd_unref(m);
	r = call_unref(cl, m, 10000);
	close(fd);
	CHECK(sd_is_str_reply(r, "through a bus1 fd"),
	      "ReadFd(fd): the service read the pipe passed as a bus1 fd");
	sd_unref(r);

	r = svc_call(cl, "Emit", "sig1");
	CHECK(sd_is_return(r), "Emit(\"sig1\") returns");
	sd_unref(r);
	for (i = 0; i < 3; i++)
		wait_signal(sub[i], &seen[i]);
	CHECK(seen[0].n == 1 && !strcmp(seen[0].first, "Ping") &&
	      !strcmp(seen[0].arg, "sig1") && seen[1].n == 1 &&
	      !strcmp(seen[1].first, "Ping") && !strcmp(seen[1].arg, "sig1"),
	      "both Ping subscribers got Ping(\"sig1\") (%d %s, %d %s)",
	      seen[0].n, seen[0].first, seen[1].n, seen[1].first);
	CHECK(seen[2].n == 1 && !strcmp(seen[2].first, "Pong"),
	      "the Pong subscriber got Pong only (%d, first %s)", seen[2].n,
	      seen[2].first);

	CHECK_R(get_stats(cl, &s1), 0, "GetStats again");
	CHECK(s1.calls == s0.calls && s1.replies == s0.replies &&
	      s1.handles == s0.handles + 2,
	      "the broker routed no call and no reply of the 4 calls (calls +%llu, replies +%llu); it gave two handles, the service's inbox to the caller and the caller's to the service (+%llu)",
	      (unsigned long long)(s1.calls - s0.calls),
	      (unsigned long long)(s1.replies - s0.replies),
	      (unsigned long long)(s1.handles - s0.handles));
	CHECK(s1.multicasts == s0.multicasts + 2 && s1.dsts == s0.dsts + 3,
	      "Ping and Pong were one multicast each, to 2 and 1 receivers (+%llu multicasts, +%llu receivers)",
	      (unsigned long long)(s1.multicasts - s0.multicasts),
	      (unsigned long long)(s1.dsts - s0.dsts));

	ok = socket_echo(&us_sock);
	CHECK_R(get_stats(cl, &s2), 0, "GetStats after a socket client's calls");
	CHECK(ok && s2.calls == s1.calls + 1 + N_TIMED &&
	      s2.replies == s1.replies + 1 + N_TIMED,
	      "control: a libdbus socket client calls the native service %d times, through the broker (calls +%llu, replies +%llu)",
	      1 + N_TIMED, (unsigned long long)(s2.calls - s1.calls),
	      (unsigned long long)(s2.replies - s1.replies));
	ok = native_echo(cl, &us_native);
	CHECK_R(get_stats(cl, &s1), 0, "GetStats after %d native calls",
		N_TIMED);
	CHECK(ok && s1.calls == s2.calls && s1.replies == s2.replies,
	      "%d native Echo calls, none through the broker (calls +%llu)",
	      N_TIMED, (unsigned long long)(s1.calls - s2.calls));
	printf("# Echo round trip, %d calls: native %lld us, socket+broker %lld us\n",
	       N_TIMED, us_native, us_sock);
	native_introspect(cl);
	native_props(cl);
	native_big(cl);
	owner_death(cl);
	native_async(cl);
	native_monitor(cl, svc_unique);
	host_tools_introspect();
	host_tools_props();
	host_tools_echo();
	host_service_echo(cl, "svc.py", "org.bus1.PyTest", "native",
			  "Debian's python3-dbus service");
	host_service_echo(cl, "gsvc.py", "org.bus1.GTest", "native to gdbus",
			  "a GLib GDBus service (python3-gi)");
	CHECK(raw_dropped(true, &ms),
	      "a bus1 client sending garbage to the broker is dropped (NODE_DESTROY of its broker handle)");
	ok = raw_dropped(false, &ms);
	CHECK(ok && ms >= 2900,
	      "a bus1 client that never says Hello is dropped after --auth-timeout 3000 (%lld ms)",
	      ms);

	/* the reverse: a native client calls a socket service */
	sock_pid = spawn_reporter(socket_service, line, sizeof(line));
	if (sock_pid < 0)
		return 1;
	rn = 0;
	ok = atoi(line) == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER;
	for (i = 0; ok && i < 2; i++) {
		if (i)
			ok = !get_stats(cl, &s0);
		r = call_unref(cl, sd_call_new(cl, "org.bus1.Sock", SVC_PATH,
					       SVC_IFACE, "Echo", "native"),
			       10000);
		ok = ok && sd_is_str_reply(r, "sock:native");
		sd_unref(r);
	}
	ok = ok && !get_stats(cl, &s1);
	CHECK(ok && s1.lookups == s0.lookups && s1.calls == s0.calls + 1,
	      "a native client calls a socket service twice, through the broker, looking it up once (+%llu)",
	      (unsigned long long)(s1.lookups - s0.lookups));
	native_big_sock(cl, "org.bus1.Sock");

	/* sender authenticity of direct calls */
	ok = forge_notes(b1d_unique_name(cl));
	CHECK(ok && last_note_is(cl, "", line, sizeof(line)),
	      "forged direct calls claiming to be %s (own reply handle, then the victim's inbox) are refused: the service saw '%s'",
	      b1d_unique_name(cl), line);
	m = sd_call_new(cl, SVC_NAME, SVC_PATH, SVC_IFACE, "Note", NULL);
	if (m)
		b1d_send(cl, m);
	sd_unref(m);
	CHECK(last_note_is(cl, b1d_unique_name(cl), line, sizeof(line)),
	      "a genuine direct call is accepted with its sender (%s)", line);
	ok = forge_via_bus(b1d_unique_name(cl), raw_unique,
			   sizeof(raw_unique));
	CHECK(ok && last_note_is(cl, raw_unique, line, sizeof(line)),
	      "a call through the bus claiming to be %s arrives with the caller's own name %s: the service saw '%s'",
	      b1d_unique_name(cl), raw_unique, line);
	ok = forge_on_door(b1d_unique_name(cl), raw_unique,
			   sizeof(raw_unique), &raw);
	CHECK(ok && last_note_is(cl, raw_unique, line, sizeof(line)),
	      "on a door, a call from its caller %s is served, then one claiming to be %s is dropped: the service saw '%s'",
	      raw_unique, b1d_unique_name(cl), line);
	b1c_free(raw);

	/* S before R, native and socket callers */
	for (i = 0; i < 3; i++)
		seen[i].n = 0;
	i = order_native(sub[0], &seen[0]);
	CHECK(!i, "native caller and subscriber: Ping before the reply in %d of %d calls",
	      N_ORDER - i, N_ORDER);
	i = order_socket();
	CHECK(!i, "socket caller and subscriber: Ping before the reply in %d of %d calls",
	      N_ORDER - i, N_ORDER);

	/* a Door.Open answer must carry our nonce */
	forger_pid = spawn_reporter(door_forger, line, sizeof(line));
	if (forger_pid < 0)
		return 1;
	r = NULL;
	if (atoi(line) == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		r = call_unref(cl, sd_call_new(cl, FORGER_NAME, SVC_PATH,
					       SVC_IFACE, "Echo", "x"), 5000);
	CHECK(sd_is_str_reply(r, "bus"),
	      "a Door.Open answer with a wrong nonce and a node attached gives no door: the call goes through the bus (%s)",
	      sd_is_str_reply(r, "door") ? "it went to the forged door" :
	      r ? "a reply" : "no reply");
	sd_unref(r);

	m = sd_call_new(cl, SVC_NAME, SVC_PATH, SVC_IFACE, "Hang", NULL);
	ms = test_now_ms();
	r = NULL;
	rn = m ? b1d_call(cl, m, 300, &r) : -ENOMEM;
	ms = test_now_ms() - ms;
	sd_unref(m);
	CHECK(rn == -ETIMEDOUT && !r && ms >= 250 && ms < 5000,
	      "a call that gets no reply fails after its own timeout of 300 ms, not the default 25 s (%d after %lld ms)",
	      rn, ms);
	sd_unref(r);

	r = svc_call(cl, "Die", NULL);
	CHECK(is_error(r, DBUS_ERROR_NO_REPLY),
	      "a callee dying mid-call: NoReply (%s)", err_or(r, "(a return)"));
	sd_unref(r);
	waitpid(svc_pid, &status, 0);
	svc_pid = 0;
	r = svc_call(cl, "Echo", "late");
	CHECK(is_error(r, DBUS_ERROR_SERVICE_UNKNOWN),
	      "then the name is gone: ServiceUnknown (%s)",
	      err_or(r, "(a return)"));
	sd_unref(r);
out:
	if (forger_pid > 0) {
		kill(forger_pid, SIGKILL);
		waitpid(forger_pid, &status, 0);
	}
	if (sock_pid > 0) {
		kill(sock_pid, SIGKILL);
		waitpid(sock_pid, &status, 0);
	}
	if (svc_pid > 0) {
		kill(svc_pid, SIGKILL);
		waitpid(svc_pid, &status, 0);
	}
	for (i = 0; i < 3; i++)
		b1d_free(sub[i]);
	b1d_free(cl);
	CHECK_R(dbus_test_broker_stop(), 0, "the broker exits cleanly on SIGTERM");
	return tap_end();
}
