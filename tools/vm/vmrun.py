#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Boots a test kernel under QEMU (TCG) with a generated initramfs and reads what happened.

Two modes:

  vmrun.py test ...   load modules, collect KUnit and kselftest results, scan the kernel log;
                      prints one line per result and ends with "N passed, N failed".
  vmrun.py run ... -- PROGRAM [ARG...]
                      load modules and run one program; prints a line per step and its
                      output (the kernel log to --log, shown when something failed or with
                      --verbose) and exits with the program's status.

The VM's PID 1 is tools/vm/init.c, which carries out a job file and reports on the console with
lines that start with "MSHV-VM: ".
"""

import argparse
import os
import re
import selectors
import stat
import subprocess
import sys
import tempfile
import time

MARK = "MSHV-VM: "

ARCHES = {
    "x86_64": {
        # qboot: a firmware that only loads -kernel (SeaBIOS draws on the serial console).
        # virtio-rng: a PCI device with a memory BAR of four pages and no option ROM, for the
        # device-memory tests (nothing binds it).
        "qemu": ["qemu-system-x86_64", "-machine", "q35", "-cpu", "max", "-bios", "qboot.rom",
                 "-device", "virtio-rng-pci"],
        "image": "arch/x86/boot/bzImage",
        "console": "ttyS0",
        "cmdline": "",
    },
    "arm64": {
        # EL2 is kept for the hypervisor-facing code: the kernel's hyp stub owns it (nVHE).
        # pauth-impdef makes pointer authentication cheap under TCG.
        "qemu": ["qemu-system-aarch64", "-machine", "virt,virtualization=on",
                 "-cpu", "max,pauth-impdef=on"],
        "image": "arch/arm64/boot/Image",
        "console": "ttyAMA0",
        "cmdline": "kvm-arm.mode=nvhe id_aa64mmfr1.vh=0",
    },
}

# Console lines that mean the kernel found a bug. Any of them fails a run.
KERNEL_PROBLEMS = re.compile(
    r"(BUG: |WARNING: |Oops|Kernel panic|kernel BUG at|UBSAN: |"
    r"general protection fault|Unable to handle kernel|Internal error: |"
    r"INFO: |list_(add|del) corruption|kmemleak: .*new suspected memory leaks|"
    r"unreferenced object 0x|Call Trace:|Call trace:)")

KTAP_RESULT = re.compile(r"^\s*(ok|not ok) (\d+) (\S+)(.*)$")


def write_cpio(path, files):
    """Writes a newc cpio archive. files: list of (name in archive, host path or None for a
    directory, mode)."""

    def header(ino, mode, size, name):
        fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name) + 1, 0]
        return b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"

    def pad(n):
        return b"\0" * ((4 - n % 4) % 4)

    with open(path, "wb") as out:
        ino = 1
        for name, src, mode in files:
            data = b""
            if src is None:
                mode |= stat.S_IFDIR
            else:
                with open(src, "rb") as f:
                    data = f.read()
                mode |= stat.S_IFREG
            h = header(ino, mode, len(data), name)
            out.write(h + pad(len(h)) + data + pad(len(data)))
            ino += 1
        h = header(0, 0, 0, "TRAILER!!!")
        out.write(h + pad(len(h)))


class Result:
    """One named outcome: passed, failed or skipped (with a reason)."""

    def __init__(self, name, outcome, detail=""):
        self.name, self.outcome, self.detail = name, outcome, detail

    def line(self):
        text = f"{self.outcome.upper()} {self.name}"
        return f"{text}: {self.detail}" if self.detail else text


class Vm:
    """One boot of the test VM with a job for init."""

    def __init__(self, args):
        self.args = args
        self.arch = ARCHES[args.arch]
        self.files = [("bin", None, 0o755), ("lib", None, 0o755)]
        self.job = []
        self.boot_seconds = None
        for tree in args.tree or []:
            self.add_tree(tree)

    def add_file(self, host_path, dest):
        self.files.append((dest, host_path, 0o755))
        return "/" + dest

    def add_tree(self, host_dir):
        """Carries a directory tree into the initramfs, merged into its root: each directory
        and file (symbolic links followed) at the same path below /, modes kept."""
        have = {name for name, _, _ in self.files}
        for top, dirs, files in os.walk(host_dir, followlinks=True):
            dirs.sort()
            rel = os.path.relpath(top, host_dir)
            if rel != "." and rel not in have:
                self.files.append((rel, None, 0o755))
                have.add(rel)
            for name in sorted(files):
                if name.startswith(".mshv-"):
                    continue
                path = os.path.join(top, name)
                dest = os.path.normpath(os.path.join(rel, name))
                self.files.append((dest, path, stat.S_IMODE(os.stat(path).st_mode)))

    def build_initramfs(self, workdir):
        job_path = os.path.join(workdir, "job")
        with open(job_path, "w") as f:
            f.write("\n".join(self.job) + "\n")
        files = self.files + [("init", self.args.init, 0o755), ("job", job_path, 0o644)]
        cpio = os.path.join(workdir, "initramfs.cpio")
        write_cpio(cpio, files)
        return cpio

    def boot(self, echo):
        """Boots, returns the console lines. echo(line) is called for every line as it comes."""
        with tempfile.TemporaryDirectory(prefix="mshv-vm-") as workdir:
            cpio = self.build_initramfs(workdir)
            # printk.devkmsg=on: init writes every line it prints to /dev/kmsg, unthrottled.
            cmdline = (f"console={self.arch['console']} panic=-1 oops=panic "
                       f"printk.devkmsg=on {self.arch['cmdline']} {self.args.cmdline}")
            # -nodefaults: no NIC, display or drives (nor their option ROMs): the serial
            # console is all the VM has.
            cmd = self.arch["qemu"] + [
                "-accel", "tcg", "-m", str(self.args.memory), "-smp", "2", "-nodefaults",
                "-nographic", "-no-reboot", "-monitor", "none", "-serial", "stdio",
                "-kernel", os.path.join(self.args.kernel, self.arch["image"]),
                "-initrd", cpio, "-append", cmdline.strip(),
            ]
            return self.run_qemu(cmd, echo)

    def run_qemu(self, cmd, echo):
        lines, buf = [], b""
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        timed_out = False
        while True:
            left = self.args.timeout - (time.monotonic() - start)
            if left <= 0:
                timed_out = True
                proc.kill()
                break
            if not sel.select(timeout=min(left, 1.0)):
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            *complete, buf = buf.split(b"\n")
            for raw in complete:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                lines.append(line)
                if self.boot_seconds is None and MARK + "start" in line:
                    self.boot_seconds = time.monotonic() - start
                echo(line)
        proc.wait()
        if buf:
            lines.append(buf.decode("utf-8", "replace"))
            echo(lines[-1])
        self.seconds = time.monotonic() - start
        self.timed_out = timed_out
        return lines


def marker(line):
    """Returns the words of an init report line, or None."""
    i = line.find(MARK)
    return line[i + len(MARK):].split() if i >= 0 else None


def parse_ktap(arch, name, text_lines):
    """Results of one KUnit suite's debugfs results file."""
    results = []
    for line in text_lines:
        m = KTAP_RESULT.match(line)
        if not m or m.group(3) == name:
            continue
        outcome, _, case, rest = m.groups()
        full = f"{arch}.kunit.{name}.{case}"
        if "# SKIP" in rest:
            results.append(Result(full, "skip", rest.split("# SKIP", 1)[1].strip()))
        else:
            results.append(Result(full, "pass" if outcome == "ok" else "fail"))
    if not results:
        results.append(Result(f"{arch}.kunit.{name}", "fail", "no test cases in the results"))
    return results


