// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-native, asynchronous calls (b1d_call_async()): replies reach
 * their own callbacks from b1d_process() only, through a door and through
 * the bus, beside a synchronous call; a call without reply ends by its
 * timeout, which b1d_wait() wakes up for; a callee's death ends its calls
 * with NoReply behind the replies it sent before. b1d_call_cancel(): a
 * cancelled call's callback never runs, for its reply, its timeout or its
 * callee's death; b1d_free() runs none either.
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
		      struct got *g, uint64_t *cookiep)
{
	sd_bus_message *m = sd_call_new(bus, dest, SVC_PATH, SVC_IFACE, member,
					arg);
	int r;

	r = m ? b1d_call_async(bus, m, timeout_ms, on_reply, g, cookiep) :
		-ENOMEM;
	sd_unref(m);
	return r;
}

/*
 * b1d_wait() and b1d_process() until @n callbacks ran, at most @ms: the
 * messages and timeouts b1d_process() handled
 */
static int run_until(struct b1d_bus *bus, int n, int ms)
{
	long long end = test_now_ms() + ms;
	int handled = 0;

	while (n_callbacks < n && test_now_ms() < end)
		if (b1d_wait(bus, (int)(end - test_now_ms())) > 0)
			while (n_callbacks < n && b1d_process(bus) > 0)
				handled++;
	return handled;
}

static void async_owner(int fd)
{
	native_service(fd, ASYNC_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE, false);
}

static bool got_is(const struct got *g, const char *what)
{
	return g->n == 1 && !strcmp(g->what, what);
}

/* --- b1d_call_cancel() ---------------------------------------------------- */

/* wait up to @ms for child @pid to exit, then kill it: true if it exited */
static bool reap(pid_t pid, int ms)
{
	long long end = test_now_ms() + ms;

	while (test_now_ms() < end) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return true;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return false;
}

/* cancel at once: no callback for a reply or a timeout that come later */
static void cancel_early(struct b1d_bus *cl)
{
	struct got g[2] = {};
	uint64_t ck[2] = {};
	int rs, c0 = 1, c1 = 1, t, handled, woke;

	n_callbacks = 0;
	rs = call_async(cl, SVC_NAME, "Echo", "late", 300, &g[0], &ck[0]) ?:
	     call_async(cl, SVC_NAME, "Hang", NULL, 300, &g[1], &ck[1]);
	if (!rs) {
		c0 = b1d_call_cancel(cl, ck[0]);
		c1 = b1d_call_cancel(cl, ck[1]);
	}
	t = b1d_get_timeout(cl);
	/* the Echo's reply comes, the 300 ms of both pass */
	handled = run_until(cl, INT_MAX, 800);
	woke = b1d_wait(cl, 0);
	CHECK(!rs && !c0 && !c1 && t == -1 && !n_callbacks && !woke &&
	      !b1d_queued(cl),
	      "b1d_call_cancel() of an Echo and a Hang (300 ms) at once: 0, 0; b1d_get_timeout() %d; in 800 ms of b1d_wait()/b1d_process() (%d messages handled, the late reply dropped) no callback (%d); then nothing to wait for (%d)",
	      t, handled, n_callbacks, woke);
}

/* cancel twice, after the end, unknown; a call sent again while it waits */
static void cancel_twice(struct b1d_bus *cl)
{
	struct got g[2] = {};
	uint64_t ck[2] = {}, ck2 = 0;
	int rs, c[4], e[3];
	sd_bus_message *m;

	n_callbacks = 0;
	rs = call_async(cl, SVC_NAME, "Echo", "done", -1, &g[0], &ck[0]);
	run_until(cl, 1, 10000);
	c[0] = b1d_call_cancel(cl, ck[0]);
	rs = rs ?: call_async(cl, SVC_NAME, "Hang", NULL, -1, &g[1], &ck[1]);
	c[1] = b1d_call_cancel(cl, ck[1]);
	c[2] = b1d_call_cancel(cl, ck[1]);
	c[3] = b1d_call_cancel(cl, 0);
	m = sd_call_new(cl, SVC_NAME, SVC_PATH, SVC_IFACE, "Hang", NULL);
	e[0] = m ? b1d_call_async(cl, m, -1, on_reply, &g[1], &ck2) : -ENOMEM;
	e[1] = m ? b1d_call_async(cl, m, -1, on_reply, &g[1], NULL) : -ENOMEM;
	e[2] = b1d_call_cancel(cl, ck2);
	sd_unref(m);
	CHECK(!rs && got_is(&g[0], "echo:done") && c[0] == -ENOENT && !c[1] &&
	      c[2] == -ENOENT && c[3] == -ENOENT && !e[0] && e[1] == -EEXIST &&
	      !e[2] && n_callbacks == 1,
	      "b1d_call_cancel(): of an ended call %d, of a waiting one %d, again %d, of cookie 0 %d; a call sent again while it waits %d (%d)",
	      c[0], c[1], c[2], c[3], e[1], e[0]);
}

/*
 * cancel the calls of a callee that died: one before its death is known,
 * one whose NoReply is queued (a b1d_call() received the NODE_DESTROY)
 */
