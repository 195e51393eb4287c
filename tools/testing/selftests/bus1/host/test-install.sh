#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test: `make install DESTDIR=` installs exactly the expected files
# (module, uapi header, libbus1 + bus1.pc, man page, udev rule, manifest),
# they are usable (module vermagic, header + library link and run, pkg-config
# paths, udev rule), PREFIX= is honoured, and `make uninstall DESTDIR=`
# removes every file again, leaving only empty directories.
#
# The tree is copied to a scratch directory first, so the build does not
# race with builds in the working tree. Prints TAP, exits non-zero on
# failure.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

TAP_DIAG=$TMP/diag
# shellcheck source=SCRIPTDIR/tap.sh
. "$ROOT/tools/testing/selftests/bus1/host/tap.sh"
: >"$TAP_DIAG"

echo "TAP version 13"

if ! find /lib/modules -mindepth 2 -maxdepth 2 -name build 2>/dev/null |
		grep -q . && [[ -z ${KDIR:-} ]]; then
	echo "1..0 # SKIP no kernel headers installed (make deps)"
	exit 0
fi

# scratch copy of the sources, without build products
mkdir "$TMP/src"
tar -C "$ROOT" --exclude=.git --exclude=./build --exclude=out \
	--exclude=build --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
	-cf - . | tar -C "$TMP/src" -xf -
SRC=$TMP/src
have_lib=0
[[ -f $SRC/tools/lib/bus1/Makefile ]] && have_lib=1
have_man=0
command -v rst2man >/dev/null && have_man=1
# per PREFIX: install, file set, manifest, vermagic, udev rule, bus1.pc and
# a program against the library (with tools/lib/bus1), uninstall twice
tap_plan $((2 * (7 + 2 * have_lib)))