def parse_tap(arch, prog, text_lines):
    """Results of a kselftest program's TAP output."""
    results = []
    # The harness's diagnostics ("# file:line:case:Expected ...") since the case began: a
    # failure carries them, so that a run whose logs are gone still says what went wrong.
    said = []
    for line in text_lines:
        if line.startswith("#  RUN "):
            said = []
        elif line.startswith("# ") and not line.startswith("#  "):
            said.append(line[2:].strip())
        m = KTAP_RESULT.match(line)
        if not m or line.startswith(" "):
            continue
        outcome, _, case, rest = m.groups()
        full = f"{arch}.selftest.{prog}.{case}"
        if "# SKIP" in rest:
            results.append(Result(full, "skip", rest.split("# SKIP", 1)[1].strip() or "skipped"))
        elif outcome == "ok":
            results.append(Result(full, "pass"))
        else:
            results.append(Result(full, "fail", " | ".join(said[-4:])))
        said = []
    return results


LIBTEST_RESULT = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)")


def load_expectations(path):
    """A libtest program's expectations: {test: (outcome, reason)}, outcome pass|fail|skip."""
    expect = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, outcome, *reason = line.split(None, 2)
            expect[name] = (outcome, reason[0] if reason else "")
    return expect


def parse_libtest(arch, prog, text_lines, expect):
    """Results of a Rust test binary's output, against its expectations: a known failure or a
    test not run is a skip with its reason; a surprise either way is a failure."""
    results, seen = [], set()
    for line in text_lines:
        m = LIBTEST_RESULT.match(line.strip())
        if not m:
            continue
        test, got = m.groups()
        seen.add(test)
        full = f"{arch}.{prog}.{test}"
        want, reason = expect.get(test, ("pass", ""))
        if got == "ignored":
            results.append(Result(full, "skip", reason or "ignored by the suite"))
        elif got == "ok" and want == "pass":
            results.append(Result(full, "pass"))
        elif got == "ok":
            results.append(Result(full, "fail", f"passes now; expected {want}: update the expectations"))
        elif want == "fail":
            results.append(Result(full, "skip", f"known failure: {reason}"))
        else:
            results.append(Result(full, "fail", "failed"))
    for test, (want, reason) in sorted(expect.items()):
        if test not in seen:
            outcome = "skip" if want == "skip" else "fail"
            results.append(Result(f"{arch}.{prog}.{test}", outcome, reason or "did not run"))
    return results


