// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-native, the standard interfaces (Peer, Introspectable) of the
 * native service and Debian's D-Bus clients and services (the host's /usr,
 * shared into the test VM) on the socket, talking to native connections;
 * and the size of a message a native connection can send (native_big()).
 */
#define TAP_SHARED
#define DBUS_TEST_SHARED
#include "test-dbus-native.h"

/* --- Peer and Introspectable of a native service ------------------------ */

#define MACHINE_ID	"0123456789abcdef0123456789abcdef"

/* @iface.@member() at @path of the service, no arguments */
static sd_bus_message *std_call(struct b1d_bus *bus, const char *path,
				const char *iface, const char *member)
{
	return call_unref(bus, sd_call_new(bus, SVC_NAME, path, iface, member,
					   NULL), 10000);
}

static const char *reply_what(sd_bus_message *r)
{
	if (!r)
		return "(no reply)";
	return sd_error_name(r) ?: sd_str_arg(r) ?: "(a return)";
}

/* after a failed check: @text as TAP diagnostics, "# " before each line */
void diag(const char *text)
{
	const char *nl;

	for (; *text; text = nl + 1) {
		nl = strchrnul(text, '\n');
		printf("# %.*s\n", (int)(nl - text), text);
		if (!*nl)
			break;
	}
}

/* the machine id the service should answer, "" if it has none */
static void machine_id_of(char *id, size_t size)
{
	static const char *const files[] = {
		"/etc/machine-id", "/var/lib/dbus/machine-id" };
	FILE *f;
	int i;

	for (i = 0; i < 2; i++) {
		id[0] = 0;
		f = fopen(files[i], "re");
		if (!f)
			continue;
		if (!fgets(id, size, f))
			id[0] = 0;
		fclose(f);
		id[strcspn(id, "\n")] = 0;
		if (strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32)
			return;
	}
	id[0] = 0;
}

/*
 * GetMachineId: the id of /etc/machine-id; where there is none (the test
 * VM), first FileNotFound, then the id of one written for the check
 */
static bool machine_id_ok(struct b1d_bus *bus, char *got, size_t size)
{
	char id[64];
	sd_bus_message *r;
	bool ok = true;
	int fd;

	machine_id_of(id, sizeof(id));
	if (!id[0]) {
		r = std_call(bus, "/", DBUS_INTERFACE_PEER, "GetMachineId");
		ok = is_error(r, DBUS_ERROR_FILE_NOT_FOUND);
		snprintf(got, size, "none: %s; ", reply_what(r));
		sd_unref(r);
		fd = open("/etc/machine-id", O_WRONLY | O_CREAT | O_EXCL, 0444);
		if (fd < 0 || write(fd, MACHINE_ID "\n", 33) != 33)
			ok = false;
		if (fd >= 0)
			close(fd);
		snprintf(id, sizeof(id), "%s", MACHINE_ID);
	}
	r = std_call(bus, SVC_PATH, DBUS_INTERFACE_PEER, "GetMachineId");
	ok = ok && sd_is_str_reply(r, id);
	snprintf(got + strlen(got), size - strlen(got), "%s: %s", id,
		 reply_what(r));
	sd_unref(r);
	if (!strcmp(id, MACHINE_ID))
		unlink("/etc/machine-id");
	return ok;
}

#define ECHO_XML	"<method name=\"Echo\"><arg direction=\"in\" type=\"s\"/><arg direction=\"out\" type=\"s\"/></method>"
#define EMPTY_XML	DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE "<node>\n</node>\n"

