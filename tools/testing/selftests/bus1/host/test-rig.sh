#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test: the rig's verdict (qemu/tap.awk) on made-up result channels, so
# that each way a run can go wrong is shown to fail: an expected executable
# that never ran, a skip not on the allowlist, fewer or more results than
# the plan, a per-test timeout, a crash without "not ok", a malformed
# allowlist; and that a clean run, an allowed skip and the committed
# qemu/skip-allowlist pass. Prints TAP, exits non-zero on failure.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)
QEMU=$ROOT/tools/testing/selftests/bus1/qemu
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

TAP_DIAG=$TMP/diag
# shellcheck source=SCRIPTDIR/tap.sh
. "$ROOT/tools/testing/selftests/bus1/host/tap.sh"

echo "TAP version 13"
tap_plan 11

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

verdict "2 0 0" '^# K test-a: 2 passed, 0 failed, 0 skipped \(plan 2\)$' \
	-v expected="test-a" -v allow="$QEMU/skip-allowlist" <"$TMP/clean.log"
check "a clean run passes, with a count line per executable"

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

tap_end
