// SPDX-License-Identifier: GPL-2.0
/*
 * uapi layout tests: every constant, flag, ioctl number, struct size, field
 * offset and alignment of include/uapi/linux/bus1.h against spec §2.
 * Pure userspace; needs no module.
 */
#include <stddef.h>
#include <stdint.h>
#include <linux/bus1.h>
/* the harness itself has unused parameters; keep -Wextra output clean */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <kselftest_harness.h>

#define U64(_x) ((__u64)(_x))

/* §2.1 */
TEST(constant_fd_max_is_256)
{
	ASSERT_EQ(256, BUS1_FD_MAX);
	ASSERT_EQ(1024, BUS1_DESTINATION_MAX);
}

TEST(constant_ioctl_magic_is_0x96)
{
	ASSERT_EQ(0x96, BUS1_IOCTL_MAGIC);
}

TEST(constant_handle_invalid_is_all_ones)
{
	ASSERT_EQ(U64(0xffffffffffffffffULL), U64(BUS1_HANDLE_INVALID));
	ASSERT_EQ(U64(8), U64(sizeof(BUS1_HANDLE_INVALID)));
}

TEST(constant_offset_invalid_is_all_ones)
{
	ASSERT_EQ(U64(0xffffffffffffffffULL), U64(BUS1_OFFSET_INVALID));
	ASSERT_EQ(U64(8), U64(sizeof(BUS1_OFFSET_INVALID)));
}

TEST(handle_invalid_has_managed_and_remote_bits)
{
	ASSERT_EQ(U64(BUS1_HANDLE_FLAG_MANAGED | BUS1_HANDLE_FLAG_REMOTE),
		  U64(BUS1_HANDLE_INVALID) & 3);
}

/* §2.2 */
TEST(flag_handle_managed)
{
	ASSERT_EQ(U64(1), U64(BUS1_HANDLE_FLAG_MANAGED));
}

TEST(flag_handle_remote)
{
	ASSERT_EQ(U64(2), U64(BUS1_HANDLE_FLAG_REMOTE));
}

TEST(flag_peer_reset_flush)
{
	ASSERT_EQ(U64(1), U64(BUS1_PEER_RESET_FLAG_FLUSH));
}

TEST(flag_peer_reset_flush_seed)
{
	ASSERT_EQ(U64(2), U64(BUS1_PEER_RESET_FLAG_FLUSH_SEED));
}

TEST(flag_nodes_destroy_release_handles)
{
	ASSERT_EQ(U64(1), U64(BUS1_NODES_DESTROY_FLAG_RELEASE_HANDLES));
}

TEST(flag_send_continue)
{
	ASSERT_EQ(U64(1), U64(BUS1_SEND_FLAG_CONTINUE));
}

TEST(flag_send_seed)
{
	ASSERT_EQ(U64(2), U64(BUS1_SEND_FLAG_SEED));
}

TEST(flag_recv_seed)
{
	ASSERT_EQ(U64(1), U64(BUS1_RECV_FLAG_SEED));
}

TEST(flag_recv_install_fds)
{
	ASSERT_EQ(U64(2), U64(BUS1_RECV_FLAG_INSTALL_FDS));
}

TEST(msg_type_values)
{
	ASSERT_EQ(U64(0), U64(BUS1_MSG_NONE));
	ASSERT_EQ(U64(1), U64(BUS1_MSG_DATA));
	ASSERT_EQ(U64(2), U64(BUS1_MSG_NODE_DESTROY));
	ASSERT_EQ(U64(3), U64(BUS1_MSG_NODE_RELEASE));
}

TEST(flag_msg_continue)
{
	ASSERT_EQ(U64(1), U64(BUS1_MSG_FLAG_CONTINUE));
}

/* §2.3: exact x86_64 values, plus the decoded (dir, type, nr, size) */
static void check_ioctl(struct __test_metadata *_metadata, unsigned int cmd,
			unsigned int val, unsigned int nr, unsigned int size)
{
	ASSERT_EQ(val, cmd);
	ASSERT_EQ((unsigned int)(_IOC_READ | _IOC_WRITE), _IOC_DIR(cmd));
	ASSERT_EQ(0x96U, _IOC_TYPE(cmd));
	ASSERT_EQ(nr, _IOC_NR(cmd));
	ASSERT_EQ(size, _IOC_SIZE(cmd));
}

TEST(ioctl_peer_disconnect)
{
	check_ioctl(_metadata, BUS1_CMD_PEER_DISCONNECT, 0xC0089600U, 0x00, 8);
}

TEST(ioctl_peer_query)
{
	check_ioctl(_metadata, BUS1_CMD_PEER_QUERY, 0xC0209601U, 0x01, 32);
}

TEST(ioctl_peer_reset)
{
	check_ioctl(_metadata, BUS1_CMD_PEER_RESET, 0xC0209602U, 0x02, 32);
}

TEST(ioctl_handle_release)
{
	check_ioctl(_metadata, BUS1_CMD_HANDLE_RELEASE, 0xC0089610U, 0x10, 8);
}

