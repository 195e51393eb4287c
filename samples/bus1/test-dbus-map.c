// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the broker's index (dbus-map.c) and of what the broker
 * finds through it (dbus.rst "Lookups"): the table against a plain array
 * under random adds and deletes across many grows, then the bus itself
 * (dbus-bus.c, dbus-names.c) with fake connections: names requested,
 * queued, replaced and released and connections dying with hundreds of
 * names, every name's owner and every unique name checked after each step
 * against a model of the queues, and the per-uid connection count; and the
 * expected replies (dbus-bus.c): calls, replies and deaths against a model,
 * the bus's list kept in deadline order, each call on its caller's and its
 * callee's list, and expiry taking exactly the calls whose time is up;
 * max_names_per_connection, a queued connection's RequestName updating its
 * flags, and path_namespace and argNpath of match rules (dbus-match.c).
 * Needs no bus1 device and no socket.
 *
 * The bus driver's answers and the name signals are checked as text: what
 * the bus sends to the connections in logged[] (log_sent()), after calls
 * through bus_receive() as a socket client's would go.
 */
#include <stdint.h>
#include "test-lib.h"
#include "dbus-bus.h"

/* --- the string hash ------------------------------------------------------ */

/* SipHash-2-4 reference vectors (key 00..0f, message 00..len-1), as in lib/test_siphash.c */
static const __u64 sip_vectors[64] = {
	0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL,
	0x85676696d7fb7e2dULL, 0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL,
	0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL, 0x93f5f5799a932462ULL,
	0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
	0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL,
	0xa129ca6149be45e5ULL, 0x3f2acc7f57c29bdbULL, 0x699ae9f52cbe4794ULL,
	0x4bc1b3f0968dd39cULL, 0xbb6dc91da77961bdULL, 0xbed65cf21aa2ee98ULL,
	0xd0f2cbb02e3b67c7ULL, 0x93536795e3a33e88ULL, 0xa80c038ccd5ccec8ULL,
	0xb8ad50c6f649af94ULL, 0xbce192de8a85b8eaULL, 0x17d835b85bbb15f3ULL,
	0x2f2e6163076bcfadULL, 0xde4daaaca71dc9a5ULL, 0xa6a2506687956571ULL,
	0xad87a3535c49ef28ULL, 0x32d892fad841c342ULL, 0x7127512f72f27cceULL,
	0xa7f32346f95978e3ULL, 0x12e0b01abb051238ULL, 0x15e034d40fa197aeULL,
	0x314dffbe0815a3b4ULL, 0x027990f029623981ULL, 0xcadcd4e59ef40c4dULL,
	0x9abfd8766a33735cULL, 0x0e3ea96b5304a7d0ULL, 0xad0c42d6fc585992ULL,
	0x187306c89bc215a9ULL, 0xd4a60abcf3792b95ULL, 0xf935451de4f21df2ULL,
	0xa9538f0419755787ULL, 0xdb9acddff56ca510ULL, 0xd06c98cd5c0975ebULL,
	0xe612a3cb9ecba951ULL, 0xc766e62cfcadaf96ULL, 0xee64435a9752fe72ULL,
	0xa192d576b245165aULL, 0x0a8787bf8ecb74b2ULL, 0x81b3e73d20b49b6fULL,
	0x7fa8220ba3b2eceaULL, 0x245731c13ca42499ULL, 0xb78dbfaf3a8d83bdULL,
	0xea1ad565322a1a0bULL, 0x60e61c23a3795013ULL, 0x6606d7e446282b93ULL,
	0x6ca4ecb15c5f91e1ULL, 0x9f626da15c9625f3ULL, 0xe51b38608ef25f57ULL,
	0x958a324ceb064572ULL
};

