// SPDX-License-Identifier: GPL-2.0

//! The simulated hypervisor at EL2 (arm64): it serves the SMCCC side of the VTL switch
//! (`Documentation/mshv-rs/arm64-vtl-switch.rst`) with a real exception-level switch.
//!
//! The test VM boots the kernel at EL2 in nVHE mode without KVM, so the kernel's hyp stub owns
//! EL2. At power on the machine copies its EL2 code (`el2_arm64.S`) into a physically
//! contiguous, 2 KiB-aligned allocation cleaned to the point of coherency, asks the stub for
//! its own vectors (`HVC_SOFT_RESTART` into a two-instruction routine of that copy, which reads
//! `VBAR_EL2` and returns), and installs itself on every CPU through the stub's
//! `HVC_SOFT_RESTART` into another routine of the copy, which sets the CPU's state (SP_EL2,
//! TPIDR_EL2) and the vectors at once: the vectors are never live without their state. CPUs
//! that come online and CPUs
//! back from a low-power state came up through the stub again: a CPU hotplug state and the CPU
//! PM notifier install it again. Power off puts the stub's vectors back (`HVC_RESET_VECTORS`,
//! which the machine's code answers as KVM's does).
//!
//! Each CPU's state (`el2_arm64.h`) is mapped here non-cacheable, as EL2 reaches it with its
//! MMU off; the machine writes there what the tests steer (VTL0's program, a forced answer) and
//! reads the counters the debugfs file `el2` shows.

use core::{
    ffi::{
        c_int,
        c_uint,
        c_void, //
    },
    sync::atomic::{
        AtomicBool,
        AtomicI32,
        AtomicU64,
        AtomicUsize,
        Ordering, //
    },
};

use kernel::{
    cpu::{
        nr_cpu_ids,
        CpuId, //
    },
    prelude::*,
};

use super::vtl0::{
    self,
    program, //
};
use crate::{
    abi::{
        fact,
        CFacts,
        Fact, //
    },
    ffi,
    hv::abi::{
        message_type,
        smccc::SMCCC_FEATURE_VTL_RETURN, //
    },
};

/// The per-CPU state's layout (`el2_arm64.h`), checked against the header at power on.
mod off {
    pub(super) const EL2_SCRATCH: usize = 0x000;
    pub(super) const EL2_BLOCK: usize = 0x2e0;
    pub(super) const EL2_BLOCK_SIZE: usize = 0x2e8;
    pub(super) const EL2_STATE: usize = 0x2f0;
    pub(super) const EL2_PROGRAM: usize = 0x2f8;
    pub(super) const EL2_VTL0_VBAR: usize = 0x300;
    pub(super) const EL2_VTL0_SP: usize = 0x308;
    pub(super) const EL2_ANSWER: usize = 0x320;
    pub(super) const EL2_REASON_ARG: usize = 0x328;
    pub(super) const EL2_SIMP: usize = 0x330;
    pub(super) const EL2_MSG_TYPE: usize = 0x338;
    pub(super) const EL2_PENDING: usize = 0x340;
    pub(super) const EL2_COUNTS: usize = 0x360;
    pub(super) const EL2_FAULT_ESR: usize = 0x3a0;
    pub(super) const EL2_FAULT_ELR: usize = 0x3a8;
    pub(super) const EL2_FAULT_FAR: usize = 0x3b0;
    pub(super) const EL2_FRAMES: usize = 0x3b8;
    pub(super) const EL2_FRAMES_OK: usize = 0x3c0;
    pub(super) const EL2_STUB_VBAR: usize = 0x3c8;
    pub(super) const EL2_FEATURES: usize = 0x3d0;
    pub(super) const EL2_EXIT: usize = 0x3d8;
    pub(super) const EL2_ENTRY_X0: usize = 0x3e0;
    pub(super) const EL2_VTL0_PC: usize = 0x3e8;
    pub(super) const EL2_RUN_BLOCK: usize = 0x470;
    pub(super) const EL2_VP_INDEX: usize = 0x498;
    pub(super) const EL2_CPU_SIZE: usize = 0x800;
    pub(super) const EL2_N_COUNTS: usize = 8;
    pub(super) const EL2_N_ENTERED: usize = 1;
}
use off::*;

