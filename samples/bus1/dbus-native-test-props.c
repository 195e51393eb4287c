// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-native, org.freedesktop.DBus.Properties of a native service
 * (b1d_add_object_props()): the service's properties (props_serve(), in
 * the service's child), a native client's Get, GetAll and Set and their
 * errors, PropertiesChanged to a native subscriber, the properties in
 * Introspect, and Debian's busctl and gdbus reading and writing them.
 * The service's declared signals (b1d_add_object_signals()) in Introspect
 * and in the tools' views, and the declarations refused.
 */
#define TAP_SHARED
#define DBUS_TEST_SHARED
#include "test-dbus-native.h"

/* --- the service's properties ------------------------------------------- */

static char name_value[64] = "native";
static int enabled = 1;
static unsigned int stamp;	/* sets of Name */

static int get_prop(struct b1d_bus *bus, const char *path, const char *iface,
		    const char *prop, sd_bus_message *reply, void *u,
		    sd_bus_error *e)
{
	static const char *const tags[] = { "a", "b", NULL };

	switch (prop[0] == 'S' ? prop[1] : prop[0]) {
	case 'N':
		return sd_bus_message_append(reply, "s", name_value);
	case 'C':
		return sd_bus_message_append(reply, "u", 42);
	case 'L':
		return sd_bus_message_append(reply, "i", -7);
	case 'E':
		return sd_bus_message_append(reply, "b", enabled);
	case 'B':
		return sd_bus_message_append(reply, "x", -(1LL << 40));
	case 'H':
		return sd_bus_message_append(reply, "t", 1ULL << 63);
	case 'R':
		return sd_bus_message_append(reply, "d", 0.5);
	case 'e':	/* Self */
		return sd_bus_message_append(reply, "o", path);
	case 'T':
		return sd_bus_message_append_strv(reply, (char **)tags);
	case 't':	/* Stamp */
		return sd_bus_message_append(reply, "u", stamp);
	}
	return -ENOENT;
}

/* Name: not empty; a new one is announced, with Stamp invalidated */
static int set_name(struct b1d_bus *bus, const char *path, const char *iface,
		    const char *prop, sd_bus_message *value, void *u,
		    sd_bus_error *e)
{
	static const char *const changed[] = { "Name", "Stamp", NULL };
	const char *s;
	int r;

	r = sd_bus_message_read(value, "s", &s);
	if (r < 0)
		return r;
	if (!*s)
		return sd_bus_error_set(e, SD_BUS_ERROR_INVALID_ARGS,
					"Name must not be empty");
	snprintf(name_value, sizeof(name_value), "%s", s);
	stamp++;
	return b1d_emit_properties_changed(bus, path, iface, changed);
}

static int set_enabled(struct b1d_bus *bus, const char *path,
		       const char *iface, const char *prop,
		       sd_bus_message *value, void *u, sd_bus_error *e)
{
	return sd_bus_message_read(value, "b", &enabled);
}

static const struct b1d_property svc_props[] = {
	{ "Name", "s", get_prop, set_name, 0 },
	{ "Count", "u", get_prop, NULL, 0 },
	{ "Level", "i", get_prop, NULL, 0 },
	{ "Enabled", "b", get_prop, set_enabled, 0 },
	{ "Big", "x", get_prop, NULL, 0 },
	{ "Huge", "t", get_prop, NULL, 0 },
	{ "Ratio", "d", get_prop, NULL, 0 },
	{ "Self", "o", get_prop, NULL, 0 },
	{ "Tags", "as", get_prop, NULL, 0 },
	{ "Stamp", "u", get_prop, NULL, B1D_PROP_INVALIDATES },
	{}
};

/* what Emit sends, and two more to introspect */
static const struct b1d_signal svc_signals[] = {
	{ "Ping", "s", "text" },
	{ "Pong", "s", NULL },
	{ "Renamed", "sa{sv}", "name,details" },
	{ "Tick", NULL, NULL },
	{}
};

/*
 * in the service: the properties and signals on SVC_PATH, SVC_IFACE,
 * besides its methods
 */
int props_serve(struct b1d_bus *bus)
{
	return b1d_add_object_props(bus, SVC_PATH, SVC_IFACE, NULL, svc_props,
				    NULL) ?:
	       b1d_add_object_signals(bus, SVC_PATH, SVC_IFACE, svc_signals);
}

/* --- a native client ----------------------------------------------------- */

