// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libbus1-dbus: the standard interfaces every native connection answers on
 * every path, as sd-bus does for its vtables: org.freedesktop.DBus.Peer
 * (Ping, GetMachineId) and org.freedesktop.DBus.Introspectable
 * (Introspect: the objects b1d_add_object() registered at that path, with
 * the signatures their b1d_method gave, their declared signals
 * (b1d_add_object_signals()) and their properties, and the next
 * segment of every deeper registered path as a child node; Properties,
 * answered by dbus-native-props.c where objects are). All of it is bounded by what
 * the program registered; from the wire only the path is read.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dbus-native-int.h"

#define DBUS_INTERFACE_PEER		"org.freedesktop.DBus.Peer"
#define DBUS_INTERFACE_INTROSPECTABLE	"org.freedesktop.DBus.Introspectable"
#define DBUS_INTERFACE_PROPERTIES	"org.freedesktop.DBus.Properties"
/* (libdbus's DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE) */
#define DOCTYPE_XML							\
	"<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n" \
	"\"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n"

#define PEER_XML							\
	" <interface name=\"" DBUS_INTERFACE_PEER "\">\n"		\
	"  <method name=\"Ping\"/>\n"					\
	"  <method name=\"GetMachineId\"><arg direction=\"out\" type=\"s\"/></method>\n" \
	" </interface>\n"						\
	" <interface name=\"" DBUS_INTERFACE_INTROSPECTABLE "\">\n"	\
	"  <method name=\"Introspect\"><arg direction=\"out\" type=\"s\"/></method>\n" \
	" </interface>\n"

/* (sd-bus's and GDBus's argument names) */
#define PROPERTIES_XML							\
	" <interface name=\"" DBUS_INTERFACE_PROPERTIES "\">\n"		\
	"  <method name=\"Get\"><arg name=\"interface_name\" direction=\"in\" type=\"s\"/>" \
	"<arg name=\"property_name\" direction=\"in\" type=\"s\"/>"	\
	"<arg name=\"value\" direction=\"out\" type=\"v\"/></method>\n"	\
	"  <method name=\"GetAll\"><arg name=\"interface_name\" direction=\"in\" type=\"s\"/>" \
	"<arg name=\"props\" direction=\"out\" type=\"a{sv}\"/></method>\n" \
	"  <method name=\"Set\"><arg name=\"interface_name\" direction=\"in\" type=\"s\"/>" \
	"<arg name=\"property_name\" direction=\"in\" type=\"s\"/>"	\
	"<arg name=\"value\" direction=\"in\" type=\"v\"/></method>\n"	\
	"  <signal name=\"PropertiesChanged\"><arg name=\"interface_name\" type=\"s\"/>" \
	"<arg name=\"changed_properties\" type=\"a{sv}\"/>"		\
	"<arg name=\"invalidated_properties\" type=\"as\"/></signal>\n"	\
	" </interface>\n"

#define INVALIDATES_XML							\
	"<annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=\"invalidates\"/>"

static const char *const std_ifaces[] = {
	DBUS_INTERFACE_PEER, DBUS_INTERFACE_INTROSPECTABLE,
	DBUS_INTERFACE_PROPERTIES,
};

bool b1di_std_iface(const char *iface)
{
	unsigned int i;

	for (i = 0; i < sizeof(std_ifaces) / sizeof(*std_ifaces); i++)
		if (!strcmp(iface, std_ifaces[i]))
			return true;
	return false;
}

static const char *const machine_id_files[] = {
	"/etc/machine-id", "/var/lib/dbus/machine-id",
};

static sd_bus_message *reply_s(sd_bus_message *m, const char *s)
{
	sd_bus_message *r = NULL;

	if (sd_bus_message_new_method_return(m, &r) < 0)
		return NULL;
	if (s && sd_bus_message_append(r, "s", s) < 0)
		return sd_bus_message_unref(r);
	return r;
}

static sd_bus_message *error_s(sd_bus_message *m, const char *name,
			       const char *text)
{
	sd_bus_message *r = NULL;

	sd_bus_message_new_method_errorf(m, &r, name, "%s", text);
	return r;
}

/* the first of machine_id_files holding 32 hex digits */
static sd_bus_message *machine_id(sd_bus_message *m)
{
	char id[64];
	unsigned int i, n;
	FILE *f;

	for (i = 0; i < sizeof(machine_id_files) / sizeof(*machine_id_files);
	     i++) {
		f = fopen(machine_id_files[i], "re");
		if (!f)
			continue;
		if (!fgets(id, sizeof(id), f))
			id[0] = 0;
		fclose(f);
		id[strcspn(id, "\n")] = 0;
		for (n = 0; isxdigit((unsigned char)id[n]); n++)
			;
		if (n != 32 || id[n])
			continue;
		return reply_s(m, id);
	}
	return error_s(m, SD_BUS_ERROR_FILE_NOT_FOUND,
		       "No valid /etc/machine-id or /var/lib/dbus/machine-id");
}

