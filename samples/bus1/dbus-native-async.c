// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libbus1-dbus: asynchronous calls (b1d_call_async()). A call is sent at
 * once and kept here with its cookie and the place its reply must come
 * from (reply_origin_ok(), as for b1d_call()); b1d_process() gives the
 * reply to the call's callback, as it gives signals and calls to theirs.
 *
 * The end of a call is always a message in the receive queue, in bus1's
 * order: its reply; or, when its callee's door, inbox or the broker is
 * destroyed first, a NoReply queued where the NODE_DESTROY was received,
 * so whatever the callee sent before its death (its reply included) comes
 * first. Only a timeout is not ordered: b1d_process() hands it out as
 * sd-bus does, a NoReply "Method call timed out".
 *
 * b1d_call_cancel() unlinks and frees a call, and its NoReply if one is
 * queued; what comes for it later finds no call and is dropped, as any
 * late reply. A call's cookie is its key: one that waits is not taken
 * twice.
 *
 * Not thread safe, as the rest of the library. A callback may call, send
 * and cancel: its call is unlinked before it runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include "dbus-native-int.h"

static void acall_free(struct acall *a)
{
	sd_bus_message_unref(a->call);
	free(a);
}

static void acall_unlink(struct b1d_bus *bus, struct acall *a)
{
	struct acall **pp;

	for (pp = &bus->acalls; *pp; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			return;
		}
	}
}

static struct acall *acall_find(struct b1d_bus *bus, uint64_t cookie)
{
	struct acall *a;

	for (a = bus->acalls; a; a = a->next)
		if (a->cookie == cookie)
			return a;
	return NULL;
}

int b1d_call_async(struct b1d_bus *bus, sd_bus_message *call, int timeout_ms,
		   b1d_reply_fn fn, void *userdata, uint64_t *cookiep)
{
	const char *dest = sd_bus_message_get_destination(call);
	struct acall *a;
	uint64_t cookie;
	int r;

	if (!dest || !fn || b1di_type(call) != SD_BUS_MESSAGE_METHOD_CALL)
		return -EINVAL;
	if (bus->broker_dead)
		return -ESHUTDOWN;
	/* (sent before, sealed: it goes again with its cookie) */
	if (sd_bus_message_get_cookie(call, &cookie) >= 0 &&
	    acall_find(bus, cookie))
		return -EEXIST;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	r = b1di_send_call(bus, call, &a->cookie, &a->reply_on, &a->callee);
	if (r < 0) {
		free(a);
		return r;
	}
	a->call = sd_bus_message_ref(call);
	a->deadline_ms = b1di_now_ms() +
			 (timeout_ms < 0 ? B1DI_DEFAULT_TIMEOUT_MS : timeout_ms);
	a->fn = fn;
	a->userdata = userdata;
	a->next = bus->acalls;
	bus->acalls = a;
	if (cookiep)
		*cookiep = a->cookie;
	return 0;
}

/* free the NoReply b1di_async_gone() queued for the call @cookie */
static void drop_no_reply(struct b1d_bus *bus, uint64_t cookie)
{
	struct qmsg **pp, *q;

	for (pp = &bus->q; (q = *pp); pp = &q->next) {
		if (!q->no_reply || !b1di_is_reply_to(q->m, cookie))
			continue;
		*pp = q->next;
		if (!*pp)
			bus->q_tail = pp;
		b1di_qmsg_free(bus, q);
		return;
	}
}

int b1d_call_cancel(struct b1d_bus *bus, uint64_t cookie)
{
	struct acall *a = acall_find(bus, cookie);

	if (!a)
		return -ENOENT;
	acall_unlink(bus, a);
	if (a->dead)
		drop_no_reply(bus, cookie);
	acall_free(a);
	return 0;
}

bool b1di_async_reply(struct b1d_bus *bus, struct qmsg *q)
{
	struct acall *a;

	for (a = bus->acalls; a; a = a->next)
		if (b1di_is_reply_to(q->m, a->cookie))
			break;
	if (!a || !b1di_reply_origin_ok(bus, q, a->reply_on))
		return false;
	acall_unlink(bus, a);
	sd_bus_message_rewind(q->m, true);
	a->fn(bus, q->m, a->userdata);
	acall_free(a);
	return true;
}

void b1di_async_gone(struct b1d_bus *bus, __u64 handle, __u64 door)
{
	struct acall *a;
	struct qmsg *q;

	for (a = bus->acalls; a; a = a->next) {
		if (a->dead || (a->callee != handle && a->callee != door))
			continue;
		q = calloc(1, sizeof(*q));
		if (!q)
			continue;	/* (it ends by its timeout) */
		q->m = b1di_no_reply(a->call,
				     "Remote peer disconnected before replying");
		if (!q->m) {
			free(q);
			continue;
		}
		/* from where its reply would have come */
		q->handle = BUS1_HANDLE_INVALID;
		q->node = a->reply_on;
		q->from_bus = a->reply_on == BUS1_HANDLE_INVALID;
		q->no_reply = true;
		b1di_enqueue(bus, q);
		a->dead = true;
	}
}

bool b1di_async_expire(struct b1d_bus *bus)
{
	long long now = b1di_now_ms();
	sd_bus_message *e;
	struct acall *a;

	for (a = bus->acalls; a; a = a->next)
		if (!a->dead && a->deadline_ms <= now)
			break;
	if (!a)
		return false;
	acall_unlink(bus, a);
	e = b1di_no_reply(a->call, "Method call timed out");
	/* (out of memory: the call ends without its callback) */
	if (e)
		a->fn(bus, e, a->userdata);
	sd_bus_message_unref(e);
	acall_free(a);
	return true;
}

int b1d_get_timeout(struct b1d_bus *bus)
{
	long long now = b1di_now_ms(), first = -1;
	struct acall *a;

	for (a = bus->acalls; a; a = a->next)
		if (!a->dead && (first < 0 || a->deadline_ms < first))
			first = a->deadline_ms;
	if (first < 0)
		return -1;
	return first > now ? (int)(first - now) : 0;
}

void b1di_async_free(struct b1d_bus *bus)
{
	struct acall *a;

	while ((a = bus->acalls)) {
		bus->acalls = a->next;
		acall_free(a);
	}
}
