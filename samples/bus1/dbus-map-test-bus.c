// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-map: the bus itself (dbus-bus.c, dbus-names.c) with fake
 * connections, its bookkeeping against models. Names requested, queued,
 * replaced and released and connections dying with hundreds of names,
 * every name's owner and every unique name checked after each step against
 * a model of the queues, and the per-uid connection count; the expected
 * replies (dbus-bus.c): calls, replies and deaths against a model, the
 * bus's list kept in deadline order, each call on its caller's and its
 * callee's list, and expiry taking exactly the calls whose time is up;
 * max_names_per_connection, and a queued connection's RequestName updating
 * its flags.
 */
#include "test-dbus-map.h"

/* --- names and their queues against a model ------------------------------ */

#define CONNS	24
#define NAMES	700
#define QMAX	CONNS

static struct bconn *conn[CONNS];
static char name[NAMES][32];
/* the model: each name's queue of connection slots, primary first */
static int queue[NAMES][QMAX], qlen[NAMES];
/*
 * dead connections and their unique names: freed only at the end, so that
 * an index entry a disconnect forgot is found (and fails a check) instead
 * of pointing into freed memory
 */
static struct bconn *dead[CONNS * 64];
static char gone[CONNS * 64][32];
static unsigned int n_gone, wrong;
static char first_wrong[256];

static void wrong_at(const char *what, const char *key, int step)
{
	if (!wrong++)
		snprintf(first_wrong, sizeof(first_wrong), "%s %.40s after step %d",
			 what, key, step);
}

static int q_find(int n, int c)
{
	for (int i = 0; i < qlen[n]; i++)
		if (queue[n][i] == c)
			return i;
	return -1;
}

static void q_remove(int n, int at)
{
	memmove(&queue[n][at], &queue[n][at + 1],
		(qlen[n] - at - 1) * sizeof(queue[n][0]));
	qlen[n]--;
}

/* RequestName as the D-Bus specification has it, for ALLOW_REPLACEMENT */
static void model_request(int n, int c, bool replace)
{
	int at = q_find(n, c);

	if (!qlen[n] || (at < 0 && !replace)) {
		queue[n][qlen[n]++] = c;
		return;
	}
	if (!replace || at == 0)
		return;
	if (at > 0)
		q_remove(n, at);
	memmove(&queue[n][1], &queue[n][0], qlen[n] * sizeof(queue[n][0]));
	queue[n][0] = c;
	qlen[n]++;
}

static void check_all(int step)
{
	unsigned int owned[CONNS] = { 0 };
	struct owner *o;
	int n, c;

	for (n = 0; n < NAMES; n++) {
		struct bconn *want = qlen[n] ? conn[queue[n][0]] : NULL;

		if (names_owner(&bus, name[n]) != want)
			wrong_at("owner of", name[n], step);
		if (!names_lookup(&bus, name[n]) != !qlen[n])
			wrong_at("lookup of", name[n], step);
		for (int i = 0; i < qlen[n]; i++)
			owned[queue[n][i]]++;
	}
	for (c = 0; c < CONNS; c++) {
		unsigned int k = 0;

		if (bus_find_unique(&bus, conn[c]->unique) != conn[c])
			wrong_at("unique name", conn[c]->unique,
				 step);
		for (o = conn[c]->owned; o; o = o->cnext, k++)
			if (o->conn != conn[c] ||
			    q_find(atoi(strrchr(o->name->name, 'N') + 1), c) < 0)
				wrong_at("owned list of",
					 conn[c]->unique, step);
		if (k != owned[c] || conn[c]->n_names != owned[c])
			wrong_at("names count of",
				 conn[c]->unique, step);
	}
	for (unsigned int i = 0; i < n_gone; i++)
		if (bus_find_unique(&bus, gone[i]))
			wrong_at("found the dead", gone[i], step);
}

static void kill_conn(int c)
{
	int n, at;

	for (n = 0; n < NAMES; n++) {
		at = q_find(n, c);
		if (at >= 0)
			q_remove(n, at);
	}
	bus_disconnect(conn[c]);
	if (n_gone < ARRAY_SIZE(gone)) {
		strcpy(gone[n_gone], conn[c]->unique);
		dead[n_gone++] = conn[c];
	} else {
		free(conn[c]);
	}
	conn[c] = conn_new(1000 + c % 3);
}

