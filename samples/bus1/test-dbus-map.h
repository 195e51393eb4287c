/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _BUS1_TEST_DBUS_MAP_H
#define _BUS1_TEST_DBUS_MAP_H

/*
 * What the three files of test-dbus-map share: the bus the checks run on
 * and its fake connections, the random numbers (test-dbus-map.c), the log
 * of what the bus sends (log_sent(), dbus-map-test-driver.c), and the
 * checks main() runs. The TAP counters are one set for the three files
 * (TAP_SHARED, test-lib.h).
 */

#include <stdint.h>
#define TAP_SHARED
#include "test-lib.h"
#include "dbus-bus.h"

/* the connections of test_pending(), and the NoReply each was sent */
#define PCONNS	6
extern struct bconn *pconn[PCONNS];
extern unsigned int no_reply[PCONNS], limits_exceeded[PCONNS];

/* fake_send() refuses messages to @refusing, finding it gone if ..._gone */
extern struct bconn *refusing;
extern bool refusing_gone;

extern const struct bconn_ops fake_ops;
extern struct bus bus;

unsigned int rnd(unsigned int n);
struct bconn *conn_new(uid_t uid);
void log_sent(struct bconn *c, DBusMessage *m);

/* dbus-map-test-bus.c */
void test_bus(void);
void test_pending(void);
void test_names_limit(void);
void test_queued_flags(void);

/* dbus-map-test-driver.c */
void test_release_queued(void);
void test_disconnect_signals(void);
void test_hello(void);
void test_call_refused(void);
void test_queued_owners(void);
void test_name_has_owner(void);
void test_properties(void);
void test_match_paths(void);
void test_match_argn(void);

#endif /* _BUS1_TEST_DBUS_MAP_H */
