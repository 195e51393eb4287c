#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-abi.sh SO MAP HEADER - TAP test: the shared library exports exactly
# the symbols listed in the version script, each with the version of the
# node that lists it (LIBBUS1_1 for the original API; a later node such as
# LIBBUS1_2 only adds symbols and inherits the one before), the soname is
# libbus1.so.1, and every exported function is declared in the public
# header.
set -euo pipefail

so=$1 map=$2 hdr=$3
fail=0 n=0

ok() {
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fail=1
	fi
}

echo "TAP version 13"
echo "1..5"

exported=$(objdump -T "$so" | awk '$2 == "g" && $4 == ".text" { print $6 " " $7 }' | sort)
want=$(sed -n 's/^[[:space:]]*\(bus1_[a-z0-9_]*\);/\1/p' "$map" | sort)
got=$(echo "$exported" | awk '{ print $2 }' | sort)

ok "$([ "$got" = "$want" ] && echo 1)" "exported symbols match $map"
# "VERSION symbol" pairs as the map assigns them
want_ver=$(awk '/^LIBBUS1_[0-9_]+ *\{/ { node = $1 }
	/^[[:space:]]*bus1_[a-z0-9_]*;/ { s = $1; sub(/;$/, "", s); print node " " s }' "$map" | sort)
ok "$([ "$exported" = "$want_ver" ] && echo 1)" "every symbol has the version of its node in $map"
# the original API stays in LIBBUS1_1: nothing moved to a later node
orig=$(echo "$want_ver" | awk '$1 == "LIBBUS1_1"' | wc -l)
ok "$([ "$orig" -ge 24 ] && echo 1)" "LIBBUS1_1 still holds the 24 original symbols (has $orig)"
soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
ok "$([ "$soname" = "libbus1.so.1" ] && echo 1)" "soname is libbus1.so.1 (got $soname)"
declared=1
for s in $want; do
	grep -q "\\b$s(" "$hdr" || { echo "# $s not declared in $hdr"; declared=0; }
done
ok $declared "every exported symbol is declared in the header"
exit $fail
