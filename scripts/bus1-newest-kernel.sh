#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bus1-newest-kernel.sh [--refresh] - provide Debian's newest stock amd64
# kernel for the test rig (`make check KERNELS=newest`), and print
#   RELEASE=<uname -r of that kernel>
#   SUITE=<suite it came from>          trixie-backports or sid
#   VERSION=<Debian version of its linux-image-amd64>
#   IMAGE=<vmlinuz on the host>
#   CHROOT=<chroot the module must be built in>
#   KDIR=<kernel build dir, a path inside CHROOT>
#   MODROOT=<root of the unpacked image packages, for modprobe -d>
#
# The newest kernels live in trixie-backports and sid, whose headers need a
# newer glibc/gcc than the bookworm host has. So the headers go into a trixie
# chroot ($BUS1_CACHE/trixie-chroot, made once by debootstrap, stamped), the
# module is built there with trixie's gcc (vm.sh does that when given
# CHROOT), and only the image .deb is unpacked on the host. All of it is
# cached under $BUS1_CACHE (default /var/tmp/bus1-cache), nothing in the
# repository.
#
# Which kernel: apt in the chroot knows trixie, trixie-backports and sid; the
# candidate versions of the linux-image-amd64 meta package in trixie-backports
# and in sid are compared (dpkg version order) and the higher one wins; on a
# tie trixie-backports, because it is built for trixie and pulls nothing from
# sid into the chroot. The archive is asked again when the last choice is
# older than BUS1_NEWEST_MAX_AGE minutes (default 1440, one day) or with
# --refresh; if the archive cannot be reached then, the last choice stays.
# BUS1_NEWEST_SUITE=trixie-backports|sid forces the suite.
set -euo pipefail

BUS1_CACHE=${BUS1_CACHE:-/var/tmp/bus1-cache}
MIRROR=${BUS1_DEBIAN_MIRROR:-http://deb.debian.org/debian}
MAX_AGE=${BUS1_NEWEST_MAX_AGE:-1440}
CH=$BUS1_CACHE/trixie-chroot
NEW=$BUS1_CACHE/newest
export PATH=$PATH:/usr/sbin:/sbin

refresh=0
case "${1:-}" in
--refresh) refresh=1 ;;
"") ;;
*) echo "usage: $0 [--refresh]" >&2; exit 2 ;;
esac

say() { echo "bus1-newest-kernel: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap missing (make deps)"
mkdir -p "$NEW"
exec 9>"$BUS1_CACHE/.newest-kernel.lock"
flock 9

# Run a command in the chroot, with /proc and /dev, in a private mount
# namespace: the mounts vanish with it, even if we are killed.
in_chroot() {
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare --mount --propagation private /bin/sh -ec '
		ch=$1; shift
		mount -t proc proc "$ch/proc"
		mount --rbind /dev "$ch/dev"
		exec chroot "$ch" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"' sh "$CH" "$@"
}

# --- 1. the trixie chroot (once) ---------------------------------------------
if [ ! -f "$CH/.bus1-stamp" ]; then
	say "debootstrap trixie into $CH (about a minute)"
	rm -rf "$CH"
	tmp=$CH.tmp
	rm -rf "$tmp"
	debootstrap --variant=minbase trixie "$tmp" "$MIRROR" >"$NEW/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$NEW/debootstrap.log" >&2; die "debootstrap failed (log: $NEW/debootstrap.log)"; }
	cat >"$tmp/etc/apt/sources.list" <<-EOF
	deb $MIRROR trixie main
	deb $MIRROR trixie-backports main
	deb $MIRROR sid main
	EOF
	# sid only when asked for (apt-get -t sid); trixie stays the default.
	cat >"$tmp/etc/apt/preferences.d/bus1" <<-EOF
	Package: *
	Pin: release n=sid
	Pin-Priority: 50
	EOF
	mv "$tmp" "$CH"
	date -u >"$CH/.bus1-stamp"
	refresh=1
fi
cp /etc/resolv.conf "$CH/etc/resolv.conf" 2>/dev/null || true
# sid's Release file is valid for a week only, and the archive these machines
# see can be a frozen snapshot of it: apt would refuse it as expired.
printf '%s\n' 'APT::Install-Recommends "false";' \
	'Acquire::Check-Valid-Until "false";' >"$CH/etc/apt/apt.conf.d/90bus1"

# --- 2. which kernel ---------------------------------------------------------
# candidate <suite>: version of linux-image-amd64 in that suite
candidate() {
	in_chroot apt-cache madison linux-image-amd64 |
		awk -F' *[|] *' -v s="$1" '$3 ~ " " s "/main " { print $2; exit }'
}

CHOICE=$NEW/choice
# a forced suite other than the cached choice's asks the archive again
if [ -f "$CHOICE" ] && [ -n "${BUS1_NEWEST_SUITE:-}" ]; then
	read -r _ suite _ <"$CHOICE"
	[ "$suite" = "$BUS1_NEWEST_SUITE" ] || refresh=1
