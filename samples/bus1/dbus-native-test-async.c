// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-native, asynchronous calls (b1d_call_async()): replies reach
 * their own callbacks from b1d_process() only, through a door and through
 * the bus, beside a synchronous call; a call without reply ends by its
 * timeout, which b1d_wait() wakes up for; a callee's death ends its calls
 * with NoReply behind the replies it sent before.
 */
#define TAP_SHARED
#define DBUS_TEST_SHARED
#include "test-dbus-native.h"

#define ASYNC_NAME	"org.bus1.Async"

struct got {
	int n;			/* callbacks run */
	int order;		/* when the last ran, of all of them */
	char what[128];		/* the reply's string or error name */
};

static int n_callbacks;

static void on_reply(struct b1d_bus *bus, sd_bus_message *r, void *u)
{
	struct got *g = u;

	g->n++;
	g->order = ++n_callbacks;
	snprintf(g->what, sizeof(g->what), "%s",
		 sd_error_name(r) ?: sd_str_arg(r) ?: "(a return)");
}

static int call_async(struct b1d_bus *bus, const char *dest,
		      const char *member, const char *arg, int timeout_ms,
		      struct got *g)
{
	sd_bus_message *m = sd_call_new(bus, dest, SVC_PATH, SVC_IFACE, member,
					arg);
	int r;

	r = m ? b1d_call_async(bus, m, timeout_ms, on_reply, g) : -ENOMEM;
	sd_unref(m);
	return r;
}

/* b1d_wait() and b1d_process() until @n callbacks ran, at most @ms */
static bool run_until(struct b1d_bus *bus, int n, int ms)
{
	long long end = test_now_ms() + ms;

	while (n_callbacks < n && test_now_ms() < end)
		if (b1d_wait(bus, (int)(end - test_now_ms())) > 0)
			while (n_callbacks < n && b1d_process(bus) > 0)
				;
	return n_callbacks >= n;
}

static void async_owner(int fd)
{
	native_service(fd, ASYNC_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE, false);
}

static bool got_is(const struct got *g, const char *what)
{
	return g->n == 1 && !strcmp(g->what, what);
}

void native_async(struct b1d_bus *cl)
{
	struct got g[3] = {};
	sd_bus_message *m, *r;
	char line[128] = "";
	long long ms;
	int before;
	pid_t pid;
	int rs;

	n_callbacks = 0;
	rs = call_async(cl, SVC_NAME, "Echo", "one", -1, &g[0]) ?:
	     call_async(cl, SVC_NAME, "Echo", "two", -1, &g[1]);
	before = n_callbacks;
	run_until(cl, 2, 10000);
	CHECK(!rs && !before && got_is(&g[0], "echo:one") &&
	      got_is(&g[1], "echo:two"),
	      "two async calls to a native service: no callback before b1d_process(), each its reply (%d, %d: %s, %s)",
	      rs, before, g[0].what, g[1].what);

	memset(g, 0, sizeof(g));
	n_callbacks = 0;
	m = sd_driver(cl, "GetNameOwner", SVC_NAME);
	rs = m ? b1d_call_async(cl, m, -1, on_reply, &g[0]) : -ENOMEM;
	sd_unref(m);
	run_until(cl, 1, 10000);
	CHECK(!rs && g[0].n == 1 && !strncmp(g[0].what, ":1.", 3),
	      "an async call through the bus: GetNameOwner(%s) = %s", SVC_NAME,
	      g[0].what);

	memset(g, 0, sizeof(g));
	n_callbacks = 0;
	rs = call_async(cl, SVC_NAME, "Echo", "a", -1, &g[0]);
	r = call_unref(cl, sd_call_new(cl, SVC_NAME, SVC_PATH, SVC_IFACE,
				       "Echo", "b"), 10000);
	before = n_callbacks;
	run_until(cl, 1, 10000);
	CHECK(!rs && sd_is_str_reply(r, "echo:b") && !before &&
	      got_is(&g[0], "echo:a"),
	      "b1d_call() while an async call waits: its own reply, the async one later from b1d_process() (%s)",
	      g[0].what);
	sd_unref(r);

	memset(g, 0, sizeof(g));
	n_callbacks = 0;
	ms = test_now_ms();
	rs = call_async(cl, SVC_NAME, "Hang", NULL, 300, &g[0]);
	run_until(cl, 1, 10000);
	ms = test_now_ms() - ms;
	CHECK(!rs && got_is(&g[0], SD_BUS_ERROR_NO_REPLY) && ms >= 250 &&
	      ms < 5000,
	      "an async call without reply: NoReply after its 300 ms, b1d_wait() woke for it (%s after %lld ms)",
	      g[0].what, ms);

	memset(g, 0, sizeof(g));
	n_callbacks = 0;
	pid = spawn_reporter(async_owner, line, sizeof(line));
	rs = pid > 0 && atoi(line) == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER ?
	     0 : -ENOENT;
	if (!rs)
		rs = call_async(cl, ASYNC_NAME, "Echo", "x", -1, &g[0]) ?:
		     call_async(cl, ASYNC_NAME, "Die", NULL, -1, &g[1]);
	run_until(cl, 2, 10000);
	CHECK(!rs && got_is(&g[0], "echo:x") &&
	      got_is(&g[1], SD_BUS_ERROR_NO_REPLY) && g[0].order == 1,
	      "a callee that replies, then dies: its reply, then NoReply (%s, %s)",
	      g[0].what, g[1].what);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}
