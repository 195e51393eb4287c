// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libbus1-dbus: doors (Documentation/bus1/dbus.rst, "Senders of direct
 * calls"). bus1 messages carry no sender, so a callee gives each caller a
 * node of its own, a door, and a direct call is believed to come from the
 * caller its door was made for. The callee learns the caller's inbox, where
 * the door and the replies go, from the bus's GetCallerHandle, which the
 * send rules of the policy file allow only if that caller may call it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "dbus-native-int.h"

static struct door *door_find(struct b1d_bus *bus, __u64 node)
{
	struct door *d;

	for (d = bus->doors; d; d = d->next)
		if (d->node == node)
			return d;
	return NULL;
}

/* the caller behind inbox @handle is gone: so are its doors */
void b1di_doors_close_for(struct b1d_bus *bus, __u64 handle)
{
	struct door *d, **dp;

	for (dp = &bus->doors; (d = *dp);) {
		if (d->reply == handle) {
			/* the caller dropped the node: it will send another */
			bus1_handle_release(bus->c->peer, d->reply);
			d->reply = BUS1_HANDLE_INVALID;
		}
		if (d->inbox != handle) {
			dp = &d->next;
			continue;
		}
		*dp = d->next;
		bus1_node_destroy(bus->c->peer, &d->node, 1,
				  BUS1_NODES_DESTROY_FLAG_RELEASE_HANDLES);
		bus1_handle_release(bus->c->peer, d->inbox);
		if (d->reply != BUS1_HANDLE_INVALID)
			bus1_handle_release(bus->c->peer, d->reply);
		free(d);
	}
}

/* where the replies of the callee behind @door go: a node only it knows */
struct rpath *b1di_rpath_get(struct b1d_bus *bus, __u64 door)
{
	struct rpath *rp;

	for (rp = bus->rpaths; rp; rp = rp->next)
		if (rp->door == door)
			return rp;
	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return NULL;
	if (bus1_node_new(bus->c->peer, &rp->node) < 0) {
		free(rp);
		return NULL;
	}
	rp->door = door;
	rp->next = bus->rpaths;
	bus->rpaths = rp;
	return rp;
}

/* @door was forgotten by one name: its reply node goes with the last */
void b1di_rpath_put(struct b1d_bus *bus, __u64 door)
{
	struct rpath *rp, **pp;
	struct peer_ent *p;

	for (p = bus->peers; p; p = p->next)
		if (p->door == door)
			return;
	for (pp = &bus->rpaths; (rp = *pp); pp = &rp->next) {
		if (rp->door != door)
			continue;
		*pp = rp->next;
		bus1_node_destroy(bus->c->peer, &rp->node, 1,
				  BUS1_NODES_DESTROY_FLAG_RELEASE_HANDLES);
		free(rp);
		return;
	}
}

void b1di_doors_free(struct b1d_bus *bus)
{
	struct rpath *rp;
	struct door *d;

	/* (closing the peer drops the nodes and handles) */
	while ((d = bus->doors)) {
		bus->doors = d->next;
		free(d);
	}
	while ((rp = bus->rpaths)) {
		bus->rpaths = rp->next;
		free(rp);
	}
}

/*
 * Ask @p's owner (inbox @inbox) for a door: Door.Open(t nonce) to its
 * inbox. The callee sends the door to the inbox the bus gives it for our
 * unique name, so only we can get a door in our name; the nonce, only ever
 * sent to the callee's inbox, shows the answer is the callee's.
 */
__u64 b1di_door_open(struct b1d_bus *bus, struct peer_ent *p, __u64 inbox)
{
	sd_bus_message *m = NULL, *r = NULL;
	__u64 door = BUS1_HANDLE_INVALID;
	uint64_t nonce, echo = 0;
	int ret;

	if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
		return BUS1_HANDLE_INVALID;
	ret = sd_bus_message_new_method_call(bus->pump.sd, &m, p->name, "/",
					     DOOR_IFACE, "Open");
	if (ret >= 0)
		ret = sd_bus_message_append(m, "t", nonce);
	if (ret >= 0)
		ret = b1di_call_at(bus, m, inbox, true, NULL, bus->c->reply_node,
				   -1, &r, &door);
	sd_bus_message_unref(m);
	if (ret < 0)
		return BUS1_HANDLE_INVALID;
	if (b1di_type(r) != SD_BUS_MESSAGE_METHOD_RETURN ||
	    sd_bus_message_read(r, "t", &echo) <= 0 || echo != nonce) {
		if (door != BUS1_HANDLE_INVALID)
			bus1_handle_release(bus->c->peer, door);
		door = BUS1_HANDLE_INVALID;
	}
	sd_bus_message_unref(r);
	p->door = door;
	return door;
}

