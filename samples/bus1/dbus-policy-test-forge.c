// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-policy, its forgeries: a third peer holding a client's inbox
 * handle forges replies to its calls (Documentation/bus1/dbus.rst,
 * "Replies come from their callee") and signals ("Signals come from the
 * bus"); the library drops them.
 */
#define TAP_SHARED
#define DBUS_TEST_SHARED
#include "test-dbus-policy.h"

/* --- forged replies ------------------------------------------------------ */

/*
 * a raw peer (root, allowed to send to everybody) looks up @victim's inbox
 * and sends it method returns "forged" for serials 1..64 claiming to be
 * from @sender; false if it could not
 */
/* a raw peer (root) with a handle to @victim's inbox, as anybody may get */
static struct b1c *raw_victim(const char *victim, __u64 *hv)
{
	struct b1c *raw = NULL;
	DBusMessage *m, *r;

	*hv = BUS1_HANDLE_INVALID;
	if (b1c_connect(b1sock, &raw) < 0)
		return NULL;
	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 DBUS_INTERFACE_DBUS, "Hello");
	unref(raw_bus_call(raw, m, NULL));
	dbus_message_unref(m);
	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 "org.bus1.DBus", "GetConnectionHandle");
	dbus_message_append_args(m, DBUS_TYPE_STRING, &victim,
				 DBUS_TYPE_INVALID);
	r = raw_bus_call(raw, m, hv);
	dbus_message_unref(m);
	unref(r);
	return raw;
}

static bool forge_replies(const char *victim, const char *sender)
{
	const char *body = "forged";
	unsigned int i, sent = 0;
	struct b1c *raw;
	DBusMessage *m;
	__u64 hv;

	raw = raw_victim(victim, &hv);
	if (!raw)
		return false;
	for (i = 1; hv != BUS1_HANDLE_INVALID && i <= 64; i++) {
		m = dbus_message_new(DBUS_MESSAGE_TYPE_METHOD_RETURN);
		dbus_message_set_reply_serial(m, i);
		dbus_message_set_sender(m, sender);
		dbus_message_set_destination(m, victim);
		dbus_message_set_no_reply(m, TRUE);
		dbus_message_append_args(m, DBUS_TYPE_STRING, &body,
					 DBUS_TYPE_INVALID);
		dbus_message_set_serial(m, ++raw_serial);
		sent += !dwire_send(raw->peer, m, &hv, 1, NULL, NULL, 0);
		dbus_message_unref(m);
	}
	b1c_free(raw);
	return sent == 64;
}

void forged_replies(const char *open_u)
{
	struct b1d_bus *v = NULL;
	sd_bus_message *m, *r;
	const char *owner = NULL;
	bool ok;

	if (b1d_connect(b1sock, &v) < 0)
		v = NULL;
	r = v ? native_call(v, OPEN, "Echo", "v") : NULL;
	CHECK(sd_is_str_reply(r, OPEN ":v"),
	      "a fresh native client calls %s directly (%s)", OPEN, sd_what(r));
	sd_unref(r);
	/* one door, one reply node: by either name the replies arrive */
	r = v ? native_call(v, open_u, "Echo", "u") : NULL;
	ok = sd_is_str_reply(r, OPEN ":u");
	sd_unref(r);
	r = v ? native_call(v, OPEN, "Echo", "w") : NULL;
	CHECK(ok && sd_is_str_reply(r, OPEN ":w"),
	      "... then by its unique name %s, then by %s again (%s)", open_u,
	      OPEN, sd_what(r));
	sd_unref(r);
	if (!v || !forge_replies(b1d_unique_name(v), open_u)) {
		CHECK(false, "a third peer forges replies to %s",
		      v ? b1d_unique_name(v) : "(none)");
		CHECK(false, "(skipped)");
		b1d_free(v);
		return;
	}
	r = native_call(v, OPEN, "Echo", "v2");
	CHECK(sd_is_str_reply(r, OPEN ":v2"),
	      "64 forged replies from a third peer claiming %s wait on its inbox: the direct call's reply is the callee's (%s)",
	      open_u, sd_is_str_reply(r, "forged") ? "the forged one" : sd_what(r));
	sd_unref(r);
	m = sd_driver(v, "GetNameOwner", OPEN);
	r = NULL;
	if (!m || b1d_call(v, m, 5000, &r) < 0)
		r = NULL;
	sd_unref(m);
	if (sd_is_return(r))
		owner = sd_str_arg(r);
	if (!owner)
		owner = "";
	CHECK(!strcmp(owner, open_u),
	      "... and a call to the bus gets the bus's reply: GetNameOwner(%s) = '%s'",
	      OPEN, owner);
	sd_unref(r);
	b1d_free(v);
}

