#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test: the baselines of the D-Bus figures of `make bench` start and
# answer on the host, outside the icount VM (where only `make bench` runs
# them): Debian's dbus-daemon, and Debian's dbus-broker without systemd as
# `bus1-dbus-bench --dbus-broker ROOT CONF` starts it (socket activation by
# the bench, a journal socket stand-in where there is no journald; see
# samples/bus1/dbus-bench.c). Runs `bus1-dbus-bench --dbus-broker / CONF
# DAEMON_ADDR x x 1 baselines`, which needs no bus1, and checks:
#  1. it exits 0 and prints (a), (c) and (d) with figures for both buses
#     (wall-clock ns here, not instructions: no figure is judged)
#  2. dbus-broker's launcher, a client of its own bus, woke 0 times during
#     the dbus-broker figures and nothing was logged to the journal then:
#     the figures are the broker's and the clients' work alone
#  3. nothing is left behind: the broker and its launcher have exited, the
#     listening socket and any journal stand-in are gone
#  4. where no journald listens, a dead socket file left at journald's
#     path (a killed run's, or a package's) is replaced by the stand-in
#     and removed at the end (1-3 run with one there)
#  5. a root without dbus-broker gives the line "dbus-broker: not
#     installed, skipped" and exit status 0
# 1-4 are skipped where dbus-broker is not installed (scripts/bus1-deps.sh
# installs it). Prints TAP, exits non-zero on failure.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)
BENCH=$ROOT/samples/bus1/out/bus1-dbus-bench
TMP=$(mktemp -d)
DD=

cleanup() {
	[[ -z $DD ]] || { kill "$DD" 2>/dev/null; wait "$DD" 2>/dev/null; }
	rm -rf "$TMP"
}
trap cleanup EXIT

# whether something is bound at the datagram socket $1
listens() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(sys.argv[1])' "$1" 2>/dev/null
}

# a socket file at $1 with nobody behind it
dead_socket() {
	mkdir -p "$(dirname "$1")"
	rm -f "$1"
	python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1])' "$1"
}

TAP_DIAG=$TMP/diag
# shellcheck source=SCRIPTDIR/tap.sh
. "$ROOT/tools/testing/selftests/bus1/host/tap.sh"
: >"$TAP_DIAG"

echo "TAP version 13"
tap_plan 5

if ! make -s -C "$ROOT/samples/bus1" out/bus1-dbus-bench >"$TAP_DIAG" 2>&1 ||
	! command -v dbus-daemon >/dev/null; then
	echo "no bus1-dbus-bench or no dbus-daemon" >>"$TAP_DIAG"
	for t in "baselines printed" "launcher idle" "nothing left" \
		"not installed" "dead journal socket"; do
		not_ok "$t"
	done
	tap_end
	exit 1
fi
: >"$TAP_DIAG"

# dbus-daemon as bus1-bench.sh runs it, with the same configuration file
cat >"$TMP/bench-dbus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$TMP/daemon.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$TMP/bench-dbus.conf" --nofork --nopidfile \
	2>"$TMP/daemon.err" &
DD=$!
for _ in $(seq 300); do
	[[ -S $TMP/daemon.sock ]] && break
	sleep 0.1
done

# 1.-4.: Debian's dbus-broker from /
if [[ ! -x /usr/bin/dbus-broker-launch ]]; then
	for t in "baselines printed" "launcher idle" "nothing left" \
		"dead journal socket"; do
		skip "$t" "dbus-broker not installed"
	done
else
	JS=/run/systemd/journal/socket
	dead=
	if ! listens "$JS"; then
		dead_socket "$JS"
		dead=1
	fi
	journal_before=$([[ -z $dead && -e $JS ]] && echo 1)
	"$BENCH" --dbus-broker / "$TMP/bench-dbus.conf" \
		"unix:path=$TMP/daemon.sock" x x 1 baselines >"$TMP/out" 2>&1 &
	bench=$!
	rc=0
	wait $bench || rc=$?
	re='^\([acd]\) .* [0-9]+ +[0-9.]+ +[0-9]+ +[0-9.]+ +[0-9.]+x$'
	if [[ $rc == 0 ]] && (($(grep -Ec "$re" "$TMP/out") == 3)); then
		ok "baselines printed: dbus-daemon and dbus-broker, (a) (c) (d)"
	else
		{ echo "exit status $rc"; cat "$TMP/out"; } >"$TAP_DIAG"
		not_ok "baselines printed: dbus-daemon and dbus-broker, (a) (c) (d)"
	fi
	if grep -q 'launcher (pid [0-9]*, on the bus as :1\.[0-9]*) woke 0 times .*; 0 journal messages$' \
		"$TMP/out"; then
		ok "launcher idle and nothing logged during the dbus-broker figures"
	else
		cat "$TMP/out" >"$TAP_DIAG"
		not_ok "launcher idle and nothing logged during the dbus-broker figures"
	fi
	left=
	read -r bpid lpid < <(sed -n 's/^# dbus-broker: pid \([0-9]*\); its launcher (pid \([0-9]*\),.*/\1 \2/p' "$TMP/out")
	for p in $bpid $lpid; do
		[[ ! -d /proc/$p ]] || left+=" process $p ($(cat "/proc/$p/comm"))"
	done
	[[ -n ${bpid:-} ]] || left+=" (no pids printed)"
	[[ ! -e /run/bus1/bench-dbus-broker.$bench.sock ]] ||
		left+=" /run/bus1/bench-dbus-broker.$bench.sock"
	[[ -n $journal_before || ! -e /run/systemd/journal/socket ]] ||
		left+=" /run/systemd/journal/socket"
	if [[ -z $left ]]; then
		ok "nothing left: broker, launcher, sockets"
	else
		{ echo "left:$left"; cat "$TMP/out"; } >"$TAP_DIAG"
		not_ok "nothing left: broker, launcher, sockets"
	fi
	if [[ -z $dead ]]; then
		skip "dead journal socket" "journald listens here"
	elif [[ $rc == 0 && ! -e $JS ]]; then
		ok "dead journal socket replaced by the stand-in, then removed"
	else
		{ echo "exit status $rc"; ls -l "$JS"; cat "$TMP/out"; } \
			>"$TAP_DIAG" 2>&1
		not_ok "dead journal socket replaced by the stand-in, then removed"
	fi
fi

# 5.: a root without dbus-broker (an empty one)
mkdir "$TMP/root"
rc=0
"$BENCH" --dbus-broker "$TMP/root" /bench-dbus.conf \
	"unix:path=$TMP/daemon.sock" x x 1 baselines >"$TMP/out" 2>&1 || rc=$?
if [[ $rc == 0 ]] && grep -q '^# dbus-broker: not installed, skipped' "$TMP/out"; then
	ok "not installed: said, exit 0"
else
	{ echo "exit status $rc"; cat "$TMP/out"; } >"$TAP_DIAG"
	not_ok "not installed: said, exit 0"
fi

tap_end
