// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-policy: the send rules of the policy file (issue 19 item 4) in
 * both worlds of bus1-dbus-broker. Two native services run as root:
 * org.bus1.Open and org.bus1.Secret, which uid 1000 may not send to.
 * A native and a libdbus socket client run as uid 1000, each owning a
 * name below org.bus1.Uid1000, which root may not send to. Checked: calls
 * allowed and denied (AccessDenied) by uid and destination, by well-known
 * and by unique name; GetConnectionHandle refused, and GetCallerHandle of
 * Secret too (the raw peer sent it no Door.Open; then owning a name root
 * may not send to), so a raw bus1 peer of uid 1000 holds no handle to
 * Secret's inbox and the kernel refuses every send it tries; replies to
 * allowed calls pass although the reverse direction is denied, and the
 * allowed call goes on a door, not through the bus; a broadcast signal
 * reaches only the receivers its sender may send to; Debian's dbus-send
 * (the host's /usr, where shared) is denied too. Last, a third peer
 * holding a client's inbox handle forges replies to its calls, direct and
 * to the bus, and signals: they are dropped (dbus-policy-test-forge.c).
 * Prints TAP.
 */
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#define TAP_SHARED
#define TAP_SHARED_DEFINE
#define DBUS_TEST_SHARED
#define DBUS_TEST_SHARED_DEFINE
#include "test-dbus-policy.h"

static const char policy[] =
	"# uid 1000 may not call org.bus1.Secret, root not uid 1000's names\n"
	"deny-send org.bus1.Secret 1000\n"
	"deny-send org.bus1.Uid1000.* 0\n"
	"default-send allow\n";

static bool is_denied(DBusMessage *r)
{
	return r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_ERROR &&
	       !strcmp(dbus_message_get_error_name(r), DENIED) &&
	       dbus_message_has_sender(r, DBUS_SERVICE_DBUS);
}

static const char *what(DBusMessage *r)
{
	if (!r)
		return "no reply";
	if (dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_ERROR)
		return dbus_message_get_error_name(r);
	return "a method return";
}

/* the same two for the replies of libbus1-dbus (sd-bus messages) */
static bool sd_is_denied(sd_bus_message *r)
{
	const char *sender = r ? sd_bus_message_get_sender(r) : NULL;

	return sd_error_name(r) && !strcmp(sd_error_name(r), DENIED) &&
	       sender && !strcmp(sender, DBUS_SERVICE_DBUS);
}

const char *sd_what(sd_bus_message *r)
{
	if (!r)
		return "no reply";
	return sd_error_name(r) ?: "a method return";
}

/* --- the services (root) --------------------------------------------------- */

static const char *svc_name;
static char last_note[64];
static unsigned int heard;

static sd_bus_message *m_echo(struct b1d_bus *bus, sd_bus_message *call,
			      void *u)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s:%s", svc_name, sd_str_arg(call) ?: "");
	return sd_reply_str(call, buf);
}

static sd_bus_message *m_note(struct b1d_bus *bus, sd_bus_message *call,
			      void *u)
{
	sd_bus_message *r = NULL;

	snprintf(last_note, sizeof(last_note), "%s",
		 sd_bus_message_get_sender(call) ?: "(none)");
	sd_bus_message_new_method_return(call, &r);
	return r;
}

/* "LAST-NOTE HEARD" */
static sd_bus_message *m_report(struct b1d_bus *bus, sd_bus_message *call,
				void *u)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s %u", last_note[0] ? last_note : "-",
		 heard);
	return sd_reply_str(call, buf);
}

static void on_hey(struct b1d_bus *bus, sd_bus_message *m, void *u)
{
	heard++;
}

static const struct b1d_method svc_methods[] = {
	{ "Echo", m_echo, "s", "s" },
	{ "Note", m_note, "", "" },
	{ "Report", m_report, "", "s" },
	{}
};

/* a child: owns @name, writes "<RequestName result> <unique>\n", serves */
static void service(const char *name, int fd)
{
	struct b1d_bus *bus;
	int r;

	svc_name = name;
	r = b1d_connect(b1sock, &bus);
	if (r < 0) {
		dprintf(fd, "%d -\n", r);
		_exit(1);
	}
	b1d_add_object(bus, PATH, IFACE, svc_methods, NULL);
	b1d_match_signal(bus, NULL, PATH, IFACE, "Hey", on_hey, NULL);
	r = b1d_request_name(bus, name, DBUS_NAME_FLAG_DO_NOT_QUEUE);
	dprintf(fd, "%d %s\n", r, b1d_unique_name(bus));
	close(fd);
	while (b1d_wait(bus, -1) >= 0)
		while (b1d_process(bus) > 0)
			;
	_exit(0);
}

