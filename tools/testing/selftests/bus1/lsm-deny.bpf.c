// SPDX-License-Identifier: GPL-2.0
/*
 * BPF LSM program of test-lsm: file_receive (SCM_RIGHTS, bus1 RECV with
 * INSTALL_FDS, pidfd_getfd, ...) is denied with EPERM for the process
 * whose tgid is in deny[0]. The hook's argument is not looked at, so no
 * vmlinux.h is needed; libbpf finds the hook in the running kernel's BTF.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EPERM 1

struct file;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} deny SEC(".maps");

SEC("lsm/file_receive")
int BPF_PROG(bus1_test_deny_receive, struct file *file)
{
	__u32 key = 0, *tgid = bpf_map_lookup_elem(&deny, &key);

	if (tgid && *tgid && *tgid == bpf_get_current_pid_tgid() >> 32)
		return -EPERM;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
