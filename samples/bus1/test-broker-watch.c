// SPDX-License-Identifier: GPL-2.0
/*
 * NameOwnerChanged: four watchers of one name see the identical event
 * sequence while several processes race for the name (one of them is
 * killed while owning it); the sequence is consistent; a killed owner's
 * names disappear and an all-names watcher sees them vanish.
 */
#include "broker-test.h"

#define N_WATCHERS	4
#define N_RACERS	3
#define ROUNDS		15
#define MAX_EV		512

struct seq {
	unsigned int n;
	__u64 old[MAX_EV], new[MAX_EV];
};

static int racer(unsigned int seed)
{
	struct b1c *c;
	__u64 node;
	int i, r;

	test_child_init();
	if (b1c_connect(NULL, &c) < 0 || bus1_node_new(c->peer, &node) < 0)
		return 30;
	srand(seed);
	for (i = 0; i < ROUNDS; i++) {
		r = b1c_request_name(c, "org.test.W", node);
		if (r == 0) {
			usleep(rand() % 2000);
			if (b1c_release_name(c, "org.test.W") < 0)
				return 31;
		} else if (r != -EEXIST) {
			return 32;
		}
		usleep(rand() % 1000);
	}
	b1c_free(c);
	return 0;
}

static int victim(int ready_fd)
{
	struct b1c *c;
	__u64 node;

	test_child_init_keep(ready_fd);
	if (b1c_connect(NULL, &c) < 0 || bus1_node_new(c->peer, &node) < 0)
		return 40;
	while (b1c_request_name(c, "org.test.W", node) == -EEXIST)
		usleep(1000);
	if (b1c_request_name(c, "org.test.K1", node) < 0 ||
	    b1c_request_name(c, "org.test.K2", node) < 0)
		return 41;
	if (write(ready_fd, &c->id, sizeof(c->id)) != sizeof(c->id))
		return 42;
	pause();
	return 0;
}

/* collect events for watcher @c until the sentinel owner @last vanishes */
static int collect(struct b1c *c, __u64 last, struct seq *s)
{
	struct b1b_event ev;
	struct b1c_msg *m;
	int r;

	s->n = 0;
	for (;;) {
		r = b1c_recv(c, 10000, &m);
		if (r < 0)
			return r;
		r = b1b_parse_event(m, &ev);
		b1c_msg_free(m);
		if (r < 0 || strcmp(ev.name, "org.test.W"))
			return -EPROTO;
		if (s->n == MAX_EV)
			return -ENOSPC;
		s->old[s->n] = ev.old_owner;
		s->new[s->n] = ev.new_owner;
		s->n++;
		if (ev.old_owner == last && !ev.new_owner)
			return 0;
	}
}

