#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# find-kernel.sh WORD - print the image rig.sh boots for one word of KERNELS
# other than "newest": a version prefix (Debian's stock
# vmlinuz-<prefix>.*-amd64, never the PREEMPT_RT one), <prefix>-rt (the
# vmlinuz-<prefix>.*-rt-amd64 one) or a full release (vmlinuz-<release>).
# Looks in $BOOT_DIR (default /boot) and takes the newest ABI of several.
# Exit status 1 if there is none.
set -euo pipefail

k=${1:?usage: find-kernel.sh WORD}
boot=${BOOT_DIR:-/boot}
case $k in
*-rt)	img=$(find "$boot" -maxdepth 1 -name "vmlinuz-${k%-rt}.*-rt-amd64" |
		sort -V | tail -n 1) ;;
*)	img=$(find "$boot" -maxdepth 1 \( -name "vmlinuz-$k.*-amd64" \
		! -name '*-rt-amd64' \) -o -name "vmlinuz-$k" |
		sort -V | tail -n 1) ;;
esac
[ -n "$img" ] || exit 1
echo "$img"
