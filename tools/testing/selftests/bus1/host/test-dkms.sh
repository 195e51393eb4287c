#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test: `make dkms-install` (scripts/bus1-install.sh dkms-install)
# registers bus1/<version> from dkms.conf and `dkms build` succeeds for both
# Debian kernels (6.1 and 6.12), using a scratch dkms tree and source tree so
# the host's real dkms state (/var/lib/dkms, /usr/src) is left alone.
# Checks the copied source tree holds sources only, and that each built
# module has the right vermagic. Kernels: BUS1_DKMS_KERNELS (default: every
# kernel whose headers are installed, /lib/modules/*/build, found at run
# time: Debian bumps its kernel ABI names, so none is written down here).
# Prints TAP, exits non-zero on failure; skips when dkms is not installed.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)
installed_kernels() {
	local d
	for d in /lib/modules/*/build; do
		[[ -d $d ]] || continue
		d=${d%/build}
		echo "${d#/lib/modules/}"
	done
}
KERNELS=${BUS1_DKMS_KERNELS:-$(installed_kernels | sort -V | tr '\n' ' ')}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

TAP_DIAG=$TMP/diag
# shellcheck source=SCRIPTDIR/tap.sh
. "$ROOT/tools/testing/selftests/bus1/host/tap.sh"
: >"$TAP_DIAG"

echo "TAP version 13"
if ! command -v dkms >/dev/null; then
	echo "1..0 # SKIP dkms is not installed (make deps)"
	exit 0
fi

# the plan, first: dkms.conf, one per kernel (headers missing, or the
# module built for it), add + build, source tree, status; plus one when no
# kernel has headers at all
# shellcheck disable=SC2086 # one word per kernel
set -- $KERNELS
tap_plan $((4 + $# + ($# == 0)))

# dkms.conf has what DKMS needs
ver=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' \
	"$ROOT/dkms.conf")
for want in 'PACKAGE_NAME="bus1"' 'BUILT_MODULE_NAME\[0\]="bus1"' \
		'BUILT_MODULE_LOCATION\[0\]="ipc/bus1/"' \
		'DEST_MODULE_LOCATION\[0\]="/updates"' 'AUTOINSTALL="yes"' \
		'MAKE\[0\]="make -C \$\{kernel_source_dir\} M=.* modules"'; do
	grep -qE "^$want\$" "$ROOT/dkms.conf" ||
		echo "dkms.conf lacks $want" >>"$TMP/diag"
done
[[ $ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
	echo "dkms.conf: bad PACKAGE_VERSION '$ver'" >>"$TMP/diag"
check "dkms.conf describes bus1 $ver"

# kernels with headers (make deps installs Debian's 6.1 and 6.12 lines)
kvers=()
if [[ -z ${KERNELS// /} ]]; then
	echo "no /lib/modules/*/build: no kernel headers installed" >"$TMP/diag"
	not_ok "kernel headers installed"
fi
for k in $KERNELS; do
	if [[ -d /lib/modules/$k/build ]]; then
		kvers+=("$k")
	else
		echo "no headers for $k" >"$TMP/diag"
		not_ok "headers for $k installed"
	fi
done

# add + build through the install script, into scratch trees
state_before=$(ls -la /var/lib/dkms /usr/src 2>/dev/null || true)
if ((${#kvers[@]})) && DKMS_TREE="$TMP/dkms" DKMS_SOURCE_TREE="$TMP/src" \
		DKMS_STEPS="add build" KVERS="${kvers[*]}" \
		"$ROOT/scripts/bus1-install.sh" dkms-install \
		>"$TMP/dkms.log" 2>&1; then
	: >"$TMP/diag"
	ok "dkms add + build for ${kvers[*]}"
elif ((${#kvers[@]} == 0)); then
	echo "no kernel with headers to build for" >"$TMP/diag"
	not_ok "dkms add + build"
else
	tail -n 30 "$TMP/dkms.log" >"$TMP/diag"
	f=$TMP/dkms/bus1/$ver/build/make.log
	if [[ -f $f ]]; then
		tail -n 20 "$f" >>"$TMP/diag"
	fi
	not_ok "dkms add + build for ${kvers[*]}"
fi

# the registered source tree holds sources only
: >"$TMP/diag"
srcdir=$TMP/src/bus1-$ver
for f in dkms.conf Kbuild Makefile include/uapi/linux/bus1.h \
		ipc/bus1/Kbuild; do
	[[ -f $srcdir/$f ]] || echo "missing $f in $srcdir" >>"$TMP/diag"
done
if [[ -d $srcdir ]]; then
	find "$srcdir" -type f \( -name '*.o' -o -name '*.ko' \
		-o -name '*.cmd' -o -name '*.mod*' \) |
		sed 's/^/build product copied: /' >>"$TMP/diag"
fi
check "source tree bus1-$ver holds the sources only"

# each kernel got a module with its vermagic
for k in "${kvers[@]}"; do
	: >"$TMP/diag"
	ko=$(find "$TMP/dkms/bus1/$ver/$k" -name 'bus1.ko*' -type f \
		2>/dev/null | head -n 1 || true)
	if [[ -z $ko ]]; then
		echo "no bus1.ko* built for $k" >"$TMP/diag"
	else
		vm=$(modinfo -F vermagic "$ko" 2>&1 || true)
		[[ ${vm%% *} == "$k" ]] ||
			echo "$ko: vermagic '$vm'" >"$TMP/diag"
	fi
	check "dkms built bus1.ko for $k"
done

# dkms status reports it built, in the scratch tree only
: >"$TMP/diag"
status=$(dkms --dkmstree "$TMP/dkms" --sourcetree "$TMP/src" status \
	-m bus1 -v "$ver" 2>&1 || true)
for k in "${kvers[@]}"; do
	grep -q "$k.*built" <<<"$status" ||
		echo "dkms status lacks '$k ... built': $status" >>"$TMP/diag"
done
state_after=$(ls -la /var/lib/dkms /usr/src 2>/dev/null || true)
[[ $state_before == "$state_after" ]] ||
	echo "/var/lib/dkms or /usr/src changed" >>"$TMP/diag"
check "dkms status: built; host dkms state untouched"

tap_end
