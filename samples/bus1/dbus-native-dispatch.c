// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libbus1-dbus dispatch (dbus-native.h): what b1d_process() does with a
 * received message (a signal to the matching callbacks, a call to its
 * object's method and the reply back where the call came from; the Peer
 * and Introspectable calls no method took to dbus-native-introspect.c,
 * the Properties ones to dbus-native-props.c),
 * and the objects and match rules it dispatches to. Who sent a message is
 * decided before: signal_origin_ok() here, b1di_call_origin() for calls
 * (dbus-native-door.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dbus-native-int.h"

static bool eq_or_any(const char *want, const char *have)
{
	return !want || (have && !strcmp(want, have));
}

static void dispatch_signal(struct b1d_bus *bus, sd_bus_message *m)
{
	const char *sender = sd_bus_message_get_sender(m);
	struct smatch *s;

	for (s = bus->matches; s; s = s->next) {
		/* a well-known sender was checked by the bus */
		if (s->sender && s->sender[0] == ':' &&
		    !eq_or_any(s->sender, sender))
			continue;
		if (eq_or_any(s->path, sd_bus_message_get_path(m)) &&
		    eq_or_any(s->iface, sd_bus_message_get_interface(m)) &&
		    eq_or_any(s->member, sd_bus_message_get_member(m))) {
			/* each callback reads it from the start */
			sd_bus_message_rewind(m, true);
			s->fn(bus, m, s->userdata);
		}
	}
}

static sd_bus_message *error_reply(sd_bus_message *call, const char *name,
				   const char *text)
{
	sd_bus_message *r = NULL;

	sd_bus_message_new_method_errorf(call, &r, name, "%s", text);
	return r;
}

static sd_bus_message *dispatch_call(struct b1d_bus *bus, sd_bus_message *m)
{
	const char *path = sd_bus_message_get_path(m);
	const char *iface = sd_bus_message_get_interface(m);
	const char *member = sd_bus_message_get_member(m);
	const struct b1d_method *me;
	struct object *o;
	bool path_known = false;
	sd_bus_message *r;
	char text[512];

	for (o = bus->objects; o; o = o->next) {
		if (strcmp(o->path, path))
			continue;
		path_known = true;
		if (iface && strcmp(o->iface, iface))
			continue;
		for (me = o->methods; me->member; me++)
			if (!strcmp(me->member, member))
				return me->fn(bus, m, o->userdata);
	}
	if (b1di_builtin(bus, m, &r))
		return r;
	if (path_known && b1di_props_call(bus, m, &r))
		return r;
	if (!path_known) {
		snprintf(text, sizeof(text), "No object at %s", path);
		return error_reply(m, SD_BUS_ERROR_UNKNOWN_OBJECT, text);
	}
	snprintf(text, sizeof(text), "No method %s.%s at %s", iface ?: "*",
		 member, path);
	return error_reply(m, SD_BUS_ERROR_UNKNOWN_METHOD, text);
}

/*
 * Is signal @q from the bus? Anybody holding a handle to our inbox can send
 * a signal there, with any sender and any destination. The bus sends
 * broadcasts to our signal node, whose only other holder is the broker
 * (we gave it the handle with Hello), and unicasts to the inbox with our
 * broker handle attached; the bus wrote their sender.
 */
static bool signal_origin_ok(struct b1d_bus *bus, struct qmsg *q)
{
	if (q->node == bus->sigbox || q->from_bus)
		return true;
	if (!bus->n_forged_signals++)
		fprintf(stderr, "libbus1-dbus %s: %s (first: %s.%s claiming %s)\n",
			bus->unique, "dropping signals not from the bus",
			sd_bus_message_get_interface(q->m) ?: "",
			sd_bus_message_get_member(q->m) ?: "",
			sd_bus_message_get_sender(q->m) ?: "no sender");
	return false;
}

static void handle(struct b1d_bus *bus, struct qmsg *q)
{
	sd_bus_message *r;
	__u64 reply_to;

	switch (b1di_type(q->m)) {
	case SD_BUS_MESSAGE_SIGNAL:
		if (signal_origin_ok(bus, q))
			dispatch_signal(bus, q->m);
		break;
	case SD_BUS_MESSAGE_METHOD_CALL:
		if (!b1di_call_origin(bus, q, &reply_to))
			break;
		r = dispatch_call(bus, q->m);
		if (!r)
			break;
		/*
		 * (sd-bus gave it the call's sender as destination; the
		 * sender, ours, is set as it is sent)
		 */
		if (sd_bus_message_get_expect_reply(q->m) > 0 &&
		    b1di_send_to(bus, r, reply_to, NULL, NULL) &&
		    reply_to != bus->c->broker)
			b1di_send_to(bus, r, bus->c->broker, NULL, NULL);
		sd_bus_message_unref(r);
		break;
	case SD_BUS_MESSAGE_METHOD_RETURN:
	case SD_BUS_MESSAGE_METHOD_ERROR:
		b1di_async_reply(bus, q);
		break;
	}
	/* late replies and the like are dropped */
}

static struct qmsg *dequeue(struct b1d_bus *bus)
{
	struct qmsg *q = bus->q;

	if (q) {
		bus->q = q->next;
		if (!bus->q)
			bus->q_tail = &bus->q;
	}
	return q;
}

int b1d_process(struct b1d_bus *bus)
{
	struct qmsg *q;
	int r;

	/* a timeout first: a busy queue does not postpone it */
	if (b1di_async_expire(bus))
		return 1;
	q = dequeue(bus);
	if (!q) {
		if (bus->broker_dead)
			return -ESHUTDOWN;
		r = b1di_recv_one(bus, &q);
		if (r < 0)
			return r;
		/* (a NODE_DESTROY may have queued NoReplies) */
		if (!r)
			q = dequeue(bus);
		if (!q)
			return 0;
	}
	handle(bus, q);
	b1di_qmsg_free(bus, q);
	return 1;
}

int b1d_queued(struct b1d_bus *bus)
{
	struct qmsg *q;
	int n = 0;

	for (q = bus->q; q; q = q->next)
		n++;
	return n;
}

/* --- objects and match rules ------------------------------------------ */

/* an object of b1d_add_object*(): any of the tables may be NULL */
static int add_object(struct b1d_bus *bus, const char *path,
		      const char *interface, const struct b1d_method *methods,
		      const struct b1d_property *props,
		      const struct b1d_signal *signals, void *userdata)
{
	static const struct b1d_method no_methods[] = { {} };
	const struct b1d_property *pr;
	const struct b1d_method *me;
	const struct b1d_signal *si;
	struct object *o;

	if (!methods)
		methods = no_methods;
	if (!sd_bus_object_path_is_valid(path) ||
	    !sd_bus_interface_name_is_valid(interface) ||
	    ((props || signals) && b1di_std_iface(interface)))
		return -EINVAL;
	/* (what Introspect puts in its XML unescaped) */
	for (me = methods; me->member; me++)
		if (!sd_bus_member_name_is_valid(me->member) ||
		    (me->in && !b1di_signature_valid(me->in)) ||
		    (me->out && !b1di_signature_valid(me->out)))
			return -EINVAL;
	for (pr = props; pr && pr->name; pr++)
		if (!sd_bus_member_name_is_valid(pr->name) || !pr->get ||
		    !pr->sig || !b1di_signature_single(pr->sig))
			return -EINVAL;
	for (si = signals; si && si->member; si++)
		if (!b1di_signal_valid(si))
			return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->path = strdup(path);
	o->iface = strdup(interface);
	if (!o->path || !o->iface) {
		free(o->path);
		free(o->iface);
		free(o);
		return -ENOMEM;
	}
	o->methods = methods;
	o->props = props;
	o->signals = signals;
	o->userdata = userdata;
	o->next = bus->objects;
	bus->objects = o;
	return 0;
}

int b1d_add_object(struct b1d_bus *bus, const char *path,
		   const char *interface, const struct b1d_method *methods,
		   void *userdata)
{
	return add_object(bus, path, interface, methods, NULL, NULL, userdata);
}

int b1d_add_object_props(struct b1d_bus *bus, const char *path,
			 const char *interface,
			 const struct b1d_method *methods,
			 const struct b1d_property *props, void *userdata)
{
	return add_object(bus, path, interface, methods, props, NULL,
			  userdata);
}

int b1d_add_object_signals(struct b1d_bus *bus, const char *path,
			   const char *interface,
			   const struct b1d_signal *signals)
{
	return add_object(bus, path, interface, NULL, NULL, signals, NULL);
}

static bool rule_add(char *rule, size_t size, const char *key,
		     const char *value)
{
	size_t len = strlen(rule);

	if (!value)
		return true;
	/* values with quotes would need escaping: D-Bus names never have them */
	if (strchr(value, '\''))
		return false;
	return snprintf(rule + len, size - len, ",%s='%s'", key, value) <
	       (int)(size - len);
}

static char *dup_or_null(const char *s, bool *fail)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = true;
	return d;
}

