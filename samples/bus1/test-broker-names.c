// SPDX-License-Identifier: GPL-2.0
/*
 * Broker name registry: bootstrap, REQUEST_NAME/RELEASE_NAME/
 * GET_NAME_OWNER/LIST_NAMES, using a looked-up name to send, the policy
 * file (uid-based own and send rules), and names of a disconnected client
 * disappearing.
 */
#include "broker-test.h"

static const char policy[] =
	"deny-own org.test.Forbidden *\n"
	"allow-own org.test.Uid1000 1000\n"
	"deny-own org.test.Uid1000 *\n"
	"deny-send org.test.Secret 1000\n"
	"deny-send org.test.Hidden.* 1000\n"
	"default-send allow\n"
	"activate org.test.Hidden.Act /nonexistent/service\n";

/*
 * as uid 1000, whom the send rules keep from org.test.Secret's owner: no
 * handle to it by that name or by another name it owns, none for an
 * activatable name it may not send to (nothing is started), a handle to
 * another client's name
 */
static int lookups_as_uid_1000(struct b1c *c)
{
	__u64 h = BUS1_HANDLE_INVALID;
	int r;

	r = b1c_get_name_owner(c, "org.test.Bravo", 5000, &h, NULL);
	if (r)
		return 30;
	bus1_handle_release(c->peer, h);
	if (b1c_get_name_owner(c, "org.test.Secret", 5000, &h, NULL) != -EACCES)
		return 31;
	if (b1c_get_name_owner(c, "org.test.Alpha", 5000, &h, NULL) != -EACCES)
		return 32;
	if (b1c_get_name_owner(c, "org.test.Hidden.Act", 5000, &h,
			       NULL) != -EACCES)
		return 33;
	return 0;
}

/* in a child running as uid 1000: which names may it own? */
static int as_uid_1000(void)
{
	struct b1c *c;
	__u64 node;
	int r;

	if (setgid(1000) < 0 || setuid(1000) < 0)
		return 20;
	if (b1c_connect(NULL, &c) < 0)
		return 21;
	if (bus1_node_new(c->peer, &node) < 0)
		return 22;
	if (b1c_request_name(c, "org.test.Uid1000", node) != 0)
		return 23;
	if (b1c_request_name(c, "org.test.Forbidden", node) != -EACCES)
		return 24;
	r = lookups_as_uid_1000(c);
	b1c_free(c);
	return r;
}

static bool list_has(struct b1c *c, const char *name, __u64 owner)
{
	char n[B1B_NAME_MAX + 1];
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	struct b1c_msg *m = NULL;
	bool found = false;
	__u32 count, i;
	__u64 o;

	if (b1c_request(c, B1B_OP_LIST_NAMES, NULL, NULL, 0, 5000, &m) < 0) {
		b1c_msg_free(m);
		return false;
	}
	b1b_parse_hdr(m->data, m->n_bytes, &hdr, &body);
	count = b1b_get_u32(&body);
	for (i = 0; i < count; i++) {
		b1b_get_str(&body, n, sizeof(n));
		o = b1b_get_u64(&body);
		b1b_get_u8(&body);
		if (!strcmp(n, name) && o == owner)
			found = true;
	}
	if (b1b_end(&body) < 0)
		found = false;
	b1c_msg_free(m);
	return found;
}

