#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian bookworm machine and builds the test
# kernels. Idempotent: each step is skipped when its result is already in the cache.
#
#   tools/setup/setup.sh [packages|bindgen|source|toolchain|kernel ARCH|kernels ARCH...|qemu|
#                         qemu-dir|all]
#
# The cache lives in ${XDG_CACHE_HOME:-$HOME/.cache}/mshv-rs (override with MSHV_CACHE).
set -euo pipefail
source "$(dirname "$0")/env.sh"

APT_PACKAGES=(
	clang-19 lld-19 llvm-19 libclang-19-dev
	rustc-web rust-web-src rustfmt-web rust-web-clippy
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	make rsync flex bison bc libelf-dev libssl-dev cpio kmod perl python3 xz-utils binutils
)
# qemu-system-* must match the qemu-utils the machines ship (bookworm-backports).
BACKPORTS_PACKAGES=(qemu-system-x86 qemu-system-arm)
BINDGEN_VERSION=0.73.2
# The QEMU that runs inside the x86_64 test VM as a VMM of /dev/mshv (-accel mshv, 10.2 and
# later): Debian's, from trixie-backports.
QEMU_SUITE=trixie-backports
QEMU_MIN_VERSION=1:11.1

# A private apt configuration: other suites are used without touching the system's sources.
private_apt() {
	local name=$1
	shift
	local dir="$MSHV_CACHE/apt/$name"
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	printf '%s\n' "$@" >"$dir/sources.list"
	echo "-o Dir::Etc::sourcelist=$dir/sources.list -o Dir::Etc::sourceparts=-" \
		"-o Dir::State::Lists=$dir/lists -o Dir::Cache=$dir/cache -o APT::Sandbox::User=root"
}

missing_packages() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
			echo "$p"
	done
}

step_packages() {
	local missing
	missing=$(missing_packages "${APT_PACKAGES[@]}")
	if [ -n "$missing" ]; then
		log "installing: $missing"
		apt-get update -q >/dev/null
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
	fi
	missing=$(missing_packages "${BACKPORTS_PACKAGES[@]}")
	if [ -n "$missing" ]; then
		log "installing from bookworm-backports: $missing"
		local m="http://deb.debian.org/debian"
		local opts
		opts=$(private_apt bookworm-backports \
			"deb $m bookworm main" "deb $m bookworm-updates main" \
			"deb http://deb.debian.org/debian-security bookworm-security main" \
			"deb $m bookworm-backports main")
		# shellcheck disable=SC2086
		apt-get $opts update -q >/dev/null
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get $opts install -y -q --no-install-recommends \
			-t bookworm-backports $missing
	fi
}

step_bindgen() {
	local bg="$MSHV_CACHE/tools/bin/bindgen"
	if [ -x "$bg" ] && "$bg" --version | grep -q "$BINDGEN_VERSION"; then
		return
	fi
	log "building bindgen-cli $BINDGEN_VERSION"
	cargo install --locked --quiet --root "$MSHV_CACHE/tools" --version "$BINDGEN_VERSION" \
		bindgen-cli
}

# Unpacks the kernel source into $MSHV_CACHE/src/linux-<version> and records the path.
step_source() {
	if [ -f "$MSHV_CACHE/src/current" ] && [ -f "$(ksrc)/Makefile" ]; then
		return
	fi
	local m="http://deb.debian.org/debian"
	local opts
	opts=$(private_apt kernel-source "deb $m trixie-backports main" "deb $m sid main")
	# shellcheck disable=SC2086
	apt-get $opts update -q >/dev/null
	local pkg=linux-source-7.3
	# shellcheck disable=SC2086
	if ! apt-cache $opts show "$pkg" >/dev/null 2>&1; then
		# shellcheck disable=SC2086
		pkg=$(apt-cache $opts pkgnames linux-source-7. | sort -V | tail -n 1)
		[ -n "$pkg" ] || die "no linux-source-7.* package found"
	fi
	log "kernel source package: $pkg"
	local work="$MSHV_CACHE/src/download"
	rm -rf "$work"
	mkdir -p "$work"
	# shellcheck disable=SC2086
	(cd "$work" && apt-get $opts download -q "$pkg")
	dpkg-deb -x "$work"/"$pkg"_*.deb "$work/deb"
	local tarball
	tarball=$(find "$work/deb/usr/src" -name 'linux-source-*.tar.xz' | head -n 1)
	[ -n "$tarball" ] || die "no source tarball in $pkg"
	tar -C "$MSHV_CACHE/src" -xf "$tarball"
	local dir
	dir="$MSHV_CACHE/src/$(basename "$tarball" .tar.xz)"
	[ -f "$dir/Makefile" ] || die "unexpected layout of $tarball"
	rm -rf "$work"
	echo "$dir" >"$MSHV_CACHE/src/current"
	log "kernel source: $dir ($(make -s -C "$dir" kernelversion))"
}