static void test_siphash(void)
{
	const __u64 key[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
	const __u64 other[2] = { 1, 2 };
	unsigned char msg[64];
	unsigned int i, bad = 0, same = 0;

	for (i = 0; i < 64; i++)
		msg[i] = i;
	for (i = 0; i < 64; i++)
		bad += map_siphash24(msg, i, key) != sip_vectors[i];
	CHECK(!bad, "SipHash-2-4 gives the 64 reference vectors (%u wrong)",
	      bad);
	for (i = 0; i < 64; i++)
		same += map_siphash24(msg, i, key) ==
			map_siphash24(msg, i, other);
	CHECK(!same, "another key gives other hashes (%u equal)", same);
}

/* --- the table against an array ------------------------------------------ */

#define KEYS	4096

struct item {
	struct map_entry e;
	char key[24];
	bool in;
};

static unsigned long long rnd_state = 88172645463325252ULL;

static unsigned int rnd(unsigned int n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state % n;
}

static void test_map(void)
{
	static struct item s[KEYS], u[KEYS];
	struct item absent = { .e.key.str = "org.x" };
	struct map ms, mu;
	unsigned int i, k, bad_s = 0, bad_u = 0, n_in = 0, steps;

	map_init(&ms, true);
	map_init(&mu, false);
	for (i = 0; i < KEYS; i++) {
		snprintf(s[i].key, sizeof(s[i].key), "org.x.n%u", i);
		s[i].e.key.str = s[i].key;
		/* handles of bus1: IDs with flag bits, few low bits used */
		u[i].e.key.u64 = ((__u64)i << 12) | 0x3;
	}
	CHECK(!map_find_str(&ms, "x") && !map_find_u64(&mu, 0) &&
	      !map_del(&ms, &s[0].e), "empty tables find nothing");
	for (steps = 0; steps < 40000; steps++) {
		k = rnd(KEYS);
		if (!s[k].in) {
			map_add(&ms, &s[k].e);
			map_add(&mu, &u[k].e);
			n_in++;
		} else if (!map_del(&ms, &s[k].e) || !map_del(&mu, &u[k].e)) {
			bad_s++;
		} else {
			n_in--;
		}
		s[k].in = !s[k].in;
		u[k].in = s[k].in;
		if (steps % 997)
			continue;
		for (i = 0; i < KEYS; i++) {
			struct map_entry *e = map_find_str(&ms, s[i].key);

			bad_s += e != (s[i].in ? &s[i].e : NULL);
			e = map_find_u64(&mu, u[i].e.key.u64);
			bad_u += e != (u[i].in ? &u[i].e : NULL);
		}
	}
	CHECK(!bad_s && !bad_u && ms.n == n_in && mu.n == n_in,
	      "40,000 random adds/deletes: every key found iff present (%u, %u wrong; %zu buckets)",
	      bad_s, bad_u, ms.n_buckets);
	CHECK(ms.n_buckets >= n_in && ms.n_buckets <= 2 * KEYS,
	      "the table grew with its entries (%zu entries, %zu buckets)",
	      ms.n, ms.n_buckets);
	CHECK(!map_find_str(&ms, "org.x.n4096") && !map_find_u64(&mu, 1) &&
	      !map_del(&ms, &absent.e),
	      "absent keys are not found, deleting one changes nothing");
	map_destroy(&ms);
	map_destroy(&mu);
}

/* --- the bus with fake connections --------------------------------------- */

#define CONNS	24
#define NAMES	700
#define QMAX	CONNS

/* the connections of test_pending(), and the NoReply each was sent */
#define PCONNS	6
static struct bconn *pconn[PCONNS];
static unsigned int no_reply[PCONNS], limits_exceeded[PCONNS];

static void log_sent(struct bconn *c, DBusMessage *m);

static bool fake_send(struct bconn *c, DBusMessage *m)
{
	log_sent(c, m);
	for (int i = 0; i < PCONNS; i++) {
		if (pconn[i] != c)
			continue;
		no_reply[i] += dbus_message_is_error(m, DBUS_ERROR_NO_REPLY);
		limits_exceeded[i] += dbus_message_is_error(m,
						DBUS_ERROR_LIMITS_EXCEEDED);
	}
	return true;
}

static long fake_outgoing(struct bconn *c)
{
	return 0;
}

static bool fake_fds(struct bconn *c)
{
	return true;
}

static void fake_close(struct bconn *c)
{
}

static const struct bconn_ops fake_ops = {
	.send = fake_send,
	.outgoing_size = fake_outgoing,
	.can_pass_fds = fake_fds,
	.close = fake_close,
};

static struct bus bus;
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

static struct bconn *conn_new(uid_t uid)
{
	struct bconn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	bconn_init(&bus, c, &fake_ops, NULL);
	if (!bus_user_allowed(&bus, c, uid)) {
		c->closing = true;
		bus_disconnect(c);
		free(c);
		return NULL;
	}
	bus_register(c);
	return c;
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

static void test_bus(void)
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

static void test_pending(void)
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

/* --- max_names_per_connection and match rules ---------------------------- */

/*
 * a connection at max_names_per_connection: the next name is refused with
 * LimitsExceeded (queueing counts as owning), a name it has is still
 * granted, a release frees a place (dbus.rst "Limits")
 */
static void test_names_limit(void)
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

/* does @rule match a signal on @path whose first argument is @arg0? */
static int rule_on(const char *rule, const char *path, int type,
		   const char *arg0)
{
	DBusMessage *m = dbus_message_new_signal(path, "org.test.I", "S");
	struct match *r = match_parse(rule, NULL);
	bool args = m && (!arg0 || dbus_message_append_args(m, type, &arg0,
							     DBUS_TYPE_INVALID));
	int ok = -1;

	if (args && r)
		ok = match_matches(&bus, r, m, NULL, NULL);
	if (r)
		match_free(r);
	if (m)
		dbus_message_unref(m);
	return ok;
}

/*
 * path_namespace and argNpath (dbus.rst "Match rules", the D-Bus
 * specification): a namespace is its path and the paths below it, not a
 * string prefix; argNpath matches if equal or if either one ends in '/'
 * and is a prefix of the other
 */
static void test_match_paths(void)
{
	static const struct {
		const char *rule, *path, *arg0;
		int type, want;
	} t[] = {
		{ "path_namespace='/org/a'", "/org/a", NULL, 0, 1 },
		{ "path_namespace='/org/a'", "/org/a/b", NULL, 0, 1 },
		{ "path_namespace='/org/a'", "/org/ab", NULL, 0, 0 },
		{ "path_namespace='/org/a'", "/org", NULL, 0, 0 },
		{ "path_namespace='/'", "/org/ab", NULL, 0, 1 },
		{ "arg0path='/aa/bb/'", "/", "/aa/bb/", DBUS_TYPE_STRING, 1 },
		{ "arg0path='/aa/bb/'", "/", "/aa/bb/cc", DBUS_TYPE_STRING, 1 },
		{ "arg0path='/aa/bb/'", "/", "/", DBUS_TYPE_STRING, 1 },
		{ "arg0path='/aa/bb/'", "/", "/", DBUS_TYPE_OBJECT_PATH, 1 },
		{ "arg0path='/aa/bb/'", "/", "/aa", DBUS_TYPE_STRING, 0 },
		{ "arg0path='/aa/bb/'", "/", "/aa/b", DBUS_TYPE_STRING, 0 },
		{ "arg0path='/aa/bb'", "/", "/aa/bb/cc", DBUS_TYPE_STRING, 0 },
		{ "arg0path='/aa/bb'", "/", "/aa/", DBUS_TYPE_STRING, 1 },
	};
	unsigned int i, bad = 0;
	char first[160] = "";
	int got;

	bus_init(&bus);
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		got = rule_on(t[i].rule, t[i].path, t[i].type, t[i].arg0);
		if (got == t[i].want)
			continue;
		if (!bad++)
			snprintf(first, sizeof(first), ": %s on %s, arg0 %s: %d",
				 t[i].rule, t[i].path, t[i].arg0 ?: "none",
				 got);
	}
	CHECK(!bad, "path_namespace and arg0path: %u cases as specified (%u wrong%s)",
	      (unsigned int)ARRAY_SIZE(t), bad, first);
	bus_destroy(&bus);
}

/*
 * RequestName by a connection already in the queue updates its flags (the
 * D-Bus specification, dbus-daemon): queued without flags, then again with
 * ALLOW_REPLACEMENT, it can be replaced once it is the primary owner
 */
static void test_queued_flags(void)
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

/* --- the driver and the name signals, on fake connections ---------------- */

/*
 * What the bus sends to the connections in logged[], as text: "<i> <what>"
 * per message, <i> its index in logged[], <what> "return(args)", the error
 * name or "Member(args)" for a signal; args flattened, arrays in [], dict
 * entries in {}.
 */
static struct bconn *logged[4];
static char sent[2048];
static __u32 call_serial;

static void fmt_args(DBusMessageIter *it, char *buf, size_t size)
{
	DBusMessageIter sub;
	const char *s;
	dbus_uint32_t u;
	dbus_bool_t b;
	bool first = true;
	int t;
	size_t n;

	while ((t = dbus_message_iter_get_arg_type(it)) != DBUS_TYPE_INVALID) {
		n = strlen(buf);
		if (!first)
			n += snprintf(buf + n, size - n, ",");
		first = false;
		switch (t) {
		case DBUS_TYPE_STRING:
		case DBUS_TYPE_OBJECT_PATH:
			dbus_message_iter_get_basic(it, &s);
			snprintf(buf + n, size - n, "%s", s);
			break;
		case DBUS_TYPE_UINT32:
			dbus_message_iter_get_basic(it, &u);
			snprintf(buf + n, size - n, "%u", u);
			break;
		case DBUS_TYPE_BOOLEAN:
			dbus_message_iter_get_basic(it, &b);
			snprintf(buf + n, size - n, "%s", b ? "true" : "false");
			break;
		case DBUS_TYPE_ARRAY:
		case DBUS_TYPE_DICT_ENTRY:
		case DBUS_TYPE_VARIANT:
			dbus_message_iter_recurse(it, &sub);
			if (t != DBUS_TYPE_VARIANT)
				snprintf(buf + n, size - n, "%c",
					 t == DBUS_TYPE_ARRAY ? '[' : '{');
			fmt_args(&sub, buf, size);
			n = strlen(buf);
			if (t != DBUS_TYPE_VARIANT)
				snprintf(buf + n, size - n, "%c",
					 t == DBUS_TYPE_ARRAY ? ']' : '}');
			break;
		default:
			snprintf(buf + n, size - n, "?");
		}
		dbus_message_iter_next(it);
	}
}

static void log_sent(struct bconn *c, DBusMessage *m)
{
	DBusMessageIter it;
	size_t n = strlen(sent);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(logged) && logged[i] != c; i++)
		;
	if (i == ARRAY_SIZE(logged))
		return;
	if (dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_ERROR) {
		snprintf(sent + n, sizeof(sent) - n, "%u %s;", i,
			 dbus_message_get_error_name(m));
		return;
	}
	snprintf(sent + n, sizeof(sent) - n, "%u %s(", i,
		 dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_SIGNAL ?
		 dbus_message_get_member(m) : "return");
	if (dbus_message_iter_init(m, &it))
		fmt_args(&it, sent, sizeof(sent));
	n = strlen(sent);
	snprintf(sent + n, sizeof(sent) - n, ");");
}

