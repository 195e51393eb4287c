#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh - build (or reuse) a bus1 debug kernel.
#
# Builds Debian's linux-source-$SRC_VERSION with `tinyconfig` + the config
# fragment(s) next to this script (*.config) + `olddefconfig`, checks that
# every option of the fragments took effect in the final .config, and prints
# exactly two lines on stdout:
#	IMAGE=<path to bzImage>
#	KDIR=<kernel build dir, for make -C KDIR M=... modules>
# Everything else goes to stderr. The build lives in
# ${BUS1_CACHE:-/var/tmp/bus1-cache}/<flavour>-kernel/ for 6.1 (the paths CI
# caches already hold) and <flavour>-kernel-<version>/ for other versions,
# and is reused as long as the fragments (and the kernel source) did not
# change; a changed fragment reconfigures and rebuilds incrementally. The
# source tree is $BUS1_CACHE/linux-source-<version>, extracted from
# /usr/src/linux-source-<version>.tar.xz if missing.
#
# Knobs: BUS1_CACHE, SRC_VERSION (default 6.1; 6.12 is the other one make
# check-debug builds), JOBS (default 2), NICE (default 10), FORCE=1 (rebuild
# even if the cache looks valid), FLAVOR (default "debug").
#
# Flavours: FLAVOR=debug (default) is the KASAN kernel described above, from
# every *.config here except the flavour overlays (kcsan.config). FLAVOR=kcsan
# builds into $BUS1_CACHE/kcsan-kernel/ from bus1-debug.config minus its
# KASAN/KFENCE lines (KCSAN excludes KASAN) plus the overlay kcsan.config.
#
# A fragment line preceded by a line "# optional" is merged but not checked:
# the option does not exist on every version (CONFIG_DEBUG_CREDENTIALS went
# away in 6.8), and a typo elsewhere must still fail the build.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${BUS1_CACHE:-/var/tmp/bus1-cache}
SRC_VERSION=${SRC_VERSION:-6.1}
SRC=$CACHE/linux-source-$SRC_VERSION
TARBALL=/usr/src/linux-source-$SRC_VERSION.tar.xz
FLAVOR=${FLAVOR:-debug}
case $FLAVOR in
debug | kcsan) ;;
*)	echo "build-kernel: ERROR: unknown FLAVOR=$FLAVOR (debug, kcsan)" >&2; exit 1 ;;
esac
case $SRC_VERSION in
6.1)	OUT=$CACHE/$FLAVOR-kernel ;;
*)	OUT=$CACHE/$FLAVOR-kernel-$SRC_VERSION ;;
esac
BUILD=$OUT/build
LOG=$OUT/build.log
STAMP=$OUT/stamp
JOBS=${JOBS:-2}
NICE=${NICE:-10}

# Called from make (check-debug): the caller's make flags must not leak
# into the kernel build or into the version query below.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

