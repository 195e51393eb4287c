// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: match rules (AddMatch/RemoveMatch, BecomeMonitor),
 * parsed and evaluated as the D-Bus specification's "Match Rules" section
 * describes: type, sender, interface, member, path, path_namespace,
 * destination, eavesdrop, argN, argNpath and arg0namespace.
 */
#include <stdlib.h>
#include <string.h>
#include "dbus-bus.h"

#define MATCH_MAX_ARGS	64	/* argN: N is 0..63 */

struct match {
	struct match *next;
	int type;			/* DBUS_MESSAGE_TYPE_*, 0: any */
	char *sender, *interface, *member, *path, *path_namespace;
	char *destination, *arg0namespace;
	bool eavesdrop;
	unsigned int n_args;		/* highest argN + 1 */
	char *args[MATCH_MAX_ARGS];
	bool arg_path[MATCH_MAX_ARGS];
};

void match_free(struct match *m)
{
	unsigned int i;

	if (!m)
		return;
	free(m->sender);
	free(m->interface);
	free(m->member);
	free(m->path);
	free(m->path_namespace);
	free(m->destination);
	free(m->arg0namespace);
	for (i = 0; i < m->n_args; i++)
		free(m->args[i]);
	free(m);
}

bool match_eavesdrop(const struct match *m)
{
	return m->eavesdrop;
}

static int rule_invalid(DBusError *err, const char *rule, const char *why)
{
	dbus_set_error(err, DBUS_ERROR_MATCH_RULE_INVALID,
		       "Match rule \"%s\" is invalid: %s", rule, why);
	return -1;
}

static bool valid_namespace(const char *s)
{
	/* a bus name or interface prefix: the name rules, dot optional */
	char tmp[DBUS_MAXIMUM_NAME_LENGTH + 3];
	size_t n = strlen(s);

	if (!n || n > DBUS_MAXIMUM_NAME_LENGTH)
		return false;
	memcpy(tmp, s, n);
	memcpy(tmp + n, ".x", 3);
	return names_valid_wellknown(strchr(s, '.') ? s : tmp);
}

static int set_key(struct match *m, const char *rule, const char *key,
		   const char *val, DBusError *err)
{
	char **field = NULL;
	unsigned long idx;
	char *end;

	if (!strcmp(key, "type")) {
		if (m->type)
			return rule_invalid(err, rule, "key 'type' given twice");
		m->type = dbus_message_type_from_string(val);
		if (m->type == DBUS_MESSAGE_TYPE_INVALID)
			return rule_invalid(err, rule, "unknown message type");
		return 0;
	}
	if (!strcmp(key, "eavesdrop")) {
		if (strcmp(val, "true") && strcmp(val, "false"))
			return rule_invalid(err, rule, "eavesdrop must be true or false");
		m->eavesdrop = !strcmp(val, "true");
		return 0;
	}
	if (!strcmp(key, "sender")) {
		if (!dbus_validate_bus_name(val, NULL))
			return rule_invalid(err, rule, "invalid sender");
		field = &m->sender;
	} else if (!strcmp(key, "interface")) {
		if (!dbus_validate_interface(val, NULL))
			return rule_invalid(err, rule, "invalid interface");
		field = &m->interface;
	} else if (!strcmp(key, "member")) {
		if (!dbus_validate_member(val, NULL))
			return rule_invalid(err, rule, "invalid member");
		field = &m->member;
	} else if (!strcmp(key, "path")) {
		if (!dbus_validate_path(val, NULL))
			return rule_invalid(err, rule, "invalid path");
		field = &m->path;
	} else if (!strcmp(key, "path_namespace")) {
		if (!dbus_validate_path(val, NULL))
			return rule_invalid(err, rule, "invalid path_namespace");
		field = &m->path_namespace;
	} else if (!strcmp(key, "destination")) {
		if (!dbus_validate_bus_name(val, NULL))
			return rule_invalid(err, rule, "invalid destination");
		field = &m->destination;
	} else if (!strcmp(key, "arg0namespace")) {
		if (!valid_namespace(val))
			return rule_invalid(err, rule, "invalid arg0namespace");
		field = &m->arg0namespace;
	} else if (!strncmp(key, "arg", 3) && key[3] >= '0' && key[3] <= '9') {
		idx = strtoul(key + 3, &end, 10);
		if (idx >= MATCH_MAX_ARGS || (key[3] == '0' && end != key + 4))
			return rule_invalid(err, rule, "argN: N must be 0 to 63");
		if (*end && strcmp(end, "path"))
			return rule_invalid(err, rule, "unknown key");
		if (m->args[idx])
			return rule_invalid(err, rule, "an argument given twice");
		m->arg_path[idx] = *end;
		if (idx + 1 > m->n_args)
			m->n_args = idx + 1;
		field = &m->args[idx];
	} else {
		return rule_invalid(err, rule, "unknown key");
	}
	if (*field)
		return rule_invalid(err, rule, "a key given twice");
	*field = strdup(val);
	if (!*field) {
		dbus_set_error(err, DBUS_ERROR_NO_MEMORY, "Out of memory");
		return -1;
	}
	return 0;
}

