#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# debug-failslab.sh - guest side (busybox sh, root, debug VM): run the test
# suite (/tests/test-*) and the fuzzer with failslab and fail_page_alloc
# injecting random failures into the test processes only (task-filter +
# make-it-fail; GFP_KERNEL included, order 0 included). Test verdicts under
# injection are not meaningful (the tests expect their allocations to work)
# and are only reported; what counts is the kernel: no splat (the rig scans
# the console, and this script copies any splat it finds in dmesg there), no
# unkillable (hung) process, the fuzzer's invariants (no impossible errno,
# no lost/duplicated/corrupt message; run with --make-it-fail), and a clean
# fuzzer run afterwards without injection. kmemleak runs after all tests.
# The exhaustive per-site sweep is debug-failnth; this is the random one.
#
# The budget is split evenly between the test binaries (at most
# BUS1_FAIL_TEST_SECONDS, at least 5 s each), so every binary runs under
# injection; each gets a TAP line, and one into which no failure was
# injected fails, after a second try at 10 times the probability (a binary
# that allocates nothing in the kernel would have proved nothing).
#
# Knobs: BUS1_FAIL_PROB (percent, default 5), BUS1_FAIL_TEST_SECONDS (per
# test at most, default 30), BUS1_FAIL_BUDGET (seconds for all tests,
# default 120).
set -u

PROB=${BUS1_FAIL_PROB:-5}
TSECS=${BUS1_FAIL_TEST_SECONDS:-30}
BUDGET=${BUS1_FAIL_BUDGET:-120}
D=/sys/kernel/debug
HERE=$(cd "$(dirname "$0")" && pwd)
FUZZ=$HERE/debug-fuzz
TIMES=1000000000
SPLAT='BUG:|WARNING:|Oops|KASAN|UBSAN|circular locking|recursive locking|inconsistent lock state|general protection fault|list_add corruption|list_del corruption|sleeping function called from invalid context|scheduling while atomic|blocked for more than|ODEBUG|unable to handle'
# A core-kernel WARN_ON_ONCE that only injection reaches, not bus1's: in
# 6.1 alloc_vmap_area() warns when adjust_va_to_fit_type() cannot allocate
# its split vmap_area (a fork's vmalloc'ed stack under failslab; seen once,
# session 7). The same line is in check-debug's ALLOW_RE (qemu/Makefile).
SPLAT_ALLOW='WARNING: CPU: [0-9]+ PID: [0-9]+ at mm/vmalloc.c:[0-9]+ alloc_vmap_area'

echo "TAP version 13"
if [ ! -d $D/failslab ] || [ ! -d $D/fail_page_alloc ]; then
	echo "1..0 # SKIP no failslab/fail_page_alloc in debugfs"
	exit 0
fi
# the plan first (a line per test binary, then five): a run that dies
# before its verdicts is "only N of M"
nt=0
for t in /tests/test-*; do
	[ -x "$t" ] && nt=$((nt + 1))
done
echo "1..$((nt + 5))"

knob() { echo "$2" >"$D/$1" || echo "# cannot set $1 = $2"; }

setup() {	# setup <probability>
	for a in failslab fail_page_alloc; do
		knob $a/probability "$1"
		knob $a/interval 1
		knob $a/times $TIMES
		knob $a/space 0
		knob $a/verbose 0
		knob $a/task-filter Y
		knob $a/ignore-gfp-wait N
	done
	knob fail_page_alloc/ignore-gfp-highmem N
	knob fail_page_alloc/min-order 0
}

injected() {	# failures injected since setup
	s=$(cat $D/failslab/times)
	p=$(cat $D/fail_page_alloc/times)
	echo $((2 * TIMES - s - p))
}

# Kernel messages of the injected failures (page allocation failure
# reports) would flood the serial console: keep the console at errors
# while injecting and copy real splats from dmesg to the console.
console_level=$(cut -f1 /proc/sys/kernel/printk)
scan_dmesg() {
	dmesg -c >/tmp/failslab.dmesg 2>/dev/null || return 0
	if grep -E "$SPLAT" /tmp/failslab.dmesg | grep -vEq "$SPLAT_ALLOW"; then
		grep -E -A 40 "$SPLAT" /tmp/failslab.dmesg | head -n 80 >/dev/console
		splats=$((splats + 1))
	fi
	allocfail=$((allocfail + $(grep -c 'page allocation failure' /tmp/failslab.dmesg)))
}