log() { echo "build-kernel: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mapfile -t FRAGMENTS < <(find "$HERE" -maxdepth 1 -name '*.config' \
	! -name kcsan.config | sort)
[ ${#FRAGMENTS[@]} -gt 0 ] || die "no config fragment (*.config) in $HERE"

mkdir -p "$OUT"
exec 8>"$OUT/lock"
if ! flock -n 8; then
	log "waiting for another build-kernel.sh ($OUT/lock)"
	flock 8
fi
if [ "$FLAVOR" = kcsan ]; then
	[ -f "$HERE/kcsan.config" ] || die "no $HERE/kcsan.config"
	# the debug fragments minus KASAN/KFENCE, then the KCSAN overlay
	base=$OUT/bus1-debug-nokasan.config
	grep -hvE '^(# )?CONFIG_(KASAN|KFENCE)[A-Z0-9_]*[= ]' "${FRAGMENTS[@]}" >"$base.tmp"
	mv "$base.tmp" "$base"
	FRAGMENTS=("$base" "$HERE/kcsan.config")
fi

# --- source -------------------------------------------------------------------
if [ ! -f "$SRC/Makefile" ] || [ ! -x "$SRC/scripts/kconfig/merge_config.sh" ]; then
	[ -f "$TARBALL" ] || die "$SRC missing and no $TARBALL (apt-get install linux-source-$SRC_VERSION)"
	log "extracting $TARBALL to $SRC"
	tmp=$(mktemp -d "$CACHE/.src.XXXXXX")
	tar -C "$tmp" -xJf "$TARBALL"
	[ -f "$tmp/linux-source-$SRC_VERSION/Makefile" ] || die "unexpected layout of $TARBALL"
	rm -rf "$SRC"
	mv "$tmp/linux-source-$SRC_VERSION" "$SRC"
	rmdir "$tmp"
fi
for tool in bc bison flex gcc make perl; do
	command -v "$tool" >/dev/null || die "$tool missing (scripts/bus1-deps.sh installs the kernel build deps)"
done

kver=$(make -s --no-print-directory -C "$SRC" kernelversion 2>/dev/null) ||
	die "cannot read kernel version of $SRC"
want=$( { echo "kernel $kver"; cat "${FRAGMENTS[@]}"; } | sha256sum | cut -d' ' -f1)
IMAGE=$BUILD/arch/x86/boot/bzImage

# check_config: every option of the fragments took effect in $BUILD/.config
# (but those after a "# optional" line)
check_config() {
	local frag line opt val bad=0 cfg=$BUILD/.config optional
	for frag in "${FRAGMENTS[@]}"; do
		optional=0
		while IFS= read -r line; do
			if [ "$optional" = 1 ]; then
				optional=0
				continue
			fi
			if [ "$line" = "# optional" ]; then
				optional=1
			elif [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
				opt=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
				if ! grep -qxF "$opt=$val" "$cfg"; then
					log "option did not take effect: $opt=$val" \
						"(.config: $(grep -E "^(# )?${opt}[= ]" "$cfg" || echo unset))"
					bad=1
				fi
			elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
				opt=${BASH_REMATCH[1]}
				if grep -q "^$opt=" "$cfg"; then
					log "option should be off: $(grep "^$opt=" "$cfg")"
					bad=1
				fi
			fi
		done <"$frag"
	done
	return $bad
}

have=$(cat "$STAMP" 2>/dev/null || true)
if [ "${FORCE:-0}" != 1 ] && [ "$have" = "$want" ] && [ -f "$IMAGE" ] &&
   [ -f "$BUILD/Module.symvers" ] && check_config; then
	log "cached $FLAVOR kernel $kver is up to date ($BUILD)"
else
	rm -f "$STAMP"
	mkdir -p "$BUILD"
	log "configuring $kver in $BUILD (tinyconfig + ${FRAGMENTS[*]##*/})"
	{
		make -C "$SRC" O="$BUILD" tinyconfig &&
		"$SRC/scripts/kconfig/merge_config.sh" -m -O "$BUILD" \
			"$BUILD/.config" "${FRAGMENTS[@]}" &&
		make -C "$SRC" O="$BUILD" olddefconfig
	} >"$LOG" 2>&1 || { tail -n 40 "$LOG" >&2; die "configuration failed (log: $LOG)"; }
	check_config || die "required options missing from $BUILD/.config (fix the fragment)"
	log "building bzImage + modules with -j$JOBS (nice $NICE; ~6+ min on 2 idle cores; log: $LOG)"
	start=$(date +%s)
	nice -n "$NICE" make -C "$SRC" O="$BUILD" -j"$JOBS" bzImage modules \
		>>"$LOG" 2>&1 || { tail -n 60 "$LOG" >&2; die "kernel build failed (log: $LOG)"; }
	[ -f "$IMAGE" ] || die "no $IMAGE after the build"
	[ -f "$BUILD/Module.symvers" ] || die "no Module.symvers after the build"
	log "built in $(( $(date +%s) - start )) s: $IMAGE ($(stat -c %s "$IMAGE") bytes)"
	echo "$want" >"$STAMP"
fi

echo "IMAGE=$IMAGE"
echo "KDIR=$BUILD"
