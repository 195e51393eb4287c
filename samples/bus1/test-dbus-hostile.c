// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-hostile: bad input and hostile clients on bus1-dbus-broker's
 * bus1 transport (issue 19 item 5; the socket side is host/test-dbus.sh).
 * Each hostile client is a child process below the library (a raw bus1
 * peer that bootstraps like libbus1-dbus): a bad header, a header
 * announcing 4 GiB, a bad signature, a message announcing an fd it does
 * not carry, one carrying fds it does not announce, a call before Hello,
 * unknown destinations, a client dying mid-call (also while the broker is
 * stopped, so that its Hello reply finds it gone), a client that never reads
 * its replies, an AddMatch flood. Checked for each: dropped (or answered
 * with the standard error where D-Bus answers), the broker's log lines
 * about that client, a well-behaved native client still served. Then a
 * client that releases its handle to its connection node but stays: its
 * name goes. At the end the broker's bus1 handles, nodes and fds are back
 * where they were. Prints TAP.
 */
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include "test-lib.h"
#include "broker-proto.h"
#include "dbus-native.h"
#include "dbus-wire.h"
#include "dbus-test.h"

#define SVC		"org.bus1.Hostile"
#define SVC_PATH	"/org/bus1/Hostile"
#define N_FLOOD		520	/* AddMatch calls; the limit is 512 */
#define N_UNREAD	4000	/* calls whose replies are never read */
#define USER		1000	/* the hostile clients' uid */

static char logpath[96];

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* --- the service and the well-behaved client ----------------------------- */

static sd_bus_message *m_echo(struct b1d_bus *bus, sd_bus_message *call,
			      void *u)
{
	return sd_reply_str(call, sd_str_arg(call) ?: "");
}

/*
 * Slow is answered when AnswerSlow comes, after the test saw the broker
 * forget the call of a caller that died: a timed reply (it slept 500 ms)
 * could reach the broker before the caller's death on a loaded host, and
 * the broker then rightly had no call left to forget (6.1-rt, once)
 */
static sd_bus_message *slow_call;

static sd_bus_message *m_slow(struct b1d_bus *bus, sd_bus_message *call,
			      void *u)
{
	sd_unref(slow_call);
	slow_call = sd_bus_message_ref(call);
	return NULL;
}

/* the late reply to Slow goes to the bus, which has no call for it */
static sd_bus_message *m_answer_slow(struct b1d_bus *bus,
				     sd_bus_message *call, void *u)
{
	sd_bus_message *late = slow_call ? sd_reply_str(slow_call, "late") :
			       NULL;
	sd_bus_message *r = NULL;

	if (!late || b1d_send(bus, late) < 0)
		r = sd_error_new(call, DBUS_ERROR_FAILED, "no late reply sent");
	else
		sd_bus_message_new_method_return(call, &r);
	sd_unref(late);
	slow_call = sd_unref(slow_call);
	return r;
}

static const struct b1d_method svc_methods[] = {
	{ "Echo", m_echo, "s", "s" },
	{ "Slow", m_slow, "", "s" },
	{ "AnswerSlow", m_answer_slow, "", "" },
	{}
};

