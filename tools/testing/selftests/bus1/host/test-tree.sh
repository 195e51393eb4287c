#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test: properties of the tree itself.
#  1. no file names a Debian kernel ABI version (like 6.1.0-NN-amd64 or
#     6.12.NN+debNN-amd64): those change with every Debian kernel update, so
#     the installed kernels are found at run time instead. Files are those
#     git tracks plus the untracked ones it does not ignore (build products
#     and kept VM logs name the kernel they ran on), .git excluded.
#  2. every kselftest harness timeout (TEST_F_TIMEOUT, TEST_TIMEOUT(), the
#     .timeout of a fixture) in the VM test sources is shorter than the rig's
#     per-executable limit (TEST_TIMEOUT of qemu/Makefile) minus a margin, so
#     a hanging test case is reported by the harness with its diagnostics
#     instead of the whole executable being killed by the rig.
# Prints TAP, exits non-zero on failure.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)
SEL=$ROOT/tools/testing/selftests/bus1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

TAP_DIAG=$TMP/diag
# shellcheck source=SCRIPTDIR/tap.sh
. "$SEL/host/tap.sh"

echo "TAP version 13"
tap_plan 2

# 1. no Debian kernel ABI version in any file
ABI_RE='[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-(rt-)?amd64|\+deb[0-9]+-(rt-)?amd64'
cd "$ROOT"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# (tracked files deleted in the work tree are not there to grep)
	git ls-files -z -c -o --exclude-standard |
		while IFS= read -r -d '' f; do
			[[ -f $f ]] && printf '%s\0' "$f"
		done >"$TMP/files"
else
	find . -path ./.git -prune -o -type f -print0 >"$TMP/files"
fi
# grep: 0 = found, 1 = nothing found, 2 = trouble, which must not pass
rc=0
# shellcheck disable=SC2016 # ($0 and $@ of the inner sh)
xargs -0 -r sh -c 'grep -nIE -e "$0" -- "$@"; [ $? -le 1 ]' "$ABI_RE" \
	<"$TMP/files" >"$TAP_DIAG" 2>"$TMP/grep.err" || rc=$?
if ((rc != 0)); then
	{ echo "grep failed (xargs status $rc):"; cat "$TMP/grep.err"; } \
		>"$TAP_DIAG"
	not_ok "no file names a Debian kernel ABI version"
elif [[ -s $TAP_DIAG ]]; then
	not_ok "no file names a Debian kernel ABI version ($(wc -l <"$TAP_DIAG") lines)"
else
	ok "no file names a Debian kernel ABI version ($(tr -cd '\0' <"$TMP/files" | wc -c) files)"
fi

# 2. harness timeouts below the rig's per-executable limit
MARGIN=30
limit=$(sed -n 's/^TEST_TIMEOUT ?= *\([0-9][0-9]*\)$/\1/p' "$SEL/qemu/Makefile")
: >"$TAP_DIAG"
if [[ -z $limit ]]; then
	echo "no 'TEST_TIMEOUT ?= N' in qemu/Makefile" >"$TAP_DIAG"
	not_ok "harness timeouts below the rig's limit"
else
	n_to=0
	for f in "$SEL"/test-*.c "$ROOT"/tools/lib/bus1/test-*.c \
		 "$ROOT"/samples/bus1/test-*.c; do
		[[ -f $f ]] || continue
		# TEST_F_TIMEOUT(f, name, N) and ".timeout = N"; a timeout
		# that is not a plain number cannot be checked, so it fails
		while IFS= read -r hit; do
			line=${hit%%:*}
			n_to=$((n_to + 1))
			if [[ $hit =~ TEST(_F)?_TIMEOUT\(.*,\ *([0-9]+)\) ]] ||
			   [[ $hit =~ \.timeout\ *=\ *([0-9]+) ]]; then
				secs=${BASH_REMATCH[-1]}
			else
				echo "${f#"$ROOT"/}:$line: timeout not a number:" \
					"${hit#*:}" >>"$TAP_DIAG"
				continue
			fi
			if ((secs > limit - MARGIN)); then
				echo "${f#"$ROOT"/}:$line: timeout $secs s," \
					"not below the rig's $limit s - $MARGIN s" \
					>>"$TAP_DIAG"
			fi
		done < <(grep -nE 'TEST(_F)?_TIMEOUT\(|\.timeout *=' "$f" || true)
	done
	if ((n_to == 0)); then
		echo "no harness timeout found: the pattern is out of date" \
			>>"$TAP_DIAG"
	fi
	check "harness timeouts ($n_to) are below the rig's $limit s - $MARGIN s"
fi

tap_end
