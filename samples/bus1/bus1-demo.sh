#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bus1-demo.sh - the `make run` transcript, run inside the VM (busybox sh,
# as root, module loaded). Part 1 walks through the raw ABI (bus1-demo);
# part 2 starts bus1-broker with a policy, two watchers and a few services
# (one activated on demand, one killed mid-way) and drives them with
# bus1ctl. With --dbus (`make run`, which shares the host's /usr over 9p)
# part 3 starts bus1-dbus-broker: Debian's busctl calls a bus1-native
# service (bus1-dbus-demo, libbus1-dbus) and a native client calls a
# python3-dbus service on the socket. Exits non-zero if any step does not
# behave as expected.
set -u

DBUS=0
[ "${1:-}" = --dbus ] && DBUS=1

rc=0
SOCK=/run/bus1/broker.sock
POLICY=/run/bus1/broker.policy
W=/run/bus1/watchers		# what each watcher prints
pids=""

say() { echo; echo "### $*"; }
fail() { echo "!!! FAILED: $*"; rc=1; }
# run a command, show it, and require success
step() { echo "\$ $*"; "$@" || fail "$*"; }
# wait_for WHAT CMD...: poll the state CMD tests (every 20 ms, for at most
# 15 s: the VM runs under TCG beside host builds) instead of sleeping for a
# guessed time that is too short on a loaded machine and wasted on an idle
# one
wait_for() {
	what=$1
	shift
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 750 ] || { fail "timed out waiting for $what"; return 1; }
		sleep 0.02
	done
}
# listed NAME / unlisted NAME: the broker lists NAME with an owner / not at
# all (called through wait_for)
# shellcheck disable=SC2317
listed() { l=$(bus1ctl list) && echo "$l" | grep -q "^${1} *[0-9]"; }
# shellcheck disable=SC2317
unlisted() { l=$(bus1ctl list) && ! echo "$l" | grep -q "^${1} "; }
# saw WATCHER PATTERN: wait until the watcher printed PATTERN, then show it
saw() {
	wait_for "$1 to print '$2'" grep -q -- "$2" "$W/$1" &&
		grep -- "$2" "$W/$1"
}

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT

echo "### bus1 demo on Linux $(uname -r)"
[ -e /dev/bus1 ] || { echo "no /dev/bus1 (module not loaded?)"; exit 1; }

say "part 1: the raw ABI (three peers, one node, no library)"
bus1-demo || fail "bus1-demo"

say "part 2: bus1-broker, names, watchers, activation"
mkdir -p /run/bus1 "$W"
cat >"$POLICY" <<'POL'
# who may own what (first match wins), what gets activated
allow-own org.bus1.* *
default-own deny
activate org.bus1.Upper /usr/bin/bus1-demo-service -m upper org.bus1.Upper
POL
echo "policy $POLICY:"
sed 's/^/    /' "$POLICY"

