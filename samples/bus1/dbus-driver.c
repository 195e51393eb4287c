// SPDX-License-Identifier: GPL-2.0
/*
 * bus1-dbus-broker: the bus driver, i.e. the peer "org.freedesktop.DBus"
 * at /org/freedesktop/DBus with the interfaces org.freedesktop.DBus,
 * .Monitoring, .Introspectable, .Peer and .Properties. Method names,
 * arguments, return values and error names follow the D-Bus
 * specification and dbus-daemon.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dbus-bus.h"

static const char introspection[] =
	DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE
	"<node>\n"
	" <interface name=\"org.freedesktop.DBus\">\n"
	"  <method name=\"Hello\"><arg direction=\"out\" type=\"s\"/></method>\n"
	"  <method name=\"RequestName\"><arg direction=\"in\" type=\"s\"/><arg direction=\"in\" type=\"u\"/><arg direction=\"out\" type=\"u\"/></method>\n"
	"  <method name=\"ReleaseName\"><arg direction=\"in\" type=\"s\"/><arg direction=\"out\" type=\"u\"/></method>\n"
	"  <method name=\"StartServiceByName\"><arg direction=\"in\" type=\"s\"/><arg direction=\"in\" type=\"u\"/><arg direction=\"out\" type=\"u\"/></method>\n"
	"  <method name=\"NameHasOwner\"><arg direction=\"in\" type=\"s\"/><arg direction=\"out\" type=\"b\"/></method>\n"
	"  <method name=\"ListNames\"><arg direction=\"out\" type=\"as\"/></method>\n"
	"  <method name=\"ListActivatableNames\"><arg direction=\"out\" type=\"as\"/></method>\n"
	"  <method name=\"AddMatch\"><arg direction=\"in\" type=\"s\"/></method>\n"
	"  <method name=\"RemoveMatch\"><arg direction=\"in\" type=\"s\"/></method>\n"
	"  <method name=\"GetNameOwner\"><arg direction=\"in\" type=\"s\"/><arg direction=\"out\" type=\"s\"/></method>\n"
	"  <method name=\"ListQueuedOwners\"><arg direction=\"in\" type=\"s\"/><arg direction=\"out\" type=\"as\"/></method>\n"
	"  <method name=\"GetConnectionUnixUser\"><arg direction=\"in\" type=\"s\"/><arg direction=\"out\" type=\"u\"/></method>\n"
	"  <method name=\"GetConnectionUnixProcessID\"><arg direction=\"in\" type=\"s\"/><arg direction=\"out\" type=\"u\"/></method>\n"
	"  <method name=\"GetConnectionCredentials\"><arg direction=\"in\" type=\"s\"/><arg direction=\"out\" type=\"a{sv}\"/></method>\n"
	"  <method name=\"GetId\"><arg direction=\"out\" type=\"s\"/></method>\n"
	"  <method name=\"ReloadConfig\"/>\n"
	"  <signal name=\"NameOwnerChanged\"><arg type=\"s\"/><arg type=\"s\"/><arg type=\"s\"/></signal>\n"
	"  <signal name=\"NameLost\"><arg type=\"s\"/></signal>\n"
	"  <signal name=\"NameAcquired\"><arg type=\"s\"/></signal>\n"
	"  <property name=\"Features\" type=\"as\" access=\"read\"/>\n"
	"  <property name=\"Interfaces\" type=\"as\" access=\"read\"/>\n"
	" </interface>\n"
	" <interface name=\"org.freedesktop.DBus.Monitoring\">\n"
	"  <method name=\"BecomeMonitor\"><arg direction=\"in\" type=\"as\"/><arg direction=\"in\" type=\"u\"/></method>\n"
	" </interface>\n"
	" <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
	"  <method name=\"Introspect\"><arg direction=\"out\" type=\"s\"/></method>\n"
	" </interface>\n"
	" <interface name=\"org.freedesktop.DBus.Peer\">\n"
	"  <method name=\"Ping\"/>\n"
	"  <method name=\"GetMachineId\"><arg direction=\"out\" type=\"s\"/></method>\n"
	" </interface>\n"
	" <interface name=\"org.freedesktop.DBus.Properties\">\n"
	"  <method name=\"Get\"><arg direction=\"in\" type=\"s\"/><arg direction=\"in\" type=\"s\"/><arg direction=\"out\" type=\"v\"/></method>\n"
	"  <method name=\"GetAll\"><arg direction=\"in\" type=\"s\"/><arg direction=\"out\" type=\"a{sv}\"/></method>\n"
	"  <method name=\"Set\"><arg direction=\"in\" type=\"s\"/><arg direction=\"in\" type=\"s\"/><arg direction=\"in\" type=\"v\"/></method>\n"
	" </interface>\n"
	"</node>\n";

DBusMessage *driver_signal(const char *member)
{
	DBusMessage *m;

	m = dbus_message_new_signal(BUS_DRIVER_PATH, DBUS_INTERFACE_DBUS,
				    member);
	if (m && !dbus_message_set_sender(m, BUS_DRIVER_NAME)) {
		dbus_message_unref(m);
		m = NULL;
	}
	return m;
}

/* sends and unrefs r, a reply to c */
static void send_reply(struct bconn *c, DBusMessage *call, DBusMessage *r)
{
	if (!r) {
		bus_reply_error(c, call, DBUS_ERROR_NO_MEMORY, "Out of memory");
		return;
	}
	if (!dbus_message_get_no_reply(call) &&
	    dbus_message_set_sender(r, BUS_DRIVER_NAME)) {
		bus_monitor(c->bus, r);
		bus_deliver(c, r);
	}
	dbus_message_unref(r);
}