TEST(ioctl_handle_transfer)
{
	check_ioctl(_metadata, BUS1_CMD_HANDLE_TRANSFER, 0xC0209611U, 0x11, 32);
}

TEST(ioctl_nodes_destroy)
{
	check_ioctl(_metadata, BUS1_CMD_NODES_DESTROY, 0xC0189620U, 0x20, 24);
}

TEST(ioctl_slice_release)
{
	check_ioctl(_metadata, BUS1_CMD_SLICE_RELEASE, 0xC0089630U, 0x30, 8);
}

TEST(ioctl_send)
{
	check_ioctl(_metadata, BUS1_CMD_SEND, 0xC0509640U, 0x40, 80);
}

TEST(ioctl_recv)
{
	check_ioctl(_metadata, BUS1_CMD_RECV, 0xC0489650U, 0x50, 72);
}

TEST(ioctl_numbers_are_distinct)
{
	unsigned int cmds[] = {
		BUS1_CMD_PEER_DISCONNECT, BUS1_CMD_PEER_QUERY,
		BUS1_CMD_PEER_RESET, BUS1_CMD_HANDLE_RELEASE,
		BUS1_CMD_HANDLE_TRANSFER, BUS1_CMD_NODES_DESTROY,
		BUS1_CMD_SLICE_RELEASE, BUS1_CMD_SEND, BUS1_CMD_RECV,
	};
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		for (j = i + 1; j < ARRAY_SIZE(cmds); j++)
			ASSERT_NE(cmds[i], cmds[j]);
}

/* §2.4 */
TEST(struct_peer_reset_layout)
{
	struct bus1_cmd_peer_reset v;

	ASSERT_EQ(U64(32), U64(sizeof(v)));
	ASSERT_EQ(U64(8), U64(__alignof__(v)));
	ASSERT_EQ(U64(0), U64(offsetof(struct bus1_cmd_peer_reset, flags)));
	ASSERT_EQ(U64(8), U64(sizeof(v.flags)));
	ASSERT_EQ(U64(8),
		  U64(offsetof(struct bus1_cmd_peer_reset, peer_flags)));
	ASSERT_EQ(U64(8), U64(sizeof(v.peer_flags)));
	ASSERT_EQ(U64(16),
		  U64(offsetof(struct bus1_cmd_peer_reset, max_slices)));
	ASSERT_EQ(U64(4), U64(sizeof(v.max_slices)));
	ASSERT_EQ(U64(20),
		  U64(offsetof(struct bus1_cmd_peer_reset, max_handles)));
	ASSERT_EQ(U64(4), U64(sizeof(v.max_handles)));
	ASSERT_EQ(U64(24),
		  U64(offsetof(struct bus1_cmd_peer_reset, max_inflight_bytes)));
	ASSERT_EQ(U64(4), U64(sizeof(v.max_inflight_bytes)));
	ASSERT_EQ(U64(28),
		  U64(offsetof(struct bus1_cmd_peer_reset, max_inflight_fds)));
	ASSERT_EQ(U64(4), U64(sizeof(v.max_inflight_fds)));
}

TEST(struct_handle_transfer_layout)
{
	struct bus1_cmd_handle_transfer v;

	ASSERT_EQ(U64(32), U64(sizeof(v)));
	ASSERT_EQ(U64(8), U64(__alignof__(v)));
	ASSERT_EQ(U64(0),
		  U64(offsetof(struct bus1_cmd_handle_transfer, flags)));
	ASSERT_EQ(U64(8), U64(sizeof(v.flags)));
	ASSERT_EQ(U64(8),
		  U64(offsetof(struct bus1_cmd_handle_transfer, src_handle)));
	ASSERT_EQ(U64(8), U64(sizeof(v.src_handle)));
	ASSERT_EQ(U64(16),
		  U64(offsetof(struct bus1_cmd_handle_transfer, dst_fd)));
	ASSERT_EQ(U64(8), U64(sizeof(v.dst_fd)));
	ASSERT_EQ(U64(24),
		  U64(offsetof(struct bus1_cmd_handle_transfer, dst_handle)));
	ASSERT_EQ(U64(8), U64(sizeof(v.dst_handle)));
}

TEST(struct_nodes_destroy_layout)
{
	struct bus1_cmd_nodes_destroy v;

	ASSERT_EQ(U64(24), U64(sizeof(v)));
	ASSERT_EQ(U64(8), U64(__alignof__(v)));
	ASSERT_EQ(U64(0), U64(offsetof(struct bus1_cmd_nodes_destroy, flags)));
	ASSERT_EQ(U64(8), U64(sizeof(v.flags)));
	ASSERT_EQ(U64(8),
		  U64(offsetof(struct bus1_cmd_nodes_destroy, ptr_nodes)));
	ASSERT_EQ(U64(8), U64(sizeof(v.ptr_nodes)));
	ASSERT_EQ(U64(16),
		  U64(offsetof(struct bus1_cmd_nodes_destroy, n_nodes)));
	ASSERT_EQ(U64(8), U64(sizeof(v.n_nodes)));
}