static pid_t service_start(void)
{
	struct b1d_bus *bus;
	char c = 0;
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (!pid) {
		close(p[0]);
		if (b1d_connect(b1sock, &bus) < 0)
			_exit(1);
		b1d_add_object(bus, SVC_PATH, SVC, svc_methods, NULL);
		if (b1d_request_name(bus, SVC, DBUS_NAME_FLAG_DO_NOT_QUEUE) !=
		    DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
			_exit(1);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		close(p[1]);
		while (b1d_wait(bus, -1) >= 0)
			while (b1d_process(bus) > 0)
				;
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1 || c != 'r') {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return pid;
}

/* the well-behaved client: a direct call to the service and one to the bus */
static bool served(struct b1d_bus *good)
{
	sd_bus_message *m, *r = NULL;
	const char *owner;
	bool ok;

	m = sd_call_new(good, SVC, SVC_PATH, SVC, "Echo", SVC);
	if (!m || b1d_call(good, m, 10000, &r) < 0)
		r = NULL;
	sd_unref(m);
	ok = sd_is_str_reply(r, SVC);
	sd_unref(r);
	m = sd_driver(good, "GetNameOwner", SVC);
	r = NULL;
	if (!m || b1d_call(good, m, 10000, &r) < 0)
		r = NULL;
	sd_unref(m);
	owner = sd_is_return(r) ? sd_str_arg(r) : NULL;
	ok = ok && owner && owner[0] == ':';
	sd_unref(r);
	return ok;
}

/* --- the broker's state --------------------------------------------------- */

struct bstate {
	long handles, nodes, fds;
};

static void broker_state(struct bstate *s)
{
	char path[64], line[128];
	struct stat st;
	FILE *f;
	int fd;

	s->handles = -1;
	s->nodes = -1;
	s->fds = 0;
	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)broker_pid,
			 fd);
		if (lstat(path, &st) < 0)
			continue;
		s->fds++;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d",
			 (int)broker_pid, fd);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "bus1-handles:", 13))
				s->handles = strtol(line + 13, NULL, 10);
			else if (!strncmp(line, "bus1-nodes:", 11))
				s->nodes = strtol(line + 11, NULL, 10);
		}
		fclose(f);
	}
}

static bool state_eq(const struct bstate *a, const struct bstate *b)
{
	return a->handles == b->handles && a->nodes == b->nodes &&
	       a->fds == b->fds;
}

/*
 * the broker's level-0 lines about the client of pid @pid ("... pid N)"),
 * not counting the -v line of its bootstrap; the last into @last
 */
static int log_lines(pid_t pid, char *last, size_t size)
{
	char line[512], pat[32];
	int n = 0;
	FILE *f;

	snprintf(pat, sizeof(pat), "pid %d)", (int)pid);
	f = fopen(logpath, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, pat) || strstr(line, "client connected ("))
			continue;
		n++;
		line[strcspn(line, "\n")] = 0;
		snprintf(last, size, "%s", line);
	}
	fclose(f);
	return n;
}

/* after a failed check: the broker's last @n log lines, as diagnostics */
static void log_tail(int n)
{
	char lines[16][256];
	int i = 0, k;
	FILE *f;

	f = fopen(logpath, "re");
	if (!f)
		return;
	n = n < 16 ? n : 16;
	while (fgets(lines[i % n], sizeof(lines[0]), f))
		i++;
	fclose(f);
	for (k = i > n ? i - n : 0; k < i; k++)
		printf("# broker: %s", lines[k % n]);
}

/* --- the hostile clients -------------------------------------------------- */

enum hostile {
	H_GARBAGE, H_HUGE, H_BADSIG, H_FD_MISSING, H_FD_EXTRA, H_NO_HELLO,
	H_UNKNOWN, H_DIES, H_DIES_STOPPED, H_UNREAD, H_FLOOD, H_MAX
};

static const struct {
	const char *what;
	bool dropped;		/* else served with errors, no log line */
} hostile[H_MAX] = {
	[H_GARBAGE]	= { "a bad header ('l\\1\\0\\1garbage')", true },
	[H_HUGE]	= { "a header announcing a 4 GiB body", true },
	[H_BADSIG]	= { "a call whose signature is 'Z'", true },
	[H_FD_MISSING]	= { "a call announcing one unix fd, carrying none", true },
	[H_FD_EXTRA]	= { "a call announcing no fd, carrying two", true },
	[H_NO_HELLO]	= { "GetId before Hello", true },
	[H_UNKNOWN]	= { "calls to org.bus1.Nobody and :1.9999", false },
	[H_DIES]	= { "a call to " SVC ".Slow, then exiting", true },
	[H_DIES_STOPPED] = { "the same after Hello, the broker stopped", true },
	[H_UNREAD]	= { "calls whose replies it never reads", false },
	[H_FLOOD]	= { "AddMatch flood", false },
};

static int raw_serial;

