#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# perf-profile.sh - where the instructions of one unicast go, by kernel
# function, sampled (not traced) in an icount VM.
#
#   perf-profile.sh [LEN [ITERS]]      (default 0 B, 40000 iterations)
#
# Builds bus1.ko of this tree for Debian's 6.1 kernel and bus1-bench-run,
# boots the 6.1 kernel with -smp 1 -icount shift=0,sleep=off (debug/boot.sh)
# and runs `bus1-bench-run --loop` twice: plain, for the instructions per
# iteration, then with jitter under `perf record -e cpu-clock -a`. Under
# icount cpu-clock ticks are instruction counts, so a symbol's share of the
# samples times the instructions per jittered iteration is its instruction
# count per iteration; no tracer overhead to subtract (compare the
# function_graph profile of bus1-bench). The jitter (user-space busy work of
# pseudo-random length) keeps the sampling period from aliasing with the
# loop. Samples that fire while interrupts are off are taken when they are
# enabled again: the syscall exit path shows up in the libc ioctl wrapper.
# Needs perf (Debian linux-perf) on the host; it is copied into the guest
# with its libraries.
set -euo pipefail

LEN=${1:-0}
ITERS=${2:-40000}
# MCAST=N: multicasts of 64 B to N peers, drained (bus1-bench-run --mloop)
MCAST=${MCAST:-}
LOOP="--loop"
if [ -n "$MCAST" ]; then
	LEN=$MCAST
	ITERS=${2:-1000}
	LOOP="--mloop"
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../../../../.." && pwd)
# the stock kernel `make bench` boots, not the PREEMPT_RT one (sorts last)
KVER=$(cd /lib/modules && printf '%s\n' 6.1.*-amd64 | grep -v -- -rt- |
	sort -V | tail -n 1)
IMAGE=/boot/vmlinuz-$KVER
PERF=$(command -v perf) || { echo "perf-profile: no perf (apt-get install linux-perf)" >&2; exit 2; }

W=$(mktemp -d /tmp/bus1-perf.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/src"
cp -a "$TOP/Kbuild" "$TOP/Makefile" "$TOP/ipc" "$TOP/include" "$W/src/"
make -s -C "/lib/modules/$KVER/build" M="$W/src" modules >"$W/build.log" 2>&1 ||
	{ tail -n 30 "$W/build.log"; exit 1; }
make -s -C "$HERE" >/dev/null

cat >"$W/profile.sh" <<EOF
#!/bin/sh
/tests/bus1-bench-run $LOOP $ITERS $LEN
/tests/bus1-bench-run $LOOP $ITERS $LEN jitter
perf record -q -e cpu-clock -c 397 -a -o /tmp/perf.data -- \\
	/tests/bus1-bench-run $LOOP $ITERS $LEN jitter >/tmp/loop.out 2>&1
echo "jittered: \$(cat /tmp/loop.out)"
perf report -i /tmp/perf.data --no-children --sort dso,sym -q --stdio \\
	2>/dev/null | sed -n '1,90s/^/perf: /p'
EOF
chmod +x "$W/profile.sh"

QEMU_EXTRA="-icount shift=0,sleep=off" "$TOP/tools/testing/selftests/bus1/debug/boot.sh" \
	-s 1 -t 900 -f "$HERE/out/bus1-bench-run" -f "$W/profile.sh" -f "$PERF" \
	"$IMAGE" "$(find "$W/src" -name bus1.ko)" /tests/profile.sh >"$W/console" 2>&1 ||
	{ tail -n 40 "$W/console"; exit 1; }

# instructions per iteration: the share of each symbol of the jittered loop
awk '
/^loop: .*with jitter/ && !jit { jit = $(NF - 2) }
/^loop: / && !/jitter/ { plain = $(NF - 2) }
/^loop: mcast/ && !/jitter/ { snd = $5; sub(",", "", snd) }
/^perf: / {
	p = $2; sub("%", "", p)
	dso = $3; sym = $5
	n[++k] = p; d[k] = dso; s[k] = sym
}
END {
	if (MC)
		printf "# multicast of 64 B to %s peers, SEND and drain: %.0f instructions per iteration (SEND %s)\n", LEN, plain, snd
	else
		printf "# %s B unicast, SEND+RECV+SLICE_RELEASE: %.0f instructions per iteration\n", LEN, plain
	printf "# (jittered loop %.0f; user-space jitter and loop are the rest)\n", jit
	printf "%7s  %-8s %s\n", "instr", "where", "function"
	for (i = 1; i <= k; i++) {
		v = n[i] * jit / 100
		if (v < 5)
			continue
		# module symbols come from kallsyms too
		where = s[i] ~ /^bus1_/ ? "bus1.ko" : \
			d[i] == "[kernel.kallsyms]" ? "kernel" : "user"
		printf "%7.0f  %-8s %s\n", v, where, s[i]
		sum[where] += v
	}
	printf "# bus1.ko %.0f, rest of the kernel %.0f, user space (with jitter) %.0f\n",
		sum["bus1.ko"], sum["kernel"], sum["user"]
	printf "# (rows of at least 5 instructions)\n"
}' LEN="$LEN" MC="$MCAST" "$W/console"
