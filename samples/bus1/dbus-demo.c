// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-demo: the bus1-native side of the `make run` D-Bus section
 * (bus1-demo.sh --dbus), a small user of libbus1-dbus (dbus-native.h).
 *
 *   bus1-dbus-demo serve NAME
 *	connects natively over bus1 ($BUS1_DBUS_SOCKET), owns NAME and
 *	serves /org/bus1/Demo, interface org.bus1.Demo: Echo(s) -> s, the
 *	argument prefixed with who answered, and a read-only property
 *	Calls (u), the Echo calls answered (PropertiesChanged on each).
 *	Prints "ready" once it owns NAME.
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
static unsigned int n_calls;

static sd_bus_message *m_echo(struct b1d_bus *bus, sd_bus_message *call,
			      void *u)
{
	static const char *const changed[] = { "Calls", NULL };
	sd_bus_message *r = NULL;
	const char *s;
	char buf[512];

	if (sd_bus_message_read(call, "s", &s) <= 0) {
		sd_bus_message_new_method_errorf(call, &r,
						 SD_BUS_ERROR_INVALID_ARGS,
						 "Echo takes one string");
		return r;
	}
	n_calls++;
	/* (Introspect says Calls emits PropertiesChanged, the default) */
	b1d_emit_properties_changed(bus, DEMO_PATH, DEMO_IFACE, changed);
	snprintf(buf, sizeof(buf), "native %s (%s) got: %s", own_name,
		 b1d_unique_name(bus), s);
	if (sd_bus_message_new_method_return(call, &r) >= 0 &&
	    sd_bus_message_append(r, "s", buf) < 0)
		r = sd_bus_message_unref(r);
	return r;
}

static const struct b1d_method methods[] = {
	{ "Echo", m_echo, "s", "s" },
	{}
};

static int get_calls(struct b1d_bus *bus, const char *path,
		     const char *iface, const char *prop, sd_bus_message *reply,
		     void *u, sd_bus_error *e)
{
	return sd_bus_message_append(reply, "u", n_calls);
}

static const struct b1d_property props[] = {
	{ "Calls", "u", get_calls, NULL, 0 },
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
	b1d_add_object_props(bus, DEMO_PATH, DEMO_IFACE, methods, props, NULL);
	r = b1d_request_name(bus, name, B1D_NAME_DO_NOT_QUEUE);
	if (r != B1D_NAME_PRIMARY_OWNER) {
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
	sd_bus_message *m = NULL, *reply = NULL;
	const sd_bus_error *err;
	struct b1d_bus *bus;
	const char *s;
	int r, ret = 1;

	r = b1d_connect(NULL, &bus);
	if (r < 0) {
		fprintf(stderr, "bus1-dbus-demo: connect: %s\n", strerror(-r));
		return 1;
	}
	r = sd_bus_message_new_method_call(b1d_sd_bus(bus), &m, argv[0],
					   argv[1], argv[2], argv[3]);
	if (r >= 0)
		r = sd_bus_message_append(m, "s", argv[4]);
	if (r >= 0)
		r = b1d_call(bus, m, 30000, &reply);
	sd_bus_message_unref(m);
	err = r < 0 ? NULL : sd_bus_message_get_error(reply);
	if (r < 0) {
		fprintf(stderr, "bus1-dbus-demo: call: %s\n", strerror(-r));
	} else if (err) {
		printf("%s (native) got error %s: %s\n", b1d_unique_name(bus),
		       err->name, err->message ?: "");
	} else if (sd_bus_message_read(reply, "s", &s) > 0) {
		printf("%s (native) got reply from %s: \"%s\"\n",
		       b1d_unique_name(bus),
		       sd_bus_message_get_sender(reply) ?: "?", s);
		ret = 0;
	}
	sd_bus_message_unref(reply);
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
