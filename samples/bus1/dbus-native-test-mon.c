// SPDX-License-Identifier: GPL-2.0
/*
 * test-dbus-native, monitors and direct calls: a libdbus socket client
 * does BecomeMonitor and must see a native-to-native call and its reply,
 * which never pass the broker, from the copies the native connections
 * send it while the bus is monitored; a raw peer's copy with another
 * sender must not reach the monitor; once the monitor is gone the native
 * connections copy nothing (the broker's GetMonitorStats counts copies).
 * Debian's dbus-monitor, if the host's /usr is shared, prints such a call.
 */
#define TAP_SHARED
#define DBUS_TEST_SHARED
#include "test-dbus-native.h"

#define MON_ARG		"monitored"

struct mstats {
	uint32_t monitors;
	uint64_t copies, monitored, dropped;
};

static bool mon_stats(struct b1d_bus *bus, struct mstats *s)
{
	sd_bus_message *r;
	bool ok;

	r = call_unref(bus, sd_call_new(bus, DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					"org.bus1.DBus", "GetMonitorStats",
					NULL), 5000);
	ok = r && sd_bus_message_read(r, "uttt", &s->monitors, &s->copies,
				      &s->monitored, &s->dropped) > 0;
	sd_unref(r);
	return ok;
}

/* until the bus has @n monitors (its notices sent before the answer) */
static bool mon_wait(struct b1d_bus *bus, uint32_t n, struct mstats *s)
{
	long long end = test_now_ms() + 5000;

	while (mon_stats(bus, s) && test_now_ms() < end) {
		if (s->monitors == n)
			return true;
		usleep(20000);
	}
	return false;
}

static DBusConnection *monitor_open(void)
{
	DBusConnection *c = dbus_connection_open_private(addr, NULL);
	DBusMessage *m, *r = NULL;
	DBusMessageIter it, a;
	dbus_uint32_t flags = 0;

	if (!c)
		return NULL;
	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
					 "org.freedesktop.DBus.Monitoring",
					 "BecomeMonitor");
	if (dbus_bus_register(c, NULL) && m) {
		dbus_message_iter_init_append(m, &it);
		dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &a);
		dbus_message_iter_close_container(&it, &a);
		dbus_message_append_args(m, DBUS_TYPE_UINT32, &flags,
					 DBUS_TYPE_INVALID);
		r = dbus_connection_send_with_reply_and_block(c, m, 5000, NULL);
	}
	unref(m);
	if (!r || dbus_message_get_type(r) != DBUS_MESSAGE_TYPE_METHOD_RETURN) {
		unref(r);
		dbus_connection_close(c);
		dbus_connection_unref(c);
		return NULL;
	}
	unref(r);
	return c;
}

/* what the monitor saw of one call: where in its stream, from and to whom */
struct seen {
	int at;			/* 0: not seen */
	dbus_uint32_t serial;
	char sender[64], dest[64];
};

static void seen_set(struct seen *s, int at, DBusMessage *m)
{
	s->at = at;
	s->serial = dbus_message_get_serial(m);
	snprintf(s->sender, sizeof(s->sender), "%s",
		 dbus_message_get_sender(m) ?: "");
	snprintf(s->dest, sizeof(s->dest), "%s",
		 dbus_message_get_destination(m) ?: "");
}

static const char *str_arg(DBusMessage *m)
{
	const char *s = NULL;

	return dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &s,
				     DBUS_TYPE_INVALID) ? s : NULL;
}

/*
 * read the monitor for up to 5 s until it saw a call of @member (with
 * MON_ARG if @arg) into @call and, with @reply, its reply; *forged counts
 * calls of @bad it saw
 */
