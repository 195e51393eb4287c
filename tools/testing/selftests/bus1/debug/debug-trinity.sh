#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# debug-trinity.sh - guest side: run trinity, the dumb syscall fuzzer, on
# ioctl(2) of /dev/bus1 (busybox sh; run as root by the rig in the debug VM).
# Trinity knows nothing of bus1's structs, so this is a smoke test next to
# debug-fuzz. Uses trinity from $PATH, else the copy bundled at the end of
# this file by bundle-trinity.sh (trinity + libc + ld.so, unpacked into /).
# Bounded by BUS1_TRINITY_N syscalls (default 5000) and BUS1_TRINITY_SECONDS
# (default 150). TAP output; fails if trinity is neither installed nor
# bundled (this script only runs under `make check-debug`, where a missing
# trinity means the check did not happen), if it cannot run, if it did not
# report a positive syscall count ("Ran N syscalls", also printed when it is
# stopped by the timeout), if none of its ioctls went to a /dev/bus1 fd, if
# it reports a taint, or if it hangs.
set -u

N=${BUS1_TRINITY_N:-5000}
SECS=${BUS1_TRINITY_SECONDS:-150}
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
	echo "not ok 1 trinity is not installed and was not bundled (apt-get install trinity on the build host)"
	echo "not ok 2 trinity run: no trinity"
	exit 1
fi
[ -e /dev/bus1 ] || { echo "not ok 1 no /dev/bus1"; exit 1; }
echo "ok 1 trinity available ($*)"

# -c ioctl -V /dev/bus1: only ioctl(2), on /dev/bus1 and the fds of
# trinity's other providers (about 1 in 10 calls hits the bus1 fd). Measured
# on the debug kernel: with most providers disabled the children die after
# one call each; the socket provider alone spends minutes building its cache.
"$@" --dangerous -T DIE,WARN,BAD_PAGE -v -l off -s "$SEED" -N "$N" -C 2 \
	-c ioctl -V /dev/bus1 --disable-fds=sockets >"$W/out" 2>&1 &
pid=$!
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt "$SECS" ]; do
	sleep 1
	i=$((i + 1))
done
timed_out=0
if kill -0 $pid 2>/dev/null; then
	timed_out=1
	# where trinity and its children are stuck (syscall nr, args)
	for p in /proc/[0-9]*; do
		case $(cat "$p/comm" 2>/dev/null) in trinity*) ;; *) continue ;; esac
		echo "#   timeout: pid ${p#/proc/} $(cat "$p/wchan" 2>/dev/null) syscall $(cat "$p/syscall" 2>/dev/null)"
	done
	kill -INT $pid 2>/dev/null
	sleep 5
	kill -KILL $pid 2>/dev/null
	# trinity's children are in our process group
	pkill -KILL -P $pid 2>/dev/null
fi
wait $pid
rc=$?
grep -v 'start: 0x\|ioctl(fd=' "$W/out" | tail -n 12 | sed 's/^/#   /'
iters=$(sed -n 's/.*Ran \([0-9]*\) syscalls.*/\1/p' "$W/out" | tail -n 1)
# every fd trinity opened on /dev/bus1 (it may open it more than once)
onbus1=0
for bfd in $(sed -n 's/.*file fd:\([0-9]*\) filename:\/dev\/bus1 .*/\1/p' "$W/out" | sort -u); do
	onbus1=$((onbus1 + $(grep -c "ioctl(fd=$bfd," "$W/out")))
done
echo "# trinity: seed $SEED, ${iters:-?} syscalls ($onbus1 ioctls on the bus1 fd), ${i} s, exit $rc, stopped by timeout: $timed_out"
if grep -i 'tainted\|oops' "$W/out" | grep -qvi 'on startup\|taint mask'; then
	echo "not ok 2 trinity reported a kernel taint/oops"
	exit 1
fi
if [ "${iters:-0}" -le 0 ]; then
	echo "not ok 2 trinity reported no syscalls (exit $rc, timeout $timed_out)"
	exit 1
fi
if [ "$onbus1" -le 0 ]; then
	echo "not ok 2 trinity ran $iters syscalls, none an ioctl on /dev/bus1"
	exit 1
fi
echo "ok 2 trinity -c ioctl -V /dev/bus1: $iters syscalls, $onbus1 on bus1"
cd / && rm -rf "$W"
exit 0