/// The layout facts, as [`crate::abi`] checks them.
const FACTS: &[Fact] = &[
    fact!(const EL2_SCRATCH, 0x000),
    fact!(const EL2_BLOCK, 0x2e0),
    fact!(const EL2_BLOCK_SIZE, 0x2e8),
    fact!(const EL2_STATE, 0x2f0),
    fact!(const EL2_PROGRAM, 0x2f8),
    fact!(const EL2_VTL0_VBAR, 0x300),
    fact!(const EL2_VTL0_SP, 0x308),
    fact!(const EL2_ANSWER, 0x320),
    fact!(const EL2_REASON_ARG, 0x328),
    fact!(const EL2_SIMP, 0x330),
    fact!(const EL2_MSG_TYPE, 0x338),
    fact!(const EL2_PENDING, 0x340),
    fact!(const EL2_COUNTS, 0x360),
    fact!(const EL2_FAULT_ESR, 0x3a0),
    fact!(const EL2_FAULT_ELR, 0x3a8),
    fact!(const EL2_FAULT_FAR, 0x3b0),
    fact!(const EL2_FRAMES, 0x3b8),
    fact!(const EL2_FRAMES_OK, 0x3c0),
    fact!(const EL2_STUB_VBAR, 0x3c8),
    fact!(const EL2_FEATURES, 0x3d0),
    fact!(const EL2_EXIT, 0x3d8),
    fact!(const EL2_ENTRY_X0, 0x3e0),
    fact!(const EL2_VTL0_PC, 0x3e8),
    fact!(const EL2_RUN_BLOCK, 0x470),
    fact!(const EL2_VP_INDEX, 0x498),
    fact!(const EL2_CPU_SIZE, 0x800),
    fact!(const EL2_N_COUNTS, 8),
    fact!(const EL2_N_ENTERED, 1),
];

/// The counters' names, in `el2_arm64.h`'s order.
const COUNTS: [&str; EL2_N_COUNTS] = [
    "calls",
    "entered",
    "at_once",
    "irq_exits",
    "hvc_exits",
    "refused",
    "faults",
    "registers",
];

/// The kernel hyp stub's calls (`asm/virt.h`).
const HVC_SOFT_RESTART: u64 = 1;
const HVC_RESET_VECTORS: u64 = 2;
/// The stub's answer to a call it does not know.
const HVC_STUB_ERR: u64 = 0x0bad_ca11;

/// VTL0's stack, per CPU (its programs use none; SP_EL1 is VTL0's own all the same).
const VTL0_STACK: usize = 256;

/// Memory VTL0 may write (through SP_EL1), so not the immutable data of a plain static.
#[repr(C, align(16))]
struct Vtl0Stacks(core::cell::UnsafeCell<[[u8; VTL0_STACK]; vtl0::MAX_CPUS]>);

// SAFETY: Only VTL0, each CPU's on its own stack, ever touches the memory; Rust only takes
// its address.
unsafe impl Sync for Vtl0Stacks {}

static VTL0_STACKS: Vtl0Stacks = Vtl0Stacks(core::cell::UnsafeCell::new(
    [[0; VTL0_STACK]; vtl0::MAX_CPUS],
));

/// The top of CPU `cpu`'s VTL0 stack (16-byte aligned).
fn vtl0_stack_top(cpu: usize) -> u64 {
    (VTL0_STACKS.0.get() as usize + (cpu + 1) * VTL0_STACK) as u64
}

/// What power on set up; 0 when the machine has no EL2.
static STATE: AtomicUsize = AtomicUsize::new(0);
static STATE_PA: AtomicU64 = AtomicU64::new(0);
static STATE_HANDLE: AtomicUsize = AtomicUsize::new(0);
static CODE_PA: AtomicU64 = AtomicU64::new(0);
static CODE_HANDLE: AtomicUsize = AtomicUsize::new(0);
/// The CPU hotplug state installing it, or 0.
static HOTPLUG: AtomicI32 = AtomicI32::new(0);
static PM: AtomicBool = AtomicBool::new(false);
/// Each CPU's: whether the machine's vectors are installed there.
static INSTALLED: [AtomicBool; vtl0::MAX_CPUS] = [const { AtomicBool::new(false) }; vtl0::MAX_CPUS];

/// The EL2 code's address and length (`el2_arm64.S`'s labels: their addresses are used, never
/// a Rust reference to their bytes).
fn code() -> (*const u8, usize) {
    let start = core::ptr::addr_of!(ffi::mshv_sim_el2_start);
    let end = core::ptr::addr_of!(ffi::mshv_sim_el2_end) as usize;
    (start, end - start as usize)
}

