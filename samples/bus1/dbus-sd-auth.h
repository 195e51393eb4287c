/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The SASL exchange of two sd_bus on the two ends of one connection, run
 * in one process (bus1-dbus-sdpump-bench, dbus-sd-split): sd-bus talks only
 * through fds, so a throw-away sd_bus of the other role authenticates each
 * one before a pump takes its end over.
 */
#ifndef _BUS1_DBUS_SD_AUTH_H
#define _BUS1_DBUS_SD_AUTH_H

#include <errno.h>
#include <systemd/sd-bus.h>

/* start @srv and @cli and process both until both are ready; 0 or -errno */
static inline int sd_auth_pair(sd_bus *srv, sd_bus *cli)
{
	int r, n = 0;

	r = sd_bus_start(srv);
	if (r >= 0)
		r = sd_bus_start(cli);
	while (r >= 0 &&
	       (sd_bus_is_ready(srv) <= 0 || sd_bus_is_ready(cli) <= 0)) {
		if (++n > 1000)
			return -ETIMEDOUT;
		r = sd_bus_process(cli, NULL);
		if (r >= 0)
			r = sd_bus_process(srv, NULL);
	}
	return r < 0 ? r : 0;
}

#endif /* _BUS1_DBUS_SD_AUTH_H */
