#!/usr/bin/env bash
# `make bench`: builds the driver and tools/bench/*.c, boots the x86_64 test VM (with 3 GiB of
# memory, for the 1 GiB guest-memory figure) and prints the benchmark's ratios; then
# tools/bench/mshv_vtl_bench.c against the VTL personality, in a second VM, and once more on
# arm64 (its VTL switch: an HVC #0 the simulated hypervisor takes at EL2). Not part of
# `make check`.
#
# Each runs twice: on the test kernel, which has all its debugging on (KASAN, lockdep,
# kmemleak), and on the "release" kernel (MSHV_KERNEL_VARIANT=base: the same fragments without
# the debugging ones; built here the first time, about as long as the test kernel). QEMU's TCG
# says nothing of real timing: absolute times are slow; the ratios are measured in one run on
# the same kernel. MSHV_BENCH_VARIANTS="debug" (or "base") runs one kernel only;
# MSHV_BENCH_PROFILE=N also writes the function graph of N round trips (x86_64).
set -euo pipefail
source "$(dirname "$0")/setup/env.sh"

vmrun="$MSHV_ROOT/tools/vm/vmrun.py"
for variant in ${MSHV_BENCH_VARIANTS:-debug base}; do
	case "$variant" in
	debug) unset MSHV_KERNEL_VARIANT ;;
	base) export MSHV_KERNEL_VARIANT=$variant ;;
	*) die "MSHV_BENCH_VARIANTS: debug or base, not $variant" ;;
	esac
	for arch in x86_64 arm64; do
		"$MSHV_ROOT/tools/setup/setup.sh" kernel "$arch"
		"$MSHV_ROOT/tools/build.sh" "$arch" module init bench
	done
	echo "== $variant kernel, x86_64:"
	out=$(out_dir x86_64)
	kernel=$("$MSHV_ROOT/tools/setup/setup.sh" kernel-dir x86_64)
	# The root personality's figures, then the VTL personality's, each in a VM of its own
	# (both register /dev/mshv).
	"$vmrun" run --arch x86_64 --memory 3072 --kernel "$kernel" \
		--init "$out/init" --module "$out/mshv/mshv_rs.ko" -- "$out/mshv_bench"
	# MSHV_BENCH_PROFILE=N: the function graph of N round trips (ftrace), into a file.
	if [ -n "${MSHV_BENCH_PROFILE:-}" ]; then
		profile="$MSHV_ROOT/build/logs/bench-profile-$variant-x86_64.txt"
		mkdir -p "$(dirname "$profile")"
		"$vmrun" run --arch x86_64 --kernel "$kernel" --init "$out/init" \
			--module "$out/mshv/mshv_rs.ko" -- "$out/mshv_bench" --profile \
			"$MSHV_BENCH_PROFILE" >"$profile"
		echo "MSHV_RUN_VP's function graph: $profile"
	fi
	"$vmrun" run --arch x86_64 --kernel "$kernel" --cmdline noxsave \
		--init "$out/init" --module "$out/mshv/mshv_vtl.ko" -- "$out/mshv_vtl_bench"
	echo "== $variant kernel, arm64:"
	out=$(out_dir arm64)
	kernel=$("$MSHV_ROOT/tools/setup/setup.sh" kernel-dir arm64)
	"$vmrun" run --arch arm64 --kernel "$kernel" \
		--init "$out/init" --module "$out/mshv/mshv_vtl.ko" -- "$out/mshv_vtl_bench"
done
