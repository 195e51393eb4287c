// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libbus1-dbus: the bus's monitors and our direct messages. The broker
 * tells us with the signal org.bus1.DBus.Monitored(b) when the bus gets its
 * first monitor (with a handle to its node for our copies) and when it has
 * none anymore. While it has, b1di_send_to() adds that node to each direct
 * send; the broker passes the copies to the monitors. dbus.rst,
 * "Monitoring".
 */
#include "dbus-native-int.h"

bool b1di_mon_notice(struct b1d_bus *bus, struct qmsg *q)
{
	int on = 0;

	/* from the bus (our broker handle rode along), the copy node first */
	if (!q->from_bus || q->handle == BUS1_HANDLE_INVALID ||
	    q->handle == bus->c->broker ||
	    !sd_bus_message_is_signal(q->m, B1D_IFACE, "Monitored") ||
	    sd_bus_message_read(q->m, "b", &on) <= 0)
		return false;
	/* the broker has one copy node for us: the same handle each time */
	if (q->handle != bus->copy) {
		if (bus->copy != BUS1_HANDLE_INVALID)
			bus1_handle_release(bus->c->peer, bus->copy);
		bus->copy = q->handle;
		q->handle = BUS1_HANDLE_INVALID;
	}
	bus->monitored = on;
	return true;
}

int b1di_mon_send(struct b1d_bus *bus, __u64 dst, const struct iovec *v,
		  const __u64 *handle, const int *fds, size_t n_fds)
{
	__u64 dsts[2] = { dst, bus->copy }, errs[2] = { 0, 0 };
	int r;

	r = bus1_send(bus->c->peer, &(struct bus1_send){
		.flags = BUS1_SEND_FLAG_CONTINUE,
		.destinations = dsts,
		.n_destinations = 2,
		.errors = errs,
		.vecs = v,
		.n_vecs = 1,
		.handles = handle,
		.n_handles = handle ? 1 : 0,
		.fds = n_fds ? fds : NULL,
		.n_fds = n_fds,
	});
	/* the peer's error is the send's; a lost copy is the monitor's */
	return r ? r : -(int)errs[0];
}
