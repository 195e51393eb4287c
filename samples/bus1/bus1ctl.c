// SPDX-License-Identifier: GPL-2.0
/*
 * bus1ctl - command-line client of the bus1 broker.
 *
 *   bus1ctl [-s SOCKET] [-t MS] list
 *   bus1ctl [-s SOCKET] [-t MS] call NAME [ARGS...]
 *   bus1ctl [-s SOCKET] [-l LABEL] [-n COUNT] monitor [NAME...]
 *   bus1ctl [-s SOCKET] status
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "broker-proto.h"

static const char *sock;
static const char *label = "monitor";
static int timeout_ms = 10000;
static long max_events = -1;

static int do_list(struct b1c *c)
{
	char name[B1B_NAME_MAX + 1];
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	struct b1c_msg *m = NULL;
	__u64 owner;
	__u32 n, i;
	__u8 act;
	int r;

	r = b1c_request(c, B1B_OP_LIST_NAMES, NULL, NULL, 0, timeout_ms, &m);
	if (r < 0) {
		b1c_msg_free(m);
		fprintf(stderr, "bus1ctl: LIST_NAMES: %s\n", strerror(-r));
		return 1;
	}
	b1b_parse_hdr(m->data, m->n_bytes, &hdr, &body);
	n = b1b_get_u32(&body);
	printf("%-32s %8s  %s\n", "NAME", "OWNER", "");
	for (i = 0; i < n && !body.err; i++) {
		b1b_get_str(&body, name, sizeof(name));
		owner = b1b_get_u64(&body);
		act = b1b_get_u8(&body);
		if (body.err)
			break;
		if (owner)
			printf("%-32s %8llu  %s\n", name,
			       (unsigned long long)owner,
			       act ? "(activatable)" : "");
		else
			printf("%-32s %8s  %s\n", name, "-",
			       "(activatable, not running)");
	}
	r = b1b_end(&body);
	b1c_msg_free(m);
	if (r < 0) {
		fprintf(stderr, "bus1ctl: malformed LIST_NAMES reply\n");
		return 1;
	}
	return 0;
}

static int do_call(struct b1c *c, int argc, char **argv)
{
	char text[B1B_MAX_MSG - 64] = "", *out;
	__u64 h, owner;
	int i, r;

	if (argc < 1) {
		fprintf(stderr, "bus1ctl: call NAME [ARGS...]\n");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (strlen(text) + strlen(argv[i]) + 2 > sizeof(text)) {
			fprintf(stderr, "bus1ctl: arguments too long\n");
			return 2;
		}
		if (i > 1)
			strcat(text, " ");
		strcat(text, argv[i]);
	}
	r = b1c_get_name_owner(c, argv[0], timeout_ms, &h, &owner);
	if (r < 0) {
		fprintf(stderr, "bus1ctl: %s: %s\n", argv[0],
			r == -ENOENT ? "no such name" : strerror(-r));
		return 1;
	}
	r = b1c_call(c, h, text, timeout_ms, &out);
	bus1_handle_release(c->peer, h);
	if (r < 0) {
		fprintf(stderr, "bus1ctl: call %s: %s\n", argv[0],
			bus1_strerror(r));
		return 1;
	}
	printf("%s (client %llu) replied: %s\n", argv[0],
	       (unsigned long long)owner, out);
	free(out);
	return 0;
}

static int do_monitor(struct b1c *c, int argc, char **argv)
{
	struct b1b_event ev;
	struct b1c_msg *m;
	long seen = 0;
	int i, r;

	for (i = 0; i < argc || (!argc && !i); i++) {
		r = b1c_watch(c, argc ? argv[i] : "");
		if (r < 0) {
			fprintf(stderr, "bus1ctl: WATCH %s: %s\n",
				argc ? argv[i] : "*", strerror(-r));
			return 1;
		}
	}
	printf("%s: watching %s", label, argc ? "" : "all names");
	for (i = 0; i < argc; i++)
		printf("%s%s", i ? ", " : "", argv[i]);
	printf("\n");
	while (max_events < 0 || seen < max_events) {
		r = b1c_recv(c, -1, &m);
		if (r < 0) {
			fprintf(stderr, "bus1ctl: %s\n", bus1_strerror(r));
			return 1;
		}
		if (b1b_parse_event(m, &ev) == 0) {
			seen++;
			if (!ev.old_owner)
				printf("%s: NameOwnerChanged %s: appeared, owner %llu\n",
				       label, ev.name,
				       (unsigned long long)ev.new_owner);
			else if (!ev.new_owner)
				printf("%s: NameOwnerChanged %s: vanished (was %llu)\n",
				       label, ev.name,
				       (unsigned long long)ev.old_owner);
			else
				printf("%s: NameOwnerChanged %s: %llu -> %llu\n",
				       label, ev.name,
				       (unsigned long long)ev.old_owner,
				       (unsigned long long)ev.new_owner);
		} else if (m->type == BUS1_MSG_NODE_DESTROY &&
			   m->destination == c->broker) {
			printf("%s: broker went away\n", label);
			b1c_msg_free(m);
			return 1;
		}
		b1c_msg_free(m);
	}
	return 0;
}

static void print_peer(const char *pid, const char *fd, const char *comm)
{
	static const char * const keys[] = {
		"bus1-peer:", "bus1-queued:", "bus1-pool-slices:",
		"bus1-pool-bytes:", "bus1-handles:", "bus1-nodes:",
	};
	char path[PATH_MAX], line[256], vals[6][32];
	size_t i, n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return;
	for (i = 0; i < 6; i++)
		strcpy(vals[i], "?");
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < 6; i++) {
			n = strlen(keys[i]);
			if (!strncmp(line, keys[i], n)) {
				snprintf(vals[i], sizeof(vals[i]), "%s",
					 line + n + strspn(line + n, " \t"));
				vals[i][strcspn(vals[i], "\n")] = 0;
			}
		}
	}
	fclose(f);
	printf("%6s %-16.16s %3s %16s %6s %6s %9s %7s %5s\n", pid, comm, fd,
	       vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]);
}

static int do_status(void)
{
	char path[PATH_MAX], target[PATH_MAX], comm[64];
	struct dirent *p, *d;
	struct b1b_cursor body;
	struct b1b_hdr hdr;
	struct b1c_msg *m = NULL;
	unsigned long long v[6];
	struct b1c *c;
	DIR *proc, *fds;
	int i;
	ssize_t n;
	FILE *f;
	int r;

	r = b1c_connect(sock, &c);
	if (r >= 0) {
		r = b1c_request(c, B1B_OP_GET_STATS, NULL, NULL, 0, timeout_ms,
				&m);
		if (r >= 0) {
			b1b_parse_hdr(m->data, m->n_bytes, &hdr, &body);
			for (i = 0; i < 6; i++)
				v[i] = b1b_get_u64(&body);
			printf("broker: %llu clients, %llu names, ", v[0],
			       v[1]);
			printf("%llu requests, %llu rejected, ", v[2], v[3]);
			printf("%llu dropped, %llu events\n", v[4], v[5]);
		}
		b1c_msg_free(m);
		b1c_free(c);
	}
	if (r < 0)
		printf("broker: unreachable (%s)\n", strerror(-r));

	printf("%6s %-16s %3s %16s %6s %6s %9s %7s %5s\n", "PID", "COMM",
	       "FD", "PEER", "QUEUED", "SLICES", "POOL-B", "HANDLES", "NODES");
	proc = opendir("/proc");
	if (!proc)
		return 1;
	while ((p = readdir(proc))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
		strcpy(comm, "?");
		f = fopen(path, "re");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((d = readdir(fds))) {
			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
				 p->d_name, d->d_name);
			n = readlink(path, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = 0;
			if (!strcmp(target, BUS1_DEVICE_PATH))
				print_peer(p->d_name, d->d_name, comm);
		}
		closedir(fds);
	}
	closedir(proc);
	return 0;
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: bus1ctl [-s SOCKET] [-t MS] [-l LABEL] [-n COUNT] COMMAND\n"
		"  list                 names on the bus and their owners\n"
		"  call NAME [ARGS...]  look NAME up (activating it) and call it\n"
		"  monitor [NAME...]    print NameOwnerChanged events\n"
		"  status               broker counters and bus1 peers (fdinfo)\n");
}

int main(int argc, char **argv)
{
	struct b1c *c;
	int opt, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "+s:t:l:n:h")) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'l':
			label = optarg;
			break;
		case 'n':
			max_events = atol(optarg);
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		print_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[optind], "status"))
		return do_status();
	if (strcmp(argv[optind], "list") && strcmp(argv[optind], "call") &&
	    strcmp(argv[optind], "monitor")) {
		print_usage(stderr);
		return 2;
	}
	r = b1c_connect(sock, &c);
	if (r < 0) {
		fprintf(stderr, "bus1ctl: cannot connect to the broker: %s\n",
			bus1_strerror(r));
		return 1;
	}
	if (!strcmp(argv[optind], "list"))
		r = do_list(c);
	else if (!strcmp(argv[optind], "call"))
		r = do_call(c, argc - optind - 1, argv + optind + 1);
	else
		r = do_monitor(c, argc - optind - 1, argv + optind + 1);
	b1c_free(c);
	return r;
}
