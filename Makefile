# SPDX-License-Identifier: GPL-2.0
#
# bus1 - out-of-tree build. Kernel objects are described in Kbuild; this file
# only drives kbuild and the userspace parts. See README.md for every target.

KVER ?= $(shell uname -r)
# Else Debian's 6.1 headers, never those of its PREEMPT_RT image.
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build) \
		    $(lastword $(sort $(filter-out %-rt-amd64/build, \
			$(wildcard /lib/modules/6.1.*-amd64/build)))))
BUS1_CACHE ?= /var/tmp/bus1-cache
export KDIR BUS1_CACHE

QEMU_DIR := tools/testing/selftests/bus1/qemu
# bash for "set -o pipefail": a recipe piping through tee must still fail
# when the command before the pipe does
SHELL := /bin/bash

.PHONY: all module modules clean deps check run check-debug check-kcsan bench model \
	style sparse lib samples selftests man install uninstall dkms-install

all: module

module modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-$(MAKE) -C tools/testing/selftests/bus1 clean
	-$(MAKE) -C tools/lib/bus1 clean
	-$(MAKE) -C samples/bus1 clean

# Debian packages the rig needs; installs them when missing (root only).
deps:
	scripts/bus1-deps.sh

selftests:
	$(MAKE) -C tools/testing/selftests/bus1

lib:
	$(MAKE) -C tools/lib/bus1

samples: lib
	$(MAKE) -C samples/bus1

# The whole suite in qemu, on Debian's 6.1, 6.12, newest and 6.1 PREEMPT_RT
# kernels (KERNELS=).
check:
	$(MAKE) -C $(QEMU_DIR) check

# The main job: build, boot a VM with the module, run the demo.
run:
	$(MAKE) -C $(QEMU_DIR) run

# The whole suite on KASAN/lockdep/kmemleak/UBSAN kernels built from
# linux-source-6.1 and linux-source-6.12 (cached in $(BUS1_CACHE)).
check-debug:
	$(MAKE) -C $(QEMU_DIR) check-debug

# The same on the KCSAN flavour of that kernel (KCSAN excludes KASAN):
# data races, reported as "BUG: KCSAN: data-race", fail the run.
check-kcsan:
	$(MAKE) -C $(QEMU_DIR) check-kcsan

bench:
	$(MAKE) -C $(QEMU_DIR) bench

model:
	$(MAKE) -C tools/testing/selftests/bus1/model

style:
	scripts/bus1-style.sh

sparse:
	scripts/bus1-deps.sh --quiet
	set -o pipefail; \
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 W=1 modules 2>&1 | tee .sparse.log
	@! grep -E 'warning:|error:' .sparse.log

man:
	$(MAKE) -C Documentation/bus1 man

install:
	scripts/bus1-install.sh install

uninstall:
	scripts/bus1-install.sh uninstall

dkms-install:
	scripts/bus1-install.sh dkms-install
