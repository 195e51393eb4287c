#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test: bus1-dbus-broker (samples/bus1, Documentation/bus1/dbus.rst)
# serves Debian's unmodified D-Bus clients. Starts the broker on a socket in
# a temporary directory and drives busctl, dbus-send, gdbus, dbus-monitor
# and a python3-dbus client and service (host/dbus/*.py): names, method
# calls, fd passing (NotSupported to a client without it),
# NameOwnerChanged, the RequestName queue, match rules, activation (by a
# call and by StartServiceByName), the standard errors, the SASL
# mechanisms offered (EXTERNAL alone), and hostile clients (garbage during
# authentication, a header announcing 4 GiB, one a byte over
# max_message_size after Hello, a malformed message, a wrong fd count, an
# AddMatch flood, a client that never reads, peers dying mid-call, the
# per-user connection limit): each is dropped or refused with one log line
# while everybody else keeps being served.
# In the test VM, samples/bus1/test-dbus-vm runs this script in a root
# made of the host's /usr (9p) with BUS1_DBUS_PREBUILT=1: the broker the
# rig built is used as it is (the tree is read-only there).
# Prints TAP, exits non-zero on failure.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)
HERE=$ROOT/tools/testing/selftests/bus1/host
BROKER=$ROOT/samples/bus1/out/bus1-dbus-broker
PY=/usr/bin/python3	# Debian's, which has python3-dbus and python3-gi
TMP=$(mktemp -d)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

TAP_DIAG=$TMP/diag
# shellcheck source=SCRIPTDIR/tap.sh
. "$HERE/tap.sh"
: >"$TAP_DIAG"

echo "TAP version 13"

ADDR=unix:path=$TMP/bus.sock
LOG=$TMP/broker.log
# BUS1_DBUS_QUICK=1 (the VM): the clients, fds, NameOwnerChanged,
# activation and two hostile clients, not the rest; TCG makes every python
# start take seconds there
QUICK=${BUS1_DBUS_QUICK:-0}
T=(timeout -k 2 "${BUS1_DBUS_CMD_TIMEOUT:-30}")
WAIT=$((${BUS1_DBUS_CMD_TIMEOUT:-30} * 10))	# polls of 0.1 s

# run NAME CMD...: ok if CMD succeeds, its output is the diagnostics
run() {
	local name=$1
	shift
	if "$@" >"$TAP_DIAG" 2>&1; then ok "$name"; else not_ok "$name"; fi
	: >"$TAP_DIAG"
}

# expect NAME REGEX CMD...: ok if CMD succeeds and prints a line matching REGEX
expect() {
	local name=$1 re=$2
	shift 2
	if "$@" >"$TMP/out" 2>&1 && grep -Eq -- "$re" "$TMP/out"; then
		ok "$name"
	else
		{ echo "expected /$re/ from: $*"; cat "$TMP/out"; } >"$TAP_DIAG"
		not_ok "$name"
	fi
	: >"$TAP_DIAG"
}

client() { "${T[@]}" "$PY" "$HERE/dbus/client.py" "$ADDR" "$@"; }
log_count() { grep -Ec -- "$1" "$LOG"; }

# 1. prerequisites and the build
missing=
for t in busctl dbus-send gdbus dbus-monitor pkg-config; do
	command -v "$t" >/dev/null || missing+=" $t"
done
"$PY" -c 'import dbus, gi.repository.GLib' 2>/dev/null ||
	missing+=" python3-dbus/python3-gi"
[[ ${BUS1_DBUS_PREBUILT:-0} == 1 ]] || pkg-config --exists dbus-1 2>/dev/null ||
	missing+=" libdbus-1-dev"
if [[ -n $missing ]]; then
	echo "missing:$missing (scripts/bus1-deps.sh installs them)" >"$TAP_DIAG"
	not_ok "D-Bus tools and libdbus-1-dev present"
	tap_end
	exit 1
fi
ok "D-Bus tools and libdbus-1-dev present"
if [[ ${BUS1_DBUS_PREBUILT:-0} == 1 ]]; then
	run "bus1-dbus-broker prebuilt" test -x "$BROKER"
else
	run "build bus1-dbus-broker" make -s -C "$ROOT/samples/bus1" \
		out/bus1-dbus-broker
fi

# 2. the broker, with a policy: a denied name and two activatable ones
cat >"$TMP/policy" <<EOF
deny-own org.bus1.Denied *
activate org.bus1.Test.Activated $PY $HERE/dbus/svc.py starter org.bus1.Test.Activated
activate org.bus1.Test.Failing /bin/false
activate org.bus1.Test.Started $PY $HERE/dbus/svc.py starter org.bus1.Test.Started
EOF
exec 8>"$TMP/ready"
"$BROKER" --address "$ADDR" -p "$TMP/policy" -v --ready-fd 8 \
	--max-matches-per-connection 64 --max-outgoing-bytes 1048576 \
	--auth-timeout 2000 2>"$LOG" 8>&8 &
