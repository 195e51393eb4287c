#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# test-dbus-vm - host/test-dbus.sh inside the test VM: Debian's busctl,
# dbus-send, gdbus, dbus-monitor and python3-dbus against bus1-dbus-broker
# on the kernel under test. The initramfs has no room for them, so vm.sh
# shares the host's /usr and the source tree read-only over 9p and /init
# builds /hostroot from them (Documentation/bus1/dbus.rst, "Testing").
# BUS1_DBUS_QUICK: a subset, as every python start takes seconds under TCG.
# Prints TAP.
R=/hostroot
T=tools/testing/selftests/bus1/host/test-dbus.sh
HOST_USR=0
# shellcheck disable=SC1091
. /etc/bus1-rig.conf
# a kernel without 9p modules may skip (skip-allowlist); where vm.sh did
# share /usr, a missing mount is a failure
if [ "$HOST_USR" != 1 ]; then
	echo "1..0 # SKIP no 9p modules for this kernel: the host's /usr is not shared"
	exit 0
fi
if [ ! -x $R/usr/bin/bash ] || [ ! -f $R/src/$T ]; then
	echo "1..1"
	echo "not ok 1 - the host's /usr and tree are not mounted at $R (9p)"
	echo "# 0 passed, 1 failed"
	exit 1
fi
# (a clean environment: the host programs find their own defaults)
exec chroot $R /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp LC_ALL=C.UTF-8 \
	BUS1_DBUS_PREBUILT=1 BUS1_DBUS_QUICK=1 BUS1_DBUS_CMD_TIMEOUT=90 \
	/usr/bin/bash /src/$T