void test_bus(void)
{
	int step, n, c, r, fat = 0;
	unsigned int ok_req = 0;
	struct bconn *extra[8];

	bus_init(&bus);
	bus.limits.max_connections_per_user = CONNS;
	bus.limits.max_names_per_connection = NAMES;
	bus.limits.max_replies_per_connection = 8;
	for (n = 0; n < NAMES; n++)
		snprintf(name[n], sizeof(name[n]), "org.test.N%d", n);
	for (c = 0; c < CONNS; c++)
		conn[c] = conn_new(1000 + c % 3);
	CHECK(conn[CONNS - 1] && bus.n_conns == CONNS,
	      "%d connections registered", CONNS);

	/* one connection takes 500 names, the others queue behind some */
	for (n = 0; n < 500; n++) {
		r = names_request(conn[fat], name[n],
				  DBUS_NAME_FLAG_ALLOW_REPLACEMENT, NULL);
		ok_req += r == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER;
		model_request(n, fat, false);
		if (n % 7 == 0) {
			names_request(conn[1], name[n],
				      DBUS_NAME_FLAG_ALLOW_REPLACEMENT, NULL);
			model_request(n, 1, false);
		}
	}
	check_all(0);
	CHECK(ok_req == 500 && !wrong && conn[fat]->n_names == 500,
	      "500 names owned by one connection, 72 queued behind it%s%s",
	      wrong ? ": " : "", first_wrong);
	kill_conn(fat);
	check_all(0);
	CHECK(!wrong && names_owner(&bus, name[7]) == conn[1] &&
	      !names_lookup(&bus, name[1]),
	      "its death passes the queued names on and frees the others%s%s",
	      wrong ? ": " : "", first_wrong);

	for (step = 1; step <= 6000; step++) {
		n = rnd(NAMES);
		c = rnd(CONNS);
		switch (rnd(8)) {
		case 0: case 1: case 2:
			names_request(conn[c], name[n],
				      DBUS_NAME_FLAG_ALLOW_REPLACEMENT, NULL);
			model_request(n, c, false);
			break;
		case 3: case 4:
			names_request(conn[c], name[n],
				      DBUS_NAME_FLAG_ALLOW_REPLACEMENT |
				      DBUS_NAME_FLAG_REPLACE_EXISTING, NULL);
			model_request(n, c, true);
			break;
		case 5: case 6:
			names_release(conn[c], name[n], NULL);
			if (q_find(n, c) >= 0)
				q_remove(n, q_find(n, c));
			break;
		default:
			if (rnd(8))
				break;
			kill_conn(c);
			if (!conn[c])
				wrong_at("reconnect of", "a connection", step);
			break;
		}
		if (step % 50 == 0)
			check_all(step);
	}
	CHECK(!wrong, "6,000 random requests, replacements, releases, deaths: %s%s%s",
	      "every owner, unique name and count as modelled",
	      wrong ? ": " : "", first_wrong);
	CHECK(n_gone > 10, "%u connections died and were replaced", n_gone);

	/* per-uid limit: uid 1000 has 8 connections of the 24 */
	bus.limits.max_connections_per_user = 10;
	extra[0] = conn_new(1000);
	extra[1] = conn_new(1000);
	extra[2] = conn_new(1000);
	CHECK(extra[0] && extra[1] && !extra[2],
	      "uid 1000: 10 connections allowed, the 11th refused");
	bus_disconnect(extra[0]);
	free(extra[0]);
	extra[0] = conn_new(1000);
	extra[3] = conn_new(2000);
	CHECK(extra[0] && extra[3],
	      "a disconnect frees a place of its uid; other uids are not counted");
	bus_disconnect(extra[0]);
	bus_disconnect(extra[1]);
	bus_disconnect(extra[3]);
	free(extra[0]);
	free(extra[1]);
	free(extra[3]);
	for (c = 0; c < CONNS; c++) {
		bus_disconnect(conn[c]);
		free(conn[c]);
	}
	CHECK(!bus.names && !bus.by_name.n && !bus.by_unique.n &&
	      !bus.users.n && !bus.n_conns,
	      "everybody gone: no name, unique name or uid left in the index");
	for (unsigned int i = 0; i < n_gone; i++)
		free(dead[i]);
	bus_destroy(&bus);
}

