// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-broker requests: what clients ask on the broker's bus1 peer
 * (names, lookups, watches, statistics) and the destruction of their
 * nodes. Protocol: Documentation/bus1/broker.rst.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "broker-int.h"

struct send_dst {
	struct broker *b;
	struct client *owner;	/* NULL: nobody owns @name yet */
	const char *name;
};

/*
 * A send rule names a destination by the names its owner owns (dbus.rst,
 * *Policy*): looking up another name of the same client is no way around a
 * deny. A name without owner (activation) is matched as asked.
 */
static bool send_dst_matches(void *ctx, const char *pattern)
{
	struct send_dst *d = ctx;
	unsigned int i;

	if (!d->owner)
		return policy_pattern_match(pattern, d->name);
	for (i = 0; i < d->b->n_names; i++)
		if (d->b->names[i]->owner == d->owner &&
		    policy_pattern_match(pattern, d->b->names[i]->name))
			return true;
	return false;
}

/*
 * may @c get a handle to the owner of @name (@owner, or NULL)? The handle
 * is the capability to send: the send rules are applied here, as
 * bus1-dbus-broker applies them to GetConnectionHandle
 */
static bool may_send(struct broker *b, struct client *c, struct client *owner,
		     const char *name)
{
	struct send_dst d = { b, owner, name };

	if (policy_may_send(&b->policy, c->uid, send_dst_matches, &d))
		return true;
	logm(b, 2, "client %llu (uid %u) may not send to %s: no handle",
	     (unsigned long long)c->id, (unsigned int)c->uid, name);
	return false;
}

static int req_request_name(struct broker *b, struct client *c,
			    const char *name, const __u64 *handles,
			    bool *keep_handle)
{
	struct name *n;
	unsigned int i;
	int r;

	if (handles[0] == BUS1_HANDLE_INVALID)
		return -EHOSTUNREACH;	/* owner node already dead */
	if (!(handles[0] & BUS1_HANDLE_FLAG_REMOTE))
		return -EINVAL;		/* one of the broker's own nodes */
	if (!policy_may_own(&b->policy, name, c->uid))
		return -EACCES;
	n = name_find(b, name);
	if (n && n->owner) {
		if (n->owner == c && n->handle == handles[0])
			return 0;
		return n->owner == c ? -EALREADY : -EEXIST;
	}
	if (c->n_names >= MAX_NAMES_PER_CLIENT)
		return -ENOSPC;
	if (!n) {
		r = name_add(b, name, &n);
		if (r < 0)
			return r;
	}
	n->owner = c;
	n->handle = handles[0];
	c->n_names++;
	*keep_handle = true;
	logm(b, 1, "client %llu (uid %u) owns %s", (unsigned long long)c->id,
	     (unsigned int)c->uid, name);
	emit_owner_changed(b, name, 0, c->id);
	for (i = 0; i < n->n_lookups; i++) {
		struct client *w = client_by_id(b, n->lookups[i].client_id);

		/* checked again now that the name has an owner */
		if (w && may_send(b, w, c, name))
			reply_owner(b, w, n->lookups[i].serial, n);
		else if (w)
			reply_status(b, w, B1B_OP_GET_NAME_OWNER |
				     B1B_OP_REPLY, n->lookups[i].serial,
				     -EACCES);
	}
	n->n_lookups = 0;
	return 0;
}

static int req_release_name(struct broker *b, struct client *c,
			    const char *name)
{
	struct name *n = name_find(b, name);

	if (!n || !n->owner)
		return -ENOENT;
	if (n->owner != c)
		return -EPERM;
	name_drop_owner(b, n);
	return 0;
}

/* returns 1 if the reply is deferred (activation) or was already sent */
static int req_get_name_owner(struct broker *b, struct client *c,
			      __u32 serial, const char *name)
{
	const struct policy_act *a;
	struct name *n = name_find(b, name);
	int r;

	if (n && n->owner) {
		if (!may_send(b, c, n->owner, name))
			return -EACCES;
		reply_owner(b, c, serial, n);
		return 1;
	}
	a = policy_activation(&b->policy, name);
	if (!a)
		return -ENOENT;
	if (!may_send(b, c, NULL, name))
		return -EACCES;
	if (!n) {
		r = name_add(b, name, &n);
		if (r < 0)
			return r;
	}
	if (n->n_lookups == MAX_PENDING_LOOKUPS)
		return -EBUSY;
	if (!n->activating) {
		r = spawn(b, n, a);
		if (r < 0) {
			if (!n->n_lookups)
				name_remove(b, n);
			logm(b, 1, "activation of %s failed: %s", name,
			     strerror(-r));
			return r;
		}
	}
	n->lookups[n->n_lookups].client_id = c->id;
	n->lookups[n->n_lookups].serial = serial;
	n->n_lookups++;
	return 1;
}