#define N_PROPS	10

/* what the client should read: "type:value" */
static const char *const want_props[N_PROPS][2] = {
	{ "Name", "s:native" }, { "Count", "u:42" }, { "Level", "i:-7" },
	{ "Enabled", "b:1" }, { "Big", "x:-1099511627776" },
	{ "Huge", "t:9223372036854775808" }, { "Ratio", "d:0.5" },
	{ "Self", "o:" SVC_PATH }, { "Tags", "as:a,b" }, { "Stamp", "u:0" },
};

/* the variant @m is at as "type:value" into @buf */
static bool variant_text(sd_bus_message *m, char *buf, size_t size)
{
	union {
		const char *s;
		uint32_t u;
		int32_t i;
		int b;
		int64_t x;
		uint64_t t;
		double d;
	} v;
	const char *sig;
	char **strv = NULL, **p;
	size_t len;
	char type;

	buf[0] = 0;
	if (sd_bus_message_peek_type(m, &type, &sig) <= 0 || type != 'v' ||
	    sd_bus_message_enter_container(m, 'v', sig) <= 0)
		return false;
	len = snprintf(buf, size, "%s:", sig);
	if (!strcmp(sig, "as")) {
		if (sd_bus_message_read_strv(m, &strv) < 0)
			return false;
		for (p = strv; *p; p++) {
			len += snprintf(buf + len, len < size ? size - len : 0,
					"%s%s", p == strv ? "" : ",", *p);
			free(*p);
		}
		free(strv);
	} else {
		if (strlen(sig) != 1 || sd_bus_message_read_basic(m, *sig, &v) <= 0)
			return false;
		switch (*sig) {
		case 's':
		case 'o':
			snprintf(buf + len, size - len, "%s", v.s);
			break;
		case 'u':
			snprintf(buf + len, size - len, "%u", v.u);
			break;
		case 'i':
			snprintf(buf + len, size - len, "%d", v.i);
			break;
		case 'b':
			snprintf(buf + len, size - len, "%d", v.b);
			break;
		case 'x':
			snprintf(buf + len, size - len, "%lld", (long long)v.x);
			break;
		case 't':
			snprintf(buf + len, size - len, "%llu",
				 (unsigned long long)v.t);
			break;
		case 'd':
			snprintf(buf + len, size - len, "%g", v.d);
			break;
		}
	}
	return sd_bus_message_exit_container(m) >= 0;
}

static sd_bus_message *props_call(struct b1d_bus *bus, const char *path,
				  const char *member, const char *iface,
				  const char *prop)
{
	sd_bus_message *m = sd_call_new(bus, SVC_NAME, path,
					DBUS_INTERFACE_PROPERTIES, member,
					iface);

	if (m && prop && sd_bus_message_append(m, "s", prop) < 0)
		m = sd_unref(m);
	return m;
}

/* Get(SVC_IFACE, @prop) as "type:value", or the error's name */
static void get_text(struct b1d_bus *bus, const char *prop, char *buf,
		     size_t size)
{
	sd_bus_message *r;

	r = call_unref(bus, props_call(bus, SVC_PATH, "Get", SVC_IFACE, prop),
		       10000);
	if (!r)
		snprintf(buf, size, "(no reply)");
	else if (sd_error_name(r))
		snprintf(buf, size, "%s", sd_error_name(r));
	else if (sd_bus_message_rewind(r, true) < 0 ||
		 !variant_text(r, buf, size))
		snprintf(buf, size, "(not one variant)");
	sd_unref(r);
}

/*
 * Set(SVC_IFACE, @prop, <s @s>), or <u @u> if @s is NULL: the error's
 * name, "" if none; its message in @msg if not NULL
 */
static const char *set_prop(struct b1d_bus *bus, const char *prop,
			    const char *s, uint32_t u, char *msg, size_t size)
{
	static char err[128];
	sd_bus_message *m, *r;
	const sd_bus_error *e;
	int ret = -ENOMEM;

	m = props_call(bus, SVC_PATH, "Set", SVC_IFACE, prop);
	if (m && s)
		ret = sd_bus_message_append(m, "v", "s", s);
	else if (m)
		ret = sd_bus_message_append(m, "v", "u", u);
	if (ret < 0)
		m = sd_unref(m);
	r = call_unref(bus, m, 10000);
	e = r ? sd_bus_message_get_error(r) : NULL;
	snprintf(err, sizeof(err), "%s", !r ? "(no reply)" : e ? e->name : "");
	if (msg)
		snprintf(msg, size, "%s", e && e->message ? e->message : "");
	sd_unref(r);
	return err;
}

