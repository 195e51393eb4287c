/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef _BUS1_BUS1_H
#define _BUS1_BUS1_H

/*
 * libbus1 - a small C API over the bus1 kernel ABI (<linux/bus1.h>).
 *
 * Conventions:
 *  - Every function returning int returns 0 (or a non-negative value) on
 *    success and a negative errno on failure; errno is not used.
 *    bus1_strerror() explains the errno values bus1 uses in unusual ways.
 *  - A struct bus1_peer owns one bus1 file descriptor and a read-only
 *    mapping of its pool. It is not thread-safe: serialise calls on one
 *    peer (different peers may be used from different threads).
 *  - Handle IDs are the kernel's 64-bit IDs (see Documentation/bus1/).
 *    Node IDs allocated by bus1_node_new() are chosen by the library.
 *  - Received messages are views into the pool; they stay valid until
 *    bus1_message_release(), even across a transparent pool remap.
 *
 * ABI policy: symbols are versioned (LIBBUS1_1, LIBBUS1_2 for those
 * added with the RECV extensions); existing symbols never change. struct
 * bus1_message and struct bus1_peer_stats may only grow at the end, and
 * only together with a new symbol version.
 *
 * See Documentation/bus1/libbus1.rst.
 */

#include <stddef.h>
#include <sys/uio.h>
#include <linux/types.h>
#include <linux/bus1.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BUS1_DEVICE_PATH	"/dev/bus1"
#define BUS1_PEER_FD_ENV	"BUS1_PEER_FD"
#define BUS1_POOL_SIZE		0x100000000ULL
#define BUS1_MAP_DEFAULT	(1024UL * 1024)

struct bus1_peer;

/* peers */
int bus1_peer_new(struct bus1_peer **peerp);
int bus1_peer_new_from_fd(int fd, size_t map_size, struct bus1_peer **peerp);
int bus1_peer_new_from_env(const char *name, struct bus1_peer **peerp);
struct bus1_peer *bus1_peer_free(struct bus1_peer *peer);
int bus1_peer_get_fd(struct bus1_peer *peer);
size_t bus1_peer_get_map_size(struct bus1_peer *peer);
int bus1_peer_disconnect(struct bus1_peer *peer);

struct bus1_limits {
	__u32 max_slices;
	__u32 max_handles;
	__u32 max_inflight_bytes;
	__u32 max_inflight_fds;
};

#define BUS1_LIMIT_KEEP		0xffffffffU

int bus1_peer_query(struct bus1_peer *peer, struct bus1_limits *limits);
int bus1_peer_reset(struct bus1_peer *peer, __u64 flags,
		    const struct bus1_limits *limits);

/* Counters from /proc/self/fdinfo (bus1 extension); absent keys read ~0. */
struct bus1_peer_stats {
	__u64 peer_id;
	__u64 queued;
	__u64 pool_bytes;
	__u64 pool_slices;
	__u64 handles;
	__u64 nodes;
	__u64 charge_slices;
	__u64 charge_handles;
	__u64 charge_bytes;
	__u64 charge_fds;
};

int bus1_peer_get_stats(struct bus1_peer *peer, struct bus1_peer_stats *st);
int bus1_fd_get_stats(int fd, struct bus1_peer_stats *st);

/* nodes and handles */
int bus1_node_new(struct bus1_peer *peer, __u64 *idp);
int bus1_node_destroy(struct bus1_peer *peer, const __u64 *ids, size_t n,
		      __u64 flags);
int bus1_handle_transfer(struct bus1_peer *src, __u64 src_handle,
			 struct bus1_peer *dst, __u64 *dst_handlep);
int bus1_handle_transfer_fd(struct bus1_peer *src, __u64 src_handle,
			    int dst_fd, __u64 *dst_handlep);
int bus1_handle_release(struct bus1_peer *peer, __u64 handle);

/* sending */
struct bus1_send {
	__u64 flags;			/* BUS1_SEND_FLAG_* */
	const __u64 *destinations;
	size_t n_destinations;
	__u64 *errors;			/* CONTINUE: per-destination errno */
	const struct iovec *vecs;
	size_t n_vecs;
	const __u64 *handles;
	size_t n_handles;
	const int *fds;
	size_t n_fds;
};

int bus1_send(struct bus1_peer *peer, const struct bus1_send *args);
int bus1_send_data(struct bus1_peer *peer, __u64 destination,
		   const void *data, size_t len);
int bus1_seed_set(struct bus1_peer *peer, const struct iovec *vecs,
		  size_t n_vecs, const __u64 *handles, size_t n_handles);

/* receiving */
struct bus1_pool_map;

struct bus1_message {
	__u64 type;			/* BUS1_MSG_* */
	__u64 flags;			/* BUS1_MSG_FLAG_* */
	__u64 destination;
	__u64 offset;			/* BUS1_OFFSET_INVALID if no slice */
	const void *data;
	size_t n_bytes;
	const __u64 *handles;
	size_t n_handles;
	const int *fds;
	size_t n_fds;
	/* private */
	struct bus1_peer *peer;
	struct bus1_pool_map *map;
};

int bus1_recv(struct bus1_peer *peer, __u64 flags, struct bus1_message *msg);
/* LIBBUS1_2: release @msg and receive the next message into it, one RECV */
int bus1_recv_next(struct bus1_peer *peer, __u64 flags,
		   struct bus1_message *msg);
/*
 * LIBBUS1_3: bus1_send(@send) (NULL: nothing to send), then
 * bus1_recv_next(), in one RECV where the module has BUS1_RECV_FLAG_SEND
 * (two ioctls where it has not). If the SEND fails, nothing else happens.
 * *@sentp (may be NULL) tells whether the message was sent, also when the
 * receive then fails.
 */
int bus1_send_recv_next(struct bus1_peer *peer, const struct bus1_send *send,
			__u64 flags, struct bus1_message *msg, int *sentp);
int bus1_seed_get(struct bus1_peer *peer, __u64 flags,
		  struct bus1_message *msg);
int bus1_message_release(struct bus1_message *msg);

/* errors */
const char *bus1_strerror(int err);
const char *bus1_message_type_name(__u64 type);

#ifdef __cplusplus
}
#endif

#endif /* _BUS1_BUS1_H */