static int raw_send(struct b1c *raw, DBusMessage *m, const int *fds,
		    size_t n_fds)
{
	struct iovec iov;
	char *buf;
	int len, r;

	dbus_message_set_serial(m, ++raw_serial);
	if (!dbus_message_marshal(m, &buf, &len))
		return -ENOMEM;
	iov.iov_base = buf;
	iov.iov_len = len;
	r = bus1_send(raw->peer, &(struct bus1_send){
		.destinations = &raw->broker,
		.n_destinations = 1,
		.vecs = &iov,
		.n_vecs = 1,
		.fds = fds,
		.n_fds = n_fds,
	});
	dbus_free(buf);
	return r;
}

/* the reply to @serial, or NULL after 10 s */
static DBusMessage *raw_reply(struct b1c *raw, dbus_uint32_t serial)
{
	struct pollfd p = { .fd = bus1_peer_get_fd(raw->peer),
			    .events = POLLIN };
	long long end = now_ms() + 10000;
	struct bus1_message msg;
	DBusMessage *m = NULL;
	size_t i;

	while (!m && now_ms() < end) {
		if (bus1_recv(raw->peer, BUS1_RECV_FLAG_INSTALL_FDS, &msg) < 0) {
			poll(&p, 1, 100);
			continue;
		}
		if (msg.type == BUS1_MSG_DATA) {
			m = dwire_parse(&msg, NULL);
			if (m && dbus_message_get_reply_serial(m) != serial) {
				dbus_message_unref(m);
				m = NULL;
			}
			for (i = 0; i < msg.n_handles; i++)
				bus1_handle_release(raw->peer, msg.handles[i]);
		}
		bus1_message_release(&msg);
	}
	return m;
}

static DBusMessage *driver(const char *member)
{
	return dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					    DBUS_INTERFACE_DBUS, member);
}

/* a call to the bus and its reply */
static DBusMessage *raw_call(struct b1c *raw, DBusMessage *m)
{
	DBusMessage *r = NULL;

	if (!raw_send(raw, m, NULL, 0))
		r = raw_reply(raw, raw_serial);
	dbus_message_unref(m);
	return r;
}

static bool is_error(DBusMessage *r, const char *name)
{
	return r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_ERROR &&
	       !strcmp(dbus_message_get_error_name(r), name);
}

/* a call marshalled and patched: its body signature 's' becomes 'Z' */
static int send_bad_signature(struct b1c *raw)
{
	static const char sig[] = { 8, 1, 'g', 0, 1, 's', 0 };
	DBusMessage *m = driver("GetNameOwner");
	const char *arg = SVC;
	struct iovec iov;
	char *buf, *p;
	int len, r = -EINVAL;

	dbus_message_append_args(m, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID);
	dbus_message_set_serial(m, ++raw_serial);
	if (!dbus_message_marshal(m, &buf, &len)) {
		dbus_message_unref(m);
		return -ENOMEM;
	}
	p = memmem(buf, len, sig, sizeof(sig));
	if (p) {
		p[5] = 'Z';
		iov.iov_base = buf;
		iov.iov_len = len;
		r = bus1_send(raw->peer, &(struct bus1_send){
			.destinations = &raw->broker, .n_destinations = 1,
			.vecs = &iov, .n_vecs = 1 });
	}
	dbus_free(buf);
	dbus_message_unref(m);
	return r;
}

/* a call with a unix fd, its bytes sent without the fd */
static int send_fd_missing(struct b1c *raw)
{
	DBusMessage *m = driver("GetId");
	struct iovec iov;
	char *buf;
	int len, r, p[2];

	if (pipe(p) < 0)
		return -errno;
	dbus_message_append_args(m, DBUS_TYPE_UNIX_FD, &p[0],
				 DBUS_TYPE_INVALID);
	close(p[0]);
	close(p[1]);
	dbus_message_set_serial(m, ++raw_serial);
	r = -ENOMEM;
	if (dbus_message_marshal(m, &buf, &len)) {
		iov.iov_base = buf;
		iov.iov_len = len;
		r = bus1_send(raw->peer, &(struct bus1_send){
			.destinations = &raw->broker, .n_destinations = 1,
			.vecs = &iov, .n_vecs = 1 });
		dbus_free(buf);
	}
	dbus_message_unref(m);
	return r;
}