# run_injected <name> <seconds> <cmd...>: run in a session of its own (a
# test that signals its process group must not hit this script), and once
# it has exec'd (exec itself would fail under injection) set its
# make-it-fail (threads and children it creates later inherit it); print
# rc; a process that survives SIGKILL for 20 s is a hang. <name> "-" means
# the command injects itself.
run_injected() {
	name=$1 secs=$2
	shift 2
	setsid "$@" >/tmp/failslab.out 2>&1 &
	pid=$!
	if [ "$name" != - ]; then
		comm=$(echo "${1##*/}" | cut -c1-15)
		# spin with builtins only: a $(cat)/sleep per round took tens
		# of ms, in which short binaries did all their work uninjected
		i=0 c=
		while [ "$c" != "$comm" ] && [ $i -lt 100000 ]; do
			read -r c 2>/dev/null </proc/$pid/comm || break
			i=$((i + 1))
		done
		{ echo 1 >/proc/$pid/make-it-fail; } 2>/dev/null
	fi
	name=${1##*/}
	i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt $((secs * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	note=
	if kill -0 $pid 2>/dev/null; then
		note=" (stopped after $secs s)"
		kill -KILL -$pid $pid 2>/dev/null
		i=0
		while [ -d /proc/$pid ] && [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" != Z ] &&
		      [ $i -lt 200 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if [ $i -ge 200 ]; then
			echo "# $name: unkillable after SIGKILL: $(cat /proc/$pid/wchan 2>/dev/null)"
			hung=$((hung + 1))
		fi
	fi
	wait $pid
	rc=$?
	kill -KILL -$pid 2>/dev/null	# children left behind by the test
	nok=$(grep -c '^ok ' /tmp/failslab.out)
	nnot=$(grep -c '^not ok ' /tmp/failslab.out)
	echo "# $name: exit $rc$note, TAP ok $nok / not ok $nnot under injection"
}

splats=0 hung=0 allocfail=0 n=0 tn=0 zero=0
dmesg -c >/dev/null 2>&1
setup "$PROB"
echo 4 >/proc/sys/kernel/printk
secs=$TSECS
[ $nt = 0 ] || [ $((BUDGET / nt)) -ge "$secs" ] || secs=$((BUDGET / nt))
[ "$secs" -ge 5 ] || secs=5
echo "# $nt test binaries, $secs s each under injection (budget $BUDGET s)"
# make-it-fail is set right after the exec, before the binary's own page
# faults: failing those (user pages are __GFP_HIGHMEM) only kills it with
# SIGSEGV before it reaches bus1, so they are exempt here (the fuzzer
# below sets its flag after its setup and gets them injected)
knob fail_page_alloc/ignore-gfp-highmem Y
for t in /tests/test-*; do
	[ -x "$t" ] || continue
	b=$(injected)
	run_injected "${t##*/}" "$secs" "$t"
	got=$(($(injected) - b))
	note=
	# make-it-fail is set only once the binary runs: a short one can be
	# done before that, so a few more runs at ten times the probability
	k=0
	while [ $got = 0 ] && [ $k -lt 4 ]; do
		k=$((k + 1))
		knob failslab/probability $((PROB * 10))
		knob fail_page_alloc/probability $((PROB * 10))
		run_injected "${t##*/}" "$secs" "$t"
		got=$(($(injected) - b))
		note=" (run $((k + 1)) at $((PROB * 10))%)"
		knob failslab/probability "$PROB"
		knob fail_page_alloc/probability "$PROB"
	done
	n=$((n + 1))
	tn=$((tn + 1))
	if [ $got -gt 0 ]; then
		echo "ok $tn ${t##*/} under injection: $got failures injected$note"
	else
		zero=$((zero + 1))
		echo "not ok $tn ${t##*/} under injection: no failure injected$note"
	fi
	scan_dmesg
done
knob fail_page_alloc/ignore-gfp-highmem N
b=$(injected)
fuzz_ok=1
if [ -x "$FUZZ" ]; then
	run_injected - 60 "$FUZZ" --seconds 30 --procs 2 --threads 2 --make-it-fail
	echo "#   $(($(injected) - b)) failures injected"
	grep -E '^(not ok|# VIOLATION|# bus1-fuzz:)' /tmp/failslab.out | head -n 30 | sed 's/^/#   /'
	grep -q '^# PASS' /tmp/failslab.out || fuzz_ok=0
	scan_dmesg
fi
total=$(injected)
for a in failslab fail_page_alloc; do
	knob $a/probability 0
	knob $a/task-filter N
done
echo "$console_level" >/proc/sys/kernel/printk
scan_dmesg

[ "$total" -gt 0 ] && [ $zero = 0 ]
r=$?
[ "$total" -gt 0 ] && echo "ok $((tn + 1)) $total failures injected (failslab + fail_page_alloc, p=$PROB%, $n test binaries + fuzzer; $allocfail page allocation failure reports)" ||
	echo "not ok $((tn + 1)) no failure was injected (fault injection not working?)"
[ $splats = 0 ] && echo "ok $((tn + 2)) no kernel splat under injection" ||
	echo "not ok $((tn + 2)) $splats kernel splats under injection (copied to the console)"
[ $hung = 0 ] && echo "ok $((tn + 3)) no unkillable process" ||
	echo "not ok $((tn + 3)) $hung unkillable processes"
if [ ! -x "$FUZZ" ]; then
	echo "not ok $((tn + 4)) fuzzer invariants under injection: no $FUZZ"
	echo "not ok $((tn + 5)) clean run after injection: no $FUZZ"
	exit 1
fi
[ $fuzz_ok = 1 ] && echo "ok $((tn + 4)) fuzzer invariants hold under injection" ||
	echo "not ok $((tn + 4)) fuzzer invariants violated under injection"
"$FUZZ" --seconds 10 --procs 2 --threads 2 >/tmp/failslab.out 2>&1
rc=$?
grep -E '^(not ok|# VIOLATION|# bus1-fuzz:)' /tmp/failslab.out | head -n 20 | sed 's/^/#   /'
[ $rc = 0 ] && echo "ok $((tn + 5)) clean fuzzer run after injection" ||
	echo "not ok $((tn + 5)) fuzzer run after injection failed"
[ $r = 0 ] && [ $splats = 0 ] && [ $hung = 0 ] && [ $fuzz_ok = 1 ] && [ $rc = 0 ]