static void monitor_read(DBusConnection *c, const char *member, bool arg,
			 struct seen *call, struct seen *reply,
			 const char *bad, int *forged)
{
	long long end = test_now_ms() + 5000;
	DBusMessage *m;
	int n = 0;

	while ((!call->at || (reply && !reply->at)) && test_now_ms() < end) {
		m = dbus_connection_pop_message(c);
		if (!m) {
			if (!dbus_connection_read_write(c, 200))
				break;
			continue;
		}
		n++;
		if (dbus_message_is_method_call(m, SVC_IFACE, member) &&
		    (!arg || !strcmp(str_arg(m) ?: "", MON_ARG)))
			seen_set(call, n, m);
		else if (bad && dbus_message_is_method_call(m, SVC_IFACE, bad))
			(*forged)++;
		else if (reply && call->at &&
			 dbus_message_get_type(m) ==
			 DBUS_MESSAGE_TYPE_METHOD_RETURN &&
			 dbus_message_get_reply_serial(m) == call->serial)
			seen_set(reply, n, m);
		unref(m);
	}
}

/* the Monitored signal on @raw's inbox: the handle of its copy node */
static __u64 raw_copy_node(struct b1c *raw)
{
	long long end = test_now_ms() + 5000;
	struct pollfd p = { .fd = bus1_peer_get_fd(raw->peer),
			    .events = POLLIN };
	__u64 h = BUS1_HANDLE_INVALID;
	struct bus1_message msg;
	DBusMessage *m;
	size_t i;

	while (h == BUS1_HANDLE_INVALID && test_now_ms() < end) {
		if (bus1_recv(raw->peer, BUS1_RECV_FLAG_INSTALL_FDS, &msg) < 0) {
			poll(&p, 1, 200);
			continue;
		}
		m = msg.type == BUS1_MSG_DATA ? dwire_parse(&msg, NULL) : NULL;
		for (i = 0; i < msg.n_handles; i++)
			if (!i && m && dbus_message_is_signal(m, "org.bus1.DBus",
							      "Monitored"))
				h = msg.handles[0];
			else
				bus1_handle_release(raw->peer, msg.handles[i]);
		unref(m);
		bus1_message_release(&msg);
	}
	return h;
}

/* a raw peer's copies: Forged() as @victim, then Genuine() as itself */
static bool forge_copy(const char *victim, char *unique, size_t size)
{
	const char *senders[2] = { victim, unique }, *members[2] = {
		"Forged", "Genuine" };
	struct b1c *raw = raw_hello(unique, size);
	DBusMessage *m;
	bool ok = true;
	__u64 copy;
	int i;

	if (!raw)
		return false;
	copy = raw_copy_node(raw);
	for (i = 0; i < 2 && copy != BUS1_HANDLE_INVALID; i++) {
		m = dbus_message_new_method_call(SVC_NAME, SVC_PATH, SVC_IFACE,
						 members[i]);
		ok = ok && m && dbus_message_set_sender(m, senders[i]) &&
		     !raw_send(raw, m, copy, BUS1_HANDLE_INVALID);
		unref(m);
	}
	b1c_free(raw);
	return ok && copy != BUS1_HANDLE_INVALID;
}

/*
 * Debian's dbus-monitor (from the host's /usr) on the socket prints a
 * direct native call and its reply: it runs for 4 s in a child while we
 * call, once the bus counts it as a monitor
 */
