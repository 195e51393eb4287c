// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-bench, the libdbus floor lines under (a) and (c): the work
 * libbus1-dbus did with libdbus before its port to sd-bus, no transport.
 */
#include "dbus-bench.h"

/* --- the libdbus floor: the library's libdbus work, no transport -------- */

/*
 * What libbus1-dbus did with libdbus for case (a) or (c) before its port
 * to sd-bus, in one process, the marshalled bytes handed to the receiver
 * in memory instead of in a bus1 message: its functions of then (kept
 * here: floor_prepare(), floor_prepare_reply(), floor_set_sender();
 * dwire_parse()), the libdbus calls it made inline. Its lists, the ioctls
 * and the kernel are left out, so no transport carrying libdbus messages
 * costs less.
 */
struct floor_end {
	dbus_uint32_t serial;
	char unique[64];
};

struct floor {
	struct floor_end caller, callee;
	DBusMessage *tmpl;	/* the template of the last variant, or NULL */
	bool broker;		/* (c): add bus1-dbus-broker's share */
	char *bytes;		/* parse-only ops: the marshalled message */
	int len;
};

/* the old library's floor_set_sender(): a header edit only if it differs */
static bool floor_set_sender(DBusMessage *m, const char *v)
{
	const char *cur = dbus_message_get_sender(m);

	return (cur && v && !strcmp(cur, v)) || dbus_message_set_sender(m, v);
}

/* ... floor_prepare(): the next serial and our unique name */
static int floor_prepare(struct floor_end *e, DBusMessage *m)
{
	if (!++e->serial)
		e->serial = 1;
	dbus_message_set_serial(m, e->serial);
	return floor_set_sender(m, e->unique) ? 0 : -ENOMEM;
}

/* ... b1di_prepare_reply(): the destination first (one cache rebuild) */
static int floor_prepare_reply(struct floor_end *e, DBusMessage *call,
			       DBusMessage *r)
{
	const char *cur = dbus_message_get_destination(r);
	const char *v = dbus_message_get_sender(call);

	if (!(cur && v && !strcmp(cur, v)) &&
	    !dbus_message_set_destination(r, v))
		return -ENOMEM;
	return floor_prepare(e, r);
}

static DBusMessage *floor_parse(const char *buf, int len)
{
	struct bus1_message msg = { .data = buf, .n_bytes = len };
	DBusMessage *m = dwire_parse(&msg, NULL);

	if (!m)
		die("dwire_parse");
	return m;
}

/* dwire_send()'s marshal, then recv_one()'s parse of the bytes */
static DBusMessage *floor_wire(DBusMessage *m)
{
	DBusMessage *in;
	char *buf;
	int len;

	if (!dbus_message_marshal(m, &buf, &len))
		die("dbus_message_marshal");
	dbus_message_contains_unix_fds(m);
	in = floor_parse(buf, len);
	dbus_free(buf);
	return in;
}

/*
 * the call of nat_call(), or a copy of the template (sender set once)
 * with the argument appended: the library's floor_set_sender() then finds
 * the sender right and leaves the header alone
 */
static DBusMessage *floor_new_call(struct floor *f)
{
	const char *s = ARG;
	DBusMessage *m;

	if (!f->tmpl)
		return new_call();
	m = dbus_message_copy(f->tmpl);
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &s,
					    DBUS_TYPE_INVALID))
		die("template copy");
	return m;
}

/* (a): nat_call() -> b1d_call() -> b1di_call_at(), the callee's handle() */
static void floor_call(void *ctx)
{
	struct floor *f = ctx;
	DBusMessage *m = floor_new_call(f), *c, *in, *r, *out;

	if (!dbus_message_get_destination(m))
		die("floor: call");
	c = dbus_message_ref(m);	/* sendable(): not sent before */
	if (floor_prepare(&f->caller, c) < 0)
		die("floor: prepare");
	in = floor_wire(c);
	/* b1di_call_origin() on a door: the sender is already right */
	if (dbus_message_get_type(in) != DBUS_MESSAGE_TYPE_METHOD_CALL ||
	    !floor_set_sender(in, f->caller.unique))
		die("floor: call origin");
	/* dispatch_call() */
	if (!dbus_message_get_path(in) || !dbus_message_get_interface(in) ||
	    !dbus_message_get_member(in))
		die("floor: dispatch");
	r = echo_reply(in);
	if (!r || dbus_message_get_no_reply(in) ||
	    floor_prepare_reply(&f->callee, in, r) < 0)
		die("floor: reply");
	out = floor_wire(r);
	/* b1di_call_at(): is it the reply? */
	if (dbus_message_get_type(out) != DBUS_MESSAGE_TYPE_METHOD_RETURN ||
	    dbus_message_get_reply_serial(out) != f->caller.serial)
		die("floor: reply serial");
	dbus_message_unref(out);
	dbus_message_unref(r);
	dbus_message_unref(in);
	dbus_message_unref(c);
	dbus_message_unref(m);
}

