#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm.sh IMAGE KDIR [CHROOT] - build bus1.ko against KDIR, boot IMAGE in qemu
# (TCG) with the module and the test executables, and judge the run. With
# CHROOT, KDIR is a path inside that directory and the module is built there
# with the chroot's compiler (scripts/bus1-newest-kernel.sh provides one for
# kernels whose headers do not install on the host). Usually called by
# rig.sh, which builds the userspace parts first. Prints the results (TAP
# lines prefixed with the kernel release) on stdout, progress on stderr, and
# writes "PASSED FAILED SKIPPED" to $COUNTS if set. Exit status 0 = all good.
#
# Knobs (environment): MODE=check|cmd, GUEST_CMD (for MODE=cmd), SMP, MEM,
# ICOUNT (qemu -icount argument), APPEND (extra kernel args), QUIET=0|1,
# TIMEOUT (whole VM, s), TEST_TIMEOUT (per test executable, s),
# BOOT_TIMEOUT (s from qemu's start to init's first line; a boot that
# hangs before it is booted again once), MODPARAMS
# (bus1.ko parameters), QEMU_EXTRA (extra qemu args), HOST_USR=0|1 (share
# the host's /usr and the tree over 9p; default 1 with MODE=check), DEBUG=1 (kmemleak
# scan, debug-* tests), DEBUG_EXTRAS (which debug-* tests: all, default; none;
# or a comma-separated list such as debug-fuzz,debug-failnth), KEEP=1 (keep the run directory), BOOT_LOCK (file to
# flock around the boot, serializes VMs), USR_BIN_DIRS, TEST_DIRS,
# TEST_NAMES (the test executables to run, e.g. "test-trace test-uapi";
# default: one per test-*.c/test-*.sh source of TEST_DIRS, see below), VM_KREL
# (the image's release, when KDIR does not tell it), MODROOT (root of the
# image's lib/modules/ when it is not the host's).
set -euo pipefail

IMAGE=$1
KDIR=$2
CHROOT=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
export PATH=$PATH:/usr/sbin:/sbin
TOP=$(cd "$HERE/../../../../.." && pwd)
BUILD=$HERE/build
SEL=$TOP/tools/testing/selftests/bus1

MODE=${MODE:-check}
GUEST_CMD=${GUEST_CMD:-}
SMP=${SMP:-2}
MEM=${MEM:-2G}
ICOUNT=${ICOUNT:-}
APPEND=${APPEND:-}
QUIET=${QUIET:-1}
TIMEOUT=${TIMEOUT:-1200}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
MODPARAMS=${MODPARAMS:-}
QEMU_EXTRA=${QEMU_EXTRA:-}
DEBUG=${DEBUG:-0}
DEBUG_EXTRAS=${DEBUG_EXTRAS:-all}
KEEP=${KEEP:-0}
TEST_DIRS=${TEST_DIRS:-$SEL/out $TOP/tools/lib/bus1/out $TOP/samples/bus1/out}
USR_BIN_DIRS=${USR_BIN_DIRS:-$TOP/tools/lib/bus1/out $TOP/samples/bus1/out}

# Console lines that fail a run, and known-harmless lines that match them.
SPLAT_RE='BUG:|WARNING:|Oops|KASAN|UBSAN|circular locking|possible recursive locking|inconsistent lock state|kmemleak: [0-9]+ new suspected|unreferenced object|general protection fault|Kernel panic|list_add corruption|list_del corruption|sleeping function called from invalid context|scheduling while atomic|blocked for more than|RCU stall|detected stalls on CPU|self-detected stall|ODEBUG|unable to handle'
ALLOW_RE=${ALLOW_RE:-'ODEBUG: selftest passed'}
TAINT_OK=$((4096 | 8192 | 262144))	# O (out-of-tree), E (unsigned), N (test)

log() { echo "# $*" >&2; }

[ -r "$IMAGE" ] || { echo "not ok - kernel image $IMAGE not readable"; exit 1; }
[ -f "$CHROOT$KDIR/Makefile" ] ||
	{ echo "not ok - no kernel build dir $CHROOT$KDIR"; exit 1; }