struct match *match_parse(const char *rule, DBusError *err)
{
	char key[64], *val;
	const char *p = rule, *k;
	size_t kn, vn;
	bool quoted;
	struct match *m;

	if (strlen(rule) > DBUS_MAXIMUM_MATCH_RULE_LENGTH) {
		rule_invalid(err, "...", "longer than 1024 bytes");
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	val = malloc(strlen(rule) + 1);
	if (!m || !val) {
		free(m);
		free(val);
		dbus_set_error(err, DBUS_ERROR_NO_MEMORY, "Out of memory");
		return NULL;
	}
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		k = p;
		while (*p && *p != '=')
			p++;
		kn = p - k;
		while (kn && (k[kn - 1] == ' ' || k[kn - 1] == '\t'))
			kn--;
		if (!*p || !kn || kn >= sizeof(key)) {
			rule_invalid(err, rule, "expected key='value'");
			goto fail;
		}
		memcpy(key, k, kn);
		key[kn] = 0;
		p++;
		/* quoting per the specification: '...' is literal, \' a quote */
		vn = 0;
		quoted = false;
		for (; *p && (quoted || *p != ','); p++) {
			if (quoted) {
				if (*p == '\'')
					quoted = false;
				else
					val[vn++] = *p;
			} else if (*p == '\'') {
				quoted = true;
			} else if (*p == '\\' && p[1] == '\'') {
				val[vn++] = '\'';
				p++;
			} else {
				val[vn++] = *p;
			}
		}
		val[vn] = 0;
		if (quoted) {
			rule_invalid(err, rule, "unbalanced quotes");
			goto fail;
		}
		if (*p == ',')
			p++;
		if (set_key(m, rule, key, val, err) < 0)
			goto fail;
	}
	if (m->path && m->path_namespace) {
		rule_invalid(err, rule, "path and path_namespace together");
		goto fail;
	}
	free(val);
	return m;
fail:
	free(val);
	match_free(m);
	return NULL;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool match_equal(const struct match *a, const struct match *b)
{
	unsigned int i;

	if (a->type != b->type || a->eavesdrop != b->eavesdrop ||
	    a->n_args != b->n_args || !str_eq(a->sender, b->sender) ||
	    !str_eq(a->interface, b->interface) ||
	    !str_eq(a->member, b->member) || !str_eq(a->path, b->path) ||
	    !str_eq(a->path_namespace, b->path_namespace) ||
	    !str_eq(a->destination, b->destination) ||
	    !str_eq(a->arg0namespace, b->arg0namespace))
		return false;
	for (i = 0; i < a->n_args; i++)
		if (!str_eq(a->args[i], b->args[i]) ||
		    a->arg_path[i] != b->arg_path[i])
			return false;
	return true;
}

static bool path_prefix(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	return n && dir[n - 1] == '/' && !strncmp(dir, path, n);
}

static bool match_args(const struct match *m, DBusMessage *msg)
{
	unsigned int i, need = m->n_args;
	DBusMessageIter it;
	const char *s;
	int t;

	if (m->arg0namespace && need < 1)
		need = 1;
	if (!need)
		return true;
	if (!dbus_message_iter_init(msg, &it))
		return false;
	for (i = 0; i < need; i++) {
		t = dbus_message_iter_get_arg_type(&it);
		if (t == DBUS_TYPE_INVALID)
			return false;
		s = NULL;
		if (t == DBUS_TYPE_STRING || t == DBUS_TYPE_OBJECT_PATH)
			dbus_message_iter_get_basic(&it, &s);
		if (i < m->n_args && m->args[i]) {
			if (!s || (t != DBUS_TYPE_STRING && !m->arg_path[i]))
				return false;
			if (!m->arg_path[i] && strcmp(s, m->args[i]))
				return false;
			if (m->arg_path[i] && strcmp(s, m->args[i]) &&
			    !path_prefix(m->args[i], s) &&
			    !path_prefix(s, m->args[i]))
				return false;
		}
		if (i == 0 && m->arg0namespace) {
			size_t n = strlen(m->arg0namespace);

			if (t != DBUS_TYPE_STRING ||
			    strncmp(s, m->arg0namespace, n) ||
			    (s[n] && s[n] != '.'))
				return false;
		}
		dbus_message_iter_next(&it);
	}
	return true;
}

bool match_matches(struct bus *b, const struct match *m, DBusMessage *msg,
		   struct bconn *from, struct bconn *to)
{
	const char *s, *dest = dbus_message_get_destination(msg);
	size_t n;