/*
 * the length of the complete type @s starts with, 0 if it is none (the
 * D-Bus specification's rules: containers nested at most 32 deep each,
 * structs not empty, dict entries only in arrays, with a basic key)
 */
static size_t type_len(const char *s, int arrays, int structs, bool dict_ok)
{
	size_t n, len;

	if (*s && strchr("ybnqiuxtdsoghv", *s))
		return 1;
	switch (*s) {
	case 'a':
		if (arrays >= 32)
			return 0;
		n = type_len(s + 1, arrays + 1, structs, true);
		return n ? n + 1 : 0;
	case '(':
		if (structs >= 32)
			return 0;
		for (len = 1; s[len] != ')'; len += n) {
			n = type_len(s + len, arrays, structs + 1, false);
			if (!n)
				return 0;
		}
		return len > 1 ? len + 1 : 0;
	case '{':
		if (!dict_ok || !s[1] || !strchr("ybnqiuxtdsog", s[1]))
			return 0;
		n = type_len(s + 2, arrays, structs + 1, false);
		return n && s[2 + n] == '}' ? n + 3 : 0;
	}
	return 0;
}

bool b1di_signature_valid(const char *sig)
{
	size_t n;

	if (strlen(sig) > 255)
		return false;
	for (; *sig; sig += n) {
		n = type_len(sig, 0, 0, false);
		if (!n)
			return false;
	}
	return true;
}

bool b1di_signature_single(const char *sig)
{
	return b1di_signature_valid(sig) && *sig &&
	       type_len(sig, 0, 0, false) == strlen(sig);
}

/*
 * the next of the comma-separated names at *@p: its length (0: none left,
 * or an empty one), *@p moved past it and its comma (NULL after the last)
 */
static size_t next_name(const char **p, const char **namep)
{
	size_t len;

	if (!*p)
		return 0;
	*namep = *p;
	len = strcspn(*p, ",");
	*p = (*p)[len] ? *p + len + 1 : NULL;
	return len;
}

bool b1di_signal_valid(const struct b1d_signal *si)
{
	const char *sig = si->sig ?: "", *p, *name;
	char buf[256];
	size_t n, len;

	if (!sd_bus_member_name_is_valid(si->member) ||
	    !b1di_signature_valid(sig))
		return false;
	if (!si->names)
		return true;
	/* one valid name per complete type, no more ("": none) */
	p = *si->names ? si->names : NULL;
	for (; *sig; sig += n) {
		n = type_len(sig, 0, 0, false);
		len = next_name(&p, &name);
		if (!len || len >= sizeof(buf))
			return false;
		memcpy(buf, name, len);
		buf[len] = 0;
		if (!sd_bus_member_name_is_valid(buf))
			return false;
	}
	return !p;
}

/*
 * one <arg/> per complete type of signature @sig (NULL: none; valid), of
 * direction @dir (NULL: none given, a signal's), named by the
 * comma-separated @names in turn (NULL: not named)
 */
static void put_args(FILE *f, const char *sig, const char *dir,
		     const char *names)
{
	const char *name;
	size_t n, len;

	for (; sig && *sig; sig += n) {
		n = type_len(sig, 0, 0, false);
		if (!n)
			return;
		fputs("<arg", f);
		len = next_name(&names, &name);
		if (len)
			fprintf(f, " name=\"%.*s\"", (int)len, name);
		if (dir)
			fprintf(f, " direction=\"%s\"", dir);
		fprintf(f, " type=\"%.*s\"/>", (int)n, sig);
	}
}

/*
 * a <method> (arguments @in, reply @out) or a <signal> (arguments @out,
 * with @names)
 */
static void put_member(FILE *f, const char *kind, const char *member,
		       const char *in, const char *out, const char *names)
{
	bool method = !strcmp(kind, "method");

	fprintf(f, "  <%s name=\"%s\"", kind, member);
	if ((!in || !*in) && (!out || !*out)) {
		fputs("/>\n", f);
		return;
	}
	fputc('>', f);
	put_args(f, in, "in", NULL);
	put_args(f, out, method ? "out" : NULL, names);
	fprintf(f, "</%s>\n", kind);
}

static void put_props(FILE *f, const struct b1d_property *pr)
{
	for (; pr && pr->name; pr++)
		fprintf(f, "  <property name=\"%s\" type=\"%s\" access=\"%s\"%s\n",
			pr->name, pr->sig, pr->set ? "readwrite" : "read",
			pr->flags & B1D_PROP_INVALIDATES ?
			">" INVALIDATES_XML "</property>" : "/>");
}

/*
 * @o's interface with the methods, then the signals, then the properties
 * of every object at @o's path that has it
 */
