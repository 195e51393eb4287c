// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: well-known names, their owners and the queue of
 * connections waiting to own them (RequestName/ReleaseName semantics of
 * the D-Bus specification), and the NameOwnerChanged/NameAcquired/NameLost
 * signals.
 *
 * A name is found through bus->by_name; each owner entry is in two lists,
 * the queue of its name and the names of its connection (conn->owned), so
 * neither the send rules nor a disconnect walk the names of the bus.
 */
#include <stdlib.h>
#include <string.h>
#include "dbus-bus.h"

/**
 * names_lookup() - a well-known name that has an owner or a queue
 * @b:		the bus
 * @name:	the name
 *
 * Return: the name, or NULL.
 */
struct name *names_lookup(struct bus *b, const char *name)
{
	return map_get_str(&b->by_name, name, struct name, by_name);
}

/**
 * names_owner() - the primary owner of a well-known name
 * @b:		the bus
 * @name:	the name
 *
 * Return: the connection, or NULL.
 */
struct bconn *names_owner(struct bus *b, const char *name)
{
	struct name *n = names_lookup(b, name);

	return n && n->owners ? n->owners->conn : NULL;
}

bool names_owns(struct bconn *c, const char *name)
{
	return names_owner(c->bus, name) == c;
}

struct send_dst {
	struct bus *bus;
	struct bconn *to;	/* NULL: nobody owns @name yet */
	const char *name;	/* as addressed, or NULL */
};

/*
 * A send rule names a connection by the well-known names it owns (as
 * dbus-daemon's send_destination does), so calling its unique name instead
 * is no way around a deny; a name without owner (activation) is matched
 * as addressed.
 */
static bool send_dst_matches(void *ctx, const char *pattern)
{
	struct send_dst *d = ctx;
	struct owner *o;

	if (!d->to)
		return d->name && d->name[0] != ':' &&
		       policy_pattern_match(pattern, d->name);
	for (o = d->to->owned; o; o = o->cnext)
		if (o->name->owners == o &&
		    policy_pattern_match(pattern, o->name->name))
			return true;
	return false;
}

bool names_may_send(struct bconn *from, struct bconn *to, const char *name)
{
	struct send_dst d = { from->bus, to, name };

	return policy_may_send(&from->bus->policy, from->uid,
			       send_dst_matches, &d);
}

/* the D-Bus specification's bus name rules, for well-known names */
bool names_valid_wellknown(const char *s)
{
	size_t i, n = strlen(s);
	bool dot = false;
	char prev = '.';

	if (!n || n > DBUS_MAXIMUM_NAME_LENGTH || s[0] == ':')
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '.') {
			if (prev == '.')
				return false;
			dot = true;
		} else if (ch >= '0' && ch <= '9') {
			if (prev == '.')
				return false;
		} else if (!((ch >= 'a' && ch <= 'z') ||
			     (ch >= 'A' && ch <= 'Z') || ch == '_' ||
			     ch == '-')) {
			return false;
		}
		prev = ch;
	}
	return dot && prev != '.';
}

void names_signal_to(struct bconn *c, const char *member, const char *name)
{
	DBusMessage *m = driver_signal(member);

	if (!m)
		return;
	if (dbus_message_set_destination(m, c->unique) &&
	    dbus_message_append_args(m, DBUS_TYPE_STRING, &name,
				     DBUS_TYPE_INVALID)) {
		bus_monitor(c->bus, m);
		bus_deliver(c, m);
	}
	dbus_message_unref(m);
}

void names_owner_changed(struct bus *b, const char *name, const char *old,
			 const char *new)
{
	DBusMessage *m = driver_signal("NameOwnerChanged");

	if (!m)
		return;
	if (dbus_message_append_args(m, DBUS_TYPE_STRING, &name,
				     DBUS_TYPE_STRING, &old,
				     DBUS_TYPE_STRING, &new,
				     DBUS_TYPE_INVALID)) {
		bus_monitor(b, m);
		bus_broadcast(b, m);
	}
	dbus_message_unref(m);
	bus_log(b, 1, "name %s: owner '%s' -> '%s'", name, old, new);
}

static struct owner **owner_find(struct name *n, struct bconn *c)
{
	struct owner **pp;

	for (pp = &n->owners; *pp; pp = &(*pp)->next)
		if ((*pp)->conn == c)
			return pp;
	return NULL;
}

/* a new owner entry of @c for @n, in @c's list but in no queue yet */
static struct owner *owner_new(struct bconn *c, struct name *n, __u32 flags)
{
	struct owner *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->conn = c;
	o->name = n;
	o->flags = flags;
	o->cnext = c->owned;
	if (c->owned)
		c->owned->cpprev = &o->cnext;
	o->cpprev = &c->owned;
	c->owned = o;
	c->n_names++;
	return o;
}

/* @o, already out of its name's queue, leaves its connection's list */
static void owner_free(struct owner *o)
{
	*o->cpprev = o->cnext;
	if (o->cnext)
		o->cnext->cpprev = o->cpprev;
	o->conn->n_names--;
	free(o);
}

static void owner_unlink(struct owner **pp)
{
	struct owner *o = *pp;

	*pp = o->next;
	owner_free(o);
}

static struct name *name_new(struct bus *b, const char *name)
{
	struct name *n = calloc(1, sizeof(*n));

	if (n)
		n->name = strdup(name);
	if (!n || !n->name) {
		free(n);
		return NULL;
	}
	n->by_name.key.str = n->name;
	map_add(&b->by_name, &n->by_name);
	n->next = b->names;
	if (b->names)
		b->names->prev = n;
	b->names = n;
	return n;
}

