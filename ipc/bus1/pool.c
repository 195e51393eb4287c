// SPDX-License-Identifier: GPL-2.0
/*
 * Pools: a shmem file per peer that receives messages, mapped read-only by
 * its owner.
 *
 * Allocation is best fit on holes: every slice records the free gap behind
 * it, and slices with a gap sit in an rbtree keyed by gap size, except the
 * last slice, whose gap runs to the end of the pool. Allocating takes the
 * smallest hole that fits, else the end; the new slice goes to the start
 * of the gap. Freeing folds the slice and its gap into the gap of its
 * predecessor. Both are O(log n), need no memory (the slice is embedded in
 * its message), and keep the pool compact from offset 0 upwards.
 *
 * Keeping the end out of the tree is what makes the common cases cheap: a
 * receiver that releases each message before the next, or (with RECV's
 * RELEASE) right after it, takes at most one tree insertion and one erase
 * per two messages instead of three of each: the end moves along the list
 * without touching the tree.
 */

#include <linux/bvec.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/rbtree.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include "compat.h"
#include "pool.h"

static bool bus1_pool_gap_less(struct rb_node *a, const struct rb_node *b)
{
	struct bus1_pool_slice *x = rb_entry(a, struct bus1_pool_slice, rb_gap);
	struct bus1_pool_slice *y = rb_entry(b, struct bus1_pool_slice, rb_gap);

	return x->gap < y->gap || (x->gap == y->gap && x->offset < y->offset);
}

static bool bus1_pool_is_last(struct bus1_pool *pool,
			      struct bus1_pool_slice *slice)
{
	return list_is_last(&slice->link, &pool->slices);
}

/* Takes @slice out of the gap tree, if it is there: no gap behind it. */
static void bus1_pool_clear_gap(struct bus1_pool *pool,
				struct bus1_pool_slice *slice)
{
	bus1_pool_assert_held(pool);
	if (!RB_EMPTY_NODE(&slice->rb_gap)) {
		rb_erase(&slice->rb_gap, &pool->gaps);
		RB_CLEAR_NODE(&slice->rb_gap);
	}
	slice->gap = 0;
}

/*
 * Files @slice, not in the gap tree, under its gap, unless it has none or
 * is the last slice: the end of the pool is not a hole. Call it after the
 * slice list says which slice is last.
 */
static void bus1_pool_add_gap(struct bus1_pool *pool,
			      struct bus1_pool_slice *slice)
{
	bus1_pool_assert_held(pool);
	if (slice->gap && !bus1_pool_is_last(pool, slice))
		rb_add(&slice->rb_gap, &pool->gaps, bus1_pool_gap_less);
}

/*
 * Pool pages are charged to the receiving peer's memory cgroup, not to the
 * sender that happens to write them: shmem charges a page without an mm to
 * the active memcg.
 *
 * Every copy looks its page up in the shmem page cache and drops it right
 * after: the pool holds no page reference of its own, which would keep a
 * page from being migrated or compacted (CMA) for as long as the peer lives.
 * A page that is there and uptodate (every page but the first write to it,
 * or one swapped out) is found with a lockless page cache lookup; shmem,
 * with the folio lock and the memcg switch, is asked only otherwise. The
 * lookup reports a miss as NULL before 6.3 and as an error since.
 */
/*
 * A page already in the pool's page cache, or NULL; does not sleep. Inline:
 * it is the common case of bus1_pool_get_page().
 */
static __always_inline struct page *
bus1_pool_find_page(struct bus1_pool *pool, pgoff_t index)
{
	struct address_space *mapping = bus1_pool_file(pool)->f_mapping;
	struct folio *folio;

	folio = filemap_get_folio(mapping, index);
	if (IS_ERR_OR_NULL(folio))
		return NULL;
	if (!folio_test_uptodate(folio)) {
		folio_put(folio);
		return NULL;
	}
	/* shmem's dirty_folio only sets the flag */
	if (!folio_test_dirty(folio))
		folio_mark_dirty(folio);
	return folio_file_page(folio, index);
}

static struct page *bus1_pool_get_page(struct bus1_pool *pool, pgoff_t index)
{
	struct address_space *mapping = bus1_pool_file(pool)->f_mapping;
	struct mem_cgroup *old;
	struct page *page;

	page = bus1_pool_find_page(pool, index);
	if (page)
		return page;

	old = set_active_memcg(pool->memcg);
	page = shmem_read_mapping_page(mapping, index);
	set_active_memcg(old);
	if (!IS_ERR(page))
		set_page_dirty(page);
	return page;
}

