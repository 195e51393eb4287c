// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: a chained hash table keyed by string or u64, the
 * broker's index of connections, names, users and native nodes (see
 * dbus-map.h for its contract, dbus.rst "Lookups" for what it indexes).
 *
 * The hashes are unkeyed (FNV-1a for strings, a multiplicative mix for
 * u64): a client that picks names colliding in one bucket slows down the
 * lookups of that bucket to the list walk this table replaced, which is
 * bounded by max_names_per_connection times its connections.
 */
#include <stdlib.h>
#include <string.h>
#include "dbus-map.h"

static __u64 hash_str(const char *s)
{
	__u64 h = 0xcbf29ce484222325ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static __u64 hash_u64(__u64 v)
{
	/* the low bits pick the bucket: fold the well-mixed high ones in */
	v *= 0x9e3779b97f4a7c15ULL;
	return v ^ (v >> 29);
}

static __u64 hash_entry(const struct map *m, const struct map_entry *e)
{
	return m->str ? hash_str(e->key.str) : hash_u64(e->key.u64);
}

static struct map_entry **bucket(const struct map *m, __u64 h)
{
	if (!m->buckets)
		return (struct map_entry **)&m->one;
	return &m->buckets[h & (m->n_buckets - 1)];
}

/**
 * map_init() - initialize an empty table
 * @m:		the table
 * @str_keys:	true: entries are keyed by key.str, false: by key.u64
 */
void map_init(struct map *m, bool str_keys)
{
	memset(m, 0, sizeof(*m));
	m->n_buckets = 1;
	m->str = str_keys;
}

/**
 * map_destroy() - free the bucket array; the entries are the caller's
 * @m:		the table, empty or not; it is empty afterwards
 */
void map_destroy(struct map *m)
{
	free(m->buckets);
	map_init(m, m->str);
}

/* double the buckets; on allocation failure keep the longer chains */
static void grow(struct map *m)
{
	size_t i, n = m->n_buckets * 2;
	struct map_entry **v = calloc(n, sizeof(*v)), *e, *next;
	struct map_entry *all = NULL;

	if (!v)
		return;
	for (i = 0; i < m->n_buckets; i++) {
		for (e = *bucket(m, i); e; e = next) {
			next = e->next;
			e->next = all;
			all = e;
		}
	}
	free(m->buckets);
	m->buckets = v;
	m->one = NULL;
	m->n_buckets = n;
	for (e = all; e; e = next) {
		struct map_entry **b = bucket(m, hash_entry(m, e));

		next = e->next;
		e->next = *b;
		*b = e;
	}
}

/**
 * map_add() - add an entry; its key must be set and not in the table yet
 * @m:		the table
 * @e:		the entry, not in any table
 */
void map_add(struct map *m, struct map_entry *e)
{
	struct map_entry **b;

	if (m->n >= m->n_buckets)
		grow(m);
	b = bucket(m, hash_entry(m, e));
	e->next = *b;
	*b = e;
	m->n++;
}

/**
 * map_del() - remove an entry, if it is in the table
 * @m:		the table
 * @e:		the entry, with the key it was added with
 *
 * Return: true if @e was in @m (and is not anymore).
 */
bool map_del(struct map *m, struct map_entry *e)
{
	struct map_entry **pp;

	for (pp = bucket(m, hash_entry(m, e)); *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			e->next = NULL;
			m->n--;
			return true;
		}
	}
	return false;
}

/**
 * map_find_str() - the entry with a string key
 * @m:		a table of string keys
 * @key:	the key
 *
 * Return: the entry, or NULL.
 */
struct map_entry *map_find_str(const struct map *m, const char *key)
{
	struct map_entry *e;

	for (e = *bucket(m, hash_str(key)); e; e = e->next)
		if (!strcmp(e->key.str, key))
			return e;
	return NULL;
}

/**
 * map_find_u64() - the entry with a u64 key
 * @m:		a table of u64 keys
 * @key:	the key
 *
 * Return: the entry, or NULL.
 */
struct map_entry *map_find_u64(const struct map *m, __u64 key)
{
	struct map_entry *e;

	for (e = *bucket(m, hash_u64(key)); e; e = e->next)
		if (e->key.u64 == key)
			return e;
	return NULL;
}
