/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bus1-dbus-broker: an intrusive FIFO with O(1) removal from anywhere. The
 * broker's timed lists are FIFOs because each of their timeouts is one value
 * for the whole bus: an entry appended now is due no earlier than any entry
 * before it, so a list only ever appended to stays in deadline order and a
 * loop turn looks at its head only (dbus.rst "Lookups"). The ready queue of
 * the socket transport is one too (one batch per connection and turn).
 * Single-threaded, like the whole broker: no locking.
 */
#ifndef _BUS1_DBUS_FIFO_H
#define _BUS1_DBUS_FIFO_H

#include <stdbool.h>
#include <stddef.h>

struct fifo_node {
	struct fifo_node *next;
	struct fifo_node **pprev;	/* NULL: not queued */
};

struct fifo {
	struct fifo_node *head;
	struct fifo_node **tail;	/* &head when empty */
};

static inline void fifo_init(struct fifo *f)
{
	f->head = NULL;
	f->tail = &f->head;
}

static inline bool fifo_queued(const struct fifo_node *n)
{
	return n->pprev;
}

static inline void fifo_push(struct fifo *f, struct fifo_node *n)
{
	n->next = NULL;
	n->pprev = f->tail;
	*f->tail = n;
	f->tail = &n->next;
}

/* unqueues @n if it is queued (on @f, the caller knows which) */
static inline void fifo_del(struct fifo *f, struct fifo_node *n)
{
	if (!n->pprev)
		return;
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	else
		f->tail = n->pprev;
	n->pprev = NULL;
}

#define fifo_item(n, type, member) \
	((type *)((char *)(n) - offsetof(type, member)))

/* the oldest entry of @f as a @type, or NULL */
#define fifo_first(f, type, member) ({					\
	struct fifo_node *_n = (f)->head;				\
	_n ? fifo_item(_n, type, member) : NULL; })

/* the newest entry of @f as a @type, or NULL */
#define fifo_last(f, type, member) ({					\
	struct fifo *_f = (f);						\
	_f->head ? fifo_item((char *)_f->tail -				\
			     offsetof(struct fifo_node, next),		\
			     type, member) : NULL; })

#endif
