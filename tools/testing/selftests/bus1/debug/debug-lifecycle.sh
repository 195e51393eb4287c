#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# debug-lifecycle.sh - guest side (busybox sh, root, debug VM): unload and
# reload bus1 BUS1_LIFECYCLE_N times (default 100) with traffic in between
# (a short debug-fuzz run after every 2nd load, a few peers after the others;
# every 10th cycle also checks that an open peer pins the module), then a
# kmemleak scan: any unreferenced
# object that mentions bus1, or whose backtrace has an unsymbolized frame in
# the module area (an earlier, unloaded bus1), fails. Leaves the module
# loaded. TAP output.
set -u

N=${BUS1_LIFECYCLE_N:-100}
KO=/lib/bus1/bus1.ko
KL=/sys/kernel/debug/kmemleak
HERE=$(cd "$(dirname "$0")" && pwd)
FUZZ=$HERE/debug-fuzz
MODPARAMS=
# shellcheck disable=SC1091
[ -r /etc/bus1-rig.conf ] && . /etc/bus1-rig.conf

echo "TAP version 13"
echo "1..4"

unload() {
	i=0
	while ! rmmod bus1 2>/dev/null; do
		i=$((i + 1))
		[ $i -ge 50 ] && return 1
		sleep 0.1
	done
	[ ! -e /sys/module/bus1 ]
}

load() {
	# shellcheck disable=SC2086
	insmod "$KO" $MODPARAMS || return 1
	i=0
	while [ ! -c /dev/bus1 ]; do
		i=$((i + 1))
		[ $i -ge 50 ] && return 1
		sleep 0.1
	done
}

[ -r "$KO" ] || { echo "not ok 1 no $KO"; exit 1; }
[ -e $KL ] && echo clear >$KL

fail=0 pinned_bad=0 traffic_bad=0 start=$(cut -d. -f1 /proc/uptime)
c=1
while [ $c -le "$N" ]; do
	if ! unload; then
		echo "# cycle $c: rmmod bus1 failed: $(cat /sys/module/bus1/refcnt 2>/dev/null) refs"
		fail=1
		break
	fi
	if ! load; then
		echo "# cycle $c: insmod/device node failed"
		fail=1
		break
	fi
	if [ -x "$FUZZ" ] && [ $((c % 2)) = 1 ]; then
		if ! "$FUZZ" --seed "$c" --seconds 0.3 --procs 1 --threads 2 \
			>/tmp/lifecycle.out 2>&1; then
			echo "# cycle $c: traffic (debug-fuzz --seed $c) failed:"
			grep -v '^ok' /tmp/lifecycle.out | tail -n 20 | sed 's/^/#   /'
			traffic_bad=$((traffic_bad + 1))
		fi
	else
		exec 5</dev/bus1 6</dev/bus1
		exec 5<&- 6<&-
	fi
	if [ $((c % 10)) = 0 ]; then
		exec 5</dev/bus1
		if rmmod bus1 2>/dev/null; then
			echo "# cycle $c: rmmod succeeded with an open peer"
			pinned_bad=$((pinned_bad + 1))
			load || { fail=1; break; }
		fi
		exec 5<&-
	fi
	c=$((c + 1))
done
secs=$(($(cut -d. -f1 /proc/uptime) - start))
[ -e /sys/module/bus1 ] || load
if [ $fail = 0 ]; then
	echo "ok 1 $N x rmmod/insmod bus1 ($secs s)"
else
	echo "not ok 1 rmmod/insmod cycles (stopped at cycle $c of $N)"
fi
if [ $traffic_bad = 0 ]; then
	echo "ok 2 traffic between reloads (debug-fuzz, 0.3 s every 2nd cycle)"
else
	echo "not ok 2 traffic between reloads failed $traffic_bad times"
fi
if [ $pinned_bad = 0 ]; then
	echo "ok 3 an open peer pins the module (every 10th cycle)"
else
	echo "not ok 3 rmmod succeeded with open peers $pinned_bad times"
fi

if [ ! -e $KL ]; then
	echo "ok 4 kmemleak # SKIP no $KL"
	exit $fail
fi
# Objects must be older than 5 s to be reported.
sleep 6
echo scan >$KL
cat $KL >/tmp/kmemleak.out
total=$(grep -c '^unreferenced object' /tmp/kmemleak.out)
bad=$(awk '
	/^unreferenced object/ { if (blk != "" && hit) n++; blk = $0; hit = 0; next }
	{ blk = blk "\n" $0 }
	/bus1/ { hit = 1 }
	/\[<ffffffff[a-f][0-9a-f]+>\] 0xffffffff[a-f]/ { hit = 1 }
	END { if (blk != "" && hit) n++; print n + 0 }' /tmp/kmemleak.out)
if [ "$bad" != 0 ]; then
	echo "not ok 4 kmemleak: $bad of $total leak reports are bus1's"
	head -n 60 /tmp/kmemleak.out | sed 's/^/#   /'
	fail=1
else
	echo "ok 4 kmemleak: no bus1 leak after $N reloads ($total other leak reports)"
	[ "$total" = 0 ] || head -n 30 /tmp/kmemleak.out | sed 's/^/#   /'
fi
[ $fail = 0 ] && [ $traffic_bad = 0 ] && [ $pinned_bad = 0 ]
