#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bundle-trinity.sh SCRIPT OUT - write SCRIPT to OUT and append, after a
# line "__TRINITY_PAYLOAD__", a base64 tar.gz of the host's trinity binary
# and the libraries and dynamic loader ldd lists for it, at their host paths
# (relative to /), which the busybox-only guest unpacks into its root.
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
mkdir -p "$d/usr/bin"
cp -L "$tr" "$d/usr/bin/trinity"
ldd "$tr" | grep -o '/[^ ]*' | sort -u | while read -r lib; do
	mkdir -p "$d$(dirname "$lib")"
	cp -L "$lib" "$d$lib"
done
{
	echo "__TRINITY_PAYLOAD__"
	tar -C "$d" -czf - . | base64
} >>"$out"
