// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: a chained hash table keyed by string or u64, the
 * broker's index of connections, names, users and native nodes (see
 * dbus-map.h for its contract, dbus.rst "Lookups" for what it indexes).
 *
 * String keys (unique and well-known names, which clients choose) are
 * hashed with SipHash-2-4 under a random key drawn once per process, as
 * dbus-broker and systemd's hashmaps do: a client cannot pick names that
 * collide in one bucket without knowing the key. u64 keys (uids, bus1
 * handle IDs the kernel assigns) get a multiplicative mix.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include "dbus-map.h"

static __u64 map_key[2];
static bool map_key_set;

static __u64 rotl(__u64 x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void sipround(__u64 v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13) ^ v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17) ^ v[2];
	v[2] = rotl(v[2], 32);
}

static void sipcompress(__u64 v[4], __u64 m)
{
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
}

/**
 * map_siphash24() - SipHash-2-4 of a buffer
 * @data:	the bytes
 * @len:	their number
 * @key:	the 128-bit key, as two little-endian words
 *
 * Return: the 64-bit hash (the reference test vectors: test-dbus-map).
 */
__u64 map_siphash24(const void *data, size_t len, const __u64 key[2])
{
	const unsigned char *p = data;
	__u64 v[4] = {
		0x736f6d6570736575ULL ^ key[0], 0x646f72616e646f6dULL ^ key[1],
		0x6c7967656e657261ULL ^ key[0], 0x7465646279746573ULL ^ key[1],
	};
	__u64 m, last = (__u64)len << 56;
	size_t i, j;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, 8);
		sipcompress(v, le64toh(m));
	}
	for (j = 0; i + j < len; j++)
		last |= (__u64)p[i + j] << (8 * j);
	sipcompress(v, last);
	v[2] ^= 0xff;
	for (j = 0; j < 4; j++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static __u64 hash_str(const char *s)
{
	if (!map_key_set) {
		/* no entropy yet (early boot): still not the client's choice */
		if (getrandom(map_key, sizeof(map_key), GRND_NONBLOCK) !=
		    sizeof(map_key)) {
			map_key[0] = (__u64)time(NULL) ^ ((__u64)getpid() << 32);
			map_key[1] = (__u64)(unsigned long)&map_key ^
				     (__u64)clock();
		}
		map_key_set = true;
	}
	return map_siphash24(s, strlen(s), map_key);
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