/* @c sends a method call to the bus driver, its arguments as libdbus takes them */
static void call_driver(struct bconn *c, const char *iface, const char *member,
			int type, ...)
{
	DBusMessage *m = dbus_message_new_method_call(BUS_DRIVER_NAME,
						      BUS_DRIVER_PATH, iface,
						      member);
	va_list ap;

	va_start(ap, type);
	if (m && dbus_message_append_args_valist(m, type, ap)) {
		dbus_message_set_serial(m, ++call_serial);
		bus_receive(c, m);
	}
	va_end(ap);
	if (m)
		dbus_message_unref(m);
}

/* one call of the bus's @member per name of @names, each its one argument */
static void call_driver_each(struct bconn *c, const char *member,
			     const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		call_driver(c, DBUS_INTERFACE_DBUS, member, DBUS_TYPE_STRING,
			    &names[i], DBUS_TYPE_INVALID);
}

/* a fresh bus with @n connections in logged[] (the first: a watcher) */
static bool logged_bus(int n)
{
	int i;

	bus_init(&bus);
	bus.limits.max_connections_per_user = 8;
	bus.limits.max_names_per_connection = 8;
	bus.limits.max_matches_per_connection = 8;
	memset(logged, 0, sizeof(logged));
	for (i = 0; i < n; i++) {
		logged[i] = conn_new(1000);
		if (!logged[i])
			return false;
	}
	if (match_add(logged[0], "type='signal',member='NameOwnerChanged'",
		      NULL) < 0)
		return false;
	sent[0] = 0;
	return true;
}

