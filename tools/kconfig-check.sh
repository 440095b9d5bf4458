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

# What the root personality needs comes with it (upstream's MSHV_ROOT selects the same).
if has x86_64 CONFIG_EVENTFD=y && has x86_64 CONFIG_MMU_NOTIFIER=y &&
	has x86_64 CONFIG_HMM_MIRROR=y; then
	report PASS kconfig.x86_64.selects-what-it-needs
else
	report FAIL "kconfig.x86_64.selects-what-it-needs: EVENTFD, MMU_NOTIFIER or HMM_MIRROR not selected"
fi

# The hypervisor deals in 4 KiB pages: no 16K or 64K arm64 kernel, as upstream.
for size in 16K 64K; do
	if configure "arm64-$size" arm64 "$base
CONFIG_HYPERV=y
CONFIG_ARM64_${size}_PAGES=y"; then
		if has "arm64-$size" "CONFIG_ARM64_${size}_PAGES=y" && lacks "arm64-$size" CONFIG_MSHV_RUST; then
			report PASS "kconfig.arm64.not-offered-with-${size}-pages"
		else
			report FAIL "kconfig.arm64.not-offered-with-${size}-pages: offered, or ${size} pages not chosen"
		fi
	fi
done

# A kernel running at VTL2 gets the drivers too: the VTL personality is for it (the root
# personality's module refuses to load there).
if configure x86_64-vtl x86_64 "$base
CONFIG_64BIT=y
CONFIG_HYPERVISOR_GUEST=y
CONFIG_SMP=y
CONFIG_HYPERV=y
CONFIG_HYPERV_VTL_MODE=y"; then
	if has x86_64-vtl CONFIG_HYPERV_VTL_MODE=y && has x86_64-vtl CONFIG_MSHV_RUST=m; then
		report PASS kconfig.x86_64.offered-in-vtl-mode
	else
		report FAIL "kconfig.x86_64.offered-in-vtl-mode: not offered, or HYPERV_VTL_MODE not set"
	fi
fi

# The KUnit suites: offered with KUnit built in, on by default with KUNIT_ALL_TESTS.
if configure x86_64-kunit x86_64 "$base
CONFIG_64BIT=y
CONFIG_HYPERVISOR_GUEST=y
CONFIG_HYPERV=y
CONFIG_KUNIT=y
CONFIG_KUNIT_ALL_TESTS=y"; then
	if has x86_64-kunit CONFIG_MSHV_RUST_KUNIT_TEST=y; then
		report PASS kconfig.x86_64.kunit-suites-with-kunit-all-tests
	else
		report FAIL "kconfig.x86_64.kunit-suites-with-kunit-all-tests: MSHV_RUST_KUNIT_TEST not set"
	fi
fi
if lacks x86_64 CONFIG_MSHV_RUST_KUNIT_TEST; then
	report PASS kconfig.x86_64.no-kunit-suites-without-kunit
else
	report FAIL "kconfig.x86_64.no-kunit-suites-without-kunit: offered without KUNIT"
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