# The release the kernel reports (Debian's kernel.release in the headers is
# the upstream version, so prefer the /lib/modules/<release>/build path).
case $KDIR in
/lib/modules/*/build) KREL=${KDIR#/lib/modules/} KREL=${KREL%/build} ;;
*) KREL=$(cat "$CHROOT$KDIR/include/config/kernel.release") ;;
esac
KREL=${VM_KREL:-$KREL}
NAME=${NAME:-$KREL}
P="$NAME "				# prefix of every result line
mkdir -p "$BUILD/runs"
# logs of failed runs are kept for a day
find "$BUILD/runs" -mindepth 1 -maxdepth 1 -mmin +1440 -exec rm -rf {} +

# --- 1. bus1.ko, built in a private copy of the sources per kernel ----------
# Only changed files are copied (with a fresh mtime), so kbuild rebuilds
# incrementally and neither the developer's tree nor the other kernel's
# build is touched.
sync_tree() {
	local src=$1 dst=$2 f
	local -A keep=()
	local filter=(-type f \( -name '*.[chS]' -o -name Kbuild -o -name Makefile
		      -o -name '*.lds' \) ! -name '*.mod.c')
	while IFS= read -r -d '' f; do
		keep[$f]=1
		cmp -s "$src/$f" "$dst/$f" && continue
		mkdir -p "$(dirname "$dst/$f")"
		cp "$src/$f" "$dst/$f"
	done < <(cd "$src" && find Kbuild ipc include "${filter[@]}" -print0)
	while IFS= read -r -d '' f; do
		[ -n "${keep[$f]:-}" ] || rm -f "$dst/$f"
	done < <(cd "$dst" && find Kbuild ipc include "${filter[@]}" -print0)
}

# In a chroot: MODB bind-mounted at the same path inside it, in a private
# mount namespace (the mounts go away with it).
build_module() {
	if [ -z "$CHROOT" ]; then
		make -C "$KDIR" M="$MODB/src" -j2 modules
		return
	fi
	mkdir -p "$CHROOT$MODB"
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare --mount --propagation private /bin/sh -ec '
		mount --bind "$1" "$2$1"
		mount -t proc proc "$2/proc"
		mount --rbind /dev "$2/dev"
		exec chroot "$2" env -i PATH=/usr/bin:/bin LC_ALL=C \
			make -C "$3" M="$1/src" -j2 modules' sh "$MODB" "$CHROOT" "$KDIR"
}

MODB=$BUILD/mod-$KREL-$(printf %s "$CHROOT$KDIR" | md5sum | cut -c1-8)
RUN=$(mktemp -d "$BUILD/runs/$(date +%H%M%S)-$NAME.XXXX")
mkdir -p "$MODB/src" "$RUN/root/lib/bus1" "$RUN/root/tests" \
	"$RUN/root/usr/bin" "$RUN/root/etc"
# (errexit does not apply inside a subshell followed by ||: check each step)
(
	flock 9 && sync_tree "$TOP" "$MODB/src" || exit 1
	log "$NAME: building bus1.ko"
	build_module >"$MODB/build.log" 2>&1 &&
		cp "$MODB/src/ipc/bus1/bus1.ko" "$RUN/root/lib/bus1/"
) 9>"$MODB.lock" || {
	sed "s/^/#| ${P}/" "$MODB/build.log" | tail -40
	echo "${P}not ok - building bus1.ko failed (log: $MODB/build.log)"
	[ -z "${COUNTS:-}" ] || echo "0 1 0" >"$COUNTS"
	exit 1
}

# Modules bus1.ko depends on (none today), from the kernel's own tree.
deps=$(modinfo -F depends "$RUN/root/lib/bus1/bus1.ko" | tr , ' ')
for d in $deps; do
	modprobe ${MODROOT:+-d "$MODROOT"} -S "$KREL" --show-depends "$d" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r f; do
	b=${f##*/}
	case $b in
	*.xz) xz -dc "$f" >"$RUN/root/lib/bus1/${b%.xz}"; b=${b%.xz} ;;
	*.zst) zstd -qdc "$f" >"$RUN/root/lib/bus1/${b%.zst}"; b=${b%.zst} ;;
	*) cp "$f" "$RUN/root/lib/bus1/" ;;
	esac
	echo "$b" >>"$RUN/root/lib/bus1/deps"
done

