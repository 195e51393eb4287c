#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test: qemu/find-kernel.sh, which turns a word of `make check`'s
# KERNELS into the image to boot, on a fake /boot holding Debian-like
# names: a version prefix picks the newest stock image of that line and
# never the PREEMPT_RT one (rt sorts after stock in version order),
# <prefix>-rt picks the RT one, "6.1" is not "6.12", a full release is
# taken as it is, and an unknown word fails. (ABI numbers are made up and
# assembled at run time: no Debian ABI version is written into the tree.)
# Prints TAP, exits non-zero on failure.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)
FIND=$ROOT/tools/testing/selftests/bus1/qemu/find-kernel.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
TAP_DIAG=$TMP/diag
# shellcheck source=SCRIPTDIR/tap.sh
. "$ROOT/tools/testing/selftests/bus1/host/tap.sh"

echo "TAP version 13"
echo "1..7"
a=90 b=91 d=deb12
mkdir "$TMP/boot"
for r in "6.1.0-$a-amd64" "6.1.0-$b-amd64" "6.1.0-$a-rt-amd64" \
	 "6.1.0-$b-rt-amd64" "6.12.7+$d-amd64" "6.12.8+$d-amd64" \
	 "6.12.8+$d-rt-amd64"; do
	touch "$TMP/boot/vmlinuz-$r" "$TMP/boot/config-$r"
done

expect() {	# expect WORD RELEASE (empty: must fail)
	local got rc=0

	: >"$TAP_DIAG"
	got=$(BOOT_DIR=$TMP/boot "$FIND" "$1") || rc=$?
	if [[ -z $2 ]]; then
		[[ $rc != 0 ]] || echo "got $got, wanted failure" >"$TAP_DIAG"
		check "'$1' finds no image"
		return
	fi
	[[ $rc == 0 && $got == "$TMP/boot/vmlinuz-$2" ]] ||
		echo "got '${got#"$TMP"/}' (exit $rc), wanted boot/vmlinuz-$2" >"$TAP_DIAG"
	check "'$1' boots vmlinuz-$2"
}

expect 6.1 "6.1.0-$b-amd64"
expect 6.1-rt "6.1.0-$b-rt-amd64"
expect 6.12 "6.12.8+$d-amd64"
expect 6.12-rt "6.12.8+$d-rt-amd64"
expect "6.1.0-$a-rt-amd64" "6.1.0-$a-rt-amd64"
expect 6.2 ""
expect 6.2-rt ""
echo "# $((n - failed)) passed, $failed failed"
((failed == 0))
