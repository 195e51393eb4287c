// SPDX-License-Identifier: GPL-2.0
/*
 * Activation: a name configured with a program is started on the first
 * GET_NAME_OWNER while the lookups wait; concurrent lookups share one
 * activation; failing and hanging programs give ESRCH and ETIMEDOUT; after
 * the service exits, the next lookup activates it again.
 *
 * The activated programs are this binary (/proc/self/exe) in service mode.
 */
#include "broker-test.h"

static const char policy[] =
	"activate org.test.Act /proc/self/exe service org.test.Act activated:\n"
	"activate org.test.Fail /proc/self/exe fail\n"
	"activate org.test.Slow /proc/self/exe sleep\n";

static int activated_main(int argc, char **argv)
{
	struct b1c *c;

	if (argc == 4 && !strcmp(argv[1], "service"))
		return test_service_main(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "sleep")) {
		/* connected but never takes its name */
		if (b1c_from_env(&c) < 0)
			return 50;
		sleep(30);
		return 0;
	}
	return 3;
}

static int send_lookup(struct b1c *c, const char *name, __u32 serial)
{
	unsigned char buf[B1B_MAX_MSG];
	struct b1b_buf b;
	int len;

	b1b_buf_init(&b, buf, sizeof(buf));
	b1b_put_hdr(&b, B1B_OP_GET_NAME_OWNER, serial, 0);
	b1b_put_str(&b, name);
	len = b1b_finish(&b);
	return len < 0 ? len : b1c_send_raw(c, c->broker, buf, len, NULL, 0);
}

static int wait_lookup(struct b1c *c, __u32 serial, __u64 *h, __u64 *owner)
{
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	struct b1c_msg *m;
	int r;

	r = b1c_recv(c, 10000, &m);
	if (r < 0)
		return r;
	r = b1b_parse_hdr(m->data, m->n_bytes, &hdr, &body);
	if (!r && (hdr.serial != serial ||
		   hdr.opcode != (B1B_OP_GET_NAME_OWNER | B1B_OP_REPLY)))
		r = -EPROTO;
	if (!r)
		r = hdr.status;
	if (!r) {
		*owner = b1b_get_u64(&body);
		r = b1b_end(&body);
	}
	if (!r && m->n_handles == 1)
		*h = m->handles[0];
	else if (!r)
		r = -EPROTO;
	b1c_msg_free(m);
	return r;
}

int main(int argc, char **argv)
{
	struct b1c *c[3] = { 0 };
	__u64 h[3] = { 0 }, owner[3] = { 0 }, h2, owner2 = 0;
	long long t0;
	char *out = NULL;
	int i, r, ok;

	if (argc > 1)
		return activated_main(argc, argv);

	tap_start("broker activation");
	tap_plan(19);
	CHECK_R(test_broker_start(policy, 1500), 0, "broker started");
	for (i = 0; i < 3; i++)
		CHECK_R(b1c_connect(NULL, &c[i]), 0, "client %d connects", i);
	if (!c[0] || !c[1] || !c[2])
		goto out;

	CHECK_R(b1c_get_name_owner(c[0], "org.test.None", 5000, &h2, NULL),
		-ENOENT, "a name that is neither owned nor activatable");

	/* three lookups race with the activation */
	ok = 1;
	for (i = 0; i < 3; i++)
		ok &= send_lookup(c[i], "org.test.Act", 100 + i) == 0;
	CHECK(ok, "three clients look up org.test.Act at once");
	ok = 1;
	for (i = 0; i < 3; i++) {
		r = wait_lookup(c[i], 100 + i, &h[i], &owner[i]);
		if (r < 0) {
			printf("# client %d: %s\n", i, strerror(-r));
			ok = 0;
		}
	}
	CHECK(ok, "all three lookups are answered after activation");
	CHECK(owner[0] && owner[0] == owner[1] && owner[1] == owner[2],
	      "one activation, one owner (%llu)",
	      (unsigned long long)owner[0]);
	r = b1c_call(c[1], h[1], "hi", 5000, &out);
	CHECK(!r && out && !strcmp(out, "activated:hi"),
	      "the activated service answers: \"%s\"", out ? out : "");
	free(out);
	out = NULL;
	r = b1c_get_name_owner(c[2], "org.test.Act", 5000, &h2, &owner2);
	CHECK(!r && owner2 == owner[0], "a later lookup needs no activation");
	if (!r)
		bus1_handle_release(c[2]->peer, h2);

	/* the service exits; the next lookup starts a new instance */
	r = b1c_call(c[0], h[0], "quit", 5000, &out);
	CHECK(!r, "ask the service to exit");
	free(out);
	out = NULL;
	for (i = 0; i < 3; i++)
		bus1_handle_release(c[i]->peer, h[i]);
	t0 = test_now_ms();
	do {
		r = b1c_get_name_owner(c[0], "org.test.Act", 5000, &h2,
				       &owner2);
		if (!r && owner2 != owner[0])
			break;
		if (!r)
			bus1_handle_release(c[0]->peer, h2);
		usleep(20000);
	} while (test_now_ms() - t0 < 5000);
	CHECK(!r && owner2 && owner2 != owner[0],
	      "the next lookup re-activates it (new owner %llu)",
	      (unsigned long long)owner2);
	if (!r) {
		r = b1c_call(c[0], h2, "again", 5000, &out);
		CHECK(!r && out && !strcmp(out, "activated:again"),
		      "and it answers");
		free(out);
		bus1_handle_release(c[0]->peer, h2);
	}

	CHECK_R(b1c_get_name_owner(c[0], "org.test.Fail", 5000, &h2, NULL),
		-ESRCH, "a program that exits without the name: ESRCH");
	t0 = test_now_ms();
	CHECK_R(b1c_get_name_owner(c[0], "org.test.Slow", 5000, &h2, NULL),
		-ETIMEDOUT, "a program that never takes the name: ETIMEDOUT");
	CHECK(test_now_ms() - t0 >= 1000, "after the activation timeout");
	CHECK_R(b1c_ping(c[1], 2000), 0, "broker still answers");
	test_broker_alive();
out:
	for (i = 0; i < 3; i++)
		b1c_free(c[i]);
	CHECK_R(test_broker_stop(), 0, "broker exits cleanly");
	return tap_end();
}