/* sends until the kernel refuses (or @n), never receiving */
static int send_unread(struct b1c *raw, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (raw_send(raw, driver("GetId"), NULL, 0) < 0)
			break;
	return i;
}

/* waits up to @ms for NODE_DESTROY of our broker handle */
static bool raw_dropped(struct b1c *raw, int ms)
{
	struct pollfd p = { .fd = bus1_peer_get_fd(raw->peer),
			    .events = POLLIN };
	long long end = now_ms() + ms;
	struct bus1_message msg;
	bool gone = false;
	size_t i;

	while (!gone && now_ms() < end) {
		if (bus1_recv(raw->peer, BUS1_RECV_FLAG_INSTALL_FDS, &msg) < 0) {
			poll(&p, 1, 100);
			continue;
		}
		gone = msg.type == BUS1_MSG_NODE_DESTROY &&
		       msg.destination == raw->broker;
		for (i = 0; i < msg.n_handles; i++)
			bus1_handle_release(raw->peer, msg.handles[i]);
		for (i = 0; i < msg.n_fds; i++)
			close(msg.fds[i]);
		bus1_message_release(&msg);
	}
	return gone;
}

/*
 * the child: runs attack @h and writes "D INFO\n" to @fd (D: 1 if the
 * broker dropped it), then waits for @go to close
 */