# The fragments that make up an arch's test kernel configuration. MSHV_KERNEL_VARIANT=base
# leaves the debugging out (only to measure what the debugging costs).
fragments() {
	local c="$MSHV_ROOT/tools/configs"
	echo "$c/common.config"
	[ "${MSHV_KERNEL_VARIANT:-}" = base ] || echo "$c/debug.config"
	echo "$c/$1.config"
	[ "${MSHV_KERNEL_VARIANT:-}" = base ] || [ ! -f "$c/debug-$1.config" ] ||
		echo "$c/debug-$1.config"
}

# The cache key of a test kernel: kernel version, fragments and toolchain.
kernel_key() {
	local src
	src=$(ksrc)
	{
		basename "$src"
		# shellcheck disable=SC2046
		cat $(fragments "$1")
		"$KRUSTC" --version
		"$LLVM_BIN/clang" --version | head -n 1
		"$MSHV_CACHE/tools/bin/bindgen" --version
	} | sha256sum | cut -c1-12
}

# Prints the object tree of the test kernel for an arch (built or not).
kernel_dir() { echo "$MSHV_CACHE/build/$1${MSHV_KERNEL_VARIANT:+-$MSHV_KERNEL_VARIANT}-$(kernel_key "$1")"; }

step_kernel() {
	local arch=$1 src obj
	step_toolchain
	src=$(ksrc)
	obj=$(kernel_dir "$arch")
	# One build of a kernel tree at a time (make run and make check may start together).
	mkdir -p "$MSHV_CACHE/build"
	exec 9>"$obj.lock"
	flock 9
	if [ -f "$obj/.mshv-built" ]; then
		echo "$obj" >"$MSHV_CACHE/build/$arch.current"
		return
	fi
	log "building the $arch test kernel in $obj (this takes a while)"
	mkdir -p "$obj"
	local start=$SECONDS
	# shellcheck disable=SC2046
	make -s -C "$src" O="$obj" ARCH="$(karch "$arch")" $(kmake_args) tinyconfig >/dev/null
	# shellcheck disable=SC2046
	(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m .config $(fragments "$arch") >/dev/null)
	# shellcheck disable=SC2046
	make -s -C "$src" O="$obj" ARCH="$(karch "$arch")" $(kmake_args) olddefconfig >/dev/null
	check_config "$arch" "$obj/.config"
	# A full build (not only the image) so Module.symvers exists for M= builds.
	# shellcheck disable=SC2046
	make -s -C "$src" O="$obj" ARCH="$(karch "$arch")" $(kmake_args) -j"$(($(nproc) + 1))"
	echo "$((SECONDS - start))" >"$obj/.mshv-build-seconds"
	touch "$obj/.mshv-built"
	echo "$obj" >"$MSHV_CACHE/build/$arch.current"
	log "$arch test kernel built in $((SECONDS - start)) s"
}

# Every option the fragments ask for must have survived olddefconfig: a silently dropped option
# (a missing dependency) would give a test kernel that checks less than it claims.
check_config() {
	local arch=$1 config=$2 line bad=0
	# shellcheck disable=SC2046
	while read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$config" || { echo "not in the $arch config: $line" >&2; bad=1; }
			;;
		"# CONFIG_"*" is not set")
			local sym=${line#\# }
			sym=${sym%% *}
			grep -q "^$sym=" "$config" && { echo "set in the $arch config: $sym" >&2; bad=1; }
			;;
		esac
	done < <(cat $(fragments "$arch"))
	[ "$bad" = 0 ] || die "the $arch kernel configuration lost options (see above)"
}

# The trixie suites, for QEMU and the shared libraries it was built against.
trixie_apt() {
	local m="http://deb.debian.org/debian"
	# Dir::State::status=/dev/null: resolve against an empty system, not the host's bookworm.
	echo "$(private_apt trixie "deb $m trixie main" "deb $m trixie-updates main" \
		"deb http://deb.debian.org/debian-security trixie-security main" \
		"deb $m trixie-backports main") -o Dir::State::status=/dev/null"
}

# Prints the QEMU cache tree: a root file system overlay holding qemu-system-x86_64 as Debian
# installs it, its dynamic loader, the shared libraries it needs (and only those) and the
# firmware files a q35 machine loads; the test VM's initramfs carries it (vmrun.py --tree).
qemu_dir() { echo "$MSHV_CACHE/qemu/$(cat "$MSHV_CACHE/qemu/current" 2>/dev/null || echo none)"; }

