// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-map: the bus driver's answers and the name signals, checked as
 * text: what the bus sends to the connections in logged[] (log_sent()),
 * after calls through bus_receive() as a socket client's would go; and
 * path_namespace, argN and argNpath of match rules (dbus-match.c).
 */
#include "test-dbus-map.h"

/* --- the driver and the name signals, on fake connections ---------------- */

/*
 * What the bus sends to the connections in logged[], as text: "<i> <what>"
 * per message, <i> its index in logged[], <what> "return(args)", the error
 * name or "Member(args)" for a signal; args flattened, arrays in [], dict
 * entries in {}.
 */
static struct bconn *logged[4];
static char sent[2048];
static __u32 call_serial;

static void fmt_args(DBusMessageIter *it, char *buf, size_t size)
{
	DBusMessageIter sub;
	const char *s;
	dbus_uint32_t u;
	dbus_bool_t b;
	bool first = true;
	int t;
	size_t n;

	while ((t = dbus_message_iter_get_arg_type(it)) != DBUS_TYPE_INVALID) {
		n = strlen(buf);
		if (!first)
			n += snprintf(buf + n, size - n, ",");
		first = false;
		switch (t) {
		case DBUS_TYPE_STRING:
		case DBUS_TYPE_OBJECT_PATH:
			dbus_message_iter_get_basic(it, &s);
			snprintf(buf + n, size - n, "%s", s);
			break;
		case DBUS_TYPE_UINT32:
			dbus_message_iter_get_basic(it, &u);
			snprintf(buf + n, size - n, "%u", u);
			break;
		case DBUS_TYPE_BOOLEAN:
			dbus_message_iter_get_basic(it, &b);
			snprintf(buf + n, size - n, "%s", b ? "true" : "false");
			break;
		case DBUS_TYPE_ARRAY:
		case DBUS_TYPE_DICT_ENTRY:
		case DBUS_TYPE_VARIANT:
			dbus_message_iter_recurse(it, &sub);
			if (t != DBUS_TYPE_VARIANT)
				snprintf(buf + n, size - n, "%c",
					 t == DBUS_TYPE_ARRAY ? '[' : '{');
			fmt_args(&sub, buf, size);
			n = strlen(buf);
			if (t != DBUS_TYPE_VARIANT)
				snprintf(buf + n, size - n, "%c",
					 t == DBUS_TYPE_ARRAY ? ']' : '}');
			break;
		default:
			snprintf(buf + n, size - n, "?");
		}
		dbus_message_iter_next(it);
	}
}

void log_sent(struct bconn *c, DBusMessage *m)
{
	DBusMessageIter it;
	size_t n = strlen(sent);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(logged) && logged[i] != c; i++)
		;
	if (i == ARRAY_SIZE(logged))
		return;
	if (dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_ERROR) {
		snprintf(sent + n, sizeof(sent) - n, "%u %s;", i,
			 dbus_message_get_error_name(m));
		return;
	}
	snprintf(sent + n, sizeof(sent) - n, "%u %s(", i,
		 dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_SIGNAL ?
		 dbus_message_get_member(m) : "return");
	if (dbus_message_iter_init(m, &it))
		fmt_args(&it, sent, sizeof(sent));
	n = strlen(sent);
	snprintf(sent + n, sizeof(sent) - n, ");");
}

/* @c sends a method call to the bus driver, its arguments as libdbus takes them */
static void call_driver(struct bconn *c, const char *iface, const char *member,
			int type, ...)
{
	DBusMessage *m = dbus_message_new_method_call(BUS_DRIVER_NAME,
						      BUS_DRIVER_PATH, iface,
						      member);
	va_list ap;

	va_start(ap, type);
	if (m && dbus_message_append_args_valist(m, type, ap)) {
		dbus_message_set_serial(m, ++call_serial);
		bus_receive(c, m);
	}
	va_end(ap);
	if (m)
		dbus_message_unref(m);
}

/* one call of the bus's @member per name of @names, each its one argument */
static void call_driver_each(struct bconn *c, const char *member,
			     const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		call_driver(c, DBUS_INTERFACE_DBUS, member, DBUS_TYPE_STRING,
			    &names[i], DBUS_TYPE_INVALID);
}

/* a fresh bus with @n connections in logged[] (the first: a watcher) */
static bool logged_bus(int n)
{
	int i;

	bus_init(&bus);
	bus.limits.max_connections_per_user = 8;
	bus.limits.max_names_per_connection = 8;
	bus.limits.max_matches_per_connection = 8;
	memset(logged, 0, sizeof(logged));
	for (i = 0; i < n; i++) {
		logged[i] = conn_new(1000);
		if (!logged[i])
			return false;
	}
	if (match_add(logged[0], "type='signal',member='NameOwnerChanged'",
		      NULL) < 0)
		return false;
	sent[0] = 0;
	return true;
}

