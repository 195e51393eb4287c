// SPDX-License-Identifier: GPL-2.0
/*
 * SEND's imports of the general path: the command's checks and arrays,
 * a payload of several (or compat) vectors, the handles and files a
 * message carries, and the fault-in of a SEND that
 * faulted with page faults disabled. The common message (a plain unicast,
 * send.c) runs none of this.
 */

#include <linux/compat.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/bus1.h>
#include "compat.h"
#include "handle.h"
#include "message.h"
#include "peer.h"
#include "pool.h"
#include "send.h"

/**
 * bus1_send_validate() - check a general SEND's argument, size its arrays
 * @s:		SEND being built, its argument loaded
 *
 * Allocates the arrays of handles, created handles, destinations and files
 * (on the stack structure when they fit, charged to the caller's memcg
 * otherwise) and computes the slice size of the handle and fd arrays.
 *
 * Return: 0 on success, negative error code otherwise (the caller unwinds
 * what was allocated).
 */
int bus1_send_validate(struct bus1_send *s)
{
	struct bus1_cmd_send *p = &s->param;
	size_t size;

	if (p->flags & ~(BUS1_SEND_FLAG_CONTINUE | BUS1_SEND_FLAG_SEED))
		return -EINVAL;
	if (p->n_destinations > INT_MAX || p->n_vecs > UIO_MAXIOV ||
	    p->n_fds > BUS1_FD_MAX || p->n_handles > INT_MAX)
		return -EMSGSIZE;
	if (p->ptr_destinations != (u64)(unsigned long)p->ptr_destinations ||
	    p->ptr_errors != (u64)(unsigned long)p->ptr_errors ||
	    p->ptr_vecs != (u64)(unsigned long)p->ptr_vecs ||
	    p->ptr_handles != (u64)(unsigned long)p->ptr_handles ||
	    p->ptr_fds != (u64)(unsigned long)p->ptr_fds)
		return -EFAULT;
	if (p->n_destinations > s->peer->user->quota.max[BUS1_RES_HANDLES] ||
	    p->n_handles > s->peer->user->quota.max[BUS1_RES_HANDLES])
		return -EINVAL;
	/* bounds how long the commit holds back each destination queue */
	if (p->n_destinations > BUS1_DESTINATION_MAX)
		return -EMSGSIZE;

	s->n_dests = p->n_destinations;
	s->n_handles = p->n_handles;
	s->handles = bus1_send_array(s->handles_stack,
				     ARRAY_SIZE(s->handles_stack),
				     s->n_handles, sizeof(*s->handles));
	s->created = bus1_send_array(s->created_stack,
				     ARRAY_SIZE(s->created_stack),
				     s->n_handles + s->n_dests,
				     sizeof(*s->created));
	/*
	 * The other arrays are filled before they are read; every entry of
	 * this one is unwound, even if an allocation below fails.
	 */
	s->dests = bus1_send_array_zeroed(s->dests_stack,
					  ARRAY_SIZE(s->dests_stack),
					  s->n_dests, sizeof(*s->dests));
	s->files = bus1_send_array(s->files_stack, ARRAY_SIZE(s->files_stack),
				   p->n_fds, sizeof(*s->files));
	if (!s->handles || !s->created || !s->dests || !s->files)
		return -ENOMEM;

	size = 0;
	if (check_add_overflow(size, bus1_a8(8 * s->n_handles), &size) ||
	    check_add_overflow(size, bus1_a8(4 * (size_t)p->n_fds), &size))
		return -EMSGSIZE;
	s->slice_size = size;
	return 0;
}

/**
 * bus1_send_import_iovecs() - set up the payload iterator from a vector array
 * @s:		SEND being built, its argument loaded, at least one vector
 *
 * The general import: several vectors, or a compat caller's. The common
 * single native vector takes bus1_send_import_ubuf() (send.c), which fails
 * as this does, in the same order.
 *
 * Return: 0 on success, -ENOMEM, -EFAULT or -EMSGSIZE otherwise (the
 * caller frees @s->iov if it is not @s->iov_stack).
 */
