/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _BUS1_DBUS_BENCH_H
#define _BUS1_DBUS_BENCH_H

/*
 * What the three files of bus1-dbus-bench share: the cases' names and
 * messages (dbus-bench.c), the libdbus floor (dbus-bench-floor.c) and
 * Debian's dbus-broker baseline (dbus-bench-dbb.c).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "dbus-native.h"
#include "dbus-wire.h"
#include "dbus-bench-util.h"

#define NAME	"org.bus1.Bench"
#define PATH	"/org/bus1/Bench"
#define IFACE	"org.bus1.Bench"
#define NSUBS	10
#define BATCH	10	/* signals between two acks of every subscriber */
#define ARG	"hello"

void die(const char *what);
DBusMessage *echo_reply(DBusMessage *call);
DBusMessage *new_call(void);
DBusMessage *new_tick(void);
DBusConnection *sock_connect(const char *addr);

/* dbus-bench-floor.c: the floor lines of (a) and (c), against @d */
void floor_call_rows(struct fig d, int iters);
void floor_signal_rows(struct fig d, int iters);

/* dbus-bench-dbb.c */
struct dbb {
	const char *root, *conf;
	char inner[PATH_MAX];		/* the listening socket, in ROOT */
	char sock[PATH_MAX];		/* the same, as seen from here */
	char addr[PATH_MAX + 16];	/* its address for our clients */
	char journal[PATH_MAX];		/* the stand-in we bound, or "" */
	char machine_id[PATH_MAX];	/* the machine-id we wrote, or "" */
	pid_t owner, launcher, broker, drainer;
	unsigned long *journal_msgs;	/* counted by the drainer */
	char unique[64];		/* the launcher's connection */
	long wakeups;			/* the launcher's, before the figures */
	unsigned long msgs;		/* journal messages, before the figures */
};

extern struct dbb dbb;
int dbb_start(void);
void dbb_stop(void);
void dbb_row(const char *what, struct fig f, struct fig base);
void dbb_report(void);

#endif /* _BUS1_DBUS_BENCH_H */