static void hostile_child(enum hostile h, int fd, int go)
{
	char info[128] = "", c;
	struct b1c *raw = NULL;
	DBusMessage *m, *r;
	const char *s;
	bool dropped = false;
	int i, n, p[2], fds[2];

	/* another user: the kernel's quotas keep its flood off ours */
	if (setgroups(0, NULL) < 0 || setresgid(USER, USER, USER) < 0 ||
	    setresuid(USER, USER, USER) < 0)
		_exit(2);
	if (b1c_connect(b1sock, &raw) < 0)
		_exit(2);
	if (h != H_NO_HELLO && h != H_GARBAGE && h != H_HUGE &&
	    h != H_DIES_STOPPED) {
		r = raw_call(raw, driver("Hello"));
		if (!r || dbus_message_get_type(r) !=
			  DBUS_MESSAGE_TYPE_METHOD_RETURN)
			_exit(3);
		unref(r);
	}
	switch (h) {
	case H_GARBAGE:
		bus1_send_data(raw->peer, raw->broker, "l\1\0\1garbage", 11);
		break;
	case H_HUGE: {
		/* little endian call, body 0xfffffff0 bytes, serial 1 */
		static const unsigned char hdr[16] = {
			'l', 1, 0, 1, 0xf0, 0xff, 0xff, 0xff, 1, 0, 0, 0,
			0, 0, 0, 0 };

		bus1_send_data(raw->peer, raw->broker, hdr, sizeof(hdr));
		break;
	}
	case H_BADSIG:
		if (send_bad_signature(raw) < 0)
			snprintf(info, sizeof(info), "(could not send)");
		break;
	case H_FD_MISSING:
		send_fd_missing(raw);
		break;
	case H_FD_EXTRA:
		if (pipe(p) < 0)
			_exit(4);
		fds[0] = p[0];
		fds[1] = p[1];
		raw_send(raw, driver("GetId"), fds, 2);
		close(p[0]);
		close(p[1]);
		break;
	case H_NO_HELLO:
		raw_send(raw, driver("GetId"), NULL, 0);
		break;
	case H_UNKNOWN:
		m = dbus_message_new_method_call("org.bus1.Nobody", "/", "a.b",
						 "C");
		r = raw_call(raw, m);
		n = is_error(r, DBUS_ERROR_SERVICE_UNKNOWN);
		unref(r);
		m = dbus_message_new_method_call(":1.9999", "/", "a.b", "C");
		r = raw_call(raw, m);
		n += is_error(r, DBUS_ERROR_NAME_HAS_NO_OWNER);
		unref(r);
		r = raw_call(raw, driver("GetId"));
		n += r && dbus_message_get_type(r) ==
		     DBUS_MESSAGE_TYPE_METHOD_RETURN;
		unref(r);
		snprintf(info, sizeof(info),
			 "%d of 3 right: ServiceUnknown, NameHasNoOwner, then GetId answered",
			 n);
		if (n != 3)
			_exit(6);
		break;
	case H_DIES_STOPPED:
	case H_DIES:
		/*
		 * the broker stopped: it answers Hello after our death, finds
		 * our inbox gone, and must still route the call we sent
		 * before dying, then forget it at our NODE_DESTROY
		 */
		if (h == H_DIES_STOPPED) {
			if (write(fd, "s", 1) != 1 || read(go, &c, 1) != 1)
				_exit(5);
			raw_send(raw, driver("Hello"), NULL, 0);
		}
		m = dbus_message_new_method_call(SVC, SVC_PATH, SVC, "Slow");
		raw_send(raw, m, NULL, 0);
		dbus_message_unref(m);
		/* gone before the reply: the broker must forget the call */
		b1c_free(raw);
		if (write(fd, "1 exited\n", 9) != 9)
			_exit(5);
		_exit(0);
	case H_UNREAD:
		n = send_unread(raw, N_UNREAD);
		snprintf(info, sizeof(info), "sent %d of %d calls", n,
			 N_UNREAD);
		break;
	case H_FLOOD:
		for (i = n = 0; i < N_FLOOD; i++) {
			char rule[96];

			m = driver("AddMatch");
			snprintf(rule, sizeof(rule), "type='signal',member='M%d'",
				 i);
			s = rule;
			dbus_message_append_args(m, DBUS_TYPE_STRING, &s,
						 DBUS_TYPE_INVALID);
			r = raw_call(raw, m);
			if (is_error(r, DBUS_ERROR_LIMITS_EXCEEDED))
				n++;
			else if (!r || dbus_message_get_type(r) !=
				 DBUS_MESSAGE_TYPE_METHOD_RETURN)
				break;
			unref(r);
		}
		snprintf(info, sizeof(info),
			 "%d answered, %d of them LimitsExceeded", i, n);
		if (i != N_FLOOD || n != N_FLOOD - 512)
			_exit(6);
		break;
	case H_MAX:
		break;
	}
	dropped = raw_dropped(raw, hostile[h].dropped ? 10000 : 500);
	dprintf(fd, "%d %s\n", dropped, info);
	close(fd);
	/* stay (and never read) until the parent has checked the others */
	while (read(go, &c, 1) > 0)
		;
	b1c_free(raw);
	_exit(0);
}

#define ZOMBIE	SVC ".Zombie"

/* the owner of @name, "" if none, or the error name */
static void name_owner(struct b1d_bus *good, const char *name, char *out,
		       size_t size)
{
	sd_bus_message *m, *r = NULL;
	const char *owner = "";

	m = sd_driver(good, "GetNameOwner", name);
	if (!m || b1d_call(good, m, 10000, &r) < 0)
		r = NULL;
	sd_unref(m);
	if (sd_error_name(r))
		owner = sd_error_name(r);
	else if (r)
		owner = sd_str_arg(r) ?: "";
	snprintf(out, size, "%s", r ? owner : "(no reply)");
	sd_unref(r);
}

/*
 * a client that owns ZOMBIE, then releases its handle to its connection
 * node (it can no longer reach the bus) and stays, its peer and inbox
 * alive: the broker sees NODE_RELEASE and must end the connection, so
 * the name goes while the process lives
 */
