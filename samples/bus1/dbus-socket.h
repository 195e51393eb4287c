/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _BUS1_DBUS_SOCKET_H
#define _BUS1_DBUS_SOCKET_H

#include "dbus-bus.h"

/* listen on b->address and serve until SIGTERM/SIGINT; exit code */
int sock_run(struct bus *b, int ready_fd);

#endif /* _BUS1_DBUS_SOCKET_H */
