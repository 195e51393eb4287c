// SPDX-License-Identifier: GPL-2.0
/*
 * bus1 - module entry: registers the misc device /dev/bus1.
 * (Temporary skeleton; peers follow in peer.c.)
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

static int bus1_fop_open(struct inode *inode, struct file *file)
{
	return 0;
}

static const struct file_operations bus1_fops = {
	.owner		= THIS_MODULE,
	.open		= bus1_fop_open,
	.llseek		= noop_llseek,
};

static struct miscdevice bus1_misc = {
	.fops		= &bus1_fops,
	.minor		= MISC_DYNAMIC_MINOR,
	.name		= KBUILD_MODNAME,
	.mode		= 0666,
};

static int __init bus1_modinit(void)
{
	return misc_register(&bus1_misc);
}

static void __exit bus1_modexit(void)
{
	misc_deregister(&bus1_misc);
}

module_init(bus1_modinit);
module_exit(bus1_modexit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bus1: capability-based IPC");
