// SPDX-License-Identifier: GPL-2.0
/*
 * Self-tests of the queue's pure logic, run at module load (included from
 * queue.c when BUS1_SELFTEST is defined, in the style of WireGuard).
 */

struct bus1_queue_test_entry {
	struct bus1_queue_node node;
};

#define BUS1_QT_EXPECT(cond)						\
	do {								\
		if (!(cond)) {						\
			pr_err("bus1: queue self-test %s:%d failed: %s\n",\
			       __func__, __LINE__, #cond);		\
			return false;					\
		}							\
	} while (0)

static void bus1_queue_test_init(struct bus1_queue *q,
				 struct bus1_queue_test_entry *e, size_t n)
{
	size_t i;

	bus1_queue_init(q);
	for (i = 0; i < n; ++i)
		bus1_queue_node_init(&e[i].node, 1);
}

static void bus1_queue_test_clear(struct bus1_queue *q)
{
	bus1_queue_drain(q);
}

/* a staging head blocks committed entries behind it */
static bool bus1_queue_test_blocking(void)
{
	struct bus1_queue_test_entry e[2];
	struct bus1_queue q;
	bool cont;

	bus1_queue_test_init(&q, e, 2);
	BUS1_QT_EXPECT(bus1_queue_stage(&q, &e[0].node, 1, 0) == 0);
	BUS1_QT_EXPECT(e[0].node.ts == 1);
	BUS1_QT_EXPECT(!bus1_queue_peek(&q, &cont));
	/* a direct commit orders after the staged entry: still blocked */
	BUS1_QT_EXPECT(!bus1_queue_commit_unstaged(&q, &e[1].node, 2));
	BUS1_QT_EXPECT(e[1].node.ts == 2);
	BUS1_QT_EXPECT(!bus1_queue_peek(&q, &cont));
	/* committing the staged entry above it unblocks the other one */
	BUS1_QT_EXPECT(bus1_queue_commit_staged(&q, &e[0].node, 4));
	BUS1_QT_EXPECT(bus1_queue_peek(&q, &cont) == &e[1].node && !cont);
	BUS1_QT_EXPECT(!bus1_queue_remove(&q, &e[1].node));
	BUS1_QT_EXPECT(bus1_queue_peek(&q, &cont) == &e[0].node);
	bus1_queue_test_clear(&q);
	return true;
}

/* re-keying moves an entry only backwards and keeps a committed head */
static bool bus1_queue_test_rekey(void)
{
	struct bus1_queue_test_entry e[3];
	struct bus1_queue q;
	u64 t;

	bus1_queue_test_init(&q, e, 3);
	t = bus1_queue_stage(&q, &e[0].node, 7, 0);
	t = bus1_queue_stage(&q, &e[1].node, 7, t + 10);
	BUS1_QT_EXPECT(t == 10 && e[1].node.ts == 11 && q.clock == 10);
	/* the sync of a later transaction raises the clock */
	BUS1_QT_EXPECT(bus1_queue_sync(&q, 20) == 20);
	BUS1_QT_EXPECT(bus1_queue_sync(&q, 12) == 20);
	/* the sync round of the commit protocol precedes every commit */
	BUS1_QT_EXPECT(bus1_queue_sync(&q, 24) == 24);
	BUS1_QT_EXPECT(!bus1_queue_commit_staged(&q, &e[1].node, 22));
	BUS1_QT_EXPECT(!bus1_queue_peek(&q, NULL));
	BUS1_QT_EXPECT(bus1_queue_commit_staged(&q, &e[0].node, 24));
	BUS1_QT_EXPECT(bus1_queue_peek(&q, NULL) == &e[1].node);
	/* anything staged now lands behind the committed entries */
	bus1_queue_stage(&q, &e[2].node, 1, 0);
	BUS1_QT_EXPECT(e[2].node.ts == 25);
	BUS1_QT_EXPECT(bus1_queue_peek(&q, NULL) == &e[1].node);
	bus1_queue_test_clear(&q);
	return true;
}

/* equal timestamps: the tag decides, CONTINUE only within one tag */
static bool bus1_queue_test_ties(void)
{
	struct bus1_queue_test_entry e[3];
	struct bus1_queue q;
	bool cont;

	bus1_queue_test_init(&q, e, 3);
	bus1_queue_stage(&q, &e[0].node, 9, 0);
	bus1_queue_stage(&q, &e[1].node, 3, 0);
	bus1_queue_stage(&q, &e[2].node, 3, 0);
	bus1_queue_commit_staged(&q, &e[0].node, 6);
	bus1_queue_commit_staged(&q, &e[1].node, 6);
	bus1_queue_commit_staged(&q, &e[2].node, 6);
	BUS1_QT_EXPECT(bus1_key_before(6, 3, 6, 9));
	BUS1_QT_EXPECT(!bus1_key_before(6, 9, 6, 9));
	BUS1_QT_EXPECT(bus1_key_before(4, 9, 6, 3));
	/* tag 3 first; its two entries are one transaction */
	BUS1_QT_EXPECT(bus1_queue_peek(&q, &cont)->tag == 3 && cont);
	bus1_queue_remove(&q, bus1_queue_peek(&q, NULL));
	BUS1_QT_EXPECT(bus1_queue_peek(&q, &cont)->tag == 3 && !cont);
	bus1_queue_remove(&q, bus1_queue_peek(&q, NULL));
	BUS1_QT_EXPECT(bus1_queue_peek(&q, &cont) == &e[0].node && !cont);
	bus1_queue_test_clear(&q);
	return true;
}

/* flush drops committed entries up to its timestamp, keeps staging ones */
static bool bus1_queue_test_flush(void)
{
	struct bus1_queue_test_entry e[3];
	struct bus1_queue_node *list;
	struct bus1_queue q;
	u64 t;

	bus1_queue_test_init(&q, e, 3);
	bus1_queue_commit_unstaged(&q, &e[0].node, 1);
	bus1_queue_stage(&q, &e[1].node, 2, 0);
	t = bus1_queue_tick(&q);
	list = bus1_queue_flush(&q, t, 2);
	BUS1_QT_EXPECT(list == &e[0].node && !list->next);
	BUS1_QT_EXPECT(q.n_entries == 1 && q.flush == t);
	/* a late commit at or below the flush is stale, above it is not */
	bus1_queue_commit_staged(&q, &e[1].node, t);
	BUS1_QT_EXPECT(bus1_queue_node_is_stale(&q, &e[1].node));
	bus1_queue_commit_unstaged(&q, &e[2].node, 1);
	BUS1_QT_EXPECT(!bus1_queue_node_is_stale(&q, &e[2].node));
	/* equal timestamps: the tag decides (full keys, spec D8) */
	e[2].node.ts = t;
	e[2].node.tag = 3;
	BUS1_QT_EXPECT(!bus1_queue_node_is_stale(&q, &e[2].node));
	e[2].node.tag = 1;
	BUS1_QT_EXPECT(bus1_queue_node_is_stale(&q, &e[2].node));
	e[2].node.ts = 6;
	bus1_queue_test_clear(&q);
	BUS1_QT_EXPECT(!q.n_entries);
	return true;
}

/*
 * flush looks past a staging entry (a multicast between seal and commit):
 * an entry committed behind it (a unicast's fresh tick) is dropped too
 */
static bool bus1_queue_test_flush_past_staging(void)
{
	struct bus1_queue_test_entry e[3];
	struct bus1_queue_node *list;
	struct bus1_queue q;
	u64 t;

	bus1_queue_test_init(&q, e, 3);
	bus1_queue_stage(&q, &e[0].node, 2, 0);
	bus1_queue_commit_unstaged(&q, &e[1].node, 1);
	bus1_queue_commit_unstaged(&q, &e[2].node, 3);
	t = bus1_queue_tick(&q);
	list = bus1_queue_flush(&q, t, 2);
	BUS1_QT_EXPECT(list == &e[2].node && list->next == &e[1].node &&
		       !list->next->next);
	BUS1_QT_EXPECT(q.n_entries == 1 &&
		       bus1_queue_node_is_queued(&e[0].node));
	bus1_queue_test_clear(&q);
	return true;
}

static bool bus1_queue_selftest(void)
{
	return bus1_queue_test_blocking() && bus1_queue_test_rekey() &&
	       bus1_queue_test_ties() && bus1_queue_test_flush() &&
	       bus1_queue_test_flush_past_staging();
}
