// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: a D-Bus message bus for unmodified D-Bus clients
 * (busctl, dbus-send, gdbus, libdbus, sd-bus, GDBus, python3-dbus).
 * Usage and limits: Documentation/bus1/dbus.rst.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "dbus-b1.h"
#include "dbus-socket.h"

#define DEFAULT_ADDRESS "unix:path=/run/bus1/dbus.sock"

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: bus1-dbus-broker [OPTIONS]\n"
		"  --address ADDR                  listen here (default " DEFAULT_ADDRESS ")\n"
		"  -p, --policy FILE               bus1-broker policy file (names, activation)\n"
		"  -v, --verbose                   log connections and names (twice: more)\n"
		"  --ready-fd FD                   write \"ready\" to FD once listening\n"
		"  --bus1-socket PATH              also serve native bus1 clients, bootstrapping here\n"
		"  --max-connections-per-user N    (default 256)\n"
		"  --max-names-per-connection N    (default 512)\n"
		"  --max-matches-per-connection N  (default 512)\n"
		"  --max-replies-per-connection N  (default 128)\n"
		"  --max-message-size BYTES        (default 33554432)\n"
		"  --max-message-fds N             (default 16)\n"
		"  --max-outgoing-bytes BYTES      (default 8388608)\n"
		"  --max-incomplete-connections N  (default 64)\n"
		"  --reply-timeout MS              (default 25000)\n"
		"  --activation-timeout MS         (default 25000)\n"
		"  --auth-timeout MS               (default 5000)\n");
}

static int num(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || !*s || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* the parent directory of unix:path=..., created like /run/bus1 */
static void make_parent(const char *address)
{
	const char *p = strstr(address, "unix:path=");
	char dir[PATH_MAX], *slash;

	if (p != address)
		return;
	snprintf(dir, sizeof(dir), "%s", address + strlen("unix:path="));
	dir[strcspn(dir, ",")] = 0;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = 0;
	mkdir(dir, 0755);
}

int main(int argc, char **argv)
{
	enum { O_ADDRESS = 256, O_READY, O_CONN_USER, O_NAMES, O_MATCHES,
	       O_REPLIES, O_MSGSIZE, O_FDS, O_OUTGOING, O_INCOMPLETE,
	       O_REPLY_TMO, O_ACT_TMO, O_AUTH_TMO, O_BUS1 };
	static const struct option opts[] = {
		{ "address", required_argument, NULL, O_ADDRESS },
		{ "policy", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "ready-fd", required_argument, NULL, O_READY },
		{ "max-connections-per-user", required_argument, NULL, O_CONN_USER },
		{ "max-names-per-connection", required_argument, NULL, O_NAMES },
		{ "max-matches-per-connection", required_argument, NULL, O_MATCHES },
		{ "max-replies-per-connection", required_argument, NULL, O_REPLIES },
		{ "max-message-size", required_argument, NULL, O_MSGSIZE },
		{ "max-message-fds", required_argument, NULL, O_FDS },
		{ "max-outgoing-bytes", required_argument, NULL, O_OUTGOING },
		{ "max-incomplete-connections", required_argument, NULL, O_INCOMPLETE },
		{ "reply-timeout", required_argument, NULL, O_REPLY_TMO },
		{ "activation-timeout", required_argument, NULL, O_ACT_TMO },
		{ "auth-timeout", required_argument, NULL, O_AUTH_TMO },
		{ "bus1-socket", required_argument, NULL, O_BUS1 },
		{}
	};
	const char *address = DEFAULT_ADDRESS, *policy = NULL, *bus1 = NULL;
	static struct bus b;	/* large: the policy tables */
	int c, ready_fd = -1, r;
	char err[256];
	long v = 0;

	bus_init(&b);
	b.limits = (struct bus_limits){
		.max_connections_per_user = 256,
		.max_names_per_connection = 512,
		.max_matches_per_connection = 512,
		.max_replies_per_connection = 128,
		.max_message_size = 32 << 20,
		.max_message_fds = 16,
		.max_outgoing_bytes = 8 << 20,
		.max_incomplete_connections = 64,
		.reply_timeout_ms = 25000,
		.activation_timeout_ms = 25000,
		.auth_timeout_ms = 5000,
	};
	while ((c = getopt_long(argc, argv, "p:vh", opts, NULL)) != -1) {
		if (c >= O_READY && c <= O_AUTH_TMO && num(optarg, INT_MAX, &v)) {
			fprintf(stderr, "bus1-dbus-broker: bad number '%s'\n",
				optarg);
			return 2;
		}
		switch (c) {
		case O_ADDRESS:
			address = optarg;
			break;
		case 'p':
			policy = optarg;
			break;
		case 'v':
			b.verbose++;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		case O_READY:
			ready_fd = v;
			break;
		case O_CONN_USER:
			b.limits.max_connections_per_user = v;
			break;
		case O_NAMES:
			b.limits.max_names_per_connection = v;
			break;
		case O_MATCHES:
			b.limits.max_matches_per_connection = v;
			break;
		case O_REPLIES:
			b.limits.max_replies_per_connection = v;
			break;
		case O_MSGSIZE:
			b.limits.max_message_size = v;
			break;
		case O_FDS:
			b.limits.max_message_fds = v;
			break;
		case O_OUTGOING:
			b.limits.max_outgoing_bytes = v;
			break;
		case O_INCOMPLETE:
			b.limits.max_incomplete_connections = v;
			break;
		case O_REPLY_TMO:
			b.limits.reply_timeout_ms = v;
			break;
		case O_ACT_TMO:
			b.limits.activation_timeout_ms = v;
			break;
		case O_AUTH_TMO:
			b.limits.auth_timeout_ms = v;
			break;
		case O_BUS1:
			bus1 = optarg;
			break;
		default:
			print_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		print_usage(stderr);
		return 2;
	}
	if (policy && policy_load(&b.policy, policy, err, sizeof(err)) < 0) {
		fprintf(stderr, "bus1-dbus-broker: policy %s: %s\n", policy, err);
		return 1;
	}
	b.address = strdup(address);
	if (!b.address)
		return 1;
	make_parent(address);
	if (bus1) {
		r = b1t_new(&b, bus1, &b.native);
		if (r < 0) {
			fprintf(stderr, "bus1-dbus-broker: %s: %s\n", bus1,
				bus1_strerror(r));
			return 1;
		}
	}
	r = sock_run(&b, ready_fd);
	b1t_free(b.native);
	bus_destroy(&b);
	return r;
}
