#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-broker-demo - runs the `make run` demo (bus1-demo.sh) and checks its
# transcript: exit status 0, services answering by name, activation, the
# watchers seeing names appear and the killed owner's name vanish.
set -u

demo=$(command -v bus1-demo.sh || echo "$(dirname "$0")/bus1-demo.sh")
log=/tmp/test-broker-demo.$$
n=0
failed=0

check() {	# check DESCRIPTION PATTERN: the transcript has a matching line
	n=$((n + 1))
	if grep -q -- "$2" "$log"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		failed=1
	fi
}

echo "TAP version 13"
echo "1..12"
echo "# bus1 demo transcript ($demo)"
"$demo" >"$log" 2>&1
status=$?
n=$((n + 1))
if [ $status -eq 0 ]; then
	echo "ok $n - bus1-demo.sh exits 0"
else
	echo "not ok $n - bus1-demo.sh exits 0 (got $status)"
	failed=1
fi
check "raw ABI demo completes" "== raw ABI demo done =="
check "echo service answers by name" "org.bus1.Echo (client [0-9]*) replied: echo: hello through the broker"
check "counter service counts" "replied: call #2: second"
check "org.bus1.Upper is activated on demand" "activating org.bus1.Upper"
check "the activated service answers" "replied: PLEASE START ME ON DEMAND"
check "watcher-all sees org.bus1.Upper appear" "watcher-all: NameOwnerChanged org.bus1.Upper: appeared"
check "watcher-all sees org.bus1.Counter vanish" "watcher-all: NameOwnerChanged org.bus1.Counter: vanished"
check "watcher-counter sees org.bus1.Counter vanish" "watcher-counter: NameOwnerChanged org.bus1.Counter: vanished"
check "the vanished name cannot be called" "as expected: the name vanished"
check "status lists bus1 peers" "bus1-broker"
check "demo reports OK" "### bus1 demo finished: OK"
if [ $failed -ne 0 ]; then
	sed 's/^/# | /' "$log"
fi
rm -f "$log"
exit $failed