static void reply_args(struct bconn *c, DBusMessage *call, int type, ...)
{
	DBusMessage *r = dbus_message_new_method_return(call);
	va_list ap;

	va_start(ap, type);
	if (r && !dbus_message_append_args_valist(r, type, ap)) {
		dbus_message_unref(r);
		r = NULL;
	}
	va_end(ap);
	send_reply(c, call, r);
}

static void reply_dbus_error(struct bconn *c, DBusMessage *call,
			     DBusError *err)
{
	bus_reply_error(c, call, err->name, "%s", err->message);
	dbus_error_free(err);
}

/* an "as" reply built from a list of strings */
struct strv {
	const char **v;
	unsigned int n, cap;
};

static bool strv_add(struct strv *s, const char *str)
{
	const char **v;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		v = realloc(s->v, s->cap * sizeof(*v));
		if (!v)
			return false;
		s->v = v;
	}
	s->v[s->n++] = str;
	return true;
}

static void reply_strv(struct bconn *c, DBusMessage *call, struct strv *s,
		       bool ok)
{
	if (!ok) {
		free(s->v);
		bus_reply_error(c, call, DBUS_ERROR_NO_MEMORY, "Out of memory");
		return;
	}
	reply_args(c, call, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING, &s->v, s->n,
		   DBUS_TYPE_INVALID);
	free(s->v);
}

/* the connection behind a name, or NULL with NameHasNoOwner sent */
static struct bconn *resolve(struct bconn *c, DBusMessage *call,
			     const char *name, const char *what)
{
	struct bconn *o;

	o = name[0] == ':' ? bus_find_unique(c->bus, name) :
			     names_owner(c->bus, name);
	if (!o)
		bus_reply_error(c, call, DBUS_ERROR_NAME_HAS_NO_OWNER,
				"Could not get %s of name '%s': no such name",
				what, name);
	return o;
}

static void do_hello(struct bconn *c, DBusMessage *m)
{
	struct bus *b = c->bus;
	const char *u = c->unique;

	if (c->registered) {
		bus_reply_error(c, m, DBUS_ERROR_FAILED,
				"Already handled an Hello message");
		return;
	}
	bus_register(c);
	dbus_message_set_sender(m, c->unique);
	bus_monitor(b, m);
	reply_args(c, m, DBUS_TYPE_STRING, &u, DBUS_TYPE_INVALID);
	names_owner_changed(b, u, "", u);
	names_signal_to(c, "NameAcquired", u);
	bus_monitored_tell(c);
}

