// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: connections, routing, expected replies and monitors.
 * Nothing here knows about sockets: see dbus-bus.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "dbus-bus.h"

__u64 bus_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bus_log(struct bus *b, int level, const char *fmt, ...)
{
	va_list ap;

	char line[1024];
	int n;

	if (level > b->verbose)
		return;
	va_start(ap, fmt);
	n = snprintf(line, sizeof(line), "bus1-dbus-broker: ");
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* one write per line: stderr is shared with test output */
	if (write(2, line, n) < 0)
		return;
}

void bus_init(struct bus *b)
{
	unsigned char r[16];
	unsigned int i;

	memset(b, 0, sizeof(*b));
	policy_init(&b->policy);
	map_init(&b->by_unique, true);
	map_init(&b->users, false);
	map_init(&b->by_name, true);
	fifo_init(&b->pending);
	b->next_id = 1;
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		memset(r, 0x5a, sizeof(r));
	for (i = 0; i < sizeof(r); i++)
		sprintf(b->id + 2 * i, "%02x", r[i]);
}

void bus_destroy(struct bus *b)
{
	policy_clear(&b->policy);
	map_destroy(&b->by_unique);
	map_destroy(&b->users);
	map_destroy(&b->by_name);
	free(b->address);
}

void bconn_init(struct bus *b, struct bconn *c, const struct bconn_ops *ops,
		void *priv)
{
	memset(c, 0, sizeof(*c));
	c->bus = b;
	c->ops = ops;
	c->priv = priv;
	c->uid = (uid_t)-1;
	c->gid = (gid_t)-1;
	c->next = b->conns;
	if (b->conns)
		b->conns->prev = c;
	b->conns = c;
	b->n_conns++;
}

static struct bus_user *user_get(struct bus *b, uid_t uid)
{
	return map_get_u64(&b->users, uid, struct bus_user, by_uid);
}

/* @c no longer counts for its uid */
static void user_uncount(struct bconn *c)
{
	struct bus_user *u = c->counted ? user_get(c->bus, c->uid) : NULL;

	c->counted = false;
	if (u && !--u->n_conns) {
		map_del(&c->bus->users, &u->by_uid);
		free(u);
	}
}

/**
 * bus_user_allowed() - count a connection for its uid, if under the limit
 * @b:		the bus
 * @c:		the connection, during its authentication
 * @uid:	its uid
 *
 * Return: true if @c now counts for @uid (and has it as c->uid), false
 * if @uid has max_connections_per_user connections without @c (or there is
 * no memory to count it).
 */
bool bus_user_allowed(struct bus *b, struct bconn *c, uid_t uid)
{
	struct bus_user *u = user_get(b, uid);
	unsigned int n = u ? u->n_conns : 0;

	if (c->counted && c->uid == uid)
		n--;	/* the others' count, as max_connections_per_user */
	if (n >= b->limits.max_connections_per_user) {
		bus_log(b, 0, "refusing a connection of uid %u: it has %u %s",
			(unsigned int)uid, n, "(max_connections_per_user)");
		return false;
	}
	if (c->counted && c->uid == uid)
		return true;
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u) {
			bus_log(b, 0, "refusing a connection of uid %u: %s",
				(unsigned int)uid, "out of memory");
			return false;
		}
		u->by_uid.key.u64 = uid;
		map_add(&b->users, &u->by_uid);
	}
	user_uncount(c);
	u->n_conns++;
	c->uid = uid;
	c->counted = true;
	return true;
}

/**
 * bus_register() - give a connection its unique name (Hello)
 * @c:		the connection, not registered yet
 */
void bus_register(struct bconn *c)
{
	snprintf(c->unique, sizeof(c->unique), ":1.%llu",
		 (unsigned long long)c->bus->next_id++);
	c->registered = true;
	c->by_unique.key.str = c->unique;
	map_add(&c->bus->by_unique, &c->by_unique);
}

/*
 * the first monitor came or the last one went: every connection that can
 * copy its direct messages (native ones) starts or stops (dbus.rst,
 * "Monitoring"); only then is the whole list walked
 */
static void bus_monitored_all(struct bus *b, bool on)
{
	struct bconn *c;

	for (c = b->conns; c; c = c->next)
		if (c->registered && !c->monitor && !c->closing &&
		    c->ops->monitored)
			c->ops->monitored(c, on);
}

