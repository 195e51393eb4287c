// SPDX-License-Identifier: GPL-2.0
/*
 * Pools: a shmem file per peer that receives messages, mapped read-only by
 * its owner.
 *
 * Allocation is best fit on gaps: every slice records the free gap behind
 * it, and slices with a gap sit in an rbtree keyed by gap size. Allocating
 * takes the smallest gap that fits and places the new slice at its start;
 * freeing folds the slice and its gap into the gap of its predecessor. Both
 * are O(log n), need no memory (the slice is embedded in its message), and
 * keep the pool compact from offset 0 upwards.
 */

#include <linux/err.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/rbtree.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <linux/uio.h>
#include "compat.h"
#include "pool.h"

static bool bus1_pool_gap_less(struct rb_node *a, const struct rb_node *b)
{
	struct bus1_pool_slice *x = rb_entry(a, struct bus1_pool_slice, rb_gap);
	struct bus1_pool_slice *y = rb_entry(b, struct bus1_pool_slice, rb_gap);

	return x->gap < y->gap || (x->gap == y->gap && x->offset < y->offset);
}

static void bus1_pool_set_gap(struct bus1_pool *pool,
			      struct bus1_pool_slice *slice, u32 gap)
{
	if (!RB_EMPTY_NODE(&slice->rb_gap)) {
		rb_erase(&slice->rb_gap, &pool->gaps);
		RB_CLEAR_NODE(&slice->rb_gap);
	}
	slice->gap = gap;
	if (gap)
		rb_add(&slice->rb_gap, &pool->gaps, bus1_pool_gap_less);
}

/*
 * Hands the gap tree node of @from, the only node in the tree, to @to (not
 * in the tree), with gap @gap. A receiver that releases each message
 * before the next arrives goes back and forth between an empty pool (one
 * gap: the head's) and one slice (one gap: the slice's), and this saves
 * an insertion and an erase each way.
 */
static void bus1_pool_pass_only_gap(struct bus1_pool *pool,
				    struct bus1_pool_slice *from,
				    struct bus1_pool_slice *to, u32 gap)
{
	/* a root without children: its copy is the whole tree */
	to->rb_gap = from->rb_gap;
	pool->gaps.rb_node = &to->rb_gap;
	RB_CLEAR_NODE(&from->rb_gap);
	from->gap = 0;
	to->gap = gap;
}

/*
 * Pool pages are charged to the receiving peer's memory cgroup, not to the
 * sender that happens to write them: shmem charges a page without an mm to
 * the active memcg.
 *
 * Looking a page up in the shmem page cache costs more than copying a small
 * message, and consecutive small messages land in the same page (best fit
 * reuses the slice just freed). So the pool keeps a reference to the page
 * written last. A writer takes it out with xchg(), so it owns that
 * reference while it copies, and offers it back with cmpxchg(); if another
 * writer refilled the cache meanwhile, the reference is dropped. The cached
 * page stays in the page cache and dirty; its extra reference only keeps it
 * from being swapped out, one page per pool.
 */
static struct page *bus1_pool_get_page(struct bus1_pool *pool, pgoff_t index)
{
	struct mem_cgroup *old;
	struct folio *folio;
	struct page *page;

	page = xchg(&pool->cached_page, NULL);
	if (page) {
		folio = page_folio(page);
		if (folio->index + folio_page_idx(folio, page) == index)
			return page;
		put_page(page);
	}

	old = set_active_memcg(pool->memcg);
	page = shmem_read_mapping_page(bus1_pool_file(pool)->f_mapping, index);
	set_active_memcg(old);
	if (!IS_ERR(page))
		set_page_dirty(page);
	return page;
}

static void bus1_pool_put_page(struct bus1_pool *pool, struct page *page)
{
	if (cmpxchg(&pool->cached_page, NULL, page))
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
	pool->cached_page = NULL;
	list_add(&pool->head.link, &pool->slices);
	bus1_pool_set_gap(pool, &pool->head, BUS1_POOL_SIZE_MAX & ~7U);
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
 * @pool:	pool with no slices left
 *
 * Userspace mappings keep the shmem file alive on their own.
 */
void bus1_pool_deinit(struct bus1_pool *pool)
{
	WARN_ON(pool->n_slices || !list_is_singular(&pool->slices));
	if (pool->cached_page)
		put_page(pool->cached_page);
	pool->cached_page = NULL;
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

	size = ALIGN(max_t(size_t, size, 8), 8);
	if (size > (BUS1_POOL_SIZE_MAX & ~7U))
		return -EMSGSIZE;

	/* smallest gap that fits, the lowest offset among equal gaps */
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
	if (!prev)
		return -EXFULL;

	bus1_pool_slice_init(slice);
	slice->offset = prev->offset + prev->size;
	slice->size = size;
	list_add(&slice->link, &prev->link);
	if (!pool->n_slices && prev->gap > size) {
		/* empty pool: the head's gap is the only one */
		bus1_pool_pass_only_gap(pool, prev, slice, prev->gap - size);
	} else {
		bus1_pool_set_gap(pool, slice, prev->gap - size);
		bus1_pool_set_gap(pool, prev, 0);
	}
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

	WARN_ON(!RB_EMPTY_NODE(&slice->rb_published));
	prev = list_prev_entry(slice, link);
	if (pool->n_slices == 1 && !prev->gap && slice->gap) {
		/* the only slice, right after the head: its gap is the only one */
		bus1_pool_pass_only_gap(pool, slice, prev,
					slice->size + slice->gap);
	} else {
		bus1_pool_set_gap(pool, prev,
				  prev->gap + slice->size + slice->gap);
		bus1_pool_set_gap(pool, slice, 0);
	}
	list_del_init(&slice->link);
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

	rb = rb_find(&offset, &pool->published, bus1_pool_published_cmp);
	if (!rb)
		return NULL;
	slice = rb_entry(rb, struct bus1_pool_slice, rb_published);
	/* the only published slice leaves an empty tree: nothing to rebalance */
	if (rb == pool->published.rb_node && !rb->rb_left && !rb->rb_right)
		pool->published = RB_ROOT;
	else
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
	struct rb_node *rb = rb_first(&pool->published);

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
	struct kvec kvec = { .iov_base = (void *)data, .iov_len = len };
	struct iov_iter iter;

	if (!data)
		return bus1_pool_write_iter(pool, slice, offset, NULL, len);
	iov_iter_kvec(&iter, ITER_SOURCE, &kvec, 1, len);
	return bus1_pool_write_iter(pool, slice, offset, &iter, len);
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
