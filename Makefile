# SPDX-License-Identifier: GPL-2.0
#
# Building the module against your own kernel (a full build tree with CONFIG_RUST=y, built by
# the same rustc and LLVM=1 choice as the module):
#
#   make KDIR=/path/to/linux-build LLVM=1 [ARCH=arm64]
#
# The project's own commands (they set everything up, see README.md):
#
#   make run      build, boot the x86_64 test VM, load the driver, show /dev/mshv
#   make check    every build, check and test, on x86_64 and arm64
#   make bench    the run loop's and guest memory's costs, in the x86_64 test VM

KDIR ?= /lib/modules/$(shell uname -r)/build

# Out of tree the kernel's .config has no entry for the driver: switch it on here.
MSHV_KCONFIG := CONFIG_MSHV_RUST=m

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(MSHV_KCONFIG) modules

# Removes what `make modules` left in the source tree and the project's build/ directory.
clean:
	if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf build

setup:
	tools/setup/setup.sh all

run:
	tools/run.sh

check:
	tools/check.sh

bench:
	tools/bench.sh

.PHONY: all modules clean setup run check bench
