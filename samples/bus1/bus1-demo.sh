#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bus1-demo.sh - the `make run` transcript, run inside the VM (busybox sh).
# Runs the raw-ABI demo, then (when built) the broker demo.
set -eu

echo "### bus1 demo on $(uname -r)"
[ -e /dev/bus1 ] || { echo "no /dev/bus1 (module not loaded?)"; exit 1; }

rc=0
bus1-demo || rc=1

echo "### bus1 demo finished: $([ $rc -eq 0 ] && echo OK || echo FAILED)"
exit $rc
