// SPDX-License-Identifier: GPL-2.0
/*
 * uapi layout tests: every constant, flag, ioctl number, struct size, field
 * offset and alignment of include/uapi/linux/bus1.h against spec §2.
 * Pure userspace; needs no module.
 */
#include <assert.h>
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

/* extensions of the 2016 ABI (issue 18): new bits, none of the above moved */
TEST(flag_recv_release)
{
	ASSERT_EQ(U64(4), U64(BUS1_RECV_FLAG_RELEASE));
}

TEST(flag_recv_wait)
{
	ASSERT_EQ(U64(8), U64(BUS1_RECV_FLAG_WAIT));
}

TEST(flag_recv_send)
{
	ASSERT_EQ(U64(16), U64(BUS1_RECV_FLAG_SEND));
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

/*
 * Every field is unsigned (u64/u32), as in the original header. Checked at
 * compile time, one assertion per field: a run-time comparison of an
 * all-ones value against 0 would pass for a signed field too once it is
 * converted to __u64 by the comparison. For a signed type, (T)~0 is -1;
 * for an unsigned one, it is the type's maximum. The objects below are
 * never used: typeof and sizeof do not evaluate them.
 */
#define IS_UNSIGNED(_x)	((typeof(_x))~0 > 0)

static struct bus1_cmd_peer_reset u_reset __attribute__((unused));
static struct bus1_cmd_handle_transfer u_transfer __attribute__((unused));
static struct bus1_cmd_nodes_destroy u_destroy __attribute__((unused));
static struct bus1_cmd_send u_send __attribute__((unused));
static struct bus1_cmd_recv u_recv __attribute__((unused));

static_assert(IS_UNSIGNED(u_reset.flags) && sizeof(u_reset.flags) == 8,
	      "bus1_cmd_peer_reset.flags is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_reset.peer_flags) && sizeof(u_reset.peer_flags) == 8,
	      "bus1_cmd_peer_reset.peer_flags is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_reset.max_slices) && sizeof(u_reset.max_slices) == 4,
	      "bus1_cmd_peer_reset.max_slices is not an unsigned 4-byte field");
static_assert(IS_UNSIGNED(u_reset.max_handles) && sizeof(u_reset.max_handles) == 4,
	      "bus1_cmd_peer_reset.max_handles is not an unsigned 4-byte field");
static_assert(IS_UNSIGNED(u_reset.max_inflight_bytes) && sizeof(u_reset.max_inflight_bytes) == 4,
	      "bus1_cmd_peer_reset.max_inflight_bytes is not an unsigned 4-byte field");
static_assert(IS_UNSIGNED(u_reset.max_inflight_fds) && sizeof(u_reset.max_inflight_fds) == 4,
	      "bus1_cmd_peer_reset.max_inflight_fds is not an unsigned 4-byte field");
static_assert(IS_UNSIGNED(u_transfer.flags) && sizeof(u_transfer.flags) == 8,
	      "bus1_cmd_handle_transfer.flags is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_transfer.src_handle) && sizeof(u_transfer.src_handle) == 8,
	      "bus1_cmd_handle_transfer.src_handle is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_transfer.dst_fd) && sizeof(u_transfer.dst_fd) == 8,
	      "bus1_cmd_handle_transfer.dst_fd is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_transfer.dst_handle) && sizeof(u_transfer.dst_handle) == 8,
	      "bus1_cmd_handle_transfer.dst_handle is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_destroy.flags) && sizeof(u_destroy.flags) == 8,
	      "bus1_cmd_nodes_destroy.flags is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_destroy.ptr_nodes) && sizeof(u_destroy.ptr_nodes) == 8,
	      "bus1_cmd_nodes_destroy.ptr_nodes is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_destroy.n_nodes) && sizeof(u_destroy.n_nodes) == 8,
	      "bus1_cmd_nodes_destroy.n_nodes is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_send.flags) && sizeof(u_send.flags) == 8,
	      "bus1_cmd_send.flags is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_send.ptr_destinations) && sizeof(u_send.ptr_destinations) == 8,
	      "bus1_cmd_send.ptr_destinations is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_send.ptr_errors) && sizeof(u_send.ptr_errors) == 8,
	      "bus1_cmd_send.ptr_errors is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_send.n_destinations) && sizeof(u_send.n_destinations) == 8,
	      "bus1_cmd_send.n_destinations is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_send.ptr_vecs) && sizeof(u_send.ptr_vecs) == 8,
	      "bus1_cmd_send.ptr_vecs is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_send.n_vecs) && sizeof(u_send.n_vecs) == 8,
	      "bus1_cmd_send.n_vecs is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_send.ptr_handles) && sizeof(u_send.ptr_handles) == 8,
	      "bus1_cmd_send.ptr_handles is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_send.n_handles) && sizeof(u_send.n_handles) == 8,
	      "bus1_cmd_send.n_handles is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_send.ptr_fds) && sizeof(u_send.ptr_fds) == 8,
	      "bus1_cmd_send.ptr_fds is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_send.n_fds) && sizeof(u_send.n_fds) == 8,
	      "bus1_cmd_send.n_fds is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_recv.flags) && sizeof(u_recv.flags) == 8,
	      "bus1_cmd_recv.flags is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_recv.max_offset) && sizeof(u_recv.max_offset) == 8,
	      "bus1_cmd_recv.max_offset is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_recv.msg.type) && sizeof(u_recv.msg.type) == 8,
	      "bus1_cmd_recv.msg.type is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_recv.msg.flags) && sizeof(u_recv.msg.flags) == 8,
	      "bus1_cmd_recv.msg.flags is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_recv.msg.destination) && sizeof(u_recv.msg.destination) == 8,
	      "bus1_cmd_recv.msg.destination is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_recv.msg.offset) && sizeof(u_recv.msg.offset) == 8,
	      "bus1_cmd_recv.msg.offset is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_recv.msg.n_bytes) && sizeof(u_recv.msg.n_bytes) == 8,
	      "bus1_cmd_recv.msg.n_bytes is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_recv.msg.n_handles) && sizeof(u_recv.msg.n_handles) == 8,
	      "bus1_cmd_recv.msg.n_handles is not an unsigned 8-byte field");
static_assert(IS_UNSIGNED(u_recv.msg.n_fds) && sizeof(u_recv.msg.n_fds) == 8,
	      "bus1_cmd_recv.msg.n_fds is not an unsigned 8-byte field");

/*
 * The field list above is complete: the fields, at their sizes, fill each
 * struct exactly (no padding, so no field can be missing from the list).
 */
static_assert(sizeof(struct bus1_cmd_peer_reset) == 2 * 8 + 4 * 4,
	      "bus1_cmd_peer_reset has fields the list above misses");
static_assert(sizeof(struct bus1_cmd_handle_transfer) == 4 * 8,
	      "bus1_cmd_handle_transfer has fields the list above misses");
static_assert(sizeof(struct bus1_cmd_nodes_destroy) == 3 * 8,
	      "bus1_cmd_nodes_destroy has fields the list above misses");
static_assert(sizeof(struct bus1_cmd_send) == 10 * 8,
	      "bus1_cmd_send has fields the list above misses");
static_assert(sizeof(struct bus1_cmd_recv) == 2 * 8 + 7 * 8,
	      "bus1_cmd_recv has fields the list above misses");

/* the checks are the static_asserts above: this binary exists, so they hold */
TEST(struct_fields_are_unsigned)
{
	TH_LOG("33 fields of 5 structs checked unsigned at compile time");
}

TEST_HARNESS_MAIN