static void do_list_names(struct bconn *c, DBusMessage *m, bool activatable)
{
	struct bus *b = c->bus;
	struct strv s = { 0 };
	const char *drv = BUS_DRIVER_NAME;
	struct bconn *o;
	struct name *n;
	unsigned int i;
	bool ok = strv_add(&s, drv);

	if (activatable) {
		for (i = 0; i < b->policy.n_acts; i++)
			ok = ok && strv_add(&s, b->policy.acts[i].name);
	} else {
		for (o = b->conns; o; o = o->next)
			if (o->registered && !o->monitor)
				ok = ok && strv_add(&s, o->unique);
		for (n = b->names; n; n = n->next)
			ok = ok && strv_add(&s, n->name);
	}
	reply_strv(c, m, &s, ok);
}

static void do_queued_owners(struct bconn *c, DBusMessage *m,
			     const char *name)
{
	struct strv s = { 0 };
	struct owner *o;
	struct name *n;
	bool ok = true;

	if (!strcmp(name, BUS_DRIVER_NAME)) {
		ok = strv_add(&s, BUS_DRIVER_NAME);
	} else if (name[0] == ':') {
		if (bus_find_unique(c->bus, name))
			ok = strv_add(&s, name);
	} else {
		n = names_lookup(c->bus, name);
		for (o = n ? n->owners : NULL; o; o = o->next)
			ok = ok && strv_add(&s, o->conn->unique);
	}
	if (ok && !s.n) {
		bus_reply_error(c, m, DBUS_ERROR_NAME_HAS_NO_OWNER,
				"Could not get owners of name '%s': no such name",
				name);
		return;
	}
	reply_strv(c, m, &s, ok);
}

static bool append_dict_u32(DBusMessageIter *a, const char *key, __u32 v)
{
	DBusMessageIter e, var;

	return dbus_message_iter_open_container(a, DBUS_TYPE_DICT_ENTRY, NULL,
						&e) &&
	       dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key) &&
	       dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "u",
						&var) &&
	       dbus_message_iter_append_basic(&var, DBUS_TYPE_UINT32, &v) &&
	       dbus_message_iter_close_container(&e, &var) &&
	       dbus_message_iter_close_container(a, &e);
}

static bool append_groups(DBusMessageIter *a, const struct bconn *o)
{
	const char *key = "UnixGroupIDs";
	DBusMessageIter e, var, arr;
	unsigned int i;
	__u32 g;

	if (!dbus_message_iter_open_container(a, DBUS_TYPE_DICT_ENTRY, NULL,
					      &e) ||
	    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key) ||
	    !dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "au",
					      &var) ||
	    !dbus_message_iter_open_container(&var, DBUS_TYPE_ARRAY, "u", &arr))
		return false;
	for (i = 0; i < o->n_groups; i++) {
		g = o->groups[i];
		if (!dbus_message_iter_append_basic(&arr, DBUS_TYPE_UINT32, &g))
			return false;
	}
	return dbus_message_iter_close_container(&var, &arr) &&
	       dbus_message_iter_close_container(&e, &var) &&
	       dbus_message_iter_close_container(a, &e);
}

static void do_credentials(struct bconn *c, DBusMessage *m, const char *name)
{
	DBusMessageIter it, a;
	struct bconn *o = NULL;
	__u32 uid, pid;
	DBusMessage *r;
	bool ok;

	if (strcmp(name, BUS_DRIVER_NAME)) {
		o = resolve(c, m, name, "credentials");
		if (!o)
			return;
	}
	uid = o ? o->uid : getuid();
	pid = o ? o->pid : getpid();
	r = dbus_message_new_method_return(m);
	if (!r)
		return send_reply(c, m, NULL);
	dbus_message_iter_init_append(r, &it);
	ok = dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}",
					      &a) &&
	     append_dict_u32(&a, "UnixUserID", uid) &&
	     (!pid || append_dict_u32(&a, "ProcessID", pid)) &&
	     (!o || !o->groups || append_groups(&a, o)) &&
	     dbus_message_iter_close_container(&it, &a);
	if (!ok) {
		dbus_message_unref(r);
		r = NULL;
	}
	send_reply(c, m, r);
}

static void do_unix_id(struct bconn *c, DBusMessage *m, const char *name,
		       bool pid)
{
	struct bconn *o = NULL;
	__u32 v;

	if (strcmp(name, BUS_DRIVER_NAME)) {
		o = resolve(c, m, name, pid ? "PID" : "UID");
		if (!o)
			return;
	}
	if (pid && o && !o->pid) {
		bus_reply_error(c, m, DBUS_ERROR_UNIX_PROCESS_ID_UNKNOWN,
				"Could not determine PID for '%s'", name);
		return;
	}
	v = pid ? (__u32)(o ? o->pid : getpid()) :
		  (__u32)(o ? o->uid : getuid());
	reply_args(c, m, DBUS_TYPE_UINT32, &v, DBUS_TYPE_INVALID);
}

