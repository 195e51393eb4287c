// SPDX-License-Identifier: GPL-2.0
/*
 * Self-tests of the transaction plan, run at module load (included from
 * tx.c when BUS1_SELFTEST is defined). They guard the head-of-line bound
 * of threat-model.rst: every queue's entries form one run, runs are
 * staged longest first, so the shortest run (a victim's single entry) is
 * staged last and committed first, runs of one length are committed in
 * their staging order, every run under consecutive holds of its own
 * queue's lock, and all entries end up committed at one timestamp. The
 * plan groups entries with a hash table of queues: the cases cover many
 * distinct peers (with and without one repeated last), many entries of
 * one peer, mixed run lengths and two peers in one bucket.
 */

#include <linux/slab.h>

#define BUS1_TT_EXPECT(cond)						\
	do {								\
		if (!(cond)) {						\
			pr_err("bus1: tx self-test %s:%d failed: %s\n",	\
			       __func__, __LINE__, #cond);		\
			goto out;					\
		}							\
	} while (0)

/* peers of the tests: 0 is the origin */
#define BUS1_TT_PEERS 160
/* beyond BUS1_TX_PLAN_HASH_MAX: the sorted plan */
#define BUS1_TT_ENTRIES (BUS1_TX_PLAN_HASH_MAX + 76)

struct bus1_tx_test {
	struct bus1_peer *peers[BUS1_TT_PEERS];
	struct bus1_handle *h;
	struct bus1_queue_node **order;
	unsigned int who[BUS1_TT_ENTRIES];
	unsigned int want[BUS1_TT_PEERS];
	bool seen[BUS1_TT_PEERS];
};

/* peers with what the commit touches: id, active count, data lock, queue */
static struct bus1_peer *bus1_tx_test_peer(u64 id)
{
	struct bus1_peer *peer = kzalloc(sizeof(*peer), GFP_KERNEL);

	if (!peer)
		return NULL;
	peer->id = id;
	atomic_set(&peer->active, 0);
	init_waitqueue_head(&peer->waitq);
	spin_lock_init(&peer->data_lock);
	bus1_queue_init(&peer->queue);
	bus1_queue_set_lock(&peer->queue, &peer->data_lock);
	return peer;
}

/* index of an entry in t->h, i.e. its place in the sender's list */
static size_t bus1_tx_test_index(struct bus1_tx_test *t,
				 struct bus1_queue_node *node)
{
	return container_of(node, struct bus1_handle, qdestroy) - t->h;
}

/* a transaction of the entries to peers @who[0..@n), in that order */
static void bus1_tx_test_stage(struct bus1_tx_test *t, struct bus1_tx *tx,
			       const unsigned int *who, size_t n, bool active)
{
	size_t i;

	bus1_tx_init(tx, t->peers[0]);
	for (i = 0; i < n; ++i) {
		t->h[i].holder = t->peers[who[i]];
		bus1_queue_node_init(&t->h[i].qdestroy, BUS1_MSG_NODE_DESTROY);
		if (active)
			atomic_inc(&t->peers[who[i]]->active);
		bus1_tx_stage(tx, &t->h[i].qdestroy, t->peers[who[i]]);
	}
}

/*
 * The plan of @who: one run per peer holding all of its entries in the
 * sender's order, every entry carrying its run length, runs by length
 * descending. Leaves in t->order the commit order the rule asks for:
 * groups of runs of one length shortest first, each group in plan order.
 */
static bool bus1_tx_test_plan(struct bus1_tx_test *t, const unsigned int *who,
			      size_t n)
{
	struct bus1_queue_node *node, *list;
	size_t i, len, last_len = SIZE_MAX, total = 0, k, g, end;
	struct bus1_peer *peer;
	unsigned int p;
	struct bus1_tx tx;

	memset(t->want, 0, sizeof(t->want));
	memset(t->seen, 0, sizeof(t->seen));
	for (i = 0; i < n; ++i)
		++t->want[who[i]];

	bus1_tx_test_stage(t, &tx, who, n, false);
	list = bus1_tx_plan(tx.staged, tx.n);
	for (node = list; node; ) {
		peer = bus1_tx_peer_of(node);
		p = peer->id - 1;
		BUS1_TT_EXPECT(!t->seen[p]);
		t->seen[p] = true;
		for (len = 0; node && bus1_tx_peer_of(node) == peer;
		     node = node->next, ++len) {
			BUS1_TT_EXPECT(node->tag == t->want[p]);
			/* the sender's order within the run */
			BUS1_TT_EXPECT(!len || bus1_tx_test_index(t, node) >
				       bus1_tx_test_index(t, t->order[total - 1]));
			t->order[total++] = node;
			BUS1_TT_EXPECT(total <= n);
		}
		BUS1_TT_EXPECT(len == t->want[p]);
		BUS1_TT_EXPECT(len <= last_len);
		last_len = len;
	}
	BUS1_TT_EXPECT(total == n);

	/* reverse the groups of equal length, keep the order inside each */
	for (end = n, k = 0; end; end = g) {
		g = end;
		while (g && t->order[g - 1]->tag == t->order[end - 1]->tag)
			--g;
		for (i = g; i < end; ++i)
			t->h[bus1_tx_test_index(t, t->order[i])].qdestroy.ts = k++;
	}
	for (i = 0; i < n; ++i) {
		node = &t->h[i].qdestroy;
		t->order[node->ts] = node;
	}
	return true;
out:
	return false;
}

/*
 * Seal and commit the transaction of @who: its commit order is t->order
 * (bus1_tx_test_plan()), every entry is staged until the commit and then
 * committed at (ts, origin id), and the active references are dropped.
 */
static bool bus1_tx_test_commit(struct bus1_tx_test *t,
				const unsigned int *who, size_t n)
{
	struct bus1_queue_node *node, *head;
	struct bus1_peer *peer;
	struct rb_node *rb;
	struct bus1_tx tx;
	unsigned int p;
	size_t i, k;
	u64 ts;

	bus1_tx_test_stage(t, &tx, who, n, true);
	ts = bus1_tx_seal(&tx);
	for (i = 0, node = tx.staged; i < n; ++i, node = node->next) {
		BUS1_TT_EXPECT(node == t->order[i]);
		BUS1_TT_EXPECT((node->ts & 1) && node->ts < ts);
		BUS1_TT_EXPECT(node->tag == tx.origin->id);
	}
	BUS1_TT_EXPECT(!node);
	for (p = 1; p < BUS1_TT_PEERS; ++p) {
		peer = t->peers[p];
		BUS1_TT_EXPECT(peer->queue.n_entries == t->want[p]);
		spin_lock(&peer->data_lock);
		head = bus1_queue_peek(&peer->queue, NULL);
		spin_unlock(&peer->data_lock);
		BUS1_TT_EXPECT(!head);
	}

	bus1_tx_commit_sealed(&tx, ts);
	BUS1_TT_EXPECT(!tx.staged);
	for (p = 1; p < BUS1_TT_PEERS; ++p) {
		peer = t->peers[p];
		BUS1_TT_EXPECT(atomic_read(&peer->active) == 0);
		if (!t->want[p])
			continue;
		BUS1_TT_EXPECT(peer->queue.clock == ts);
		spin_lock(&peer->data_lock);
		for (rb = rb_first_cached(&peer->queue.entries), k = 0;
		     rb; rb = rb_next(rb), ++k) {
			node = rb_entry(rb, struct bus1_queue_node, rb);
			if (node->ts != ts || node->tag != t->peers[0]->id)
				break;
		}
		node = bus1_queue_drain(&peer->queue);
		spin_unlock(&peer->data_lock);
		BUS1_TT_EXPECT(k == t->want[p]);
		for (k = 0; node; node = node->next, ++k)
			BUS1_TT_EXPECT(bus1_tx_peer_of(node) == peer);
		BUS1_TT_EXPECT(k == t->want[p]);
	}
	return true;
out:
	return false;
}

static bool bus1_tx_test_case(struct bus1_tx_test *t, const char *name,
			      const unsigned int *who, size_t n)
{
	if (bus1_tx_test_plan(t, who, n) && bus1_tx_test_commit(t, who, n))
		return true;
	pr_err("bus1: tx self-test case '%s' (%zu entries) failed\n", name, n);
	return false;
}

/* two peers (not the origin) in one bucket of a plan of @n entries */
static bool bus1_tx_test_collide(struct bus1_tx_test *t, size_t n,
				 unsigned int *a, unsigned int *b)
{
	unsigned int nb = bus1_tx_plan_buckets(n);

	for (*a = 1; *a < BUS1_TT_PEERS; ++*a)
		for (*b = *a + 1; *b < BUS1_TT_PEERS; ++*b)
			if (bus1_tx_bucket((unsigned long)t->peers[*a], nb) ==
			    bus1_tx_bucket((unsigned long)t->peers[*b], nb))
				return true;
	return false;
}

static bool bus1_tx_test_cases(struct bus1_tx_test *t)
{
	/* entries per peer of the mixed case: 1 is the victim */
	static const unsigned int mixed[] = { 0, 1, BUS1_TX_BATCH + 2, 3, 1 };
	unsigned int *who = t->who, a, b, c;
	size_t i, j, n;

	/* the victim first, as a SEND lists it, the other runs interleaved */
	for (i = 0, n = 0; n < BUS1_TX_BATCH + 7; ++i)
		for (j = 1; j < ARRAY_SIZE(mixed); ++j)
			if (i < mixed[j])
				who[n++] = j;
	if (!bus1_tx_test_case(t, "mixed lengths", who, n))
		return false;

	/* a multicast to distinct peers: more peers than buckets */
	for (n = 0; n < BUS1_TT_PEERS - 1; ++n)
		who[n] = (n * 7) % (BUS1_TT_PEERS - 1) + 1;
	if (!bus1_tx_test_case(t, "distinct peers", who, n))
		return false;
	/* the same with the first peer again at the end: a second pass */
	who[n] = who[0];
	if (!bus1_tx_test_case(t, "distinct, first again", who, n + 1))
		return false;

	/* many entries of one peer: several lock holds of one run */
	for (n = 0; n < 2 * BUS1_TX_BATCH + 5; ++n)
		who[n] = 3;
	if (!bus1_tx_test_case(t, "one peer", who, n))
		return false;

	/* a few peers with several nodes each, interleaved: one length */
	for (n = 0; n < 60; ++n)
		who[n] = n % 20 + 1;
	if (!bus1_tx_test_case(t, "20 peers x 3", who, n))
		return false;

	/* more entries than the hash plan takes: sorted by queue, two lengths */
	for (n = 0; n < BUS1_TT_ENTRIES; ++n)
		who[n] = n % (BUS1_TT_PEERS - 1) + 1;
	if (!bus1_tx_test_case(t, "sorted plan", who, n))
		return false;

	/* two peers in one bucket, runs of one length, then mixed */
	if (!bus1_tx_test_collide(t, 4, &a, &b))
		return false;
	who[0] = a;
	who[1] = b;
	who[2] = b;
	who[3] = a;
	if (!bus1_tx_test_case(t, "collision, one length", who, 4))
		return false;
	if (!bus1_tx_test_collide(t, 6, &a, &b))
		return false;
	c = a == 1 ? (b == 2 ? 3 : 2) : 1;
	who[0] = b;
	who[1] = a;
	who[2] = c;
	who[3] = a;
	who[4] = b;
	who[5] = a;
	return bus1_tx_test_case(t, "collision, mixed", who, 6);
}

static bool bus1_tx_test_all(void)
{
	struct bus1_tx_test *t;
	bool ok = false;
	unsigned int i;

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return false;
	t->h = kcalloc(BUS1_TT_ENTRIES, sizeof(*t->h), GFP_KERNEL);
	t->order = kcalloc(BUS1_TT_ENTRIES, sizeof(*t->order), GFP_KERNEL);
	if (!t->h || !t->order)
		goto out;
	for (i = 0; i < BUS1_TT_PEERS; ++i) {
		t->peers[i] = bus1_tx_test_peer(i + 1);
		if (!t->peers[i])
			goto out;
	}
	ok = bus1_tx_test_cases(t);
out:
	for (i = 0; i < BUS1_TT_PEERS; ++i)
		kfree(t->peers[i]);
	kfree(t->order);
	kfree(t->h);
	kfree(t);
	return ok;
}

/**
 * bus1_tx_run_selftests() - check the transaction plan at module load
 *
 * Return: true if every self-test passed.
 */
bool bus1_tx_run_selftests(void)
{
	if (!bus1_tx_test_all())
		return false;
	pr_info("bus1: tx self-tests: pass\n");
	return true;
}