static void bus1_pool_put_page(struct bus1_pool *pool, struct page *page)
{
	put_page(page);
}

static void bus1_pool_slice_init(struct bus1_pool_slice *slice)
{
	INIT_LIST_HEAD(&slice->link);
	RB_CLEAR_NODE(&slice->rb_gap);
	RB_CLEAR_NODE(&slice->rb_published);
	slice->offset = 0;
	slice->size = 0;
	slice->gap = 0;
}

/**
 * bus1_pool_init() - initialize a pool
 * @pool:	pool to initialize
 *
 * The shmem file is created on first use (bus1_pool_ensure()): an idle
 * peer costs no inode, file and dentry.
 */
void bus1_pool_init(struct bus1_pool *pool)
{
	pool->f = NULL;
	pool->memcg = get_mem_cgroup_from_mm(current->mm);
	bus1_pool_slice_init(&pool->head);
	INIT_LIST_HEAD(&pool->slices);
	pool->gaps = RB_ROOT;
	pool->published = RB_ROOT;
	pool->n_slices = 0;
	pool->n_bytes = 0;
	bus1_pool_set_lock(pool, NULL);
	list_add(&pool->head.link, &pool->slices);
	/* the last slice: the whole pool is its end, not a hole */
	pool->head.gap = BUS1_POOL_SIZE_MAX & ~7U;
}

/**
 * bus1_pool_ensure() - create the shmem backing of a pool if needed
 * @pool:	pool to back
 *
 * May race with itself; the first file published wins. The release in
 * cmpxchg() pairs with the acquire in bus1_pool_file().
 *
 * Return: 0 on success, negative error code on failure.
 */
int bus1_pool_ensure(struct bus1_pool *pool)
{
	struct mem_cgroup *old;
	struct file *f;

	if (bus1_pool_file(pool))
		return 0;

	old = set_active_memcg(pool->memcg);
	f = bus1_shmem_setup_noreserve(KBUILD_MODNAME "-pool",
				       (loff_t)BUS1_POOL_SIZE_MAX + 1);
	set_active_memcg(old);
	/* shmem reports a failed inode allocation as ENOSPC */
	if (IS_ERR(f))
		return PTR_ERR(f) == -ENOSPC ? -ENOMEM : PTR_ERR(f);
	if (cmpxchg(&pool->f, NULL, f))
		fput(f);
	return 0;
}

/**
 * bus1_pool_deinit() - release the shmem backing of a pool
 * @pool:	pool with no slices left, that nobody writes or maps anymore
 *
 * Called at disconnect, once no other peer can reach the pool, so that the
 * pages, the file and the memcg reference do not live on with the peer's
 * memory (which remote handles to its nodes keep). Called again when the
 * peer is freed; the second call finds nothing to release. Userspace
 * mappings keep the shmem file alive on their own.
 */
void bus1_pool_deinit(struct bus1_pool *pool)
{
	WARN_ON(pool->n_slices || !list_is_singular(&pool->slices));
	mem_cgroup_put(pool->memcg);
	pool->memcg = NULL;
	if (pool->f)
		fput(pool->f);
	pool->f = NULL;
}

/**
 * bus1_pool_alloc() - allocate a slice
 * @pool:	pool to allocate from
 * @slice:	unused slice to place
 * @size:	payload size in bytes
 *
 * Return: 0 on success, -EMSGSIZE if @size can never fit, -EXFULL if no gap
 * is large enough right now.
 */
int bus1_pool_alloc(struct bus1_pool *pool, struct bus1_pool_slice *slice,
		    size_t size)
{
	struct bus1_pool_slice *prev = NULL, *ps;
	struct rb_node *rb;

	bus1_pool_assert_held(pool);
	size = ALIGN(max_t(size_t, size, 8), 8);
	if (size > (BUS1_POOL_SIZE_MAX & ~7U))
		return -EMSGSIZE;

	/* smallest hole that fits, the lowest offset among equal ones */
	rb = pool->gaps.rb_node;
	while (rb) {
		ps = rb_entry(rb, struct bus1_pool_slice, rb_gap);
		if (ps->gap >= size) {
			prev = ps;
			rb = rb->rb_left;
		} else {
			rb = rb->rb_right;
		}
	}
	if (!prev) {
		/* no hole: the end of the pool */
		prev = list_last_entry(&pool->slices, struct bus1_pool_slice,
				       link);
		if (prev->gap < size)
			return -EXFULL;
	}

	RB_CLEAR_NODE(&slice->rb_gap);
	RB_CLEAR_NODE(&slice->rb_published);
	slice->offset = prev->offset + prev->size;
	slice->size = size;
	slice->gap = prev->gap - size;
	list_add(&slice->link, &prev->link);
	/* @prev's gap is all taken; @slice is last if @prev was */
	bus1_pool_clear_gap(pool, prev);
	bus1_pool_add_gap(pool, slice);
	++pool->n_slices;
	pool->n_bytes += size;
	return 0;
}