static void logged_bus_end(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(logged); i++) {
		if (!logged[i])
			continue;
		bus_disconnect(logged[i]);
		free(logged[i]);
		logged[i] = NULL;
	}
	bus_destroy(&bus);
}

/*
 * ReleaseName by a connection that is only queued: RELEASED, and nobody
 * gets a signal, the primary owner is the same (the D-Bus specification);
 * the primary owner's release then: NameLost, NameOwnerChanged
 */
void test_release_queued(void)
{
	const char *n = "org.test.R";
	char want[512];
	bool queued;

	if (!logged_bus(3)) {
		CHECK(false, "three connections for ReleaseName");
		logged_bus_end();
		return;
	}
	names_request(logged[1], n, 0, NULL);
	names_request(logged[2], n, 0, NULL);
	sent[0] = 0;
	call_driver(logged[2], DBUS_INTERFACE_DBUS, "ReleaseName",
		    DBUS_TYPE_STRING, &n, DBUS_TYPE_INVALID);
	queued = !strcmp(sent, "2 return(1);") &&
		 names_owner(&bus, n) == logged[1];
	if (queued) {
		sent[0] = 0;
		call_driver(logged[1], DBUS_INTERFACE_DBUS, "ReleaseName",
			    DBUS_TYPE_STRING, &n, DBUS_TYPE_INVALID);
	}
	snprintf(want, sizeof(want),
		 "1 NameLost(%s);0 NameOwnerChanged(%s,%s,);1 return(1);", n,
		 n, logged[1]->unique);
	CHECK(queued && !strcmp(sent, want),
	      "ReleaseName of a queued connection: RELEASED, no signal; of the primary owner: NameLost, NameOwnerChanged (%s)",
	      sent);
	logged_bus_end();
}

/*
 * a connection that goes away: NameOwnerChanged(name, it, "") for its
 * name, then NameOwnerChanged(unique, unique, "") (dbus-daemon)
 */
void test_disconnect_signals(void)
{
	const char *n = "org.test.D";
	char want[512];
	struct bconn *a;

	if (!logged_bus(2)) {
		CHECK(false, "two connections for a disconnect");
		logged_bus_end();
		return;
	}
	a = logged[1];
	logged[1] = NULL;
	names_request(a, n, 0, NULL);
	sent[0] = 0;
	bus_disconnect(a);
	snprintf(want, sizeof(want),
		 "0 NameOwnerChanged(%s,%s,);0 NameOwnerChanged(%s,%s,);", n,
		 a->unique, a->unique, a->unique);
	CHECK(!strcmp(sent, want),
	      "a disconnect: NameOwnerChanged of its name, then of its unique name, old owner set, new empty (%s)",
	      sent);
	free(a);
	logged_bus_end();
}

/*
 * Hello: the reply with the unique name, NameOwnerChanged(u, "", u) to
 * those who watch, then NameAcquired(u) to the new connection
 */
void test_hello(void)
{
	struct bconn *h = calloc(1, sizeof(*h));
	const char *u;
	char want[512];

	if (!h || !logged_bus(1)) {
		CHECK(false, "a connection for Hello");
		free(h);
		logged_bus_end();
		return;
	}
	bconn_init(&bus, h, &fake_ops, NULL);
	logged[1] = h;
	bus_user_allowed(&bus, h, 1000);
	call_driver(h, DBUS_INTERFACE_DBUS, "Hello", DBUS_TYPE_INVALID);
	u = h->unique;
	snprintf(want, sizeof(want),
		 "1 return(%s);0 NameOwnerChanged(%s,,%s);1 NameAcquired(%s);",
		 u, u, u, u);
	CHECK(h->registered && u[0] && !strcmp(sent, want),
	      "Hello: the reply, NameOwnerChanged to a watcher, NameAcquired to the connection (%s)",
	      sent);
	logged_bus_end();
}

/*
 * A call the callee's transport refuses: LimitsExceeded (a bus1 receiver
 * over its quota); if the transport found the callee gone on the way,
 * NoReply, as dbus-daemon for a call queued to one that disconnects
 */
