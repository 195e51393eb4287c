/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbus1-dbus: D-Bus natively over bus1, a small API in the spirit of
 * sd-bus. Messages are sd-bus's sd_bus_message (libsystemd); a connection
 * is a bus1 peer registered with bus1-dbus-broker (--bus1-socket). Method calls and
 * replies between two native connections go peer to peer; the broker
 * answers the org.freedesktop.DBus calls, hands out handles and multicasts
 * signals. Not thread safe: one thread per connection.
 * Documentation/bus1/dbus.rst, "D-Bus natively over bus1".
 *
 * Functions returning int return >= 0 on success and a negative errno.
 */
#ifndef _BUS1_DBUS_NATIVE_H
#define _BUS1_DBUS_NATIVE_H

#include <systemd/sd-bus.h>

#ifdef __cplusplus
extern "C" {
#endif

#define B1D_SOCKET_ENV		"BUS1_DBUS_SOCKET"
#define B1D_SOCKET_DEFAULT	"/run/bus1/dbus.bus1"
/*
 * the largest message b1d_call() and b1d_send() send (dbus-daemon's
 * max_message_size, the broker's on its socket side); a larger one fails
 * with -EMSGSIZE and the connection goes on. The receiver's bus1 quota may
 * refuse less: -EDQUOT.
 */
#define B1D_MESSAGE_MAX		(32U << 20)

/* RequestName's flags and replies, ReleaseName's replies (the D-Bus values) */
#define B1D_NAME_ALLOW_REPLACEMENT	1
#define B1D_NAME_REPLACE_EXISTING	2
#define B1D_NAME_DO_NOT_QUEUE		4
#define B1D_NAME_PRIMARY_OWNER		1
#define B1D_NAME_IN_QUEUE		2
#define B1D_NAME_EXISTS			3
#define B1D_NAME_ALREADY_OWNER		4
#define B1D_NAME_RELEASED		1
#define B1D_NAME_NON_EXISTENT		2
#define B1D_NAME_NOT_OWNER		3

struct b1d_bus;

/*
 * a method handler returns the reply (a method return or an error, made
 * with sd_bus_message_new_method_return() or _new_method_error*() on
 * @call; the library sends it and drops the reference), or NULL for none;
 * @in and @out, its argument and reply signatures (NULL: not given), are
 * only what org.freedesktop.DBus.Introspectable.Introspect tells about it
 */
struct b1d_method {
	const char *member;
	struct sd_bus_message *(*fn)(struct b1d_bus *bus,
				     sd_bus_message *call, void *userdata);
	const char *in, *out;
};

/*
 * A property of an interface, as sd-bus's SD_BUS_PROPERTY and
 * SD_BUS_WRITABLE_PROPERTY: @sig is one complete type; @get appends the
 * value (of type @sig, the variant around it is the library's) to @reply;
 * @set, NULL for a read-only property, reads it from @value (entered into
 * the variant, whose type the library checked against @sig). Both get
 * the userdata of b1d_add_object_props() and return >= 0, or a negative
 * errno and, if they set it, @error (else a Failed error of the errno
 * goes back). Setting a property emits nothing by itself: the setter
 * calls b1d_emit_properties_changed() if it wants the signal.
 */
struct b1d_property {
	const char *name;
	const char *sig;
	int (*get)(struct b1d_bus *bus, const char *path,
		   const char *interface, const char *property,
		   sd_bus_message *reply, void *userdata,
		   sd_bus_error *error);
	int (*set)(struct b1d_bus *bus, const char *path,
		   const char *interface, const char *property,
		   sd_bus_message *value, void *userdata,
		   sd_bus_error *error);
	unsigned int flags;		/* B1D_PROP_* */
};

/*
 * PropertiesChanged names the property as invalidated, without its value
 * (sd-bus's SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION)
 */
#define B1D_PROP_INVALIDATES	1

/*
 * A signal an interface emits, as sd-bus's SD_BUS_SIGNAL_WITH_NAMES: only
 * what Introspect tells about it (b1d_send() sends any signal). @sig, its
 * arguments' signature (NULL: none); @names (NULL: not given), their
 * names, comma-separated ("name,count"), one per complete type of @sig.
 */
struct b1d_signal {
	const char *member;
	const char *sig;
	const char *names;
};

/* bootstrap (path NULL: $BUS1_DBUS_SOCKET or the default) and Hello */
int b1d_connect(const char *path, struct b1d_bus **busp);
struct b1d_bus *b1d_free(struct b1d_bus *bus);
const char *b1d_unique_name(struct b1d_bus *bus);
/*
 * The connection's sd_bus, to create messages on
 * (sd_bus_message_new_method_call(), _new_signal()); it is not connected to
 * a bus itself: send with b1d_call() and b1d_send() only, and do not
 * process it, add objects, matches or filters to it, or close it.
 */
sd_bus *b1d_sd_bus(struct b1d_bus *bus);

/* RequestName/ReleaseName: the bus's reply (B1D_NAME_*), or -errno */
int b1d_request_name(struct b1d_bus *bus, const char *name,
		     unsigned int flags);
int b1d_release_name(struct b1d_bus *bus, const char *name);

/*
 * serve @methods (ended by a NULL member) on @path, @interface; every
 * path also answers org.freedesktop.DBus.Peer (Ping, GetMachineId) and
 * org.freedesktop.DBus.Introspectable (the objects added here)
 */
int b1d_add_object(struct b1d_bus *bus, const char *path,
		   const char *interface, const struct b1d_method *methods,
		   void *userdata);
/*
 * the same with @props (ended by a NULL name; NULL: none) as well;
 * @methods may be NULL. Such a path answers
 * org.freedesktop.DBus.Properties (Get, GetAll, Set) for the properties
 * of all objects added at it, and Introspect lists them.
 */
int b1d_add_object_props(struct b1d_bus *bus, const char *path,
			 const char *interface,
			 const struct b1d_method *methods,
			 const struct b1d_property *props, void *userdata);
/*
 * declare @signals (ended by a NULL member) of @interface at @path, for
 * Introspect; such a path answers as one with objects (Properties
 * included), as after b1d_add_object_props() without methods and props
 */
int b1d_add_object_signals(struct b1d_bus *bus, const char *path,
			   const char *interface,
			   const struct b1d_signal *signals);
/*
 * PropertiesChanged(@interface, changed, invalidated) from @path for the
 * properties @names (NULL-terminated; NULL: all of @interface at @path):
 * each with its getter's value, or among the invalidated ones if it has
 * B1D_PROP_INVALIDATES. -ENOENT: a name is no property there.
 */
int b1d_emit_properties_changed(struct b1d_bus *bus, const char *path,
				const char *interface,
				const char *const *names);

/*
 * Send @call and wait for its reply: 0 and *replyp, a method return or an
 * error message (sd_bus_message_get_error()); -ETIMEDOUT after @timeout_ms
 * (< 0: 25 s). A callee that dies first gives a NoReply error. The library
 * sets the sender of an unsealed message to our unique name; a sealed one
 * (sent before) is sent again as it is, with its cookie. A message over
 * B1D_MESSAGE_MAX: -EMSGSIZE; one the callee's quota refuses: -EDQUOT.
 */
int b1d_call(struct b1d_bus *bus, sd_bus_message *call, int timeout_ms,
	     sd_bus_message **replyp);
/*
 * Send @call and return at once; @fn runs from b1d_process() with its
 * reply (a method return or an error message), once. A callee that dies
 * first gives a NoReply error, queued behind what it sent before dying;
 * after @timeout_ms (< 0: 25 s) a NoReply "Method call timed out", as
 * sd_bus_call_async() gives. The reply is the callback's to read, not to
 * keep (sd_bus_message_ref() it); @call stays the caller's. *@cookiep (if
 * not NULL) gets the call's cookie, for b1d_call_cancel(); a call whose
 * cookie still waits (@call sent again) is -EEXIST. The calls of a
 * connection freed before their end get no callback.
 */
typedef void (*b1d_reply_fn)(struct b1d_bus *bus, sd_bus_message *reply,
			     void *userdata);
int b1d_call_async(struct b1d_bus *bus, sd_bus_message *call, int timeout_ms,
		   b1d_reply_fn fn, void *userdata, uint64_t *cookiep);
/*
 * forget the asynchronous call @cookie, as unref'ing sd_bus_call_async()'s
 * slot does: its callback never runs (for its reply, its callee's death or
 * its timeout), its reply is dropped when it comes; -ENOENT if no call of
 * that cookie waits (unknown, ended, or cancelled before)
 */
int b1d_call_cancel(struct b1d_bus *bus, uint64_t cookie);
/* a signal (to its matching subscribers) or a call nobody waits for */
int b1d_send(struct b1d_bus *bus, sd_bus_message *m);

/* receive signals matching the non-NULL fields (AddMatch on the bus) */
int b1d_match_signal(struct b1d_bus *bus, const char *sender,
		     const char *path, const char *interface,
		     const char *member,
		     void (*fn)(struct b1d_bus *bus, sd_bus_message *signal,
				void *userdata),
		     void *userdata);

/* for an event loop: POLLIN means b1d_process() may have work */
int b1d_get_fd(struct b1d_bus *bus);
/*
 * handle one incoming message or one call's timeout: 1 if one was
 * handled, 0 if none was ready
 */
int b1d_process(struct b1d_bus *bus);
/* messages received and waiting for b1d_process() (no I/O) */
int b1d_queued(struct b1d_bus *bus);
/*
 * wait up to @timeout_ms (< 0: forever) for work, a call's timeout
 * included; 1 if some is ready
 */
int b1d_wait(struct b1d_bus *bus, int timeout_ms);
/*
 * for an event loop: milliseconds until b1d_process() has a call's
 * timeout to hand out (0: now), -1 if no call waits
 */
int b1d_get_timeout(struct b1d_bus *bus);

#ifdef __cplusplus
}
#endif

#endif /* _BUS1_DBUS_NATIVE_H */
