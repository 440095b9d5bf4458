#!/usr/bin/env bash
# `make check`: every build, check and test, on x86_64 and arm64. Sets up whatever is missing
# first. Each step adds "PASS name" / "FAIL name: why" / "SKIP name: why" lines to a results
# file; the last line printed is the total, "N passed, N failed".
#
#   tools/check.sh            everything
#   ARCHES=x86_64 tools/check.sh   one arch only
set -uo pipefail
source "$(dirname "$0")/setup/env.sh"

ARCHES=${ARCHES:-x86_64 arm64}
mkdir -p "$MSHV_ROOT/build"
results="$MSHV_ROOT/build/results.txt"
logs="$MSHV_ROOT/build/logs"
rm -rf "$logs"
mkdir -p "$logs"
: >"$results"
started=$SECONDS

# step NAME COMMAND...: runs a command with its output in build/logs/NAME.log; one result line.
step() {
	local name=$1
	shift
	local t=$SECONDS
	if "$@" >"$logs/$name.log" 2>&1; then
		echo "PASS $name" >>"$results"
		log "PASS $name ($((SECONDS - t)) s)"
	else
		echo "FAIL $name: see build/logs/$name.log" >>"$results"
		log "FAIL $name ($((SECONDS - t)) s), last lines of build/logs/$name.log:"
		tail -n 20 "$logs/$name.log" | sed 's/^/    /' >&2
		return 1
	fi
}

# Result lines produced by a tool itself (it appends to $results).
tool() {
	local name=$1
	shift
	local t=$SECONDS
	if "$@" >"$logs/$name.log" 2>&1; then
		log "ok $name ($((SECONDS - t)) s)"
	else
		log "FAIL in $name ($((SECONDS - t)) s):"
		grep -E '^(FAIL|# )' "$logs/$name.log" | sed 's/^/    /' >&2
		grep -q "^FAIL" "$logs/$name.log" || echo "FAIL $name: see build/logs/$name.log" >>"$results"
	fi
}

style_rustfmt() {
	local ksrc
	ksrc=$(ksrc)
	git -C "$MSHV_ROOT" ls-files -co --exclude-standard '*.rs' |
		(cd "$MSHV_ROOT" && xargs /usr/bin/rustfmt --check --config-path "$ksrc/.rustfmt.toml")
}

style_checkpatch() {
	local ksrc files
	ksrc=$(ksrc)
	files=$(git -C "$MSHV_ROOT" ls-files -co --exclude-standard '*.c' '*.h' '*.S')
	# CamelCase: the kernel's own names the shim uses (MSR_MTRRcap, MTRRphysBase_MSR, ...),
	# which checkpatch cannot tell from new ones without the tree's headers.
	(cd "$MSHV_ROOT" && "$ksrc/scripts/checkpatch.pl" --no-tree --strict --quiet \
		--ignore CAMELCASE -f $files)
}

