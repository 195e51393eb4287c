#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test: the rig's verdict (qemu/tap.awk) on made-up result channels, so
# that each way a run can go wrong is shown to fail: an expected executable
# that never ran, a skip not on the allowlist, fewer or more results than
# the plan, a per-test timeout, a crash without "not ok", a malformed
# allowlist; and that a clean run, an allowed skip and the committed
# qemu/skip-allowlist pass. Also the guest's reset of bus1's module
# parameters between executables (qemu/modparams.sh, run by the guest's
# shell on a fake parameter directory). Prints TAP, exits non-zero on
# failure.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)
QEMU=$ROOT/tools/testing/selftests/bus1/qemu
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

TAP_DIAG=$TMP/diag
# shellcheck source=SCRIPTDIR/tap.sh
. "$ROOT/tools/testing/selftests/bus1/host/tap.sh"

echo "TAP version 13"
tap_plan 16

# section NAME RC LINES...: one executable's part of the result channel
section() {
	local name=$1 rc=$2
	shift 2
	echo "# bus1-rig: begin $name"
	printf '%s\n' "$@"
	echo "# bus1-rig: end $name $rc 1"
}

# verdict WANT_COUNTS WANT_RE [awk -v assignments...] <log: run tap.awk on
# the log; ok if it writes WANT_COUNTS ("P F S") and prints a line matching
# WANT_RE (an ERE; "" for none wanted)
verdict() {
	local want=$1 re=$2 got
	shift 2
	: >"$TAP_DIAG"
	awk -v prefix="K " -v counts="$TMP/counts" "$@" -f "$QEMU/tap.awk" \
		>"$TMP/out" 2>&1 || echo "tap.awk failed" >>"$TAP_DIAG"
	got=$(cat "$TMP/counts" 2>/dev/null || echo none)
	[[ $got == "$want" ]] ||
		echo "counts: want '$want', got '$got'" >>"$TAP_DIAG"
	if [[ -n $re ]] && ! grep -qE -- "$re" "$TMP/out"; then
		echo "no line matching /$re/ in the verdict" >>"$TAP_DIAG"
	fi
	[[ ! -s $TAP_DIAG ]] || sed 's/^/out: /' "$TMP/out" >>"$TAP_DIAG"
}

good=("TAP version 13" "1..2" "ok 1 a" "ok 2 b")
section test-a 0 "${good[@]}" >"$TMP/clean.log"

verdict "2 0 0" '^# K test-a: 2 passed, 0 failed, 0 skipped \(plan 2\), 1 s$' \
	-v expected="test-a" -v allow="$QEMU/skip-allowlist" <"$TMP/clean.log"
check "a clean run passes, with a count line per executable"

# the seconds of each executable against the rig's limit: 1 s of 3 is
# within a third, 2 s of 3 is not and gets the note
{ cat "$TMP/clean.log"; section test-b 0 "${good[@]}" |
	sed 's/^\(# bus1-rig: end test-b 0\) 1$/\1 2/'; } |
	verdict "4 0 0" '^# K test-b: 2 passed, 0 failed, 0 skipped \(plan 2\), 2 s of 3$' \
		-v limit=3
grep -qx '# K headroom: test-b 2 s of 3' "$TMP/out" ||
	echo "no headroom note for test-b (2 s of 3)" >>"$TAP_DIAG"
! grep -q 'headroom: test-a' "$TMP/out" ||
	echo "a headroom note for test-a (1 s of 3)" >>"$TAP_DIAG"
check "each executable's seconds against the limit; over a third is noted"

verdict "2 1 0" '^K not ok - test-b never ran$' -v expected="test-a test-b" \
	<"$TMP/clean.log"
check "an expected executable without results fails as never run"

{ cat "$TMP/clean.log"; echo "# bus1-rig: missing test-b"; } |
	verdict "2 1 0" 'test-b never ran \(no such executable' \
		-v expected="test-a test-b"
check "a missing executable names the reason"

section test-s 0 "1..2" "#  RUN           global.one ..." "ok 1 # SKIP why" \
	"#  RUN           global.two ..." "ok 2 two" >"$TMP/skip.log"
verdict "1 1 0" '^K not ok - test-s: skip not in skip-allowlist: ok 1 # SKIP why$' \
	-v allow="$QEMU/skip-allowlist" <"$TMP/skip.log"
check "a skip not on the allowlist fails"

echo "test-s/global.one: the reason" >"$TMP/allow"
verdict "1 0 1" "" -v allow="$TMP/allow" <"$TMP/skip.log"
check "a skip on the allowlist (executable/case) is a skip"

section test-z 4 "1..0 # SKIP no device" |
	verdict "0 1 0" 'test-z: skip not in skip-allowlist: the whole executable' \
		-v allow="$QEMU/skip-allowlist"
check "an executable skipping as a whole fails unless allowed"

section test-p 0 "1..3" "ok 1 a" "ok 2 b" |
	verdict "2 1 0" 'test-p: only 2 of 3 planned results' -v expected=test-p
check "fewer results than the plan fail"

