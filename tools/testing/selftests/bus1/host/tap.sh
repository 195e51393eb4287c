# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# tap.sh - TAP output for the host-side tests; sourced by host/test-*.sh
# (not a test itself: the rig runs test-*.sh only).
#
# The caller points TAP_DIAG at a file it fills with what went wrong:
# not_ok() prints it as diagnostics (all of it up to 60 lines, else the
# first 10 and the last 40, where build errors end up), check() is ok if it
# is empty. tap_plan N prints the plan first, for a script whose number of
# checks is known up front; tap_end() then fails unless exactly N ran (a
# script that stops early cannot pass), else prints the plan itself. It
# prints the "N passed, N failed" line, and fails if anything failed.

n=0
failed=0
planned=
TAP_DIAG=${TAP_DIAG:-/dev/null}

ok() { n=$((n + 1)); echo "ok $n - $1"; }

tap_diag() {
	local lines

	[[ -s $TAP_DIAG ]] || return 0
	lines=$(wc -l <"$TAP_DIAG")
	if ((lines <= 60)); then
		sed 's/^/# /' "$TAP_DIAG"
	else
		sed -n '1,10s/^/# /p' "$TAP_DIAG"
		echo "# [... $((lines - 50)) lines ...]"
		tail -n 40 "$TAP_DIAG" | sed 's/^/# /'
	fi
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	tap_diag
}

skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

# check NAME: ok if $TAP_DIAG is empty
check() { if [[ -s $TAP_DIAG ]]; then not_ok "$1"; else ok "$1"; fi; }

tap_plan() { planned=$1; echo "1..$planned"; }

tap_end() {
	if [[ -z $planned ]]; then
		echo "1..$n"
	elif ((n != planned)); then
		echo "# planned $planned checks, ran $n"
		echo "# $((n - failed)) passed, $failed failed"
		return 1
	fi
	echo "# $((n - failed)) passed, $failed failed"
	((failed == 0))
}
