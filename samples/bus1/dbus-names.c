// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: well-known names, their owners and the queue of
 * connections waiting to own them (RequestName/ReleaseName semantics of
 * the D-Bus specification), and the NameOwnerChanged/NameAcquired/NameLost
 * signals.
 */
#include <stdlib.h>
#include <string.h>
#include "dbus-bus.h"

struct name *names_lookup(struct bus *b, const char *name)
{
	struct name *n;

	for (n = b->names; n; n = n->next)
		if (!strcmp(n->name, name))
			return n;
	return NULL;
}

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
	struct name *n;

	if (!d->to)
		return d->name && d->name[0] != ':' &&
		       policy_pattern_match(pattern, d->name);
	for (n = d->bus->names; n; n = n->next)
		if (n->owners && n->owners->conn == d->to &&
		    policy_pattern_match(pattern, n->name))
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

static void owner_unlink(struct owner **pp)
{
	struct owner *o = *pp;

	*pp = o->next;
	o->conn->n_names--;
	free(o);
}

static void name_free_if_unused(struct bus *b, struct name *n)
{
	struct name **pp;

	if (n->owners)
		return;
	for (pp = &b->names; *pp != n; pp = &(*pp)->next)
		;
	*pp = n->next;
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
		n = calloc(1, sizeof(*n));
		o = calloc(1, sizeof(*o));
		if (n)
			n->name = strdup(name);
		if (!n || !o || !n->name) {
			free(n);
			free(o);
			dbus_set_error(err, DBUS_ERROR_NO_MEMORY, "Out of memory");
			return -1;
		}
		n->next = b->names;
		b->names = n;
		o->conn = c;
		o->flags = flags;
		n->owners = o;
		c->n_names++;
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
		o = calloc(1, sizeof(*o));
		if (!o) {
			dbus_set_error(err, DBUS_ERROR_NO_MEMORY, "Out of memory");
			return -1;
		}
		o->conn = c;
		o->flags = flags;
		for (pp = &n->owners; *pp; pp = &(*pp)->next)
			;
		*pp = o;
		c->n_names++;
		return DBUS_REQUEST_NAME_REPLY_IN_QUEUE;
	}
	/* replace the primary owner, which is queued right behind us
	 * unless it asked not to be queued
	 */
	if (pp) {
		o = *pp;
		*pp = o->next;
	} else {
		o = calloc(1, sizeof(*o));
		if (!o) {
			dbus_set_error(err, DBUS_ERROR_NO_MEMORY, "Out of memory");
			return -1;
		}
		o->conn = c;
		c->n_names++;
	}
	o->flags = flags;
	n->owners = o;
	old = prim->conn;
	if (prim->flags & DBUS_NAME_FLAG_DO_NOT_QUEUE) {
		o->next = prim->next;
		old->n_names--;
		free(prim);
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

void names_release_all(struct bconn *c)
{
	struct bus *b = c->bus;
	struct name *n, *next;
	struct owner **pp;

	for (n = b->names; n && c->n_names; n = next) {
		next = n->next;
		pp = owner_find(n, c);
		if (!pp)
			continue;
		if (pp == &n->owners) {
			owner_unlink(pp);
			primary_changed(b, n, c);
		} else {
			owner_unlink(pp);
		}
	}
}
