#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bus1-install.sh - install, uninstall and DKMS-register bus1.
#
#   scripts/bus1-install.sh install       (make install)
#   scripts/bus1-install.sh uninstall     (make uninstall)
#   scripts/bus1-install.sh dkms-install  (make dkms-install)
#   scripts/bus1-install.sh dkms-remove
#
# Environment:
#   DESTDIR   staging root (default: empty = the live system)
#   PREFIX    userspace prefix (default /usr/local); LIBDIR, INCLUDEDIR,
#             MANDIR default to $PREFIX/lib, $PREFIX/include,
#             $PREFIX/share/man
#   KVER      kernel release to build for (default: uname -r, or the kernel
#             of KDIR); KDIR kernel build tree (default /lib/modules/$KVER/build,
#             else the newest installed /lib/modules/*/build)
#   UDEVDIR   udev rules directory (default /lib/udev/rules.d)
#
# dkms-install only:
#   KVERS             kernels to build for (default: KVER, else the running
#                     kernel if its headers exist, else every kernel in
#                     /lib/modules with a build tree)
#   DKMS_SOURCE_TREE  where the sources are copied (default /usr/src)
#   DKMS_TREE         dkms tree (default: dkms' own, /var/lib/dkms); a
#                     scratch tree also holds the module-signing key
#   DKMS_STEPS        dkms actions (default "add build install")
#
# `install` records every file it creates in
# $DESTDIR$PREFIX/share/bus1/install-manifest; `uninstall` removes exactly
# those files and nothing else.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
PREFIX=${PREFIX%/}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
MANDIR=${MANDIR:-$PREFIX/share/man}
UDEVDIR=${UDEVDIR:-/lib/udev/rules.d}
MANIFEST_DIR=$PREFIX/share/bus1
MANIFEST=$MANIFEST_DIR/install-manifest
MAKE=${MAKE:-make}

INSTALLED=()

msg() { printf 'bus1-install: %s\n' "$*" >&2; }
warn() { printf 'bus1-install: warning: %s\n' "$*" >&2; }
die() { printf 'bus1-install: error: %s\n' "$*" >&2; exit 1; }

usage() {
	sed -n '4,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

pkg_version() {
	sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' \
		"$REPO/dkms.conf"
}

# install_file MODE SRC DST: DST is the path on the target system
install_file() {
	install -D -m "$1" "$2" "$DESTDIR$3"
	INSTALLED+=("$3")
	msg "installed $3"
}

# install_link TARGET DST: relative symlink DST -> TARGET
install_link() {
	mkdir -p "$(dirname "$DESTDIR$2")"
	ln -sfn "$1" "$DESTDIR$2"
	INSTALLED+=("$2")
	msg "installed $2 -> $1"
}

# The release a kernel build tree builds modules for (its vermagic); not
# include/config/kernel.release, which Debian sets to the upstream version.
kernel_release() {
	local f=$1/include/generated/utsrelease.h

	[[ -r $f ]] || die "$1 is not a prepared kernel build tree"
	sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$f"
}

# Sets KVER and KDIR.
resolve_kernel() {
	if [[ -n ${KDIR:-} ]]; then
		[[ -d $KDIR ]] || die "KDIR=$KDIR does not exist"
		KVER=${KVER:-$(kernel_release "$KDIR")}
	elif [[ -n ${KVER:-} ]]; then
		KDIR=/lib/modules/$KVER/build
		[[ -d $KDIR ]] ||
			die "no headers for $KVER ($KDIR); set KDIR"
	else
		KVER=$(uname -r)
		KDIR=/lib/modules/$KVER/build
		if [[ ! -d $KDIR ]]; then
			KDIR=$(find /lib/modules -mindepth 2 -maxdepth 2 \
				-name build 2>/dev/null | sort -V | tail -n 1)
			[[ -n $KDIR ]] ||
				die "no kernel headers found; set KVER/KDIR"
			KVER=$(kernel_release "$KDIR")
			warn "running kernel $(uname -r) has no headers; using $KVER"
		fi
	fi
	export KVER KDIR
}

install_module() {
	local ko=$REPO/ipc/bus1/bus1.ko vermagic

	resolve_kernel
	msg "building bus1.ko for $KVER ($KDIR)"
	"$MAKE" -C "$REPO" module KDIR="$KDIR" KVER="$KVER" >&2
	[[ -f $ko ]] || die "build did not produce $ko"
	vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null || true)
	if [[ -n $vermagic && ${vermagic%% *} != "$KVER" ]]; then
		die "$ko was built for ${vermagic%% *}, not $KVER"
	fi
	install_file 0644 "$ko" "/lib/modules/$KVER/updates/bus1.ko"
}