TEST(struct_send_layout)
{
	struct bus1_cmd_send v;

	ASSERT_EQ(U64(80), U64(sizeof(v)));
	ASSERT_EQ(U64(8), U64(__alignof__(v)));
	ASSERT_EQ(U64(0), U64(offsetof(struct bus1_cmd_send, flags)));
	ASSERT_EQ(U64(8), U64(sizeof(v.flags)));
	ASSERT_EQ(U64(8),
		  U64(offsetof(struct bus1_cmd_send, ptr_destinations)));
	ASSERT_EQ(U64(8), U64(sizeof(v.ptr_destinations)));
	ASSERT_EQ(U64(16), U64(offsetof(struct bus1_cmd_send, ptr_errors)));
	ASSERT_EQ(U64(8), U64(sizeof(v.ptr_errors)));
	ASSERT_EQ(U64(24), U64(offsetof(struct bus1_cmd_send, n_destinations)));
	ASSERT_EQ(U64(8), U64(sizeof(v.n_destinations)));
	ASSERT_EQ(U64(32), U64(offsetof(struct bus1_cmd_send, ptr_vecs)));
	ASSERT_EQ(U64(8), U64(sizeof(v.ptr_vecs)));
	ASSERT_EQ(U64(40), U64(offsetof(struct bus1_cmd_send, n_vecs)));
	ASSERT_EQ(U64(8), U64(sizeof(v.n_vecs)));
	ASSERT_EQ(U64(48), U64(offsetof(struct bus1_cmd_send, ptr_handles)));
	ASSERT_EQ(U64(8), U64(sizeof(v.ptr_handles)));
	ASSERT_EQ(U64(56), U64(offsetof(struct bus1_cmd_send, n_handles)));
	ASSERT_EQ(U64(8), U64(sizeof(v.n_handles)));
	ASSERT_EQ(U64(64), U64(offsetof(struct bus1_cmd_send, ptr_fds)));
	ASSERT_EQ(U64(8), U64(sizeof(v.ptr_fds)));
	ASSERT_EQ(U64(72), U64(offsetof(struct bus1_cmd_send, n_fds)));
	ASSERT_EQ(U64(8), U64(sizeof(v.n_fds)));
}

TEST(struct_recv_layout)
{
	struct bus1_cmd_recv v;

	ASSERT_EQ(U64(72), U64(sizeof(v)));
	ASSERT_EQ(U64(8), U64(__alignof__(v)));
	ASSERT_EQ(U64(0), U64(offsetof(struct bus1_cmd_recv, flags)));
	ASSERT_EQ(U64(8), U64(sizeof(v.flags)));
	ASSERT_EQ(U64(8), U64(offsetof(struct bus1_cmd_recv, max_offset)));
	ASSERT_EQ(U64(8), U64(sizeof(v.max_offset)));
	ASSERT_EQ(U64(16), U64(offsetof(struct bus1_cmd_recv, msg)));
	ASSERT_EQ(U64(56), U64(sizeof(v.msg)));
	ASSERT_EQ(U64(16), U64(offsetof(struct bus1_cmd_recv, msg.type)));
	ASSERT_EQ(U64(8), U64(sizeof(v.msg.type)));
	ASSERT_EQ(U64(24), U64(offsetof(struct bus1_cmd_recv, msg.flags)));
	ASSERT_EQ(U64(8), U64(sizeof(v.msg.flags)));
	ASSERT_EQ(U64(32),
		  U64(offsetof(struct bus1_cmd_recv, msg.destination)));
	ASSERT_EQ(U64(8), U64(sizeof(v.msg.destination)));
	ASSERT_EQ(U64(40), U64(offsetof(struct bus1_cmd_recv, msg.offset)));
	ASSERT_EQ(U64(8), U64(sizeof(v.msg.offset)));
	ASSERT_EQ(U64(48), U64(offsetof(struct bus1_cmd_recv, msg.n_bytes)));
	ASSERT_EQ(U64(8), U64(sizeof(v.msg.n_bytes)));
	ASSERT_EQ(U64(56), U64(offsetof(struct bus1_cmd_recv, msg.n_handles)));
	ASSERT_EQ(U64(8), U64(sizeof(v.msg.n_handles)));
	ASSERT_EQ(U64(64), U64(offsetof(struct bus1_cmd_recv, msg.n_fds)));
	ASSERT_EQ(U64(8), U64(sizeof(v.msg.n_fds)));
	ASSERT_EQ(U64(8), U64(__alignof__(v.msg)));
}

/* every field is unsigned (u64/u32), as in the original header */
TEST(struct_fields_are_unsigned)
{
	struct bus1_cmd_peer_reset r = { .flags = (__u64)-1,
					 .max_slices = (__u32)-1 };
	struct bus1_cmd_recv v = { .max_offset = (__u64)-1 };

	v.msg.n_fds = (__u64)-1;
	ASSERT_LT(U64(0), r.flags);
	ASSERT_LT(0U, r.max_slices);
	ASSERT_LT(U64(0), v.max_offset);
	ASSERT_LT(U64(0), v.msg.n_fds);
}

TEST_HARNESS_MAIN