static int req_list_names(struct broker *b, struct client *c, __u32 serial)
{
	static unsigned char buf[B1B_MAX_REPLY];
	unsigned int i, count = 0;
	struct b1b_buf w;
	struct name *n;

	b1b_buf_init(&w, buf, sizeof(buf));
	b1b_put_hdr(&w, B1B_OP_LIST_NAMES | B1B_OP_REPLY, serial, 0);
	for (i = 0; i < b->n_names; i++)
		count += !!b->names[i]->owner;
	for (i = 0; i < b->policy.n_acts; i++) {
		n = name_find(b, b->policy.acts[i].name);
		count += !(n && n->owner);
	}
	b1b_put_u32(&w, count);
	for (i = 0; i < b->n_names; i++) {
		n = b->names[i];
		if (!n->owner)
			continue;
		b1b_put_str(&w, n->name);
		b1b_put_u64(&w, n->owner->id);
		b1b_put_u8(&w, !!policy_activation(&b->policy, n->name));
	}
	for (i = 0; i < b->policy.n_acts; i++) {
		n = name_find(b, b->policy.acts[i].name);
		if (n && n->owner)
			continue;
		b1b_put_str(&w, b->policy.acts[i].name);
		b1b_put_u64(&w, 0);
		b1b_put_u8(&w, 1);
	}
	if (b1b_finish(&w) < 0)
		return -EMSGSIZE;
	send_to(b, c->reply, buf, w.len, NULL, 0);
	return 1;
}

static int req_watch(struct client *c, const char *name, bool add)
{
	unsigned int i;

	if (!*name) {
		c->watch_all = add;
		return 0;
	}
	if (!b1b_name_valid(name))
		return -EINVAL;
	for (i = 0; i < c->n_watches; i++) {
		if (!strcmp(c->watches[i], name)) {
			if (!add) {
				free(c->watches[i]);
				c->watches[i] = c->watches[--c->n_watches];
			}
			return 0;
		}
	}
	if (!add)
		return -ENOENT;
	if (c->n_watches == MAX_WATCHES_PER_CLIENT)
		return -ENOSPC;
	c->watches[c->n_watches] = strdup(name);
	if (!c->watches[c->n_watches])
		return -ENOMEM;
	c->n_watches++;
	return 0;
}

static int req_stats(struct broker *b, struct client *c, __u32 serial)
{
	unsigned char buf[B1B_HDR_SIZE + 6 * 8];
	struct b1b_buf w;

	b1b_buf_init(&w, buf, sizeof(buf));
	b1b_put_hdr(&w, B1B_OP_GET_STATS | B1B_OP_REPLY, serial, 0);
	b1b_put_u64(&w, b->n_clients);
	b1b_put_u64(&w, b->n_names);
	b1b_put_u64(&w, b->n_requests);
	b1b_put_u64(&w, b->n_rejected);
	b1b_put_u64(&w, b->n_dropped);
	b1b_put_u64(&w, b->n_events);
	if (b1b_finish(&w) < 0)
		return -EMSGSIZE;
	send_to(b, c->reply, buf, w.len, NULL, 0);
	return 1;
}

static void handle_request(struct broker *b, struct client *c,
			   const struct bus1_message *m)
{
	char name[B1B_NAME_MAX + 1] = "";
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	bool keep_handle = false, takes_name, takes_handle;
	size_t i;
	int r;

	b->n_requests++;
	if (m->n_bytes > B1B_MAX_MSG) {
		r = -EMSGSIZE;
		b1b_parse_hdr(m->data, B1B_HDR_SIZE - 1, &hdr, &body);
	} else {
		r = b1b_parse_hdr(m->data, m->n_bytes, &hdr, &body);
	}
	if (!r && (hdr.flags || hdr.status))
		r = -EINVAL;
	if (r < 0) {
		reply_status(b, c, B1B_OP_ERROR, hdr.serial, r);
		goto out;
	}

	switch (hdr.opcode) {
	case B1B_OP_REQUEST_NAME:
	case B1B_OP_RELEASE_NAME:
	case B1B_OP_GET_NAME_OWNER:
	case B1B_OP_WATCH:
	case B1B_OP_UNWATCH:
		takes_name = true;
		break;
	case B1B_OP_LIST_NAMES:
	case B1B_OP_PING:
	case B1B_OP_GET_STATS:
		takes_name = false;
		break;
	default:
		reply_status(b, c, B1B_OP_ERROR, hdr.serial, -EOPNOTSUPP);
		r = -EOPNOTSUPP;
		goto out;
	}
	takes_handle = hdr.opcode == B1B_OP_REQUEST_NAME;

	if (takes_name)
		b1b_get_str(&body, name, sizeof(name));
	r = b1b_end(&body);
	if (!r && m->n_handles != takes_handle)
		r = -EINVAL;
	if (!r && takes_name && !b1b_name_valid(name) &&
	    !(*name == 0 && (hdr.opcode == B1B_OP_WATCH ||
			     hdr.opcode == B1B_OP_UNWATCH)))
		r = -EINVAL;
	if (r < 0)
		goto reply;

	switch (hdr.opcode) {
	case B1B_OP_REQUEST_NAME:
		r = req_request_name(b, c, name, m->handles, &keep_handle);
		break;
	case B1B_OP_RELEASE_NAME:
		r = req_release_name(b, c, name);
		break;
	case B1B_OP_GET_NAME_OWNER:
		r = req_get_name_owner(b, c, hdr.serial, name);
		break;
	case B1B_OP_LIST_NAMES:
		r = req_list_names(b, c, hdr.serial);
		break;
	case B1B_OP_WATCH:
	case B1B_OP_UNWATCH:
		r = req_watch(c, name, hdr.opcode == B1B_OP_WATCH);
		break;
	case B1B_OP_PING:
		r = 0;
		break;
	case B1B_OP_GET_STATS:
		r = req_stats(b, c, hdr.serial);
		break;
	}
reply:
	if (r <= 0)
		reply_status(b, c, hdr.opcode | B1B_OP_REPLY, hdr.serial, r);
out:
	if (r < 0) {
		b->n_rejected++;
		logm(b, 2, "client %llu: %s rejected: %s",
		     (unsigned long long)c->id, b1b_op_name(hdr.opcode),
		     strerror(-r));
	}
	for (i = keep_handle ? 1 : 0; i < m->n_handles; i++)
		if (m->handles[i] != BUS1_HANDLE_INVALID)
			bus1_handle_release(b->peer, m->handles[i]);
}

