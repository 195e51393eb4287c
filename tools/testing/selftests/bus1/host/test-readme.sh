#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test: the C example in README.md compiles as shown, warning-free,
# against the uapi header of this tree (extracted from README.md itself).
set -euo pipefail

root=$(cd "$(dirname "$0")/../../../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "TAP version 13"
echo "1..2"
sed -n '/<!-- readme-example-begin -->/,/<!-- readme-example-end -->/p' \
	"$root/README.md" | sed '/^<!--/d; /^```/d' >"$tmp/example.c"
if [ "$(grep -c . "$tmp/example.c")" -ge 15 ]; then
	echo "ok 1 - README.md holds the example ($(wc -l <"$tmp/example.c") lines)"
else
	echo "not ok 1 - README.md example not found between the markers"
fi
if gcc -std=gnu11 -Wall -Wextra -Werror -I "$root/include/uapi" \
		-o "$tmp/example" "$tmp/example.c" 2>"$tmp/cc.log"; then
	echo "ok 2 - README.md example compiles (gcc -Wall -Wextra -Werror)"
	echo "# 2 passed, 0 failed"
else
	sed 's/^/# /' "$tmp/cc.log"
	echo "not ok 2 - README.md example compiles"
	echo "# 1 passed, 1 failed"
	exit 1
fi