static void do_become_monitor(struct bconn *c, DBusMessage *m)
{
	struct bus *b = c->bus;
	struct match *head = NULL;
	char unique[sizeof(c->unique)];
	char **rules = NULL;
	int n = 0;
	__u32 flags;
	DBusError err;

	dbus_error_init(&err);
	if (!dbus_message_get_args(m, &err, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING,
				   &rules, &n, DBUS_TYPE_UINT32, &flags,
				   DBUS_TYPE_INVALID))
		return reply_dbus_error(c, m, &err);
	if (flags || (unsigned int)n > b->limits.max_matches_per_connection) {
		dbus_free_string_array(rules);
		bus_reply_error(c, m, DBUS_ERROR_INVALID_ARGS,
				flags ? "BecomeMonitor: flags must be 0" :
					"BecomeMonitor: too many rules");
		return;
	}
	if (match_parse_list(rules, n, &head, &err) < 0) {
		dbus_free_string_array(rules);
		return reply_dbus_error(c, m, &err);
	}
	dbus_free_string_array(rules);
	reply_args(c, m, DBUS_TYPE_INVALID);
	/* like dbus-daemon: it loses every name, its unique name last */
	names_release_all(c);
	strcpy(unique, c->unique);
	names_signal_to(c, "NameLost", unique);
	bus_pending_drop_conn(c);
	match_remove_all(c);
	bus_become_monitor(c);
	c->matches = head;
	c->n_matches = n;
	names_owner_changed(b, unique, unique, "");
	bus_log(b, 1, "%s became a monitor (%d rules)", unique, n);
}

static bool prop_value(DBusMessageIter *it, const char *prop)
{
	static const char * const ifaces[] = { BUS_MONITORING_IFACE };
	DBusMessageIter v, a;
	unsigned int i, n = strcmp(prop, "Interfaces") ? 0 : 1;

	/* Features: none of dbus-daemon's optional ones apply */
	if (!dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, "as", &v) ||
	    !dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "s", &a))
		return false;
	for (i = 0; i < n; i++)
		if (!dbus_message_iter_append_basic(&a, DBUS_TYPE_STRING,
						    &ifaces[i]))
			return false;
	return dbus_message_iter_close_container(&v, &a) &&
	       dbus_message_iter_close_container(it, &v);
}

static void do_properties(struct bconn *c, DBusMessage *m, const char *meth)
{
	static const char * const props[] = { "Features", "Interfaces" };
	const char *iface, *prop;
	DBusMessageIter it, a, e;
	DBusMessage *r;
	DBusError err;
	unsigned int i;
	bool ok;

	dbus_error_init(&err);
	if (!dbus_message_iter_init(m, &it) ||
	    dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_STRING)
		return bus_reply_error(c, m, DBUS_ERROR_INVALID_ARGS,
				       "Expected an interface name");
	dbus_message_iter_get_basic(&it, &iface);
	if (strcmp(iface, DBUS_INTERFACE_DBUS))
		return bus_reply_error(c, m, DBUS_ERROR_UNKNOWN_INTERFACE,
				       "Interface \"%s\" has no properties",
				       iface);
	if (!strcmp(meth, "GetAll")) {
		r = dbus_message_new_method_return(m);
		if (!r)
			return send_reply(c, m, NULL);
		dbus_message_iter_init_append(r, &it);
		ok = dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY,
						      "{sv}", &a);
		for (i = 0; ok && i < 2; i++)
			ok = dbus_message_iter_open_container(&a, DBUS_TYPE_DICT_ENTRY,
							      NULL, &e) &&
			     dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING,
							    &props[i]) &&
			     prop_value(&e, props[i]) &&
			     dbus_message_iter_close_container(&a, &e);
		if (!ok || !dbus_message_iter_close_container(&it, &a)) {
			dbus_message_unref(r);
			r = NULL;
		}
		return send_reply(c, m, r);
	}
	if (!dbus_message_iter_next(&it) ||
	    dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_STRING)
		return bus_reply_error(c, m, DBUS_ERROR_INVALID_ARGS,
				       "Expected a property name");
	dbus_message_iter_get_basic(&it, &prop);
	if (strcmp(prop, props[0]) && strcmp(prop, props[1]))
		return bus_reply_error(c, m, DBUS_ERROR_UNKNOWN_PROPERTY,
				       "Property \"%s\" does not exist", prop);
	if (strcmp(meth, "Get"))
		return bus_reply_error(c, m, DBUS_ERROR_PROPERTY_READ_ONLY,
				       "Property \"%s\" is read-only", prop);
	r = dbus_message_new_method_return(m);
	if (!r)
		return send_reply(c, m, NULL);
	dbus_message_iter_init_append(r, &it);
	if (!prop_value(&it, prop)) {
		dbus_message_unref(r);
		r = NULL;
	}
	send_reply(c, m, r);
}