section test-p 0 "1..1" "ok 1 a" "ok 2 b" |
	verdict "2 1 0" 'test-p: 2 results, more than the plan of 1' \
		-v expected=test-p
check "more results than the plan fail"

{ section test-t 124 "1..2" "ok 1 a"; section test-c 139 "1..1" "ok 1 a"; } |
	verdict "2 2 0" 'test-c: exited with status 139 without' \
		-v expected="test-t test-c"
grep -q 'test-t: killed by the per-test timeout' "$TMP/out" ||
	echo "no timeout verdict for test-t" >>"$TAP_DIAG"
check "a per-test timeout and a crash without 'not ok' fail"

printf 'test-a no colon\n' >"$TMP/allow"
verdict "2 1 0" 'malformed line' -v allow="$TMP/allow" <"$TMP/clean.log"
check "a malformed allowlist line fails"

: >"$TAP_DIAG"
awk '!/^[ \t]*(#|$)/ && !/^[^ \t:]+: *[^ \t]/ { print "malformed: " $0 }' \
	"$QEMU/skip-allowlist" >"$TAP_DIAG"
check "qemu/skip-allowlist: every entry is 'NAME: reason'"

# psh CMD: CMD in the guest's shell (busybox sh, as /init) after sourcing
# qemu/modparams.sh, on the fake parameter directory $TMP/params; a failure
# is a line in the output (the checks look for what is missing), not the end
# of this script
SH=(sh)
[ ! -x /bin/busybox ] || SH=(/bin/busybox sh)
P=$TMP/params
psh() {
	# shellcheck disable=SC2016 # (expanded by the inner sh)
	PARAMS_DIR=$P PARAMS_BOOT=$TMP/boot "${SH[@]}" -c \
		'out() { echo "$*"; }; . "$1" && eval "$2"' sh \
		"$QEMU/modparams.sh" "$1" || echo "psh '$1': exit $?"
}
mkdir "$P"
echo 65536 >"$P/user_handles_max"
echo 16384 >"$P/user_slices_max"
echo 3 >"$P/read_only"
chmod 0444 "$P/read_only"
: >"$TAP_DIAG"
got=$(psh params_record 2>&1)
[[ $got == "user_handles_max=65536 user_slices_max=16384" ]] ||
	echo "recorded: want the two writable ones, got '$got'" >>"$TAP_DIAG"
check "the rig records every writable module parameter, not read-only ones"

# as in session 12: test-handle raised user_handles_max and was killed; a
# read-only parameter that changes is not the rig's to put back
{
	echo 1000000 >"$P/user_handles_max"
	chmod 0644 "$P/read_only"
	echo 4 >"$P/read_only"
	chmod 0444 "$P/read_only"
	section test-handle 124 "1..2" "ok 1 a"
	psh 'params_check test-handle 124'
	section test-peer 0 "1..1" "ok 1 query_defaults"
	psh 'params_check test-peer 0'
	echo 7 >"$P/user_slices_max"
	section test-leak 0 "1..1" "ok 1 a"
	psh 'params_check test-leak 0'
} >"$TMP/params.log" 2>&1
verdict "3 2 0" '^# K test-handle left user_handles_max 1000000 \(boot 65536\); reset$' \
	-v expected="test-handle test-peer test-leak" <"$TMP/params.log"
[[ $(cat "$P/user_handles_max") == 65536 ]] ||
	echo "user_handles_max not put back" >>"$TAP_DIAG"
! grep -q 'params-after-test-handle' "$TMP/params.log" ||
	echo "a killed test's reset counted as a failure" >>"$TAP_DIAG"
[[ $(cat "$P/read_only") == 4 ]] && ! grep -q read_only "$TMP/params.log" ||
	echo "a read-only parameter was reported or written" >>"$TAP_DIAG"
[[ ! -s $TAP_DIAG ]] || sed 's/^/log: /' "$TMP/params.log" >>"$TAP_DIAG"
check "a killed test's raised parameter is noted and reset, not failed again"

: >"$TAP_DIAG"
grep -q '^K params-after-test-leak: not ok 1 test-leak exited 0 but left module parameters changed: user_slices_max 7 (boot 16384)$' \
	"$TMP/out" || echo "no failing result for test-leak" >>"$TAP_DIAG"
[[ $(cat "$P/user_slices_max") == 16384 ]] ||
	echo "user_slices_max not put back" >>"$TAP_DIAG"
[[ ! -s $TAP_DIAG ]] || sed 's/^/out: /' "$TMP/out" >>"$TAP_DIAG"
check "a test that exits 0 but leaves a parameter changed fails"

# a parameter that cannot be written back fails whatever the test did
rm "$P/user_handles_max"
mkdir "$P/user_handles_max"
psh 'params_check test-x 1' 2>&1 |
	verdict "0 1 0" '^K params-after-test-x: not ok 1 module parameters after test-x \(exit 1\) cannot be put back: user_handles_max \(unreadable\) \(boot 65536\)$'
check "a parameter that cannot be put back fails"

tap_end