static void put_interface(FILE *f, const struct object *o)
{
	const struct b1d_method *me;
	const struct b1d_signal *si;
	const struct object *o2;
	int part;

	fprintf(f, " <interface name=\"%s\">\n", o->iface);
	for (part = 0; part < 3; part++) {
		for (o2 = o; o2; o2 = o2->next) {
			if (strcmp(o2->path, o->path) ||
			    strcmp(o2->iface, o->iface))
				continue;
			for (me = o2->methods; !part && me->member; me++)
				put_member(f, "method", me->member, me->in,
					   me->out, NULL);
			for (si = o2->signals; part == 1 && si && si->member;
			     si++)
				put_member(f, "signal", si->member, NULL,
					   si->sig, si->names);
			if (part == 2)
				put_props(f, o2->props);
		}
	}
	fputs(" </interface>\n", f);
}

/* the segment of @o's path right below @path: its length, 0 if none */
static size_t child_of(const struct object *o, const char *path,
		       const char **segp)
{
	size_t len = strlen(path);
	const char *seg;

	if (len == 1)		/* "/" */
		len = 0;
	if (strncmp(o->path, path, len) || o->path[len] != '/' ||
	    !o->path[len + 1])
		return 0;
	seg = o->path + len + 1;
	*segp = seg;
	return strcspn(seg, "/");
}

static bool child_seen(const struct b1d_bus *bus, const struct object *upto,
		       const char *path, const char *seg, size_t n)
{
	const struct object *o;
	const char *s;

	for (o = bus->objects; o != upto; o = o->next)
		if (child_of(o, path, &s) == n && !strncmp(s, seg, n))
			return true;
	return false;
}

static bool iface_seen(const struct b1d_bus *bus, const struct object *upto)
{
	const struct object *o;

	for (o = bus->objects; o != upto; o = o->next)
		if (!strcmp(o->path, upto->path) && !strcmp(o->iface, upto->iface))
			return true;
	return false;
}

/*
 * Introspect of @path: a path with objects or children has the Peer and
 * Introspectable interfaces, one with objects also Properties and its
 * objects' interfaces; any other is an empty node, as libdbus and GDBus
 * answer for a path nobody registered
 */
static sd_bus_message *introspect(struct b1d_bus *bus, sd_bus_message *m)
{
	const char *path = sd_bus_message_get_path(m), *seg;
	const struct object *o;
	sd_bus_message *r = NULL;
	char *xml = NULL;
	bool exists = false, here = false;
	size_t size, n;
	FILE *f;

	f = open_memstream(&xml, &size);
	if (!f)
		return NULL;
	fputs(DOCTYPE_XML "<node>\n", f);
	for (o = bus->objects; o; o = o->next) {
		if (!strcmp(o->path, path))
			here = true;
		else if (child_of(o, path, &seg))
			exists = true;
	}
	if (exists || here)
		fputs(PEER_XML, f);
	if (here)
		fputs(PROPERTIES_XML, f);
	for (o = bus->objects; o; o = o->next)
		if (!strcmp(o->path, path) && !iface_seen(bus, o))
			put_interface(f, o);
	for (o = bus->objects; o; o = o->next) {
		n = child_of(o, path, &seg);
		if (n && !child_seen(bus, o, path, seg, n))
			fprintf(f, " <node name=\"%.*s\"/>\n", (int)n, seg);
	}
	fputs("</node>\n", f);
	if (!fclose(f) && xml)
		r = reply_s(m, xml);
	free(xml);
	return r;
}

/*
 * A call of Peer or Introspectable (or of one of their members without an
 * interface) that no registered method took: true and *replyp
 */
bool b1di_builtin(struct b1d_bus *bus, sd_bus_message *m,
		  sd_bus_message **replyp)
{
	const char *iface = sd_bus_message_get_interface(m);
	const char *member = sd_bus_message_get_member(m);
	const char *sig = sd_bus_message_get_signature(m, true);
	char text[128];
	bool peer = !iface || !strcmp(iface, DBUS_INTERFACE_PEER);
	bool intro = !iface || !strcmp(iface, DBUS_INTERFACE_INTROSPECTABLE);

	if (!(peer && (!strcmp(member, "Ping") ||
		       !strcmp(member, "GetMachineId"))) &&
	    !(intro && !strcmp(member, "Introspect")))
		return false;
	if (sig && *sig) {
		snprintf(text, sizeof(text), "%s takes no arguments", member);
		*replyp = error_s(m, SD_BUS_ERROR_INVALID_ARGS, text);
	} else if (!strcmp(member, "Ping")) {
		*replyp = reply_s(m, NULL);
	} else if (!strcmp(member, "GetMachineId")) {
		*replyp = machine_id(m);
	} else {
		*replyp = introspect(bus, m);
	}
	return true;
}