step_qemu() {
	step_packages
	if [ -f "$(qemu_dir)/.mshv-built" ]; then
		return
	fi
	local opts version work tree
	opts=$(trixie_apt)
	# shellcheck disable=SC2086
	apt-get $opts update -q >/dev/null
	# shellcheck disable=SC2086
	version=$(apt-cache $opts show qemu-system-x86 | sed -n 's/^Version: //p' | sort -V |
		tail -n 1)
	dpkg --compare-versions "$version" ge "$QEMU_MIN_VERSION" ||
		die "qemu-system-x86 $version in trixie: $QEMU_MIN_VERSION or later needed"
	log "QEMU for the test VM: qemu-system-x86 $version ($QEMU_SUITE)"
	work="$MSHV_CACHE/qemu/download"
	rm -rf "$work"
	mkdir -p "$work/debs" "$work/root"
	# Every package qemu-system-x86 depends on, recursively; only the libraries are used.
	local pkgs
	# shellcheck disable=SC2086
	pkgs=$(apt-cache $opts -t "$QEMU_SUITE" depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances qemu-system-x86 |
		grep -E '^(lib|zlib)' | sort -u)
	# Each at the version an install from $QEMU_SUITE would take (-t): the libraries QEMU was
	# built against, not older ones.
	# shellcheck disable=SC2086
	(cd "$work/debs" && apt-get $opts -t "$QEMU_SUITE" download -q $pkgs \
		"qemu-system-x86=$version" "qemu-system-data/$QEMU_SUITE" "seabios/$QEMU_SUITE" \
		>/dev/null)
	local deb
	for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
	tree="$MSHV_CACHE/qemu/${version//[:~+]/_}"
	rm -rf "$tree"
	mkdir -p "$tree/usr/bin" "$tree/lib64" "$tree/lib/x86_64-linux-gnu" "$tree/usr/share/qemu" \
		"$tree/usr/share/seabios"
	cp "$work/root/usr/bin/qemu-system-x86_64" "$tree/usr/bin/"
	# The loader itself, not /usr/lib64's link to it (which could name the host's).
	cp "$work/root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$tree/lib64/"
	# The shared libraries the binary needs, by soname, from the closure of its DT_NEEDED.
	local todo=("$tree/usr/bin/qemu-system-x86_64") so lib needed
	while [ ${#todo[@]} -gt 0 ]; do
		needed=$(readelf -dW "${todo[0]}") || die "readelf failed on ${todo[0]}"
		for so in $(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$needed"); do
			[ -e "$tree/lib/x86_64-linux-gnu/$so" ] && continue
			lib=$(find "$work/root/usr/lib/x86_64-linux-gnu" "$work/root/lib/x86_64-linux-gnu" \
				-maxdepth 1 -name "$so" 2>/dev/null | head -n 1 || true)
			[ -n "$lib" ] || die "QEMU needs $so, which no downloaded package has"
			cp -L "$lib" "$tree/lib/x86_64-linux-gnu/$so"
			todo+=("$tree/lib/x86_64-linux-gnu/$so")
		done
		todo=("${todo[@]:1}")
	done
	# What a q35 machine with -nodefaults loads: SeaBIOS (unless -bios), the vapic option ROM,
	# the -kernel loaders.
	local f
	for f in kvmvapic.bin linuxboot_dma.bin multiboot_dma.bin pvh.bin; do
		cp "$work/root/usr/share/qemu/$f" "$tree/usr/share/qemu/"
	done
	cp "$work/root/usr/share/seabios/bios-256k.bin" "$tree/usr/share/seabios/"
	# The tree must run on its own (its loader, its libraries) and have the accelerator, before
	# it is kept.
	local accels
	accels=$("$tree/lib64/ld-linux-x86-64.so.2" --library-path "$tree/lib/x86_64-linux-gnu" \
		"$tree/usr/bin/qemu-system-x86_64" -accel help 2>&1) ||
		die "the QEMU tree does not run: $accels"
	grep -qx mshv <<<"$accels" || die "qemu-system-x86 $version has no mshv accelerator: $accels"
	echo "$version" >"$tree/.mshv-version"
	touch "$tree/.mshv-built"
	basename "$tree" >"$MSHV_CACHE/qemu/current"
	rm -rf "$work"
	log "QEMU tree: $tree ($(du -sh "$tree" | cut -f1), $(ls "$tree/lib/x86_64-linux-gnu" |
		wc -l) libraries)"
}

step_toolchain() {
	step_packages
	step_bindgen
	step_source
}

main() {
	mkdir -p "$MSHV_CACHE"
	case "${1:-all}" in
	packages) step_packages ;;
	bindgen) step_bindgen ;;
	source) step_source ;;
	kernel) step_kernel "${2:?arch}" ;;
	kernel-dir) kernel_dir "${2:?arch}" ;;
	toolchain) step_toolchain ;;
	qemu) step_qemu ;;
	qemu-dir) qemu_dir ;;
	kernels)
		shift
		for arch in "$@"; do step_kernel "$arch"; done
		;;
	all)
		step_kernel x86_64
		step_kernel arm64
		step_qemu
		;;
	*) die "usage: $0 [packages|bindgen|source|toolchain|kernel ARCH|kernels ARCH...|qemu|qemu-dir|all]" ;;
	esac
}

main "$@"