/*
 * the inbox of @caller, who asks us for a door: the bus gives it only if
 * the send rules let @caller send to us, and only to us
 */
static __u64 caller_inbox(struct b1d_bus *bus, const char *caller)
{
	sd_bus_message *m, *r = NULL;
	__u64 h = BUS1_HANDLE_INVALID;

	m = b1di_driver_call(bus, B1D_IFACE, "GetCallerHandle");
	if (!m)
		return BUS1_HANDLE_INVALID;
	if (sd_bus_message_append(m, "s", caller) >= 0 &&
	    !b1di_bus_call(bus, m, &r, &h))
		sd_bus_message_unref(r);
	sd_bus_message_unref(m);
	return h;
}

/* Door.Open(t nonce) on our inbox: the door goes to the claimed caller */
static void door_grant(struct b1d_bus *bus, sd_bus_message *m)
{
	const char *caller = sd_bus_message_get_sender(m);
	sd_bus_message *r = NULL;
	uint64_t nonce;
	struct door *d;
	__u64 inbox;

	if (!caller || caller[0] != ':' || strlen(caller) >= sizeof(d->caller) ||
	    sd_bus_message_read(m, "t", &nonce) <= 0)
		return;
	/* one door per caller, however often (and by whom) it is asked for */
	for (d = bus->doors; d; d = d->next)
		if (!strcmp(d->caller, caller))
			break;
	if (!d) {
		/* refused: the caller may not call us, it gets no door */
		inbox = caller_inbox(bus, caller);
		if (inbox == BUS1_HANDLE_INVALID)
			return;
		d = calloc(1, sizeof(*d));
		if (!d || bus1_node_new(bus->c->peer, &d->node) < 0) {
			bus1_handle_release(bus->c->peer, inbox);
			free(d);
			return;
		}
		d->inbox = inbox;
		d->reply = BUS1_HANDLE_INVALID;
		strcpy(d->caller, caller);
		d->next = bus->doors;
		bus->doors = d;
	}
	/* (its destination is the call's sender, set by sd-bus) */
	if (sd_bus_message_new_method_return(m, &r) >= 0 &&
	    sd_bus_message_append(r, "t", nonce) >= 0)
		b1di_send_to(bus, r, d->inbox, &d->node, NULL);
	sd_bus_message_unref(r);
}

/*
 * Who sent call @q, and where its reply goes. A call on a door is from the
 * door's caller: its sender field must say so (a received message is
 * sealed, we cannot write the right one in), else it is dropped. One on
 * our inbox is trusted only if it carries our handle to the broker's node
 * for us, which nobody but the broker can attach (the broker wrote its
 * sender).
 */
bool b1di_call_origin(struct b1d_bus *bus, struct qmsg *q, __u64 *reply_to)
{
	struct door *d = door_find(bus, q->node);
	const char *sender = sd_bus_message_get_sender(q->m);
	const char *iface, *member;

	if (d) {
		/*
		 * a handle on a call on the door is the caller's node for our
		 * replies: only the caller holds the door, so only it can set
		 * where they go (a reply on its inbox would not be believed)
		 */
		if (q->handle != BUS1_HANDLE_INVALID) {
			if (d->reply != BUS1_HANDLE_INVALID)
				bus1_handle_release(bus->c->peer, d->reply);
			d->reply = q->handle;
			q->handle = BUS1_HANDLE_INVALID;
		}
		*reply_to = d->reply != BUS1_HANDLE_INVALID ? d->reply :
							   d->inbox;
		if (sender && !strcmp(sender, d->caller))
			return true;
		if (!bus->n_refused++)
			fprintf(stderr, "libbus1-dbus %s: %s (first: %s claiming %s, door of %s)\n",
				bus->unique, "refusing calls not from their door's caller",
				sd_bus_message_get_member(q->m) ?: "",
				sender ?: "no sender", d->caller);
		return false;
	}
	*reply_to = bus->c->broker;
	if (q->node != bus->c->reply_node)
		return false;
	if (q->handle == bus->c->broker)
		return true;
	iface = sd_bus_message_get_interface(q->m);
	member = sd_bus_message_get_member(q->m);
	if (iface && member && !strcmp(iface, DOOR_IFACE) &&
	    !strcmp(member, "Open"))
		door_grant(bus, q->m);
	else if (!bus->n_refused++)
		fprintf(stderr, "libbus1-dbus %s: %s (first: %s claiming %s)\n",
			bus->unique, "refusing direct calls not on a door",
			member ?: "", sender ?: "no sender");
	return false;
}