# The host's /usr and this tree, read-only over 9p (HOST_USR=1): the
# guest's /init builds /hostroot from them, where tests run Debian's own
# programs (test-dbus-vm: busctl, gdbus, python3-dbus) without growing the
# initramfs, the way virtme-ng runs the host's userspace. Debian's kernels
# have 9p and (6.1) virtio-pci as modules: they go to /lib/9p in load order.
# A kernel without them (the debug kernel) gets no share. Only the suite
# needs it: make run and the icount benchmarks boot without the device.
HOST_USR=${HOST_USR:-$([ "$MODE" = check ] && echo 1 || echo 0)}
virtfs=()
if [ "$HOST_USR" = 1 ]; then
	mkdir -p "$RUN/root/lib/9p"
	for d in virtio_pci 9pnet_virtio 9p; do
		(modprobe ${MODROOT:+-d "$MODROOT"} -S "$KREL" --show-depends \
			"$d" 2>/dev/null || true) | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r f; do
		b=${f##*/}
		case $b in
		*.xz) xz -dc "$f" >"$RUN/root/lib/9p/${b%.xz}"; b=${b%.xz} ;;
		*.zst) zstd -qdc "$f" >"$RUN/root/lib/9p/${b%.zst}"; b=${b%.zst} ;;
		*) cp "$f" "$RUN/root/lib/9p/" ;;
		esac
		echo "$b" >>"$RUN/root/lib/9p/order"
	done
	if grep -q '^9p\.ko$' "$RUN/root/lib/9p/order" 2>/dev/null; then
		virtfs=(-virtfs "local,path=/usr,mount_tag=bus1usr,security_model=none,readonly=on"
			-virtfs "local,path=$TOP,mount_tag=bus1src,security_model=none,readonly=on")
	else
		rm -rf "$RUN/root/lib/9p"
	fi
fi

# --- 2. initramfs: cached busybox part + per-run part ----------------------
# The kernel unpacks concatenated cpio archives; the busybox part is gzipped
# and padded to 4 bytes, the per-run part (mostly static test binaries) is
# left uncompressed because inflating it in the TCG guest is the slow part.
BASE=$BUILD/busybox.cpio.gz
(
	flock 9
	[ "$BASE" -nt /bin/busybox ] && [ "$BASE" -nt "$0" ] && exit 0
	log "packing busybox initramfs"
	st=$(mktemp -d "$BUILD/busybox.XXXX")
	mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root}
	cp /bin/busybox "$st/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		[ -e "$st/$a" ] || ln -s /bin/busybox "$st/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
		>"$st/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$st/etc/group"
	(cd "$st" && find . | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) | gzip -9 >"$BASE.tmp"
	truncate -s %4 "$BASE.tmp"
	mv "$BASE.tmp" "$BASE"
	rm -rf "$st"
) 9>"$BASE.lock"

# rig.sh builds the test executables meanwhile; wait for them.
if [ -n "${USERSPACE_LOCK:-}" ]; then
	flock -s "$USERSPACE_LOCK" true
	[ ! -e "${USERSPACE_LOCK%.lock}.failed" ] || { rm -rf "$RUN"; exit 1; }
fi
R=$RUN/root
install -m 0755 "$HERE/init" "$R/init"
install -D -m 0644 "$HERE/modparams.sh" "$R/lib/rig/modparams.sh"
# The expected test executables, named after their sources: every
# test-*.c / test-*.sh next to an out/ directory of TEST_DIRS becomes
# out/test-* (TEST_NAMES="a b" runs just those). The guest runs this list, not
# what happens to be in /tests, and tap.awk reports each name that did not
# run, so a test that failed to build or to be copied cannot vanish.
[ "$MODE" = check ] || TEST_DIRS=
expected_tests() {
	local d f b
	for d in $TEST_DIRS; do
		# (a TEST_DIRS entry that is no out/ of a source directory:
		# the executables it holds)
		case $d in
		*/out) ;;
		*)
			for f in "$d"/test-*; do
				if [ -f "$f" ] && [ -x "$f" ]; then
					echo "${f##*/}"
				fi
			done
			continue
			;;
		esac
		for f in "${d%/out}"/test-*.c "${d%/out}"/test-*.sh; do
			[ -f "$f" ] || continue
			b=${f##*/}
			echo "${b%.*}"
		done
	done | LC_ALL=C sort -u
	# the debug executables: debug/debug-*.sh (installed as is) and
	# fuzz/bus1-NAME.c (built as debug-NAME), see debug/Makefile
	# (DEBUG_EXTRAS: all, none or a comma-separated list of them)
	if [ "$DEBUG" = 1 ]; then
		for f in "$SEL"/debug/debug-*.sh "$SEL"/fuzz/bus1-*.c; do
			[ -f "$f" ] || continue
			case $f in
			*.sh) b=${f##*/} ;;
			*) b=${f##*/bus1-}; b=debug-${b%.c} ;;
			esac
			case ,$DEBUG_EXTRAS, in
			,all, | *,"$b",*) echo "$b" ;;
			esac
		done | LC_ALL=C sort -u
	fi
}
if [ "$MODE" != check ]; then
	TESTS=
elif [ -n "${TEST_NAMES:-}" ]; then
	TESTS=$TEST_NAMES
else
	TESTS=$(expected_tests | tr '\n' ' ')
	TESTS=${TESTS% }
