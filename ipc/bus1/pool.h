/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BUS1_POOL_H
#define __BUS1_POOL_H

#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <asm/barrier.h>
#include <linux/types.h>

struct file;
struct iov_iter;
struct mem_cgroup;
struct vm_area_struct;

/**
 * struct bus1_pool_slice - allocated region of a pool
 * @link:	link in bus1_pool.slices, by offset
 * @rb_gap:	link in bus1_pool.gaps, if @gap is non-zero and the slice
 *		is not the last one
 * @rb_published: link in bus1_pool.published, while published
 * @offset:	offset of the slice in the pool
 * @size:	size of the slice (8-aligned)
 * @gap:	free space following the slice
 *
 * Embedded in a message. All fields are protected by the data lock of the
 * peer owning the pool.
 */
struct bus1_pool_slice {
	struct list_head link;
	struct rb_node rb_gap;
	struct rb_node rb_published;
	u32 offset;
	u32 size;
	u32 gap;
};

/**
 * struct bus1_pool - per-peer shmem-backed buffer of received messages
 * @f:		shmem file of 2^32 bytes, pages allocated on first write;
 *		created on first use, then constant until disconnect
 * @memcg:	memory cgroup of the opener; pool pages are charged to it,
 *		whoever writes them; held until disconnect
 * @head:	zero-sized slice at offset 0 that owns the first gap
 * @slices:	all slices by offset, starting with @head
 * @gaps:	slices with a hole behind them, by gap size; the last slice
 *		(whose gap is the end of the pool) is never in it
 * @published:	slices visible to userspace, by offset
 * @n_slices:	number of allocated slices (excluding @head)
 * @n_bytes:	bytes in allocated slices
 * @lock:	with lockdep only: the owning peer's data lock, for
 *		bus1_pool_assert_held()
 *
 * @f is set once and then constant while the peer is connected; @f and
 * @memcg are released at disconnect (bus1_pool_deinit()), when no other
 * peer can reach the pool anymore. The rest is protected by the data lock
 * of the owning peer. Writing into an allocated slice needs no lock: the slice is private
 * to whoever allocated it until it is linked into a queue.
 */
struct bus1_pool {
	struct file *f;
	struct mem_cgroup *memcg;
	struct bus1_pool_slice head;
	struct list_head slices;
	struct rb_root gaps;
	struct rb_root published;
	unsigned long n_slices;
	unsigned long n_bytes;
#ifdef CONFIG_LOCKDEP
	spinlock_t *lock; /* lockdep only, see above */
#endif
};

/**
 * bus1_pool_set_lock() - tell lockdep which lock protects a pool
 * @pool:	initialized pool
 * @lock:	the data lock of the owning peer
 */
static inline void bus1_pool_set_lock(struct bus1_pool *pool, spinlock_t *lock)
{
#ifdef CONFIG_LOCKDEP
	pool->lock = lock;
#endif
}

/**
 * bus1_pool_assert_held() - assert that the lock of a pool is held
 * @pool:	pool about to be read or written
 */
static inline void bus1_pool_assert_held(struct bus1_pool *pool)
{
#ifdef CONFIG_LOCKDEP
	if (pool->lock)
		lockdep_assert_held(pool->lock);
#endif
}

/* pool offsets are 32 bit: one byte of the 2^32 byte file stays unused */
#define BUS1_POOL_SIZE_MAX U32_MAX

/**
 * struct bus1_pool_pin - pages of a slice range, held for a later write
 * @pos:		pool offset of the first byte
 * @len:		number of bytes
 * @n_pages:		number of pages in @pages
 * @pages:		referenced pages covering the range
 * @pages_stack:	inline storage for short ranges
 *
 * Owned by whoever pinned it; no lock.
 */
struct bus1_pool_pin {
	loff_t pos;
	size_t len;
	size_t n_pages;
	struct page **pages;
	struct page *pages_stack[2];
};

void bus1_pool_init(struct bus1_pool *pool);
int bus1_pool_ensure(struct bus1_pool *pool);
void bus1_pool_deinit(struct bus1_pool *pool);
int bus1_pool_alloc(struct bus1_pool *pool, struct bus1_pool_slice *slice,
		    size_t size);
void bus1_pool_free(struct bus1_pool *pool, struct bus1_pool_slice *slice);
void bus1_pool_publish(struct bus1_pool *pool, struct bus1_pool_slice *slice);
struct bus1_pool_slice *bus1_pool_unpublish(struct bus1_pool *pool,
					    u64 offset);
struct bus1_pool_slice *bus1_pool_first_published(struct bus1_pool *pool);
int bus1_pool_write_iter(struct bus1_pool *pool, struct bus1_pool_slice *slice,
			 size_t offset, struct iov_iter *iter, size_t len);
int bus1_pool_write_present(struct bus1_pool *pool,
			    struct bus1_pool_slice *slice, const void *data,
			    size_t len);
int bus1_pool_write_kernel(struct bus1_pool *pool,
			   struct bus1_pool_slice *slice, size_t offset,
			   const void *data, size_t len);
int bus1_pool_pin(struct bus1_pool *pool, struct bus1_pool_slice *slice,
		  size_t offset, size_t len, struct bus1_pool_pin *pin);
void bus1_pool_pin_write(struct bus1_pool_pin *pin, const void *data);
void bus1_pool_unpin(struct bus1_pool *pool, struct bus1_pool_pin *pin);
int bus1_pool_copy(struct bus1_pool *pool, struct bus1_pool_slice *slice,
		   struct bus1_pool *src, struct bus1_pool_slice *src_slice,
		   size_t len);
int bus1_pool_mmap(struct bus1_pool *pool, struct vm_area_struct *vma);

/**
 * bus1_pool_file() - return the shmem file of a pool
 * @pool:	pool to query
 *
 * Return: the file, or NULL if the pool was never used.
 */
static inline struct file *bus1_pool_file(struct bus1_pool *pool)
{
	/* pairs with the cmpxchg() in bus1_pool_ensure() */
	return smp_load_acquire(&pool->f);
}

#ifdef BUS1_SELFTEST
bool bus1_pool_run_selftests(void);
#else
static inline bool bus1_pool_run_selftests(void)
{
	return true;
}
#endif

#endif /* __BUS1_POOL_H */
