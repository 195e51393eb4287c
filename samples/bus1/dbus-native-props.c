// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libbus1-dbus: org.freedesktop.DBus.Properties of the native objects, as
 * sd-bus answers it for its vtables: Get, GetAll and Set of the
 * properties b1d_add_object_props() registered at the call's path, and
 * b1d_emit_properties_changed(). The errors are the ones sd-bus and
 * dbus-daemon give: UnknownInterface for an interface the path does not
 * have, UnknownProperty, PropertyReadOnly, InvalidArgs for arguments of
 * the wrong types (a Set whose variant is not of the property's type
 * included). Only the interface and property names, and a Set's value,
 * are taken from the wire; the value is the setter's to read.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include "dbus-native-int.h"

#define DBUS_INTERFACE_PROPERTIES	"org.freedesktop.DBus.Properties"

static sd_bus_message *error_f(sd_bus_message *m, const char *name,
			       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static sd_bus_message *error_f(sd_bus_message *m, const char *name,
			       const char *fmt, ...)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *r = NULL;
	va_list ap;

	va_start(ap, fmt);
	sd_bus_error_setfv(&e, name, fmt, ap);
	va_end(ap);
	sd_bus_message_new_method_error(m, &r, &e);
	sd_bus_error_free(&e);
	return r;
}

/*
 * property @name of @iface at @path: 1 and *op, *prp; 0 if @iface is
 * there without it, -ENOENT if @iface is not
 */
static int find_prop(struct b1d_bus *bus, const char *path,
		     const char *iface, const char *name,
		     const struct object **op, const struct b1d_property **prp)
{
	const struct b1d_property *pr;
	const struct object *o;
	int ret = b1di_std_iface(iface) ? 0 : -ENOENT;

	for (o = bus->objects; o; o = o->next) {
		if (strcmp(o->path, path) || strcmp(o->iface, iface))
			continue;
		ret = 0;
		for (pr = o->props; pr && pr->name; pr++) {
			if (!strcmp(pr->name, name)) {
				*op = o;
				*prp = pr;
				return 1;
			}
		}
	}
	return ret;
}

/* @pr's value, as a variant, appended to @r by its getter */
static int append_value(struct b1d_bus *bus, sd_bus_message *r,
			const struct object *o, const struct b1d_property *pr,
			sd_bus_error *e)
{
	int ret;

	ret = sd_bus_message_open_container(r, 'v', pr->sig);
	if (ret < 0)
		return ret;
	ret = pr->get(bus, o->path, o->iface, pr->name, r, o->userdata, e);
	if (ret < 0)
		return ret;
	ret = sd_bus_message_close_container(r);
	/* a getter that appended nothing: the program's bug, not the caller's */
	if (ret < 0)
		return sd_bus_error_setf(e, SD_BUS_ERROR_FAILED,
					 "The getter of property '%s' gave no %s.",
					 pr->name, pr->sig);
	return ret;
}

/* the dict entry {@pr's name, its value} of GetAll, PropertiesChanged */
static int append_entry(struct b1d_bus *bus, sd_bus_message *r,
			const struct object *o, const struct b1d_property *pr,
			sd_bus_error *e)
{
	int ret;

	ret = sd_bus_message_open_container(r, 'e', "sv");
	if (ret >= 0)
		ret = sd_bus_message_append(r, "s", pr->name);
	if (ret >= 0)
		ret = append_value(bus, r, o, pr, e);
	if (ret >= 0)
		ret = sd_bus_message_close_container(r);
	return ret;
}

/* the getter's or setter's error @ret as the reply to @m */
static sd_bus_message *errno_reply(sd_bus_message *m, int ret,
				   sd_bus_error *e)
{
	sd_bus_message *r = NULL;

	sd_bus_message_new_method_errno(m, &r, ret, e);
	sd_bus_error_free(e);
	return r;
}

