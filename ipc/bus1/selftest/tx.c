// SPDX-License-Identifier: GPL-2.0
/*
 * Self-tests of the transaction plan, run at module load (included from
 * tx.c when BUS1_SELFTEST is defined). They guard the head-of-line bound
 * of threat-model.rst: runs are staged longest first, so the shortest run
 * (a victim's single entry) is staged last and committed first, every run
 * under consecutive holds of its own queue's lock, and all entries end up
 * committed at one timestamp.
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

#define BUS1_TT_PEERS 5
#define BUS1_TT_ENTRIES (1 + BUS1_TX_BATCH + 2 + 3 + 1)

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

/*
 * The commit order of a sealed transaction: one run per queue, every entry
 * of the queue staged in it, runs by length ascending, equal lengths by
 * queue address (their staging order).
 */
static bool bus1_tx_test_order(struct bus1_tx *tx, u64 ts, size_t n)
{
	struct bus1_peer *peer, *last = NULL;
	struct bus1_queue_node *head, *node = tx->staged;
	size_t len, last_len = 0, total = 0;

	while (node) {
		peer = bus1_tx_peer_of(node);
		for (len = 0; node && bus1_tx_peer_of(node) == peer;
		     node = node->next, ++len) {
			BUS1_TT_EXPECT((node->ts & 1) && node->ts < ts);
			BUS1_TT_EXPECT(node->tag == tx->origin->id);
		}
		BUS1_TT_EXPECT(peer->queue.n_entries == len);
		spin_lock(&peer->data_lock);
		head = bus1_queue_peek(&peer->queue, NULL);
		spin_unlock(&peer->data_lock);
		BUS1_TT_EXPECT(!head);
		BUS1_TT_EXPECT(len > last_len ||
			       (len == last_len && peer > last));
		last = peer;
		last_len = len;
		total += len;
	}
	BUS1_TT_EXPECT(total == n);
	return true;
out:
	return false;
}

static bool bus1_tx_test_plan(void)
{
	/* entries added per peer: 0 is the origin, 1 the victim */
	static const unsigned int want[BUS1_TT_PEERS] = {
		0, 1, BUS1_TX_BATCH + 2, 3, 1,
	};
	struct bus1_peer *peers[BUS1_TT_PEERS] = {};
	unsigned int i, j, n[BUS1_TT_PEERS] = {};
	struct bus1_handle *h = NULL;
	struct bus1_queue_node *node;
	struct rb_node *rb;
	struct bus1_tx tx;
	bool ok = false;
	u64 ts;

	h = kcalloc(BUS1_TT_ENTRIES, sizeof(*h), GFP_KERNEL);
	if (!h)
		goto out;
	for (i = 0; i < BUS1_TT_PEERS; ++i) {
		peers[i] = bus1_tx_test_peer(i + 1);
		if (!peers[i])
			goto out;
	}

	/* the victim first, as a SEND lists it, the other runs interleaved */
	bus1_tx_init(&tx, peers[0]);
	for (i = 0, j = 1; i < BUS1_TT_ENTRIES; ++i) {
		while (n[j] == want[j])
			j = j % (BUS1_TT_PEERS - 1) + 1;
		h[i].holder = peers[j];
		bus1_queue_node_init(&h[i].qdestroy, BUS1_MSG_NODE_DESTROY);
		atomic_inc(&peers[j]->active);
		bus1_tx_stage(&tx, &h[i].qdestroy, peers[j]);
		++n[j];
		j = j % (BUS1_TT_PEERS - 1) + 1;
	}

	ts = bus1_tx_seal(&tx);
	BUS1_TT_EXPECT(bus1_tx_test_order(&tx, ts, BUS1_TT_ENTRIES));

	bus1_tx_commit_sealed(&tx, ts);
	BUS1_TT_EXPECT(!tx.staged);
	for (i = 1; i < BUS1_TT_PEERS; ++i) {
		BUS1_TT_EXPECT(atomic_read(&peers[i]->active) == 0);
		BUS1_TT_EXPECT(peers[i]->queue.clock == ts);
		/* every entry committed at (ts, origin id) */
		spin_lock(&peers[i]->data_lock);
		for (rb = rb_first_cached(&peers[i]->queue.entries), n[i] = 0;
		     rb; rb = rb_next(rb), ++n[i]) {
			node = rb_entry(rb, struct bus1_queue_node, rb);
			if (node->ts != ts || node->tag != peers[0]->id)
				break;
		}
		node = bus1_queue_drain(&peers[i]->queue);
		spin_unlock(&peers[i]->data_lock);
		BUS1_TT_EXPECT(n[i] == want[i]);
		for (n[i] = 0; node; node = node->next, ++n[i])
			BUS1_TT_EXPECT(bus1_tx_peer_of(node) == peers[i]);
		BUS1_TT_EXPECT(n[i] == want[i]);
	}
	ok = true;
out:
	for (i = 0; i < BUS1_TT_PEERS; ++i)
		kfree(peers[i]);
	kfree(h);
	return ok;
}

/**
 * bus1_tx_run_selftests() - check the transaction plan at module load
 *
 * Return: true if every self-test passed.
 */
bool bus1_tx_run_selftests(void)
{
	if (!bus1_tx_test_plan())
		return false;
	pr_info("bus1: tx self-tests: pass\n");
	return true;
}