int main(void)
{
	struct b1c *a = NULL, *b = NULL;
	struct b1c_msg *m;
	__u64 na, nb, h = 0, owner = 0;
	char *out = NULL;
	pid_t svc, child;
	int r, status;

	tap_start("broker names");
	tap_plan(40);
	CHECK_R(test_broker_start(policy, 5000), 0, "broker started");

	CHECK_R(b1c_connect(NULL, &a), 0, "client a bootstraps over the socket");
	CHECK_R(b1c_connect(NULL, &b), 0, "client b bootstraps");
	if (!a || !b)
		goto out;
	CHECK(a->id && b->id && a->id != b->id, "distinct client IDs %llu, %llu",
	      (unsigned long long)a->id, (unsigned long long)b->id);
	CHECK((a->broker & BUS1_HANDLE_FLAG_REMOTE) &&
	      (a->broker & BUS1_HANDLE_FLAG_MANAGED),
	      "broker handle 0x%llx is a remote handle",
	      (unsigned long long)a->broker);
	CHECK_R(b1c_ping(a, 5000), 0, "PING");

	CHECK_R(bus1_node_new(a->peer, &na), 0, "a creates a node");
	CHECK_R(bus1_node_new(b->peer, &nb), 0, "b creates a node");
	CHECK_R(b1c_request_name(a, "org.test.Alpha", na), 0,
		"a owns org.test.Alpha");
	CHECK_R(b1c_request_name(a, "org.test.Alpha", na), 0,
		"requesting it again is a no-op");
	CHECK_R(b1c_request_name(a, "org.test.Beta", na), 0,
		"a owns org.test.Beta with the same node");
	CHECK_R(b1c_request_name(b, "org.test.Alpha", nb), -EEXIST,
		"b cannot take org.test.Alpha");
	CHECK_R(b1c_request_name(b, "nodot", nb), -EINVAL, "invalid name");
	CHECK_R(b1c_request_name(b, "org.test.Forbidden", nb), -EACCES,
		"policy denies org.test.Forbidden");
	CHECK_R(b1c_request_name(b, "org.test.Uid1000", nb), -EACCES,
		"policy reserves org.test.Uid1000 for uid 1000");

	r = b1c_get_name_owner(b, "org.test.Alpha", 5000, &h, &owner);
	CHECK_R(r, 0, "b looks up org.test.Alpha");
	CHECK(owner == a->id, "owner is client a (%llu)",
	      (unsigned long long)owner);
	CHECK(h & BUS1_HANDLE_FLAG_REMOTE, "reply carries a handle (0x%llx)",
	      (unsigned long long)h);
	CHECK_R(b1c_send_raw(b, h, "via-name", 8, NULL, 0), 0,
		"b sends through the looked-up handle");
	r = b1c_recv(a, 2000, &m);
	CHECK(!r && m->type == BUS1_MSG_DATA && m->destination == na &&
	      m->n_bytes == 8 && !memcmp(m->data, "via-name", 8),
	      "a receives it on its node");
	if (!r)
		b1c_msg_free(m);
	bus1_handle_release(b->peer, h);
	CHECK_R(b1c_get_name_owner(b, "org.test.None", 5000, &h, NULL),
		-ENOENT, "unknown name: ENOENT");

	CHECK(list_has(b, "org.test.Alpha", a->id) &&
	      list_has(b, "org.test.Beta", a->id), "LIST_NAMES shows both");

	/* a service process, used through its name */
	fflush(NULL);
	svc = fork();
	if (!svc) {
		test_child_init();
		_exit(test_service_main("org.test.Echo", "echo: "));
	}
	r = test_lookup_wait(b, "org.test.Echo", 5000, &h, &owner);
	CHECK_R(r, 0, "service org.test.Echo appears");
	if (!r) {
		r = b1c_call(b, h, "hello", 5000, &out);
		CHECK(!r && out && !strcmp(out, "echo: hello"),
		      "call through the name: \"%s\"", out ? out : "");
		free(out);
		bus1_handle_release(b->peer, h);
	}

	/* uid-based policy */
	CHECK(!b1c_request_name(a, "org.test.Secret", na) &&
	      !b1c_request_name(b, "org.test.Bravo", nb),
	      "a also owns org.test.Secret, b owns org.test.Bravo");
	fflush(NULL);
	child = fork();
	if (!child) {
		test_child_init();
		_exit(as_uid_1000());
	}
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "uid 1000 may own org.test.Uid1000 but not org.test.Forbidden, may look up org.test.Bravo but not org.test.Secret, its owner's org.test.Alpha nor org.test.Hidden.Act (%d)",
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	r = b1c_get_name_owner(b, "org.test.Secret", 5000, &h, NULL);
	CHECK_R(r, 0, "root may look up org.test.Secret: the rule is by uid");
	if (!r)
		bus1_handle_release(b->peer, h);

	CHECK_R(b1c_release_name(b, "org.test.Alpha"), -EPERM,
		"b cannot release a's name");
	CHECK_R(b1c_release_name(a, "org.test.Alpha"), 0, "a releases it");
	CHECK_R(b1c_release_name(a, "org.test.Alpha"), -ENOENT,
		"releasing twice: ENOENT");
	CHECK_R(b1c_get_name_owner(b, "org.test.Alpha", 5000, &h, NULL),
		-ENOENT, "released name is gone");
	CHECK_R(b1c_request_name(b, "org.test.Alpha", nb), 0,
		"b can take it now");

	/* a's connection ends: its remaining name disappears */
	a = b1c_free(a);
	CHECK_R(test_gone_wait(b, "org.test.Beta", 3000), 0,
		"names of a disconnected client disappear");
	CHECK(list_has(b, "org.test.Alpha", b->id), "b's name remains");

	/* a client that drops its handle to the broker is gone as well */
	{
		struct b1c *d = NULL;
		__u64 nd;

		r = b1c_connect(NULL, &d);
		if (!r)
			r = bus1_node_new(d->peer, &nd);
		if (!r)
			r = b1c_request_name(d, "org.test.Delta", nd);
		CHECK_R(r, 0, "client d owns org.test.Delta");
		if (d) {
			CHECK_R(bus1_handle_release(d->peer, d->broker), 0,
				"d releases its broker handle");
			CHECK_R(test_gone_wait(b, "org.test.Delta", 3000), 0,
				"its name disappears (NODE_RELEASE at the broker)");
			b1c_free(d);
		}
	}

	/* never kill(-1): fork fails under fault injection */
	if (svc > 0) {
		kill(svc, SIGTERM);
		waitpid(svc, &status, 0);
	}
	CHECK_R(test_gone_wait(b, "org.test.Echo", 3000), 0,
		"names of a killed service disappear");
	test_broker_alive();
out:
	b1c_free(a);
	b1c_free(b);
	CHECK_R(test_broker_stop(), 0, "broker exits cleanly on SIGTERM");
	return tap_end();
}