def refusal(arch, kind, words, lines, refusals):
    """The result of loading a module that must refuse to load (--refused-module): with the
    errno and a kernel log line it was given."""
    path = words[1] if len(words) > 1 else "?"
    name = os.path.basename(path).removesuffix(".ko")
    errno, pattern = refusals.get(os.path.basename(path), (None, None))
    full = f"{arch}.refused.{name}"
    if kind == "insmod-loaded":
        return Result(full, "fail", "the module loaded")
    got = int(words[2]) if len(words) > 2 and words[2].isdigit() else None
    if errno is not None and got != errno:
        return Result(full, "fail", f"refused with errno {got}, not {errno}")
    if pattern and not any(re.search(pattern, line) for line in lines):
        return Result(full, "fail", f"refused, but no kernel log line matches '{pattern}'")
    return Result(full, "pass")


def analyse(lines, expect_suites, expect_progs, vm, arch, libtests=None, plain=(),
            refusals=None):
    """Turns the console of a test boot into results."""
    refusals = refusals or {}
    results = []
    kunit_seen, progs_seen = set(), set()
    i = 0
    done = False
    problems = []
    leaks = []
    kmemleak = None  # None: no scan report; else the scan's status
    # Reports before init's first line come from the kernel's own boot: no module is loaded.
    boot_problems = []
    started = False
    while i < len(lines):
        words = marker(lines[i])
        if words is None:
            if KERNEL_PROBLEMS.search(lines[i]):
                (problems if started else boot_problems).append(lines[i].strip())
            i += 1
            continue
        started = True
        kind = words[0] if words else ""
        if kind == "kunit-begin":
            suite = words[1]
            body = []
            i += 1
            while i < len(lines) and marker(lines[i]) != ["kunit-end", suite]:
                if KERNEL_PROBLEMS.search(lines[i]):
                    problems.append(lines[i].strip())
                body.append(lines[i])
                i += 1
            kunit_seen.add(suite)
            results += parse_ktap(arch, suite, body)
        elif kind == "run":
            prog = words[1]
            body = []
            i += 1
            while i < len(lines) and (marker(lines[i]) or [""])[:2] != ["exit", prog]:
                if KERNEL_PROBLEMS.search(lines[i]):
                    problems.append(lines[i].strip())
                body.append(lines[i])
                i += 1
            progs_seen.add(prog)
            end = marker(lines[i]) if i < len(lines) else None
            status = " ".join(end[2:]) if end else "missing"
            if libtests and prog in libtests:
                results += parse_libtest(arch, prog, body, libtests[prog])
                i += 1
                continue
            if prog in plain:
                ok = status == "status 0"
                results.append(Result(f"{arch}.program.{prog}", "pass" if ok else "fail",
                                      "" if ok else f"exit {status}"))
                i += 1
                continue
            tap = parse_tap(arch, prog, body)
            results += tap
            name = f"{arch}.selftest.{prog}"
            # kselftest programs exit 0 on success, 4 (KSFT_SKIP) when everything was skipped.
            if not tap:
                if status == "status 4":
                    results.append(Result(name, "skip", "the program skipped itself"))
                else:
                    results.append(Result(name, "fail", f"no TAP results, exit {status}"))
            elif status not in ("status 0", "status 4") and \
                    not any(r.outcome == "fail" for r in tap):
                results.append(Result(name, "fail", f"exit {status}"))
        elif kind == "kmemleak-off":
            kmemleak = "off"
        elif kind == "kmemleak-begin":
            kmemleak = words[1] if len(words) > 1 else "?"
            i += 1
            while i < len(lines) and marker(lines[i]) != ["kmemleak-end"]:
                if lines[i].strip():
                    leaks.append(lines[i].rstrip())
                i += 1
        elif kind in ("insmod-refused", "insmod-loaded"):
            results.append(refusal(arch, kind, words, lines, refusals))
        elif kind in ("insmod", "rmmod") and "failed" in words:
            results.append(Result(f"{arch}.{kind}", "fail", " ".join(words[1:])))
        elif kind == "kunit-missing":
            results.append(Result(f"{arch}.kunit.{words[1]}", "fail", "no results: the suite did not run"))
            kunit_seen.add(words[1])
        elif kind == "error":
            results.append(Result(f"{arch}.init", "fail", " ".join(words[1:])))
        elif kind == "done":
            done = True
        i += 1

    for suite in sorted(set(expect_suites) - kunit_seen):
        results.append(Result(f"{arch}.kunit.{suite}", "fail", "suite did not run"))
    for prog in sorted(set(expect_progs) - progs_seen):
        results.append(Result(f"{arch}.selftest.{prog}", "fail", "did not run"))
    if vm.timed_out:
        results.append(Result(f"{arch}.boot", "fail", f"timed out after {vm.seconds:.0f} s"))
    elif not done:
        results.append(Result(f"{arch}.boot", "fail", "the VM stopped before its job ended"))
    if boot_problems:
        results.append(Result(f"{arch}.kernel-boot", "fail",
                              "before init, with no module loaded: " + "; ".join(boot_problems[:5])))
    results.append(Result(f"{arch}.kernel-log", "fail" if problems else "pass",
                          "; ".join(problems[:5])))
    if kmemleak == "off":
        results.append(Result(f"{arch}.kmemleak", "skip", "the kernel has no kmemleak"))
    elif kmemleak != "0":
        results.append(Result(f"{arch}.kmemleak", "fail", f"no scan (status {kmemleak})"))
    else:
        results.append(Result(f"{arch}.kmemleak", "fail" if leaks else "pass",
                              " | ".join(leaks[:6])))
    return results