# Every KUnit suite is built only with CONFIG_MSHV_RUST_KUNIT_TEST (the build users get has none):
# the line before each #[kunit_tests(...)] says so.
style_kunit_gated() {
	local bad
	bad=$(git -C "$MSHV_ROOT" ls-files -co --exclude-standard 'drivers/*.rs' | (cd "$MSHV_ROOT" &&
		xargs awk '/#\[kunit_tests\(/ && prev !~ /#\[cfg\(CONFIG_MSHV_RUST_KUNIT_TEST\)\]/ {
			print FILENAME ":" FNR } { prev = $0 }'))
	[ -z "$bad" ] || { echo "KUnit suites not behind CONFIG_MSHV_RUST_KUNIT_TEST: $bad"; return 1; }
}

# expect_line NAME REGEX FILE: one result line, PASS if FILE has a line matching REGEX.
expect_line() {
	if grep -q "$2" "$3"; then
		echo "PASS $1" >>"$results"
	else
		echo "FAIL $1: no line matches '$2' in $3" >>"$results"
	fi
}

# The runner must fail a run with a failing KUnit case, a WARN and a leak, naming each, and pass
# it without them.
runner_selftest() {
	local arch=$1 out kobj
	out=$(out_dir "$arch")
	kobj=$("$MSHV_ROOT/tools/setup/setup.sh" kernel-dir "$arch")
	local ko="$out/vmrun-selftest/vmrun_selftest.ko"
	local vmrun=("$MSHV_ROOT/tools/vm/vmrun.py" test --arch "$arch" --kernel "$kobj"
		--init "$out/init" --expect-kunit vmrun_selftest)

	if "${vmrun[@]}" --module "$ko" --log "$logs/runner-clean.console" \
		>"$logs/runner-clean.log" 2>&1; then
		echo "PASS runner.$arch.passes-a-clean-run" >>"$results"
	else
		echo "FAIL runner.$arch.passes-a-clean-run: see build/logs/runner-clean.log" >>"$results"
	fi

	local bad="$logs/runner-bad.log"
	if "${vmrun[@]}" --module "$ko:fail_kunit=1 warn=1 leak=1" --log "$logs/runner-bad.console" \
		>"$bad" 2>&1; then
		echo "FAIL runner.$arch.fails-a-bad-run: the runner passed it" >>"$results"
		return
	fi
	# Each misbehaviour must be named in the runner's report.
	expect_line "runner.$arch.catches-failing-kunit" \
		"^FAIL $arch.kunit.vmrun_selftest.passes_unless_told_to_fail" "$bad"
	expect_line "runner.$arch.catches-warn" "^FAIL $arch.kernel-log: .*WARNING: " "$bad"
	expect_line "runner.$arch.catches-leak" "^FAIL $arch.kmemleak: .*unreferenced object" "$bad"
}

# The KUnit suites a personality's module has: those of its own files and of the shared ones.
# $1: the other personality's files (a path prefix under drivers/mshv/).
suites_without() {
	grep -rlE '#\[kunit_tests\(' "$MSHV_ROOT/drivers" | grep -v "^$MSHV_ROOT/drivers/mshv/$1" |
		xargs grep -hoE '#\[kunit_tests\(\w+\)\]' | sed -E 's/.*\((\w+)\).*/\1/'
}

# The root personality (mshv_rs) in one VM: every selftest but the VTL personality's (mshv_vtl_*),
# rust-vmm's client tests and the sample VMM on x86_64.
vm_tests() {
	local arch=$1 out kobj
	out=$(out_dir "$arch")
	kobj=$("$MSHV_ROOT/tools/setup/setup.sh" kernel-dir "$arch")
	local args=() s p
	for s in $(suites_without vtl); do args+=(--expect-kunit "$s"); done
	for p in "$out"/selftests/*; do
		case $(basename "$p") in mshv_vtl_* | mshv_qemu_*) ;; *) args+=(--selftest "$p") ;; esac
	done
	# rust-vmm's own client tests, against their expectations (tools/mshv-ioctls/expected).
	[ "$arch" != x86_64 ] ||
		args+=(--libtest "$out/mshv_ioctls_tests:$MSHV_ROOT/tools/mshv-ioctls/expected"
			--must-exit-0 "$out/mshv-vmm")
	# The build users get (no simulator) must refuse to load where there is no Hyper-V root,
	# saying why.
	args+=(--refused-module "$out/shipping/mshv_rs.ko:19:$shipping_refusal")
	"$MSHV_ROOT/tools/vm/vmrun.py" test --arch "$arch" --kernel "$kobj" --init "$out/init" \
		--module "$out/mshv/mshv_rs.ko" --log "$logs/vm-$arch.console" --results "$results" \
		"${args[@]}"
}

# The VTL personality (mshv_vtl) in another (both register /dev/mshv), its results named
# <arch>-vtl.*: its selftests (mshv_vtl_*) with the simulated hypervisor hosting the kernel at
# VTL2.
vm_vtl_tests() {
	local arch=$1 out kobj
	out=$(out_dir "$arch")
	kobj=$("$MSHV_ROOT/tools/setup/setup.sh" kernel-dir "$arch")
	local args=() s p
	for s in $(suites_without root); do args+=(--expect-kunit "$s"); done
	for p in "$out"/selftests/mshv_vtl_*; do args+=(--selftest "$p"); done
	args+=(--refused-module "$out/shipping/mshv_vtl.ko:19:$shipping_vtl_refusal")
	# /dev/mshv is mshv_vtl's here: the root module must leave it (and the SynIC) alone.
	args+=(--refused-late "$out/mshv/mshv_rs.ko:16:/dev/mshv is another driver's")
	# Booted with noxsave, as a VTL2 kernel must be (only the legacy FP state is switched),
	# and with mem= below the VM's RAM: the rest is VTL0's memory, which is not the kernel's.
	"$MSHV_ROOT/tools/vm/vmrun.py" test --arch "$arch" --label "$arch-vtl" --kernel "$kobj" \
		--init "$out/init" --module "$out/mshv/mshv_vtl.ko" --memory 1024 \
		--cmdline "noxsave mem=768M" \
		--log "$logs/vm-vtl-$arch.console" --results "$results" "${args[@]}"
}

# The root personality once more (results <arch>-root-sched.*), against the simulated
# hypervisor as a host whose root scheduler runs the VPs (hypervisor=3): the run, doorbell and
# resample tests again, MSHV_RUN_VP dispatching each VP (HVCALL_DISPATCH_VP).
vm_root_sched_tests() {
	local arch=$1 out kobj rc=0
	out=$(out_dir "$arch")
	kobj=$("$MSHV_ROOT/tools/setup/setup.sh" kernel-dir "$arch")
	"$MSHV_ROOT/tools/vm/vmrun.py" test --arch "$arch" --label "$arch-root-sched" \
		--kernel "$kobj" --init "$out/init" --module "$out/mshv/mshv_rs.ko:hypervisor=3" \
		--selftest "$out/selftests/mshv_run_test" \
		--selftest "$out/selftests/mshv_partition_test" \
		--log "$logs/vm-root-sched-$arch.console" --results "$results" || rc=$?
	local want="$arch-root-sched.selftest.mshv_run_test.run.the_root_scheduler_has_the_vp_dispatched"
	grep -qxF "PASS $want" "$results" || { echo "FAIL $want: did not pass" | tee -a "$results"; rc=1; }
	return $rc
}

# The root module loaded when the VM powers off (results <arch>-reboot.*): its reboot notifier
# must undo the SynIC on every CPU. The simulator checks, last of the notifiers, and logs a
# "BUG:" line (a kernel-log failure) if not, a line saying so if it is.
vm_reboot_tests() {
	local arch=$1 out kobj rc=0 log="$logs/vm-reboot-$arch.console"
	out=$(out_dir "$arch")
	kobj=$("$MSHV_ROOT/tools/setup/setup.sh" kernel-dir "$arch")
	"$MSHV_ROOT/tools/vm/vmrun.py" test --arch "$arch" --label "$arch-reboot" \
		--kernel "$kobj" --init "$out/init" --module "$out/mshv/mshv_rs.ko" --keep-loaded \
		--log "$log" --results "$results" || rc=$?
	local want="$arch-reboot.synic-off-at-reboot"
	if grep -q "simulator: at reboot the root's SynIC is off on all" "$log"; then
		echo "PASS $want" | tee -a "$results"
	else
		echo "FAIL $want: the simulator's reboot check did not report" | tee -a "$results"
		rc=1
	fi
	return $rc
}

# The VTL personality once more (x86_64, results <arch>-vtl-sint0.*), against the simulated
# hypervisor as one that offers no intercept page (hypervisor=3): intercepts come as SINT0
# messages, and the VTL-return loop takes them from there (upstream's fallback).
vm_vtl_sint0_tests() {
	local arch=$1 out kobj rc=0
	out=$(out_dir "$arch")
	kobj=$("$MSHV_ROOT/tools/setup/setup.sh" kernel-dir "$arch")
	"$MSHV_ROOT/tools/vm/vmrun.py" test --arch "$arch" --label "$arch-vtl-sint0" \
		--kernel "$kobj" --init "$out/init" --module "$out/mshv/mshv_vtl.ko:hypervisor=3" \
		--memory 1024 --cmdline "noxsave mem=768M" \
		--selftest "$out/selftests/mshv_vtl_test" \
		--selftest "$out/selftests/mshv_vtl_openhcl_test" \
		--selftest "$out/selftests/mshv_vtl_fuzz_test" \
		--log "$logs/vm-vtl-sint0-$arch.console" --results "$results" || rc=$?
	# The run is about the SINT0 path: its own test must have passed, not skipped.
	local want="$arch-vtl-sint0.selftest.mshv_vtl_test.run"
	want+=".without_the_intercept_page_intercepts_come_on_sint0"
	grep -qxF "PASS $want" "$results" || { echo "FAIL $want: did not pass" | tee -a "$results"; rc=1; }
	return $rc
}

# QEMU's own mshv accelerator as the VMM (x86_64, results <arch>-qemu.*): Debian's QEMU with its
# libraries carried into the VM (tools/setup/setup.sh qemu), the guest's I/O played through
# the simulator (tools/testing/selftests/mshv/mshv_qemu_test.c). Every case must pass, not skip;
# the VM's time allows each its whole TEST_F_TIMEOUT.
vm_qemu_tests() {
	local arch=$1 out kobj rc=0 tree
	out=$(out_dir "$arch")
	kobj=$("$MSHV_ROOT/tools/setup/setup.sh" kernel-dir "$arch")
	tree=$("$MSHV_ROOT/tools/setup/setup.sh" qemu-dir)
	[ -f "$tree/.mshv-built" ] || { echo "FAIL $arch-qemu: no QEMU tree" | tee -a "$results"; return 1; }
	"$MSHV_ROOT/tools/vm/vmrun.py" test --arch "$arch" --label "$arch-qemu" \
		--kernel "$kobj" --init "$out/init" --module "$out/mshv/mshv_rs.ko" --tree "$tree" \
		--selftest "$out/selftests/mshv_qemu_test" --timeout 1500 \
		--log "$logs/vm-qemu-$arch.console" --results "$results" || rc=$?
	local case
	for case in the_guests_string_and_exit_status_come_from_qemus_devices \
		the_monitors_registers_stop_cont_and_quit system_reset_starts_the_guest_over \
		device_memory_accesses_reach_qemus_hpet; do
		grep -qxF "PASS $arch-qemu.selftest.mshv_qemu_test.qemu.$case" "$results" ||
			{ echo "FAIL $arch-qemu.$case: did not pass" | tee -a "$results"; rc=1; }
	done
	return $rc
}

# What the shipping module says when it refuses to load in the test VM (no Hyper-V).
shipping_refusal='mshv_rs: .*not running in a Hyper-V root partition'
shipping_vtl_refusal='mshv_vtl: .*not running in VTL2 of a Hyper-V partition'

# shellcheck disable=SC2086
step setup "$MSHV_ROOT/tools/setup/setup.sh" kernels $ARCHES || {
	echo "0 passed, 1 failed"
	exit 1
}
case " $ARCHES " in
*" x86_64 "*) step setup.qemu "$MSHV_ROOT/tools/setup/setup.sh" qemu ;;
esac
tool kconfig "$MSHV_ROOT/tools/kconfig-check.sh" "$results"
step style.rustfmt style_rustfmt
step style.checkpatch style_checkpatch
step style.kunit-gated style_kunit_gated
for arch in $ARCHES; do
	step "build.$arch.module" "$MSHV_ROOT/tools/build.sh" "$arch" module
	step "build.$arch.shipping" "$MSHV_ROOT/tools/build.sh" "$arch" shipping
	step "build.$arch.clippy" "$MSHV_ROOT/tools/build.sh" "$arch" clippy
	step "build.$arch.userspace" "$MSHV_ROOT/tools/build.sh" "$arch" init selftests
	[ "$arch" != x86_64 ] ||
		step "build.$arch.mshv-ioctls" "$MSHV_ROOT/tools/build.sh" "$arch" mshv-ioctls sample
	if grep -q "^FAIL build.$arch" "$results"; then
		echo "SKIP vm.$arch: the $arch build failed" >>"$results"
		continue
	fi
	tool "vm-$arch" vm_tests "$arch"
	tool "vm-vtl-$arch" vm_vtl_tests "$arch"
	[ "$arch" != x86_64 ] || tool "vm-vtl-sint0-$arch" vm_vtl_sint0_tests "$arch"
	tool "vm-root-sched-$arch" vm_root_sched_tests "$arch"
	tool "vm-reboot-$arch" vm_reboot_tests "$arch"
	[ "$arch" != x86_64 ] || tool "vm-qemu-$arch" vm_qemu_tests "$arch"
done
# The runner's own test, on one arch: its logic does not depend on the arch, and the last one
# (arm64 by default) boots fastest.
last=${ARCHES##* }
if step "build.$last.runner-module" "$MSHV_ROOT/tools/build.sh" "$last" runner-module; then
	runner_selftest "$last"
fi

echo
echo "Results (details in build/logs/):"
sed 's/^/  /' "$results"
passed=$(grep -c '^PASS' "$results")
failed=$(grep -c '^FAIL' "$results")
skipped=$(grep -c '^SKIP' "$results")
echo "  $passed results passed; make check took $((SECONDS - started)) s"
tail=""
[ "$skipped" -gt 0 ] && tail=", $skipped skipped"
echo "$passed passed, $failed failed$tail"
[ "$failed" -eq 0 ]
