// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: monitors of the traffic between native connections,
 * which never passes the broker (dbus.rst, "Monitoring"). While the bus has
 * a monitor, every native connection adds the broker's *copy node* for it
 * to the destinations of each bus1 message it sends a peer directly: one
 * multicast, so the copy is where the delivery is in bus1's global order.
 * The node is made for the connection when it is first told the bus is
 * monitored and lives as long as the connection; nobody else holds a
 * handle to it, so a message on it is that connection's copy.
 */
#include <unistd.h>
#include "dbus-b1-int.h"

#define MONITORED_MEMBER	"Monitored"

/*
 * the signal org.bus1.DBus.Monitored(b on) to the client's inbox, with the
 * copy node as handle[0] and the connection node behind it (the bus's, as
 * ext_reply()); a client that gets no copy node copies nothing
 */
void b1t_monitored(struct bconn *c, bool on)
{
	struct nconn *nc = to_nconn(c);
	struct b1t *t = nc->t;
	dbus_bool_t v = on;
	DBusMessage *m;
	__u64 h[2];

	if (nc->bc.gone)
		return;
	if (nc->copy == BUS1_HANDLE_INVALID) {
		if (bus1_node_new(t->peer, &nc->copy) < 0) {
			nc->copy = BUS1_HANDLE_INVALID;
			return;
		}
		nc->by_copy.key.u64 = nc->copy;
		map_add(&t->by_copy, &nc->by_copy);
	}
	m = dbus_message_new_signal(BUS_DRIVER_PATH, B1D_IFACE,
				    MONITORED_MEMBER);
	if (!m)
		return;
	h[0] = nc->copy;
	h[1] = nc->node;
	if (dbus_message_set_sender(m, BUS_DRIVER_NAME) &&
	    dbus_message_set_destination(m, c->unique) &&
	    dbus_message_append_args(m, DBUS_TYPE_BOOLEAN, &v,
				     DBUS_TYPE_INVALID) &&
	    dwire_send(t->peer, m, &nc->inbox, 1, NULL, h, 2) < 0)
		c->bus->n_dropped++;
	dbus_message_unref(m);
}

/*
 * A copy costs what any message to the broker costs: the sender's bus1
 * quota on our peer bounds how many wait, and recv_all() takes them in its
 * batch like the rest. Without a monitor it is not even parsed; a copy that
 * is no valid message or over the limits is dropped (the peer got the real
 * one; a copy is no reason to drop the connection).
 */
void b1t_copy(struct nconn *nc, struct bus1_message *msg)
{
	struct bus *b = nc->t->bus;
	DBusMessage *m = NULL;
	size_t i;

	for (i = 0; i < msg->n_handles; i++)
		bus1_handle_release(nc->t->peer, msg->handles[i]);
	if (b->n_monitors && !nc->dead && !nc->bc.closing &&
	    msg->n_fds <= b->limits.max_message_fds &&
	    msg->n_bytes <= b->limits.max_message_size)
		m = dwire_parse(msg, NULL);
	else
		for (i = 0; i < msg->n_fds; i++)
			close(msg->fds[i]);
	if (!m) {
		b->n_copies++;
		b->n_copies_dropped += !!b->n_monitors;
		return;
	}
	bus_monitor_copy(&nc->bc, m);
	dbus_message_unref(m);
}

/*
 * org.bus1.DBus.GetMonitorStats() -> (uttt): monitors, copies received,
 * copies given to monitors, copies dropped (a wrong sender, malformed)
 */
void b1t_monitor_stats(struct nconn *nc, DBusMessage *call)
{
	struct bus *b = nc->bc.bus;
	DBusMessage *r = dbus_message_new_method_return(call);
	dbus_uint32_t n = b->n_monitors;
	dbus_uint64_t v[3] = {
		b->n_copies, b->n_copies_monitored, b->n_copies_dropped,
	};

	if (!r || !dbus_message_append_args(r, DBUS_TYPE_UINT32, &n,
					    DBUS_TYPE_UINT64, &v[0],
					    DBUS_TYPE_UINT64, &v[1],
					    DBUS_TYPE_UINT64, &v[2],
					    DBUS_TYPE_INVALID)) {
		if (r)
			dbus_message_unref(r);
		return;
	}
	ext_reply(nc, call, r, NULL);
}