def add_modules(vm, args):
    for spec in args.module or []:
        path, _, params = spec.partition(":")
        dest = vm.add_file(path, f"lib/{os.path.basename(path)}")
        vm.job.append(f"insmod {dest} {params}".strip())


def cmd_test(args):
    vm = Vm(args)
    vm.job.append("kmemleak-clear")
    # Modules that must refuse to load (PATH:ERRNO:REGEX) come first (one may share a name with
    # a module loaded after it), or (--refused-late) after the modules are loaded.
    refusals = {}
    if args.refused_module or args.refused_late:
        vm.files.append(("lib/refused", None, 0o755))

    def add_refusals(specs):
        for spec in specs or []:
            path, errno, pattern = spec.split(":", 2)
            dest = vm.add_file(path, f"lib/refused/{os.path.basename(path)}")
            vm.job.append(f"insmod-refused {dest}")
            refusals[os.path.basename(path)] = (int(errno), pattern)

    add_refusals(args.refused_module)
    add_modules(vm, args)
    add_refusals(args.refused_late)
    vm.job.append(" ".join(["kunit"] + (args.expect_kunit or [])))
    progs = []

    def add_program(path, arguments=""):
        """Puts a program in the VM and runs it there; returns its name."""
        name = os.path.basename(path)
        dest = vm.add_file(path, f"bin/{name}")
        vm.job.append(f"run {name} {dest} {arguments}".strip())
        progs.append(name)
        return name

    for path in args.selftest or []:
        add_program(path)
    plain = [add_program(path) for path in args.must_exit_0 or []]
    libtests = {}
    for spec in args.libtest or []:
        path, expectations = spec.split(":", 1)
        expect = load_expectations(expectations)
        skips = [t for t, (o, _) in expect.items() if o == "skip"]
        skip_args = " ".join(f"--skip {t}" for t in skips) + (" --exact" if skips else "")
        libtests[add_program(path, f"--test-threads=1 {skip_args}")] = expect
    for spec in [] if args.keep_loaded else reversed(args.module or []):
        name = os.path.basename(spec.partition(":")[0]).removesuffix(".ko")
        vm.job.append(f"rmmod {name}")
    vm.job.append("kmemleak-scan")

    log = open(args.log, "w") if args.log else None

    def echo(line):
        if log:
            log.write(line + "\n")
        if args.verbose:
            print(line, flush=True)

    lines = vm.boot(echo)
    label = args.label or args.arch
    results = analyse(lines, args.expect_kunit or [], progs, vm, label, libtests, plain,
                      refusals)
    failed = [r for r in results if r.outcome == "fail"]
    if failed and all(r.name == f"{label}.kernel-boot" for r in failed):
        # The kernel reported a problem of its own while booting, before anything of the
        # project ran (seen once under TCG: a KASAN report in early IRQ handling). Say so and
        # boot once more; a second such report fails the run.
        print(f"# {failed[0].line()}: booting again")
        echo("MSHV-VM-RUNNER: booting again after a report during the kernel's own boot")
        lines = vm.boot(echo)
        results = analyse(lines, args.expect_kunit or [], progs, vm, label, libtests,
                          plain, refusals)
    if log:
        log.close()
    for r in results:
        print(r.line())
    passed = sum(r.outcome == "pass" for r in results)
    failed = sum(r.outcome == "fail" for r in results)
    skipped = sum(r.outcome == "skip" for r in results)
    if failed and not args.verbose:
        print(f"# kernel log: {args.log or '(not kept: use --log)'}")
    boot = f"{vm.boot_seconds:.1f} s" if vm.boot_seconds is not None else "did not boot"
    print(f"# {args.arch} VM: boot to init {boot}, whole run {vm.seconds:.1f} s")
    if args.results:
        with open(args.results, "a") as f:
            f.writelines(r.line() + "\n" for r in results)
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}")
    return 1 if failed else 0