fi
# programs linked with libbus1-dbus are dynamic (Debian's libsystemd has no
# static archive): their libraries and loader, as ldd names them, go in at
# their host paths (as debug/boot.sh does for trinity)
copy_libs() {
	local libs lib

	# (ldd fails on static binaries and scripts: nothing to copy)
	libs=$(ldd "$1" 2>/dev/null | grep -o '/[^ ]*') || return 0
	for lib in $libs; do
		[ -e "$R$lib" ] && continue
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
}
for t in $TESTS; do
	for d in $TEST_DIRS "$SEL/debug/out"; do
		f=$d/$t
		if [ -f "$f" ] && [ -x "$f" ]; then
			cp "$f" "$R/tests/"
			copy_libs "$f"
			break
		fi
	done
done
for d in $USR_BIN_DIRS; do
	for f in "$d"/*; do
		[ -f "$f" ] && [ -x "$f" ] && [ "${f##*/test-}" = "$f" ] &&
			cp "$f" "$R/usr/bin/" && copy_libs "$f"
	done
done
{
	printf 'MODE=%q\nGUEST_CMD=%q\nTEST_TIMEOUT=%q\n' \
		"$MODE" "$GUEST_CMD" "$TEST_TIMEOUT"
	printf 'MODPARAMS=%q\nDEBUG=%q\nTESTS=%q\n' "$MODPARAMS" "$DEBUG" \
		"$TESTS"
	# (whether /init mounts the host's /usr: test-dbus-vm needs it)
	printf 'HOST_USR=%q\n' "$([ ${#virtfs[@]} -gt 0 ] && echo 1 || echo 0)"
} >"$R/etc/bus1-rig.conf"
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
	>"$RUN/run.cpio"
cat "$BASE" "$RUN/run.cpio" >"$RUN/initramfs"
rm -rf "$R" "$RUN/run.cpio"

# --- 3. boot ------------------------------------------------------------------
# no_timer_check: under TCG on a loaded host the IO-APIC timer check can
# miss its ticks and panic ("IO-APIC + timer doesn't work!"), seen on 7.3.
# maxcpus=1: the kernel boots on CPU 0 alone and init brings the others
# online before the first test. Boot patches kernel text (static keys,
# module loads) with text_poke_bp(); QEMU 7.2's MTTCG can run a stale
# translation holding the temporary int3 on another vCPU, and at boot that
# is an "Oops: int3" in an interrupt (CI, stock 6.12, 1.66 s, before init
# ran a test). One vCPU invalidates its own translations (see init,
# UP_TESTS, and testing.rst).
cmdline="console=ttyS0 panic=-1 no_timer_check"
[ "$SMP" -gt 1 ] && cmdline="$cmdline maxcpus=1"
[ "$QUIET" = 1 ] && cmdline="$cmdline quiet"
cmdline="$cmdline $APPEND"
qemu=(qemu-system-x86_64 -accel tcg -cpu max -m "$MEM" -smp "$SMP"
      -nographic -nodefaults -no-reboot
      -kernel "$IMAGE" -initrd "$RUN/initramfs" -append "$cmdline"
      -serial "file:$RUN/console.log" -serial "file:$RUN/tap.log")
[ -z "$ICOUNT" ] || qemu+=(-icount "$ICOUNT")
qemu+=("${virtfs[@]}")
# shellcheck disable=SC2206
[ -z "$QEMU_EXTRA" ] || qemu+=($QEMU_EXTRA)

exec 8>"${BOOT_LOCK:-/dev/null}"
[ -z "${BOOT_LOCK:-}" ] || flock 8
# boot_qemu: qemu under the global timeout; 200 if init said nothing
# (no "# bus1-rig: kernel" line, written before bus1.ko loads) within
# BOOT_TIMEOUT s: the kernel hung in its own boot (see below)
boot_qemu() {
	local t0=$SECONDS pid

	timeout -k 5 "$TIMEOUT" "${qemu[@]}" </dev/null >"$RUN/qemu.log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		grep -q '^# bus1-rig: kernel ' "$RUN/tap.log" 2>/dev/null && break
		if [ $((SECONDS - t0)) -ge "$BOOT_TIMEOUT" ]; then
			kill "$pid"
			wait "$pid"
			return 200
		fi
		sleep 1
	done
	wait "$pid"
}