/* recv_one()'s and handle()'s looks at a signal a subscriber receives */
static void floor_subscriber(const char *buf, int len)
{
	DBusMessage *in = floor_parse(buf, len);

	if (dbus_message_is_signal(in, DBUS_INTERFACE_DBUS, "NameOwnerChanged") ||
	    dbus_message_get_type(in) != DBUS_MESSAGE_TYPE_SIGNAL ||
	    !dbus_message_get_sender(in) || !dbus_message_get_path(in) ||
	    !dbus_message_get_interface(in) || !dbus_message_get_member(in))
		die("floor: signal");
	dbus_message_unref(in);
}

/*
 * (c): b1d_send() of one signal, NSUBS subscribers' parses; with ->broker
 * also the broker's: its parse (b1t's recv), bus_receive()'s
 * bus_set_sender() (not linked here: floor_set_sender() is the same test)
 * and the one marshal of the multicast
 */
static void floor_signal(void *ctx)
{
	struct floor *f = ctx;
	DBusMessage *m, *s, *in;
	char *buf, *bbuf;
	int len, blen;

	if (f->tmpl) {
		m = dbus_message_copy(f->tmpl);
		if (!m)
			die("template copy");
	} else {
		m = new_tick();
	}
	s = dbus_message_ref(m);	/* sendable() */
	if (dbus_message_get_type(s) != DBUS_MESSAGE_TYPE_SIGNAL ||
	    floor_prepare(&f->caller, s) < 0 ||
	    !dbus_message_marshal(s, &buf, &len))
		die("floor: emit");
	dbus_message_contains_unix_fds(s);
	if (f->broker) {
		in = floor_parse(buf, len);
		if (!floor_set_sender(in, f->caller.unique) ||
		    !dbus_message_marshal(in, &bbuf, &blen))
			die("floor: broker");
		dbus_message_unref(in);
		dbus_free(buf);
		buf = bbuf;
		len = blen;
	}
	for (int i = 0; i < NSUBS; i++)
		floor_subscriber(buf, len);
	dbus_free(buf);
	dbus_message_unref(s);
	dbus_message_unref(m);
}

/* one dwire_parse() of f->bytes: what every receiver must do */
static void floor_parse_op(void *ctx)
{
	struct floor *f = ctx;

	dbus_message_unref(floor_parse(f->bytes, f->len));
}

static void floor_init(struct floor *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->caller.unique, ":1.41");
	strcpy(f->callee.unique, ":1.42");
}

/* the marshalled bytes of @m, as the library sends it from f->caller */
static void floor_bytes(struct floor *f, DBusMessage *m)
{
	if (floor_prepare(&f->caller, m) < 0 ||
	    !dbus_message_marshal(m, &f->bytes, &f->len))
		die("floor: bytes");
	dbus_message_unref(m);
}

/* the floor lines of case (a), against @d, dbus-daemon's figure */
void floor_call_rows(struct fig d, int iters)
{
	struct floor f;
	struct fig p1, p2;
	DBusMessage *call, *r;

	floor_init(&f);
	dbench_ratio_line("floor (libdbus only)",
			  dbench_measure(floor_call, &f, iters), d, 0.40);
	/* of it, what the two receivers' parses cost */
	call = new_call();
	floor_bytes(&f, dbus_message_ref(call));
	p1 = dbench_measure(floor_parse_op, &f, iters);
	dbus_free(f.bytes);
	r = echo_reply(call);
	dbus_message_set_destination(r, f.caller.unique);
	floor_bytes(&f, r);
	p2 = dbench_measure(floor_parse_op, &f, iters);
	dbus_free(f.bytes);
	dbus_message_unref(call);
	p1.instr += p2.instr;
	dbench_ratio_line("of which the 2 parses (call, reply)", p1, d, 0.40);
	/* a library user's cheapest call: a copy of one with the sender set */
	f.tmpl = dbus_message_new_method_call(NAME, PATH, IFACE, "Echo");
	if (!f.tmpl || !floor_set_sender(f.tmpl, f.caller.unique))
		die("template");
	dbench_ratio_line("floor, the call copied from a template",
			  dbench_measure(floor_call, &f, iters), d, 0.40);
	dbus_message_unref(f.tmpl);
}

/* the floor lines of case (c), against @d, dbus-daemon's figure */
void floor_signal_rows(struct fig d, int iters)
{
	struct floor f;
	struct fig p;

	floor_init(&f);
	dbench_ratio_line("floor (libdbus only)",
			  dbench_measure(floor_signal, &f, iters), d, 0.30);
	floor_bytes(&f, new_tick());
	p = dbench_measure(floor_parse_op, &f, iters);
	dbus_free(f.bytes);
	p.instr *= NSUBS;
	dbench_ratio_line("of which the 10 subscribers' parses", p, d, 0.30);
	f.tmpl = new_tick();
	if (!floor_set_sender(f.tmpl, f.caller.unique))
		die("template");
	dbench_ratio_line("floor, the signal copied from a template",
			  dbench_measure(floor_signal, &f, iters), d, 0.30);
	dbus_message_unref(f.tmpl);
	f.tmpl = NULL;
	f.broker = true;
	dbench_ratio_line("floor + the broker's parse, sender, marshal",
			  dbench_measure(floor_signal, &f, iters), d, 0.30);
}