/* --- expected replies ----------------------------------------------------- */

#define PMAX	4	/* max_replies_per_connection */

/* the model: every call waiting for its reply */
static struct { int caller, callee; __u32 serial; } pm[PCONNS * PMAX];
static unsigned int n_pm, p_serial, refused[PCONNS];

static int pm_count(int caller)
{
	unsigned int i, n = 0;

	for (i = 0; i < n_pm; i++)
		n += pm[i].caller == caller;
	return n;
}

static void pm_drop(unsigned int i)
{
	pm[i] = pm[--n_pm];
}

static void p_call(int a, int b)
{
	DBusMessage *m = dbus_message_new_method_call(pconn[b]->unique, "/",
						      "org.test.I", "M");

	dbus_message_set_serial(m, ++p_serial);
	if (pm_count(a) < PMAX)
		pm[n_pm++] = (typeof(pm[0])){ a, b, p_serial };
	else
		refused[a]++;
	bus_route(pconn[a], m);
	dbus_message_unref(m);
}

static void p_reply(int b, int a, __u32 serial)
{
	DBusMessage *r = dbus_message_new(DBUS_MESSAGE_TYPE_METHOD_RETURN);

	dbus_message_set_destination(r, pconn[a]->unique);
	dbus_message_set_reply_serial(r, serial);
	bus_route(pconn[b], r);
	dbus_message_unref(r);
}

static int p_index(struct bconn *c)
{
	for (int i = 0; i < PCONNS; i++)
		if (pconn[i] == c)
			return i;
	return -1;
}

/* the bus's three lists against the model and each other */
static void p_check(const char *when, int step)
{
	unsigned int n = 0, i, calls[PCONNS] = {}, answers[PCONNS] = {};
	struct fifo_node *fn, **tail = &bus.pending.head;
	struct pending *p;
	__u64 last = 0;
	int a, b;

	for (fn = bus.pending.head; fn; fn = fn->next) {
		p = fifo_item(fn, struct pending, by_deadline);
		if (fn->pprev != tail)
			wrong_at("a back link of the bus's list", when, step);
		a = p_index(p->caller);
		b = p_index(p->callee);
		if (p->deadline_ms < last)
			wrong_at("deadline order broken", when, step);
		last = p->deadline_ms;
		for (i = 0; i < n_pm; i++)
			if (pm[i].caller == a && pm[i].callee == b &&
			    pm[i].serial == p->serial)
				break;
		if (i == n_pm)
			wrong_at("a call the model does not have", when, step);
		tail = &fn->next;
		n++;
	}
	if (n != n_pm || tail != bus.pending.tail)
		wrong_at("count or tail of the bus's list", when, step);
	for (i = 0; i < PCONNS; i++) {
		for (p = pconn[i]->calls; p; p = p->cnext)
			calls[i] += p->caller == pconn[i];
		for (p = pconn[i]->answers; p; p = p->anext)
			answers[i] += p->callee == pconn[i];
	}
	for (i = 0; i < PCONNS; i++) {
		unsigned int want_answers = 0;

		for (unsigned int j = 0; j < n_pm; j++)
			want_answers += pm[j].callee == (int)i;
		if (calls[i] != (unsigned int)pm_count(i) ||
		    pconn[i]->n_pending != calls[i] ||
		    answers[i] != want_answers)
			wrong_at("a connection's calls or answers", when, step);
	}
}

