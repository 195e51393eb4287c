// SPDX-License-Identifier: GPL-2.0
/*
 * Self-tests of the pool's allocator, run at module load (included from
 * pool.c when BUS1_SELFTEST is defined). They walk the gap tree after every
 * step: it must be a valid rbtree of exactly the slices with a hole behind
 * them, never the last slice (whose gap is the end of the pool), and every
 * slice must sit where best fit on holes, else the end, puts it.
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

/*
 * A valid rbtree of the slices with a hole, sorted, parents linked; the
 * slice list without overlaps, its gaps adding up to the pool size.
 */
static bool bus1_pool_test_tree(struct bus1_pool *pool, size_t n_gaps)
{
	struct bus1_pool_slice *s, *last = NULL;
	u64 end = 0, total = 0;
	struct rb_node *rb;
	size_t n = 0, want = 0;

	BUS1_PT_EXPECT(!pool->gaps.rb_node ||
		       (!rb_parent(pool->gaps.rb_node) &&
			rb_is_black(pool->gaps.rb_node)));
	for (rb = rb_first(&pool->gaps); rb; rb = rb_next(rb)) {
		s = rb_entry(rb, struct bus1_pool_slice, rb_gap);
		BUS1_PT_EXPECT(s->gap);
		BUS1_PT_EXPECT(!bus1_pool_is_last(pool, s));
		BUS1_PT_EXPECT(!rb->rb_left || rb_parent(rb->rb_left) == rb);
		BUS1_PT_EXPECT(!rb->rb_right || rb_parent(rb->rb_right) == rb);
		BUS1_PT_EXPECT(!last || bus1_pool_gap_less(&last->rb_gap, rb));
		last = s;
		++n;
	}
	list_for_each_entry(s, &pool->slices, link) {
		BUS1_PT_EXPECT(s->offset == end);
		BUS1_PT_EXPECT(RB_EMPTY_NODE(&s->rb_gap) ==
			       (!s->gap || bus1_pool_is_last(pool, s)));
		if (!RB_EMPTY_NODE(&s->rb_gap))
			++want;
		end = (u64)s->offset + s->size + s->gap;
		total += s->size + s->gap;
	}
	BUS1_PT_EXPECT(total == (BUS1_POOL_SIZE_MAX & ~7U));
	BUS1_PT_EXPECT(n == n_gaps && n == want);
	return true;
}

/* allocates @size and checks that it lands at @offset */
static bool bus1_pool_test_alloc(struct bus1_pool *pool,
				 struct bus1_pool_slice *slice, size_t size,
				 u32 offset, size_t n_gaps)
{
	BUS1_PT_EXPECT(!bus1_pool_alloc(pool, slice, size));
	BUS1_PT_EXPECT(slice->offset == offset);
	return bus1_pool_test_tree(pool, n_gaps);
}

static bool bus1_pool_test_free(struct bus1_pool *pool,
				struct bus1_pool_slice *slice, size_t n_gaps)
{
	bus1_pool_free(pool, slice);
	return bus1_pool_test_tree(pool, n_gaps);
}

static bool bus1_pool_selftest_steps(struct bus1_pool *pool,
				     struct bus1_pool_slice *s)
{
	int round;

	BUS1_PT_EXPECT(bus1_pool_test_tree(pool, 0));
	for (round = 0; round < 2; ++round) {
		/* released before the next: the end only, no tree */
		BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[0], 64, 0, 0));
		BUS1_PT_EXPECT(bus1_pool_test_free(pool, &s[0], 0));
		/* released right after the next (RECV's RELEASE) */
		BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[0], 8, 0, 0));
		BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[1], 8, 8, 0));
		BUS1_PT_EXPECT(bus1_pool_test_free(pool, &s[0], 1));
		BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[0], 8, 0, 0));
		BUS1_PT_EXPECT(bus1_pool_test_free(pool, &s[1], 0));
		BUS1_PT_EXPECT(bus1_pool_test_free(pool, &s[0], 0));
		/* holes: best fit first, the end only when none fits */
		BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[0], 64, 0, 0));
		BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[1], 16, 64, 0));
		BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[2], 32, 80, 0));
		BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[3], 8, 112, 0));
		BUS1_PT_EXPECT(bus1_pool_test_free(pool, &s[0], 1));
		BUS1_PT_EXPECT(bus1_pool_test_free(pool, &s[2], 2));
		BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[2], 24, 80, 2));
		BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[0], 40, 0, 2));
		BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[4], 48, 120, 2));
		/* the last slice goes: its predecessor's hole becomes the end */
		BUS1_PT_EXPECT(bus1_pool_test_free(pool, &s[4], 2));
		BUS1_PT_EXPECT(bus1_pool_test_free(pool, &s[3], 1));
		BUS1_PT_EXPECT(bus1_pool_test_free(pool, &s[1], 1));
		BUS1_PT_EXPECT(bus1_pool_test_free(pool, &s[2], 0));
		BUS1_PT_EXPECT(bus1_pool_test_free(pool, &s[0], 0));
		BUS1_PT_EXPECT(pool->head.gap == (BUS1_POOL_SIZE_MAX & ~7U));
	}
	/* the end is the last resort, and may be too small */
	BUS1_PT_EXPECT(bus1_pool_alloc(pool, &s[0], BUS1_POOL_SIZE_MAX) ==
		       -EMSGSIZE);
	BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[0],
					    (BUS1_POOL_SIZE_MAX & ~7U) - 8,
					    0, 0));
	BUS1_PT_EXPECT(bus1_pool_alloc(pool, &s[1], 16) == -EXFULL);
	BUS1_PT_EXPECT(bus1_pool_test_alloc(pool, &s[1], 8,
					    (BUS1_POOL_SIZE_MAX & ~7U) - 8,
					    0));
	return true;
}

static bool bus1_pool_selftest(void)
{
	struct bus1_pool_slice s[5];
	struct bus1_pool pool;
	bool ok;

	bus1_pool_init(&pool);
	ok = bus1_pool_selftest_steps(&pool, s);
	/* leave no slice behind, whatever failed */
	while (pool.n_slices)
		bus1_pool_free(&pool,
			       list_last_entry(&pool.slices,
					       struct bus1_pool_slice, link));
	bus1_pool_deinit(&pool);
	return ok;
}