fi
if [ -f "$CHOICE" ] && [ -z "$(find "$CHOICE" -mmin +"$MAX_AGE")" ] &&
   [ $refresh = 0 ]; then
	:
elif ! in_chroot apt-get update -q >"$NEW/apt-update.log" 2>&1; then
	[ -f "$CHOICE" ] || { tail -n 20 "$NEW/apt-update.log" >&2; die "apt-get update failed in $CH"; }
	say "archive not reachable, keeping the last choice ($(cat "$CHOICE"))"
else
	bpo=$(candidate trixie-backports) sid=$(candidate sid)
	case ${BUS1_NEWEST_SUITE:-} in
	trixie-backports) sid= ;;
	sid) bpo= ;;
	esac
	[ -n "$bpo$sid" ] || die "no linux-image-amd64 in trixie-backports or sid"
	if [ -z "$sid" ] || { [ -n "$bpo" ] && dpkg --compare-versions "$bpo" ge "$sid"; }; then
		suite=trixie-backports ver=$bpo
	else
		suite=sid ver=$sid
	fi
	# the meta package depends on the ABI-named image package
	pkg=$(in_chroot apt-cache show "linux-image-amd64=$ver" |
		sed -n 's/^Depends: .*\(linux-image-[0-9][^ ,]*-amd64\).*/\1/p' | head -n 1)
	[ -n "$pkg" ] || die "linux-image-amd64=$ver depends on no linux-image-*"
	echo "${pkg#linux-image-} $suite $ver" >"$CHOICE.tmp"
	mv "$CHOICE.tmp" "$CHOICE"
	say "newest: ${pkg#linux-image-} from $suite (trixie-backports ${bpo:-none}, sid ${sid:-none})"
fi
read -r REL SUITE VER <"$CHOICE"

# --- 3. headers in the chroot, image on the host -----------------------------
KDIR=/usr/src/linux-headers-$REL
if [ ! -f "$CH$KDIR/Module.symvers" ]; then
	say "installing linux-headers-$REL from $SUITE into the chroot"
	in_chroot apt-get install -y -q -t "$SUITE" "linux-headers-$REL" \
		make binutils >"$NEW/apt-install.log" 2>&1 ||
		{ tail -n 20 "$NEW/apt-install.log" >&2; die "installing linux-headers-$REL failed"; }
fi
IMGROOT=$NEW/$REL
if [ ! -f "$IMGROOT/.bus1-stamp" ]; then
	say "fetching linux-image-$REL"
	rm -rf "$IMGROOT" "$IMGROOT.tmp" "$CH/tmp/bus1-image"
	mkdir -p "$CH/tmp/bus1-image"
	# Since 7.x Debian's linux-image-<release> is nearly empty and depends
	# on linux-binary-<release> (vmlinuz, config, System.map) and
	# linux-modules-<release>. The rig boots an initramfs and needs no
	# module of the image (serial, devtmpfs, tmpfs are built in), so the
	# ~100 MB of modules are not fetched; bus1.ko needs none either.
	pkgs="linux-image-$REL"
	deps=$(in_chroot apt-cache show "linux-image-$REL" | sed -n 's/^Depends: //p')
	case " $deps" in
	*" linux-binary-$REL "*) pkgs="$pkgs linux-binary-$REL" ;;
	esac
	in_chroot /bin/sh -c "cd /tmp/bus1-image && apt-get download -q -t $SUITE $pkgs" \
		>"$NEW/apt-download.log" 2>&1 ||
		{ tail -n 20 "$NEW/apt-download.log" >&2; die "downloading linux-image-$REL failed"; }
	mkdir -p "$IMGROOT.tmp"
	for f in "$CH"/tmp/bus1-image/*.deb; do
		dpkg-deb -x "$f" "$IMGROOT.tmp"
	done
	rm -rf "$CH/tmp/bus1-image"
	# (7.x ships it as /usr/lib/modules/<release>/vmlinuz, before /boot)
	img=$(find "$IMGROOT.tmp" -path "*/modules/$REL/vmlinuz" -o \
		-path "*/boot/vmlinuz-$REL" | head -n 1)
	[ -n "$img" ] || die "no vmlinuz in $pkgs"
	ln -s "${img#"$IMGROOT.tmp"/}" "$IMGROOT.tmp/vmlinuz"
	date -u >"$IMGROOT.tmp/.bus1-stamp"
	mv "$IMGROOT.tmp" "$IMGROOT"
fi

echo "RELEASE=$REL"
echo "SUITE=$SUITE"
echo "VERSION=$VER"
echo "IMAGE=$IMGROOT/vmlinuz"
echo "CHROOT=$CH"
echo "KDIR=$KDIR"
echo "MODROOT=$IMGROOT"