# install_and_check NAME PREFIX: install into $TMP/NAME with PREFIX
install_and_check() {
	local name=$1 prefix=$2 dest=$TMP/$1 f ko kver vm pc
	local -a expect

	if make -C "$SRC" install DESTDIR="$dest" PREFIX="$prefix" \
			>"$TMP/$name.log" 2>&1; then
		: >"$TMP/diag"
		ok "make install DESTDIR=... PREFIX=$prefix"
	else
		tail -n 30 "$TMP/$name.log" >"$TMP/diag"
		not_ok "make install DESTDIR=... PREFIX=$prefix"
		return 0
	fi

	# the expected set, as anchored regular expressions
	expect=(
		'/lib/modules/[^/]+/updates/bus1\.ko'
		"$prefix/include/linux/bus1\\.h"
		'/lib/udev/rules\.d/60-bus1\.rules'
		"$prefix/share/bus1/install-manifest"
	)
	if ((have_man)); then
		expect+=("$prefix/share/man/man7/bus1\\.7")
	fi
	if ((have_lib)); then
		expect+=(
			"$prefix/lib/libbus1\\.a"
			"$prefix/lib/libbus1\\.so"
			"$prefix/lib/libbus1\\.so\\.[0-9]+"
			"$prefix/lib/libbus1\\.so\\.[0-9]+\\.[0-9]+\\.[0-9]+"
			"$prefix/lib/pkgconfig/bus1\\.pc"
			"$prefix/include/bus1/[a-z0-9_]+\\.h"
		)
	fi
	(cd "$dest" && find . ! -type d | sed 's|^\.||' | sort) \
		>"$TMP/$name.files"
	sed 's/^/# installed: /' "$TMP/$name.files"
	: >"$TMP/diag"
	for f in "${expect[@]}"; do
		if [[ $(grep -cE "^$f\$" "$TMP/$name.files") -ne 1 ]]; then
			echo "expected exactly one file matching $f" >>"$TMP/diag"
		fi
	done
	while IFS= read -r f; do
		local hit=0 re
		for re in "${expect[@]}"; do
			[[ $f =~ ^$re$ ]] && hit=1
		done
		((hit)) || echo "unexpected file $f" >>"$TMP/diag"
	done <"$TMP/$name.files"
	check "PREFIX=$prefix: installed files are exactly the expected set"

	# manifest lists every installed file except itself
	: >"$TMP/diag"
	grep -vx "$prefix/share/bus1/install-manifest" "$TMP/$name.files" \
		>"$TMP/$name.want" || true
	if ! diff -u "$TMP/$name.want" \
			"$dest$prefix/share/bus1/install-manifest" \
			>"$TMP/diag" 2>&1; then
		echo "manifest differs from the installed files" >>"$TMP/diag"
	fi
	check "PREFIX=$prefix: manifest lists every installed file"

	# module: built for the kernel whose directory it is in
	: >"$TMP/diag"
	ko=$(grep -E '/updates/bus1\.ko$' "$TMP/$name.files" | head -n 1 ||
		true)
	kver=$(echo "$ko" | cut -d/ -f4)
	vm=$(modinfo -F vermagic "$dest$ko" 2>&1 || true)
	if [[ ${vm%% *} != "$kver" ]]; then
		echo "bus1.ko in $kver has vermagic '$vm'" >"$TMP/diag"
	fi
	if [[ $(modinfo -F name "$dest$ko" 2>/dev/null) != bus1 ]]; then
		echo "$ko is not the bus1 module" >>"$TMP/diag"
	fi
	check "PREFIX=$prefix: module vermagic matches /lib/modules/$kver"

	# udev rule
	: >"$TMP/diag"
	grep -qx 'KERNEL=="bus1", MODE="0666"' \
		"$dest/lib/udev/rules.d/60-bus1.rules" ||
		echo 'udev rule lacks KERNEL=="bus1", MODE="0666"' >"$TMP/diag"
	check "PREFIX=$prefix: udev rule"

	# the installed uapi header and library can be used
	if ((have_lib)); then
		: >"$TMP/diag"
		pc=$dest$prefix/lib/pkgconfig/bus1.pc
		grep -qx "prefix=$prefix" "$pc" ||
			echo "bus1.pc: prefix is not $prefix" >>"$TMP/diag"
		grep -qx "libdir=$prefix/lib" "$pc" ||
			grep -qx "libdir=\${prefix}/lib" "$pc" ||
			echo "bus1.pc: libdir is not $prefix/lib" >>"$TMP/diag"
		check "PREFIX=$prefix: bus1.pc paths"

		: >"$TMP/diag"
		{
			for f in "$dest$prefix"/include/bus1/*.h; do
				echo "#include <bus1/$(basename "$f")>"
			done
			echo '#include <linux/bus1.h>'
			echo 'int main(void) { return BUS1_FD_MAX != 256; }'
		} >"$TMP/$name.c"
		if ${CC:-gcc} -Wall -Wextra -Werror -o "$TMP/$name.bin" \
				-isystem "$dest$prefix/include" "$TMP/$name.c" \
				-L"$dest$prefix/lib" -Wl,--no-as-needed -lbus1 \
				>>"$TMP/diag" 2>&1 &&
			LD_LIBRARY_PATH=$dest$prefix/lib "$TMP/$name.bin" \
				>>"$TMP/diag" 2>&1 &&
			LD_LIBRARY_PATH=$dest$prefix/lib ldd "$TMP/$name.bin" \
				>"$TMP/$name.ldd" 2>&1 &&
			grep -q "$dest$prefix/lib/libbus1\\.so" "$TMP/$name.ldd"; then
			: >"$TMP/diag"
		else
			echo "build/run against installed headers+lib failed" \
				>>"$TMP/diag"
			cat "$TMP/$name.ldd" >>"$TMP/diag" 2>/dev/null || true
		fi
		check "PREFIX=$prefix: program builds against installed headers and libbus1.so, runs"
	fi

	# uninstall removes everything
	if make -C "$SRC" uninstall DESTDIR="$dest" PREFIX="$prefix" \
			>"$TMP/$name.ulog" 2>&1; then
		(cd "$dest" && find . ! -type d) >"$TMP/diag"
		check "PREFIX=$prefix: make uninstall leaves only empty directories"
	else
		tail -n 20 "$TMP/$name.ulog" >"$TMP/diag"
		not_ok "PREFIX=$prefix: make uninstall"
	fi

	# a second uninstall has no manifest and must fail
	if make -C "$SRC" uninstall DESTDIR="$dest" PREFIX="$prefix" \
			>"$TMP/$name.ulog2" 2>&1; then
		echo "second uninstall succeeded without a manifest" >"$TMP/diag"
		not_ok "PREFIX=$prefix: uninstall without manifest fails"
	else
		: >"$TMP/diag"
		ok "PREFIX=$prefix: uninstall without manifest fails"
	fi
}

install_and_check root-local /usr/local
install_and_check root-usr /usr

if ((!have_lib)); then
	echo "# tools/lib/bus1 not present: libbus1 files not expected"
fi
if ((!have_man)); then
	echo "# rst2man missing: man page not expected (make deps)"
fi
tap_end