static void cancel_dead(struct b1d_bus *cl)
{
	struct got g[2] = {};
	uint64_t ck[2] = {};
	char line[128] = "";
	int rs, c0 = 1, c1 = 1, q0, q1;
	sd_bus_message *r;
	bool died = false;
	pid_t pid;

	n_callbacks = 0;
	pid = spawn_reporter(async_owner, line, sizeof(line));
	rs = pid > 0 && atoi(line) == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER ?
	     0 : -ENOENT;
	if (!rs)
		rs = call_async(cl, ASYNC_NAME, "Hang", NULL, 2000, &g[0],
				&ck[0]) ?:
		     call_async(cl, ASYNC_NAME, "Die", NULL, 2000, &g[1],
				&ck[1]);
	if (pid > 0)
		died = reap(pid, rs ? 0 : 10000);
	if (!rs)
		c0 = b1d_call_cancel(cl, ck[0]);
	r = call_unref(cl, sd_call_new(cl, SVC_NAME, SVC_PATH, SVC_IFACE,
				       "Echo", "z"), 10000);
	q0 = b1d_queued(cl);
	if (!rs)
		c1 = b1d_call_cancel(cl, ck[1]);
	q1 = b1d_queued(cl);
	/* past both calls' 2 s */
	run_until(cl, INT_MAX, 2500);
	CHECK(!rs && died && !c0 && !c1 && q1 == q0 - 1 &&
	      sd_is_str_reply(r, "echo:z") && !n_callbacks,
	      "a callee dies with two calls: cancelled before its death was received %d, and with its NoReply queued %d (queue %d -> %d); no callback in 2.5 s (%d: %s, %s)",
	      c0, c1, q0, q1, n_callbacks, g[0].what, g[1].what);
	sd_unref(r);
}

/* b1d_free() with calls waiting: one's reply queued, one past its time */
static void free_pending(struct b1d_bus *cl)
{
	struct b1d_bus *bus = NULL;
	struct got g[2] = {};
	sd_bus_message *r;
	int rs, q = 0;

	n_callbacks = 0;
	rs = b1d_connect(b1sock, &bus);
	if (!rs)
		rs = call_async(bus, SVC_NAME, "Echo", "gone", -1, &g[0],
				NULL) ?:
		     call_async(bus, SVC_NAME, "Hang", NULL, 100, &g[1], NULL);
	usleep(300 * 1000);
	/* (its wait for the reply queues the Echo's) */
	r = bus ? call_unref(bus, sd_call_new(bus, SVC_NAME, SVC_PATH,
					      SVC_IFACE, "Echo", "sync"),
			     10000) : NULL;
	if (bus)
		q = b1d_queued(bus);
	b1d_free(bus);
	CHECK(!rs && sd_is_str_reply(r, "echo:sync") && q >= 1 && !n_callbacks,
	      "b1d_free() with an Echo's reply queued (%d queued) and a Hang past its 100 ms: no callback (%d)",
	      q, n_callbacks);
	sd_unref(r);
}

static void native_cancel(struct b1d_bus *cl)
{
	cancel_early(cl);
	cancel_twice(cl);
	cancel_dead(cl);
	free_pending(cl);
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
	rs = call_async(cl, SVC_NAME, "Echo", "one", -1, &g[0], NULL) ?:
	     call_async(cl, SVC_NAME, "Echo", "two", -1, &g[1], NULL);
	before = n_callbacks;
	run_until(cl, 2, 10000);
	CHECK(!rs && !before && got_is(&g[0], "echo:one") &&
	      got_is(&g[1], "echo:two"),
	      "two async calls to a native service: no callback before b1d_process(), each its reply (%d, %d: %s, %s)",
	      rs, before, g[0].what, g[1].what);

	memset(g, 0, sizeof(g));
	n_callbacks = 0;
	m = sd_driver(cl, "GetNameOwner", SVC_NAME);
	rs = m ? b1d_call_async(cl, m, -1, on_reply, &g[0], NULL) : -ENOMEM;
	sd_unref(m);
	run_until(cl, 1, 10000);
	CHECK(!rs && g[0].n == 1 && !strncmp(g[0].what, ":1.", 3),
	      "an async call through the bus: GetNameOwner(%s) = %s", SVC_NAME,
	      g[0].what);

	memset(g, 0, sizeof(g));
	n_callbacks = 0;
	rs = call_async(cl, SVC_NAME, "Echo", "a", -1, &g[0], NULL);
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
	rs = call_async(cl, SVC_NAME, "Hang", NULL, 300, &g[0], NULL);
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
		rs = call_async(cl, ASYNC_NAME, "Echo", "x", -1, &g[0], NULL) ?:
		     call_async(cl, ASYNC_NAME, "Die", NULL, -1, &g[1], NULL);
	run_until(cl, 2, 10000);
	CHECK(!rs && got_is(&g[0], "echo:x") &&
	      got_is(&g[1], SD_BUS_ERROR_NO_REPLY) && g[0].order == 1,
	      "a callee that replies, then dies: its reply, then NoReply (%s, %s)",
	      g[0].what, g[1].what);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	native_cancel(cl);
}
