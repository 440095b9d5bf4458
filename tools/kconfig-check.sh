#!/usr/bin/env bash
# Puts the project's Kconfig into the kernel's own kconfig (KBUILD_KCONFIG: a top-level file
# that is the kernel's own plus a line sourcing ours) and checks, with the kernel's conf, where the
# driver's option is offered:
#
#   x86_64 with HYPERV      offered (=m survives)
#   x86_64 without HYPERV   not offered
#   arm64 with HYPERV       offered, OF selected
#   riscv                   not offered (no such architecture in its dependencies)
#
#   tools/kconfig-check.sh [RESULTS-FILE]
set -uo pipefail
source "$(dirname "$0")/setup/env.sh"

results=${1:-/dev/null}
ksrc=$(ksrc) || exit 1
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

# The kernel's top-level Kconfig (mainmenu must come first) with ours sourced at the end.
{
	cat "$ksrc/Kconfig"
	echo "source \"$MSHV_ROOT/Kconfig\""
} >"$work/Kconfig"

failed=0
report() {
	echo "$1 $2" | tee -a "$results"
	[ "$1" = PASS ] || failed=1
}

# $1: test name, $2: kernel ARCH, $3: fragment lines. Leaves the resulting config in
# $work/$1.config. One object tree serves every run, so conf is built once.
configure() {
	local name=$1 arch=$2 obj="$work/obj"
	mkdir -p "$obj"
	printf '%s\n' "$3" >"$work/$name.fragment"
	# shellcheck disable=SC2046
	if ! make -s -C "$ksrc" O="$obj" ARCH="$arch" $(kmake_args) \
		KBUILD_KCONFIG="$work/Kconfig" KCONFIG_ALLCONFIG="$work/$name.fragment" \
		allnoconfig >"$work/$name.log" 2>&1; then
		report FAIL "kconfig.$name: conf failed: $(tail -n 3 "$work/$name.log" | tr '\n' ' ')"
		return 1
	fi
	cp "$obj/.config" "$work/$name.config"
}

has() { grep -qxF "$2" "$work/$1.config"; }
lacks() { ! grep -q "^$2[= ]" "$work/$1.config" && ! grep -q "^# $2 is not set" "$work/$1.config"; }

base="CONFIG_MODULES=y
CONFIG_RUST=y
CONFIG_MSHV_RUST=m"

if configure x86_64 x86_64 "$base
CONFIG_64BIT=y
CONFIG_HYPERVISOR_GUEST=y
CONFIG_HYPERV=y"; then
	if has x86_64 CONFIG_RUST=y && has x86_64 CONFIG_HYPERV=y && has x86_64 CONFIG_MSHV_RUST=m; then
		report PASS kconfig.x86_64.offered
	else
		report FAIL "kconfig.x86_64.offered: CONFIG_MSHV_RUST=m did not survive"
	fi
fi

if configure x86_64-no-hyperv x86_64 "$base
CONFIG_64BIT=y
# CONFIG_HYPERV is not set"; then
	if has x86_64-no-hyperv CONFIG_RUST=y && lacks x86_64-no-hyperv CONFIG_MSHV_RUST; then
		report PASS kconfig.x86_64.needs-hyperv
	else
		report FAIL "kconfig.x86_64.needs-hyperv: offered without HYPERV"
	fi
fi

if configure arm64 arm64 "$base
CONFIG_HYPERV=y"; then
	if has arm64 CONFIG_MSHV_RUST=m && has arm64 CONFIG_OF=y; then
		report PASS kconfig.arm64.offered-with-of
	else
		report FAIL "kconfig.arm64.offered-with-of: MSHV_RUST=m or OF=y missing"
	fi
fi

if configure riscv riscv "$base
CONFIG_HYPERV=y"; then
	if has riscv CONFIG_RUST=y && lacks riscv CONFIG_MSHV_RUST; then
		report PASS kconfig.riscv.not-offered
	else
		report FAIL "kconfig.riscv.not-offered: RUST=y missing or MSHV_RUST present"
	fi
fi

exit "$failed"