static void host_monitor(struct b1d_bus *cl, const char *svc_unique)
{
	static const char *const argv[] = { "/usr/bin/timeout", "4", "dbus-monitor",
		"--address", addr, "type='method_call',member='Echo'",
		"type='method_return'", NULL };
	char out[8192] = "", want[2][160];
	struct mstats s;
	sd_bus_message *r;
	size_t len = 0;
	ssize_t n;
	int p[2];
	pid_t pid;

	if (access(HOSTROOT "/usr/bin/dbus-monitor", X_OK) ||
	    access(HOSTROOT "/usr/bin/timeout", X_OK) || pipe(p) < 0) {
		printf("ok %d host-tools # SKIP no dbus-monitor at %s%s\n",
		       ++tap_n, HOSTROOT, " (the host's /usr is not shared)");
		return;
	}
	fflush(NULL);
	pid = fork();
	if (!pid) {
		close(p[0]);
		host_tool(argv, out, sizeof(out));
		n = write(p[1], out, strlen(out));
		_exit(n < 0);
	}
	close(p[1]);
	if (pid > 0 && mon_wait(cl, 1, &s)) {
		r = call_unref(cl, sd_call_new(cl, SVC_NAME, SVC_PATH,
					       SVC_IFACE, "Echo",
					       "dbus-monitor"), 5000);
		sd_unref(r);
	}
	while (len < sizeof(out) - 1 &&
	       (n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	out[len] = 0;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	snprintf(want[0], sizeof(want[0]), "sender=%s -> destination=%s",
		 b1d_unique_name(cl), SVC_NAME);
	snprintf(want[1], sizeof(want[1]), "sender=%s -> destination=%s",
		 svc_unique, b1d_unique_name(cl));
	CHECK(strstr(out, want[0]) && strstr(out, "string \"dbus-monitor\"") &&
	      strstr(out, want[1]) && strstr(out, "method return"),
	      "Debian's dbus-monitor prints the direct native call Echo(\"dbus-monitor\") (%s) and its reply (%s)",
	      strstr(out, want[0]) ? "seen" : "missing",
	      strstr(out, want[1]) ? "seen" : "missing");
}

void native_monitor(struct b1d_bus *cl, const char *svc_unique)
{
	struct seen call = { 0 }, reply = { 0 }, fake = { 0 };
	struct mstats s0 = { 0 }, s1 = { 0 };
	const char *me = b1d_unique_name(cl);
	char raw_unique[64] = "";
	DBusConnection *mon;
	sd_bus_message *r;
	int forged = 0;
	bool ok;

	mon = monitor_open();
	ok = mon && mon_wait(cl, 1, &s0);
	CHECK(ok, "a libdbus socket client does BecomeMonitor: the bus has %u monitor",
	      s0.monitors);
	r = call_unref(cl, sd_call_new(cl, SVC_NAME, SVC_PATH, SVC_IFACE,
				       "Echo", MON_ARG), 5000);
	ok = ok && sd_is_str_reply(r, "echo:" MON_ARG);
	sd_unref(r);
	if (mon)
		monitor_read(mon, "Echo", true, &call, &reply, NULL, NULL);
	CHECK(ok && call.at && !strcmp(call.sender, me) &&
	      !strcmp(call.dest, SVC_NAME),
	      "the monitor sees the direct native call Echo(\"%s\"): from '%s' to '%s'",
	      MON_ARG, call.sender, call.dest);
	CHECK(reply.at > call.at && !strcmp(reply.sender, svc_unique) &&
	      !strcmp(reply.dest, me),
	      "... and its direct reply after it (%d after %d): from '%s' to '%s'",
	      reply.at, call.at, reply.sender, reply.dest);

	ok = mon && mon_stats(cl, &s0) &&
	     forge_copy(svc_unique, raw_unique, sizeof(raw_unique));
	if (ok)
		monitor_read(mon, "Genuine", false, &fake, NULL, "Forged",
			     &forged);
	ok = ok && mon_stats(cl, &s1);
	CHECK(ok && fake.at && !strcmp(fake.sender, raw_unique) && !forged &&
	      s1.dropped == s0.dropped + 1,
	      "a raw peer's copy claiming to be %s is dropped (seen %d, dropped +%llu), its genuine one reaches the monitor from '%s'",
	      svc_unique, forged, (unsigned long long)(s1.dropped - s0.dropped),
	      fake.sender);

	if (mon) {
		dbus_connection_close(mon);
		dbus_connection_unref(mon);
	}
	ok = mon_wait(cl, 0, &s0);
	r = call_unref(cl, sd_call_new(cl, SVC_NAME, SVC_PATH, SVC_IFACE,
				       "Echo", "unmonitored"), 5000);
	ok = ok && sd_is_str_reply(r, "echo:unmonitored") &&
	     mon_stats(cl, &s1);
	sd_unref(r);
	CHECK(ok && s1.copies == s0.copies,
	      "after the monitor left, a direct call and its reply send the broker no copies (+%llu)",
	      (unsigned long long)(s1.copies - s0.copies));
	host_monitor(cl, svc_unique);
}