/* a lookup's failure @found as the reply to @m */
static sd_bus_message *not_found(sd_bus_message *m, int found,
				 const char *iface, const char *name)
{
	if (found < 0)
		return error_f(m, SD_BUS_ERROR_UNKNOWN_INTERFACE,
			       "Unknown interface '%s'.", iface);
	return error_f(m, SD_BUS_ERROR_UNKNOWN_PROPERTY,
		       "Unknown property '%s' of interface '%s'.", name, iface);
}

static sd_bus_message *prop_get(struct b1d_bus *bus, sd_bus_message *m)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const struct b1d_property *pr;
	const struct object *o;
	const char *iface, *name;
	sd_bus_message *r = NULL;
	int ret;

	if (sd_bus_message_read(m, "ss", &iface, &name) <= 0)
		return NULL;
	ret = find_prop(bus, sd_bus_message_get_path(m), iface, name, &o, &pr);
	if (ret <= 0)
		return not_found(m, ret, iface, name);
	ret = sd_bus_message_new_method_return(m, &r);
	if (ret < 0)
		return NULL;
	ret = append_value(bus, r, o, pr, &e);
	if (ret < 0) {
		sd_bus_message_unref(r);
		return errno_reply(m, ret, &e);
	}
	return r;
}

/* the properties of @iface ("": of all interfaces) at @m's path */
static sd_bus_message *prop_get_all(struct b1d_bus *bus, sd_bus_message *m)
{
	const char *path = sd_bus_message_get_path(m), *iface;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const struct b1d_property *pr;
	const struct object *o;
	sd_bus_message *r = NULL;
	bool known;
	int ret;

	if (sd_bus_message_read(m, "s", &iface) <= 0)
		return NULL;
	known = !*iface || b1di_std_iface(iface);
	for (o = bus->objects; o; o = o->next)
		if (!strcmp(o->path, path) && !strcmp(o->iface, iface))
			known = true;
	if (!known)
		return not_found(m, -ENOENT, iface, "");
	ret = sd_bus_message_new_method_return(m, &r);
	if (ret < 0)
		return NULL;
	ret = sd_bus_message_open_container(r, 'a', "{sv}");
	for (o = bus->objects; ret >= 0 && o; o = o->next) {
		if (strcmp(o->path, path) || (*iface && strcmp(o->iface, iface)))
			continue;
		for (pr = o->props; ret >= 0 && pr && pr->name; pr++)
			ret = append_entry(bus, r, o, pr, &e);
	}
	if (ret >= 0)
		ret = sd_bus_message_close_container(r);
	if (ret < 0) {
		sd_bus_message_unref(r);
		return errno_reply(m, ret, &e);
	}
	return r;
}

static sd_bus_message *prop_set(struct b1d_bus *bus, sd_bus_message *m)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const char *iface, *name, *sig;
	const struct b1d_property *pr;
	const struct object *o;
	sd_bus_message *r = NULL;
	char type;
	int ret;

	if (sd_bus_message_read(m, "ss", &iface, &name) <= 0 ||
	    sd_bus_message_peek_type(m, &type, &sig) <= 0 || type != 'v')
		return NULL;
	ret = find_prop(bus, sd_bus_message_get_path(m), iface, name, &o, &pr);
	if (ret <= 0)
		return not_found(m, ret, iface, name);
	if (!pr->set)
		return error_f(m, SD_BUS_ERROR_PROPERTY_READ_ONLY,
			       "Property '%s' of interface '%s' is not writable.",
			       name, iface);
	if (strcmp(sig, pr->sig))
		return error_f(m, SD_BUS_ERROR_INVALID_ARGS,
			       "Property of type '%s' set to a value of type '%s'.",
			       pr->sig, sig);
	ret = sd_bus_message_enter_container(m, 'v', sig);
	if (ret >= 0)
		ret = pr->set(bus, o->path, o->iface, pr->name, m, o->userdata,
			      &e);
	if (ret < 0)
		return errno_reply(m, ret, &e);
	if (sd_bus_message_new_method_return(m, &r) < 0)
		return NULL;
	return r;
}