PIDS+=($!)
BROKER_PID=$!
exec 8>&-
for _ in $(seq $WAIT); do
	grep -q ready "$TMP/ready" && break
	sleep 0.1
done
if grep -q ready "$TMP/ready"; then ok "broker listens"; else
	cat "$LOG" >"$TAP_DIAG"; not_ok "broker listens"; tap_end; exit 1
fi

# the python3-dbus service
"$PY" "$HERE/dbus/svc.py" "$ADDR" org.bus1.Test >"$TMP/svc.out" 2>&1 &
PIDS+=($!)
for _ in $(seq $WAIT); do
	grep -q ready "$TMP/svc.out" && break
	sleep 0.1
done

# 3. the command-line clients
expect "busctl list" '^org\.bus1\.Test ' "${T[@]}" busctl --address="$ADDR" \
	list --no-pager
expect "busctl call (a python3-dbus service)" '^s "hi busctl"$' \
	"${T[@]}" busctl --address="$ADDR" call org.bus1.Test /org/bus1/Test \
	org.bus1.Test Echo s "hi busctl"
expect "dbus-send --print-reply" 'string "hi dbus-send"' \
	"${T[@]}" dbus-send --bus="$ADDR" --print-reply --dest=org.bus1.Test \
	/org/bus1/Test org.bus1.Test.Echo string:"hi dbus-send"
expect "gdbus call" "^\('hi gdbus',\)$" \
	"${T[@]}" gdbus call --address "$ADDR" --dest org.bus1.Test \
	--object-path /org/bus1/Test --method org.bus1.Test.Echo "hi gdbus"
if ((!QUICK)); then
	expect "gdbus introspect the bus driver" 'BecomeMonitor' \
		"${T[@]}" gdbus introspect --address "$ADDR" \
		--dest org.freedesktop.DBus --object-path /org/freedesktop/DBus
	expect "busctl get-property Interfaces" \
		'^as 1 "org.freedesktop.DBus.Monitoring"$' \
		"${T[@]}" busctl --address="$ADDR" get-property org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus Interfaces
	expect "busctl GetConnectionUnixProcessID of the service" \
		"^u $(pgrep -f "svc.py $ADDR org.bus1.Test\$" | head -1)\$" \
		"${T[@]}" busctl --address="$ADDR" call org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixProcessID \
		s org.bus1.Test
fi

# 4. dbus-monitor (BecomeMonitor) sees a name come and go
"${T[@]}" dbus-monitor --address "$ADDR" \
	"type='signal',member='NameOwnerChanged'" >"$TMP/monitor" 2>&1 &
MON=$!
PIDS+=("$MON")
for _ in $(seq $WAIT); do
	grep -q NameLost "$TMP/monitor" 2>/dev/null && break
	sleep 0.1
done
run "python3-dbus: NameOwnerChanged of a name" client noc
for _ in $(seq $WAIT); do
	(($(grep -c 'string "org.bus1.Test.Noc"' "$TMP/monitor") >= 2)) && break
	sleep 0.1
done
kill "$MON" 2>/dev/null
if [[ $(grep -c 'string "org.bus1.Test.Noc"' "$TMP/monitor") == 2 ]]; then
	ok "dbus-monitor saw the name acquired and released"
else
	cat "$TMP/monitor" >"$TAP_DIAG"
	not_ok "dbus-monitor saw the name acquired and released"
fi
: >"$TAP_DIAG"

if ((!QUICK)); then
	# busctl's monitor (sd-bus) sees a method call of another client
	"${T[@]}" busctl --address="$ADDR" monitor >"$TMP/bmon" 2>&1 &
	BMON=$!
	PIDS+=("$BMON")
	for _ in $(seq $WAIT); do
		# (its own unique name going away: it is a monitor now)
		grep -q 'Member=NameOwnerChanged' "$TMP/bmon" 2>/dev/null && break
		sleep 0.1
	done
	"${T[@]}" busctl --address="$ADDR" call org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus GetId >/dev/null 2>&1
	for _ in $(seq $WAIT); do
		grep -q 'Member=GetId' "$TMP/bmon" && break
		sleep 0.1
	done
	kill "$BMON" 2>/dev/null
	if grep -q 'Member=GetId' "$TMP/bmon"; then
		ok "busctl monitor saw a call"
	else
		cat "$TMP/bmon" >"$TAP_DIAG"
		not_ok "busctl monitor saw a call"
	fi
	: >"$TAP_DIAG"
fi

# 5. the python3-dbus checks
run "python3-dbus: pass an fd" client fd
if ((!QUICK)); then
	run "an fd to a client without fd passing: NotSupported" client nofd
	run "python3-dbus: RequestName queue and flags" client queue
	run "python3-dbus: AddMatch filtering (argN, argNpath, arg0namespace, path_namespace)" client match
	run "python3-dbus: standard errors, Peer, credentials" client errors