# libbus1 installs itself (tools/lib/bus1 `make install`) into a staging
# directory; every file and symlink found there is copied to the target and
# recorded in the manifest.
install_lib() {
	local lib=$REPO/tools/lib/bus1 stage f mode

	if [[ ! -f $lib/Makefile ]]; then
		warn "tools/lib/bus1 has no Makefile: libbus1 not installed"
		return 0
	fi
	stage=$(mktemp -d)
	if ! "$MAKE" -C "$lib" install DESTDIR="$stage" PREFIX="$PREFIX" \
			LIBDIR="$LIBDIR" INCLUDEDIR="$INCLUDEDIR" >&2; then
		rm -rf "$stage"
		warn "tools/lib/bus1 does not build: libbus1 not installed"
		return 0
	fi
	# the library's bus1.pc may be left over from a build with another
	# PREFIX: make its paths those of this installation
	while IFS= read -r f; do
		sed -i -e "s|^prefix=.*|prefix=$PREFIX|" \
			-e "s|^libdir=/.*|libdir=$LIBDIR|" \
			-e "s|^includedir=/.*|includedir=$INCLUDEDIR|" "$f"
	done < <(find "$stage" -name '*.pc' -type f)
	while IFS= read -r f; do
		if [[ -L $stage$f ]]; then
			install_link "$(readlink "$stage$f")" "$f"
		else
			mode=$(stat -c %a "$stage$f")
			install_file "$mode" "$stage$f" "$f"
		fi
	done < <(cd "$stage" && find . \( -type f -o -type l \) |
		sed 's|^\.||' | sort)
	rm -rf "$stage"
}

install_man() {
	local page

	if ! command -v rst2man >/dev/null; then
		warn "rst2man missing (python3-docutils): man pages not installed"
		return 0
	fi
	"$MAKE" -C "$REPO/Documentation/bus1" man >&2
	for page in "$REPO"/Documentation/bus1/out/*.7; do
		[[ -f $page ]] || continue
		install_file 0644 "$page" "$MANDIR/man7/$(basename "$page")"
	done
}

# Merges INSTALLED into the manifest; runs on exit, so a failed install can
# still be undone by `uninstall`.
write_manifest() {
	local m=$DESTDIR$MANIFEST old=()

	[[ ${#INSTALLED[@]} -gt 0 ]] || return 0

	if [[ -f $m ]]; then
		mapfile -t old <"$m"
	fi
	mkdir -p "$(dirname "$m")"
	printf '%s\n' "${old[@]}" "${INSTALLED[@]}" | sed '/^$/d' |
		sort -u >"$m.tmp"
	mv "$m.tmp" "$m"
	msg "manifest: $MANIFEST ($(wc -l <"$m") files)"
}

do_install() {
	trap write_manifest EXIT
	install_module
	install_file 0644 "$REPO/include/uapi/linux/bus1.h" \
		"$INCLUDEDIR/linux/bus1.h"
	install_lib
	install_man
	install_file 0644 "$REPO/udev/60-bus1.rules" "$UDEVDIR/60-bus1.rules"
	write_manifest
	INSTALLED=()

	if [[ -z $DESTDIR ]]; then
		depmod -a "$KVER"
		if [[ " ${INSTALLED[*]} " == *" $LIBDIR/libbus1.so"* ]]; then
			ldconfig || warn "ldconfig failed"
		fi
		if command -v udevadm >/dev/null; then
			udevadm control --reload 2>/dev/null || true
		fi
	else
		msg "DESTDIR set: skipping depmod/ldconfig (run depmod -a $KVER on the target)"
	fi
}

do_uninstall() {
	local m=$DESTDIR$MANIFEST path kvers=() k

	[[ -f $m ]] || die "no manifest at $m: nothing installed with this DESTDIR/PREFIX"
	while IFS= read -r path; do
		if [[ $path != /* || $path == *..* ]]; then
			warn "ignoring bad manifest entry '$path'"
			continue
		fi
		if [[ -L $DESTDIR$path || -f $DESTDIR$path ]]; then
			rm -f "$DESTDIR$path"
			msg "removed $path"
		fi
		if [[ $path =~ ^/lib/modules/([^/]+)/updates/bus1\.ko$ ]]; then
			kvers+=("${BASH_REMATCH[1]}")
		fi
	done <"$m"
	rm -f "$m"
	rmdir "$DESTDIR$MANIFEST_DIR" 2>/dev/null || true

	if [[ -z $DESTDIR ]]; then
		for k in "${kvers[@]}"; do
			depmod -a "$k" || warn "depmod -a $k failed"
		done
		ldconfig 2>/dev/null || true
	fi
}

# fills the caller's args array with the dkms tree options
dkms_args() {
	if [[ -n ${DKMS_TREE:-} ]]; then
		mkdir -p "$DKMS_TREE"
		args+=(--dkmstree "$DKMS_TREE")
		# a scratch tree also gets its own module-signing key, so
		# dkms does not create one in /var/lib/dkms
		export mok_signing_key=${mok_signing_key:-$DKMS_TREE/mok.key}
		export mok_certificate=${mok_certificate:-$DKMS_TREE/mok.pub}
	fi
	if [[ -n ${DKMS_SOURCE_TREE:-} ]]; then
		args+=(--sourcetree "$DKMS_SOURCE_TREE")
	fi
}

dkms_kernels() {
	local d

	if [[ -n ${KVERS:-} ]]; then
		echo "$KVERS"
	elif [[ -n ${KVER:-} ]]; then
		echo "$KVER"
	elif [[ -d /lib/modules/$(uname -r)/build ]]; then
		uname -r
	else
		for d in /lib/modules/*/build; do
			if [[ -d $d ]]; then
				basename "$(dirname "$d")"
			fi
		done
	fi
}

