// SPDX-License-Identifier: GPL-2.0
/*
 * bus1 - capability-based IPC: module entry.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include "handle.h"
#include "message.h"
#include "peer.h"
#include "pool.h"
#include "queue.h"
#include "tx.h"
#include "user.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

module_param_named(user_slices_max, bus1_user_slices_max, uint, 0644);
MODULE_PARM_DESC(user_slices_max, "Maximum number of slices of a user");
module_param_named(user_handles_max, bus1_user_handles_max, uint, 0644);
MODULE_PARM_DESC(user_handles_max, "Maximum number of handle refs of a user");
module_param_named(user_inflight_bytes_max, bus1_user_inflight_bytes_max,
		   uint, 0644);
MODULE_PARM_DESC(user_inflight_bytes_max,
		 "Maximum number of in-flight bytes of a user");
module_param_named(user_inflight_fds_max, bus1_user_inflight_fds_max,
		   uint, 0644);
MODULE_PARM_DESC(user_inflight_fds_max,
		 "Maximum number of in-flight fds of a user");

static struct miscdevice bus1_misc = {
	.fops		= &bus1_fops,
	.minor		= MISC_DYNAMIC_MINOR,
	.name		= KBUILD_MODNAME,
	.mode		= 0666,
};

static int __init bus1_modinit(void)
{
	int r;

	if (!bus1_queue_run_selftests() || !bus1_tx_run_selftests() ||
	    !bus1_pool_run_selftests())
		return -ENOTRECOVERABLE;

	r = bus1_handle_init_caches();
	if (r)
		return r;
	r = bus1_message_init_cache();
	if (r)
		goto err_handles;
	r = bus1_peer_init_cache();
	if (r)
		goto err_message;
	r = misc_register(&bus1_misc);
	if (r)
		goto err_peer;
	pr_info("loaded\n");
	return 0;

err_peer:
	bus1_peer_exit_cache();
err_message:
	bus1_message_exit_cache();
err_handles:
	bus1_handle_exit_caches();
	return r;
}

static void __exit bus1_modexit(void)
{
	misc_deregister(&bus1_misc);
	bus1_peer_exit_cache();
	bus1_message_exit_cache();
	bus1_handle_exit_caches();
	bus1_users_exit();
}

module_init(bus1_modinit);
module_exit(bus1_modexit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("The bus1 developers");
MODULE_DESCRIPTION("bus1: capability-based IPC");
