#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bundle-trinity.sh SCRIPT OUT - write SCRIPT to OUT and append, after a
# line "__TRINITY_PAYLOAD__", a base64 tar.gz of the host's trinity binary,
# the libraries ldd lists for it and the dynamic loader (flat, one dir), so
# the busybox-only guest can run it as `ld.so --library-path DIR DIR/trinity`.
# Without trinity on the host, OUT is SCRIPT alone (the guest script skips).
set -euo pipefail

src=$1 out=$2
cp "$src" "$out"
tr=$(command -v trinity 2>/dev/null || true)
if [ -z "$tr" ]; then
	echo "bundle-trinity: no trinity on this host; $out skips in the guest" >&2
	exit 0
fi
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cp -L "$tr" "$d/trinity"
ldd "$tr" | grep -o '/[^ ]*' | sort -u | while read -r lib; do
	cp -L "$lib" "$d/"
done
ls "$d"/ld-linux* >/dev/null 2>&1 || { echo "bundle-trinity: no dynamic loader found" >&2; exit 1; }
{
	echo "__TRINITY_PAYLOAD__"
	tar -C "$d" -czf - . | base64
} >>"$out"