struct changed {
	int n;
	char text[256];
};

/* PropertiesChanged as "iface name=type:value ... -invalidated ..." */
static void on_changed(struct b1d_bus *bus, sd_bus_message *m, void *u)
{
	struct changed *c = u;
	const char *iface, *name;
	char val[64], **inv = NULL, **p;
	size_t len;

	if (c->n++)
		return;
	if (sd_bus_message_read(m, "s", &iface) <= 0 ||
	    sd_bus_message_enter_container(m, 'a', "{sv}") <= 0)
		return;
	len = snprintf(c->text, sizeof(c->text), "%s", iface);
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		if (sd_bus_message_read(m, "s", &name) <= 0 ||
		    !variant_text(m, val, sizeof(val)))
			return;
		len += snprintf(c->text + len, sizeof(c->text) - len,
				" %s=%s", name, val);
		sd_bus_message_exit_container(m);
	}
	if (sd_bus_message_exit_container(m) < 0 ||
	    sd_bus_message_read_strv(m, &inv) < 0)
		return;
	for (p = inv; *p && len < sizeof(c->text); p++) {
		len += snprintf(c->text + len, sizeof(c->text) - len, " -%s",
				*p);
		free(*p);
	}
	free(inv);
}

/* GetAll(@iface) as " name=type:value" each, its count in *np */
static void get_all_text(struct b1d_bus *bus, const char *iface, char *buf,
			 size_t size, int *np)
{
	const char *name;
	char val[64];
	sd_bus_message *r;
	size_t len = 0;

	*np = -1;
	buf[0] = 0;
	r = call_unref(bus, props_call(bus, SVC_PATH, "GetAll", iface, NULL),
		       10000);
	if (!r || sd_error_name(r)) {
		snprintf(buf, size, "%s", !r ? "(no reply)" : sd_error_name(r));
		goto out;
	}
	if (sd_bus_message_rewind(r, true) < 0 ||
	    sd_bus_message_enter_container(r, 'a', "{sv}") <= 0)
		goto out;
	*np = 0;
	while (sd_bus_message_enter_container(r, 'e', "sv") > 0) {
		if (sd_bus_message_read(r, "s", &name) <= 0 ||
		    !variant_text(r, val, sizeof(val)) ||
		    sd_bus_message_exit_container(r) < 0) {
			*np = -1;
			break;
		}
		(*np)++;
		len += snprintf(buf + len, len < size ? size - len : 0,
				" %s=%s", name, val);
	}
out:
	sd_unref(r);
}

/* every want_props entry is in GetAll's text @all */
static bool all_listed(const char *all)
{
	char item[96];
	int i;

	for (i = 0; i < N_PROPS; i++) {
		snprintf(item, sizeof(item), " %s=%s", want_props[i][0],
			 want_props[i][1]);
		if (!strstr(all, item))
			return false;
	}
	return true;
}

static const char *err_of(sd_bus_message *r)
{
	return !r ? "(no reply)" : sd_error_name(r) ?: "(a return)";
}

/* errors of the calls naming what the path does not have */
static bool unknown_errors(struct b1d_bus *bus, char *got, size_t size)
{
	static const struct {
		const char *path, *member, *iface, *prop, *want;
	} calls[] = {
		{ SVC_PATH, "Get", SVC_IFACE, "Nope",
		  DBUS_ERROR_UNKNOWN_PROPERTY },
		{ SVC_PATH, "Set", SVC_IFACE, "Nope",
		  DBUS_ERROR_UNKNOWN_PROPERTY },
		{ SVC_PATH, "Get", "org.bus1.Nope", "Name",
		  DBUS_ERROR_UNKNOWN_INTERFACE },
		{ SVC_PATH, "GetAll", "org.bus1.Nope", NULL,
		  DBUS_ERROR_UNKNOWN_INTERFACE },
		{ "/no/object", "Get", SVC_IFACE, "Name",
		  DBUS_ERROR_UNKNOWN_OBJECT },
	};
	sd_bus_message *m, *r;
	size_t len = 0;
	bool ok = true;
	unsigned int i;

	got[0] = 0;
	for (i = 0; i < sizeof(calls) / sizeof(*calls); i++) {
		m = props_call(bus, calls[i].path, calls[i].member,
			       calls[i].iface, calls[i].prop);
		if (m && !strcmp(calls[i].member, "Set") &&
		    sd_bus_message_append(m, "v", "s", "x") < 0)
			m = sd_unref(m);
		r = call_unref(bus, m, 10000);
		ok = ok && is_error(r, calls[i].want);
		len += snprintf(got + len, len < size ? size - len : 0,
				"%s%s %s: %s", i ? ", " : "", calls[i].member,
				calls[i].prop ?: calls[i].iface,
				strrchr(err_of(r), '.') ?
				strrchr(err_of(r), '.') + 1 : err_of(r));
		sd_unref(r);
	}
	return ok;
}