static pid_t service_start(const char *name, char *unique, size_t size)
{
	char line[128] = "";
	int p[2], i, rn = 0;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (!pid) {
		close(p[0]);
		service(name, p[1]);
	}
	close(p[1]);
	for (i = 0; i < (int)sizeof(line) - 1; i++)
		if (read(p[0], &line[i], 1) != 1 || line[i] == '\n')
			break;
	close(p[0]);
	if (sscanf(line, "%d %63s", &rn, unique) != 2 ||
	    rn != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		unique[0] = 0;
	return pid;
}

/* --- uid 1000 ---------------------------------------------------------------- */

/* results go to the parent as lines "1 text" / "0 text"; it CHECKs them */
static int report_fd;

static void report(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(bool ok, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "%d ", ok);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(report_fd, line, n) != n)
		_exit(3);
}

sd_bus_message *native_call(struct b1d_bus *bus, const char *dest,
			    const char *member, const char *arg)
{
	sd_bus_message *m, *r = NULL;

	m = sd_call_new(bus, dest, PATH, IFACE, member, arg);
	if (!m || b1d_call(bus, m, 5000, &r) < 0)
		r = NULL;
	sd_unref(m);
	return r;
}

/* the reply, error replies too (send_with_reply_and_block hides them) */
static DBusMessage *sock_call(DBusConnection *c, const char *dest,
			      const char *member, const char *arg)
{
	DBusPendingCall *pc = NULL;
	DBusMessage *m, *r = NULL;

	m = dbus_message_new_method_call(dest, PATH, IFACE, member);
	if (arg)
		dbus_message_append_args(m, DBUS_TYPE_STRING, &arg,
					 DBUS_TYPE_INVALID);
	if (dbus_connection_send_with_reply(c, m, &pc, 5000) && pc) {
		dbus_pending_call_block(pc);
		r = dbus_pending_call_steal_reply(pc);
		dbus_pending_call_unref(pc);
	}
	dbus_message_unref(m);
	return r;
}

/* the calls the bus routed (GetStats), or -1 */
static long long calls_routed(struct b1d_bus *bus)
{
	uint64_t n_messages, n_calls = 0;
	sd_bus_message *m, *r = NULL;
	bool ok;

	m = sd_call_new(bus, DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
			"org.bus1.DBus", "GetStats", NULL);
	ok = m && b1d_call(bus, m, 5000, &r) >= 0 &&
	     sd_bus_message_read(r, "tt", &n_messages, &n_calls) > 0;
	sd_unref(m);
	sd_unref(r);
	return ok ? (long long)n_calls : -1;
}

static sd_bus_message *sd_hey(struct b1d_bus *bus)
{
	sd_bus_message *s = NULL;

	if (sd_bus_message_new_signal(b1d_sd_bus(bus), &s, PATH, IFACE,
				      "Hey") < 0)
		return NULL;
	if (sd_bus_message_append(s, "s", "hey") < 0)
		return sd_bus_message_unref(s);
	return s;
}

static DBusMessage *hey(void)
{
	const char *arg = "hey";
	DBusMessage *s = dbus_message_new_signal(PATH, IFACE, "Hey");

	dbus_message_append_args(s, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID);
	return s;
}

int raw_serial;