int bus1_send_import_iovecs(struct bus1_send *s)
{
	void __user *uvecs = u64_to_user_ptr(s->param.ptr_vecs);
	size_t i, n = s->param.n_vecs, total = 0;
	struct iovec *iov = s->iov_stack;

	if (n > UIO_FASTIOV) {
		iov = kmalloc_array(n, sizeof(*iov), GFP_KERNEL_ACCOUNT);
		if (!iov)
			return -ENOMEM;
	}
	s->iov = iov;

	if (in_compat_syscall()) {
		struct compat_iovec __user *cvecs = uvecs;
		struct compat_iovec cv;

		for (i = 0; i < n; ++i) {
			if (copy_from_user(&cv, cvecs + i, sizeof(cv)))
				return -EFAULT;
			iov[i].iov_base = compat_ptr(cv.iov_base);
			iov[i].iov_len = cv.iov_len;
		}
	} else if (copy_from_user(iov, uvecs, n * sizeof(*iov))) {
		return -EFAULT;
	}

	for (i = 0; i < n; ++i) {
		if ((ssize_t)iov[i].iov_len < 0)
			return -EMSGSIZE;
		if (!access_ok(iov[i].iov_base, iov[i].iov_len))
			return -EFAULT;
		if (check_add_overflow(total, iov[i].iov_len, &total) ||
		    total > MAX_RW_COUNT)
			return -EMSGSIZE;
	}

	if (n == 1)
		/* a compat caller's single vector: see bus1_send_import_ubuf() */
		iov_iter_ubuf(&s->iter, ITER_SOURCE, iov->iov_base, total);
	else
		iov_iter_init(&s->iter, ITER_SOURCE, iov, n, total);
	s->n_bytes = total;
	return 0;
}

/**
 * bus1_send_import_handles() - look up the handles a message carries
 * @s:		SEND being built, validated
 *
 * Handles created for the sender's own new nodes are remembered in
 * @s->created, so that a failing SEND can undo them.
 *
 * Return: 0 on success, negative error code otherwise.
 */
int bus1_send_import_handles(struct bus1_send *s)
{
	const u64 __user *ids = u64_to_user_ptr(s->param.ptr_handles);
	struct bus1_handle *h;
	bool created;
	size_t i;
	u64 id;

	for (i = 0; i < s->n_handles; ++i) {
		if (get_user(id, ids + i))
			return -EFAULT;
		h = bus1_handle_import(s->peer, id, &created);
		if (IS_ERR(h))
			return PTR_ERR(h);
		if (created)
			s->created[s->n_created++] = h;
		s->handles[i] = h;
	}
	return 0;
}

/**
 * bus1_send_import_files() - take references on the files a message carries
 * @s:		SEND being built, validated
 *
 * Every file taken is in @s->files, also the one refused as not passable,
 * so that the caller's unwinding drops them all.
 *
 * Return: 0 on success, -EFAULT, -EBADF or -EOPNOTSUPP.
 */
int bus1_send_import_files(struct bus1_send *s)
{
	const int __user *fds = u64_to_user_ptr(s->param.ptr_fds);
	struct file *f;
	size_t i;
	int fd;

	for (i = 0; i < s->param.n_fds; ++i) {
		if (get_user(fd, fds + i))
			return -EFAULT;
		if (fd < 0)
			return -EBADF;
		f = fget_raw(fd);
		if (!f)
			return -EBADF;
		s->files[s->n_files++] = f;
		if (!bus1_file_is_passable(f))
			return -EOPNOTSUPP;
	}
	return 0;
}

/**
 * bus1_send_fault_in() - fault in the user memory a SEND touches
 * @arg:	user pointer to struct bus1_cmd_send
 *
 * For a SEND that failed with -EFAULT under disabled page faults; called
 * with no lock and no active reference held (see bus1_peer_ioctl()).
 *
 * Return: 0 if it is resident now, negative error code otherwise.
 */
int bus1_send_fault_in(unsigned long arg)
{
	struct bus1_send s __uninitialized;	/* see bus1_cmd_send() */
	struct bus1_cmd_send *p = &s.param;
	int r;

	bus1_debug_poison(&s, sizeof(s));

	if (bus1_send_load_param(p, (void __user *)arg))
		return -EFAULT;
	if (p->n_vecs > UIO_MAXIOV)
		return -EMSGSIZE;
	if (p->ptr_vecs != (u64)(unsigned long)p->ptr_vecs)
		return -EFAULT;
	s.iov = s.iov_stack;
	r = bus1_send_import_vecs(&s);
	if (!r && s.n_bytes && fault_in_iov_iter_readable(&s.iter, s.n_bytes))
		r = -EFAULT;
	if (s.iov != s.iov_stack)
		kfree(s.iov);
	if (!r)
		r = bus1_fault_in_user(p->ptr_destinations, p->n_destinations,
				       sizeof(u64), false);
	if (!r && (p->flags & BUS1_SEND_FLAG_CONTINUE))
		r = bus1_fault_in_user(p->ptr_errors, p->n_destinations,
				       sizeof(u64), true);
	if (!r)
		r = bus1_fault_in_user(p->ptr_handles, p->n_handles,
				       sizeof(u64), false);
	if (!r)
		r = bus1_fault_in_user(p->ptr_fds, p->n_fds, sizeof(int),
				       false);
	return r;
}
