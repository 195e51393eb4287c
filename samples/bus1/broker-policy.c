// SPDX-License-Identifier: GPL-2.0
/*
 * bus1 broker policy file: who may own which name, who may send to which
 * name (bus1-dbus-broker), and which names are activated on demand.
 * Format: Documentation/bus1/broker.rst.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "broker.h"

void policy_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->default_allow = true;
	p->default_send_allow = true;
}

void policy_clear(struct policy *p)
{
	unsigned int i, j;

	for (i = 0; i < p->n_acts; i++)
		for (j = 0; p->acts[i].argv[j]; j++)
			free(p->acts[i].argv[j]);
	policy_init(p);
}

/* "*", an exact name, or "prefix.*" matching names below prefix */
bool policy_pattern_match(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);

	if (!strcmp(pattern, "*"))
		return true;
	if (n >= 2 && !strcmp(pattern + n - 2, ".*"))
		return !strncmp(pattern, name, n - 1) && name[n - 1];
	return !strcmp(pattern, name);
}

static bool pattern_valid(const char *pat)
{
	char tmp[B1B_NAME_MAX + 1];
	size_t n = strlen(pat);

	if (!strcmp(pat, "*"))
		return true;
	if (n >= 2 && !strcmp(pat + n - 2, ".*")) {
		memcpy(tmp, pat, n - 2);
		tmp[n - 2] = 0;
		/* a prefix needs no dot of its own: "org.*" is fine */
		return b1b_name_valid(tmp) ||
		       (!strchr(tmp, '.') && tmp[0] &&
			b1b_name_valid(strcat(tmp, ".x")));
	}
	return b1b_name_valid(pat);
}

static int parse_uid(const char *s, struct policy_rule *r)
{
	char *end;
	unsigned long v;

	if (!strcmp(s, "*")) {
		r->any_uid = true;
		return 0;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v > 0xfffffffeUL)
		return -EINVAL;
	r->uid = v;
	return 0;
}

/* format "line N: ..." into err, return -EINVAL */
static int fail(char *err, size_t errlen, unsigned int line,
		const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, errlen, "line %u: ", line);
	if (n < 0 || (size_t)n >= errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

#define FAIL(...) fail(err, errlen, lineno, __VA_ARGS__)

int policy_parse(struct policy *p, FILE *f, char *err, size_t errlen)
{
	char line[1024], *tok[POLICY_MAX_ARGS + 3], *s, *save;
	unsigned int lineno = 0, n, i;
	struct policy_rule *r;
	struct policy_act *a;

	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f))
			return FAIL("line too long");
		s = strchr(line, '#');
		if (s)
			*s = 0;
		n = 0;
		for (s = strtok_r(line, " \t\r\n", &save); s;
		     s = strtok_r(NULL, " \t\r\n", &save)) {
			if (n == POLICY_MAX_ARGS + 2)
				return FAIL("too many words");
			tok[n++] = s;
		}
		if (!n)
			continue;
		if (!strcmp(tok[0], "allow-own") || !strcmp(tok[0], "deny-own") ||
		    !strcmp(tok[0], "allow-send") ||
		    !strcmp(tok[0], "deny-send")) {
			if (n != 3)
				return FAIL("usage: %s PATTERN UID|*", tok[0]);
			if (p->n_rules == POLICY_MAX_RULES)
				return FAIL("too many rules");
			if (strlen(tok[1]) > B1B_NAME_MAX || !pattern_valid(tok[1]))
				return FAIL("invalid name pattern '%s'", tok[1]);
			r = &p->rules[p->n_rules];
			memset(r, 0, sizeof(*r));
			strcpy(r->pattern, tok[1]);
			r->allow = tok[0][0] == 'a';
			r->send = !!strstr(tok[0], "-send");
			if (parse_uid(tok[2], r) < 0)
				return FAIL("invalid uid '%s'", tok[2]);
			p->n_rules++;
			p->n_send_rules += r->send;
		} else if (!strcmp(tok[0], "default-own")) {
			if (n != 2 || (strcmp(tok[1], "allow") &&
				       strcmp(tok[1], "deny")))
				return FAIL("usage: default-own allow|deny");
			p->default_allow = !strcmp(tok[1], "allow");
		} else if (!strcmp(tok[0], "default-send")) {
			if (n != 2 || (strcmp(tok[1], "allow") &&
				       strcmp(tok[1], "deny")))
				return FAIL("usage: default-send allow|deny");
			p->default_send_allow = !strcmp(tok[1], "allow");
		} else if (!strcmp(tok[0], "activate")) {
			if (n < 3)
				return FAIL("usage: activate NAME PROGRAM [ARGS...]");
			if (n - 2 > POLICY_MAX_ARGS)
				return FAIL("too many arguments");
			if (!b1b_name_valid(tok[1]))
				return FAIL("invalid name '%s'", tok[1]);
			if (tok[2][0] != '/')
				return FAIL("program must be an absolute path");
			if (policy_activation(p, tok[1]))
				return FAIL("'%s' already activatable", tok[1]);
			if (p->n_acts == POLICY_MAX_ACTS)
				return FAIL("too many activatable names");
			a = &p->acts[p->n_acts];
			memset(a, 0, sizeof(*a));
			strcpy(a->name, tok[1]);
			for (i = 2; i < n; i++) {
				a->argv[i - 2] = strdup(tok[i]);
				if (!a->argv[i - 2])
					return FAIL("out of memory");
			}
			p->n_acts++;
		} else {
			return FAIL("unknown keyword '%s'", tok[0]);
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "read error");
		return -EIO;
	}
	return 0;
}

int policy_load(struct policy *p, const char *path, char *err, size_t errlen)
{
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	r = policy_parse(p, f, err, errlen);
	fclose(f);
	return r;
}

bool policy_may_own(const struct policy *p, const char *name, uid_t uid)
{
	const struct policy_rule *r;
	unsigned int i;

	for (i = 0; i < p->n_rules; i++) {
		r = &p->rules[i];
		if (!r->send && (r->any_uid || r->uid == uid) &&
		    policy_pattern_match(r->pattern, name))
			return r->allow;
	}
	return p->default_allow;
}

bool policy_may_send(const struct policy *p, uid_t uid,
		     bool (*dst_matches)(void *ctx, const char *pattern),
		     void *ctx)
{
	const struct policy_rule *r;
	unsigned int i;

	/* the common case costs nothing per message */
	if (!p->n_send_rules)
		return p->default_send_allow;
	for (i = 0; i < p->n_rules; i++) {
		r = &p->rules[i];
		if (!r->send || (!r->any_uid && r->uid != uid))
			continue;
		if (!strcmp(r->pattern, "*") || dst_matches(ctx, r->pattern))
			return r->allow;
	}
	return p->default_send_allow;
}

const struct policy_act *policy_activation(const struct policy *p,
					   const char *name)
{
	unsigned int i;

	for (i = 0; i < p->n_acts; i++)
		if (!strcmp(p->acts[i].name, name))
			return &p->acts[i];
	return NULL;
}