bool b1di_props_call(struct b1d_bus *bus, sd_bus_message *m,
		     sd_bus_message **replyp)
{
	static const struct {
		const char *member, *sig;
		sd_bus_message *(*fn)(struct b1d_bus *bus, sd_bus_message *m);
	} calls[] = {
		{ "Get", "ss", prop_get },
		{ "GetAll", "s", prop_get_all },
		{ "Set", "ssv", prop_set },
	};
	const char *iface = sd_bus_message_get_interface(m);
	const char *member = sd_bus_message_get_member(m);
	const char *sig = sd_bus_message_get_signature(m, true);
	sd_bus_message *r = NULL;
	unsigned int i;

	/* (a Get or Set without interface could be anybody's) */
	if (!iface || strcmp(iface, DBUS_INTERFACE_PROPERTIES))
		return false;
	for (i = 0; i < sizeof(calls) / sizeof(*calls); i++) {
		if (strcmp(member, calls[i].member))
			continue;
		if (!sig || strcmp(sig, calls[i].sig)) {
			*replyp = error_f(m, SD_BUS_ERROR_INVALID_ARGS,
					  "%s takes (%s)", member,
					  calls[i].sig);
			return true;
		}
		r = calls[i].fn(bus, m);
		/* (only allocations and misread messages end here) */
		*replyp = r ?: error_f(m, SD_BUS_ERROR_FAILED,
				       "%s failed", member);
		return true;
	}
	return false;
}

/*
 * the @i-th property of @names, or of all @iface's at @path if @names is
 * NULL: 1 and *op, *prp; 0 after the last; -ENOENT for a name not there
 */
static int nth_prop(struct b1d_bus *bus, const char *path, const char *iface,
		    const char *const *names, size_t i,
		    const struct object **op, const struct b1d_property **prp)
{
	const struct b1d_property *pr;
	const struct object *o;

	if (names) {
		if (!names[i])
			return 0;
		return find_prop(bus, path, iface, names[i], op, prp) > 0 ?
		       1 : -ENOENT;
	}
	for (o = bus->objects; o; o = o->next) {
		if (strcmp(o->path, path) || strcmp(o->iface, iface))
			continue;
		for (pr = o->props; pr && pr->name; pr++) {
			if (!i--) {
				*op = o;
				*prp = pr;
				return 1;
			}
		}
	}
	return 0;
}

int b1d_emit_properties_changed(struct b1d_bus *bus, const char *path,
				const char *interface,
				const char *const *names)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const struct b1d_property *pr;
	const struct object *o;
	sd_bus_message *s = NULL;
	bool inval;
	size_t i;
	int ret;

	ret = sd_bus_message_new_signal(b1d_sd_bus(bus), &s, path,
					DBUS_INTERFACE_PROPERTIES,
					"PropertiesChanged");
	if (ret < 0)
		return ret;
	ret = sd_bus_message_append(s, "s", interface);
	if (ret < 0)
		goto out;
	/* the changed ones with their values, then the invalidated names */
	for (inval = false; ; inval = true) {
		ret = sd_bus_message_open_container(s, 'a', inval ? "s" : "{sv}");
		for (i = 0; ret >= 0; i++) {
			ret = nth_prop(bus, path, interface, names, i, &o, &pr);
			if (ret <= 0)
				break;
			if (!!(pr->flags & B1D_PROP_INVALIDATES) != inval)
				continue;
			if (inval) {
				ret = sd_bus_message_append(s, "s", pr->name);
				continue;
			}
			ret = append_entry(bus, s, o, pr, &e);
		}
		if (ret >= 0)
			ret = sd_bus_message_close_container(s);
		if (ret < 0 || inval)
			break;
	}
	if (ret >= 0)
		ret = b1d_send(bus, s);
out:
	sd_bus_error_free(&e);
	sd_bus_message_unref(s);
	return ret;
}
