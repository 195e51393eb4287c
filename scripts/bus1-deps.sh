#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bus1-deps.sh [--quiet] - make sure everything the bus1 build and test rig
# needs is present on this (Debian 12) machine:
#  1. the Debian packages below (installed with apt-get when missing and we
#     are root on Debian; otherwise a message naming them and failure);
#  2. the linux-source-6.1 tree extracted into $BUS1_CACHE (default
#     /var/tmp/bus1-cache) from /usr/src/linux-source-6.1.tar.xz: it provides
#     kselftest_harness.h, checkpatch.pl and kernel-doc.
# libdbus-1-dev builds bus1-dbus-broker; busctl (systemd), dbus-send and
# dbus-monitor (dbus-bin), gdbus (libglib2.0-bin), python3-dbus and
# python3-gi are the unmodified clients host/test-dbus.sh drives; libsystemd-dev
# builds bus1-dbus-sdpump-bench (sd-bus over bus1, `make bench-dbus`);
# dbus-broker is the D-Bus bench's second baseline beside dbus-daemon
# (`make bench`, host/test-dbus-bench.sh).
# linux-source-6.12 is the source of the 6.12 debug kernel (make check-debug).
# The PREEMPT_RT images (6.1 and 6.12) are among the packages; Debian's newest
# kernel (make check's "newest") is not: its headers do not install on
# bookworm, scripts/bus1-newest-kernel.sh fetches it into a chroot on demand.
# Idempotent; takes well under a second when everything is there. --quiet
# prints nothing in that case.
set -euo pipefail

PACKAGES=(
	make gcc g++ libc6-dev
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64 linux-source-6.1
	linux-source-6.12
	linux-image-rt-amd64 linux-headers-rt-amd64
	linux-image-6.12-rt-amd64 linux-headers-6.12-rt-amd64 debootstrap
	qemu-system-x86 busybox-static sparse cpio xz-utils kmod
	bc bison flex libelf-dev libssl-dev dwarves
	spin trinity python3-docutils dkms man-db
	clang libbpf-dev zlib1g-dev libzstd-dev
	libdbus-1-dev libsystemd-dev pkg-config dbus-bin systemd libglib2.0-bin python3-dbus
	python3-gi dbus-broker
)

BUS1_CACHE=${BUS1_CACHE:-/var/tmp/bus1-cache}
SRC_TAR=/usr/src/linux-source-6.1.tar.xz
SRC_DIR=$BUS1_CACHE/linux-source-6.1

quiet=0
case "${1:-}" in
--quiet) quiet=1 ;;
"") ;;
*) echo "usage: $0 [--quiet]" >&2; exit 2 ;;
esac

say() { [ "$quiet" = 1 ] || echo "bus1-deps: $*"; }
die() { echo "bus1-deps: $*" >&2; exit 1; }

# --- 1. packages -------------------------------------------------------------
missing=()
if command -v dpkg-query >/dev/null && [ -e /etc/debian_version ]; then
	declare -A have=()
	while read -r status pkg; do
		[ "$status" = ii ] && have[$pkg]=1
	done < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
		"${PACKAGES[@]}" 2>/dev/null || true)
	for p in "${PACKAGES[@]}"; do
		[ -n "${have[$p]:-}" ] || missing+=("$p")
	done
else
	die "this is not a Debian system; install the equivalents of:" \
	    "${PACKAGES[*]}"
fi

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		die "missing Debian packages: ${missing[*]}" \
		    "(run as root: apt-get install ${missing[*]})"
	fi
	echo "bus1-deps: installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# The kernel images are booted by the rig with its own busybox
	# initramfs; generating Debian's initrd for each of them took minutes
	# of a CI run. INITRD=No makes initramfs-tools' kernel hook skip it.
	export INITRD=No
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- 2. linux-source-6.1 tree ------------------------------------------------
# A finished tree carries .bus1-stamp (size+mtime of the tarball it came
# from); a newer linux-source-6.1 package triggers a fresh extraction. A tree
# without stamp (extracted by hand) is accepted if it has the files we use.
tar_stamp() { stat -c '%s %Y' "$SRC_TAR"; }

tree_ok() {
	[ -f "$SRC_DIR/tools/testing/selftests/kselftest_harness.h" ] &&
		[ -f "$SRC_DIR/scripts/checkpatch.pl" ] || return 1
	[ -f "$SRC_DIR/.bus1-stamp" ] || return 0
	[ "$(cat "$SRC_DIR/.bus1-stamp")" = "$(tar_stamp)" ]
}

[ -f "$SRC_TAR" ] || die "$SRC_TAR missing (package linux-source-6.1)"
if ! tree_ok; then
	mkdir -p "$BUS1_CACHE"
	exec 9>"$BUS1_CACHE/.linux-source.lock"
	flock 9
	if ! tree_ok; then
		say "extracting $SRC_TAR into $SRC_DIR (takes ~20 s)"
		tmp=$(mktemp -d "$BUS1_CACHE/.linux-source.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		tar -C "$tmp" -xf "$SRC_TAR"
		[ -d "$tmp/linux-source-6.1" ] ||
			die "$SRC_TAR has no linux-source-6.1/ directory"
		tar_stamp >"$tmp/linux-source-6.1/.bus1-stamp"
		if [ -e "$SRC_DIR" ]; then
			mv "$SRC_DIR" "$tmp/old"
		fi
		mv "$tmp/linux-source-6.1" "$SRC_DIR"
	fi
	flock -u 9
fi
say "all dependencies present"
