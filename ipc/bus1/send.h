/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BUS1_SEND_H
#define __BUS1_SEND_H

/*
 * The state of one SEND command. Private to send.c and send-import.c.
 */

#include <linux/slab.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/bus1.h>
#include "user.h"

struct bus1_handle;
struct bus1_message;
struct bus1_payload;
struct bus1_peer;
struct file;

/*
 * A multicast payload up to this size is read from the sender once into a
 * buffer (struct bus1_payload) that every further destination's message
 * references until its RECV copies it into that receiver's pool; a larger
 * one is copied from the first destination's pool at SEND (see
 * bus1_send_write_payload()).
 */
#define BUS1_SEND_BOUNCE_MAX 256

/**
 * struct bus1_send_dest - one destination of a SEND
 * @peer:	owner of the node, active reference held while set
 * @dst:	owner handle of the node, referenced, until @message takes
 *		it over
 * @message:	message built for it
 * @error:	positive errno absorbed under SEND_FLAG_CONTINUE
 */
struct bus1_send_dest {
	struct bus1_peer *peer;
	struct bus1_handle *dst;
	struct bus1_message *message;
	u64 error;
};

/**
 * struct bus1_send - state of one SEND command (on the caller's stack)
 * @peer:	sending peer
 * @param:	the command as copied from userspace
 * @iov_stack:	inline iovecs for small vectors
 * @iov:	iovecs of the payload
 * @iter:	payload iterator, copied for every destination
 * @n_bytes:	payload size
 * @slice_size:	slice size of every message
 * @handles:	sender's handles to attach (borrowed)
 * @n_handles:	number of entries in @handles
 * @files:	files to attach, referenced
 * @n_files:	number of entries in @files
 * @created:	owner handles of nodes created by this command
 * @n_created:	number of entries in @created
 * @dests:	destinations
 * @n_dests:	number of entries in @dests
 * @mark:	duplicate-destination mark of this command
 * @prev_dest:	sender's handle of the destination resolved last
 * @source:	first message built with the payload, which the others copy
 *		(a multicast reads the sender's memory once)
 * @bounced:	@payload holds the payload
 * @payload:	the payload of a short multicast, shared by its messages
 * @resv:	charges taken at once on the user of several destinations
 * @resv_tried:	a reservation was tried (one per SEND)
 * @dests_stack: inline storage for small multicasts
 * @handles_stack: inline storage for few handles
 * @created_stack: inline storage for few created nodes
 * @files_stack: inline storage for few files
 *
 * The common small commands run without a single temporary allocation.
 */
struct bus1_send {
	struct bus1_peer *peer;
	struct bus1_cmd_send param;
	struct iovec iov_stack[UIO_FASTIOV];
	struct iovec *iov;
	struct iov_iter iter;
	size_t n_bytes;
	size_t slice_size;
	struct bus1_handle **handles;
	size_t n_handles;
	struct file **files;
	size_t n_files;
	struct bus1_handle **created;
	size_t n_created;
	struct bus1_send_dest *dests;
	size_t n_dests;
	u64 mark;
	struct bus1_handle *prev_dest;
	struct bus1_message *source;
	bool bounced;
	struct bus1_payload *payload;
	struct bus1_quota_resv resv;
	bool resv_tried;
	struct bus1_send_dest dests_stack[2];
	struct bus1_handle *handles_stack[4];
	struct bus1_handle *created_stack[4];
	struct file *files_stack[4];
};

/* storage for @n elements: inline if it fits, allocated otherwise */
static inline void *bus1_send_array(void *stack, size_t n_stack, size_t n,
				    size_t size)
{
	if (n <= n_stack)
		return stack;
	return kvmalloc_array(n, size, GFP_KERNEL_ACCOUNT);
}

/*
 * Like bus1_send_array(), zeroed. An allocated array comes zeroed from the
 * allocator (__GFP_ZERO): kernels with init_on_alloc (Debian's) zero every
 * allocation anyway, and a memset after it cleared it twice.
 */
static inline void *bus1_send_array_zeroed(void *stack, size_t n_stack,
					   size_t n, size_t size)
{
	if (n > n_stack)
		return kvcalloc(n, size, GFP_KERNEL_ACCOUNT);
	memset(stack, 0, n_stack * size);
	return stack;
}

static inline void bus1_send_array_free(void *array, void *stack)
{
	if (array != stack)
		kvfree(array);
}

/* send.c */
int bus1_send_import_vecs(struct bus1_send *s);
int bus1_send_import_iovecs(struct bus1_send *s);
int bus1_send_load_param(struct bus1_cmd_send *p,
			 const struct bus1_cmd_send __user *u);

/* send-import.c */
int bus1_send_validate(struct bus1_send *s);
int bus1_send_import_handles(struct bus1_send *s);
int bus1_send_import_files(struct bus1_send *s);

#endif /* __BUS1_SEND_H */
