// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the broker's index (dbus-map.c) and of what the broker
 * finds through it (dbus.rst "Lookups"): one binary of three files, which
 * share test-dbus-map.h. Needs no bus1 device and no socket.
 *
 * This file: the index itself, SipHash-2-4 against its reference vectors
 * and the table against a plain array under random adds and deletes across
 * many grows; what every check runs on, the bus (set up and torn down by
 * each test), its fake connections and the random numbers; and main(),
 * which runs the checks in order. dbus-map-test-bus.c has the bus's
 * bookkeeping against models (names and their queues, expected replies,
 * the names limit), dbus-map-test-driver.c what the bus sends, as text (the
 * driver's answers, the name signals), and the match rules.
 */
#define TAP_SHARED_DEFINE	/* the TAP counters (test-lib.h) */
#include "test-dbus-map.h"

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

unsigned int rnd(unsigned int n)
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

/* the connections of test_pending(), and the NoReply each was sent */
struct bconn *pconn[PCONNS];
unsigned int no_reply[PCONNS], limits_exceeded[PCONNS];

struct bconn *refusing;
bool refusing_gone;

static bool fake_send(struct bconn *c, DBusMessage *m)
{
	if (c == refusing) {
		c->gone = refusing_gone;
		return false;
	}
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

const struct bconn_ops fake_ops = {
	.send = fake_send,
	.outgoing_size = fake_outgoing,
	.can_pass_fds = fake_fds,
	.close = fake_close,
};

struct bus bus;

struct bconn *conn_new(uid_t uid)
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

int main(void)
{
	tap_begin("broker index (dbus-map) and the bus's lookups");
	tap_plan(28);
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
	test_call_refused();
	test_queued_owners();
	test_name_has_owner();
	test_properties();
	test_match_argn();
	return tap_end();
}
