#!/usr/bin/env bash
# Measures what the test kernels' debugging costs: build time and boot time of each arch's test
# kernel against a "base" kernel built from the same fragments less the debugging ones, and the
# boot-time share of the options that can be switched off on the command line (kmemleak, lockdep
# proving). Builds the base kernels if needed (about as long as the test kernels); not part of
# `make check`. Run it on an idle machine: it prints a Markdown table.
#
#   tools/measure-debug-cost.sh [ARCH...]
set -euo pipefail
source "$(dirname "$0")/setup/env.sh"

[ $# -gt 0 ] || set -- x86_64 arm64
setup="$MSHV_ROOT/tools/setup/setup.sh"

# boot ARCH KERNEL-DIR CMDLINE: seconds from QEMU start to init, the median of three boots.
boot() {
	local arch=$1 kobj=$2 cmdline=$3 i out times=()
	"$MSHV_ROOT/tools/build.sh" "$arch" init >/dev/null
	for i in 1 2 3; do
		out=$("$MSHV_ROOT/tools/vm/vmrun.py" test --arch "$arch" --kernel "$kobj" \
			--init "$(out_dir "$arch")/init" --cmdline "$cmdline" || true)
		times+=("$(echo "$out" | sed -nE 's/^# .* VM: boot to init ([0-9.]+) s.*/\1/p')")
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

echo "| arch | kernel | build (s) | boot to init (s) |"
echo "| --- | --- | --- | --- |"
for arch in "$@"; do
	MSHV_KERNEL_VARIANT=base "$setup" kernel "$arch" >&2
	"$setup" kernel "$arch" >&2
	base=$(MSHV_KERNEL_VARIANT=base "$setup" kernel-dir "$arch")
	debug=$("$setup" kernel-dir "$arch")
	echo "| $arch | base (no debugging) | $(cat "$base/.mshv-build-seconds") | $(boot "$arch" "$base" "") |"
	echo "| $arch | test (all debugging) | $(cat "$debug/.mshv-build-seconds") | $(boot "$arch" "$debug" "") |"
	echo "| $arch | test, kmemleak=off | | $(boot "$arch" "$debug" kmemleak=off) |"
	echo "| $arch | test, lockdep.prove_locking=0 | | $(boot "$arch" "$debug" lockdep.prove_locking=0) |"
done
