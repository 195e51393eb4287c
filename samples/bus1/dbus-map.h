/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bus1-dbus-broker: the one lookup structure of the broker, a chained hash
 * table keyed by a string or by a u64 (dbus.rst "Lookups"). Entries are
 * embedded in what they index (container_of style) and carry a pointer to
 * their key, which must stay valid and unchanged while the entry is in the
 * table. Duplicate keys are not refused: the callers look a key up before
 * they add it. Single-threaded, like the whole broker: no locking.
 *
 * The table starts with one bucket of its own and doubles when it holds
 * more entries than buckets, so map_add() cannot fail: if the larger
 * bucket array cannot be allocated the chains grow longer instead, and
 * lookups are as slow as the lists they replace, never wrong. It never
 * shrinks (one pointer per bucket).
 */
#ifndef _BUS1_DBUS_MAP_H
#define _BUS1_DBUS_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct map_entry {
	struct map_entry *next;		/* in its bucket */
	union {
		const char *str;
		__u64 u64;
	} key;
};

struct map {
	struct map_entry **buckets;	/* NULL: just @one */
	struct map_entry *one;		/* the bucket before the first grow */
	size_t n_buckets;		/* a power of two */
	size_t n;			/* entries */
	bool str;			/* string keys, else u64 */
};

void map_init(struct map *m, bool str_keys);
void map_destroy(struct map *m);
void map_add(struct map *m, struct map_entry *e);
bool map_del(struct map *m, struct map_entry *e);
struct map_entry *map_find_str(const struct map *m, const char *key);
struct map_entry *map_find_u64(const struct map *m, __u64 key);
__u64 map_siphash24(const void *data, size_t len, const __u64 key[2]);

#define map_item(e, type, member) \
	((type *)((char *)(e) - offsetof(type, member)))

/* the object of @type whose @member entry has @key, or NULL */
#define map_get_str(m, key, type, member) ({				\
	struct map_entry *__e = map_find_str(m, key);			\
	__e ? map_item(__e, type, member) : NULL; })
#define map_get_u64(m, key, type, member) ({				\
	struct map_entry *__e = map_find_u64(m, key);			\
	__e ? map_item(__e, type, member) : NULL; })

#endif /* _BUS1_DBUS_MAP_H */