#define PROP_XML(n, t, a)	"<property name=\"" n "\" type=\"" t "\" access=\"" a "\""
#define INVALIDATES_XML							\
	"<annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\"" \
	" value=\"invalidates\"/></property>"

static void wait_changed(struct b1d_bus *bus, struct changed *c)
{
	long long end = test_now_ms() + 10000;

	while (!c->n && test_now_ms() < end)
		if (b1d_wait(bus, 200) > 0)
			while (b1d_process(bus) > 0)
				;
}

#define SIG_XML(n, args)	"<signal name=\"" n "\">" args "</signal>\n"
#define ARG_XML(n, t)		"<arg name=\"" n "\" type=\"" t "\"/>"

/* is @what in the <interface> @iface of @xml */
static bool in_interface(const char *xml, const char *iface, const char *what)
{
	char open[256];
	const char *p, *end, *w;

	snprintf(open, sizeof(open), "<interface name=\"%s\">", iface);
	p = strstr(xml, open);
	end = p ? strstr(p, "</interface>") : NULL;
	w = p ? strstr(p, what) : NULL;
	return w && end && w < end;
}

/* the service's declared signals in its Introspect @xml */
static void signals_listed(const char *xml)
{
	bool ok;

	ok = in_interface(xml, SVC_IFACE, SIG_XML("Ping", ARG_XML("text", "s"))) &&
	     in_interface(xml, SVC_IFACE, SIG_XML("Pong", "<arg type=\"s\"/>")) &&
	     in_interface(xml, SVC_IFACE,
			  SIG_XML("Renamed", ARG_XML("name", "s")
				  ARG_XML("details", "a{sv}"))) &&
	     in_interface(xml, SVC_IFACE, "<signal name=\"Tick\"/>\n");
	if (!CHECK(ok,
		   "Introspect lists the declared signals in %s: Ping(s text), Pong(s), Renamed(s name, a{sv} details), Tick()",
		   SVC_IFACE))
		diag(xml);
}

/* declarations b1d_add_object_signals() refuses */
static void signals_refused(struct b1d_bus *bus)
{
	static const struct b1d_signal bad[][2] = {
		{ { "Bad-Name", "s", NULL }, {} },
		{ { "Bad", "a", NULL }, {} },
		{ { "Bad", "ss", "one" }, {} },
		{ { "Bad", "s", "one,two" }, {} },
		{ { "Bad", "s", "a\"b" }, {} },
		{ { "Bad", "ss", "one," }, {} },
	};
	char got[128];
	size_t i, len = 0;
	bool ok = true;
	int r;

	for (i = 0; i <= sizeof(bad) / sizeof(*bad); i++) {
		/* the last: a good signal on a standard interface */
		r = i < sizeof(bad) / sizeof(*bad) ?
		    b1d_add_object_signals(bus, "/org/bus1/Bad", SVC_IFACE,
					   bad[i]) :
		    b1d_add_object_signals(bus, "/org/bus1/Bad",
					   DBUS_INTERFACE_PROPERTIES,
					   svc_signals);
		ok = ok && r == -EINVAL;
		len += snprintf(got + len, len < sizeof(got) ?
				sizeof(got) - len : 0, " %d", r);
	}
	CHECK(ok,
	      "b1d_add_object_signals() refuses a bad member, a bad signature, too few, too many, a bad and an empty name, and the Properties interface:%s",
	      got);
}