	if (m->type && m->type != dbus_message_get_type(msg))
		return false;
	if (m->interface && !str_eq(m->interface,
				    dbus_message_get_interface(msg)))
		return false;
	if (m->member && !str_eq(m->member, dbus_message_get_member(msg)))
		return false;
	if (m->path && !str_eq(m->path, dbus_message_get_path(msg)))
		return false;
	if (m->path_namespace) {
		s = dbus_message_get_path(msg);
		n = strlen(m->path_namespace);
		if (!s)
			return false;
		if (strcmp(m->path_namespace, "/") &&
		    (strncmp(s, m->path_namespace, n) || (s[n] && s[n] != '/')))
			return false;
	}
	if (m->sender) {
		s = dbus_message_get_sender(msg);
		if (!s)
			return false;
		if (strcmp(m->sender, s) &&
		    (m->sender[0] == ':' || !from ||
		     names_owner(b, m->sender) != from))
			return false;
	}
	if (m->destination) {
		if (!dest)
			return false;
		if (strcmp(m->destination, dest) &&
		    (m->destination[0] == ':' || dest[0] != ':' ||
		     names_owner(b, m->destination) !=
		     bus_find_unique(b, dest)))
			return false;
	}
	/* without eavesdrop a rule sees only what is sent to its owner */
	if (to && !m->eavesdrop && dest && strcmp(dest, to->unique))
		return false;
	return match_args(m, msg);
}

/* all rules or none: *out is the list (NULL for n == 0) */
int match_parse_list(char **rules, int n, struct match **out, DBusError *err)
{
	struct match *head = NULL, *m;
	int i;

	for (i = 0; i < n; i++) {
		m = match_parse(rules[i], err);
		if (!m) {
			while ((m = head)) {
				head = m->next;
				match_free(m);
			}
			return -1;
		}
		m->next = head;
		head = m;
	}
	*out = head;
	return 0;
}

bool match_any(struct bconn *c, DBusMessage *msg, struct bconn *from)
{
	const struct match *m;

	for (m = c->matches; m; m = m->next)
		if (match_matches(c->bus, m, msg, from, c->monitor ? NULL : c))
			return true;
	return false;
}

int match_add(struct bconn *c, const char *rule, DBusError *err)
{
	struct bus *b = c->bus;
	struct match *m;

	if (c->n_matches >= b->limits.max_matches_per_connection) {
		dbus_set_error(err, DBUS_ERROR_LIMITS_EXCEEDED,
			       "Connection \"%s\" is not allowed to add more match rules (increase limits in configuration file if required; max_match_rules_per_connection=%u)",
			       c->unique, b->limits.max_matches_per_connection);
		return -1;
	}
	m = match_parse(rule, err);
	if (!m)
		return -1;
	m->next = c->matches;
	c->matches = m;
	c->n_matches++;
	return 0;
}

int match_remove(struct bconn *c, const char *rule, DBusError *err)
{
	struct match *m, **pp;

	m = match_parse(rule, err);
	if (!m)
		return -1;
	for (pp = &c->matches; *pp; pp = &(*pp)->next) {
		if (match_equal(*pp, m)) {
			struct match *old = *pp;

			*pp = old->next;
			match_free(old);
			match_free(m);
			c->n_matches--;
			return 0;
		}
	}
	match_free(m);
	dbus_set_error(err, DBUS_ERROR_MATCH_RULE_NOT_FOUND,
		       "The given match rule wasn't found and can't be removed");
	return -1;
}

void match_remove_all(struct bconn *c)
{
	struct match *m;

	while ((m = c->matches)) {
		c->matches = m->next;
		match_free(m);
	}
	c->n_matches = 0;
}
