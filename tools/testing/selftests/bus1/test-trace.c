// SPDX-License-Identifier: GPL-2.0
/*
 * Tracepoints: enable the bus1 trace events through tracefs, run one
 * scripted exchange and check that every event shows up with the right
 * peer and values.
 */

#include <kselftest_harness.h>
#include "bus1-util.h"

#define TRACEFS "/sys/kernel/tracing"

static int trace_write(const char *file, const char *value)
{
	char path[256];
	int fd, r = 0;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static char *trace_read(void)
{
	size_t size = 1 << 20, len = 0;
	char *buf = malloc(size + 1);
	ssize_t n;
	int fd;

	fd = open(TRACEFS "/trace", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf) {
		free(buf);
		return NULL;
	}
	while (len < size && (n = read(fd, buf + len, size - len)) > 0)
		len += n;
	close(fd);
	buf[len] = 0;
	return buf;
}

static __u64 peer_id(int fd)
{
	char path[64], line[128];
	unsigned long long id = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "bus1-peer: %llx", &id) == 1)
			break;
	fclose(f);
	return id;
}

/*
 * Skip only when tracefs itself is missing: the bus1 events are the feature
 * under test, so their absence has to fail (the first write reports it).
 */
static bool no_tracefs(void)
{
	return access(TRACEFS "/trace", W_OK) != 0;
}

/* does the trace hold a line with @event followed by @fields? */
static bool has_event(const char *trace, const char *event,
		      const char *fields)
{
	char needle[512];

	snprintf(needle, sizeof(needle), "%s: %s", event, fields);
	return strstr(trace, needle);
}

TEST(trace_one_exchange)
{
	struct b1_peer a, b;
	struct bus1_cmd_recv r;
	char want[256], *trace;
	__u64 ida, idb, h, node = 0x100;

	if (no_tracefs())
		SKIP(return, "no tracefs at " TRACEFS);
	ASSERT_EQ(0, trace_write("events/enable", "0"));
	ASSERT_EQ(0, trace_write("trace", ""));
	ASSERT_EQ(0, trace_write("events/bus1/enable", "1"));

	ASSERT_EQ(0, b1_peer_new(&a));
	ASSERT_EQ(0, b1_peer_new(&b));
	ida = peer_id(a.fd);
	idb = peer_id(b.fd);
	ASSERT_NE(0, ida);
	ASSERT_NE(0, idb);

	/* a owns node 0x100, b gets a handle and sends 5 bytes to it */
	ASSERT_EQ(0, b1_transfer(a.fd, node, b.fd, &h));
	ASSERT_EQ(0, b1_send1(b.fd, h, "hello", 5));
	ASSERT_EQ(0, b1_peer_recv(&a, 0, &r));
	ASSERT_EQ(BUS1_MSG_DATA, r.msg.type);
	ASSERT_EQ(0, b1_slice_release(a.fd, r.msg.offset));
	/* b lets go: a learns of the release, then destroys the node */
	ASSERT_EQ(0, b1_release(b.fd, h));
	ASSERT_EQ(0, b1_peer_recv(&a, 0, &r));
	ASSERT_EQ(BUS1_MSG_NODE_RELEASE, r.msg.type);
	ASSERT_EQ(0, b1_destroy1(a.fd, node));
	ASSERT_EQ(0, b1_reset(a.fd, BUS1_PEER_RESET_FLAG_FLUSH));

	ASSERT_EQ(0, trace_write("events/bus1/enable", "0"));
	trace = trace_read();
	ASSERT_NE(NULL, trace);

	snprintf(want, sizeof(want),
		 "peer=%llx flags=0 destinations=1 bytes=5 handles=0 fds=0",
		 (unsigned long long)idb);
	EXPECT_TRUE(has_event(trace, "bus1_send", want));
	snprintf(want, sizeof(want),
		 "peer=%llx type=1 destination=100 offset=0 bytes=5",
		 (unsigned long long)ida);
	EXPECT_TRUE(has_event(trace, "bus1_recv", want));
	snprintf(want, sizeof(want), "peer=%llx offset=0 size=8",
		 (unsigned long long)ida);
	EXPECT_TRUE(has_event(trace, "bus1_slice_release", want));
	snprintf(want, sizeof(want), "owner=%llx node=100",
		 (unsigned long long)ida);
	EXPECT_TRUE(has_event(trace, "bus1_node_release", want));
	EXPECT_TRUE(has_event(trace, "bus1_node_destroy", want));
	snprintf(want, sizeof(want), "peer=%llx type=3 destination=100",
		 (unsigned long long)ida);
	EXPECT_TRUE(has_event(trace, "bus1_recv", want));
	snprintf(want, sizeof(want), "peer=%llx flags=1 ts=",
		 (unsigned long long)ida);
	EXPECT_TRUE(has_event(trace, "bus1_flush", want));
	if (_metadata->passed == 0)
		fprintf(stderr, "%s", trace);
	free(trace);
	b1_peer_free(&a);
	b1_peer_free(&b);
}

TEST(trace_quota_refusal)
{
	struct b1_peer a, b;
	struct bus1_cmd_peer_reset lim = {
		.peer_flags = (__u64)-1,
		.max_slices = 1,
		.max_handles = 0xffffffffU,
		.max_inflight_bytes = 0xffffffffU,
		.max_inflight_fds = 0xffffffffU,
	};
	char want[128], *trace;
	__u64 h;

	if (no_tracefs())
		SKIP(return, "no tracefs at " TRACEFS);
	ASSERT_EQ(0, trace_write("trace", ""));
	ASSERT_EQ(0, trace_write("events/bus1/bus1_quota_refusal/enable",
				 "1"));
	ASSERT_EQ(0, b1_peer_new(&a));
	ASSERT_EQ(0, b1_peer_new(&b));
	ASSERT_EQ(0, b1_reset_raw(a.fd, &lim));
	ASSERT_EQ(0, b1_transfer(a.fd, 0x100, b.fd, &h));
	ASSERT_EQ(0, b1_send1(b.fd, h, "x", 1));
	ASSERT_EQ(-EDQUOT, b1_send1(b.fd, h, "y", 1));
	ASSERT_EQ(0, trace_write("events/bus1/bus1_quota_refusal/enable",
				 "0"));
	trace = trace_read();
	ASSERT_NE(NULL, trace);
	snprintf(want, sizeof(want), "peer=%llx sender_uid=%u slices=1",
		 (unsigned long long)peer_id(a.fd), (unsigned int)getuid());
	EXPECT_TRUE(has_event(trace, "bus1_quota_refusal", want));
	free(trace);
	b1_peer_free(&a);
	b1_peer_free(&b);
}

TEST_HARNESS_MAIN
