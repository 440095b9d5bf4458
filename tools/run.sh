#!/usr/bin/env bash
# `make run`: builds everything needed, boots the x86_64 test VM with the driver loaded and
# runs the sample VMM (samples/mshv-vmm) against the simulated hypervisor: a v2 partition,
# guest memory, two VPs running to their guests' halt, teardown. One line per step, then the
# sample's output; the kernel log is in build/logs/mshv-vm-x86_64.console (shown when something
# failed). MSHV_VERBOSE=1 prints the console as it comes.
set -euo pipefail
source "$(dirname "$0")/setup/env.sh"

verbose=()
[ "${MSHV_VERBOSE:-0}" = 0 ] || verbose=(--verbose)
exec "$MSHV_ROOT/tools/vm/mshv-vm" --arch x86_64 --build sample "${verbose[@]}" \
	"$(out_dir x86_64)/mshv-vmm"
