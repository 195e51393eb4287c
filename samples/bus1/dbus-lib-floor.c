// SPDX-License-Identifier: GPL-2.0
/*
 * dbus-lib-floor - what a D-Bus library with a bytes API costs for the
 * library work of figure (a), on the host: an Echo("s") call built, given
 * its sender and serial, marshalled to bytes, parsed back, its string read,
 * the reply built the same way and parsed back by the caller. No transport.
 *
 *   dbus-lib-floor libdbus|gdbus N
 *
 * `make -C samples/bus1 lib-floor` runs both under callgrind for two N and
 * prints the user-space instructions per round trip (the difference of the
 * two runs over the difference of N, so start-up cancels out). libdbus is
 * what libbus1-dbus uses; GLib's GDBusMessage is the other Debian library
 * with public calls to and from bytes (g_dbus_message_to_blob(),
 * g_dbus_message_new_from_blob()); sd-bus has none (dbus.rst, "sd-bus
 * over bus1"). Host only: dynamically linked, not part of `make check`.
 */
#include <dbus/dbus.h>
#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const echo_str = "hello world";

static void die(const char *what)
{
	fprintf(stderr, "dbus-lib-floor: %s\n", what);
	exit(1);
}

static DBusMessage *dbus_wire(DBusMessage *m)
{
	DBusMessage *r;
	DBusError e;
	char *buf;
	int len;

	dbus_error_init(&e);
	if (!dbus_message_marshal(m, &buf, &len))
		die("dbus_message_marshal");
	r = dbus_message_demarshal(buf, len, &e);
	if (!r)
		die("dbus_message_demarshal");
	dbus_free(buf);
	dbus_message_unref(m);
	return r;
}

static void dbus_round_trip(unsigned int serial)
{
	DBusMessage *m, *call, *reply;
	const char *s = echo_str;

	m = dbus_message_new_method_call("org.example.Svc", "/org/example/Obj",
					 "org.example.Iface", "Echo");
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &s,
					    DBUS_TYPE_INVALID) ||
	    !dbus_message_set_sender(m, ":1.42"))
		die("libdbus: call");
	dbus_message_set_serial(m, serial);
	call = dbus_wire(m);

	if (!dbus_message_get_args(call, NULL, DBUS_TYPE_STRING, &s,
				   DBUS_TYPE_INVALID))
		die("libdbus: call argument");
	m = dbus_message_new_method_return(call);
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &s,
					    DBUS_TYPE_INVALID) ||
	    !dbus_message_set_sender(m, "org.example.Svc"))
		die("libdbus: reply");
	dbus_message_set_serial(m, serial + 1);
	reply = dbus_wire(m);
	dbus_message_unref(call);

	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &s,
				   DBUS_TYPE_INVALID) || strcmp(s, echo_str))
		die("libdbus: reply argument");
	dbus_message_unref(reply);
}

static GDBusMessage *gdbus_wire(GDBusMessage *m)
{
	GDBusMessage *r;
	guchar *blob;
	gsize len;

	blob = g_dbus_message_to_blob(m, &len,
				      G_DBUS_CAPABILITY_FLAGS_UNIX_FD_PASSING,
				      NULL);
	if (!blob)
		die("g_dbus_message_to_blob");
	r = g_dbus_message_new_from_blob(blob, len,
					 G_DBUS_CAPABILITY_FLAGS_UNIX_FD_PASSING,
					 NULL);
	if (!r)
		die("g_dbus_message_new_from_blob");
	g_free(blob);
	g_object_unref(m);
	return r;
}

static void gdbus_round_trip(unsigned int serial)
{
	GDBusMessage *m, *call, *reply;
	const char *s;

	m = g_dbus_message_new_method_call("org.example.Svc",
					   "/org/example/Obj",
					   "org.example.Iface", "Echo");
	g_dbus_message_set_body(m, g_variant_new("(s)", echo_str));
	g_dbus_message_set_sender(m, ":1.42");
	g_dbus_message_set_serial(m, serial);
	call = gdbus_wire(m);

	g_variant_get(g_dbus_message_get_body(call), "(&s)", &s);
	m = g_dbus_message_new_method_reply(call);
	g_dbus_message_set_body(m, g_variant_new("(s)", s));
	g_dbus_message_set_sender(m, "org.example.Svc");
	g_dbus_message_set_serial(m, serial + 1);
	reply = gdbus_wire(m);
	g_object_unref(call);

	g_variant_get(g_dbus_message_get_body(reply), "(&s)", &s);
	if (strcmp(s, echo_str))
		die("gdbus: reply argument");
	g_object_unref(reply);
}

int main(int argc, char **argv)
{
	void (*round_trip)(unsigned int serial);
	unsigned int i, n;

	if (argc != 3)
		die("usage: dbus-lib-floor libdbus|gdbus N");
	if (!strcmp(argv[1], "libdbus"))
		round_trip = dbus_round_trip;
	else if (!strcmp(argv[1], "gdbus"))
		round_trip = gdbus_round_trip;
	else
		die("usage: dbus-lib-floor libdbus|gdbus N");
	n = strtoul(argv[2], NULL, 10);
	for (i = 0; i < n; ++i)
		round_trip(2 * i + 1);
	return 0;
}
