// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: activation. The policy file's "activate NAME PROGRAM
 * [ARGS]" lines (the format bus1-broker uses, broker-policy.c) name the
 * services that are started on demand: by StartServiceByName or by a
 * method call to a name without owner (unless NO_AUTO_START). The program
 * gets DBUS_STARTER_ADDRESS and DBUS_STARTER_BUS_TYPE=system; calls wait
 * until it owns the name and are then routed as if just sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dbus-bus.h"

#define ACT_MAX_WAITERS		64	/* per name being started */
#define ACT_MAX_PENDING		64	/* names being started at once */

static struct activation *act_find(struct bus *b, const char *name)
{
	struct activation *a;

	for (a = b->activations; a; a = a->next)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

static void act_unlink(struct bus *b, struct activation *a)
{
	struct activation **pp;

	for (pp = &b->activations; *pp != a; pp = &(*pp)->next)
		;
	*pp = a->next;
}

/* fail every waiter with error, and free a */
static void act_fail(struct bus *b, struct activation *a, const char *error,
		     const char *text)
{
	struct waiter *w;

	act_unlink(b, a);
	while ((w = a->waiters)) {
		a->waiters = w->next;
		bus_reply_error(w->conn, w->msg, error, "%s", text);
		dbus_message_unref(w->msg);
		free(w);
	}
	free(a->name);
	free(a);
}

static pid_t spawn(struct bus *b, const struct policy_act *pa)
{
	sigset_t all;
	pid_t pid;
	int fd;

	pid = fork();
	if (pid)
		return pid;
	/* the broker blocks signals for its signalfd: not so the service */
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	setsid();
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		dup2(fd, 0);
	/* what the service prints goes to the broker's log */
	dup2(2, 1);
	if (setenv("DBUS_STARTER_ADDRESS", b->address, 1) ||
	    setenv("DBUS_STARTER_BUS_TYPE", "system", 1))
		_exit(127);
	execv(pa->argv[0], pa->argv);
	_exit(127);
}

int activation_start(struct bconn *c, const char *name, DBusMessage *msg,
		     bool start_reply, DBusError *err)
{
	struct bus *b = c->bus;
	const struct policy_act *pa = policy_activation(&b->policy, name);
	struct activation *a = act_find(b, name);
	unsigned int n = 0;
	struct waiter *w;

	if (!pa) {
		dbus_set_error(err, DBUS_ERROR_SERVICE_UNKNOWN,
			       "The name %s was not provided by any .service files",
			       name);
		return -1;
	}
	if (!a) {
		for (a = b->activations; a; a = a->next)
			n++;
		if (n >= ACT_MAX_PENDING) {
			dbus_set_error(err, DBUS_ERROR_LIMITS_EXCEEDED,
				       "The maximum number of pending activations has been reached, activation of %s failed",
				       name);
			return -1;
		}
		a = calloc(1, sizeof(*a));
		if (a)
			a->name = strdup(name);
		if (!a || !a->name) {
			free(a);
			dbus_set_error(err, DBUS_ERROR_NO_MEMORY, "Out of memory");
			return -1;
		}
		a->pid = spawn(b, pa);
		if (a->pid < 0) {
			dbus_set_error(err, DBUS_ERROR_SPAWN_FORK_FAILED,
				       "Failed to fork for %s: %s", name,
				       strerror(errno));
			free(a->name);
			free(a);
			return -1;
		}
		a->deadline_ms = bus_now_ms() + b->limits.activation_timeout_ms;
		a->next = b->activations;
		b->activations = a;
		bus_log(b, 1, "activating %s: started %s as pid %d (for %s)",
			name, pa->argv[0], (int)a->pid, c->unique);
	}
	if (a->n_waiters >= ACT_MAX_WAITERS) {
		dbus_set_error(err, DBUS_ERROR_LIMITS_EXCEEDED,
			       "Too many calls wait for the activation of %s",
			       name);
		return -1;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		dbus_set_error(err, DBUS_ERROR_NO_MEMORY, "Out of memory");
		return -1;
	}
	w->conn = c;
	w->msg = dbus_message_ref(msg);
	w->start_reply = start_reply;
	w->next = a->waiters;
	a->waiters = w;
	a->n_waiters++;
	return 0;
}

void activation_name_acquired(struct bus *b, const char *name)
{
	struct activation *a = act_find(b, name);
	struct waiter *w, *rev = NULL;
	__u32 ok = DBUS_START_REPLY_SUCCESS;
	DBusMessage *r;

	if (!a)
		return;
	act_unlink(b, a);
	/* waiters were pushed in front: route them in arrival order */
	while ((w = a->waiters)) {
		a->waiters = w->next;
		w->next = rev;
		rev = w;
	}
	while ((w = rev)) {
		rev = w->next;
		if (!w->start_reply) {
			bus_route(w->conn, w->msg);
		} else if (!dbus_message_get_no_reply(w->msg)) {
			r = dbus_message_new_method_return(w->msg);
			if (r && dbus_message_set_sender(r, BUS_DRIVER_NAME) &&
			    dbus_message_append_args(r, DBUS_TYPE_UINT32, &ok,
						     DBUS_TYPE_INVALID)) {
				bus_monitor(b, r);
				bus_deliver(w->conn, r);
			}
			if (r)
				dbus_message_unref(r);
		}
		dbus_message_unref(w->msg);
		free(w);
	}
	bus_log(b, 1, "activation of %s done", name);
	free(a->name);
	free(a);
}

void activation_reap(struct bus *b)
{
	struct activation *a;
	char text[320];
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (a = b->activations; a && a->pid != pid; a = a->next)
			;
		if (!a)
			continue;
		if (WIFSIGNALED(status)) {
			snprintf(text, sizeof(text),
				 "Process %s received signal %d", a->name,
				 WTERMSIG(status));
			bus_log(b, 0, "activation of %s failed: %s", a->name,
				text);
			act_fail(b, a, DBUS_ERROR_SPAWN_CHILD_SIGNALED, text);
		} else {
			snprintf(text, sizeof(text),
				 "Process %s exited with status %d", a->name,
				 WEXITSTATUS(status));
			bus_log(b, 0, "activation of %s failed: %s", a->name,
				text);
			act_fail(b, a, DBUS_ERROR_SPAWN_CHILD_EXITED, text);
		}
	}
}

int activation_expire(struct bus *b, __u64 now)
{
	struct activation *a, *next;
	__u64 first = UINT64_MAX;
	char text[320];

	for (a = b->activations; a; a = next) {
		next = a->next;
		if (a->deadline_ms > now) {
			if (a->deadline_ms < first)
				first = a->deadline_ms;
			continue;
		}
		if (a->pid > 0)
			kill(a->pid, SIGTERM);
		snprintf(text, sizeof(text), "Activation of %s timed out",
			 a->name);
		bus_log(b, 0, "%s", text);
		act_fail(b, a, DBUS_ERROR_TIMED_OUT, text);
	}
	return first == UINT64_MAX ? -1 : (int)(first - now);
}

void activation_drop_conn(struct bconn *c)
{
	struct activation *a;
	struct waiter **pp, *w;

	for (a = c->bus->activations; a; a = a->next) {
		pp = &a->waiters;
		while ((w = *pp)) {
			if (w->conn != c) {
				pp = &w->next;
				continue;
			}
			*pp = w->next;
			a->n_waiters--;
			dbus_message_unref(w->msg);
			free(w);
		}
	}
}
