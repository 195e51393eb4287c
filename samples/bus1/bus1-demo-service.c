// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-demo-service - a service for the broker demo. Owns NAME and answers
 * CALL requests (Documentation/bus1/broker.rst) according to its mode:
 *   echo   "echo: ARGS"
 *   upper  ARGS in upper case
 *   count  "call #N: ARGS"
 * Started by hand it connects to the broker socket; started by the broker
 * (activation) it takes its peer from the environment.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "broker-proto.h"

static void answer(struct b1c *c, const struct b1c_msg *m, const char *mode,
		   unsigned long n, const char *name)
{
	unsigned char buf[B1B_MAX_MSG];
	char arg[2048], out[B1B_MAX_MSG];
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	struct b1b_buf w;
	int status, len;
	size_t i;

	if (!m->n_handles || m->handles[0] == BUS1_HANDLE_INVALID)
		return;	/* nobody to answer */
	status = b1b_parse_hdr(m->data, m->n_bytes, &hdr, &body);
	if (!status && hdr.opcode != B1B_OP_CALL)
		status = -EOPNOTSUPP;
	if (!status) {
		b1b_get_str(&body, arg, sizeof(arg));
		status = b1b_end(&body);
	}
	if (!status) {
		if (!strcmp(mode, "upper")) {
			for (i = 0; arg[i]; i++)
				out[i] = toupper((unsigned char)arg[i]);
			out[i] = 0;
		} else if (!strcmp(mode, "count")) {
			snprintf(out, sizeof(out), "call #%lu: %s", n, arg);
		} else {
			snprintf(out, sizeof(out), "echo: %s", arg);
		}
		printf("%s: call #%lu \"%s\"\n", name, n, arg);
	}
	b1b_buf_init(&w, buf, sizeof(buf));
	b1b_put_hdr(&w, B1B_OP_CALL | B1B_OP_REPLY, hdr.serial, status);
	if (!status)
		b1b_put_str(&w, out);
	len = b1b_finish(&w);
	if (len > 0)
		b1c_send_raw(c, m->handles[0], buf, len, NULL, 0);
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *mode = "echo", *name;
	struct b1c_msg *m;
	unsigned long calls = 0;
	struct b1c *c;
	__u64 node;
	size_t i;
	int opt, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "s:m:")) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-s SOCKET] [-m echo|upper|count] NAME\n",
				argv[0]);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: %s [-s SOCKET] [-m echo|upper|count] NAME\n",
			argv[0]);
		return 2;
	}
	name = argv[optind];

	r = b1c_from_env(&c);
	if (r == -ENOENT)
		r = b1c_connect(sock, &c);
	if (r < 0) {
		fprintf(stderr, "%s: cannot reach the broker: %s\n", name,
			bus1_strerror(r));
		return 1;
	}
	r = bus1_node_new(c->peer, &node);
	if (r >= 0)
		r = b1c_request_name(c, name, node);
	if (r < 0) {
		fprintf(stderr, "%s: REQUEST_NAME failed: %s\n", name,
			strerror(-r));
		return 1;
	}
	printf("%s: ready (pid %d, client %llu, mode %s)\n", name,
	       (int)getpid(), (unsigned long long)c->id, mode);

	for (;;) {
		r = b1c_recv(c, -1, &m);
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", name, bus1_strerror(r));
			return 1;
		}
		if (m->type == BUS1_MSG_DATA && m->destination == node) {
			answer(c, m, mode, ++calls, name);
		} else if (m->type == BUS1_MSG_NODE_DESTROY &&
			   m->destination == c->broker) {
			printf("%s: broker went away, exiting\n", name);
			b1c_msg_free(m);
			break;
		}
		for (i = 0; i < m->n_handles; i++)
			if (m->handles[i] != BUS1_HANDLE_INVALID)
				bus1_handle_release(c->peer, m->handles[i]);
		b1c_msg_free(m);
	}
	b1c_free(c);
	return 0;
}