/* a native client asks the native service the standard interfaces */
void native_introspect(struct b1d_bus *bus)
{
	sd_bus_message *r, *r2;
	const char *xml;
	char got[256] = "";
	bool ok;

	r = std_call(bus, SVC_PATH, DBUS_INTERFACE_PEER, "Ping");
	r2 = std_call(bus, "/no/object", DBUS_INTERFACE_PEER, "Ping");
	CHECK(sd_is_return(r) && sd_is_return(r2),
	      "Peer.Ping of the native service returns, at its object and at a path without one (%s, %s)",
	      reply_what(r), reply_what(r2));
	sd_unref(r);
	sd_unref(r2);
	CHECK(machine_id_ok(bus, got, sizeof(got)),
	      "Peer.GetMachineId of the native service (%s)", got);

	r = std_call(bus, SVC_PATH, DBUS_INTERFACE_INTROSPECTABLE,
		     "Introspect");
	xml = reply_what(r);
	ok = strstr(xml, "<interface name=\"" SVC_IFACE "\">") &&
	     strstr(xml, ECHO_XML) && strstr(xml, "<method name=\"Fail\"/>") &&
	     strstr(xml, "<interface name=\"" DBUS_INTERFACE_PEER "\">") &&
	     strstr(xml, "<interface name=\"" DBUS_INTERFACE_INTROSPECTABLE "\">") &&
	     strstr(xml, "<node name=\"Child\"/>") &&
	     !strncmp(xml, DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE,
		      strlen(DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE));
	if (!CHECK(ok,
		   "Introspect of %s: its interface, Echo(s) -> s, Fail(), Peer, Introspectable, child node Child",
		   SVC_PATH))
		diag(xml);
	sd_unref(r);

	r = std_call(bus, "/no/object", DBUS_INTERFACE_INTROSPECTABLE,
		     "Introspect");
	if (!CHECK(!strcmp(reply_what(r), EMPTY_XML),
		   "Introspect of a path without objects: the DTD header and an empty <node>"))
		diag(reply_what(r));
	sd_unref(r);
}

/*
 * One of Debian's clients (the host's /usr, shared into the test VM over
 * 9p, see test-dbus-vm) run with @argv in the shared root; its output goes
 * to @out. false if the tool is not there.
 */
bool host_tool(const char *const *argv, char *out, size_t size)
{
	char tool[PATH_MAX];
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	int p[2], status;

	snprintf(tool, sizeof(tool), "%s%s", HOSTROOT, argv[0]);
	if (access(tool, X_OK) || pipe(p) < 0)
		return false;
	fflush(NULL);
	pid = fork();
	if (!pid) {
		const char *args[32] = { "chroot", HOSTROOT, "/usr/bin/env",
					 "-i", "PATH=/usr/bin:/bin", "HOME=/tmp" };
		int i;

		for (i = 0; argv[i] && i < 24; i++)
			args[6 + i] = argv[i];
		dup2(p[1], 1);
		dup2(p[1], 2);
		execvp("chroot", (char **)args);
		_exit(127);
	}
	close(p[1]);
	while (len < size - 1 &&
	       (n = read(p[0], out + len, size - 1 - len)) > 0)
		len += n;
	out[len] = 0;
	close(p[0]);
	waitpid(pid, &status, 0);
	return true;
}

#define N_TOOLS	4

/* Debian's D-Bus clients on the socket, calling the native service */
void host_tools_echo(void)
{
	static char addr_opt[160], bus_opt[160], py[512];
	static const char *const busctl[] = {
		"/usr/bin/busctl", addr_opt, "call", SVC_NAME, SVC_PATH,
		SVC_IFACE, "Echo", "s", "busctl", NULL };
	static const char *const dsend[] = {
		"/usr/bin/dbus-send", bus_opt, "--print-reply",
		"--dest=" SVC_NAME, SVC_PATH, SVC_IFACE ".Echo",
		"string:dbus-send", NULL };
	static const char *const gdbus[] = {
		"/usr/bin/gdbus", "call", "--address", addr, "--dest", SVC_NAME,
		"--object-path", SVC_PATH, "--method", SVC_IFACE ".Echo",
		"gdbus", NULL };
	static const char *const python[] = {
		"/usr/bin/python3", "-c", py, NULL };
	const struct {
		const char *const *argv;
		const char *name, *want;
	} tools[N_TOOLS] = {
		{ busctl, "busctl", "s \"echo:busctl\"" },
		{ dsend, "dbus-send", "string \"echo:dbus-send\"" },
		{ gdbus, "gdbus", "('echo:gdbus',)" },
		{ python, "python3-dbus", "echo:python" },
	};
	char out[1024], *p;
	unsigned int i;

	/* dbus-send's --address would mean a peer without Hello */
	snprintf(addr_opt, sizeof(addr_opt), "--address=%s", addr);
	snprintf(bus_opt, sizeof(bus_opt), "--bus=%s", addr);
	snprintf(py, sizeof(py),
		 "import dbus\nb = dbus.bus.BusConnection('%s')\n"
		 "o = b.get_object('%s', '%s', introspect=False)\n"
		 "print(o.Echo('python', dbus_interface='%s'))\n",
		 addr, SVC_NAME, SVC_PATH, SVC_IFACE);
	for (i = 0; i < N_TOOLS; i++) {
		if (!host_tool(tools[i].argv, out, sizeof(out))) {
			/* the case name is what skip-allowlist names */
			printf("ok %d host-tools # SKIP no %s at %s%s\n",
			       ++tap_n, tools[i].argv[0], HOSTROOT,
			       " (the host's /usr is not shared)");
			continue;
		}
		/* dbus-send prints the value on a second line */
		for (p = out; (p = strchr(p, '\n'));)
			*p = ' ';
		CHECK(strstr(out, tools[i].want),
		      "Debian's %s on the socket calls the native service: '%s'",
		      tools[i].name, out);
	}
}

