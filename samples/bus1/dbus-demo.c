// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-demo: the bus1-native side of the `make run` D-Bus section
 * (bus1-demo.sh --dbus), a small user of libbus1-dbus (dbus-native.h).
 *
 *   bus1-dbus-demo serve NAME
 *	connects natively over bus1 ($BUS1_DBUS_SOCKET), owns NAME and
 *	serves /org/bus1/Demo, interface org.bus1.Demo: Echo(s) -> s, the
 *	argument prefixed with who answered. Prints "ready" once it owns NAME.
 *   bus1-dbus-demo call DEST PATH INTERFACE MEMBER STRING
 *	connects natively, calls MEMBER(s) and prints the string reply (or
 *	the error); exits non-zero on an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dbus-native.h"

#define DEMO_PATH	"/org/bus1/Demo"
#define DEMO_IFACE	"org.bus1.Demo"

static const char *own_name;

static DBusMessage *m_echo(struct b1d_bus *bus, DBusMessage *call, void *u)
{
	const char *s;
	char buf[512];
	DBusMessage *r;
	const char *p = buf;

	if (!dbus_message_get_args(call, NULL, DBUS_TYPE_STRING, &s,
				   DBUS_TYPE_INVALID))
		return dbus_message_new_error(call, DBUS_ERROR_INVALID_ARGS,
					      "Echo takes one string");
	snprintf(buf, sizeof(buf), "native %s (%s) got: %s", own_name,
		 b1d_unique_name(bus), s);
	r = dbus_message_new_method_return(call);
	if (r)
		dbus_message_append_args(r, DBUS_TYPE_STRING, &p,
					 DBUS_TYPE_INVALID);
	return r;
}

static const struct b1d_method methods[] = {
	{ "Echo", m_echo, "s", "s" },
	{}
};

static int serve(const char *name)
{
	struct b1d_bus *bus;
	int r;

	own_name = name;
	r = b1d_connect(NULL, &bus);
	if (r < 0) {
		fprintf(stderr, "bus1-dbus-demo: connect: %s\n", strerror(-r));
		return 1;
	}
	b1d_add_object(bus, DEMO_PATH, DEMO_IFACE, methods, NULL);
	r = b1d_request_name(bus, name, DBUS_NAME_FLAG_DO_NOT_QUEUE);
	if (r != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
		fprintf(stderr, "bus1-dbus-demo: RequestName %s: %d\n", name, r);
		return 1;
	}
	printf("bus1-dbus-demo: %s owns %s natively over bus1: ready\n",
	       b1d_unique_name(bus), name);
	fflush(stdout);
	while (b1d_wait(bus, -1) >= 0)
		while (b1d_process(bus) > 0)
			;
	b1d_free(bus);
	return 0;
}

static int demo_call(char **argv)
{
	DBusMessage *m, *reply = NULL;
	const char *arg = argv[4], *s;
	struct b1d_bus *bus;
	DBusError err;
	int r, ret = 1;

	r = b1d_connect(NULL, &bus);
	if (r < 0) {
		fprintf(stderr, "bus1-dbus-demo: connect: %s\n", strerror(-r));
		return 1;
	}
	m = dbus_message_new_method_call(argv[0], argv[1], argv[2], argv[3]);
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &arg,
					    DBUS_TYPE_INVALID))
		return 1;
	r = b1d_call(bus, m, 30000, &reply);
	dbus_message_unref(m);
	dbus_error_init(&err);
	if (r < 0) {
		fprintf(stderr, "bus1-dbus-demo: call: %s\n", strerror(-r));
	} else if (dbus_set_error_from_message(&err, reply)) {
		printf("%s (native) got error %s: %s\n", b1d_unique_name(bus),
		       err.name, err.message);
		dbus_error_free(&err);
	} else if (dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &s,
					 DBUS_TYPE_INVALID)) {
		printf("%s (native) got reply from %s: \"%s\"\n",
		       b1d_unique_name(bus),
		       dbus_message_get_sender(reply) ?: "?", s);
		ret = 0;
	}
	if (reply)
		dbus_message_unref(reply);
	b1d_free(bus);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(argv[2]);
	if (argc == 7 && !strcmp(argv[1], "call"))
		return demo_call(argv + 2);
	fprintf(stderr, "usage: bus1-dbus-demo serve NAME\n"
		"       bus1-dbus-demo call DEST PATH INTERFACE MEMBER STRING\n");
	return 2;
}
