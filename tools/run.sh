#!/usr/bin/env bash
# `make run`: builds everything needed, boots the x86_64 test VM with the driver loaded and
# shows /dev/mshv and the driver's kernel log.
set -euo pipefail
source "$(dirname "$0")/setup/env.sh"

"$MSHV_ROOT/tools/setup/setup.sh" kernel x86_64
"$MSHV_ROOT/tools/build.sh" x86_64 init
exec "$MSHV_ROOT/tools/vm/mshv-vm" --arch x86_64 "$MSHV_ROOT/build/x86_64/mshv-show"
