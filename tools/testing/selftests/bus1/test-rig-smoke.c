// SPDX-License-Identifier: GPL-2.0
/*
 * test-rig-smoke - minimal check that the test rig works end to end: the
 * module is loaded, /dev/bus1 is a world-accessible character device and
 * every open() yields an independent file (a peer).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"

TEST(dev_is_world_rw_chardev)
{
	struct stat st;

	ASSERT_EQ(0, stat("/dev/bus1", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666U, st.st_mode & 07777);
}

TEST(open_close)
{
	int fd;

	fd = open("/dev/bus1", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
}

TEST(open_twice_distinct_files)
{
	struct stat a, b;
	int fd1, fd2;

	fd1 = open("/dev/bus1", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd1);
	fd2 = open("/dev/bus1", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_NE(fd1, fd2);
	ASSERT_EQ(0, fstat(fd1, &a));
	ASSERT_EQ(0, fstat(fd2, &b));
	EXPECT_EQ(a.st_rdev, b.st_rdev);
	EXPECT_EQ(0, close(fd2));
	EXPECT_EQ(0, close(fd1));
}

TEST_HARNESS_MAIN