static void do_machine_id(struct bconn *c, DBusMessage *m)
{
	char id[64] = "", *p = id;
	FILE *f = fopen("/etc/machine-id", "re");

	if (f) {
		if (!fgets(id, sizeof(id), f))
			id[0] = 0;
		fclose(f);
	}
	id[strcspn(id, "\n")] = 0;
	if (strlen(id) != 32)
		return bus_reply_error(c, m, DBUS_ERROR_FILE_NOT_FOUND,
				       "No valid /etc/machine-id");
	reply_args(c, m, DBUS_TYPE_STRING, &p, DBUS_TYPE_INVALID);
}

/* org.freedesktop.DBus methods taking one string */
static bool do_dbus_string(struct bconn *c, DBusMessage *m, const char *meth)
{
	struct bus *b = c->bus;
	const char *name, *s;
	dbus_bool_t has;
	__u32 flags, v;
	struct bconn *o;
	DBusError err;
	int r;

	dbus_error_init(&err);
	if (!strcmp(meth, "RequestName") || !strcmp(meth, "StartServiceByName")) {
		if (!dbus_message_get_args(m, &err, DBUS_TYPE_STRING, &name,
					   DBUS_TYPE_UINT32, &flags,
					   DBUS_TYPE_INVALID))
			return reply_dbus_error(c, m, &err), true;
		if (meth[0] == 'R') {
			r = names_request(c, name, flags, &err);
		} else if (names_owner(b, name) ||
			   !strcmp(name, BUS_DRIVER_NAME)) {
			r = DBUS_START_REPLY_ALREADY_RUNNING;
		} else if (!policy_activation(&b->policy, name)) {
			dbus_set_error(&err, DBUS_ERROR_SERVICE_UNKNOWN,
				       "The name %s was not provided by any .service files",
				       name);
			r = -1;
		} else {
			r = activation_start(c, name, m, true, &err);
			if (r == 0)
				return true;	/* replied when it is up */
		}
		if (r < 0)
			return reply_dbus_error(c, m, &err), true;
		v = r;
		reply_args(c, m, DBUS_TYPE_UINT32, &v, DBUS_TYPE_INVALID);
		return true;
	}
	if (strcmp(meth, "ReleaseName") && strcmp(meth, "AddMatch") &&
	    strcmp(meth, "RemoveMatch") && strcmp(meth, "NameHasOwner") &&
	    strcmp(meth, "GetNameOwner") && strcmp(meth, "ListQueuedOwners") &&
	    strcmp(meth, "GetConnectionUnixUser") &&
	    strcmp(meth, "GetConnectionUnixProcessID") &&
	    strcmp(meth, "GetConnectionCredentials"))
		return false;
	if (!dbus_message_get_args(m, &err, DBUS_TYPE_STRING, &name,
				   DBUS_TYPE_INVALID))
		return reply_dbus_error(c, m, &err), true;
	if (!strcmp(meth, "ReleaseName")) {
		r = names_release(c, name, &err);
		if (r < 0)
			return reply_dbus_error(c, m, &err), true;
		v = r;
		reply_args(c, m, DBUS_TYPE_UINT32, &v, DBUS_TYPE_INVALID);
	} else if (!strcmp(meth, "AddMatch") || !strcmp(meth, "RemoveMatch")) {
		r = meth[0] == 'A' ? match_add(c, name, &err) :
				     match_remove(c, name, &err);
		if (r < 0)
			return reply_dbus_error(c, m, &err), true;
		reply_args(c, m, DBUS_TYPE_INVALID);
	} else if (!strcmp(meth, "NameHasOwner")) {
		has = !strcmp(name, BUS_DRIVER_NAME) ||
		      (name[0] == ':' ? !!bus_find_unique(b, name) :
					!!names_owner(b, name));
		reply_args(c, m, DBUS_TYPE_BOOLEAN, &has, DBUS_TYPE_INVALID);
	} else if (!strcmp(meth, "GetNameOwner")) {
		if (!strcmp(name, BUS_DRIVER_NAME)) {
			s = BUS_DRIVER_NAME;
		} else {
			o = resolve(c, m, name, "owner");
			if (!o)
				return true;
			s = o->unique;
		}
		reply_args(c, m, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID);
	} else if (!strcmp(meth, "ListQueuedOwners")) {
		do_queued_owners(c, m, name);
	} else if (!strcmp(meth, "GetConnectionCredentials")) {
		do_credentials(c, m, name);
	} else {
		do_unix_id(c, m, name, !strcmp(meth, "GetConnectionUnixProcessID"));
	}
	return true;
}

