/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _BUS1_DBUS_TEST_H
#define _BUS1_DBUS_TEST_H

/*
 * Helpers shared by the D-Bus tests (test-dbus-native, test-dbus-policy,
 * test-dbus-hostile): a private bus1-dbus-broker (the one beside the test
 * binary, else /usr/bin's) with a socket and a bus1 bootstrap in a
 * directory of its own, the small libdbus message helpers of their raw
 * and socket peers, and the sd-bus ones of their libbus1-dbus connections.
 */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dbus/dbus.h>
#include <systemd/sd-bus.h>
#include "dbus-native.h"

/*
 * The broker's paths and pid are the program's: a test of several files
 * defines DBUS_TEST_SHARED before including this header in each of them,
 * and DBUS_TEST_SHARED_DEFINE as well in the one that holds them (as
 * test-lib.h's TAP_SHARED).
 */
#if !defined(DBUS_TEST_SHARED)
static char dir[64], addr[128], b1sock[128];
static pid_t broker_pid;
#elif defined(DBUS_TEST_SHARED_DEFINE)
char dir[64], addr[128], b1sock[128];
pid_t broker_pid;
#else
extern char dir[64], addr[128], b1sock[128];
extern pid_t broker_pid;
#endif

/*
 * start the broker in /tmp/<tag>-<pid> (mode @mode: 0755 lets another uid
 * reach the sockets) with @policy (text, NULL: none) and up to two more
 * arguments (NULL: none); 0 once it is listening
 */
static inline int dbus_test_broker_start(const char *tag, mode_t mode,
					 const char *policy, const char *arg1,
					 const char *arg2)
{
	char exe[PATH_MAX], prog[PATH_MAX + 32], rfd[16], pol[96];
	const char *argv[16];
	int p[2], fd, n = 0;
	ssize_t len;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len < 0)
		return -errno;
	exe[len] = 0;
	snprintf(prog, sizeof(prog), "%s/bus1-dbus-broker", dirname(exe));
	if (access(prog, X_OK))
		snprintf(prog, sizeof(prog), "/usr/bin/bus1-dbus-broker");
	snprintf(dir, sizeof(dir), "/tmp/%s-%d", tag, (int)getpid());
	mkdir(dir, mode);
	chmod(dir, mode);
	snprintf(addr, sizeof(addr), "unix:path=%s/dbus.sock", dir);
	snprintf(b1sock, sizeof(b1sock), "%s/dbus.bus1", dir);
	snprintf(pol, sizeof(pol), "%s/policy", dir);
	if (policy) {
		fd = open(pol, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		len = write(fd, policy, strlen(policy));
		close(fd);
		if (len != (ssize_t)strlen(policy))
			return -EIO;
	}
	if (pipe(p) < 0)
		return -errno;
	snprintf(rfd, sizeof(rfd), "%d", p[1]);
	argv[n++] = prog;
	argv[n++] = "--address";
	argv[n++] = addr;
	argv[n++] = "--bus1-socket";
	argv[n++] = b1sock;
	argv[n++] = "--ready-fd";
	argv[n++] = rfd;
	argv[n++] = getenv("BROKER_VERBOSE") ? "-vvv" : "-v";
	if (policy) {
		argv[n++] = "-p";
		argv[n++] = pol;
	}
	if (arg1)
		argv[n++] = arg1;
	if (arg2)
		argv[n++] = arg2;
	argv[n] = NULL;
	fflush(NULL);
	broker_pid = fork();
	if (broker_pid < 0) {
		broker_pid = 0;
		return -errno;
	}
	if (!broker_pid) {
		close(p[0]);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	len = read(p[0], rfd, sizeof(rfd));
	close(p[0]);
	return len > 0 ? 0 : -EIO;
}

/*
 * SIGTERM to the broker: its exit status (128 + signal if it died of one).
 * Never kill(-1) or kill(0): under fault injection fork() fails, and
 * kill(-1, SIGTERM) as root ends every process (debug-failslab.sh with it).
 */
static inline int dbus_test_broker_stop(void)
{
	char pol[96];
	int status;

	if (broker_pid <= 0)
		return -ECHILD;
	kill(broker_pid, SIGTERM);
	if (waitpid(broker_pid, &status, 0) < 0)
		return -errno;
	broker_pid = 0;
	snprintf(pol, sizeof(pol), "%s/policy", dir);
	unlink(pol);
	rmdir(dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) :
				   128 + WTERMSIG(status);
}

static inline void unref(DBusMessage *m)
{
	if (m)
		dbus_message_unref(m);
}

static inline DBusMessage *reply_str(DBusMessage *call, const char *s)
{
	DBusMessage *r = dbus_message_new_method_return(call);

	if (r)
		dbus_message_append_args(r, DBUS_TYPE_STRING, &s,
					 DBUS_TYPE_INVALID);
	return r;
}

static inline bool is_str_reply(DBusMessage *r, const char *want)
{
	const char *s;

	return r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_METHOD_RETURN &&
	       dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &s,
				     DBUS_TYPE_INVALID) && !strcmp(s, want);
}