static void name_free_if_unused(struct bus *b, struct name *n)
{
	if (n->owners)
		return;
	map_del(&b->by_name, &n->by_name);
	if (n->prev)
		n->prev->next = n->next;
	else
		b->names = n->next;
	if (n->next)
		n->next->prev = n->prev;
	free(n->name);
	free(n);
}

/* primary owner changes from old (may be NULL) to the queue head */
static void primary_changed(struct bus *b, struct name *n, struct bconn *old)
{
	struct bconn *new = n->owners ? n->owners->conn : NULL;
	char *name = strdup(n->name);

	if (!name)
		return;
	if (old)
		names_signal_to(old, "NameLost", name);
	name_free_if_unused(b, n);
	names_owner_changed(b, name, old ? old->unique : "",
			    new ? new->unique : "");
	if (new) {
		names_signal_to(new, "NameAcquired", name);
		activation_name_acquired(b, name);
	}
	free(name);
}

int names_request(struct bconn *c, const char *name, __u32 flags,
		  DBusError *err)
{
	struct bus *b = c->bus;
	struct owner *o, **pp, *prim;
	struct bconn *old;
	struct name *n;

	if (!names_valid_wellknown(name) || !strcmp(name, BUS_DRIVER_NAME)) {
		dbus_set_error(err, DBUS_ERROR_INVALID_ARGS,
			       "Requested bus name \"%s\" is not valid", name);
		return -1;
	}
	if (!policy_may_own(&b->policy, name, c->uid)) {
		dbus_set_error(err, DBUS_ERROR_ACCESS_DENIED,
			       "Connection \"%s\" is not allowed to own the service \"%s\" due to security policies in the configuration file",
			       c->unique, name);
		return -1;
	}
	n = names_lookup(b, name);
	pp = n ? owner_find(n, c) : NULL;
	if (!pp && c->n_names >= b->limits.max_names_per_connection) {
		dbus_set_error(err, DBUS_ERROR_LIMITS_EXCEEDED,
			       "Connection \"%s\" is not allowed to own more services (increase limits in configuration file if required; max_names_per_connection=%u)",
			       c->unique, b->limits.max_names_per_connection);
		return -1;
	}
	if (!n) {
		n = name_new(b, name);
		o = n ? owner_new(c, n, flags) : NULL;
		if (!o) {
			if (n)
				name_free_if_unused(b, n);
			dbus_set_error(err, DBUS_ERROR_NO_MEMORY, "Out of memory");
			return -1;
		}
		n->owners = o;
		primary_changed(b, n, NULL);
		return DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER;
	}
	prim = n->owners;
	if (prim->conn == c) {
		prim->flags = flags;
		return DBUS_REQUEST_NAME_REPLY_ALREADY_OWNER;
	}
	if (!((flags & DBUS_NAME_FLAG_REPLACE_EXISTING) &&
	      (prim->flags & DBUS_NAME_FLAG_ALLOW_REPLACEMENT))) {
		if (flags & DBUS_NAME_FLAG_DO_NOT_QUEUE) {
			if (pp)
				owner_unlink(pp);
			return DBUS_REQUEST_NAME_REPLY_EXISTS;
		}
		if (pp) {
			(*pp)->flags = flags;
			return DBUS_REQUEST_NAME_REPLY_IN_QUEUE;
		}
		o = owner_new(c, n, flags);
		if (!o) {
			dbus_set_error(err, DBUS_ERROR_NO_MEMORY, "Out of memory");
			return -1;
		}
		for (pp = &n->owners; *pp; pp = &(*pp)->next)
			;
		*pp = o;
		return DBUS_REQUEST_NAME_REPLY_IN_QUEUE;
	}
	/* replace the primary owner, which is queued right behind us
	 * unless it asked not to be queued
	 */
	if (pp) {
		o = *pp;
		*pp = o->next;
	} else {
		o = owner_new(c, n, flags);
		if (!o) {
			dbus_set_error(err, DBUS_ERROR_NO_MEMORY, "Out of memory");
			return -1;
		}
	}
	o->flags = flags;
	n->owners = o;
	old = prim->conn;
	if (prim->flags & DBUS_NAME_FLAG_DO_NOT_QUEUE) {
		o->next = prim->next;
		owner_free(prim);
	} else {
		o->next = prim;
	}
	primary_changed(b, n, old);
	return DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER;
}

int names_release(struct bconn *c, const char *name, DBusError *err)
{
	struct bus *b = c->bus;
	struct owner **pp;
	struct name *n;

	if (!names_valid_wellknown(name) || !strcmp(name, BUS_DRIVER_NAME)) {
		dbus_set_error(err, DBUS_ERROR_INVALID_ARGS,
			       "Given bus name \"%s\" is not valid", name);
		return -1;
	}
	n = names_lookup(b, name);
	if (!n)
		return DBUS_RELEASE_NAME_REPLY_NON_EXISTENT;
	pp = owner_find(n, c);
	if (!pp)
		return DBUS_RELEASE_NAME_REPLY_NOT_OWNER;
	if (pp == &n->owners) {
		owner_unlink(pp);
		primary_changed(b, n, c);
	} else {
		owner_unlink(pp);
	}
	return DBUS_RELEASE_NAME_REPLY_RELEASED;
}

/**
 * names_release_all() - a connection leaves every queue it is in
 * @c:		the connection
 *
 * Those it owns pass to the next in their queue (or go), with the signals.
 */
void names_release_all(struct bconn *c)
{
	struct bus *b = c->bus;
	struct owner **pp;
	struct name *n;

	while (c->owned) {
		n = c->owned->name;
		pp = owner_find(n, c);
		if (pp == &n->owners) {
			owner_unlink(pp);
			primary_changed(b, n, c);
		} else {
			owner_unlink(pp);
		}
	}
}