void native_props(struct b1d_bus *bus)
{
	static struct changed ch;
	struct b1d_bus *sub = NULL;
	char got[1024], msg[128], *p;
	const char *e1, *e2;
	sd_bus_message *r;
	int i, n;
	bool ok;

	for (ok = true, i = 0, p = got; i < N_PROPS; i++) {
		get_text(bus, want_props[i][0], msg, sizeof(msg));
		ok = ok && !strcmp(msg, want_props[i][1]);
		p += snprintf(p, got + sizeof(got) - p, "%s%s", i ? " " : "",
			      msg);
	}
	CHECK(ok, "Properties.Get of a native service's s, u, i, b, x, t, d, o, as properties (%s)",
	      got);
	get_all_text(bus, SVC_IFACE, got, sizeof(got), &n);
	CHECK(n == N_PROPS && all_listed(got),
	      "GetAll(%s): the %d properties with their values (%d:%s)",
	      SVC_IFACE, N_PROPS, n, got);
	get_all_text(bus, "", got, sizeof(got), &n);
	ok = n == N_PROPS && all_listed(got);
	get_all_text(bus, DBUS_INTERFACE_PEER, got, sizeof(got), &i);
	CHECK(ok && i == 0,
	      "GetAll(\"\"): all the path's properties; GetAll(Peer): none (%d, %d)",
	      n, i);

	ok = !b1d_connect(b1sock, &sub) &&
	     !b1d_match_signal(sub, NULL, SVC_PATH, DBUS_INTERFACE_PROPERTIES,
			       "PropertiesChanged", on_changed, &ch);
	e1 = set_prop(bus, "Name", "renamed", 0, NULL, 0);
	get_text(bus, "Name", msg, sizeof(msg));
	CHECK(ok && !*e1 && !strcmp(msg, "s:renamed"),
	      "Set(Name, <s 'renamed'>) returns, then Get(Name) is %s (%s)",
	      msg, e1);
	if (sub)
		wait_changed(sub, &ch);
	CHECK(ch.n == 1 &&
	      !strcmp(ch.text, SVC_IFACE " Name=s:renamed -Stamp"),
	      "the setter's PropertiesChanged reaches a native subscriber: '%s' (%d)",
	      ch.text, ch.n);
	b1d_free(sub);

	e1 = set_prop(bus, "Count", NULL, 7, NULL, 0);
	get_text(bus, "Count", msg, sizeof(msg));
	CHECK(!strcmp(e1, DBUS_ERROR_PROPERTY_READ_ONLY) &&
	      !strcmp(msg, "u:42"),
	      "Set of the read-only Count: %s, still %s", e1, msg);
	e1 = set_prop(bus, "Name", NULL, 7, NULL, 0);
	e2 = strdupa(e1);
	e1 = set_prop(bus, "Name", "", 0, msg, sizeof(msg));
	r = call_unref(bus, props_call(bus, SVC_PATH, "Get", SVC_IFACE, NULL),
		       10000);
	get_text(bus, "Name", got, sizeof(got));
	CHECK(!strcmp(e2, DBUS_ERROR_INVALID_ARGS) &&
	      !strcmp(e1, DBUS_ERROR_INVALID_ARGS) &&
	      !strcmp(msg, "Name must not be empty") &&
	      is_error(r, DBUS_ERROR_INVALID_ARGS) &&
	      !strcmp(got, "s:renamed"),
	      "InvalidArgs: Set(Name) to a u (%s), to '' (the setter's: %s '%s'), Get with one argument (%s); Name still %s",
	      e2, e1, msg, err_of(r), got);
	sd_unref(r);
	CHECK(unknown_errors(bus, got, sizeof(got)),
	      "unknown property, interface and object: %s", got);

	r = call_unref(bus, sd_call_new(bus, SVC_NAME, SVC_PATH,
					DBUS_INTERFACE_INTROSPECTABLE,
					"Introspect", NULL), 10000);
	p = (char *)(sd_str_arg(r) ?: "");
	ok = strstr(p, PROP_XML("Name", "s", "readwrite") "/>") &&
	     strstr(p, PROP_XML("Count", "u", "read") "/>") &&
	     strstr(p, PROP_XML("Tags", "as", "read") "/>") &&
	     strstr(p, PROP_XML("Stamp", "u", "read") ">" INVALIDATES_XML) &&
	     strstr(p, "<interface name=\"" DBUS_INTERFACE_PROPERTIES "\">") &&
	     strstr(p, "<signal name=\"PropertiesChanged\">");
	if (!CHECK(ok,
		   "Introspect lists the properties (Name readwrite, Count read, Tags as, Stamp invalidates) %s",
		   "and the Properties interface"))
		diag(p);
	signals_listed(p);
	sd_unref(r);
	signals_refused(bus);
}

