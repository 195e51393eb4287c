// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the broker wire format (encoder/decoder, name rules) and of
 * the policy parser. Needs no bus1 device.
 */
#include "broker-test.h"

static int parse_policy(const char *text, struct policy *p, char *err)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	if (!f)
		return -errno;
	policy_init(p);
	err[0] = 0;
	r = policy_parse(p, f, err, 256);
	fclose(f);
	return r;
}

static void test_codec(void)
{
	unsigned char buf[64], raw[64];
	char s[16], big[256];
	struct b1b_cursor c;
	struct b1b_hdr h;
	struct b1b_buf b;
	int len;

	b1b_buf_init(&b, buf, sizeof(buf));
	b1b_put_hdr(&b, B1B_OP_REQUEST_NAME, 77, 0);
	b1b_put_str(&b, "org.x");
	b1b_put_u64(&b, 0x1122334455667788ULL);
	b1b_put_u32(&b, 9);
	b1b_put_u8(&b, 5);
	len = b1b_finish(&b);
	CHECK(len == 16 + 2 + 5 + 8 + 4 + 1, "encoded length %d", len);
	CHECK(buf[0] == B1B_MAGIC && buf[1] == B1B_VERSION &&
	      buf[2] == B1B_OP_REQUEST_NAME && buf[3] == 0,
	      "header bytes: magic, version, opcode, flags");
	CHECK_R(b1b_parse_hdr(buf, len, &h, &c), 0, "parse header");
	CHECK(h.serial == 77 && h.body_len == (__u32)len - 16 && !h.status,
	      "serial and body length round-trip");
	b1b_get_str(&c, s, sizeof(s));
	CHECK(!strcmp(s, "org.x"), "string round-trips");
	CHECK(b1b_get_u64(&c) == 0x1122334455667788ULL, "u64 round-trips");
	CHECK(b1b_get_u32(&c) == 9 && b1b_get_u8(&c) == 5,
	      "u32 and u8 round-trip");
	CHECK_R(b1b_end(&c), 0, "body fully consumed");
	b1b_get_u8(&c);
	CHECK_R(b1b_end(&c), -EBADMSG, "reading past the end is an error");

	CHECK_R(b1b_parse_hdr(buf, 15, &h, &c), -EBADMSG, "short header");
	CHECK_R(b1b_parse_hdr(buf, len - 1, &h, &c), -EBADMSG,
		"body_len larger than the message");
	memcpy(raw, buf, len);
	raw[0] = 0;
	CHECK_R(b1b_parse_hdr(raw, len, &h, &c), -EBADMSG, "bad magic");
	raw[0] = B1B_MAGIC;
	raw[1] = 2;
	CHECK_R(b1b_parse_hdr(raw, len, &h, &c), -EPROTONOSUPPORT,
		"unknown version");
	CHECK(h.serial == 77, "serial is salvaged for the error reply");

	/* string length beyond the body, too long for the buffer, NUL */
	b1b_buf_init(&b, buf, sizeof(buf));
	b1b_put_hdr(&b, 1, 1, 0);
	b1b_put_str(&b, "abcdefgh");
	len = b1b_finish(&b);
	b1b_parse_hdr(buf, len, &h, &c);
	b1b_get_str(&c, s, 4);
	CHECK_R(b1b_end(&c), -ENAMETOOLONG, "string longer than allowed");
	buf[16] = 200;
	b1b_parse_hdr(buf, len, &h, &c);
	b1b_get_str(&c, big, sizeof(big));
	CHECK_R(b1b_end(&c), -EBADMSG, "string length beyond the body");
	buf[16] = 8;
	buf[20] = 0;
	b1b_parse_hdr(buf, len, &h, &c);
	b1b_get_str(&c, s, sizeof(s));
	CHECK_R(b1b_end(&c), -EINVAL, "embedded NUL rejected");

	b1b_buf_init(&b, buf, 20);
	b1b_put_hdr(&b, 1, 1, 0);
	b1b_put_str(&b, "abcdefgh");
	CHECK_R(b1b_finish(&b), -EMSGSIZE, "encoder overflow is reported");
}