log "$NAME: booting (smp $SMP${ICOUNT:+, icount $ICOUNT}, timeout $TIMEOUT s)"
start=$(date +%s.%N)
set +e
boot_qemu
qrc=$?
# A kernel that hangs in its own boot, before init ran and so before
# anything of bus1, is booted once more, and the second boot is judged:
# the 6.1 KCSAN kernel once hung in RCU-tasks' boot self-test on a loaded
# 2-core host ("Running RCU-tasks wait API self tests", then nothing for
# 2700 s). The first boot's console is kept and its tail printed.
if [ "$qrc" = 200 ]; then
	mv "$RUN/console.log" "$RUN/console-hung.log"
	rm -f "$RUN/tap.log"
	log "$NAME: no word from init after $BOOT_TIMEOUT s (the kernel hung in its boot, before bus1.ko): booting again"
	echo "# $NAME: first boot hung before init; its console's last lines:"
	tail -n 5 "$RUN/console-hung.log" |
		awk -v p="#| ${P}console (hung boot): " '{ print p $0 }'
	boot_qemu
	qrc=$?
fi
set -e
secs=$(echo "$(date +%s.%N) - $start" | bc)
exec 8>&-

# --- 4. verdict ---------------------------------------------------------------
touch "$RUN/tap.log" "$RUN/console.log"
# (a skip in the suite fails unless skip-allowlist names it)
# (plus skip-allowlist.debug on the debug kernel)
allow=
[ "$MODE" != check ] || allow=$HERE/skip-allowlist
if [ -n "$allow" ] && [ "$DEBUG" = 1 ]; then
	cat "$allow" "$HERE/skip-allowlist.debug" >"$RUN/skip-allowlist"
	allow=$RUN/skip-allowlist
fi
awk -v prefix="$P" -v raw="${RAW:-cmd}" -v counts="$RUN/counts" \
	-v expected="$TESTS" -v allow="$allow" -v limit="$TEST_TIMEOUT" \
	-f "$HERE/tap.awk" "$RUN/tap.log"
read -r pass fail skip <"$RUN/counts"

bad() { echo "${P}not ok - $*"; fail=$((fail + 1)); }

[ "$qrc" != 200 ] ||
	bad "the kernel hung in its boot twice (no word from init within $BOOT_TIMEOUT s)"
[ "$qrc" = 0 ] || [ "$qrc" = 124 ] || [ "$qrc" = 137 ] || [ "$qrc" = 200 ] ||
	{ sed "s/^/#| ${P}qemu: /" "$RUN/qemu.log"; bad "qemu exited with status $qrc"; }
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	bad "VM killed by the global timeout after $TIMEOUT s"
fi
if ! grep -q '^# bus1-rig: done' "$RUN/tap.log"; then
	bad "no sentinel from the guest (hang, panic or crash)"
	tail -n 30 "$RUN/console.log" | sed "s/^/#| ${P}console: /"
fi
tainted=$(sed -n 's/^# bus1-rig: tainted \([0-9]*\).*/\1/p' "$RUN/tap.log")
# W (512) from a warning ALLOW_RE names is that warning's taint; any other
# warning fails the splat check below all the same
taint_ok=$TAINT_OK
if grep -E 'WARNING:' "$RUN/console.log" | grep -E "$ALLOW_RE" >/dev/null; then
	taint_ok=$((taint_ok | 512))
fi
if [ -n "$tainted" ] && [ $((tainted & ~taint_ok)) != 0 ]; then
	bad "kernel tainted $tainted (bits beyond O|E|N: $((tainted & ~taint_ok)))"
fi
splats=$(grep -nE "$SPLAT_RE" "$RUN/console.log" | grep -vE "$ALLOW_RE" || true)
if [ -n "$splats" ]; then
	first=${splats%%:*}
	echo "#| ${P}console: first report (console.log line $first):"
	sed -n "$first,$((first + 39))s/^/#| ${P}console: /p" "$RUN/console.log"
	# the matching lines after the report, so that the tail of a CI log
	# (all a CI summary may keep) names them; sed, not head: under
	# pipefail a writer killed by SIGPIPE would end this script before it
	# writes the counts
	echo "#| ${P}console: lines that matched (console.log line: text):"
	printf '%s\n' "$splats" | sed -n "1,20s/^/#| ${P}console:/p"
	bad "kernel splat in the console"
fi

printf '# %s: %.0f s (boot to verdict)\n' "$NAME" "$secs"
[ -z "${COUNTS:-}" ] || echo "$pass $fail $skip" >"$COUNTS"
if [ "$fail" != 0 ]; then
	[ "$KEEP" = 1 ] || rm -f "$RUN/initramfs"
	echo "# $NAME: logs kept in $RUN"
	exit 1
fi
if [ "$KEEP" = 1 ]; then
	echo "# $NAME: logs kept in $RUN"
else
	rm -rf "$RUN"
fi
exit 0