/// Where `label` of `el2_arm64.S` is in the EL2 code.
fn code_offset(label: *const u8) -> u64 {
    (label as usize - code().0 as usize) as u64
}

fn state_len() -> usize {
    vtl0::cpus() * EL2_CPU_SIZE
}

/// CPU `cpu`'s state word at `offset`, if the machine has EL2.
fn word(cpu: usize, offset: usize) -> Option<*mut u64> {
    let base = STATE.load(Ordering::Acquire);
    (base != 0 && cpu < vtl0::cpus()).then(|| (base + cpu * EL2_CPU_SIZE + offset) as *mut u64)
}

fn get(cpu: usize, offset: usize) -> u64 {
    // SAFETY: The word is of the state power on mapped, aligned, until power off; EL2 writes
    // it from that CPU only, single-copy atomic.
    word(cpu, offset).map_or(0, |w| unsafe { w.read_volatile() })
}

fn set(cpu: usize, offset: usize, value: u64) {
    if let Some(w) = word(cpu, offset) {
        // SAFETY: As in `get`.
        unsafe { w.write_volatile(value) };
    }
}

/// Makes one call at EL2.
///
/// # Safety
///
/// What the call does at EL2 is the caller's to answer for: `HVC_SOFT_RESTART` branches to
/// any physical address. The calls here name routines of the machine's own copy, or reset to
/// the stub's vectors.
unsafe fn call(x0: u64, x1: u64, x2: u64, x3: u64) -> ffi::SmcccRet {
    // SAFETY: As this function's contract.
    unsafe { ffi::mshv_sim_el2_call(x0, x1, x2, x3) }
}

/// Installs the machine's vectors and state on the calling CPU.
fn install_here() {
    let cpu = CpuId::current().as_u32() as usize;
    let Some(state) = cpu.checked_mul(EL2_CPU_SIZE).filter(|_| cpu < vtl0::cpus()) else {
        return;
    };
    let code = CODE_PA.load(Ordering::Relaxed);
    let init = code + code_offset(core::ptr::addr_of!(ffi::mshv_sim_el2_init));
    let state = STATE_PA.load(Ordering::Relaxed) + state as u64;
    // SAFETY: The stub's HVC_SOFT_RESTART (or the machine's own, which does the same) branches
    // to the copy's init routine with x0 = this CPU's state and x1 = the copy's vectors, which
    // it sets at once before it returns; both allocations live until power off.
    let answer = unsafe { call(HVC_SOFT_RESTART, init, state, code) }.a0;
    INSTALLED[cpu].store(answer == 0, Ordering::Release);
    if answer != 0 {
        pr_warn!("simulated EL2: installing on CPU {cpu} failed ({answer:#x})\n");
    }
}

/// CPU hotplug: a CPU came online through the stub.
///
/// # Safety
///
/// None beyond the hotplug state's: runs on CPU `cpu`.
unsafe extern "C" fn online(_cpu: c_uint) -> c_int {
    install_here();
    0
}

/// CPU hotplug: a CPU goes offline, or the machine powers off: the stub's vectors back.
///
/// # Safety
///
/// As [`online`].
unsafe extern "C" fn offline(cpu: c_uint) -> c_int {
    if let Some(installed) = INSTALLED.get(cpu as usize) {
        if installed.swap(false, Ordering::AcqRel) {
            // SAFETY: The machine's own code answers it: the stub's vectors again.
            unsafe { call(HVC_RESET_VECTORS, 0, 0, 0) };
        }
    }
    0
}

/// CPU PM: a CPU back from a low-power state (or not gone into it).
///
/// # Safety
///
/// None beyond the notifier's: runs on the CPU, interrupts off.
unsafe extern "C" fn resumed() {
    let cpu = CpuId::current().as_u32() as usize;
    if INSTALLED
        .get(cpu)
        .is_some_and(|i| i.load(Ordering::Acquire))
    {
        install_here();
    }
}

