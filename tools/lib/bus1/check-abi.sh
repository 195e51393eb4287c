#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-abi.sh SO MAP HEADER - TAP test: the shared library exports exactly
# the symbols listed in the version script, all with version LIBBUS1_1, the
# soname is libbus1.so.1, and every exported function is declared in the
# public header.
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
echo "1..4"

exported=$(objdump -T "$so" | awk '$2 == "g" && $4 == ".text" { print $6 " " $7 }' | sort)
want=$(sed -n 's/^[[:space:]]*\(bus1_[a-z0-9_]*\);/\1/p' "$map" | sort)
got=$(echo "$exported" | awk '{ print $2 }' | sort)

ok "$([ "$got" = "$want" ] && echo 1)" "exported symbols match $map"
ok "$([ -z "$(echo "$exported" | awk '$1 != "LIBBUS1_1"')" ] && echo 1)" "all symbols versioned LIBBUS1_1"
soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
ok "$([ "$soname" = "libbus1.so.1" ] && echo 1)" "soname is libbus1.so.1 (got $soname)"
declared=1
for s in $want; do
	grep -q "\\b$s(" "$hdr" || { echo "# $s not declared in $hdr"; declared=0; }
done
ok $declared "every exported symbol is declared in the header"
exit $fail