def report_lines(lines):
    """The kernel's report lines among a console's (see KERNEL_PROBLEMS)."""
    return [line for line in lines if marker(line) is None and KERNEL_PROBLEMS.search(line)]


def cmd_run(args):
    """Runs one program in the VM. Prints a line per step (boot, each module loaded), the
    program's own output as it comes and its exit; the console goes to --log. The log's tail
    and every report line in it are printed when something failed (or with --verbose, the
    whole console as it comes)."""
    if not args.program:
        sys.exit("vmrun.py run: name a program to run in the VM")
    vm = Vm(args)
    add_modules(vm, args)
    prog = args.program[0]
    dest = vm.add_file(prog, f"bin/{os.path.basename(prog)}")
    vm.job.append(" ".join(["show", "program", dest] + args.program[1:]))
    state = {"status": None, "failed": False}
    log = open(args.log, "w") if args.log else None
    begun = time.monotonic()

    def say(text):
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def echo(line):
        if log:
            log.write(line + "\n")
        if args.verbose:
            print(line, flush=True)
        words = marker(line)
        if words is None:
            return
        rest = line[line.find(MARK) + len(MARK):]
        if words[0] == "out":
            if not args.verbose:
                print(rest[4:], flush=True)
        elif words[0] == "start":
            say(f"the kernel booted to init in {time.monotonic() - begun:.1f} s")
        elif words[0] == "insmod":
            state["failed"] |= "failed" in words
            say(f"insmod {os.path.basename(words[1])}: {' '.join(words[2:])}")
        elif words[:2] == ["exit", "program"]:
            state["status"] = words[2:]
        elif words[0] == "error":
            state["failed"] = True
            say(f"init: {' '.join(words[1:])}")

    where = f"kernel log: {args.log}" if args.log else "kernel log not kept"
    say(f"booting the {args.arch} test VM ({where})")
    lines = vm.boot(echo)
    if log:
        log.close()
    status = state["status"]
    reports = report_lines(lines)
    if vm.timed_out:
        code, what = 124, f"the VM timed out after {vm.seconds:.0f} s"
    elif not status:
        code, what = 125, "the program did not finish"
    elif status[0] == "status":
        code, what = int(status[1]), f"the program exited with status {status[1]}"
    elif status[0] == "signal":
        code, what = 128 + int(status[1]), f"the program was killed by signal {status[1]}"
    else:
        code, what = 125, f"the program ended with {' '.join(status)}"
    say(f"{what}; the VM ran {vm.seconds:.1f} s; the kernel log has "
        f"{len(reports) or 'no'} report line{'' if len(reports) == 1 else 's'}")
    if (code or reports or state["failed"]) and not args.verbose:
        tail = [line for line in lines if marker(line) is None or not line[
            line.find(MARK) + len(MARK):].startswith("out ")][-40:]
        print(f"--- the kernel log's last {len(tail)} lines ({args.log or 'not kept'}):")
        print("\n".join(tail))
        if reports:
            print(f"--- its {len(reports)} report lines:")
            print("\n".join(reports))
    if reports and not code:
        code = 1
    return code


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["test", "run"])
    p.add_argument("--arch", choices=sorted(ARCHES), default="x86_64")
    p.add_argument("--label", help="what result names start with (default: the arch)")
    p.add_argument("--kernel", required=True, help="the kernel's build tree")
    p.add_argument("--init", required=True, help="the static init program")
    p.add_argument("--refused-module", action="append",
                   help="PATH:ERRNO:REGEX: a module that must refuse to load, with that errno "
                        "and a kernel log line matching REGEX; loaded first; repeatable")
    p.add_argument("--refused-late", action="append", metavar="PATH:ERRNO:REGEX",
                   help="as --refused-module, tried after the --module ones are loaded")
    p.add_argument("--module", action="append",
                   help="PATH.ko[:PARAM=VALUE ...] to load, in order; repeatable")
    p.add_argument("--selftest", action="append", help="a static kselftest program; repeatable")
    p.add_argument("--must-exit-0", action="append", dest="must_exit_0",
                   help="a static program that must exit 0; repeatable")
    p.add_argument("--libtest", action="append",
                   help="PATH:EXPECTATIONS, a static Rust test binary and its expected outcomes")
    p.add_argument("--expect-kunit", action="append", help="a KUnit suite that must run")
    p.add_argument("--keep-loaded", action="store_true",
                   help="power off with the modules loaded (their reboot notifiers run)")
    p.add_argument("--memory", type=int, default=1024, help="MiB (default 1024)")
    p.add_argument("--timeout", type=int, default=600, help="seconds (default 600)")
    p.add_argument("--cmdline", default="", help="more kernel command line")
    p.add_argument("--tree", action="append",
                   help="a directory tree carried into the initramfs, merged into its root; "
                        "repeatable")
    p.add_argument("--log", help="write the console to this file")
    p.add_argument("--results", help="append result lines to this file")
    p.add_argument("--verbose", action="store_true", help="print the console as it comes")
    argv = sys.argv[1:]
    program = []
    if "--" in argv:
        cut = argv.index("--")
        argv, program = argv[:cut], argv[cut + 1:]
    args = p.parse_args(argv)
    args.program = program
    return cmd_test(args) if args.mode == "test" else cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