void test_call_refused(void)
{
	DBusMessage *m;
	char want[512];
	int i;

	if (!logged_bus(3)) {
		CHECK(false, "two connections for a refused call");
		logged_bus_end();
		return;
	}
	bus.limits.max_replies_per_connection = 8;
	refusing = logged[2];
	for (i = 0; i < 2; i++) {
		refusing_gone = i;
		m = dbus_message_new_method_call(logged[2]->unique, "/x",
						 "org.test.X", "Echo");
		if (!m)
			break;
		dbus_message_set_serial(m, ++call_serial);
		bus_receive(logged[1], m);
		dbus_message_unref(m);
	}
	refusing = NULL;
	snprintf(want, sizeof(want), "1 %s;1 %s;", DBUS_ERROR_LIMITS_EXCEEDED,
		 DBUS_ERROR_NO_REPLY);
	CHECK(!strcmp(sent, want) && !logged[1]->n_pending,
	      "a call the transport refuses: LimitsExceeded; one it finds the callee gone for: NoReply (%s)",
	      sent);
	logged_bus_end();
}

/*
 * ListQueuedOwners: the queue, primary owner first; a unique name is its
 * own queue; a name nobody owns or queues for, and a unique name nobody
 * has, are NameHasNoOwner (dbus-daemon)
 */
void test_queued_owners(void)
{
	const char *n = "org.test.L", *none = "org.test.Nobody",
		   *gone = ":1.999999", *u;
	char want[512];

	if (!logged_bus(3)) {
		CHECK(false, "three connections for ListQueuedOwners");
		logged_bus_end();
		return;
	}
	names_request(logged[1], n, 0, NULL);
	names_request(logged[2], n, 0, NULL);
	sent[0] = 0;
	u = logged[2]->unique;
	call_driver_each(logged[1], "ListQueuedOwners",
			 (const char *const[]){ n, u, none, gone }, 4);
	snprintf(want, sizeof(want),
		 "1 return([%s,%s]);1 return([%s]);1 %s;1 %s;",
		 logged[1]->unique, u, u, DBUS_ERROR_NAME_HAS_NO_OWNER,
		 DBUS_ERROR_NAME_HAS_NO_OWNER);
	CHECK(!strcmp(sent, want),
	      "ListQueuedOwners of a queue, a unique name, an unowned and a gone name (%s)",
	      sent);
	logged_bus_end();
}

/* NameHasOwner of well-known and unique names, with and without owner */
void test_name_has_owner(void)
{
	const char *n = "org.test.H", *none = "org.test.Nobody",
		   *gone = ":1.999999", *drv = BUS_DRIVER_NAME, *u;

	if (!logged_bus(3)) {
		CHECK(false, "three connections for NameHasOwner");
		logged_bus_end();
		return;
	}
	names_request(logged[1], n, 0, NULL);
	sent[0] = 0;
	u = logged[2]->unique;
	call_driver_each(logged[1], "NameHasOwner",
			 (const char *const[]){ n, none, u, gone, drv }, 5);
	CHECK(!strcmp(sent, "1 return(true);1 return(false);1 return(true);"
		      "1 return(false);1 return(true);"),
	      "NameHasOwner of an owned and an unowned name, a live and a gone unique name, the bus (%s)",
	      sent);
	logged_bus_end();
}

/*
 * org.freedesktop.DBus.Properties of the bus: GetAll has both properties,
 * Features (none) and Interfaces (Monitoring), Get each; other interfaces
 * have none
 */
void test_properties(void)
{
	const char *dbus_if = DBUS_INTERFACE_DBUS, *other = "org.test.I",
		   *feat = "Features", *ifs = "Interfaces";

	if (!logged_bus(2)) {
		CHECK(false, "a connection for Properties");
		logged_bus_end();
		return;
	}
	call_driver(logged[1], DBUS_INTERFACE_PROPERTIES, "GetAll",
		    DBUS_TYPE_STRING, &dbus_if, DBUS_TYPE_INVALID);
	call_driver(logged[1], DBUS_INTERFACE_PROPERTIES, "Get",
		    DBUS_TYPE_STRING, &dbus_if, DBUS_TYPE_STRING, &feat,
		    DBUS_TYPE_INVALID);
	call_driver(logged[1], DBUS_INTERFACE_PROPERTIES, "Get",
		    DBUS_TYPE_STRING, &dbus_if, DBUS_TYPE_STRING, &ifs,
		    DBUS_TYPE_INVALID);
	call_driver(logged[1], DBUS_INTERFACE_PROPERTIES, "GetAll",
		    DBUS_TYPE_STRING, &other, DBUS_TYPE_INVALID);
	CHECK(!strcmp(sent, "1 return([{Features,[]},{Interfaces,["
		      BUS_MONITORING_IFACE "]}]);1 return([]);1 return(["
		      BUS_MONITORING_IFACE "]);"
		      "1 " DBUS_ERROR_UNKNOWN_INTERFACE ";"),
	      "Properties: GetAll and Get of Features and Interfaces, GetAll of another interface (%s)",
	      sent);
	logged_bus_end();
}

/* --- match rules --------------------------------------------------------- */