static void logged_bus_end(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(logged); i++) {
		if (!logged[i])
			continue;
		bus_disconnect(logged[i]);
		free(logged[i]);
		logged[i] = NULL;
	}
	bus_destroy(&bus);
}

/*
 * ReleaseName by a connection that is only queued: RELEASED, and nobody
 * gets a signal, the primary owner is the same (the D-Bus specification);
 * the primary owner's release then: NameLost, NameOwnerChanged
 */
static void test_release_queued(void)
{
	const char *n = "org.test.R";
	char want[512];
	bool queued;

	if (!logged_bus(3)) {
		CHECK(false, "three connections for ReleaseName");
		logged_bus_end();
		return;
	}
	names_request(logged[1], n, 0, NULL);
	names_request(logged[2], n, 0, NULL);
	sent[0] = 0;
	call_driver(logged[2], DBUS_INTERFACE_DBUS, "ReleaseName",
		    DBUS_TYPE_STRING, &n, DBUS_TYPE_INVALID);
	queued = !strcmp(sent, "2 return(1);") &&
		 names_owner(&bus, n) == logged[1];
	if (queued) {
		sent[0] = 0;
		call_driver(logged[1], DBUS_INTERFACE_DBUS, "ReleaseName",
			    DBUS_TYPE_STRING, &n, DBUS_TYPE_INVALID);
	}
	snprintf(want, sizeof(want),
		 "1 NameLost(%s);0 NameOwnerChanged(%s,%s,);1 return(1);", n,
		 n, logged[1]->unique);
	CHECK(queued && !strcmp(sent, want),
	      "ReleaseName of a queued connection: RELEASED, no signal; of the primary owner: NameLost, NameOwnerChanged (%s)",
	      sent);
	logged_bus_end();
}