void bus_monitored_tell(struct bconn *c)
{
	if (c->bus->n_monitors && c->ops->monitored)
		c->ops->monitored(c, true);
}

/**
 * bus_become_monitor() - a registered connection turns into a monitor
 * @c:		the connection, which owns no names anymore
 *
 * Its unique name is nobody's to call from now on (BecomeMonitor).
 */
void bus_become_monitor(struct bconn *c)
{
	map_del(&c->bus->by_unique, &c->by_unique);
	c->monitor = true;
	if (!c->bus->n_monitors++)
		bus_monitored_all(c->bus, true);
}

void bconn_kill(struct bconn *c, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (c->closing)
		return;
	c->closing = true;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	bus_log(c->bus, 0, "dropping connection %s (uid %d pid %d): %s",
		c->unique[0] ? c->unique : "(no Hello)", (int)c->uid,
		(int)c->pid, why);
	c->ops->close(c);
}

/**
 * bus_find_unique() - the connection of a unique name
 * @b:		the bus
 * @unique:	":1.<id>"
 *
 * Return: the registered connection that is no monitor, or NULL.
 */
struct bconn *bus_find_unique(struct bus *b, const char *unique)
{
	return map_get_str(&b->by_unique, unique, struct bconn, by_unique);
}

bool bus_deliver(struct bconn *to, DBusMessage *m)
{
	struct bus *b = to->bus;

	if (to->closing)
		return false;
	if (to->ops->outgoing_size(to) > b->limits.max_outgoing_bytes) {
		b->n_dropped++;
		if (!to->warned_full) {
			to->warned_full = true;
			bus_log(b, 0, "%s (uid %d pid %d) does not read: %s=%ld)",
				to->unique, (int)to->uid, (int)to->pid,
				"dropping messages to it (max_outgoing_bytes",
				b->limits.max_outgoing_bytes);
		}
		return false;
	}
	to->warned_full = false;
	if (!to->ops->send(to, m)) {
		b->n_dropped++;
		return false;
	}
	return true;
}

/* copies of every message to monitors whose rules match (all: no rule) */
void bus_monitor(struct bus *b, DBusMessage *m)
{
	struct bconn *c;

	if (!b->n_monitors)
		return;
	for (c = b->conns; c; c = c->next) {
		if (!c->monitor || c->closing)
			continue;
		if (c->matches && !match_any(c, m, NULL))
			continue;
		bus_deliver(c, m);
	}
}

/*
 * A copy comes from @c's own channel for copies, so it is @c's; its sender
 * field is what @c wrote. One that names somebody else is dropped, not
 * corrected: the library always writes its own name, and a callee drops a
 * direct call whose sender is not its door's caller, so the receiver never
 * took such a message from @c under either name. It is never routed.
 */
void bus_monitor_copy(struct bconn *c, DBusMessage *m)
{
	struct bus *b = c->bus;
	const char *sender = dbus_message_get_sender(m);

	b->n_copies++;
	if (!c->registered || c->monitor || c->closing || !sender ||
	    strcmp(sender, c->unique)) {
		b->n_copies_dropped++;
		if (!c->warned_copy)
			bus_log(b, 0, "%s (uid %d pid %d) sent a copy as %s: dropped",
				c->unique[0] ? c->unique : "(no Hello)",
				(int)c->uid, (int)c->pid, sender ?: "nobody");
		c->warned_copy = true;
		return;
	}
	b->n_copies_monitored++;
	bus_monitor(b, m);
}

/*
 * a signal without destination: every connection with a matching rule;
 * those of a transport that can multicast get it in one transaction
 */
void bus_broadcast(struct bus *b, DBusMessage *m)
{
	const char *sender = dbus_message_get_sender(m);
	struct bconn *c, *from = NULL, **mc = NULL;
	unsigned int n_mc = 0, cap = 0;

	if (sender && sender[0] == ':')
		from = bus_find_unique(b, sender);
	for (c = b->conns; c; c = c->next) {
		if (!c->registered || c->monitor || c->closing)
			continue;
		if (!match_any(c, m, from))
			continue;
		/* the sender's send rules pick receivers, as in dbus-daemon */
		if (from && !names_may_send(from, c, NULL))
			continue;
		if (!c->ops->multicast) {
			bus_deliver(c, m);
			continue;
		}
		if (n_mc == cap) {
			struct bconn **v;

			cap = cap ? 2 * cap : 16;
			v = realloc(mc, cap * sizeof(*v));
			if (!v) {
				b->n_dropped++;
				continue;
			}
			mc = v;
		}
		mc[n_mc++] = c;
	}
	/* (one transport has a multicast op today: dbus-b1.c) */
	if (n_mc)
		b->n_dropped += n_mc - mc[0]->ops->multicast(mc, n_mc, m);
	free(mc);
}