int main(void)
{
	static struct seq seq[N_WATCHERS];
	struct b1c *w[N_WATCHERS] = { 0 }, *all = NULL, *p = NULL;
	struct b1b_event ev;
	struct b1c_msg *m;
	bool same, consistent, k_seen;
	__u64 node, victim_id = 0, prev;
	pid_t racers[N_RACERS], vpid;
	int i, j, r, status, ok, pfd[2], gone;

	tap_start("broker NameOwnerChanged watchers");
	tap_plan(23);
	CHECK_R(test_broker_start(NULL, 5000), 0, "broker started");

	for (i = 0; i < N_WATCHERS; i++) {
		r = b1c_connect(NULL, &w[i]);
		if (!r)
			r = b1c_watch(w[i], "org.test.W");
		CHECK_R(r, 0, "watcher %d watches org.test.W", i);
	}
	r = b1c_connect(NULL, &all);
	if (!r)
		r = b1c_watch(all, "");
	CHECK_R(r, 0, "one more watcher watches all names");
	r = b1c_connect(NULL, &p);
	CHECK_R(r, 0, "controller connects");
	if (r < 0 || !all)
		goto out;
	for (i = 0; i < N_WATCHERS; i++)
		if (!w[i])
			goto out;
	CHECK_R(b1c_watch(w[0], "bad name"), -EINVAL,
		"watching an invalid name is refused");

	fflush(NULL);
	for (i = 0; i < N_RACERS; i++) {
		racers[i] = fork();
		if (!racers[i])
			_exit(racer(i + 1));
	}
	ok = 1;
	for (i = 0; i < N_RACERS; i++) {
		waitpid(racers[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			ok = 0;
	}
	CHECK(ok, "%d processes raced %d rounds for org.test.W", N_RACERS,
	      ROUNDS);

	/* a victim owns org.test.W, K1 and K2, and is killed */
	if (pipe(pfd) < 0)
		goto out;
	fflush(NULL);
	vpid = fork();
	if (!vpid)
		_exit(victim(pfd[1]));
	close(pfd[1]);
	r = read(pfd[0], &victim_id, sizeof(victim_id));
	close(pfd[0]);
	CHECK(r == sizeof(victim_id), "victim (client %llu) owns its names",
	      (unsigned long long)victim_id);
	/* never kill(-1): fork fails under fault injection */
	if (vpid > 0) {
		kill(vpid, SIGKILL);
		waitpid(vpid, &status, 0);
	}
	CHECK_R(test_gone_wait(p, "org.test.K1", 3000), 0,
		"killed owner's org.test.K1 disappears");
	CHECK_R(test_gone_wait(p, "org.test.K2", 3000), 0,
		"killed owner's org.test.K2 disappears");

	/* sentinel: the controller takes the name and releases it */
	CHECK_R(bus1_node_new(p->peer, &node), 0, "controller node");
	CHECK_R(b1c_request_name(p, "org.test.W", node), 0,
		"controller owns org.test.W");
	CHECK_R(b1c_release_name(p, "org.test.W"), 0, "and releases it");

	ok = 1;
	for (i = 0; i < N_WATCHERS; i++) {
		r = collect(w[i], p->id, &seq[i]);
		if (r < 0) {
			ok = 0;
			printf("# watcher %d: %s after %u events\n", i,
			       strerror(-r), seq[i].n);
		}
	}
	CHECK(ok, "every watcher saw the whole sequence (%u events)",
	      seq[0].n);
	same = true;
	for (i = 1; i < N_WATCHERS; i++)
		same = same && seq[i].n == seq[0].n &&
		       !memcmp(seq[i].old, seq[0].old, seq[0].n * 8) &&
		       !memcmp(seq[i].new, seq[0].new, seq[0].n * 8);
	CHECK(same, "all %d watchers saw identical sequences", N_WATCHERS);
	consistent = true;
	k_seen = false;
	prev = 0;
	for (j = 0; j < (int)seq[0].n; j++) {
		if (seq[0].old[j] != prev)
			consistent = false;
		prev = seq[0].new[j];
		if (seq[0].old[j] == victim_id && !seq[0].new[j])
			k_seen = true;
	}
	CHECK(consistent && seq[0].n >= 4,
	      "sequence is a consistent ownership history");
	CHECK(k_seen, "the victim's death is in the sequence");

	/* the all-names watcher saw K1 and K2 vanish */
	gone = 0;
	while (b1c_recv(all, 500, &m) == 0) {
		if (b1b_parse_event(m, &ev) == 0 && ev.old_owner == victim_id &&
		    !ev.new_owner && (!strcmp(ev.name, "org.test.K1") ||
				      !strcmp(ev.name, "org.test.K2")))
			gone++;
		b1c_msg_free(m);
	}
	CHECK(gone == 2, "all-names watcher saw K1 and K2 vanish (%d)", gone);
	CHECK_R(b1c_recv(w[0], 200, &m), -ETIMEDOUT,
		"no further events for the name watchers");
	test_broker_alive();
out:
	for (i = 0; i < N_WATCHERS; i++)
		b1c_free(w[i]);
	b1c_free(all);
	b1c_free(p);
	CHECK_R(test_broker_stop(), 0, "broker exits cleanly");
	return tap_end();
}
