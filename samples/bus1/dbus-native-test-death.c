// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-native, an owner dying before the broker ran: the broker is
 * stopped (SIGSTOP), a name's owner is killed, a caller sends to the name,
 * the broker goes on. Its queue then holds the owner's NODE_DESTROY before
 * the call (bus1's causal order: the kill came first), and the call must
 * see the name as the destruction left it, whatever the broker reads in
 * one batch: ServiceUnknown, or the next owner in the queue.
 */
#define TAP_SHARED
#define DBUS_TEST_SHARED
#include "test-dbus-native.h"

#define GONE_NAME	"org.bus1.Gone"

static __u32 owner_flags;

/* a child: owns (or queues for) GONE_NAME */
static void gone_owner(int fd)
{
	native_service(fd, GONE_NAME, owner_flags, false);
}

static pid_t owner_spawn(__u32 flags, int want, char *unique, size_t size)
{
	char line[128] = "";
	pid_t pid;
	int r;

	owner_flags = flags;
	pid = spawn_reporter(gone_owner, line, sizeof(line));
	r = atoi(line);
	if (pid > 0 && r != want) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	snprintf(unique, size, "%s", strchrnul(line, ' ') + !!line[0]);
	return pid;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* true once the broker is stopped (not merely signalled) */
static bool broker_stop(void)
{
	int i;

	if (broker_pid <= 0 || kill(broker_pid, SIGSTOP) < 0)
		return false;
	for (i = 0; i < 2000; i++) {
		if (proc_state(broker_pid) == 'T')
			return true;
		usleep(1000);
	}
	return false;
}

/* a child that lets the broker go on after @ms: the caller blocks first */
static pid_t broker_cont_after(int ms)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (!pid) {
		usleep(ms * 1000);
		kill(broker_pid, SIGCONT);
		_exit(0);
	}
	return pid;
}

static void broker_cont(pid_t waker)
{
	if (waker > 0)
		waitpid(waker, NULL, 0);
	kill(broker_pid, SIGCONT);
}

static sd_bus_message *gone_call(struct b1d_bus *bus, const char *arg)
{
	return call_unref(bus, sd_call_new(bus, GONE_NAME, SVC_PATH, SVC_IFACE,
					   "Echo", arg), 10000);
}

static const char *what(sd_bus_message *r)
{
	if (!r)
		return "(no reply)";
	return sd_error_name(r) ?: sd_str_arg(r) ?: "(a return)";
}

/* the owner is killed while the broker is stopped, then @bus calls */
static sd_bus_message *call_after_death(struct b1d_bus *bus, pid_t owner)
{
	sd_bus_message *r;
	pid_t waker;

	if (!broker_stop())
		return NULL;
	kill(owner, SIGKILL);
	waitpid(owner, NULL, 0);
	waker = broker_cont_after(300);
	r = gone_call(bus, "late");
	broker_cont(waker);
	return r;
}

/* the same from an unmodified libdbus client on the socket */
static char *socket_call_after_death(pid_t owner, char *got, size_t size)
{
	DBusConnection *c;
	DBusMessage *m, *r = NULL;
	const char *arg = "late";
	DBusError err;
	pid_t waker;

	snprintf(got, size, "(no connection)");
	c = dbus_connection_open_private(addr, NULL);
	if (!c)
		return got;
	if (!dbus_bus_register(c, NULL) || !broker_stop())
		goto out;
	kill(owner, SIGKILL);
	waitpid(owner, NULL, 0);
	m = dbus_message_new_method_call(GONE_NAME, SVC_PATH, SVC_IFACE,
					 "Echo");
	dbus_message_append_args(m, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID);
	waker = broker_cont_after(300);
	dbus_error_init(&err);
	r = dbus_connection_send_with_reply_and_block(c, m, 10000, &err);
	broker_cont(waker);
	dbus_message_unref(m);
	snprintf(got, size, "%s", r ? "(a return)" :
		 dbus_error_is_set(&err) ? err.name : "(no reply)");
	dbus_error_free(&err);
	unref(r);
out:
	dbus_connection_close(c);
	dbus_connection_unref(c);
	return got;
}

void owner_death(struct b1d_bus *cl)
{
	char a[64] = "", b[64] = "", got[128];
	sd_bus_message *r;
	const char *sender;
	pid_t pa, pb;
	bool ok;

	/* a caller that called the owner before: it holds its inbox */
	pa = owner_spawn(DBUS_NAME_FLAG_DO_NOT_QUEUE,
			 DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER, a, sizeof(a));
	r = pa > 0 ? gone_call(cl, "x") : NULL;
	ok = sd_is_str_reply(r, "echo:x");
	sd_unref(r);
	r = ok ? call_after_death(cl, pa) : NULL;
	CHECK(ok && is_error(r, DBUS_ERROR_SERVICE_UNKNOWN),
	      "an owner killed while the broker was stopped, a native caller that called it before: ServiceUnknown (%s)",
	      ok ? what(r) : "no owner");
	sd_unref(r);

	/* the name goes to the next in its queue, who gets the call */
	pa = owner_spawn(DBUS_NAME_FLAG_DO_NOT_QUEUE,
			 DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER, a, sizeof(a));
	pb = pa > 0 ? owner_spawn(0, DBUS_REQUEST_NAME_REPLY_IN_QUEUE, b,
				  sizeof(b)) : -1;
	r = pb > 0 ? gone_call(cl, "y") : NULL;
	ok = sd_is_str_reply(r, "echo:y");
	sd_unref(r);
	r = ok ? call_after_death(cl, pa) : NULL;
	sender = r ? sd_bus_message_get_sender(r) : NULL;
	CHECK(ok && sd_is_str_reply(r, "echo:late") && sender &&
	      !strcmp(sender, b),
	      "... with a queued owner %s: the call goes to it (%s from %s)",
	      b, what(r), sender ?: "nobody");
	sd_unref(r);

	/* a socket caller: the same answer (pb is the owner now) */
	socket_call_after_death(pb, got, sizeof(got));
	CHECK(pb > 0 && !strcmp(got, DBUS_ERROR_SERVICE_UNKNOWN),
	      "... and a socket caller: ServiceUnknown (%s)", got);
}