/* --- forged signals ------------------------------------------------------- */

#define N_FORGED_SIGNALS 32

static unsigned int sig_real, sig_forged;

static void on_sig(struct b1d_bus *bus, sd_bus_message *m, void *u)
{
	const char *s = sd_str_arg(m) ?: "";

	if (!strcmp(s, "forged"))
		sig_forged++;
	else
		sig_real++;
}

static sd_bus_message *sd_sig(struct b1d_bus *bus, const char *dest,
			      const char *body)
{
	sd_bus_message *m = NULL;

	if (sd_bus_message_new_signal(b1d_sd_bus(bus), &m, PATH, IFACE,
				      "Sig") < 0)
		return NULL;
	if ((dest && sd_bus_message_set_destination(m, dest) < 0) ||
	    sd_bus_message_append(m, "s", body) < 0)
		return sd_bus_message_unref(m);
	return m;
}

static DBusMessage *sig(const char *dest, const char *body)
{
	DBusMessage *m = dbus_message_new_signal(PATH, IFACE, "Sig");

	if (dest)
		dbus_message_set_destination(m, dest);
	dbus_message_append_args(m, DBUS_TYPE_STRING, &body, DBUS_TYPE_INVALID);
	return m;
}

/*
 * a third peer holding @v's inbox handle sends it signals claiming to be
 * from @claim, broadcast and unicast; then @emitter emits two real ones
 * (one broadcast, one to @v): only the real ones reach @v's match
 */
void forged_signals(struct b1d_bus *emitter, const char *claim)
{
	unsigned int i, sent = 0;
	struct b1d_bus *v = NULL;
	struct b1c *raw = NULL;
	sd_bus_message *nm;
	DBusMessage *m;
	long long end;
	__u64 hv = BUS1_HANDLE_INVALID;

	if (b1d_connect(b1sock, &v) < 0 ||
	    b1d_match_signal(v, NULL, PATH, IFACE, "Sig", on_sig, NULL) < 0) {
		CHECK(false, "a native subscriber of Sig connects");
		b1d_free(v);
		return;
	}
	raw = raw_victim(b1d_unique_name(v), &hv);
	for (i = 0; hv != BUS1_HANDLE_INVALID && i < N_FORGED_SIGNALS; i++) {
		m = sig(i & 1 ? b1d_unique_name(v) : NULL, "forged");
		dbus_message_set_sender(m, claim);
		dbus_message_set_serial(m, ++raw_serial);
		sent += !dwire_send(raw->peer, m, &hv, 1, NULL, NULL, 0);
		dbus_message_unref(m);
	}
	b1c_free(raw);
	nm = sd_sig(emitter, NULL, "real");
	b1d_send(emitter, nm);
	sd_unref(nm);
	nm = sd_sig(emitter, b1d_unique_name(v), "real");
	b1d_send(emitter, nm);
	sd_unref(nm);
	for (end = time(NULL) + 10; sig_real < 2 && time(NULL) < end;)
		if (b1d_wait(v, 1000) > 0)
			while (b1d_process(v) > 0)
				;
	CHECK(sent == N_FORGED_SIGNALS && !sig_forged && sig_real == 2,
	      "a third peer sent %u of %d forged Sig signals claiming %s to a subscriber's inbox: %u delivered; the 2 real ones (broadcast, unicast): %u delivered",
	      sent, N_FORGED_SIGNALS, claim, sig_forged, sig_real);
	b1d_free(v);
}
