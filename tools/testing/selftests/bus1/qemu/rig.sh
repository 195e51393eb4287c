#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rig.sh - the bus1 test rig driver behind `make check|run|check-debug|bench`.
# Builds the userspace parts once, runs vm.sh for every selected kernel (the
# module builds overlap with the userspace build; boots are serialized unless
# PARALLEL=1), runs the host-side tests (host/test-*.sh) meanwhile, and prints
# every kernel's results followed by the closing line
# "N passed, N failed[, N skipped]". Exit status 0 only if nothing failed.
#
# Knobs (environment; see also vm.sh): KERNELS="6.1 6.12 newest 6.1-rt"
# (words: a version prefix, Debian's stock /boot/vmlinuz-<prefix>.*-amd64 but
# never the PREEMPT_RT one; <prefix>-rt, Debian's /boot/vmlinuz-<prefix>.*-rt-
# amd64; newest, Debian's newest kernel from scripts/bus1-newest-kernel.sh;
# or a full release of /boot/vmlinuz-*), VM_IMAGE + VM_KDIR (custom kernels
# instead: space-separated lists, same length) and VM_NAME (their names in
# the results, default the kernel release), VM_DEBUG_EXTRAS (vm.sh's
# DEBUG_EXTRAS per VM_IMAGE entry; default $DEBUG_EXTRAS), MODE=check|cmd,
# HOST_TESTS=0|1, PARALLEL=0|1|N (boot one kernel at a time, all at once,
# or at most N at once), PRECHECK (a file the userspace build must produce, e.g. the demo; if
# it does not, fail, or with PRECHECK_SKIP=1 say so and succeed without
# booting), HOST_TEST_TIMEOUT (seconds per host test, default 1200),
# EXTRA_BUILD (more directories whose Makefile to run, e.g. bench/ or debug/).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../../../../.." && pwd)
SEL=$TOP/tools/testing/selftests/bus1
export BUS1_CACHE=${BUS1_CACHE:-/var/tmp/bus1-cache}
LINUX_SRC=$BUS1_CACHE/linux-source-6.1
MODE=${MODE:-check}
KERNELS=${KERNELS:-6.1 6.12 newest 6.1-rt}
HOST_TESTS=${HOST_TESTS:-$([ "$MODE" = check ] && echo 1 || echo 0)}
PARALLEL=${PARALLEL:-0}
export MODE

"$TOP/scripts/bus1-deps.sh" --quiet
mkdir -p "$HERE/build/runs"
RR=$(mktemp -d "$HERE/build/runs/rig.XXXX")
cleanup() {
	local rc=$?
	jobs -p | xargs -r kill 2>/dev/null || true
	rm -rf "$RR"
	exit $rc
}
trap cleanup EXIT

# --- kernels --------------------------------------------------------------
images=() kdirs=() names=() extras=()
if [ -n "${VM_IMAGE:-}" ]; then
	read -ra images <<<"$VM_IMAGE"
	read -ra kdirs <<<"${VM_KDIR:?VM_KDIR must go with VM_IMAGE}"
	read -ra names <<<"${VM_NAME:-}"
	read -ra extras <<<"${VM_DEBUG_EXTRAS:-}"
	[ ${#kdirs[@]} = ${#images[@]} ] ||
		{ echo "rig: VM_IMAGE and VM_KDIR differ in length" >&2; exit 1; }
else
	for k in $KERNELS; do
		if [ "$k" = newest ]; then	# resolved by vm_newest, later
			images+=(newest) kdirs+=(-)
			continue
		fi
		if ! img=$("$HERE/find-kernel.sh" "$k"); then
			echo "rig: no kernel /boot/vmlinuz-$k*; see make deps" >&2
			exit 1
		fi
		images+=("$img") kdirs+=("/lib/modules/${img#/boot/vmlinuz-}/build")
	done
fi

# Debian's newest kernel: fetched (or found in the cache) by
# bus1-newest-kernel.sh, its module built in the trixie chroot.
vm_newest() {
	local out
	out=$("$TOP/scripts/bus1-newest-kernel.sh" 2>"$RR/newest.err") || {
		sed 's/^/#| newest: /' "$RR/newest.err"
		echo "newest not ok - scripts/bus1-newest-kernel.sh failed"
		echo "0 1 0" >"$COUNTS"
		return 1
	}
	local RELEASE IMAGE CHROOT KDIR MODROOT
	RELEASE=$(sed -n 's/^RELEASE=//p' <<<"$out")
	IMAGE=$(sed -n 's/^IMAGE=//p' <<<"$out")
	CHROOT=$(sed -n 's/^CHROOT=//p' <<<"$out")
	KDIR=$(sed -n 's/^KDIR=//p' <<<"$out")
	MODROOT=$(sed -n 's/^MODROOT=//p' <<<"$out")
	echo "# newest kernel: $RELEASE ($(sed -n 's/^SUITE=//p' <<<"$out"))"
	VM_KREL=$RELEASE MODROOT=$MODROOT "$HERE/vm.sh" "$IMAGE" "$KDIR" "$CHROOT"
}

# --- userspace build (vm.sh waits for it through $RR/userspace.lock) ---------
build_userspace() {
	local d
	for d in "$SEL" "$TOP/tools/lib/bus1" "$TOP/samples/bus1" \
		 ${EXTRA_BUILD:-}; do
		[ -f "$d/Makefile" ] || continue
		echo "# building ${d#"$TOP"/}" >&2
		make -C "$d" -j2 LINUX_SRC="$LINUX_SRC" >"$RR/userspace.log" 2>&1 || {
			sed 's/^/#| /' "$RR/userspace.log" | tail -n 60
			echo "not ok - building ${d#"$TOP"/} failed"
			return 1
		}
	done
}

exec 7>"$RR/userspace.lock"
flock 7
export BOOT_LOCK COUNTS
# PARALLEL=N: VM i boots under lock i % N, so at most N boot at once
case $PARALLEL in
0 | "") slots=1 ;;
1) slots=${#images[@]} ;;
*) slots=$PARALLEL ;;
esac
for i in "${!images[@]}"; do
	COUNTS=$RR/vm$i.counts
	[ "$slots" -ge "${#images[@]}" ] && BOOT_LOCK= ||
		BOOT_LOCK=$RR/boot$((i % slots)).lock
	(exec 7>&-; export USERSPACE_LOCK=$RR/userspace.lock
		if [ "${images[$i]}" = newest ]; then
			vm_newest
		else
			NAME=${names[$i]:-} DEBUG_EXTRAS=${extras[$i]:-${DEBUG_EXTRAS:-all}} \
				"$HERE/vm.sh" "${images[$i]}" "${kdirs[$i]}"
		fi >"$RR/vm$i.out"
		echo $? >"$RR/vm$i.rc") &