void test_pending(void)
{
	unsigned int want_no_reply[PCONNS] = {}, i, n_expired = 0, ok = 1;
	struct { struct bconn *caller; __u64 deadline; } snap[PCONNS * PMAX];
	__u64 before, after;
	int step, a, b, t = 0, n_snap;

	bus_init(&bus);
	bus.verbose = -1;	/* a line per dead caller: the model counts them */
	bus.limits.max_connections_per_user = 64;
	bus.limits.max_replies_per_connection = PMAX;
	bus.limits.reply_timeout_ms = 3600 * 1000;
	for (a = 0; a < PCONNS; a++)
		pconn[a] = conn_new(1000);
	wrong = 0;
	for (step = 1; step <= 4000; step++) {
		a = rnd(PCONNS);
		b = rnd(PCONNS);
		switch (rnd(10)) {
		case 0: case 1: case 2: case 3:
			p_call(a, b);	/* a to itself too */
			break;
		case 4: case 5: case 6:
			if (!n_pm)
				break;
			i = rnd(n_pm);
			p_reply(pm[i].callee, pm[i].caller, pm[i].serial);
			pm_drop(i);
			break;
		case 7:
			p_reply(b, a, p_serial + 1);	/* nobody waits for it */
			break;
		default:
			if (rnd(4))
				break;
			/* a dies: its calls vanish, its callers get NoReply */
			for (i = n_pm; i-- > 0;) {
				if (pm[i].caller == a) {
					pm_drop(i);
				} else if (pm[i].callee == a) {
					want_no_reply[pm[i].caller]++;
					pm_drop(i);
				}
			}
			bus_disconnect(pconn[a]);
			free(pconn[a]);
			pconn[a] = conn_new(1000);
			no_reply[a] = 0;
			want_no_reply[a] = 0;
			limits_exceeded[a] = 0;
			refused[a] = 0;
			break;
		}
		if (bus_expire(&bus) == 0)
			wrong_at("a call due", "within the hour", step);
		p_check("random step", step);
	}
	for (a = 0; a < PCONNS; a++)
		ok &= no_reply[a] == want_no_reply[a] &&
		      limits_exceeded[a] == refused[a];
	CHECK(!wrong && ok, "4,000 calls, replies, stray replies and deaths: %s%s%s",
	      "the bus's calls as modelled, in deadline order, NoReply to the callers of the dead, LimitsExceeded past max_replies_per_connection",
	      wrong ? ": " : "", first_wrong);

	/* expiry: three batches 150 ms apart, a 400 ms timeout */
	for (a = 0; a < PCONNS; a++) {
		bus_disconnect(pconn[a]);
		free(pconn[a]);
	}
	n_pm = 0;
	bus.limits.reply_timeout_ms = 400;
	for (a = 0; a < PCONNS; a++) {
		pconn[a] = conn_new(1000);
		no_reply[a] = 0;
	}
	for (int batch = 0; batch < 3; batch++) {
		for (a = 0; a < PCONNS; a++)
			p_call(a, (a + 1 + batch) % PCONNS);
		usleep(150 * 1000);
	}
	p_check("three batches", 0);
	for (int round = 0; round < 4 && bus.pending.head; round++) {
		n_snap = 0;
		for (struct fifo_node *fn = bus.pending.head; fn;
		     fn = fn->next) {
			struct pending *p = fifo_item(fn, struct pending,
						      by_deadline);

			snap[n_snap++] = (typeof(snap[0])){ p->caller,
							    p->deadline_ms };
		}
		before = bus_now_ms();
		t = bus_expire(&bus);
		after = bus_now_ms();
		/* due before the call: gone; due after it: still there */
		for (int k = 0; k < n_snap; k++) {
			bool there = false;

			for (struct fifo_node *fn = bus.pending.head; fn;
			     fn = fn->next) {
				struct pending *p = fifo_item(fn, struct pending,
							      by_deadline);

				there |= p->caller == snap[k].caller &&
					 p->deadline_ms == snap[k].deadline;
			}
			if ((snap[k].deadline <= before && there) ||
			    (snap[k].deadline > after && !there))
				wrong_at("expiry took the wrong calls", "round", round);
			n_expired += !there;
		}
		if (bus.pending.head && (t < 0 || t > 400))
			wrong_at("the time to the next deadline", "round", round);
		usleep(200 * 1000);
	}
	for (a = 0; a < PCONNS; a++)
		n_expired -= no_reply[a];
	CHECK(!wrong && !bus.pending.head &&
	      bus.pending.tail == &bus.pending.head &&
	      !n_expired && bus_expire(&bus) < 0,
	      "expiry takes the calls whose time is up, oldest first, each caller gets its NoReply%s%s",
	      wrong ? ": " : "", first_wrong);
	for (a = 0; a < PCONNS; a++) {
		ok &= !pconn[a]->calls && !pconn[a]->answers &&
		      !pconn[a]->n_pending;
		bus_disconnect(pconn[a]);
		free(pconn[a]);
		pconn[a] = NULL;
	}
	CHECK(ok, "no call left on any connection");
	bus_destroy(&bus);
}

