/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BUS1_COMPAT_H
#define __BUS1_COMPAT_H

/*
 * The one place where differences between the supported kernels (6.1 LTS and
 * 6.12 LTS) are bridged. Logic never tests LINUX_VERSION_CODE elsewhere.
 */

#include <linux/mm.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void bus1_vma_clear_flags(struct vm_area_struct *vma,
					unsigned long flags)
{
	vma->vm_flags &= ~flags;
}
#else
static inline void bus1_vma_clear_flags(struct vm_area_struct *vma,
					unsigned long flags)
{
	vm_flags_clear(vma, flags);
}
#endif

/* struct fd became opaque in 6.12; older kernels lack the accessor */
#include <linux/file.h>
#ifndef fd_file
#define fd_file(f) ((f).file)
#endif

/*
 * receive_fd() installs a received file the way SCM_RIGHTS does (LSM check,
 * socket cgroup data); in 6.7 it took over __receive_fd()'s optional user
 * pointer to store the number at. The internals it is built from
 * (security_file_receive(), __receive_sock()) are not exported by either.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
static inline int bus1_receive_fd(struct file *file, unsigned int o_flags)
{
	return receive_fd(file, o_flags);
}
#else
static inline int bus1_receive_fd(struct file *file, unsigned int o_flags)
{
	return receive_fd(file, NULL, o_flags);
}
#endif

#endif /* __BUS1_COMPAT_H */