done
ufail=0
(exec 9>"$HERE/build/userspace.lock" && flock 9 && build_userspace) \
	>"$RR/userspace.out" || ufail=1
if [ $ufail = 0 ] && [ -n "${PRECHECK:-}" ] && [ ! -x "$PRECHECK" ]; then
	touch "$RR/userspace.failed"
	flock -u 7
	wait
	if [ "${PRECHECK_SKIP:-0}" = 1 ]; then
		echo "# skipped: $PRECHECK was not built (nothing to run)"
		exit 0
	fi
	echo "not ok - $PRECHECK was not built"
	exit 1
fi
[ $ufail = 0 ] || touch "$RR/userspace.failed"
flock -u 7
exec 7>&-

# --- host-side tests -----------------------------------------------------------
host_tests=()
if [ "$HOST_TESTS" = 1 ] && [ $ufail = 0 ]; then
	for t in "$SEL"/host/test-*.sh; do
		[ -f "$t" ] || continue
		host_tests+=("${t##*/}")
		# (a test that lost its x bit must not vanish: tap.awk
		# reports it as never run)
		if [ ! -x "$t" ]; then
			echo "# bus1-rig: missing ${t##*/}"
			continue
		fi
		echo "# bus1-rig: begin ${t##*/}"
		rc=0
		# niced: the VMs (timing-sensitive tests) keep priority. Own
		# limit: test-dkms.sh builds for every installed kernel (five
		# since 6.12-rt, 75 s for four alone) and starves beside the VMs:
		# killed at 600 s in two of three session-7 runs on a loaded host.
		(cd "$TOP" && nice -n 10 timeout -k 5 "${HOST_TEST_TIMEOUT:-1200}" "$t") \
			2>&1 || rc=$?
		echo "# bus1-rig: end ${t##*/} $rc"
	done >"$RR/host.tap"
fi
wait

# --- report -----------------------------------------------------------------------
P=0 F=0 S=0
cat "$RR/userspace.out"
[ $ufail = 0 ] || F=$((F + 1))
for i in "${!images[@]}"; do
	cat "$RR/vm$i.out"
	if [ -s "$RR/vm$i.counts" ]; then
		read -r p f s <"$RR/vm$i.counts"
		P=$((P + p)) F=$((F + f)) S=$((S + s))
	elif [ $ufail = 0 ]; then
		echo "not ok - vm.sh ${images[$i]} failed without a verdict"
		F=$((F + 1))
	fi
done
if [ -f "$RR/host.tap" ]; then
	awk -v prefix="host " -v counts="$RR/host.counts" \
		-v expected="${host_tests[*]}" -f "$HERE/tap.awk" "$RR/host.tap"
	read -r p f s <"$RR/host.counts"
	P=$((P + p)) F=$((F + f)) S=$((S + s))
fi

if [ "$MODE" = check ]; then
	if [ "$S" -gt 0 ]; then
		echo "$P passed, $F failed, $S skipped"
	else
		echo "$P passed, $F failed"
	fi
else
	[ "$F" = 0 ] && echo "# verdict: PASS" || echo "# verdict: FAIL"
fi
[ "$F" = 0 ]
