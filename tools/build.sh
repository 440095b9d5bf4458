#!/usr/bin/env bash
# Builds the project's parts for one arch against its test kernel, into build/<arch>/ (or
# build/<arch>-<variant>/ with MSHV_KERNEL_VARIANT set: see out_dir in setup/env.sh).
#
#   tools/build.sh ARCH [module|clippy|runner-module|init|selftests|bench|all]...
#
# Needs the test kernel (tools/setup/setup.sh kernel ARCH).
set -euo pipefail
source "$(dirname "$0")/setup/env.sh"

arch=${1:?usage: $0 ARCH [what...]}
shift
kobj=$("$MSHV_ROOT/tools/setup/setup.sh" kernel-dir "$arch")
ksrc=$(ksrc)
need_kernel() {
	[ -f "$kobj/.mshv-built" ] || die "no $arch test kernel: run tools/setup/setup.sh kernel $arch"
}
out=$(out_dir "$arch")
mkdir -p "$out"

case "$arch" in
x86_64) ucc=gcc ;;
arm64) ucc=aarch64-linux-gnu-gcc ;;
esac

# An out-of-tree module build, warnings as errors. $1: source dir, $2: output dir, rest: make args.
kbuild() {
	local src=$1 dst=$2
	shift 2
	need_kernel
	mkdir -p "$dst"
	# shellcheck disable=SC2046
	make -s -C "$kobj" M="$src" MO="$dst" ARCH="$(karch "$arch")" $(kmake_args) \
		KCFLAGS=-Werror KRUSTFLAGS=-Dwarnings "$@" modules
}

# The test module has the simulated hypervisor and the KUnit suites built in; the shipping one,
# what users build, has neither.
mshv_config="CONFIG_MSHV_RUST=m CONFIG_MSHV_RUST_SIMULATOR=y CONFIG_MSHV_RUST_KUNIT_TEST=y"
shipping_config="CONFIG_MSHV_RUST=m"
# shellcheck disable=SC2086
build_module() { kbuild "$MSHV_ROOT" "$out/mshv" $mshv_config; }
# shellcheck disable=SC2086
build_shipping() { kbuild "$MSHV_ROOT" "$out/shipping" $shipping_config; }

# Clippy through the kernel's own CLIPPY=1 build, of both; any lint fails it.
# shellcheck disable=SC2086
build_clippy() {
	kbuild "$MSHV_ROOT" "$out/clippy" $mshv_config CLIPPY=1
	kbuild "$MSHV_ROOT" "$out/clippy-shipping" $shipping_config CLIPPY=1
}

build_runner_module() { kbuild "$MSHV_ROOT/tools/vm/selftest" "$out/vmrun-selftest"; }

build_init() {
	"$ucc" -static -O2 -Wall -Wextra -Werror -o "$out/init" "$MSHV_ROOT/tools/vm/init.c"
	"$ucc" -static -O2 -Wall -Wextra -Werror -o "$out/mshv-show" "$MSHV_ROOT/tools/vm/mshv-show.c"
}

# The kernel's uapi headers for this arch, for user-space programs.
build_headers() {
	need_kernel
	[ -f "$out/usr/.stamp-$(basename "$kobj")" ] && return
	rm -rf "$out/usr"
	# shellcheck disable=SC2046
	make -s -C "$kobj" ARCH="$(karch "$arch")" $(kmake_args) INSTALL_HDR_PATH="$out/usr" \
		headers_install
	touch "$out/usr/.stamp-$(basename "$kobj")"
}

# Every tools/testing/selftests/*/*_test.c, static, with the kernel's kselftest harness.
build_selftests() {
	build_headers
	mkdir -p "$out/selftests"
	local src name
	for src in "$MSHV_ROOT"/tools/testing/selftests/*/*_test.c; do
		name=$(basename "$src" .c)
		"$ucc" -static -O2 -Wall -Werror -D_GNU_SOURCE \
			-isystem "$out/usr/include" -I "$ksrc/tools/testing/selftests" \
			-o "$out/selftests/$name" "$src"
	done
}

# The benchmarks (tools/bench/*.c), static, against this arch's uapi headers.
build_bench() {
	build_headers
	local src
	for src in "$MSHV_ROOT"/tools/bench/*.c; do
		"$ucc" -static -O2 -Wall -Wextra -Werror -isystem "$out/usr/include" \
			-I "$MSHV_ROOT/tools/testing/selftests/mshv" \
			-o "$out/$(basename "$src" .c)" "$src"
	done
}

# The test suite of rust-vmm's mshv-ioctls 0.7.1 (x86_64 only: most of its tests are), built
# static from the crate cargo fetches, its dependencies pinned by tools/mshv-ioctls/suite.Cargo.lock.
build_mshv_ioctls() {
	[ "$arch" = x86_64 ] || die "the mshv-ioctls suite is built for x86_64 only"
	local pin="$MSHV_ROOT/tools/mshv-ioctls" src="$out/mshv-ioctls-src" bin
	cargo fetch --locked --manifest-path "$pin/Cargo.toml" >&2
	rm -rf "$src"
	cp -r "$(cargo metadata --locked --format-version 1 --manifest-path "$pin/Cargo.toml" |
		python3 -c 'import json,sys,os; m=json.load(sys.stdin); print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"]=="mshv-ioctls"))')" "$src"
	cp "$pin/suite.Cargo.lock" "$src/Cargo.lock"
	bin=$(cd "$src" && RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR="$MSHV_CACHE/cargo-target" \
		cargo test --locked --no-run --target x86_64-unknown-linux-gnu 2>&1 |
		tee /dev/stderr | sed -n 's/.*Executable unittests src\/lib.rs (\(.*\))$/\1/p')
	[ -n "$bin" ] || die "mshv-ioctls: no test binary"
	case "$bin" in /*) ;; *) bin="$MSHV_CACHE/cargo-target/${bin#target/}" ;; esac
	cp "$bin" "$out/mshv_ioctls_tests"
}

# The sample VMM (samples/mshv-vmm), static, for x86_64.
build_sample() {
	[ "$arch" = x86_64 ] || die "the sample VMM is built for x86_64 only"
	(cd "$MSHV_ROOT/samples/mshv-vmm" &&
		RUSTFLAGS="-C target-feature=+crt-static -D warnings" \
			CARGO_TARGET_DIR="$MSHV_CACHE/cargo-target" \
			cargo build --locked --release --target x86_64-unknown-linux-gnu)
	cp "$MSHV_CACHE/cargo-target/x86_64-unknown-linux-gnu/release/mshv-vmm" "$out/mshv-vmm"
}

[ $# -gt 0 ] || set -- all
for what in "$@"; do
	case "$what" in
	module) build_module ;;
	shipping) build_shipping ;;
	clippy) build_clippy ;;
	runner-module) build_runner_module ;;
	init) build_init ;;
	selftests) build_selftests ;;
	bench) build_bench ;;
	mshv-ioctls) build_mshv_ioctls ;;
	sample) build_sample ;;
	all)
		build_module
		build_init
		build_selftests
		;;
	*) die "unknown part: $what" ;;
	esac
done
