// SPDX-License-Identifier: GPL-2.0
/*
 * Self-tests of the pool's gap tree, run at module load (included from
 * pool.c when BUS1_SELFTEST is defined). They guard the invariant that
 * bus1_pool_pass_only_gap() relies on: in the two states it handles, the
 * node it copies is the only one in the tree, a black root without
 * children. A wrong condition there leaves a tree that these walks see.
 */

#include <linux/rbtree_augmented.h>

#define BUS1_PT_EXPECT(cond)						\
	do {								\
		if (!(cond)) {						\
			pr_err("bus1: pool self-test %s:%d failed: %s\n",\
			       __func__, __LINE__, #cond);		\
			return false;					\
		}							\
	} while (0)

/* a valid rbtree of exactly the slices with a gap, sorted, parents linked */
static bool bus1_pool_test_tree(struct bus1_pool *pool, size_t n_gaps)
{
	struct bus1_pool_slice *s, *last = NULL;
	struct rb_node *rb;
	size_t n = 0, want = 0;

	BUS1_PT_EXPECT(!pool->gaps.rb_node ||
		       (!rb_parent(pool->gaps.rb_node) &&
			rb_is_black(pool->gaps.rb_node)));
	for (rb = rb_first(&pool->gaps); rb; rb = rb_next(rb)) {
		s = rb_entry(rb, struct bus1_pool_slice, rb_gap);
		BUS1_PT_EXPECT(s->gap);
		BUS1_PT_EXPECT(!rb->rb_left || rb_parent(rb->rb_left) == rb);
		BUS1_PT_EXPECT(!rb->rb_right || rb_parent(rb->rb_right) == rb);
		BUS1_PT_EXPECT(!last || bus1_pool_gap_less(&last->rb_gap, rb));
		last = s;
		++n;
	}
	list_for_each_entry(s, &pool->slices, link) {
		BUS1_PT_EXPECT(!s->gap == RB_EMPTY_NODE(&s->rb_gap));
		if (s->gap)
			++want;
	}
	BUS1_PT_EXPECT(n == n_gaps && n == want);
	return true;
}

static bool bus1_pool_selftest(void)
{
	struct bus1_pool_slice s[3];
	struct bus1_pool pool;
	bool ok = false;
	int round;

	bus1_pool_init(&pool);
	for (round = 0; round < 2; ++round) {
		/* empty pool -> one slice: the head hands its node over */
		if (bus1_pool_alloc(&pool, &s[0], 64) ||
		    !bus1_pool_test_tree(&pool, 1) ||
		    RB_EMPTY_NODE(&s[0].rb_gap) ||
		    !RB_EMPTY_NODE(&pool.head.rb_gap))
			goto out;
		/* a second slice goes through the plain tree operations */
		if (bus1_pool_alloc(&pool, &s[1], 8) ||
		    !bus1_pool_test_tree(&pool, 1))
			goto out;
		/* a hole before s[1]: two gaps, then the first one closed */
		bus1_pool_free(&pool, &s[0]);
		if (!bus1_pool_test_tree(&pool, 2) ||
		    bus1_pool_alloc(&pool, &s[2], 64) ||
		    s[2].offset != 0 || !bus1_pool_test_tree(&pool, 1))
			goto out;
		bus1_pool_free(&pool, &s[1]);
		if (!bus1_pool_test_tree(&pool, 1))
			goto out;
		/* the only slice, right after the head: the node goes back */
		bus1_pool_free(&pool, &s[2]);
		if (!bus1_pool_test_tree(&pool, 1) ||
		    RB_EMPTY_NODE(&pool.head.rb_gap) ||
		    pool.head.gap != (BUS1_POOL_SIZE_MAX & ~7U))
			goto out;
	}
	ok = true;
out:
	/* leave no slice behind, whatever failed */
	while (pool.n_slices)
		bus1_pool_free(&pool,
			       list_last_entry(&pool.slices,
					       struct bus1_pool_slice, link));
	bus1_pool_deinit(&pool);
	return ok;
}