/* --- max_names_per_connection and the flags of a queued connection ------- */

/*
 * a connection at max_names_per_connection: the next name is refused with
 * LimitsExceeded (queueing counts as owning), a name it has is still
 * granted, a release frees a place (dbus.rst "Limits")
 */
void test_names_limit(void)
{
	static const char * const nm[] = {
		"org.test.L0", "org.test.L1", "org.test.L2", "org.test.L3"
	};
	struct bconn *a, *b;
	DBusError err;
	int r[4], again, queued, freed;
	bool none;

	bus_init(&bus);
	bus.limits.max_connections_per_user = 4;
	bus.limits.max_names_per_connection = 3;
	a = conn_new(1000);
	b = conn_new(1000);
	if (!a || !b) {
		CHECK(false, "two connections for max_names_per_connection");
		return;
	}
	dbus_error_init(&err);
	names_request(b, nm[2], 0, NULL);
	r[0] = names_request(a, nm[0], 0, NULL);
	r[1] = names_request(a, nm[1], 0, NULL);
	r[2] = names_request(a, nm[2], 0, NULL);	/* queued behind b */
	r[3] = names_request(a, nm[3], 0, &err);
	none = !names_lookup(&bus, nm[3]);
	again = names_request(a, nm[0], 0, NULL);
	names_release(a, nm[1], NULL);
	freed = names_request(a, nm[3], 0, NULL);
	queued = names_request(a, nm[2], 0, NULL);
	CHECK(r[0] == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER &&
	      r[1] == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER &&
	      r[2] == DBUS_REQUEST_NAME_REPLY_IN_QUEUE && r[3] == -1 &&
	      dbus_error_has_name(&err, DBUS_ERROR_LIMITS_EXCEEDED) &&
	      none &&
	      again == DBUS_REQUEST_NAME_REPLY_ALREADY_OWNER &&
	      freed == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER &&
	      queued == DBUS_REQUEST_NAME_REPLY_IN_QUEUE && a->n_names == 3,
	      "max_names_per_connection 3: two names and a queue place, the 4th name LimitsExceeded (%d, %s), its own names still granted, a release frees a place",
	      r[3], err.name ? err.name : "no error");
	dbus_error_free(&err);
	bus_disconnect(a);
	bus_disconnect(b);
	free(a);
	free(b);
	bus_destroy(&bus);
}

/*
 * RequestName by a connection already in the queue updates its flags (the
 * D-Bus specification, dbus-daemon): queued without flags, then again with
 * ALLOW_REPLACEMENT, it can be replaced once it is the primary owner
 */
void test_queued_flags(void)
{
	const char *n = "org.test.Q";
	struct bconn *a, *b, *c;
	int r[4];

	bus_init(&bus);
	bus.limits.max_connections_per_user = 8;
	bus.limits.max_names_per_connection = 8;
	a = conn_new(1000);
	b = conn_new(1000);
	c = conn_new(1000);
	if (!a || !b || !c) {
		CHECK(false, "three connections for the queue's flags");
		return;
	}
	r[0] = names_request(a, n, 0, NULL);
	r[1] = names_request(b, n, 0, NULL);
	r[2] = names_request(b, n, DBUS_NAME_FLAG_ALLOW_REPLACEMENT, NULL);
	names_release(a, n, NULL);
	r[3] = names_request(c, n, DBUS_NAME_FLAG_REPLACE_EXISTING, NULL);
	CHECK(r[0] == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER &&
	      r[1] == DBUS_REQUEST_NAME_REPLY_IN_QUEUE &&
	      r[2] == DBUS_REQUEST_NAME_REPLY_IN_QUEUE &&
	      r[3] == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER &&
	      names_owner(&bus, n) == c,
	      "queued, then queued again with ALLOW_REPLACEMENT: replaced once primary (%d %d %d %d)",
	      r[0], r[1], r[2], r[3]);
	bus_disconnect(a);
	bus_disconnect(b);
	bus_disconnect(c);
	free(a);
	free(b);
	free(c);
	bus_destroy(&bus);
}
