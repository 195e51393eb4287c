#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# boot.sh - boot a kernel with a minimal busybox initramfs, load bus1.ko and
# run one guest command (a development helper of the hardening engineer; the
# real rig is ../qemu/). Console output goes to stdout; exits 0 only if the
# guest printed the sentinel and the command exited 0.
#
#   boot.sh [-s SMP] [-m MEM] [-t TIMEOUT] [-f FILE]... IMAGE KO 'CMD'
#
# -f FILE  copy FILE into the guest's /tests/ (repeatable; directories are
#          copied recursively); ELF files that are dynamically linked get
#          their libraries (ldd) copied too (e.g. trinity).
# The guest has /proc /sys /dev /tmp, debugfs and (if the kernel has it)
# tracefs mounted, and the module loaded before CMD runs in /tmp.
# Environment: APPEND (more kernel arguments), QEMU_EXTRA (more qemu
# arguments, e.g. "-icount shift=0,sleep=off" with -s 1).
set -euo pipefail

SMP=2 MEM=2G TMO=300 files=()
while getopts s:m:t:f: o; do
	case $o in
	s) SMP=$OPTARG ;;
	m) MEM=$OPTARG ;;
	t) TMO=$OPTARG ;;
	f) files+=("$OPTARG") ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 3 ] || { echo "usage: $0 [-s SMP] [-m MEM] [-t TIMEOUT] [-f FILE]... IMAGE KO CMD" >&2; exit 2; }
IMAGE=$1 KO=$2 CMD=$3

W=$(mktemp -d /tmp/bus1-boot.XXXXXX)
trap 'rm -rf "$W"' EXIT
R=$W/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,tests,lib/bus1,etc}
cp /bin/busybox "$R/bin/busybox"
cp "$KO" "$R/lib/bus1/bus1.ko"
for f in "${files[@]}"; do
	cp -a "$f" "$R/tests/"
	if file -L "$f" | grep -q 'dynamically linked'; then
		ldd "$f" | grep -o '/[^ ]*' | while read -r lib; do
			mkdir -p "$R$(dirname "$lib")"
			cp -L "$lib" "$R$lib"
		done
	fi
done
echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"
printf '%s\n' "$CMD" >"$R/cmd"
cat >"$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/tests:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
echo 7 >/proc/sys/kernel/printk
KL=/sys/kernel/debug/kmemleak
[ -e $KL ] && echo clear >$KL
echo "boot-sh: uptime $(cut -d' ' -f1 /proc/uptime)"
insmod /lib/bus1/bus1.ko && echo "boot-sh: insmod ok"
cd /tmp
sh /cmd
echo "boot-sh: rc=$?"
echo "boot-sh: tainted $(cat /proc/sys/kernel/tainted)"
echo "boot-sh: done"
poweroff -f
INIT
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$W/initrd.gz"
rc=0
# QEMU_EXTRA is split into arguments on purpose
# shellcheck disable=SC2086
timeout "$TMO" qemu-system-x86_64 -accel tcg -cpu max -m "$MEM" -smp "$SMP" \
	-nographic -no-reboot -kernel "$IMAGE" -initrd "$W/initrd.gz" \
	-append "console=ttyS0 panic=-1 ${APPEND:-}" ${QEMU_EXTRA:-} </dev/null >"$W/console" 2>&1 || rc=$?
tr -d '\r' <"$W/console"
[ $rc = 0 ] || { echo "boot.sh: qemu exit $rc" >&2; exit 1; }
grep -q '^boot-sh: done' "$W/console" || { echo "boot.sh: no sentinel" >&2; exit 1; }
grep -q '^boot-sh: rc=0' "$W/console"