/* --- sd-bus messages of libbus1-dbus connections ------------------------ */

static inline sd_bus_message *sd_unref(sd_bus_message *m)
{
	return sd_bus_message_unref(m);
}

/* a method call on @bus's sd_bus, with one string argument if @arg */
static inline sd_bus_message *sd_call_new(struct b1d_bus *bus,
					  const char *dest, const char *path,
					  const char *iface,
					  const char *member, const char *arg)
{
	sd_bus_message *m = NULL;

	if (sd_bus_message_new_method_call(b1d_sd_bus(bus), &m, dest, path,
					   iface, member) < 0)
		return NULL;
	if (arg && sd_bus_message_append(m, "s", arg) < 0)
		return sd_bus_message_unref(m);
	return m;
}

/* a method call of the bus (org.freedesktop.DBus) */
static inline sd_bus_message *sd_driver(struct b1d_bus *bus,
					const char *member, const char *arg)
{
	return sd_call_new(bus, DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
			   DBUS_INTERFACE_DBUS, member, arg);
}

static inline sd_bus_message *sd_reply_str(sd_bus_message *call,
					   const char *s)
{
	sd_bus_message *r = NULL;

	if (sd_bus_message_new_method_return(call, &r) < 0)
		return NULL;
	if (sd_bus_message_append(r, "s", s) < 0)
		return sd_bus_message_unref(r);
	return r;
}

static inline sd_bus_message *sd_error_new(sd_bus_message *call,
					   const char *name, const char *text)
{
	sd_bus_message *r = NULL;

	sd_bus_message_new_method_errorf(call, &r, name, "%s", text);
	return r;
}

/* the first argument of @m if it is a string (read from the start), or NULL */
static inline const char *sd_str_arg(sd_bus_message *m)
{
	const char *s;

	if (!m || sd_bus_message_rewind(m, true) < 0 ||
	    sd_bus_message_read(m, "s", &s) <= 0)
		return NULL;
	return s;
}

static inline bool sd_is_str_reply(sd_bus_message *r, const char *want)
{
	const char *s;
	uint8_t t = 0;

	if (!r || sd_bus_message_get_type(r, &t) < 0 ||
	    t != SD_BUS_MESSAGE_METHOD_RETURN)
		return false;
	s = sd_str_arg(r);
	return s && !strcmp(s, want);
}

/* the error name of @r, NULL if it is no error */
static inline const char *sd_error_name(sd_bus_message *r)
{
	const sd_bus_error *e = r ? sd_bus_message_get_error(r) : NULL;

	return e ? e->name : NULL;
}

static inline bool sd_is_return(sd_bus_message *r)
{
	uint8_t t = 0;

	return r && sd_bus_message_get_type(r, &t) >= 0 &&
	       t == SD_BUS_MESSAGE_METHOD_RETURN;
}

#endif /* _BUS1_DBUS_TEST_H */
