#!/usr/bin/env bash
# `make bench`: builds the driver and tools/bench/mshv_bench.c, boots the x86_64 test VM (with
# 3 GiB of memory, for the 1 GiB guest-memory figure) and prints the benchmark's ratios; then
# tools/bench/mshv_vtl_bench.c against the VTL personality, in a second VM. Not
# part of `make check`. The test kernel has all its debugging on (KASAN, lockdep, kmemleak):
# absolute times are slow; the ratios are measured in one run on the same kernel.
set -euo pipefail
source "$(dirname "$0")/setup/env.sh"

arch=x86_64
"$MSHV_ROOT/tools/setup/setup.sh" kernel "$arch"
"$MSHV_ROOT/tools/build.sh" "$arch" module init
out="$MSHV_ROOT/build/$arch"
gcc -static -O2 -Wall -Wextra -Werror -isystem "$out/usr/include" \
	-I "$MSHV_ROOT/tools/testing/selftests/mshv" \
	-o "$out/mshv_bench" "$MSHV_ROOT/tools/bench/mshv_bench.c"
gcc -static -O2 -Wall -Wextra -Werror -isystem "$out/usr/include" \
	-I "$MSHV_ROOT/tools/testing/selftests/mshv" \
	-o "$out/mshv_vtl_bench" "$MSHV_ROOT/tools/bench/mshv_vtl_bench.c"
kernel=$("$MSHV_ROOT/tools/setup/setup.sh" kernel-dir "$arch")
# The root personality's figures, then the VTL personality's, each in a VM of its own (both
# register /dev/mshv).
"$MSHV_ROOT/tools/vm/vmrun.py" run --arch "$arch" --memory 3072 --kernel "$kernel" \
	--init "$out/init" --module "$out/mshv/mshv_rs.ko" -- "$out/mshv_bench"
exec "$MSHV_ROOT/tools/vm/vmrun.py" run --arch "$arch" --kernel "$kernel" --cmdline noxsave \
	--init "$out/init" --module "$out/mshv/mshv_vtl.ko" -- "$out/mshv_vtl_bench"