/*
 * a connection that goes away: NameOwnerChanged(name, it, "") for its
 * name, then NameOwnerChanged(unique, unique, "") (dbus-daemon)
 */
static void test_disconnect_signals(void)
{
	const char *n = "org.test.D";
	char want[512];
	struct bconn *a;

	if (!logged_bus(2)) {
		CHECK(false, "two connections for a disconnect");
		logged_bus_end();
		return;
	}
	a = logged[1];
	logged[1] = NULL;
	names_request(a, n, 0, NULL);
	sent[0] = 0;
	bus_disconnect(a);
	snprintf(want, sizeof(want),
		 "0 NameOwnerChanged(%s,%s,);0 NameOwnerChanged(%s,%s,);", n,
		 a->unique, a->unique, a->unique);
	CHECK(!strcmp(sent, want),
	      "a disconnect: NameOwnerChanged of its name, then of its unique name, old owner set, new empty (%s)",
	      sent);
	free(a);
	logged_bus_end();
}

/*
 * Hello: the reply with the unique name, NameOwnerChanged(u, "", u) to
 * those who watch, then NameAcquired(u) to the new connection
 */
static void test_hello(void)
{
	struct bconn *h = calloc(1, sizeof(*h));
	const char *u;
	char want[512];

	if (!h || !logged_bus(1)) {
		CHECK(false, "a connection for Hello");
		free(h);
		logged_bus_end();
		return;
	}
	bconn_init(&bus, h, &fake_ops, NULL);
	logged[1] = h;
	bus_user_allowed(&bus, h, 1000);
	call_driver(h, DBUS_INTERFACE_DBUS, "Hello", DBUS_TYPE_INVALID);
	u = h->unique;
	snprintf(want, sizeof(want),
		 "1 return(%s);0 NameOwnerChanged(%s,,%s);1 NameAcquired(%s);",
		 u, u, u, u);
	CHECK(h->registered && u[0] && !strcmp(sent, want),
	      "Hello: the reply, NameOwnerChanged to a watcher, NameAcquired to the connection (%s)",
	      sent);
	logged_bus_end();
}

/*
 * ListQueuedOwners: the queue, primary owner first; a unique name is its
 * own queue; a name nobody owns or queues for, and a unique name nobody
 * has, are NameHasNoOwner (dbus-daemon)
 */
static void test_queued_owners(void)
{
	const char *n = "org.test.L", *none = "org.test.Nobody",
		   *gone = ":1.999999", *u;
	char want[512];

	if (!logged_bus(3)) {
		CHECK(false, "three connections for ListQueuedOwners");
		logged_bus_end();
		return;
	}
	names_request(logged[1], n, 0, NULL);
	names_request(logged[2], n, 0, NULL);
	sent[0] = 0;
	u = logged[2]->unique;
	call_driver_each(logged[1], "ListQueuedOwners",
			 (const char *const[]){ n, u, none, gone }, 4);
	snprintf(want, sizeof(want),
		 "1 return([%s,%s]);1 return([%s]);1 %s;1 %s;",
		 logged[1]->unique, u, u, DBUS_ERROR_NAME_HAS_NO_OWNER,
		 DBUS_ERROR_NAME_HAS_NO_OWNER);
	CHECK(!strcmp(sent, want),
	      "ListQueuedOwners of a queue, a unique name, an unowned and a gone name (%s)",
	      sent);
	logged_bus_end();
}