bus1-broker -v -s "$SOCK" -p "$POLICY" 2>&1 &
pids="$pids $!"
i=0
while [ ! -S "$SOCK" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$SOCK" ] || { fail "broker did not start"; exit 1; }
export BUS1_BROKER_SOCKET="$SOCK"

say "two watchers: one for all names, one for org.bus1.Counter"
bus1ctl -l watcher-all monitor >"$W/watcher-all" &
pids="$pids $!"
bus1ctl -l watcher-counter monitor org.bus1.Counter >"$W/watcher-counter" &
pids="$pids $!"
# (they print this once the broker has taken their WATCH)
saw watcher-all ": watching"
saw watcher-counter ": watching"

say "start two services by hand"
bus1-demo-service -m echo org.bus1.Echo &
pids="$pids $!"
bus1-demo-service -m count org.bus1.Counter &
counter=$!
pids="$pids $counter"
wait_for "org.bus1.Echo to be listed" listed org.bus1.Echo
wait_for "org.bus1.Counter to be listed" listed org.bus1.Counter
saw watcher-all "NameOwnerChanged org.bus1.Echo: appeared"
saw watcher-counter "NameOwnerChanged org.bus1.Counter: appeared"
step bus1ctl list

say "call them by name (GET_NAME_OWNER returns a handle, then a direct send)"
step bus1ctl call org.bus1.Echo hello through the broker
step bus1ctl call org.bus1.Counter first
step bus1ctl call org.bus1.Counter second

say "org.bus1.Upper is not running: the first lookup activates it"
step bus1ctl call org.bus1.Upper please start me on demand
saw watcher-all "NameOwnerChanged org.bus1.Upper: appeared"
step bus1ctl call org.bus1.Upper and answer again
step bus1ctl list

say "kill -9 the owner of org.bus1.Counter: the kernel tells the broker"
echo "\$ kill -9 $counter"
kill -9 "$counter"
wait "$counter" 2>/dev/null
wait_for "org.bus1.Counter to vanish" unlisted org.bus1.Counter
saw watcher-all "NameOwnerChanged org.bus1.Counter: vanished"
saw watcher-counter "NameOwnerChanged org.bus1.Counter: vanished"
step bus1ctl list
echo "\$ bus1ctl call org.bus1.Counter third"
if bus1ctl call org.bus1.Counter third; then
	fail "org.bus1.Counter still answers"
else
	echo "(as expected: the name vanished with its owner)"
fi

say "status: broker counters and every bus1 peer's fdinfo"
step bus1ctl status

# part 3 runs Debian's own programs from /hostroot (the host's /usr and the
# tree over 9p, built by the rig's /init): "host" runs one there
R=/hostroot
host() {
	chroot $R /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp \
		LC_ALL=C.UTF-8 "$@"
}
DADDR=unix:path=/run/bus1/dbus.sock
export BUS1_DBUS_SOCKET=/run/bus1/dbus.bus1
SVC=/src/tools/testing/selftests/bus1/host/dbus/svc.py
if [ $DBUS = 1 ] && [ ! -x $R/usr/bin/busctl ]; then
	say "part 3 skipped: no busctl in $R (the host's /usr is not shared)"
elif [ $DBUS = 1 ]; then
	say "part 3: D-Bus on bus1 (bus1-dbus-broker, Debian's busctl and python3-dbus)"
	echo "\$ bus1-dbus-broker --address $DADDR --bus1-socket $BUS1_DBUS_SOCKET &"
	bus1-dbus-broker --address "$DADDR" --bus1-socket "$BUS1_DBUS_SOCKET" \
		2>&1 &
	pids="$pids $!"
	wait_for "the D-Bus socket" test -S /run/bus1/dbus.sock
	wait_for "the bus1 bootstrap socket" test -S "$BUS1_DBUS_SOCKET"

	say "a bus1-native service (libbus1-dbus): its calls never touch a socket"
	echo "\$ bus1-dbus-demo serve org.bus1.NativeDemo &"
	bus1-dbus-demo serve org.bus1.NativeDemo >"$W/native" 2>&1 &
	pids="$pids $!"
	saw native "ready"

	say "Debian's busctl (sd-bus, on the socket) calls the native service"
	step host busctl --address="$DADDR" call org.bus1.NativeDemo \
		/org/bus1/Demo org.bus1.Demo Echo s "hello from busctl"
	say "busctl introspects it: libbus1-dbus answers Introspectable, Peer and Properties"
	step host busctl --address="$DADDR" introspect org.bus1.NativeDemo \
		/org/bus1/Demo
	say "and reads its property Calls, the Echo calls it answered"
	step host busctl --address="$DADDR" get-property org.bus1.NativeDemo \
		/org/bus1/Demo org.bus1.Demo Calls

	say "a python3-dbus service on the socket; a native client calls it"
	echo "\$ python3 svc.py $DADDR org.bus1.Test &"
	host /usr/bin/python3 $SVC "$DADDR" org.bus1.Test >"$W/pysvc" 2>&1 &
	pids="$pids $!"
	# (a python start takes seconds under TCG: up to 90 s)
	i=0
	until grep -q ready "$W/pysvc" 2>/dev/null || [ $i -ge 900 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q ready "$W/pysvc" || fail "the python3-dbus service did not start"
	step bus1-dbus-demo call org.bus1.Test /org/bus1/Test org.bus1.Test \
		Echo "hello from a native client"
	step host busctl --address="$DADDR" --no-pager list --acquired
fi

say "stopping"
cleanup
pids=""
trap - EXIT
for w in watcher-all watcher-counter; do
	echo "everything $w printed:"
	sed 's/^/    /' "$W/$w"
done
echo
echo "### bus1 demo finished: $([ $rc -eq 0 ] && echo OK || echo FAILED)"
exit $rc
