/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BUS1_COMPAT_H
#define __BUS1_COMPAT_H

/*
 * The one place where differences between the supported kernels (6.1 LTS,
 * 6.12 LTS and Debian's newest, 7.3 today) are bridged. Logic never tests
 * LINUX_VERSION_CODE elsewhere. Only the supported kernels are compiled
 * against; a version named below for a change past 6.12 is the upstream
 * release that made it, known to lie between 6.12 (old API) and 7.3 (new).
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
 * 6.17 renamed call_mmap() to vfs_mmap(), which also serves files whose
 * handler is .mmap_prepare (shmem's, since then).
 */
#include <linux/fs.h>
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 17, 0)
#define vfs_mmap(file, vma) call_mmap(file, vma)
#endif

/*
 * 7.0 made shmem_file_setup() take its flags as a vma_flags_t bitmap of
 * VMA_*_BIT numbers instead of a VM_* mask.
 */
#include <linux/shmem_fs.h>
static inline struct file *bus1_shmem_setup_noreserve(const char *name,
						      loff_t size)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
	return shmem_file_setup(name, size, VM_NORESERVE);
#else
	return shmem_file_setup(name, size, mk_vma_flags(VMA_NORESERVE_BIT));
#endif
}

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
