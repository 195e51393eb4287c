/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _BUS1_TEST_DBUS_NATIVE_H
#define _BUS1_TEST_DBUS_NATIVE_H

/*
 * What the files of test-dbus-native share: the service's names, the
 * clock and call helpers (test-dbus-native.c), the checks of
 * dbus-native-test-peers.c, -props.c, -death.c and -mon.c, and the raw peers of
 * dbus-native-test-raw.c. The TAP counters and the broker's paths are one
 * set for all (TAP_SHARED, DBUS_TEST_SHARED).
 */

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include "test-lib.h"
#include "broker-proto.h"
#include "dbus-native.h"
#include "dbus-wire.h"
#include "dbus-test.h"

#define SVC_NAME	"org.bus1.Test"
#define SVC_PATH	"/org/bus1/Test"
#define SVC_IFACE	"org.bus1.Test"
#define SVC_ERROR	"org.bus1.Test.Error.Failed"
#define SVC_CHILD	SVC_PATH "/Child"
#define FORGER_NAME	"org.bus1.Forger"

long long test_now_ms(void);
long long test_now_us(void);
/* @m (its reference taken) sent with b1d_call(): the reply or NULL */
sd_bus_message *call_unref(struct b1d_bus *bus, sd_bus_message *m,
			   int timeout_ms);
bool is_error(sd_bus_message *r, const char *name);
/* the service's methods (Echo, Die, ...) */
extern const struct b1d_method svc_methods[];
void native_service(int fd, const char *name, __u32 flags, bool full);
/* a child running @fn(write end of a pipe); its one line read into @line */
pid_t spawn_reporter(void (*fn)(int fd), char *line, size_t size);

/* dbus-native-test-peers.c */
#define HOSTROOT	"/hostroot"
void diag(const char *text);
bool host_tool(const char *const *argv, char *out, size_t size);
void busctl_row(const char *out, const char *member, char *row, size_t size);
void native_introspect(struct b1d_bus *bus);
void native_big(struct b1d_bus *bus);
void native_big_sock(struct b1d_bus *bus, const char *dest);
void host_tools_echo(void);
void host_tools_introspect(void);
void host_service_echo(struct b1d_bus *bus, const char *script,
		       const char *name, const char *arg, const char *what);

/* dbus-native-test-props.c */
int props_serve(struct b1d_bus *bus);
void native_props(struct b1d_bus *bus);
void host_tools_props(void);

/* dbus-native-test-death.c */
void owner_death(struct b1d_bus *bus);

/* dbus-native-test-mon.c */
void native_monitor(struct b1d_bus *cl, const char *svc_unique);

/* dbus-native-test-async.c */
void native_async(struct b1d_bus *bus);

/* dbus-native-test-raw.c */
/* send @m from @raw to @dst with @handle attached (INVALID: none) */
int raw_send(struct b1c *raw, DBusMessage *m, __u64 dst, __u64 handle);
/* a native peer below the library past its Hello, its name in @unique */
struct b1c *raw_hello(char *unique, size_t size);
bool raw_dropped(bool garbage, long long *ms);
bool forge_notes(const char *victim);
bool forge_via_bus(const char *victim, char *unique, size_t size);
bool forge_on_door(const char *victim, char *unique, size_t size,
		   struct b1c **rawp);
void door_forger(int fd);

#endif /* _BUS1_TEST_DBUS_NATIVE_H */