/* one of our handles reports its node destroyed */
static void handle_destroy(struct broker *b, __u64 h)
{
	unsigned int i;
	struct name *n;

	for (i = 0; i < b->n_clients; i++) {
		if (b->clients[i]->reply == h) {
			client_gone(b, b->clients[i], "reply node destroyed");
			i = -1;	/* list changed, rescan */
		}
	}
	for (i = 0; i < b->n_names; i++) {
		n = b->names[i];
		if (n->owner && n->handle == h) {
			logm(b, 1, "owner of %s died", n->name);
			name_drop_owner(b, n);
			i = -1;
		}
	}
}

/*
 * The kernel's sender quotas bound how much of the broker's queue one user
 * can fill; this bounds how long one client can keep the broker busy. A
 * client with more than max_burst requests in one epoch had that many sent
 * and unanswered at once, which a client waiting for each reply never has:
 * it is cut off (its node is destroyed, so its further sends fail and
 * what it queued is discarded by the kernel unread).
 *
 * Epochs end at fences: when the broker takes up a request and no fence is
 * queued, it first sends one to a node of its own. Everything ordered
 * before that fence was sent before it, so before any reply the broker
 * sends from then on, and bus1 orders a request a client sends after such
 * a reply after the fence, in the next epoch. A count of messages cannot
 * draw this line: RECV discards stale entries (requests to a node the
 * broker destroyed) without returning them, so a batch bounded by "what
 * was queued when it began" read on, past them, into requests sent after
 * replies of that same batch, and cut off a client that waits for each
 * reply (test-broker-burst). A fence that cannot be sent (the broker's
 * own queue full, -q) starts a new epoch right away: the cut-off then
 * counts nothing, rather than counting a good client's round trips.
 */
static void epoch_begin(struct broker *b)
{
	struct bus1_send s = {
		.destinations = &b->fence,
		.n_destinations = 1,
	};
	unsigned int i;

	if (b->fence_queued)
		return;
	for (i = 0; i < b->n_clients; i++)
		b->clients[i]->n_epoch = 0;
	b->fence_queued = !bus1_send(b->peer, &s);
}

static bool over_burst(struct broker *b, struct client *c)
{
	return b->cfg->max_burst && ++c->n_epoch > b->cfg->max_burst;
}

void process_bus1(struct broker *b)
{
	struct bus1_message m = { .offset = BUS1_OFFSET_INVALID };
	struct client *c;
	unsigned int k;
	size_t i;
	int r;

	/*
	 * Each RECV releases the slice of the message handled before it
	 * (BUS1_RECV_FLAG_RELEASE): one ioctl per message, not two. The
	 * kernel releases it even when nothing is queued. At most BATCH
	 * messages per turn, so that bootstrap connections get their turn.
	 */
	for (k = 0; k < BATCH; k++) {
		r = bus1_recv_next(b->peer, 0, &m);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			logm(b, 0, "RECV failed: %s", bus1_strerror(r));
			break;
		}
		switch (m.type) {
		case BUS1_MSG_DATA:
			if (m.destination == b->fence) {
				b->fence_queued = false;
				break;
			}
			if (b->cfg->max_burst)
				epoch_begin(b);
			c = client_by_node(b, m.destination);
			if (c && over_burst(b, c)) {
				b->n_rejected++;
				client_gone(b, c, "flooding, cut off");
				c = NULL;
			}
			if (c) {
				handle_request(b, c, &m);
			} else {
				for (i = 0; i < m.n_handles; i++)
					if (m.handles[i] != BUS1_HANDLE_INVALID)
						bus1_handle_release(b->peer,
								    m.handles[i]);
			}
			break;
		case BUS1_MSG_NODE_DESTROY:
			handle_destroy(b, m.destination);
			break;
		case BUS1_MSG_NODE_RELEASE:
			c = client_by_node(b, m.destination);
			if (c)
				client_gone(b, c, "released the broker handle");
			break;
		}
	}
	bus1_message_release(&m);
}