do_dkms_install() {
	local ver src_tree dest f k args=() kernels
	local steps=${DKMS_STEPS:-add build install}

	command -v dkms >/dev/null || die "dkms is not installed"
	ver=$(pkg_version)
	[[ -n $ver ]] || die "no PACKAGE_VERSION in dkms.conf"
	src_tree=${DKMS_SOURCE_TREE:-/usr/src}
	dest=$src_tree/bus1-$ver
	dkms_args

	# re-registering the same version replaces it
	if [[ -n $(dkms "${args[@]}" status -m bus1 -v "$ver" 2>/dev/null) ]]
	then
		msg "bus1/$ver already registered with dkms: removing it first"
		dkms "${args[@]}" remove -m bus1 -v "$ver" --all >&2
	fi

	msg "copying sources to $dest"
	rm -rf "$dest"
	mkdir -p "$dest"
	(
		cd "$REPO"
		cp Kbuild Makefile dkms.conf LICENSE "$dest/"
		find ipc include/uapi -type f \( -name '*.c' -o -name '*.h' \
			-o -name Kbuild -o -name Makefile \) \
			! -name '*.mod.c' | sort |
		while IFS= read -r f; do
			install -D -m 0644 "$f" "$dest/$f"
		done
	)

	read -r -a kernels <<<"$(dkms_kernels | tr '\n' ' ')"
	[[ ${#kernels[@]} -gt 0 ]] || die "no kernel with headers found"
	for f in $steps; do
		case $f in
		add)
			dkms "${args[@]}" add -m bus1 -v "$ver" >&2
			;;
		build | install)
			for k in "${kernels[@]}"; do
				dkms "${args[@]}" "$f" -m bus1 -v "$ver" \
					-k "$k" >&2
			done
			;;
		*)
			die "unknown DKMS_STEPS entry '$f'"
			;;
		esac
	done
	msg "dkms: bus1/$ver done ($steps) for ${kernels[*]}"
}

do_dkms_remove() {
	local ver args=() src_tree

	ver=$(pkg_version)
	src_tree=${DKMS_SOURCE_TREE:-/usr/src}
	dkms_args
	dkms "${args[@]}" remove -m bus1 -v "$ver" --all >&2 || true
	rm -rf "${src_tree:?}/bus1-$ver"
}

case ${1:-} in
install)
	do_install
	;;
uninstall)
	do_uninstall
	;;
dkms-install)
	do_dkms_install
	;;
dkms-remove)
	do_dkms_remove
	;;
*)
	usage
	;;
esac