/// Powers EL2 on, where the kernel's hyp stub can lend it (else the machine has none, and the
/// VTL switch finds no Hyper-V behind `HVC #0`).
pub(super) fn power_on() -> Result {
    // SAFETY: Reads ID registers and the configuration only.
    if !unsafe { ffi::mshv_sim_el2_possible() } {
        pr_info!("simulated EL2: the kernel hyp stub does not own EL2: no EL2\n");
        return Ok(());
    }
    let mut len = 0usize;
    // SAFETY: The glue returns a static array and its length.
    let c = unsafe { core::slice::from_raw_parts(ffi::mshv_sim_el2_facts(&mut len), len) };
    if !CFacts::from_table(c).matches(FACTS) {
        return Err(EINVAL);
    }
    let vectors = ffi::mshv_sim_vtl0_vectors as *const () as usize;
    if vectors % 2048 != 0 {
        pr_err!("simulated EL2: VTL0's vectors are not 2 KiB aligned\n");
        return Err(EINVAL);
    }
    let (code, len) = code();
    let mut handle = core::ptr::null_mut();
    // SAFETY: Copies the `len` bytes at `code` (one object, `el2_arm64.S`) into a fresh
    // allocation.
    let code_pa = unsafe { ffi::mshv_sim_el2_code_alloc(code, len, &mut handle) };
    if code_pa == 0 {
        return Err(ENOMEM);
    }
    CODE_HANDLE.store(handle as usize, Ordering::Relaxed);
    CODE_PA.store(code_pa, Ordering::Relaxed);
    let mut pa = 0;
    // SAFETY: A fresh allocation, freed at power off.
    let state = unsafe { ffi::mshv_sim_el2_state_alloc(state_len(), &mut pa, &mut handle) };
    if state.is_null() {
        free();
        return Err(ENOMEM);
    }
    STATE_HANDLE.store(handle as usize, Ordering::Relaxed);
    STATE_PA.store(pa, Ordering::Relaxed);
    STATE.store(state as usize, Ordering::Release);
    // The stub's vectors, from EL2 itself: HVC_SOFT_RESTART branches to the routine, which
    // returns VBAR_EL2 to this call.
    let read_vbar = code_offset(core::ptr::addr_of!(ffi::mshv_sim_el2_read_vbar));
    // SAFETY: The stub branches to the copy's two-instruction routine, which returns VBAR_EL2
    // and changes nothing.
    let stub = unsafe { call(HVC_SOFT_RESTART, code_pa + read_vbar, 0, 0) }.a0;
    if stub == 0 || stub % 2048 != 0 || stub == HVC_STUB_ERR || stub >> 52 != 0 {
        pr_info!("simulated EL2: no kernel hyp stub answers ({stub:#x}): no EL2\n");
        free();
        return Ok(());
    }
    for cpu in 0..vtl0::cpus() {
        set(cpu, EL2_STUB_VBAR, stub);
        set(cpu, EL2_VP_INDEX, cpu as u64);
        set(cpu, EL2_FEATURES, SMCCC_FEATURE_VTL_RETURN);
        set(cpu, EL2_MSG_TYPE, message_type::HYPERCALL_INTERCEPT.into());
        set(cpu, EL2_VTL0_VBAR, vectors as u64);
        set(cpu, EL2_VTL0_SP, vtl0_stack_top(cpu));
        set_program(cpu, program::INTERCEPT, 0);
    }
    // Before any CPU has the machine's EL2: no CPU back from a low-power state misses it.
    // SAFETY: The callback is this file's; unregistered at power off.
    let pm = unsafe { ffi::mshv_sim_el2_pm_register(resumed) } == 0;
    PM.store(pm, Ordering::Release);
    // SAFETY: The callbacks are this file's; the state is removed at power off.
    let state = unsafe { ffi::mshv_shim_cpuhp_add(c"mshv_sim/el2".as_char_ptr(), online, offline) };
    if state < 0 {
        power_off();
        return Err(Error::from_errno(state));
    }
    HOTPLUG.store(state, Ordering::Release);
    pr_info!("simulated EL2: installed (the stub's vectors at {stub:#x})\n");
    Ok(())
}

/// Puts the stub's vectors back on every CPU and frees the machine's EL2.
pub(super) fn power_off() {
    if PM.swap(false, Ordering::AcqRel) {
        // SAFETY: Registered by `power_on`.
        unsafe { ffi::mshv_sim_el2_pm_unregister() };
    }
    let state = HOTPLUG.swap(0, Ordering::AcqRel);
    if state > 0 {
        // SAFETY: Added by `power_on`; runs `offline` on each online CPU.
        unsafe { ffi::mshv_shim_cpuhp_remove(state) };
    }
    free();
}

