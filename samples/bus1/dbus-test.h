/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _BUS1_DBUS_TEST_H
#define _BUS1_DBUS_TEST_H

/*
 * Helpers shared by the D-Bus tests (test-dbus-native, test-dbus-policy,
 * test-dbus-hostile): a private bus1-dbus-broker (the one beside the test
 * binary, else /usr/bin's) with a socket and a bus1 bootstrap in a
 * directory of its own, and the small libdbus message helpers they use.
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

static char dir[64], addr[128], b1sock[128];
static pid_t broker_pid;

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

#endif /* _BUS1_DBUS_TEST_H */
