#!/usr/bin/env bash
# `make run`: builds everything needed, boots the x86_64 test VM with the driver loaded and
# runs the sample VMM (samples/mshv-vmm) against the simulated hypervisor: a v2 partition,
# guest memory, two VPs running to their guests' halt, teardown. The kernel log follows.
set -euo pipefail
source "$(dirname "$0")/setup/env.sh"

"$MSHV_ROOT/tools/setup/setup.sh" kernel x86_64
"$MSHV_ROOT/tools/build.sh" x86_64 init sample
exec "$MSHV_ROOT/tools/vm/mshv-vm" --arch x86_64 "$(out_dir x86_64)/mshv-vmm"