fn free() {
    let state = STATE.swap(0, Ordering::AcqRel);
    let handle = STATE_HANDLE.swap(0, Ordering::AcqRel);
    if state != 0 {
        // SAFETY: Allocated by `power_on`; no CPU has the machine's vectors any more.
        unsafe {
            ffi::mshv_sim_el2_state_free(state as *mut c_void, handle as *mut c_void, state_len())
        };
    }
    let handle = CODE_HANDLE.swap(0, Ordering::AcqRel);
    if handle != 0 {
        // SAFETY: As above.
        unsafe { ffi::mshv_sim_el2_code_free(handle as *mut c_void, code().1) };
    }
    CODE_PA.store(0, Ordering::Relaxed);
}

/// Whether `HVC #0` reaches the machine on every CPU: the hypervisor's SMCCC interface.
pub(super) fn installed() -> bool {
    HOTPLUG.load(Ordering::Acquire) > 0
}

/// How often the machine entered CPU `cpu`'s VTL0.
pub(super) fn returns(cpu: usize) -> u64 {
    get(cpu, EL2_COUNTS + 8 * EL2_N_ENTERED)
}

/// CPU `cpu`'s VTL0 runs `program` (with `arg`) from its next entry.
pub(super) fn set_program(cpu: usize, which: u32, arg: u32) {
    let code = match which {
        program::SPIN => ffi::mshv_sim_vtl0_spin as *const () as usize,
        program::REASON => ffi::mshv_sim_vtl0_reason as *const () as usize,
        _ => ffi::mshv_sim_vtl0_intercept as *const () as usize,
    };
    set(cpu, EL2_REASON_ARG, arg.into());
    set(cpu, EL2_PROGRAM, code as u64);
    // The next entry starts it, wherever an interrupt stopped the one before.
    set(cpu, EL2_VTL0_PC, 0);
}

/// VTL2 set the calling CPU's SIMP page (`union hv_synic_simp`): SINT0's slot is its first.
pub(super) fn set_simp(value: u64) {
    let cpu = CpuId::current().as_u32() as usize;
    let page = if value & 1 != 0 { value & !0xfff } else { 0 };
    set(cpu, EL2_SIMP, page);
}

/// The `el2` file's writes: `answer X0` (every VTL-return call answered `X0`, no switch; 0:
/// as the hypervisor), `features BITS` (what the features call answers), `forget CPU` (CPU
/// `CPU`'s context block no longer registered, as if VTL2 had unregistered it).
pub(super) fn steer(what: &str, value: u64) -> Result {
    if STATE.load(Ordering::Acquire) == 0 {
        return Err(ENODEV);
    }
    let (offset, cpus) = match what {
        "answer" => (EL2_ANSWER, 0..vtl0::cpus()),
        "features" => (EL2_FEATURES, 0..vtl0::cpus()),
        "forget" => {
            let cpu = usize::try_from(value)
                .ok()
                .filter(|&c| c < vtl0::cpus())
                .ok_or(EINVAL)?;
            set(cpu, EL2_BLOCK_SIZE, 0);
            (EL2_BLOCK, cpu..cpu + 1)
        }
        _ => return Err(EINVAL),
    };
    let value = if what == "forget" { 0 } else { value };
    for cpu in cpus {
        set(cpu, offset, value);
    }
    Ok(())
}

/// The `el2` file: whether the machine has EL2, then a line per CPU.
pub(super) fn show(f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
    writeln!(f, "installed {}", u8::from(installed()))?;
    let cpus = vtl0::cpus().min(nr_cpu_ids() as usize);
    for (cpu, installed) in INSTALLED.iter().enumerate().take(cpus) {
        if !installed.load(Ordering::Acquire) {
            continue;
        }
        write!(f, "{cpu}")?;
        for (i, name) in COUNTS.iter().enumerate() {
            write!(f, " {name} {}", get(cpu, EL2_COUNTS + 8 * i))?;
        }
        writeln!(
            f,
            " frames {} frames_ok {} block {:#x} state {} exit {:#x} x0 {:#x} pending {} \
             fault {:#x} {:#x} {:#x}",
            get(cpu, EL2_FRAMES),
            get(cpu, EL2_FRAMES_OK),
            get(cpu, EL2_BLOCK),
            get(cpu, EL2_STATE),
            get(cpu, EL2_EXIT),
            get(cpu, EL2_ENTRY_X0),
            get(cpu, EL2_PENDING),
            get(cpu, EL2_FAULT_ESR),
            get(cpu, EL2_FAULT_ELR),
            get(cpu, EL2_FAULT_FAR),
        )?;
    }
    Ok(())
}
