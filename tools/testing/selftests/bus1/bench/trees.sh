#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# trees.sh - the unicast loop of several trees' bus1.ko in one icount VM:
# the method of the tricks table (Documentation/bus1/performance.rst), where
# each variant is the tree with one micro-optimisation replaced by the
# plain idiom.
#
#   trees.sh TREE [TREE...]
#
# Each TREE is a git revision of this repository (a branch, a commit), or
# REV+PATCH: the tree of REV with PATCH applied (`git apply`, any diff
# with a/ b/ paths under ipc/, include/, Kbuild or Makefile). PATCH is a
# file: an absolute path, else relative to the current directory, else to
# this directory, so the tricks table's variants are e.g.
# `main+variants/plain-spare.patch` (see variants/*.patch). A patch that
# does not apply stops the run before anything boots. A TREE's ipc/,
# include/, Kbuild and Makefile are built against Debian's 6.1
# kernel (the one `make bench` boots). One boot of that kernel with -smp 1
# -icount shift=0,sleep=off (debug/boot.sh) loads each module in turn and
# runs this tree's `bus1-bench-run --loop 20000 0` and `--loop 20000
# 1024` (SEND + RECV with RELEASE), two rounds, and prints the commit of
# each TREE, then one line per TREE: instructions per iteration at 0 B and
# 1 KiB, and the difference to the first TREE.
set -euo pipefail

[ $# -ge 1 ] ||
	{ echo "usage: $0 TREE [TREE...] (TREE: REV or REV+PATCH)" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../../../../.." && pwd)
KVER=$(cd /lib/modules && printf '%s\n' 6.1.*-amd64 | grep -v -- -rt- |
	sort -V | tail -n 1)
IMAGE=/boot/vmlinuz-$KVER
ITERS=${ITERS:-20000}

W=$(mktemp -d /tmp/bus1-trees.XXXXXX)
KEEP=${KEEP:-}
trap '[ -n "$KEEP" ] && cp "$W/console" "$KEEP"; rm -rf "$W"' EXIT
mkdir -p "$W/ko"
i=0
for tree in "$@"; do
	rev=$tree
	patch=
	# REV+PATCH, unless the whole argument is a revision
	if [[ $tree == *+* ]] &&
	   ! git -C "$TOP" rev-parse --verify -q "$tree^{commit}" >/dev/null; then
		rev=${tree%%+*}
		patch=${tree#*+}
		if [[ $patch != /* ]]; then
			if [[ -f $patch ]]; then
				patch=$PWD/$patch
			else
				patch=$HERE/$patch
			fi
		fi
		[[ -f $patch ]] ||
			{ echo "trees: no patch file '${tree#*+}'" >&2; exit 2; }
	fi
	commit=$(git -C "$TOP" rev-parse --verify -q "$rev^{commit}") ||
		{ echo "trees: no revision '$rev'" >&2; exit 2; }
	echo "tree $i: $tree = $(git -C "$TOP" rev-parse --short "$commit")" \
		"${patch:++ ${patch#"$TOP"/}}"
	mkdir -p "$W/src$i"
	git -C "$TOP" archive "$commit" ipc include Kbuild Makefile |
		tar -x -C "$W/src$i"
	if [[ -n $patch ]]; then
		(cd "$W/src$i" && git apply --whitespace=nowarn "$patch") ||
			{ echo "trees: $patch does not apply to $rev" >&2; exit 1; }
	fi
	make -s -C "/lib/modules/$KVER/build" M="$W/src$i" modules \
		>"$W/build$i.log" 2>&1 ||
		{ tail -n 30 "$W/build$i.log"; exit 1; }
	cp "$(find "$W/src$i" -name bus1.ko)" "$W/ko/bus1-$i.ko"
	i=$((i + 1))
done
make -s -C "$HERE" >/dev/null

cat >"$W/trees-run.sh" <<EOF
#!/bin/sh
for round in 1 2; do
	i=0
	while [ -e /tests/ko/bus1-\$i.ko ]; do
		rmmod bus1 || exit 1
		insmod /tests/ko/bus1-\$i.ko || exit 1
		for len in 0 1024; do
			/tests/bus1-bench-run --loop $ITERS \$len |
				sed -n "s/^loop: /tree \$i round \$round loop: /p"
		done
		i=\$((i + 1))
	done
done
EOF
chmod +x "$W/trees-run.sh"

QEMU_EXTRA="-icount shift=0,sleep=off" "$TOP/tools/testing/selftests/bus1/debug/boot.sh" \
	-s 1 -t 1800 -f "$HERE/out/bus1-bench-run" -f "$W/trees-run.sh" \
	-f "$W/ko" "$IMAGE" "$W/ko/bus1-0.ko" /tests/trees-run.sh \
	>"$W/console" 2>&1 || { tail -n 40 "$W/console"; exit 1; }

# "tree I round R loop: LEN B, N iterations: X per iteration"
awk -v revs="$*" '
BEGIN {
	n = split(revs, rev, " ")
	w = 24
	for (t = 1; t <= n; t++)
		if (length(rev[t]) > w)
			w = length(rev[t])
}
/^tree [0-9]+ round [0-9]+ loop: / {
	t = $2; r = $4; len = $6; x = $(NF - 2)
	v[t, r, len] = x
}
END {
	for (t = 0; t < n; t++)
		for (r = 1; r <= 2; r++)
			if (!((t, r, 0) in v) || !((t, r, 1024) in v)) {
				printf "trees: no figure of %s, round %d\n", \
					rev[t + 1], r > "/dev/stderr"
				exit 1
			}
	printf "%-*s %10s %10s %8s %8s   (round 2: 0 B, 1 KiB)\n", \
		w, "tree", "0 B", "1 KiB", "diff", "diff"
	for (t = 0; t < n; t++) {
		d0 = v[t, 1, 0] - v[0, 1, 0]
		d1 = v[t, 1, 1024] - v[0, 1, 1024]
		printf "%-*s %10.1f %10.1f %+8.1f %+8.1f   (%.1f, %.1f)\n", \
			w, rev[t + 1], v[t, 1, 0], v[t, 1, 1024], d0, d1, \
			v[t, 2, 0], v[t, 2, 1024]
	}
}' "$W/console"