/* does @rule match a signal on @path whose first argument is @arg0? */
static int rule_on(const char *rule, const char *path, int type,
		   const char *arg0)
{
	DBusMessage *m = dbus_message_new_signal(path, "org.test.I", "S");
	struct match *r = match_parse(rule, NULL);
	bool args = m && (!arg0 || dbus_message_append_args(m, type, &arg0,
							     DBUS_TYPE_INVALID));
	int ok = -1;

	if (args && r)
		ok = match_matches(&bus, r, m, NULL, NULL);
	if (r)
		match_free(r);
	if (m)
		dbus_message_unref(m);
	return ok;
}

/*
 * path_namespace and argNpath (dbus.rst "Match rules", the D-Bus
 * specification): a namespace is its path and the paths below it, not a
 * string prefix; argNpath matches if equal or if either one ends in '/'
 * and is a prefix of the other
 */
void test_match_paths(void)
{
	static const struct {
		const char *rule, *path, *arg0;
		int type, want;
	} t[] = {
		{ "path_namespace='/org/a'", "/org/a", NULL, 0, 1 },
		{ "path_namespace='/org/a'", "/org/a/b", NULL, 0, 1 },
		{ "path_namespace='/org/a'", "/org/ab", NULL, 0, 0 },
		{ "path_namespace='/org/a'", "/org", NULL, 0, 0 },
		{ "path_namespace='/'", "/org/ab", NULL, 0, 1 },
		{ "arg0path='/aa/bb/'", "/", "/aa/bb/", DBUS_TYPE_STRING, 1 },
		{ "arg0path='/aa/bb/'", "/", "/aa/bb/cc", DBUS_TYPE_STRING, 1 },
		{ "arg0path='/aa/bb/'", "/", "/", DBUS_TYPE_STRING, 1 },
		{ "arg0path='/aa/bb/'", "/", "/", DBUS_TYPE_OBJECT_PATH, 1 },
		{ "arg0path='/aa/bb/'", "/", "/aa", DBUS_TYPE_STRING, 0 },
		{ "arg0path='/aa/bb/'", "/", "/aa/b", DBUS_TYPE_STRING, 0 },
		{ "arg0path='/aa/bb'", "/", "/aa/bb/cc", DBUS_TYPE_STRING, 0 },
		{ "arg0path='/aa/bb'", "/", "/aa/", DBUS_TYPE_STRING, 1 },
	};
	unsigned int i, bad = 0;
	char first[160] = "";
	int got;

	bus_init(&bus);
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		got = rule_on(t[i].rule, t[i].path, t[i].type, t[i].arg0);
		if (got == t[i].want)
			continue;
		if (!bad++)
			snprintf(first, sizeof(first), ": %s on %s, arg0 %s: %d",
				 t[i].rule, t[i].path, t[i].arg0 ?: "none",
				 got);
	}
	CHECK(!bad, "path_namespace and arg0path: %u cases as specified (%u wrong%s)",
	      (unsigned int)ARRAY_SIZE(t), bad, first);
	bus_destroy(&bus);
}

/* argN compares the Nth argument, argNpath too (dbus.rst "Match rules") */
void test_match_argn(void)
{
	static const struct {
		const char *rule;
		int want;
	} t[] = {
		{ "arg0='a'", 1 },
		{ "arg1='/b'", 1 },
		{ "arg1='a'", 0 },
		{ "arg2='c'", 1 },
		{ "arg2='/b'", 0 },
		{ "arg0='a',arg2='c'", 1 },
		{ "arg0='a',arg2='a'", 0 },
		{ "arg1path='/'", 1 },
		{ "arg2path='/'", 0 },
		{ "arg3='c'", 0 },
	};
	static const char * const args[] = { "a", "/b", "c" };
	DBusMessage *m;
	struct match *r;
	unsigned int i, bad = 0;
	char first[160] = "";
	int got;

	bus_init(&bus);
	m = dbus_message_new_signal("/", "org.test.I", "S");
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &args[0],
					    DBUS_TYPE_STRING, &args[1],
					    DBUS_TYPE_STRING, &args[2],
					    DBUS_TYPE_INVALID)) {
		CHECK(false, "a signal with three arguments");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		r = match_parse(t[i].rule, NULL);
		got = r ? match_matches(&bus, r, m, NULL, NULL) : -1;
		match_free(r);
		if (got == t[i].want)
			continue;
		if (!bad++)
			snprintf(first, sizeof(first), ": %s: %d", t[i].rule,
				 got);
	}
	CHECK(!bad, "argN and argNpath on a signal (a, /b, c): %u cases (%u wrong%s)",
	      (unsigned int)ARRAY_SIZE(t), bad, first);
	dbus_message_unref(m);
	bus_destroy(&bus);
}