/**
 * bus1_pool_free() - return a slice to its pool
 * @pool:	pool the slice was allocated from
 * @slice:	allocated, unpublished slice
 */
void bus1_pool_free(struct bus1_pool *pool, struct bus1_pool_slice *slice)
{
	struct bus1_pool_slice *prev;
	u32 gap;

	bus1_pool_assert_held(pool);
	WARN_ON(!RB_EMPTY_NODE(&slice->rb_published));
	prev = list_prev_entry(slice, link);
	gap = prev->gap + slice->size + slice->gap;
	/* unlinked first: @prev may become the last slice */
	list_del_init(&slice->link);
	bus1_pool_clear_gap(pool, slice);
	bus1_pool_clear_gap(pool, prev);
	prev->gap = gap;
	bus1_pool_add_gap(pool, prev);
	--pool->n_slices;
	pool->n_bytes -= slice->size;
}

static int bus1_pool_published_cmp(const void *key, const struct rb_node *n)
{
	u64 offset = *(const u64 *)key;
	struct bus1_pool_slice *s = rb_entry(n, struct bus1_pool_slice,
					     rb_published);

	if (offset < s->offset)
		return -1;
	return offset > s->offset;
}

static bool bus1_pool_published_less(struct rb_node *a,
				     const struct rb_node *b)
{
	return rb_entry(a, struct bus1_pool_slice, rb_published)->offset <
	       rb_entry(b, struct bus1_pool_slice, rb_published)->offset;
}

/**
 * bus1_pool_publish() - make a slice releasable by userspace
 * @pool:	pool of the slice
 * @slice:	allocated, unpublished slice
 */
void bus1_pool_publish(struct bus1_pool *pool, struct bus1_pool_slice *slice)
{
	bus1_pool_assert_held(pool);
	rb_add(&slice->rb_published, &pool->published,
	       bus1_pool_published_less);
}

/**
 * bus1_pool_unpublish() - take a published slice back from userspace
 * @pool:	pool to search
 * @offset:	offset the slice starts at
 *
 * Return: the slice, or NULL if no published slice starts at @offset.
 */
struct bus1_pool_slice *bus1_pool_unpublish(struct bus1_pool *pool,
					    u64 offset)
{
	struct bus1_pool_slice *slice;
	struct rb_node *rb;

	bus1_pool_assert_held(pool);
	rb = rb_find(&offset, &pool->published, bus1_pool_published_cmp);
	if (!rb)
		return NULL;
	slice = rb_entry(rb, struct bus1_pool_slice, rb_published);
	rb_erase(rb, &pool->published);
	RB_CLEAR_NODE(rb);
	return slice;
}

/**
 * bus1_pool_first_published() - return any published slice
 * @pool:	pool to search
 *
 * Return: a published slice, or NULL if there is none.
 */
struct bus1_pool_slice *bus1_pool_first_published(struct bus1_pool *pool)
{
	struct rb_node *rb;

	bus1_pool_assert_held(pool);
	rb = rb_first(&pool->published);
	return rb ? rb_entry(rb, struct bus1_pool_slice, rb_published) : NULL;
}

/**
 * bus1_pool_write_iter() - copy data into a slice
 * @pool:	pool of the slice
 * @slice:	allocated slice, not visible to anyone else
 * @offset:	offset inside the slice
 * @iter:	source, advanced by the bytes copied; NULL to write zeros
 * @len:	number of bytes to copy
 *
 * Copies straight into the page cache of the shmem file, allocating pages
 * on demand; there is no intermediate buffer.
 *
 * Return: 0 on success, -EFAULT if the source faulted, -ENOMEM if a page
 * could not be allocated.
 */
int bus1_pool_write_iter(struct bus1_pool *pool, struct bus1_pool_slice *slice,
			 size_t offset, struct iov_iter *iter, size_t len)
{
	loff_t pos = (loff_t)slice->offset + offset;
	size_t n, copied, in_page;
	struct page *page;

	if (WARN_ON(offset + len > slice->size))
		return -EINVAL;

	while (len) {
		in_page = offset_in_page(pos);
		n = min_t(size_t, len, PAGE_SIZE - in_page);
		page = bus1_pool_get_page(pool, pos >> PAGE_SHIFT);
		if (IS_ERR(page))
			return PTR_ERR(page);
		if (iter) {
			copied = copy_page_from_iter(page, in_page, n, iter);
		} else {
			memzero_page(page, in_page, n);
			copied = n;
		}
		flush_dcache_page(page);
		bus1_pool_put_page(pool, page);
		if (copied != n)
			return -EFAULT;
		pos += n;
		len -= n;
	}
	return 0;
}