static bool do_dbus(struct bconn *c, DBusMessage *m, const char *meth)
{
	struct bus *b = c->bus;
	const char *s;

	if (!strcmp(meth, "Hello")) {
		do_hello(c, m);
	} else if (!strcmp(meth, "ListNames")) {
		do_list_names(c, m, false);
	} else if (!strcmp(meth, "ListActivatableNames")) {
		do_list_names(c, m, true);
	} else if (!strcmp(meth, "GetId")) {
		s = b->id;
		reply_args(c, m, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID);
	} else if (!strcmp(meth, "ReloadConfig")) {
		reply_args(c, m, DBUS_TYPE_INVALID);
	} else if (!strcmp(meth, "UpdateActivationEnvironment")) {
		bus_reply_error(c, m, DBUS_ERROR_ACCESS_DENIED,
				"Activated services get a fixed environment on this bus");
	} else if (!strcmp(meth, "GetConnectionSELinuxSecurityContext")) {
		bus_reply_error(c, m, DBUS_ERROR_SELINUX_SECURITY_CONTEXT_UNKNOWN,
				"SELinux is not supported by this bus");
	} else if (!strcmp(meth, "GetAdtAuditSessionData")) {
		bus_reply_error(c, m, DBUS_ERROR_ADT_AUDIT_DATA_UNKNOWN,
				"Solaris auditing is not supported by this bus");
	} else {
		return do_dbus_string(c, m, meth);
	}
	return true;
}

void driver_handle(struct bconn *c, DBusMessage *m)
{
	const char *iface = dbus_message_get_interface(m);
	const char *meth = dbus_message_get_member(m);
	bool done = false;

	if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
		return;	/* signals and replies to the bus are dropped */
	if (!iface || !strcmp(iface, DBUS_INTERFACE_DBUS))
		done = do_dbus(c, m, meth);
	if (done)
		return;
	if (!iface || !strcmp(iface, BUS_MONITORING_IFACE)) {
		if (!strcmp(meth, "BecomeMonitor"))
			return do_become_monitor(c, m);
	}
	if (!iface || !strcmp(iface, DBUS_INTERFACE_INTROSPECTABLE)) {
		if (!strcmp(meth, "Introspect")) {
			const char *x = introspection;

			return reply_args(c, m, DBUS_TYPE_STRING, &x,
					  DBUS_TYPE_INVALID);
		}
	}
	if (!iface || !strcmp(iface, DBUS_INTERFACE_PEER)) {
		if (!strcmp(meth, "Ping"))
			return reply_args(c, m, DBUS_TYPE_INVALID);
		if (!strcmp(meth, "GetMachineId"))
			return do_machine_id(c, m);
	}
	if (!iface || !strcmp(iface, DBUS_INTERFACE_PROPERTIES)) {
		if (!strcmp(meth, "Get") || !strcmp(meth, "GetAll") ||
		    !strcmp(meth, "Set"))
			return do_properties(c, m, meth);
	}
	bus_reply_error(c, m, DBUS_ERROR_UNKNOWN_METHOD,
			"org.freedesktop.DBus does not understand message %s",
			meth);
}
