// SPDX-License-Identifier: GPL-2.0
/*
 * test-lsm - received files go through the LSMs (issue 15 item 6).
 *
 * A BPF LSM program (lsm-deny.bpf.c, embedded) denies file_receive for this
 * process. The same file is then passed over SCM_RIGHTS and over bus1:
 * recvmsg() delivers the data and drops the file (MSG_CTRUNC), and bus1
 * RECV with INSTALL_FDS delivers the message with -1 in the fd array
 * (bus1(7)). With the denial lifted both install the file.
 *
 * Needs root, the BPF LSM active (bpf in /sys/kernel/security/lsm; Debian's
 * CONFIG_LSM has it) and a build with libbpf (see the Makefile); SKIPs
 * otherwise, with the reason.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "msg-util.h"

#ifdef HAVE_LIBBPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "out/lsm-deny.bpf.h"
#endif

#define NODE_B		0x100ULL

/* "" if the BPF LSM is active, else why not */
static const char *bpf_lsm_active(void)
{
	static char buf[512];
	ssize_t n;
	int fd;

	fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		mount("none", "/sys/kernel/security", "securityfs", 0, NULL);
		fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return "no /sys/kernel/security/lsm";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	if (!strstr(buf, "bpf"))
		return "the BPF LSM is not active (boot with lsm=...,bpf)";
	return "";
}

static bool same_file(int fd1, int fd2)
{
	struct stat s1, s2;

	if (fstat(fd1, &s1) || fstat(fd2, &s2))
		return false;
	return s1.st_dev == s2.st_dev && s1.st_ino == s2.st_ino;
}

/* recvmsg() of one byte and at most one fd: the fd, -1 if none, -errno */
static int scm_recv(int sock, int *flags)
{
	char data, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec v = { &data, 1 };
	struct msghdr m = {
		.msg_iov = &v, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int fd = -1;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -errno;
	*flags = m.msg_flags;
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

/* bus1 RECV with INSTALL_FDS of one message with one fd: the fd, -errno */
static int bus1_recv_fd(struct mu_peer *b)
{
	struct bus1_cmd_recv r;
	int ret, fd;

	ret = mu_peer_recv(b, BUS1_RECV_FLAG_INSTALL_FDS, &r);
	if (ret)
		return ret;
	if (r.msg.n_fds != 1)
		return -EBADMSG;
	fd = mu_fds(b, &r)[0];
	b1_slice_release(b->fd, r.msg.offset);
	return fd;
}

TEST(file_receive_denied)
{
#ifndef HAVE_LIBBPF
	SKIP(return, "built without libbpf (install libbpf-dev, clang)");
#else
	const char *why = bpf_lsm_active();
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_link *link;
	struct bpf_map *map;
	struct mu_peer a, b;
	__u32 key = 0, tgid;
	int sv[2], p[2], flags, scm, bus1, pass;
	char buf[4];
	__u64 hb;

	if (*why)
		SKIP(return, "%s", why);
	obj = bpf_object__open_mem(lsm_deny_bpf_o, sizeof(lsm_deny_bpf_o),
				   NULL);
	ASSERT_NE(NULL, obj);
	ASSERT_EQ(0, bpf_object__load(obj));
	prog = bpf_object__find_program_by_name(obj, "bus1_test_deny_receive");
	ASSERT_NE(NULL, prog);
	link = bpf_program__attach_lsm(prog);
	ASSERT_NE(NULL, link);
	map = bpf_object__find_map_by_name(obj, "deny");
	ASSERT_NE(NULL, map);

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, mu_peer_open(&a, 1 << 20));
	ASSERT_EQ(0, mu_peer_open(&b, 1 << 20));
	ASSERT_EQ(0, b1_transfer(b.fd, NODE_B, a.fd, &hb));

	for (pass = 0; pass < 2; pass++) {
		/* pass 0: denied for this process; pass 1: allowed */
		tgid = pass ? 0 : getpid();
		ASSERT_EQ(0, bpf_map__update_elem(map, &key, sizeof(key),
						  &tgid, sizeof(tgid), 0));

		ASSERT_EQ(0, mu_send_fd(sv[0], p[1]));
		flags = 0;
		scm = scm_recv(sv[1], &flags);
		ASSERT_EQ(0, mu_sendv(a.fd, 0, &hb, 1, NULL, NULL, 0, NULL, 0,
				      &p[1], 1));
		bus1 = bus1_recv_fd(&b);
		TH_LOG("%s: SCM_RIGHTS fd %d%s, bus1 fd %d",
		       pass ? "allowed" : "denied", scm,
		       flags & MSG_CTRUNC ? " (MSG_CTRUNC)" : "", bus1);
		if (!pass) {
			EXPECT_EQ(-1, scm);
			EXPECT_TRUE(flags & MSG_CTRUNC);
			EXPECT_EQ(-1, bus1);
		} else {
			ASSERT_GE(scm, 0);
			EXPECT_TRUE(same_file(scm, p[1]));
			ASSERT_GE(bus1, 0);
			EXPECT_TRUE(same_file(bus1, p[1]));
		}
		if (scm >= 0)
			close(scm);
		if (bus1 >= 0)
			close(bus1);
	}

	/* nothing kept a reference: closing our write end ends the pipe */
	close(p[1]);
	EXPECT_EQ(0, read(p[0], buf, sizeof(buf)));
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
	mu_peer_close(&a);
	mu_peer_close(&b);
	bpf_link__destroy(link);
	bpf_object__close(obj);
#endif
}

TEST_HARNESS_MAIN