/*
 * the three tokens after @member's name in busctl introspect's table
 * (type, signature, result or value), or ""
 */
void busctl_row(const char *out, const char *member, char *row, size_t size)
{
	char want[64], name[64], type[16], in[32], res[32];
	const char *p;

	snprintf(want, sizeof(want), "\n.%s ", member);
	p = strstr(out, want);
	row[0] = 0;
	if (p && sscanf(p + 1, "%63s %15s %31s %31s", name, type, in, res) == 4)
		snprintf(row, size, "%s %s %s", type, in, res);
}

/* Debian's busctl and gdbus introspect the native service */
void host_tools_introspect(void)
{
	static char addr_opt[160];
	static const char *const intro[] = {
		"/usr/bin/busctl", addr_opt, "introspect", SVC_NAME, SVC_PATH,
		NULL };
	static const char *const tree[] = {
		"/usr/bin/busctl", addr_opt, "tree", SVC_NAME, NULL };
	static const char *const gdbus[] = {
		"/usr/bin/gdbus", "introspect", "--address", addr, "--dest",
		SVC_NAME, "--object-path", SVC_PATH, NULL };
	char out[8192], row[128];
	int i;

	snprintf(addr_opt, sizeof(addr_opt), "--address=%s", addr);
	if (!host_tool(intro, out, sizeof(out))) {
		for (i = 0; i < 3; i++)
			printf("ok %d host-tools # SKIP no %s at %s%s\n",
			       ++tap_n, intro[0], HOSTROOT,
			       " (the host's /usr is not shared)");
		return;
	}
	busctl_row(out, "Echo", row, sizeof(row));
	if (!CHECK(!strcmp(row, "method s s") &&
		   strstr(out, "\n" DBUS_INTERFACE_PEER " "),
		   "Debian's busctl introspect of the native service: .Echo '%s', Peer listed",
		   row))
		diag(out);
	host_tool(tree, out, sizeof(out));
	if (!CHECK(strstr(out, "/org/bus1\n") && strstr(out, SVC_PATH "\n") &&
		   strstr(out, SVC_CHILD "\n"),
		   "Debian's busctl tree walks the native service down to %s",
		   SVC_CHILD))
		diag(out);
	if (!host_tool(gdbus, out, sizeof(out)))
		snprintf(out, sizeof(out), "no %s%s", HOSTROOT, gdbus[0]);
	if (!CHECK(strstr(out, "Echo(in  s arg_0,") && strstr(out, "Fail();") &&
		   strstr(out, "node Child {"),
		   "Debian's gdbus introspect: Echo(in s, out s), Fail(), node Child"))
		diag(out);
}

#define HOST_DBUS	"/src/tools/testing/selftests/bus1/host/dbus/"
#define HOST_SVC_START_MS	90000	/* a python start takes seconds under TCG */

/*
 * The reverse of host_tools_echo(): a python3 service of the shared root
 * (@script, under HOST_DBUS, run by the root's /usr/bin/python3) on the
 * socket as @name, called by native client @bus through the broker with
 * Echo(@arg); the reply must be @arg. @what names the service.
 */