static void zombie(struct b1d_bus *good)
{
	const char *name = ZOMBIE;
	dbus_uint32_t flags = DBUS_NAME_FLAG_DO_NOT_QUEUE, rn = 0;
	char before[64] = "", after[64] = "", c;
	struct b1c *raw = NULL;
	DBusMessage *m, *r;
	long long end;
	int p[2], go[2];
	pid_t pid;

	if (pipe(p) < 0 || pipe(go) < 0)
		return;
	fflush(NULL);
	pid = fork();
	if (!pid) {
		close(p[0]);
		close(go[1]);
		if (setgroups(0, NULL) < 0 || setresgid(USER, USER, USER) < 0 ||
		    setresuid(USER, USER, USER) < 0 ||
		    b1c_connect(b1sock, &raw) < 0)
			_exit(2);
		unref(raw_call(raw, driver("Hello")));
		m = driver("RequestName");
		dbus_message_append_args(m, DBUS_TYPE_STRING, &name,
					 DBUS_TYPE_UINT32, &flags,
					 DBUS_TYPE_INVALID);
		r = raw_call(raw, m);
		if (r)
			dbus_message_get_args(r, NULL, DBUS_TYPE_UINT32, &rn,
					      DBUS_TYPE_INVALID);
		unref(r);
		dprintf(p[1], "%u\n", rn);
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		bus1_handle_release(raw->peer, raw->broker);
		dprintf(p[1], "released\n");
		close(p[1]);
		while (read(go[0], &c, 1) > 0)
			;
		b1c_free(raw);
		_exit(0);
	}
	close(p[1]);
	close(go[0]);
	c = 0;
	if (read(p[0], before, sizeof(before) - 1) > 0 &&
	    atoi(before) == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		name_owner(good, ZOMBIE, before, sizeof(before));
	else
		snprintf(before, sizeof(before), "(RequestName failed)");
	if (write(go[1], "r", 1) == 1 && read(p[0], &c, 1) == 1)
		for (end = now_ms() + 5000; now_ms() < end; usleep(100000)) {
			name_owner(good, ZOMBIE, after, sizeof(after));
			if (after[0] != ':')
				break;
		}
	CHECK(before[0] == ':' &&
	      !strcmp(after, DBUS_ERROR_NAME_HAS_NO_OWNER) && served(good),
	      "a client owning %s (%s) releases its handle to its connection node, its peer open: the name is released (%s); the others are served",
	      ZOMBIE, before, after);
	close(p[0]);
	close(go[1]);
	waitpid(pid, NULL, 0);
}

/* runs hostile client @h; the others must be served meanwhile */
static bool answer_slow(struct b1d_bus *good)
{
	sd_bus_message *m, *r = NULL;
	bool ok;

	m = sd_call_new(good, SVC, SVC_PATH, SVC, "AnswerSlow", NULL);
	if (!m || b1d_call(good, m, 10000, &r) < 0)
		r = NULL;
	sd_unref(m);
	ok = sd_is_return(r);
	sd_unref(r);
	return ok;
}

/*
 * once the child connected (it writes 's' to @from): the broker stopped
 * (SIGSTOP, waited for) and the child told to go on
 */
static bool stop_broker(int from, int to)
{
	int st;
	char c;

	if (read(from, &c, 1) != 1 || kill(broker_pid, SIGSTOP) < 0)
		return false;
	if (waitpid(broker_pid, &st, WUNTRACED) != broker_pid ||
	    !WIFSTOPPED(st)) {
		kill(broker_pid, SIGCONT);
		return false;
	}
	return write(to, "g", 1) == 1;
}

static void run_hostile(enum hostile h, struct b1d_bus *good)
{
	char line[256] = "", last[512] = "", *info = "";
	int p[2], go[2], i, d = -1, n_log;
	long long end;
	bool ok, pass;
	pid_t pid;

	if (pipe(p) < 0 || pipe(go) < 0)
		return;
	fflush(NULL);
	pid = fork();
	if (!pid) {
		close(p[0]);
		close(go[1]);
		hostile_child(h, p[1], go[0]);
	}
	close(p[1]);
	close(go[0]);
	if (pid < 0) {
		close(p[0]);
		close(go[1]);
		CHECK(false, "%s: cannot fork", hostile[h].what);
		return;
	}
	/* on failure the child finds @go closed and reports no result */
	if (h == H_DIES_STOPPED && !stop_broker(p[0], go[1])) {
		close(go[1]);
		go[1] = -1;
	}
	for (i = 0; i < (int)sizeof(line) - 1; i++)
		if (read(p[0], &line[i], 1) != 1 || line[i] == '\n')
			break;
	line[i] = 0;
	close(p[0]);
	if (h == H_DIES_STOPPED)
		kill(broker_pid, SIGCONT);
	if ((line[0] == '0' || line[0] == '1') && line[1] == ' ') {
		d = line[0] - '0';
		info = line + 2;
	}
	ok = served(good);
	if (go[1] >= 0)
		close(go[1]);
	waitpid(pid, NULL, 0);
	/* the log line may follow the drop by a loop turn */
	for (end = now_ms() + 2000;; usleep(50000)) {
		n_log = log_lines(pid, last, sizeof(last));
		if (n_log == (hostile[h].dropped ? 1 : 0) || now_ms() > end)
			break;
	}
	/* the late reply now: dropped, and everybody still served */
	if (h == H_DIES || h == H_DIES_STOPPED)
		ok = ok && answer_slow(good) && served(good);
	pass = d == hostile[h].dropped && ok &&
	       n_log == (hostile[h].dropped ? 1 : 0);
	if (!pass)
		log_tail(12);
	CHECK(pass,
	      "%s: %s%s%s, %d log line%s%s%s; the others are served%s",
	      hostile[h].what, d == 1 ? "dropped" : d == 0 ? "not dropped" :
	      "no result", info[0] ? ", " : "", info, n_log,
	      n_log == 1 ? "" : "s", n_log ? ": " : "", n_log ? last : "",
	      ok ? "" : " NOT");
}

int main(void)
{
	struct bstate s0, s1;
	struct b1d_bus *good = NULL;
	pid_t svc = -1;
	long long end;
	int saved, fd, h;
	FILE *log;

	tap_start("test-dbus-hostile");
	tap_plan(6 + H_MAX);
	signal(SIGPIPE, SIG_IGN);

	/* the broker's stderr goes to a file: its lines are counted */
	snprintf(logpath, sizeof(logpath), "/tmp/b1dh-%d.log", (int)getpid());
	fflush(NULL);
	saved = dup(2);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0)
		dup2(fd, 2);
	CHECK_R(dbus_test_broker_start("b1dh", 0755, NULL, NULL, NULL), 0,
		"bus1-dbus-broker serves a bus1 bootstrap (log: %s)", logpath);
	dup2(saved, 2);
	close(saved);
	if (fd >= 0)
		close(fd);

	svc = service_start();
	CHECK(svc > 0, "a native service owns %s", SVC);
	CHECK(svc > 0 && !b1d_connect(b1sock, &good) && served(good),
	      "a well-behaved native client calls it and the bus");
	if (svc <= 0 || !good)
		goto out;
	broker_state(&s0);
	for (h = 0; h < H_MAX; h++)
		run_hostile(h, good);
	zombie(good);
	/* the dead ones are reaped a loop turn after they are noticed */
	for (end = now_ms() + 3000;; usleep(100000)) {
		served(good);
		broker_state(&s1);
		if (state_eq(&s0, &s1) || now_ms() > end)
			break;
	}
	CHECK(state_eq(&s0, &s1) && s0.handles > 0,
	      "nothing leaks: the broker's bus1 handles %ld -> %ld, nodes %ld -> %ld, fds %ld -> %ld",
	      s0.handles, s1.handles, s0.nodes, s1.nodes, s0.fds, s1.fds);
out:
	b1d_free(good);
	if (svc > 0) {
		kill(svc, SIGKILL);
		waitpid(svc, NULL, 0);
	}
	CHECK_R(dbus_test_broker_stop(), 0, "the broker exits cleanly on SIGTERM");
	log = fopen(logpath, "re");
	if (log) {
		char line[512];

		printf("# the broker's log:\n");
		while (fgets(line, sizeof(line), log))
			printf("# %s%s", line, strchr(line, '\n') ? "" : "\n");
		fclose(log);
		unlink(logpath);
	}
	return tap_end();
}