fi
run "activation by a method call" client activate org.bus1.Test.Activated
if ((!QUICK)); then
	run "activation of a program that fails" client start-failing org.bus1.Test.Failing
	run "StartServiceByName: SUCCESS, then ALREADY_RUNNING" \
		client start org.bus1.Test.Started
	run "AddMatch flood stops at max_matches_per_connection" client flood 64
fi

if ((!QUICK)); then
	run "SASL: EXTERNAL is the one mechanism offered" client mechs
fi

# 6. hostile clients: each is dropped with exactly one log line
before=$(log_count 'closed before Hello|not authenticated|dropping connection')
run "garbage during authentication: dropped" client raw garbage
run "a header announcing 4 GiB: dropped" client raw bigheader
nraw=2
if ((!QUICK)); then
	run "a malformed message: dropped" client raw badmsg
	nraw=3
fi
if ((!QUICK)); then
	# (after Hello: libdbus closes it, which the broker logs with -v only)
	run "a message announcing an fd it does not carry: dropped" client fdcount
	# (one byte over the broker's default max_message_size, 32 MiB)
	run "a header announcing a message over max_message_size: dropped" \
		client toolong $(((32 << 20) + 1))
fi
after=$(log_count 'closed before Hello|not authenticated|dropping connection')
if ((after - before == nraw)); then ok "one log line per dropped connection"; else
	{ echo "$((after - before)) lines for $nraw connections:"; cat "$LOG"; } >"$TAP_DIAG"
	not_ok "one log line per dropped connection"
fi
: >"$TAP_DIAG"

if ((!QUICK)); then
	run "a client dies mid-call" client diecall
	sleep 0.6	# the service replies after 300 ms to nobody
	expect "the service keeps serving after that" '^s "after"$' \
		"${T[@]}" busctl --address="$ADDR" call org.bus1.Test /org/bus1/Test \
		org.bus1.Test Echo s after
	if (($(log_count 'went away with 1 calls unanswered') == 1)); then
		ok "the dead caller got one log line"
	else
		cat "$LOG" >"$TAP_DIAG"; not_ok "the dead caller got one log line"
	fi
	: >"$TAP_DIAG"

	"$PY" "$HERE/dbus/svc.py" "$ADDR" org.bus1.Test.Quitter >"$TMP/svc2.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq $WAIT); do
		grep -q ready "$TMP/svc2.out" && break
		sleep 0.1
	done
	run "a service dies mid-call: the caller gets NoReply at once" \
		client noreply org.bus1.Test.Quitter

	# a subscriber that never reads while 5 MiB of signals go to it
	client stuck 60 >"$TMP/stuck.out" 2>&1 &
	STUCK=$!
	PIDS+=("$STUCK")
	for _ in $(seq $WAIT); do
		grep -q stuck "$TMP/stuck.out" && break
		sleep 0.1
	done
	for _ in $(seq 20); do
		"${T[@]}" busctl --address="$ADDR" call org.bus1.Test /org/bus1/Test \
			org.bus1.Test Big u 262144 >>"$TMP/big.out" 2>&1 || break
	done
	start=$(date +%s%N)
	expect "others are served while a client does not read" '^s "busy"$' \
		"${T[@]}" busctl --address="$ADDR" call org.bus1.Test /org/bus1/Test \
		org.bus1.Test Echo s busy
	ms=$((($(date +%s%N) - start) / 1000000))
	if (($(log_count 'does not read') == 1 && ms < 5000)); then
		ok "the reader-less client got one log line, Echo took $ms ms"
	else
		{ echo "Echo took $ms ms"; cat "$TMP/big.out" "$LOG"; } >"$TAP_DIAG"
		not_ok "the reader-less client got one log line"
	fi
	: >"$TAP_DIAG"
	kill "$STUCK" 2>/dev/null

	# 7. max_connections_per_user, on a second broker
	exec 8>"$TMP/ready2"
	"$BROKER" --address "unix:path=$TMP/bus2.sock" --max-connections-per-user 3 \
		--ready-fd 8 2>"$TMP/broker2.log" 8>&8 &
	PIDS+=($!)
	exec 8>&-
	for _ in $(seq $WAIT); do
		grep -q ready "$TMP/ready2" && break
		sleep 0.1
	done
	run "max_connections_per_user refuses the 4th connection" \
		"${T[@]}" "$PY" "$HERE/dbus/client.py" "unix:path=$TMP/bus2.sock" conns 3
fi

# 8. still alive, and a clean exit
expect "the broker still serves" '^s "bye"$' "${T[@]}" busctl \
	--address="$ADDR" call org.bus1.Test /org/bus1/Test org.bus1.Test \
	Echo s bye
kill -TERM "$BROKER_PID"
rc=0
wait "$BROKER_PID" || rc=$?
if ((rc == 0)); then ok "broker exits 0 on SIGTERM"; else
	{ echo "exit status $rc"; tail -20 "$LOG"; } >"$TAP_DIAG"
	not_ok "broker exits 0 on SIGTERM"
fi
: >"$TAP_DIAG"

tap_end