void host_service_echo(struct b1d_bus *bus, const char *script,
		       const char *name, const char *arg, const char *what)
{
	char svc[PATH_MAX], out[256] = "";
	const char *got = "(no string reply)";
	char *s;
	struct pollfd pfd = { .events = POLLIN };
	long long deadline = test_now_us() + HOST_SVC_START_MS * 1000LL;
	sd_bus_message *r = NULL;
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	int p[2];
	bool ok;

	snprintf(svc, sizeof(svc), "%s%s%s", HOSTROOT, HOST_DBUS, script);
	if (access(svc, R_OK) || access(HOSTROOT "/usr/bin/python3", X_OK) ||
	    pipe(p) < 0) {
		/* the case name is what skip-allowlist names */
		printf("ok %d host-tools # SKIP no python3 or %s at %s%s\n",
		       ++tap_n, script, HOSTROOT,
		       " (the host's /usr is not shared)");
		return;
	}
	snprintf(svc, sizeof(svc), "%s%s", HOST_DBUS, script);
	fflush(NULL);
	pid = fork();
	if (!pid) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execlp("chroot", "chroot", HOSTROOT, "/usr/bin/env", "-i",
		       "PATH=/usr/bin:/bin", "HOME=/tmp", "/usr/bin/python3",
		       svc, addr, name, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	pfd.fd = p[0];
	while (pid > 0 && !strstr(out, "ready") && len < sizeof(out) - 1 &&
	       poll(&pfd, 1, (int)((deadline - test_now_us()) / 1000)) > 0 &&
	       (n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0) {
		len += n;
		out[len] = 0;
	}
	ok = strstr(out, "ready");
	/* one TAP line: the output without its line breaks */
	for (s = out; (s = strchr(s, '\n'));)
		*s = s[1] ? ' ' : 0;
	if (ok)
		r = call_unref(bus, sd_call_new(bus, name, "/org/bus1/Test",
						"org.bus1.Test", "Echo", arg),
			       30000);
	if (sd_is_return(r) && sd_str_arg(r))
		got = sd_str_arg(r);
	CHECK(ok && !strcmp(got, arg),
	      "a native client calls %s: Echo(\"%s\") -> \"%s\" (it said '%s')",
	      what, arg, got, out);
	sd_unref(r);
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	close(p[0]);
}

/* --- message size: the pump's stream, up to B1D_MESSAGE_MAX ---------- */

/*
 * Until the pump framed a stream, a message sd-bus wrote had to fit one
 * record of a SOCK_SEQPACKET socket: its send buffer (net.core.wmem_default)
 * less the 32 bytes unix_dgram_sendmsg() keeps. Strings that long and
 * longer must now arrive whole.
 */
static long old_record_limit(void)
{
	FILE *f = fopen("/proc/sys/net/core/wmem_default", "re");
	long v = 0;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v > 32 ? v - 32 : 212992 - 32;
}

/*
 * The largest Echo the receiver's bus1 quota lets through: a peer takes at
 * most a quarter of its user's 16 MiB of bytes in flight from one sending
 * user (Documentation/bus1/quota.rst), the message's header included
 */
#define BIG_ECHO	((4 << 20) - (64 << 10))

/* @dest's Echo(@len times @c): the reply, *rnp b1d_call()'s return, *msp its time */
static sd_bus_message *echo_to(struct b1d_bus *bus, const char *dest,
			       size_t len, char c, int *rnp, long long *msp)
{
	sd_bus_message *m, *r = NULL;
	char *s = malloc(len + 1);

	*rnp = -ENOMEM;
	*msp = 0;
	if (!s)
		return NULL;
	memset(s, c, len);
	s[len] = 0;
	m = sd_call_new(bus, dest, SVC_PATH, SVC_IFACE, "Echo", s);
	free(s);
	if (!m)
		return NULL;
	*msp = test_now_ms();
	*rnp = b1d_call(bus, m, 20000, &r);
	*msp = test_now_ms() - *msp;
	sd_unref(m);
	return r;
}

static sd_bus_message *echo_len(struct b1d_bus *bus, size_t len, char c,
				int *rnp, long long *msp)
{
	return echo_to(bus, SVC_NAME, len, c, rnp, msp);
}

/* the reply is @prefix ("echo:" or "sock:") and @len times @c */
static bool echoed_by(sd_bus_message *r, const char *prefix, size_t len,
		      char c)
{
	const char *s = sd_str_arg(r);
	size_t i, k = strlen(prefix);

	if (!s || sd_error_name(r) || strncmp(s, prefix, k) ||
	    strlen(s + k) != len)
		return false;
	for (i = 0; i < len; i++)
		if (s[k + i] != c)
			return false;
	return true;
}

static bool echoed(sd_bus_message *r, size_t len, char c)
{
	return echoed_by(r, "echo:", len, c);
}

static void echo_intact(struct b1d_bus *bus, size_t len, char c,
			const char *what)
{
	sd_bus_message *r;
	long long ms;
	int rn;

	r = echo_len(bus, len, c, &rn, &ms);
	CHECK(rn == 0 && echoed(r, len, c),
	      "Echo of a string of %zu bytes (%s): the reply is the string, intact (%d, %s, %lld ms)",
	      len, what, rn, !r ? "(no reply)" : sd_error_name(r) ?: "a return",
	      ms);
	sd_unref(r);
}

/* ReadFd(a pipe, @pad bytes after it): the fd crosses with a big message */
static void big_read_fd(struct b1d_bus *bus, size_t pad)
{
	sd_bus_message *m, *r = NULL;
	char *s = malloc(pad + 1);
	int p[2] = { -1, -1 };

	if (s) {
		memset(s, 'f', pad);
		s[pad] = 0;
	}
	m = sd_call_new(bus, SVC_NAME, SVC_PATH, SVC_IFACE, "ReadFd", NULL);
	if (!s || !m || pipe(p) || write(p[1], "a big one's fd", 14) != 14 ||
	    sd_bus_message_append(m, "hs", p[0], s) < 0)
		m = sd_unref(m);
	free(s);
	if (m)
		b1d_call(bus, m, 20000, &r);
	sd_unref(m);
	CHECK(sd_is_str_reply(r, "a big one's fd"),
	      "ReadFd(a pipe, then a %zu KiB string): the service read the pipe the big message carried (%s)",
	      pad / 1024, reply_what(r));
	sd_unref(r);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

void native_big(struct b1d_bus *bus)
{
	long old = old_record_limit();
	size_t over = B1D_MESSAGE_MAX;
	sd_bus_message *r;
	long long ms;
	int rn;

	printf("# the old limit, one pump record: %ld bytes; now up to %u\n",
	       old, B1D_MESSAGE_MAX);
	echo_intact(bus, 64 * 1024, 's', "64 KiB");
	echo_intact(bus, old, 'j', "the old record limit's length");
	echo_intact(bus, 512 * 1024, 'b', "512 KiB");
	echo_intact(bus, BIG_ECHO, 'm', "4 MiB less 64 KiB");
	big_read_fd(bus, 512 * 1024);

	/* the receiver's bus1 quota: one peer takes a quarter of 16 MiB */
	r = echo_len(bus, 8 << 20, 'q', &rn, &ms);
	CHECK(rn == -EDQUOT && !r && ms < 5000,
	      "Echo of an 8 MiB string: b1d_call() fails at once with -EDQUOT, the receiver's bus1 quota (%d %s after %lld ms)",
	      rn, rn < 0 ? strerror(-rn) : "", ms);
	sd_unref(r);
	/* the string alone is the maximum: the message is its header over */
	r = echo_len(bus, over, 'o', &rn, &ms);
	CHECK(rn == -EMSGSIZE && !r && ms < 5000,
	      "Echo of a string of %zu bytes, the message over B1D_MESSAGE_MAX: b1d_call() fails at once with -EMSGSIZE (%d %s after %lld ms)",
	      over, rn, rn < 0 ? strerror(-rn) : "", ms);
	sd_unref(r);

	r = call_unref(bus, sd_call_new(bus, SVC_NAME, SVC_PATH, SVC_IFACE,
					"Echo", "after"), 10000);
	CHECK(sd_is_str_reply(r, "echo:after"),
	      "then a small Echo on the same connection succeeds (%s)",
	      reply_what(r));
	sd_unref(r);
	r = call_unref(bus, sd_call_new(bus, SVC_NAME, SVC_PATH, SVC_IFACE,
					"Echo", "again"), 10000);
	CHECK(sd_is_str_reply(r, "echo:again"),
	      "and a second one: the service is alive (%s)", reply_what(r));
	sd_unref(r);
}

/*
 * A big message through the broker both ways: to a libdbus service on the
 * socket (the broker takes it off bus1 and writes it to the socket) and its
 * reply back (off the socket, onto bus1)
 */
void native_big_sock(struct b1d_bus *bus, const char *dest)
{
	size_t len = 2 << 20;
	sd_bus_message *r;
	long long ms;
	int rn;

	r = echo_to(bus, dest, len, 'k', &rn, &ms);
	CHECK(rn == 0 && echoed_by(r, "sock:", len, 'k'),
	      "a native client calls the socket service with a 2 MiB string, through the broker: the reply is the string, intact (%d, %s, %lld ms)",
	      rn, !r ? "(no reply)" : sd_error_name(r) ?: "a return", ms);
	sd_unref(r);
}
