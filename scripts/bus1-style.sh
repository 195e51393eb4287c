#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bus1-style.sh - `make style`: checkpatch.pl --strict (from the Debian
# linux-source-6.1 tree) on every tracked *.c/*.h under ipc/ include/ tools/
# samples/. Prints every finding and a summary; exits non-zero on any error,
# warning or check. Nothing is skipped; the only exceptions are the explicit
# per-file ignores below.
set -euo pipefail

cd "$(dirname "$0")/.."
"$PWD/scripts/bus1-deps.sh" --quiet
BUS1_CACHE=${BUS1_CACHE:-/var/tmp/bus1-cache}
CHECKPATCH=$BUS1_CACHE/linux-source-6.1/scripts/checkpatch.pl

# path glob -> checkpatch types ignored there (comma-separated), with reason.
declare -A IGNORE=(
	# The one compat header must compare LINUX_VERSION_CODE (6.1 vs 6.12);
	# checkpatch also reads the macro as a constant on the left.
	["ipc/bus1/compat.h"]="LINUX_VERSION_CODE,CONSTANT_COMPARISON"
	# TRACE_EVENT() definitions are laid out like every header under
	# include/trace/events/, which checkpatch does not understand.
	["ipc/bus1/trace.h"]="PARENTHESIS_ALIGNMENT,OPEN_ENDED_LINE"
	# Self-tests bail out of the test function on the first failed check,
	# as WireGuard's do.
	["ipc/bus1/selftest/*"]="MACRO_WITH_FLOW_CONTROL"
	# Userspace has no __printf/__packed/__aligned... (they would have to
	# be defined with the very __attribute__ checkpatch objects to).
	["tools/*"]="PREFER_DEFINED_ATTRIBUTE_MACRO"
	["samples/*"]="PREFER_DEFINED_ATTRIBUTE_MACRO"
	# libdbus's types are spelt DBusMessage, DBusConnection, ...
	["samples/bus1/dbus-*"]="CAMELCASE"
	["samples/bus1/test-dbus-*"]="CAMELCASE"
	# sd-bus's cookies are uint64_t * in its API (sd_bus_send(), ...).
	["samples/bus1/dbus-sdpump-bench.c"]="PREFER_KERNEL_TYPES"
	["samples/bus1/dbus-sd-split.c"]="PREFER_KERNEL_TYPES"
	# ... and libbus1-dbus, its messages sd-bus's, with its users
	["samples/bus1/dbus-native*"]="PREFER_KERNEL_TYPES"
	["samples/bus1/dbus-test.h"]="PREFER_KERNEL_TYPES"
	["samples/bus1/test-dbus-native.c"]="PREFER_KERNEL_TYPES"
	["samples/bus1/test-dbus-policy.c"]="PREFER_KERNEL_TYPES"
	["samples/bus1/test-dbus-native.h"]="PREFER_KERNEL_TYPES"
	["samples/bus1/dbus-policy-test-*"]="PREFER_KERNEL_TYPES"
	# The ELF types of <elf.h> are spelt Elf64_Ehdr/Elf64_Shdr.
	["tools/testing/selftests/bus1/bench/bench.c"]="CAMELCASE"
	# Tests that SKIP when the kernel lacks a system call check for ENOSYS,
	# the one meaning checkpatch allows but cannot tell apart.
	["tools/testing/selftests/bus1/test-hostile-fd.c"]="ENOSYS"
)
ignores_for() {		# comma-separated ignore types for file $1
	local pat types=
	for pat in "${!IGNORE[@]}"; do
		# shellcheck disable=SC2053
		[[ $1 == $pat ]] && types=${types:+$types,}${IGNORE[$pat]}
	done
	echo "$types"
}

mapfile -t files < <(git ls-files -- 'ipc/*.[ch]' 'include/*.[ch]' \
	'tools/*.[ch]' 'samples/*.[ch]')
[ ${#files[@]} -gt 0 ] || { echo "style: no files to check" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One checkpatch process per file, two at a time; each writes its own file.
check() {
	local f=$1 out=$2 ign=() types
	types=$(ignores_for "$f")
	[ -z "$types" ] || ign=(--ignore "$types")
	local rc=0
	"$CHECKPATCH" --strict --no-tree --terse --show-types --color=never \
		"${ign[@]}" -f "$f" >"$out" 2>&1 || rc=$?
	echo $rc >"$out.rc"
}
i=0
for f in "${files[@]}"; do
	check "$f" "$tmp/$i.out" &
	i=$((i + 1))
	[ $((i % 2)) != 0 ] || wait
done
wait

errors=0 warnings=0 checks=0 bad=0
for i in "${!files[@]}"; do
	out=$tmp/$i.out
	rc=$(cat "$out.rc")
	# exit 0: clean (terse mode prints nothing); 1: findings and a total
	[ "$rc" = 0 ] && continue
	if [ "$rc" != 1 ] || ! grep -q '^total: ' "$out"; then
		cat "$out"
		echo "style: checkpatch failed on ${files[$i]}"
		bad=$((bad + 1)) errors=$((errors + 1))
		continue
	fi
	grep -v '^total: ' "$out"
	read -r e w c < <(sed -n \
		's/^total: \([0-9]*\) errors*, \([0-9]*\) warnings*, \([0-9]*\) checks*.*/\1 \2 \3/p' \
		"$out")
	errors=$((errors + e)) warnings=$((warnings + w)) checks=$((checks + c))
	[ $((e + w + c)) = 0 ] || bad=$((bad + 1))
done

for f in "${!IGNORE[@]}"; do
	echo "style: note: $f checked with --ignore ${IGNORE[$f]}"
done | sort
echo "style: ${#files[@]} files, $bad with findings:" \
	"$errors errors, $warnings warnings, $checks checks"
[ $((errors + warnings + checks)) = 0 ]
