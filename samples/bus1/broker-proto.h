/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _BUS1_BROKER_PROTO_H
#define _BUS1_BROKER_PROTO_H

/*
 * bus1 broker wire format (version 1) and client helpers.
 * Normative description: Documentation/bus1/broker.rst.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <bus1/bus1.h>

#define B1B_MAGIC		0xb1
#define B1B_VERSION		1
#define B1B_HDR_SIZE		16
#define B1B_MAX_MSG		4096	/* requests */
#define B1B_MAX_REPLY		65536
#define B1B_NAME_MAX		255
#define B1B_SOCKET_DEFAULT	"/run/bus1/broker.sock"
#define B1B_SOCKET_ENV		"BUS1_BROKER_SOCKET"
#define B1B_HANDLE_ENV		"BUS1_BROKER_HANDLE"
#define B1B_REPLY_ENV		"BUS1_BROKER_REPLY_NODE"
#define B1B_ID_ENV		"BUS1_BROKER_CLIENT_ID"

/* bootstrap over the AF_UNIX socket */
#define B1B_HELLO_MAGIC		0x6f6c6c6548314231ULL	/* "B1Hello" */

struct b1b_hello {
	__u64 magic;
	__u32 version;
	__u32 flags;
	__u64 reply_node;	/* client's node for replies and events */
};

struct b1b_welcome {
	__u64 magic;
	__s32 status;		/* 0 or negative errno */
	__u32 version;
	__u64 client_id;
	__u64 broker_handle;	/* client's ID of its connection node */
};

enum {
	B1B_OP_REQUEST_NAME	= 0x01,
	B1B_OP_RELEASE_NAME	= 0x02,
	B1B_OP_GET_NAME_OWNER	= 0x03,
	B1B_OP_LIST_NAMES	= 0x04,
	B1B_OP_WATCH		= 0x05,
	B1B_OP_UNWATCH		= 0x06,
	B1B_OP_PING		= 0x07,
	B1B_OP_GET_STATS	= 0x08,
	B1B_OP_CALL		= 0x10,	/* service calls (not the broker) */
	B1B_OP_NAME_OWNER_CHANGED = 0x40,	/* event */
	B1B_OP_REPLY		= 0x80,	/* reply = request | REPLY */
	B1B_OP_ERROR		= 0xff,	/* reply to an unparseable request */
};

struct b1b_hdr {
	__u8 magic;
	__u8 version;
	__u8 opcode;
	__u8 flags;
	__u32 serial;
	__s32 status;
	__u32 body_len;
};

/* encoder: writes into a caller-provided buffer */
struct b1b_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
	bool overflow;
};

void b1b_buf_init(struct b1b_buf *b, void *data, size_t cap);
void b1b_put_hdr(struct b1b_buf *b, __u8 opcode, __u32 serial, __s32 status);
void b1b_put_u8(struct b1b_buf *b, __u8 v);
void b1b_put_u32(struct b1b_buf *b, __u32 v);
void b1b_put_u64(struct b1b_buf *b, __u64 v);
void b1b_put_str(struct b1b_buf *b, const char *s);
int b1b_finish(struct b1b_buf *b);	/* fills body_len; -EMSGSIZE */

/* decoder */
struct b1b_cursor {
	const unsigned char *p;
	size_t left;
	int err;			/* first error, sticky */
};

int b1b_parse_hdr(const void *data, size_t len, struct b1b_hdr *hdr,
		  struct b1b_cursor *body);
__u8 b1b_get_u8(struct b1b_cursor *c);
__u32 b1b_get_u32(struct b1b_cursor *c);
__u64 b1b_get_u64(struct b1b_cursor *c);
/* copies into buf (NUL-terminated); -EBADMSG on truncation */
void b1b_get_str(struct b1b_cursor *c, char *buf, size_t size);
int b1b_end(struct b1b_cursor *c);	/* error, or -EBADMSG if bytes left */

bool b1b_name_valid(const char *name);
const char *b1b_op_name(unsigned int op);

/* --- client side --- */

/* a received message, copied out of the pool */
struct b1c_msg {
	__u64 type;
	__u64 destination;
	__u64 flags;
	unsigned char *data;
	size_t n_bytes;
	__u64 *handles;
	size_t n_handles;
	struct b1c_msg *next;
};

struct b1c {
	struct bus1_peer *peer;
	__u64 reply_node;
	__u64 broker;		/* handle to our connection node */
	__u64 id;		/* broker-assigned client ID */
	__u32 serial;
	struct b1c_msg *stash, **stash_tail;
};

int b1c_connect(const char *socket_path, struct b1c **cp);
int b1c_from_env(struct b1c **cp);
struct b1c *b1c_free(struct b1c *c);
void b1c_msg_free(struct b1c_msg *m);

/* receive the next message (stashed ones first); timeout_ms < 0: forever */
int b1c_recv(struct b1c *c, int timeout_ms, struct b1c_msg **mp);
/* send a request to the broker and wait for the matching reply */
int b1c_request(struct b1c *c, __u8 op, const char *name,
		const __u64 *handles, size_t n_handles, int timeout_ms,
		struct b1c_msg **replyp);
/* send a raw, already encoded message to a handle */
int b1c_send_raw(struct b1c *c, __u64 dst, const void *data, size_t len,
		 const __u64 *handles, size_t n_handles);

int b1c_request_name(struct b1c *c, const char *name, __u64 node);
int b1c_release_name(struct b1c *c, const char *name);
/* on success *handlep is our handle to the owner's node (release it) */
int b1c_get_name_owner(struct b1c *c, const char *name, int timeout_ms,
		       __u64 *handlep, __u64 *owner_idp);
int b1c_watch(struct b1c *c, const char *name);
int b1c_ping(struct b1c *c, int timeout_ms);

/* call a service: CALL with text, reply text malloc'ed into *outp */
int b1c_call(struct b1c *c, __u64 service, const char *text, int timeout_ms,
	     char **outp);

/* decoded NameOwnerChanged */
struct b1b_event {
	char name[B1B_NAME_MAX + 1];
	__u64 old_owner;
	__u64 new_owner;
};

int b1b_parse_event(const struct b1c_msg *m, struct b1b_event *ev);

/* --- server side of the bootstrap (bus1-broker and bus1-dbus-broker) --- */

struct ucred;

/*
 * Reads a hello with exactly one fd (the client's bus1 peer) from @sock.
 * 0: *h, *peer_fd (the caller closes it) and *cred are set; -EAGAIN:
 * nothing to read; else the error to welcome the client with.
 */
int b1b_hello_recv(int sock, struct b1b_hello *h, int *peer_fd,
		   struct ucred *cred);
/* takes a handle to the client's node @node through its peer fd */
int b1b_take_client_node(struct bus1_peer *peer, int client_fd, __u64 node,
			 __u64 *handlep);
/* best effort: a client that cannot take it has gone */
void b1b_welcome(int sock, int status, __u64 client_id, __u64 broker_handle);

#endif /* _BUS1_BROKER_PROTO_H */
