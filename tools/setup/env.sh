# shellcheck shell=bash
# Common environment for the project's scripts: where the cache lives, which toolchain the
# kernel and the module are built with. Sourced, never run.

MSHV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MSHV_CACHE=${MSHV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mshv-rs}

# The kernel's Rust must be built by the rustc whose library source is installed beside it
# (Debian's rustc-web + rust-web-src); the rustup toolchain that may come first on PATH has none.
KRUSTC=${KRUSTC:-/usr/bin/rustc}
LLVM_BIN=${LLVM_BIN:-/usr/lib/llvm-19/bin}
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}
export PATH="$LLVM_BIN:$MSHV_CACHE/tools/bin:$PATH"
# cargo (for bindgen-cli) from rustup, in case the caller's PATH lacks it.
if [ -d "$HOME/.cargo/bin" ]; then
	export PATH="$PATH:$HOME/.cargo/bin"
fi

# Arguments every kernel or module make gets.
kmake_args() {
	echo "LLVM=1 RUSTC=$KRUSTC BINDGEN=$MSHV_CACHE/tools/bin/bindgen" \
		"RUSTFMT=/usr/bin/rustfmt CLIPPY_DRIVER=/usr/bin/clippy-driver"
}

# Kernel ARCH= for one of our arch names.
karch() {
	case "$1" in
	x86_64) echo x86_64 ;;
	arm64) echo arm64 ;;
	*) echo "unknown arch $1" >&2; return 1 ;;
	esac
}

# Where the project's parts for arch $1 are built: build/<arch>, or build/<arch>-<variant> for a
# kernel variant (MSHV_KERNEL_VARIANT=base: no debugging), which has outputs of its own.
out_dir() {
	karch "$1" >/dev/null || return 1
	echo "$MSHV_ROOT/build/$1${MSHV_KERNEL_VARIANT:+-$MSHV_KERNEL_VARIANT}"
}

# The unpacked kernel source tree (tools/setup/setup.sh source).
ksrc() {
	cat "$MSHV_CACHE/src/current" 2>/dev/null ||
		die "no kernel source: run tools/setup/setup.sh source"
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# progress LOG WHAT COMMAND...: runs a set-up step with its output appended to LOG, on one line
# of its own: "[time] WHAT ... N s". On failure, the step's output's tail, then exit.
progress() {
	local file=$1 what=$2 start=$SECONDS
	shift 2
	printf '[%s] %s ... ' "$(date +%H:%M:%S)" "$what" >&2
	echo "=== $what: $*" >>"$file"
	if "$@" >>"$file" 2>&1; then
		printf '%s s\n' "$((SECONDS - start))" >&2
		return
	fi
	printf 'failed after %s s; the last lines of %s:\n' "$((SECONDS - start))" "$file" >&2
	tail -n 30 "$file" >&2
	exit 1
}
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
