/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _BUS1_TEST_DBUS_POLICY_H
#define _BUS1_TEST_DBUS_POLICY_H

/*
 * What the two files of test-dbus-policy share: the names, the native and
 * raw calls (test-dbus-policy.c) and the forgery checks main() runs
 * (dbus-policy-test-forge.c). The TAP counters and the broker's paths are
 * one set for both (TAP_SHARED, DBUS_TEST_SHARED).
 */

#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include "test-lib.h"
#include "broker-proto.h"
#include "dbus-native.h"
#include "dbus-wire.h"
#include "dbus-test.h"

#define OPEN		"org.bus1.Open"
#define SECRET		"org.bus1.Secret"
#define USER_NATIVE	"org.bus1.Uid1000.Native"
#define USER_SOCK	"org.bus1.Uid1000.Sock"
#define PATH		"/org/bus1/Test"
#define IFACE		"org.bus1.Test"
#define USER		1000
#define DENIED		DBUS_ERROR_ACCESS_DENIED

extern int raw_serial;

sd_bus_message *native_call(struct b1d_bus *bus, const char *dest,
			    const char *member, const char *arg);
const char *sd_what(sd_bus_message *r);
/* a call to the bus from a raw peer: the reply, *handlep its handle[0] */
DBusMessage *raw_bus_call(struct b1c *raw, DBusMessage *m, __u64 *handlep);

/* dbus-policy-test-forge.c */
void forged_replies(const char *open_u);
void forged_signals(struct b1d_bus *emitter, const char *claim);

#endif /* _BUS1_TEST_DBUS_POLICY_H */