/*
 * The copy of kernel data into the pool's pages from @pos on. With
 * @present_only it does not sleep: a page not in the page cache fails the
 * copy with -EAGAIN, and nothing is allocated. Inline, so that each of the
 * two callers gets its own loop.
 */
static __always_inline int bus1_pool_write_pages(struct bus1_pool *pool,
						 loff_t pos, const void *data,
						 size_t len, bool present_only)
{
	size_t n, in_page;
	struct page *page;

	while (len) {
		in_page = offset_in_page(pos);
		n = min_t(size_t, len, PAGE_SIZE - in_page);
		if (present_only) {
			page = bus1_pool_find_page(pool, pos >> PAGE_SHIFT);
			if (!page)
				return -EAGAIN;
		} else {
			page = bus1_pool_get_page(pool, pos >> PAGE_SHIFT);
			if (IS_ERR(page))
				return PTR_ERR(page);
		}
		memcpy_to_page(page, in_page, data, n);
		bus1_pool_put_page(pool, page);
		data += n;
		pos += n;
		len -= n;
	}
	return 0;
}

/**
 * bus1_pool_write_present() - copy kernel data to the start of a slice
 *			       whose pages are present
 * @pool:	pool of the slice
 * @slice:	allocated slice
 * @data:	source buffer
 * @len:	number of bytes, at most the slice size
 *
 * Does not sleep (RECV's common path calls it under the data lock), so it
 * allocates nothing: a page not in the page cache fails the copy, and the
 * caller uses bus1_pool_write_kernel() from sleepable context instead.
 *
 * Return: 0 on success, -EAGAIN if a page is not present.
 */
int bus1_pool_write_present(struct bus1_pool *pool,
			    struct bus1_pool_slice *slice, const void *data,
			    size_t len)
{
	if (WARN_ON(len > slice->size))
		return -EINVAL;
	return bus1_pool_write_pages(pool, slice->offset, data, len, true);
}

/**
 * bus1_pool_write_kernel() - copy kernel data into a slice
 * @pool:	pool of the slice
 * @slice:	allocated slice
 * @offset:	offset inside the slice
 * @data:	source buffer, or NULL to write zeros
 * @len:	number of bytes
 *
 * Return: 0 on success, -ENOMEM if a page could not be allocated.
 */
int bus1_pool_write_kernel(struct bus1_pool *pool,
			   struct bus1_pool_slice *slice, size_t offset,
			   const void *data, size_t len)
{
	if (!data)
		return bus1_pool_write_iter(pool, slice, offset, NULL, len);
	if (WARN_ON(offset + len > slice->size))
		return -EINVAL;
	return bus1_pool_write_pages(pool, (loff_t)slice->offset + offset, data,
				     len, false);
}

/**
 * bus1_pool_pin() - hold the pages of a slice range for a write that
 *		     cannot fail
 * @pool:	pool of the slice
 * @slice:	allocated slice
 * @offset:	offset inside the slice
 * @len:	number of bytes, not 0
 * @pin:	pin to set up; bus1_pool_unpin() releases it
 *
 * RECV learns the handle IDs and fd numbers it writes only once it commits,
 * and nothing may fail there. Allocating the pages (charged to the pool's
 * memcg, so this can fail under memory.max) happens here instead; a
 * referenced page is neither reclaimed nor swapped out until unpinned.
 *
 * Return: 0 on success, -ENOMEM if a page or the page array could not be
 * allocated.
 */
int bus1_pool_pin(struct bus1_pool *pool, struct bus1_pool_slice *slice,
		  size_t offset, size_t len, struct bus1_pool_pin *pin)
{
	struct page *page;
	size_t i, n;

	if (WARN_ON(!len || offset + len > slice->size))
		return -EINVAL;

	pin->pos = (loff_t)slice->offset + offset;
	pin->len = len;
	pin->n_pages = 0;
	n = DIV_ROUND_UP(offset_in_page(pin->pos) + len, PAGE_SIZE);
	pin->pages = pin->pages_stack;
	if (n > ARRAY_SIZE(pin->pages_stack)) {
		/* sized by the message's handle and fd counts */
		pin->pages = kvmalloc_array(n, sizeof(*pin->pages),
					    GFP_KERNEL_ACCOUNT);
		if (!pin->pages)
			return -ENOMEM;
	}
	for (i = 0; i < n; ++i) {
		page = bus1_pool_get_page(pool, (pin->pos >> PAGE_SHIFT) + i);
		if (IS_ERR(page)) {
			bus1_pool_unpin(pool, pin);
			return PTR_ERR(page);
		}
		pin->pages[pin->n_pages++] = page;
	}
	return 0;
}