void bus_reply_error(struct bconn *c, DBusMessage *call, const char *error,
		     const char *fmt, ...)
{
	DBusMessage *e;
	char text[512];
	va_list ap;

	if (dbus_message_get_no_reply(call) ||
	    dbus_message_get_type(call) != DBUS_MESSAGE_TYPE_METHOD_CALL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	e = dbus_message_new_error(call, error, text);
	if (!e)
		return;
	dbus_message_set_sender(e, BUS_DRIVER_NAME);
	dbus_message_set_destination(e, c->unique[0] ? c->unique : NULL);
	bus_monitor(c->bus, e);
	bus_deliver(c, e);
	dbus_message_unref(e);
}

/* the send rules refuse @m: AccessDenied, as dbus-daemon answers */
void bus_deny_send(struct bconn *from, DBusMessage *m, struct bconn *to,
		   const char *dest)
{
	struct bus *b = from->bus;

	b->n_denied++;
	bus_log(b, 1, "policy: %s (uid %d) may not send %s.%s to %s%s%s",
		from->unique, (int)from->uid,
		dbus_message_get_interface(m) ?: "-",
		dbus_message_get_member(m) ?: "-", dest,
		to && strcmp(to->unique, dest) ? " owned by " : "",
		to && strcmp(to->unique, dest) ? to->unique : "");
	bus_reply_error(from, m, DBUS_ERROR_ACCESS_DENIED,
			"Rejected send message: uid %d may not send to \"%s\" by the security policy of the bus",
			(int)from->uid, dest);
}

/* --- expected replies ------------------------------------------------- */

/*
 * A reply is looked for among its receiver's calls only (at most
 * max_replies_per_connection), not among all calls of the bus.
 */
static struct pending *pending_find(struct bconn *callee, struct bconn *caller,
				    __u32 serial)
{
	struct pending *p;

	for (p = caller->calls; p; p = p->cnext)
		if (p->callee == callee && p->serial == serial)
			return p;
	return NULL;
}

/* the deadline is now + reply_timeout: appending keeps bus->pending sorted */
static void pending_link(struct bus *b, struct pending *p)
{
	struct bconn *c = p->caller, *callee = p->callee;

	fifo_push(&b->pending, &p->by_deadline);
	p->cnext = c->calls;
	if (p->cnext)
		p->cnext->cpprev = &p->cnext;
	p->cpprev = &c->calls;
	c->calls = p;
	c->n_pending++;
	p->anext = callee->answers;
	if (p->anext)
		p->anext->apprev = &p->anext;
	p->apprev = &callee->answers;
	callee->answers = p;
}

static void pending_free(struct bus *b, struct pending *p)
{
	fifo_del(&b->pending, &p->by_deadline);
	*p->cpprev = p->cnext;
	if (p->cnext)
		p->cnext->cpprev = p->cpprev;
	*p->apprev = p->anext;
	if (p->anext)
		p->anext->apprev = p->apprev;
	p->caller->n_pending--;
	free(p);
}

/* the caller gets NoReply: the callee left or took too long */
static void pending_no_reply(struct bus *b, struct pending *p,
			     const char *why)
{
	DBusMessage *e;

	e = dbus_message_new(DBUS_MESSAGE_TYPE_ERROR);
	if (!e)
		return;
	if (dbus_message_set_error_name(e, DBUS_ERROR_NO_REPLY) &&
	    dbus_message_set_reply_serial(e, p->serial) &&
	    dbus_message_set_sender(e, BUS_DRIVER_NAME) &&
	    dbus_message_set_destination(e, p->caller->unique) &&
	    dbus_message_append_args(e, DBUS_TYPE_STRING, &why,
				     DBUS_TYPE_INVALID)) {
		dbus_message_set_no_reply(e, TRUE);
		bus_monitor(b, e);
		bus_deliver(p->caller, e);
	}
	dbus_message_unref(e);
}

void bus_pending_drop_conn(struct bconn *c)
{
	struct bus *b = c->bus;

	while (c->calls)
		pending_free(b, c->calls);
	while (c->answers) {
		pending_no_reply(b, c->answers,
				 "Remote peer disconnected before replying");
		pending_free(b, c->answers);
	}
}

/* the expired calls, oldest first; returns ms to the next deadline or -1 */
int bus_expire(struct bus *b)
{
	__u64 now = bus_now_ms(), next = UINT64_MAX;
	struct pending *p;
	int t;

	while ((p = fifo_first(&b->pending, struct pending, by_deadline)) &&
	       p->deadline_ms <= now) {
		pending_no_reply(b, p,
				 "Did not receive a reply (reply_timeout expired)");
		pending_free(b, p);
	}
	if (p)
		next = p->deadline_ms;
	t = activation_expire(b, now);
	if (t >= 0 && now + t < next)
		next = now + t;
	if (next == UINT64_MAX)
		return -1;
	return next - now > 60000 ? 60000 : (int)(next - now);
}

/* --- routing ------------------------------------------------------------ */

static void route_reply(struct bconn *from, DBusMessage *m, const char *dest)
{
	struct bus *b = from->bus;
	struct bconn *to = dest[0] == ':' ? bus_find_unique(b, dest) : NULL;
	struct pending *p;

	p = to ? pending_find(from, to, dbus_message_get_reply_serial(m)) : NULL;
	if (!p) {
		/* like dbus-daemon: only a reply someone waits for passes */
		b->n_dropped++;
		bus_log(b, 2, "%s: dropped an unexpected reply to %s",
			from->unique, dest);
		return;
	}
	pending_free(b, p);
	b->n_replies_routed++;
	bus_deliver(to, m);
}

void bus_route(struct bconn *from, DBusMessage *m)
{
	struct bus *b = from->bus;
	const char *dest = dbus_message_get_destination(m);
	int type = dbus_message_get_type(m);
	bool call = type == DBUS_MESSAGE_TYPE_METHOD_CALL;
	struct pending *p;
	struct bconn *to;
	DBusError err;

	if (!dest) {
		if (type == DBUS_MESSAGE_TYPE_SIGNAL)
			bus_broadcast(b, m);
		/* other messages without destination reach monitors only */
		return;
	}
	if (type == DBUS_MESSAGE_TYPE_METHOD_RETURN ||
	    type == DBUS_MESSAGE_TYPE_ERROR) {
		route_reply(from, m, dest);
		return;
	}
	to = dest[0] == ':' ? bus_find_unique(b, dest) : names_owner(b, dest);
	/* replies passed above: one to a call let through is always allowed */
	if (!names_may_send(from, to, dest)) {
		bus_deny_send(from, m, to, dest);
		return;
	}
	if (!to) {
		if (!call)
			return;
		if (dest[0] == ':' || !dbus_message_get_auto_start(m) ||
		    !policy_activation(&b->policy, dest)) {
			if (dest[0] == ':' || !dbus_message_get_auto_start(m))
				bus_reply_error(from, m, DBUS_ERROR_NAME_HAS_NO_OWNER,
						"Name \"%s\" does not exist", dest);
			else
				bus_reply_error(from, m, DBUS_ERROR_SERVICE_UNKNOWN,
						"The name %s was not provided by any .service files",
						dest);
			return;
		}
		dbus_error_init(&err);
		if (activation_start(from, dest, m, false, &err) < 0) {
			bus_reply_error(from, m, err.name, "%s", err.message);
			dbus_error_free(&err);
		}
		return;
	}
	if (dbus_message_contains_unix_fds(m) && !to->ops->can_pass_fds(to)) {
		bus_reply_error(from, m, DBUS_ERROR_NOT_SUPPORTED,
				"Tried to send message with Unix file descriptors to a client that does not support that");
		return;
	}
	if (to->ops->outgoing_size(to) > b->limits.max_outgoing_bytes) {
		bus_reply_error(from, m, DBUS_ERROR_LIMITS_EXCEEDED,
				"The destination service's message queue is full");
		bus_deliver(to, m);	/* counts and logs the drop */
		return;
	}
	if (!call || dbus_message_get_no_reply(m)) {
		b->n_calls_routed += call;
		bus_deliver(to, m);
		return;
	}
	if (from->n_pending >= b->limits.max_replies_per_connection) {
		bus_reply_error(from, m, DBUS_ERROR_LIMITS_EXCEEDED,
				"The maximum number of pending replies for \"%s\" (uid=%d) has been reached (max_replies_per_connection=%u)",
				from->unique, (int)from->uid,
				b->limits.max_replies_per_connection);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		bus_reply_error(from, m, DBUS_ERROR_NO_MEMORY, "Out of memory");
		return;
	}
	b->n_calls_routed++;
	p->caller = from;
	p->callee = to;
	p->serial = dbus_message_get_serial(m);
	p->deadline_ms = bus_now_ms() + b->limits.reply_timeout_ms;
	pending_link(b, p);
	if (!bus_deliver(to, m)) {
		pending_free(b, p);
		/* as dbus-daemon for a call queued to one that disconnects */
		if (to->closing || to->gone)
			bus_reply_error(from, m, DBUS_ERROR_NO_REPLY,
					"Message recipient disconnected from message bus without replying");
		/* (a bus1 receiver over its quota, or out of memory) */
		else
			bus_reply_error(from, m, DBUS_ERROR_LIMITS_EXCEEDED,
					"The destination cannot take the message");
	}
}

/*
 * The sender field is the bus's to fill: clients cannot forge it. A native
 * client's library already wrote its own name, and libdbus replacing a
 * header field with the same value costs ~23k instructions (a rewrite,
 * then its field cache rebuilt), so a sender that is already right is left
 * alone; any other value is replaced (test-dbus-native: a call through the
 * bus claiming another sender arrives with the caller's own).
 */
bool bus_set_sender(struct bconn *c, DBusMessage *m)
{
	const char *cur = dbus_message_get_sender(m);

	return (cur && !strcmp(cur, c->unique)) ||
	       dbus_message_set_sender(m, c->unique);
}

/* every message a client sends comes here */
void bus_receive(struct bconn *c, DBusMessage *m)
{
	struct bus *b = c->bus;
	const char *dest = dbus_message_get_destination(m);

	if (c->closing)
		return;
	b->n_messages++;
	if (c->monitor) {
		bconn_kill(c, "a monitor sent a message");
		return;
	}
	if (!c->registered) {
		if (!dest || strcmp(dest, BUS_DRIVER_NAME) ||
		    !dbus_message_is_method_call(m, DBUS_INTERFACE_DBUS,
						 "Hello")) {
			bconn_kill(c, "sent %s.%s to %s before Hello",
				   dbus_message_get_interface(m) ?: "-",
				   dbus_message_get_member(m) ?: "-",
				   dest ?: "-");
			return;
		}
		driver_handle(c, m);
		return;
	}
	if (!bus_set_sender(c, m)) {
		bconn_kill(c, "out of memory");
		return;
	}
	bus_monitor(b, m);
	if (dest && !strcmp(dest, BUS_DRIVER_NAME)) {
		driver_handle(c, m);
		return;
	}
	bus_route(c, m);
}

void bus_disconnect(struct bconn *c)
{
	struct bus *b = c->bus;
	unsigned int waiting = c->n_pending;
	char unique[sizeof(c->unique)];

	strcpy(unique, c->unique);
	if (c->registered && !c->monitor) {
		names_release_all(c);
		c->registered = false;
		map_del(&b->by_unique, &c->by_unique);
		names_owner_changed(b, unique, unique, "");
	}
	c->registered = false;
	if (c->monitor && !--b->n_monitors)
		bus_monitored_all(b, false);
	c->monitor = false;
	user_uncount(c);
	match_remove_all(c);
	bus_pending_drop_conn(c);
	activation_drop_conn(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		b->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	b->n_conns--;
	if (c->closing)
		return;
	if (waiting)
		bus_log(b, 0, "connection %s (uid %d pid %d) went away with %u calls unanswered",
			unique, (int)c->uid, (int)c->pid, waiting);
	else if (!unique[0])
		bus_log(b, 0, "connection (uid %d pid %d) closed before Hello",
			(int)c->uid, (int)c->pid);
	else
		bus_log(b, 1, "connection %s disconnected", unique);
}
