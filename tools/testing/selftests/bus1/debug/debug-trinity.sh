#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# debug-trinity.sh - guest side: run trinity, the dumb syscall fuzzer, on
# ioctl(2) of /dev/bus1 (busybox sh; run as root by the rig in the debug VM).
# Trinity knows nothing of bus1's structs, so this is a smoke test next to
# debug-fuzz. Uses trinity from $PATH, else the copy bundled at the end of
# this file by bundle-trinity.sh (trinity + libc + ld.so, unpacked into /). Bounded by BUS1_TRINITY_N syscalls (default 20000) and
# BUS1_TRINITY_SECONDS (default 120). TAP output; fails if trinity cannot
# run, if it reports a taint, or if it hangs.
set -u

N=${BUS1_TRINITY_N:-20000}
SECS=${BUS1_TRINITY_SECONDS:-120}
SEED=${BUS1_TRINITY_SEED:-$$}
W=/tmp/trinity.$$

echo "TAP version 13"
echo "1..2"
mkdir -p "$W" && cd "$W" || exit 1
if command -v trinity >/dev/null 2>&1; then
	set -- trinity
elif grep -q '^__TRINITY_PAYLOAD__$' "$0"; then
	sed '1,/^__TRINITY_PAYLOAD__$/d' "$0" | base64 -d | tar -xzf - -C / ||
		{ echo "not ok 1 unpacking the bundled trinity"; exit 1; }
	set -- /usr/bin/trinity
else
	echo "ok 1 trinity # SKIP not installed and not bundled"
	echo "ok 2 trinity run # SKIP"
	exit 0
fi
[ -e /dev/bus1 ] || { echo "not ok 1 no /dev/bus1"; exit 1; }
echo "ok 1 trinity available ($*)"

# -c ioctl -V /dev/bus1: only ioctl(2), fds from the victim path; all other
# fd providers off so that the fuzzing stays on bus1.
"$@" --dangerous -T DIE,WARN,BAD_PAGE -q -l off -s "$SEED" -N "$N" -C 2 -c ioctl -V /dev/bus1 \
	--disable-fds=sockets,pipes,perf,epoll,eventfd,pseudo,timerfd,testfile,memfd,drm \
	>"$W/out" 2>&1 &
pid=$!
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt "$SECS" ]; do
	sleep 1
	i=$((i + 1))
done
timed_out=0
if kill -0 $pid 2>/dev/null; then
	timed_out=1
	kill -INT $pid 2>/dev/null
	sleep 5
	kill -KILL $pid 2>/dev/null
	# trinity's children are in our process group
	pkill -KILL -P $pid 2>/dev/null
fi
wait $pid
rc=$?
sed 's/^/#   /' "$W/out" | tail -n 25
iters=$(sed -n 's/.*Ran \([0-9]*\) syscalls.*/\1/p' "$W/out" | tail -n 1)
echo "# trinity: seed $SEED, ${iters:-?} syscalls, ${i} s, exit $rc, stopped by timeout: $timed_out"
if grep -i 'tainted\|oops' "$W/out" | grep -qvi 'on startup\|taint mask'; then
	echo "not ok 2 trinity reported a kernel taint/oops"
	exit 1
fi
if [ -z "$iters" ] && [ $timed_out = 0 ]; then
	echo "not ok 2 trinity did not run (exit $rc)"
	exit 1
fi
echo "ok 2 trinity -c ioctl -V /dev/bus1: ${iters:-?} syscalls"
cd / && rm -rf "$W"
exit 0