static void test_names(void)
{
	static const char * const good[] = {
		"org.bus1.Echo", "a.b", "x-y.z_1", "A.B.C.D",
	};
	static const char * const bad[] = {
		"", "nodot", ".org.x", "org.x.", "org..x", "org.1x", "1org.x",
		"org.x y", "org.x/y", "org.ü",
	};
	char longname[300];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		CHECK(b1b_name_valid(good[i]), "valid name '%s'", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(!b1b_name_valid(bad[i]), "invalid name '%s'", bad[i]);
	memset(longname, 'a', sizeof(longname));
	longname[1] = '.';
	longname[255] = 0;
	CHECK(b1b_name_valid(longname), "255 characters allowed");
	longname[255] = 'a';
	longname[256] = 0;
	CHECK(!b1b_name_valid(longname), "256 characters refused");
}

/* a destination owning exactly the name ctx */
static bool owns(void *ctx, const char *pattern)
{
	return ctx && policy_pattern_match(pattern, ctx);
}

static void test_send_rules(void)
{
	struct policy p;
	char err[256];
	int r;

	r = parse_policy("allow-own * *\n"
			 "allow-send org.pub.* *\n"
			 "deny-send org.root.* 1000\n"
			 "allow-send * 0\n"
			 "default-send deny\n", &p, err);
	CHECK(!r && p.n_rules == 4 && p.n_send_rules == 3 &&
	      !p.default_send_allow && p.default_allow,
	      "send rules parse: 3 of 4 rules, default-send deny (%s)",
	      r ? err : "ok");
	CHECK(policy_may_own(&p, "org.root.X", 1000),
	      "send rules do not decide ownership");
	CHECK(policy_may_send(&p, 1000, owns, "org.pub.A") &&
	      !policy_may_send(&p, 1000, owns, "org.root.A") &&
	      policy_may_send(&p, 0, owns, "org.root.A") &&
	      !policy_may_send(&p, 1000, owns, NULL) &&
	      !policy_may_send(&p, 5, owns, "org.other"),
	      "send: first matching rule by uid and owned name, then the default");
	policy_clear(&p);
	r = parse_policy("deny-send org.x.Secret 1000\n"
			 "allow-send org.x.* *\n"
			 "default-send deny\n", &p, err);
	CHECK(!r && !policy_may_send(&p, 1000, owns, "org.x.Secret") &&
	      policy_may_send(&p, 1000, owns, "org.x.Other") &&
	      policy_may_send(&p, 0, owns, "org.x.Secret"),
	      "send: the first matching rule wins, not a later one (deny before allow)");
	policy_clear(&p);
	r = parse_policy("deny-own org.x *\n", &p, err);
	CHECK(!r && policy_may_send(&p, 7, owns, "org.x"),
	      "without send rules everybody may send");
	policy_clear(&p);
	r = parse_policy("default-send deny\n", &p, err);
	CHECK(!r && !policy_may_send(&p, 7, owns, "org.x") &&
	      !policy_may_send(&p, 0, owns, NULL),
	      "default-send deny without send rules: nobody may send");
	policy_clear(&p);
}

static void test_policy_parser(void)
{
	static const struct {
		const char *text;
		const char *what;
	} bad[] = {
		{ "own org.x *\n", "unknown keyword" },
		{ "allow-own org.x\n", "missing uid" },
		{ "allow-own org.x 12ab\n", "bad uid" },
		{ "allow-own no_dot *\n", "bad pattern" },
		{ "default-own maybe\n", "bad default" },
		{ "activate org.x\n", "activate without program" },
		{ "activate org.x bin/x\n", "relative program" },
		{ "activate org.x /a\nactivate org.x /b\n", "duplicate" },
		{ "allow-send org.x\n", "send rule without uid" },
		{ "deny-send :1.5 *\n", "send rule naming a unique name" },
		{ "default-send no\n", "bad default-send" },
	};
	struct policy p;
	char err[256];
	size_t i;
	int r;

	r = parse_policy("# comment\n\n"
			 "allow-own org.ok.* 1000   # trailing comment\n"
			 "deny-own org.ok.Secret *\n"
			 "deny-own org.root.* *\n"
			 "allow-own org.any *\n"
			 "default-own deny\n"
			 "activate org.act.One /usr/bin/prog -x --y\n", &p, err);
	CHECK_R(r, 0, "valid policy parses");
	CHECK(p.n_rules == 4 && p.n_acts == 1 && !p.default_allow,
	      "4 rules, 1 activation, default deny");
	CHECK(policy_may_own(&p, "org.ok.Thing", 1000),
	      "uid 1000 may own org.ok.Thing (prefix rule)");
	CHECK(policy_may_own(&p, "org.ok.Secret", 1000),
	      "first matching rule wins (allow before deny)");
	CHECK(!policy_may_own(&p, "org.ok.Thing", 0),
	      "uid 0 falls through to default deny");
	CHECK(!policy_may_own(&p, "org.root.X", 0), "deny rule for *");
	CHECK(policy_may_own(&p, "org.any", 42), "exact name for any uid");
	CHECK(!policy_may_own(&p, "org.anyx", 42), "exact name is exact");
	CHECK(!policy_pattern_match("org.ok.*", "org.ok"),
	      "prefix pattern needs something below the prefix");
	CHECK(!policy_pattern_match("org.ok.*", "org.okay.X") &&
	      !policy_may_own(&p, "org.okay.X", 1000),
	      "prefix pattern ends at the dot: org.ok.* is not org.okay.X");
	CHECK(policy_activation(&p, "org.act.One") &&
	      !strcmp(policy_activation(&p, "org.act.One")->argv[2], "--y") &&
	      !policy_activation(&p, "org.act.One")->argv[3],
	      "activation argv parsed");
	CHECK(!policy_activation(&p, "org.act.Two"), "no activation for others");
	policy_clear(&p);

	r = parse_policy("", &p, err);
	CHECK(!r && policy_may_own(&p, "org.x", 5),
	      "empty policy allows everything");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		r = parse_policy(bad[i].text, &p, err);
		CHECK(r == -EINVAL && !strncmp(err, "line ", 5),
		      "rejected: %s (%s)", bad[i].what, err);
		policy_clear(&p);
	}
	r = parse_policy("default-own allow\n\nfoo\n", &p, err);
	CHECK(r == -EINVAL && !strncmp(err, "line 3:", 7),
	      "error names the line (%s)", err);
	test_send_rules();
}

int main(void)
{
	tap_begin("broker wire format and policy parser");
	tap_plan(65);
	test_codec();
	test_names();
	test_policy_parser();
	return tap_end();
}