/* a call to the bus from a raw peer: the reply, *handlep its handle[0] */
DBusMessage *raw_bus_call(struct b1c *raw, DBusMessage *m, __u64 *handlep)
{
	long long end;
	struct bus1_message msg;
	DBusMessage *r = NULL;
	__u64 dst = raw->broker;
	size_t i;

	dbus_message_set_serial(m, ++raw_serial);
	if (dwire_send(raw->peer, m, &dst, 1, NULL, NULL, 0) < 0)
		return NULL;
	for (end = time(NULL) + 10; !r && time(NULL) < end;) {
		if (bus1_recv(raw->peer, 0, &msg) < 0) {
			usleep(10000);
			continue;
		}
		if (msg.type == BUS1_MSG_DATA) {
			r = dwire_parse(&msg, NULL);
			if (r && dbus_message_get_reply_serial(r) !=
				 (dbus_uint32_t)raw_serial) {
				dbus_message_unref(r);
				r = NULL;
			}
			/* (errors carry the broker's node for us: no handle) */
			for (i = 0; i < msg.n_handles; i++)
				if (r && !i && handlep &&
				    dbus_message_get_type(r) ==
				    DBUS_MESSAGE_TYPE_METHOD_RETURN)
					*handlep = msg.handles[0];
				else
					bus1_handle_release(raw->peer,
							    msg.handles[i]);
		}
		bus1_message_release(&msg);
	}
	return r;
}

/* GetCallerHandle(@unique) from @raw: the reply, *hp the handle if any */
static DBusMessage *raw_caller_handle(struct b1c *raw, const char *unique,
				      __u64 *hp)
{
	DBusMessage *m, *r;

	*hp = BUS1_HANDLE_INVALID;
	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 "org.bus1.DBus", "GetCallerHandle");
	dbus_message_append_args(m, DBUS_TYPE_STRING, &unique,
				 DBUS_TYPE_INVALID);
	r = raw_bus_call(raw, m, hp);
	dbus_message_unref(m);
	return r;
}

/*
 * a bus1 peer below the library: asks for Secret's inbox by both names,
 * and as if it were a callee Secret wants a door from (GetCallerHandle):
 * first owning no name, then owning one below org.bus1.Uid1000, which
 * Secret (root) may not send to. Then it sends Note() to the first 4096
 * IDs the kernel gives remote handles (but its broker handle): without a
 * handle, nothing may reach Secret
 */
static void raw_peer(const char *secret_unique)
{
	const char *names[2] = { SECRET, secret_unique };
	const char *raw_name = "org.bus1.Uid1000.Raw";
	dbus_uint32_t flags = DBUS_NAME_FLAG_DO_NOT_QUEUE, rn = 0;
	__u64 h[2] = { BUS1_HANDLE_INVALID, BUS1_HANDLE_INVALID }, id;
	DBusMessage *m, *r[2];
	struct b1c *raw = NULL;
	unsigned int i, sent = 0;

	if (b1c_connect(b1sock, &raw) < 0) {
		report(false, "raw bus1 peer of uid %d connects", USER);
		return;
	}
	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 DBUS_INTERFACE_DBUS, "Hello");
	unref(raw_bus_call(raw, m, NULL));
	dbus_message_unref(m);
	for (i = 0; i < 2; i++) {
		m = dbus_message_new_method_call(DBUS_SERVICE_DBUS,
						 DBUS_PATH_DBUS,
						 "org.bus1.DBus",
						 "GetConnectionHandle");
		dbus_message_append_args(m, DBUS_TYPE_STRING, &names[i],
					 DBUS_TYPE_INVALID);
		r[i] = raw_bus_call(raw, m, &h[i]);
		dbus_message_unref(m);
	}
	report(is_denied(r[0]) && is_denied(r[1]) &&
	       h[0] == BUS1_HANDLE_INVALID && h[1] == BUS1_HANDLE_INVALID,
	       "native: GetConnectionHandle of %s and of its unique name %s: %s, %s, no handle",
	       SECRET, secret_unique, what(r[0]), what(r[1]));
	unref(r[0]);
	unref(r[1]);
	/* (a handle it got stays: the Note() check below then shows it) */
	r[0] = raw_caller_handle(raw, secret_unique, &h[0]);
	report(is_denied(r[0]) && h[0] == BUS1_HANDLE_INVALID,
	       "native: GetCallerHandle(%s) from a raw peer of uid %d that never sent %s a Door.Open (%s got no handle to it): %s, %s",
	       secret_unique, USER, SECRET, SECRET, what(r[0]),
	       h[0] == BUS1_HANDLE_INVALID ? "no handle" : "a handle");
	unref(r[0]);
	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 DBUS_INTERFACE_DBUS, "RequestName");
	dbus_message_append_args(m, DBUS_TYPE_STRING, &raw_name,
				 DBUS_TYPE_UINT32, &flags, DBUS_TYPE_INVALID);
	r[0] = raw_bus_call(raw, m, NULL);
	dbus_message_unref(m);
	if (r[0])
		dbus_message_get_args(r[0], NULL, DBUS_TYPE_UINT32, &rn,
				      DBUS_TYPE_INVALID);
	unref(r[0]);
	r[0] = raw_caller_handle(raw, secret_unique, &h[1]);
	report(rn == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER && is_denied(r[0]) &&
	       h[1] == BUS1_HANDLE_INVALID,
	       "native: ... and once it owns %s (RequestName %u), which root may not send to: %s, %s",
	       raw_name, rn, what(r[0]),
	       h[1] == BUS1_HANDLE_INVALID ? "no handle" : "a handle");
	unref(r[0]);
	m = dbus_message_new_method_call(SECRET, PATH, IFACE, "Note");
	dbus_message_set_no_reply(m, TRUE);
	dbus_message_set_serial(m, ++raw_serial);
	for (i = 0; i < 4096; i++) {
		id = (__u64)i << 3 | BUS1_HANDLE_FLAG_MANAGED |
		     BUS1_HANDLE_FLAG_REMOTE;
		if (id == raw->broker)
			continue;
		sent += !dwire_send(raw->peer, m, &id, 1, NULL, NULL, 0);
	}
	dbus_message_unref(m);
	report(!sent,
	       "native: a raw bus1 peer of uid %d holds no handle to %s's inbox: Note() to 4095 remote handle IDs, %u accepted by the kernel",
	       USER, SECRET, sent);
	b1c_free(raw);
}