/* --- Debian's busctl and gdbus ------------------------------------------- */

#define N_HOST_PROPS	6

/* @s with its line breaks as spaces, for one TAP line */
static char *one_line(char *s)
{
	char *p;

	for (p = s; (p = strchr(p, '\n'));)
		*p = ' ';
	return s;
}

/* Debian's busctl and gdbus get and set the native service's properties */
void host_tools_props(void)
{
	static char addr_opt[160];
	static const char *const get[] = {
		"/usr/bin/busctl", addr_opt, "get-property", SVC_NAME,
		SVC_PATH, SVC_IFACE, "Count", "Name", NULL };
	static const char *const set[] = {
		"/usr/bin/busctl", addr_opt, "set-property", SVC_NAME,
		SVC_PATH, SVC_IFACE, "Name", "s", "busctl", NULL };
	static const char *const get_name[] = {
		"/usr/bin/busctl", addr_opt, "get-property", SVC_NAME,
		SVC_PATH, SVC_IFACE, "Name", NULL };
	static const char *const gdbus[] = {
		"/usr/bin/gdbus", "call", "--address", addr, "--dest", SVC_NAME,
		"--object-path", SVC_PATH, "--method",
		DBUS_INTERFACE_PROPERTIES ".Get", SVC_IFACE, "Count", NULL };
	static const char *const intro[] = {
		"/usr/bin/busctl", addr_opt, "introspect", SVC_NAME, SVC_PATH,
		NULL };
	static const char *const gintro[] = {
		"/usr/bin/gdbus", "introspect", "--address", addr, "--dest",
		SVC_NAME, "--object-path", SVC_PATH, NULL };
	char out[8192], out2[256], row[128], row2[128], ping[128];
	bool ok;
	int i;

	snprintf(addr_opt, sizeof(addr_opt), "--address=%s", addr);
	if (!host_tool(get, out, sizeof(out))) {
		for (i = 0; i < N_HOST_PROPS; i++)
			printf("ok %d host-tools # SKIP no %s at %s%s\n",
			       ++tap_n, get[0], HOSTROOT,
			       " (the host's /usr is not shared)");
		return;
	}
	ok = !strcmp(out, "u 42\ns \"renamed\"\n");
	CHECK(ok, "Debian's busctl get-property Count Name of the native service: '%.64s'",
	      one_line(out));
	host_tool(set, out, sizeof(out));
	host_tool(get_name, out2, sizeof(out2));
	ok = !*out && !strcmp(out2, "s \"busctl\"\n");
	CHECK(ok, "busctl set-property Name s busctl, then get-property: '%.64s' '%.64s'",
	      one_line(out), one_line(out2));
	if (!host_tool(gdbus, out, sizeof(out)))
		snprintf(out, sizeof(out), "no %s%s", HOSTROOT, gdbus[0]);
	ok = !strcmp(out, "(<uint32 42>,)\n");
	CHECK(ok, "Debian's gdbus call %s.Get %s Count: '%.64s'",
	      DBUS_INTERFACE_PROPERTIES, SVC_IFACE, one_line(out));
	host_tool(intro, out, sizeof(out));
	busctl_row(out, "Count", row, sizeof(row));
	busctl_row(out, "Name", row2, sizeof(row2));
	busctl_row(out, "Ping", ping, sizeof(ping));
	if (!CHECK(!strcmp(row, "property u 42") &&
		   !strcmp(row2, "property s \"busctl\""),
		   "Debian's busctl introspect shows the properties with their values: .Count '%s', .Name '%s'",
		   row, row2))
		diag(out);
	if (!host_tool(gintro, out, sizeof(out)))
		snprintf(out, sizeof(out), "no %s%s", HOSTROOT, gintro[0]);
	ok = strstr(out, "readonly u Count = 42;") &&
	     strstr(out, "readwrite s Name = 'busctl';");
	if (!CHECK(ok,
		   "Debian's gdbus introspect shows %s",
		   "readonly u Count = 42, readwrite s Name = 'busctl'"))
		diag(out);
	ok = strstr(out, "Ping(s text);") && strstr(out, "Pong(s arg_0);");
	if (!CHECK(ok && !strcmp(ping, "signal s -"),
		   "the declared signals: gdbus introspect Ping(s text), Pong(s arg_0); busctl introspect .Ping '%s'",
		   ping))
		diag(out);
}