int b1d_match_signal(struct b1d_bus *bus, const char *sender,
		     const char *path, const char *interface,
		     const char *member,
		     void (*fn)(struct b1d_bus *bus, sd_bus_message *signal,
				void *userdata),
		     void *userdata)
{
	sd_bus_message *m, *r = NULL;
	char rule[1024] = "type='signal'";
	struct smatch *s;
	bool fail = false;
	int ret;

	if (!rule_add(rule, sizeof(rule), "sender", sender) ||
	    !rule_add(rule, sizeof(rule), "path", path) ||
	    !rule_add(rule, sizeof(rule), "interface", interface) ||
	    !rule_add(rule, sizeof(rule), "member", member))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->sender = dup_or_null(sender, &fail);
	s->path = dup_or_null(path, &fail);
	s->iface = dup_or_null(interface, &fail);
	s->member = dup_or_null(member, &fail);
	s->fn = fn;
	s->userdata = userdata;
	m = b1di_driver_call(bus, NULL, "AddMatch");
	ret = -ENOMEM;
	if (!fail && m && sd_bus_message_append(m, "s", rule) >= 0)
		ret = b1di_bus_call(bus, m, &r, NULL);
	sd_bus_message_unref(m);
	if (ret < 0) {
		free(s->sender);
		free(s->path);
		free(s->iface);
		free(s->member);
		free(s);
		return ret == -EREMOTEIO ? -EINVAL : ret;
	}
	sd_bus_message_unref(r);
	s->next = bus->matches;
	bus->matches = s;
	return 0;
}