/* the child running as uid 1000; exits when @go_fd is readable */
static void user(int fd, int go_fd, const char *secret_unique)
{
	struct b1d_bus *bus = NULL;
	DBusConnection *c;
	DBusMessage *r, *s;
	sd_bus_message *nr, *ns;
	long long n0, n1;
	char buf[8];
	int rn;

	report_fd = fd;
	if (setgroups(0, NULL) < 0 || setresgid(USER, USER, USER) < 0 ||
	    setresuid(USER, USER, USER) < 0) {
		report(false, "setresuid(%d)", USER);
		_exit(2);
	}
	/* the native world */
	rn = b1d_connect(b1sock, &bus);
	if (!rn)
		rn = b1d_request_name(bus, USER_NATIVE, 0);
	report(rn == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER,
	       "native client of uid %d connects and owns %s (%d)", USER,
	       USER_NATIVE, rn);
	if (rn != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		_exit(2);
	n0 = calls_routed(bus);
	nr = native_call(bus, OPEN, "Echo", "n");
	n1 = calls_routed(bus);
	report(sd_is_str_reply(nr, OPEN ":n"),
	       "native: uid %d calls %s: its reply passes although root may not send to %s (%s)",
	       USER, OPEN, USER_NATIVE, sd_what(nr));
	sd_unref(nr);
	report(n0 >= 0 && n1 == n0,
	       "native: ... on a door, not through the bus: %s's GetCallerHandle of the caller is allowed, as the caller may send to it (calls routed %lld -> %lld)",
	       OPEN, n0, n1);
	ns = sd_hey(bus);
	b1d_send(bus, ns);
	sd_unref(ns);
	nr = native_call(bus, SECRET, "Echo", "n");
	report(sd_is_denied(nr), "native: uid %d calls %s: %s", USER, SECRET,
	       sd_what(nr));
	sd_unref(nr);
	nr = native_call(bus, secret_unique, "Echo", "n");
	report(sd_is_denied(nr),
	       "native: uid %d calls %s by its unique name %s: %s", USER,
	       SECRET, secret_unique, sd_what(nr));
	sd_unref(nr);
	raw_peer(secret_unique);

	/* the socket world */
	c = dbus_connection_open_private(addr, NULL);
	rn = c && dbus_bus_register(c, NULL) ?
	     dbus_bus_request_name(c, USER_SOCK, 0, NULL) : -1;
	report(rn == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER,
	       "socket client of uid %d connects and owns %s (%d)", USER,
	       USER_SOCK, rn);
	if (rn != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		_exit(2);
	r = sock_call(c, OPEN, "Echo", "s");
	report(is_str_reply(r, OPEN ":s"),
	       "socket: uid %d calls %s: its reply passes although root may not send to %s (%s)",
	       USER, OPEN, USER_SOCK, what(r));
	unref(r);
	s = hey();
	dbus_connection_send(c, s, NULL);
	dbus_message_unref(s);
	r = sock_call(c, SECRET, "Echo", "s");
	report(is_denied(r), "socket: uid %d calls %s: %s", USER, SECRET,
	       what(r));
	unref(r);
	r = sock_call(c, secret_unique, "Echo", "s");
	report(is_denied(r), "socket: uid %d calls %s by its unique name: %s",
	       USER, SECRET, what(r));
	unref(r);
	if (write(fd, "END\n", 4) != 4)
		_exit(3);
	close(fd);
	/* stay, owning the names, until the parent is done */
	if (read(go_fd, buf, 1) < 0)
		_exit(3);
	dbus_connection_close(c);
	dbus_connection_unref(c);
	b1d_free(bus);
	_exit(0);
}

#define N_USER_CHECKS	13

/* run user() and CHECK what it reports; *pidp: the child, still running */
static void user_checks(const char *secret_unique, int *go_fd, pid_t *pidp)
{
	char line[600];
	FILE *f;
	int p[2], g[2], n = 0;

	if (pipe(p) < 0 || pipe(g) < 0)
		exit(1);
	fflush(NULL);
	*pidp = fork();
	if (!*pidp) {
		close(p[0]);
		close(g[1]);
		user(p[1], g[0], secret_unique);
	}
	close(p[1]);
	close(g[0]);
	*go_fd = g[1];
	f = fdopen(p[0], "r");
	while (f && fgets(line, sizeof(line), f) && strcmp(line, "END\n")) {
		line[strcspn(line, "\n")] = 0;
		CHECK(line[0] == '1', "%s", line + 2);
		n++;
	}
	if (f)
		fclose(f);
	for (; n < N_USER_CHECKS; n++)
		CHECK(false, "the uid %d child ended early", USER);
}

/* --- Debian's dbus-send, as uid 1000, where the host's /usr is shared ----- */

#define HOSTROOT	"/hostroot"

static bool dbus_send_as_user(const char *dest, char *out, size_t size)
{
	char bus_opt[160], dest_opt[80];
	size_t len = 0;
	ssize_t n;
	int p[2], status;
	pid_t pid;

	if (access(HOSTROOT "/usr/bin/dbus-send", X_OK) || pipe(p) < 0)
		return false;
	snprintf(bus_opt, sizeof(bus_opt), "--bus=%s", addr);
	snprintf(dest_opt, sizeof(dest_opt), "--dest=%s", dest);
	fflush(NULL);
	pid = fork();
	if (!pid) {
		static char *const env[] = { "PATH=/usr/bin:/bin", "HOME=/tmp",
					     NULL };

		dup2(p[1], 1);
		dup2(p[1], 2);
		if (chroot(HOSTROOT) || chdir("/") || setgroups(0, NULL) ||
		    setresgid(USER, USER, USER) || setresuid(USER, USER, USER))
			_exit(126);
		execle("/usr/bin/dbus-send", "dbus-send", bus_opt,
		       "--print-reply", dest_opt, PATH, IFACE ".Echo",
		       "string:dbus-send", (char *)NULL, env);
		_exit(127);
	}
	close(p[1]);
	while (len < size - 1 &&
	       (n = read(p[0], out + len, size - 1 - len)) > 0)
		len += n;
	out[len] = 0;
	close(p[0]);
	waitpid(pid, &status, 0);
	for (n = 0; n < (ssize_t)len; n++)
		if (out[n] == '\n')
			out[n] = ' ';
	return true;
}

/* --- root ------------------------------------------------------------------ */

static bool report_is(struct b1d_bus *bus, const char *svc, const char *want,
		      char *got, size_t size)
{
	sd_bus_message *r = native_call(bus, svc, "Report", NULL);
	const char *s = sd_is_return(r) ? sd_str_arg(r) : NULL;

	snprintf(got, size, "%s", s ?: "(no reply)");
	sd_unref(r);
	return !strcmp(got, want);
}

int main(void)
{
	char open_u[64] = "", secret_u[64] = "", out[1024], got[128];
	pid_t open_pid = 0, secret_pid = 0, user_pid = 0;
	struct b1d_bus *root = NULL;
	DBusConnection *c = NULL;
	sd_bus_message *nr;
	DBusMessage *r;
	int status, go_fd = -1;

	tap_start("test-dbus-policy");
	tap_plan(31);
	dbus_connection_set_change_sigpipe(TRUE);
	signal(SIGPIPE, SIG_IGN);

	CHECK_R(dbus_test_broker_start("b1dp", 0755, policy, NULL, NULL), 0,
		"bus1-dbus-broker starts with send rules in its policy file");
	open_pid = service_start(OPEN, open_u, sizeof(open_u));
	secret_pid = service_start(SECRET, secret_u, sizeof(secret_u));
	CHECK(open_u[0] == ':' && secret_u[0] == ':',
	      "native services %s (%s) and %s (%s) run as root", OPEN, open_u,
	      SECRET, secret_u);
	if (!open_u[0] || !secret_u[0])
		goto out;

	user_checks(secret_u, &go_fd, &user_pid);

	CHECK_R(b1d_connect(b1sock, &root), 0, "native client of root connects");
	if (!root)
		goto out;
	nr = native_call(root, SECRET, "Echo", "root");
	CHECK(sd_is_str_reply(nr, SECRET ":root"),
	      "native: root may call %s: the rule is by uid (%s)", SECRET,
	      sd_what(nr));
	sd_unref(nr);
	nr = native_call(root, USER_NATIVE, "Echo", "root");
	CHECK(sd_is_denied(nr), "native: root calls %s: %s", USER_NATIVE,
	      sd_what(nr));
	sd_unref(nr);
	nr = native_call(root, USER_SOCK, "Echo", "root");
	CHECK(sd_is_denied(nr), "native: root calls %s (a socket client): %s",
	      USER_SOCK, sd_what(nr));
	sd_unref(nr);
	c = dbus_connection_open_private(addr, NULL);
	if (c && !dbus_bus_register(c, NULL)) {
		dbus_connection_close(c);
		dbus_connection_unref(c);
		c = NULL;
	}
	r = c ? sock_call(c, USER_NATIVE, "Echo", "root") : NULL;
	CHECK(is_denied(r), "socket: root calls %s (a native client): %s",
	      USER_NATIVE, what(r));
	unref(r);
	r = c ? sock_call(c, SECRET, "Echo", "rs") : NULL;
	CHECK(is_str_reply(r, SECRET ":rs"), "socket: root may call %s (%s)",
	      SECRET, what(r));
	unref(r);

	CHECK(report_is(root, OPEN, "- 2", got, sizeof(got)),
	      "uid %d's two Hey broadcasts (native, socket) reached %s: '%s'",
	      USER, OPEN, got);
	CHECK(report_is(root, SECRET, "- 0", got, sizeof(got)),
	      "... but not %s, which it may not send to, nor did any Note(): '%s'",
	      SECRET, got);

	if (!dbus_send_as_user(SECRET, out, sizeof(out))) {
		printf("ok %d host-tools # SKIP no %s (the host's /usr is not shared)\n",
		       ++tap_n, HOSTROOT "/usr/bin/dbus-send");
		printf("ok %d host-tools # SKIP no dbus-send\n", ++tap_n);
	} else {
		CHECK(strstr(out, "Error " DENIED),
		      "Debian's dbus-send as uid %d to %s is denied by policy: '%s'",
		      USER, SECRET, out);
		dbus_send_as_user(OPEN, out, sizeof(out));
		CHECK(strstr(out, "string \"" OPEN ":dbus-send\""),
		      "... and its call to %s passes: '%s'", OPEN, out);
	}
	forged_replies(open_u);
	forged_signals(root, open_u);
out:
	if (go_fd >= 0)
		close(go_fd);
	if (user_pid > 0)
		waitpid(user_pid, &status, 0);
	if (c) {
		dbus_connection_close(c);
		dbus_connection_unref(c);
	}
	b1d_free(root);
	if (open_pid > 0) {
		kill(open_pid, SIGKILL);
		waitpid(open_pid, &status, 0);
	}
	if (secret_pid > 0) {
		kill(secret_pid, SIGKILL);
		waitpid(secret_pid, &status, 0);
	}
	CHECK_R(dbus_test_broker_stop(), 0, "the broker exits cleanly on SIGTERM");
	return tap_end();
}