/* NameHasOwner of well-known and unique names, with and without owner */
static void test_name_has_owner(void)
{
	const char *n = "org.test.H", *none = "org.test.Nobody",
		   *gone = ":1.999999", *drv = BUS_DRIVER_NAME, *u;

	if (!logged_bus(3)) {
		CHECK(false, "three connections for NameHasOwner");
		logged_bus_end();
		return;
	}
	names_request(logged[1], n, 0, NULL);
	sent[0] = 0;
	u = logged[2]->unique;
	call_driver_each(logged[1], "NameHasOwner",
			 (const char *const[]){ n, none, u, gone, drv }, 5);
	CHECK(!strcmp(sent, "1 return(true);1 return(false);1 return(true);"
		      "1 return(false);1 return(true);"),
	      "NameHasOwner of an owned and an unowned name, a live and a gone unique name, the bus (%s)",
	      sent);
	logged_bus_end();
}

/*
 * org.freedesktop.DBus.Properties of the bus: GetAll has both properties,
 * Features (none) and Interfaces (Monitoring), Get each; other interfaces
 * have none
 */
static void test_properties(void)
{
	const char *dbus_if = DBUS_INTERFACE_DBUS, *other = "org.test.I",
		   *feat = "Features", *ifs = "Interfaces";

	if (!logged_bus(2)) {
		CHECK(false, "a connection for Properties");
		logged_bus_end();
		return;
	}
	call_driver(logged[1], DBUS_INTERFACE_PROPERTIES, "GetAll",
		    DBUS_TYPE_STRING, &dbus_if, DBUS_TYPE_INVALID);
	call_driver(logged[1], DBUS_INTERFACE_PROPERTIES, "Get",
		    DBUS_TYPE_STRING, &dbus_if, DBUS_TYPE_STRING, &feat,
		    DBUS_TYPE_INVALID);
	call_driver(logged[1], DBUS_INTERFACE_PROPERTIES, "Get",
		    DBUS_TYPE_STRING, &dbus_if, DBUS_TYPE_STRING, &ifs,
		    DBUS_TYPE_INVALID);
	call_driver(logged[1], DBUS_INTERFACE_PROPERTIES, "GetAll",
		    DBUS_TYPE_STRING, &other, DBUS_TYPE_INVALID);
	CHECK(!strcmp(sent, "1 return([{Features,[]},{Interfaces,["
		      BUS_MONITORING_IFACE "]}]);1 return([]);1 return(["
		      BUS_MONITORING_IFACE "]);"
		      "1 " DBUS_ERROR_UNKNOWN_INTERFACE ";"),
	      "Properties: GetAll and Get of Features and Interfaces, GetAll of another interface (%s)",
	      sent);
	logged_bus_end();
}

/* argN compares the Nth argument, argNpath too (dbus.rst "Match rules") */
static void test_match_argn(void)
{
	static const struct {
		const char *rule;
		int want;
	} t[] = {
		{ "arg0='a'", 1 },
		{ "arg1='/b'", 1 },
		{ "arg1='a'", 0 },
		{ "arg2='c'", 1 },
		{ "arg2='/b'", 0 },
		{ "arg0='a',arg2='c'", 1 },
		{ "arg0='a',arg2='a'", 0 },
		{ "arg1path='/'", 1 },
		{ "arg2path='/'", 0 },
		{ "arg3='c'", 0 },
	};
	static const char * const args[] = { "a", "/b", "c" };
	DBusMessage *m;
	struct match *r;
	unsigned int i, bad = 0;
	char first[160] = "";
	int got;

	bus_init(&bus);
	m = dbus_message_new_signal("/", "org.test.I", "S");
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &args[0],
					    DBUS_TYPE_STRING, &args[1],
					    DBUS_TYPE_STRING, &args[2],
					    DBUS_TYPE_INVALID)) {
		CHECK(false, "a signal with three arguments");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		r = match_parse(t[i].rule, NULL);
		got = r ? match_matches(&bus, r, m, NULL, NULL) : -1;
		match_free(r);
		if (got == t[i].want)
			continue;
		if (!bad++)
			snprintf(first, sizeof(first), ": %s: %d", t[i].rule,
				 got);
	}
	CHECK(!bad, "argN and argNpath on a signal (a, /b, c): %u cases (%u wrong%s)",
	      (unsigned int)ARRAY_SIZE(t), bad, first);
	dbus_message_unref(m);
	bus_destroy(&bus);
}

int main(void)
{
	tap_begin("broker index (dbus-map) and the bus's lookups");
	tap_plan(27);
	test_siphash();
	test_map();
	test_bus();
	test_pending();
	test_names_limit();
	test_match_paths();
	test_queued_flags();
	test_release_queued();
	test_disconnect_signals();
	test_hello();
	test_queued_owners();
	test_name_has_owner();
	test_properties();
	test_match_argn();
	return tap_end();
}
