/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bus1-dbus-broker's bus1 transport: native clients bootstrap over an
 * AF_UNIX socket (the bus1-broker hello, broker.rst) and then exchange
 * D-Bus messages with the bus as bus1 messages (dbus-wire.h).
 */
#ifndef _BUS1_DBUS_B1_H
#define _BUS1_DBUS_B1_H

#include <poll.h>
#include "dbus-bus.h"

/* the bus1 extension of the driver, understood on this transport only */
#define B1D_IFACE		"org.bus1.DBus"
#define B1D_ERROR_NOT_NATIVE	"org.bus1.DBus.Error.NotNative"

struct b1t;

int b1t_new(struct bus *b, const char *socket_path, struct b1t **tp);
void b1t_free(struct b1t *t);
/* fill at most @max pollfds; returns how many */
unsigned int b1t_pollfds(struct b1t *t, struct pollfd *pfd, unsigned int max);
/* handle what the pollfds filled by b1t_pollfds() report, and deadlines */
void b1t_dispatch(struct b1t *t, const struct pollfd *pfd, unsigned int n);
/* ms until the next bootstrap deadline, -1 if none */
int b1t_timeout(struct b1t *t);

#endif /* _BUS1_DBUS_B1_H */
