// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-bench, Debian's dbus-broker as a second baseline
 * (informational): started without systemd, its rows beside bus1's.
 */
#include "dbus-bench.h"

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

struct dbb dbb;

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
void dbb_stop(void)
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
int dbb_start(void)
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
void dbb_row(const char *what, struct fig f, struct fig base)
{
	printf("  %-42s %9.0f %6.2f %9.0f %6.2f %6.2fx  (informational)\n",
	       what, f.instr, f.csw, base.instr, base.csw, f.instr / base.instr);
}

/* did dbus-broker's launcher or logging add to its figures? */
void dbb_report(void)
{
	printf("# dbus-broker: pid %d; its launcher (pid %d, on the bus as %s) ",
	       dbb.broker, dbb.launcher, dbb.unique);
	printf("woke %ld times during the dbus-broker figures; %lu journal messages\n",
	       dbb_launcher_wakeups() - dbb.wakeups,
	       __atomic_load_n(dbb.journal_msgs, __ATOMIC_RELAXED) - dbb.msgs);
}