/**
 * bus1_pool_pin_write() - copy kernel data into a pinned range
 * @pin:	pin set up by bus1_pool_pin()
 * @data:	source buffer of @pin->len bytes
 */
void bus1_pool_pin_write(struct bus1_pool_pin *pin, const void *data)
{
	size_t i, n, len = pin->len, in_page = offset_in_page(pin->pos);

	for (i = 0; len; ++i) {
		n = min_t(size_t, len, PAGE_SIZE - in_page);
		memcpy_to_page(pin->pages[i], in_page, data, n);
		data += n;
		len -= n;
		in_page = 0;
	}
}

/**
 * bus1_pool_unpin() - release the pages of a pin
 * @pool:	pool of the pin
 * @pin:	pin set up by bus1_pool_pin()
 */
void bus1_pool_unpin(struct bus1_pool *pool, struct bus1_pool_pin *pin)
{
	size_t i;

	for (i = 0; i < pin->n_pages; ++i)
		bus1_pool_put_page(pool, pin->pages[i]);
	if (pin->pages != pin->pages_stack)
		kvfree(pin->pages);
	pin->pages = pin->pages_stack;
	pin->n_pages = 0;
}

/**
 * bus1_pool_copy() - copy the start of one slice into another
 * @pool:	pool of @slice
 * @slice:	allocated slice to write, not visible to anyone else
 * @src:	pool of @src_slice, kept alive by the caller
 * @src_slice:	allocated slice to read, written by the caller and not
 *		visible to anyone else either (its content is stable)
 * @len:	number of bytes, from offset 0 of both
 *
 * Return: 0 on success, -ENOMEM if a page could not be allocated.
 */
int bus1_pool_copy(struct bus1_pool *pool, struct bus1_pool_slice *slice,
		   struct bus1_pool *src, struct bus1_pool_slice *src_slice,
		   size_t len)
{
	loff_t pos = src_slice->offset;
	struct iov_iter iter;
	struct bio_vec bv;
	size_t off = 0;
	int r;

	while (len) {
		bv.bv_offset = offset_in_page(pos);
		bv.bv_len = min_t(size_t, len, PAGE_SIZE - bv.bv_offset);
		/* written just now: found in the page cache, not allocated */
		bv.bv_page = bus1_pool_get_page(src, pos >> PAGE_SHIFT);
		if (IS_ERR(bv.bv_page))
			return PTR_ERR(bv.bv_page);
		iov_iter_bvec(&iter, ITER_SOURCE, &bv, 1, bv.bv_len);
		r = bus1_pool_write_iter(pool, slice, off, &iter, bv.bv_len);
		bus1_pool_put_page(src, bv.bv_page);
		if (r)
			return r;
		pos += bv.bv_len;
		off += bv.bv_len;
		len -= bv.bv_len;
	}
	return 0;
}

/**
 * bus1_pool_mmap() - map a pool read-only
 * @pool:	pool to map
 * @vma:	mapping requested by userspace
 *
 * The mapping is redirected to the shmem file, so it neither keeps the peer
 * alive nor dies with it.
 *
 * Return: 0 on success, -EPERM for writable mappings, or the error of the
 * shmem mmap handler.
 */
int bus1_pool_mmap(struct bus1_pool *pool, struct vm_area_struct *vma)
{
	struct file *f;
	int r;

	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	r = bus1_pool_ensure(pool);
	if (r)
		return r;

	f = bus1_pool_file(pool);
	bus1_vma_clear_flags(vma, VM_MAYWRITE);
	vma_set_file(vma, f);
	return vfs_mmap(f, vma);
}

#ifdef BUS1_SELFTEST
#include "selftest/pool.c"

/**
 * bus1_pool_run_selftests() - check the allocator at module load
 *
 * Return: true if every self-test passed.
 */
bool bus1_pool_run_selftests(void)
{
	if (!bus1_pool_selftest())
		return false;
	pr_info("bus1: pool self-tests: pass\n");
	return true;
}
#endif
