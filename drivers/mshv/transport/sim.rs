// SPDX-License-Identifier: GPL-2.0

//! A simulated Microsoft hypervisor, under the same [`Hypervisor`] interface as the real one.
//!
//! It takes each call as the hypercall instruction would hand it over (a control word and the
//! input and output pages, or register values) and decodes the TLFS layouts of
//! [`crate::hv::abi`]; it knows nothing else of the driver. Its state ([`machine`]) is real:
//! partitions with the exact creation input, memory pools fed by deposits and drained by
//! withdrawals (a call answers `INSUFFICIENT_*MEMORY` until enough was deposited), VPs with
//! registers and state pages taken from the pool, partition properties.
//!
//! Its messages reach the root as a real hypervisor's do: written into the SINT's slot of the
//! CPU's message page, a doorbell's port into the CPU's event ring page, and the SynIC's
//! interrupt raised on that CPU, where the driver's handler runs in hard interrupt context,
//! never in the caller's thread ([`hosted_synic`]).
//!
//! Tests read and steer it through debugfs ([`debugfs`]), and can make its calls fail as a
//! hypervisor that refuses them would ([`fail`]).

use core::{
    ops::DerefMut,
    sync::atomic::{
        AtomicU64,
        Ordering, //
    },
};

use kernel::{
    prelude::*,
    sync::global_lock,
    time::{
        Instant,
        Monotonic, //
    },
};

use super::{
    HvPage,
    Hypervisor,
    SynicHandler, //
};
use crate::hv::{
    abi::{
        code,
        scheduler_type,
        SynicRegister, //
    },
    control::Control,
    status::HvResult, //
};

mod debugfs;
// The VTL module's (arm64): the root module hosts no VTL2 partition.
#[cfg(CONFIG_ARM64)]
#[allow(dead_code)]
mod el2;
mod fail;
mod hosted_synic;
mod interrupt;
mod machine;
mod port;
mod property;
mod sint;
mod slat;
mod translate;
mod vp;
mod vsm;
// The VTL module's: the root module hosts no VTL2 partition.
#[allow(dead_code)]
mod vtl0;

pub(crate) use debugfs::Debugfs;
use machine::Machine;
pub(crate) use vsm::Hosted;

/// How the machine allocates its bookkeeping: without sleeping or reclaim. Its lock is taken
/// under the root's locks, some of which the root also takes in MMU-notifier invalidations,
/// where reclaim must not be waited for; and a real hypervisor takes nothing from the kernel.
pub(super) const ALLOC: kernel::alloc::Flags = kernel::alloc::flags::GFP_NOWAIT;

global_lock! {
    // SAFETY: `start` initialises the lock before the simulator is handed out, and the module
    // calls it once.
    unsafe(uninit) static MACHINE: Mutex<Machine> = Machine::new();
}

/// Nanoseconds the machine spent on calls since power on, each from the caller's wait for its
/// lock to the end of the call, not counting the delivery of the messages it made (during
/// which the root's interrupt handler may run): the simulated hypervisor's own time, which
/// `make bench` tells apart from the driver's (debugfs `time_ns`).
pub(super) static MACHINE_NS: AtomicU64 = AtomicU64::new(0);

/// The simulated hypervisor.
pub(crate) struct Simulator;

/// The one instance.
pub(crate) static SIMULATOR: Simulator = Simulator;

/// Powers the simulated machine on, hosting the kernel in partition `hosted`, as the usual
/// kind of host, or (`alternate`) the other kind: VTL2 offered no intercept page, or the root
/// scheduler. Must run once, before the first call.
pub(crate) fn start(hosted: Hosted, alternate: bool) -> Result<Pin<KBox<Debugfs>>> {
    // SAFETY: Called once, from module init, before any other use of `MACHINE`.
    unsafe { MACHINE.init() };
    {
        let mut machine = MACHINE.lock();
        machine.hosted = hosted;
        machine.scheduler = if hosted == Hosted::Root && alternate {
            scheduler_type::ROOT
        } else {
            scheduler_type::CORE_SMT
        };
    }
    // The intercept page is x86_64's: on arm64 intercepts come on SINT0.
    vsm::offer_intercept_page(!alternate && cfg!(CONFIG_X86_64));
    hosted_synic::power_on(hosted)?;
    if hosted == Hosted::Vtl2 {
        vtl0::power_on();
        el2_power_on().inspect_err(|_| {
            vtl0::power_off();
            hosted_synic::power_off();
        })?;
    }
    KBox::pin_init(debugfs::Debugfs::new(), GFP_KERNEL).inspect_err(|_| {
        vtl0::power_off();
        hosted_synic::power_off();
        el2_power_off();
    })
}

/// Powers the machine's EL2 on (arm64), where the kernel's hyp stub lends it.
fn el2_power_on() -> Result {
    #[cfg(CONFIG_ARM64)]
    {
        el2::power_on()
    }
    #[cfg(not(CONFIG_ARM64))]
    {
        Ok(())
    }
}

/// Gives EL2 back to the kernel's hyp stub (arm64).
fn el2_power_off() {
    #[cfg(CONFIG_ARM64)]
    el2::power_off();
}

/// Powers the machine off: every page deposited and not withdrawn goes back to the kernel, and
/// the SynIC's interrupt is gone once its run in progress has ended. The root's handler was
/// removed before.
pub(crate) fn stop() {
    MACHINE.lock().power_off();
    sint::power_off();
    el2_power_off();
    vtl0::power_off();
    hosted_synic::power_off();
}

impl Hypervisor for Simulator {
    fn name(&self) -> &'static str {
        "simulated Microsoft hypervisor"
    }

    unsafe fn hypercall(&self, control: Control, input: &HvPage, output: &mut HvPage) -> HvResult {
        // SAFETY: The frames the input names are the caller's promise, as this function's.
        with_machine(|m| unsafe { m.hypercall(control, input, output) })
    }

    fn fast_hypercall(&self, code: u16, input1: u64, input2: u64) -> HvResult {
        // The root's message handler makes this one, in interrupt context: the SynIC takes it.
        if code == code::NOTIFY_PORT_RING_EMPTY {
            return port::notify_port_ring_empty(input1, input2);
        }
        // Where the machine's mutex may not be taken, the call waits for the machine.
        if sint::in_hardirq() {
            return sint::defer(code, input1, input2);
        }
        with_machine(|m| m.fast_hypercall(code, input1, input2))
    }

    fn vp_assist_page(&self, cpu: u32) -> *mut core::ffi::c_void {
        vtl0::vp_assist_page(cpu)
    }

    fn smccc_by_hvc(&self) -> bool {
        #[cfg(CONFIG_ARM64)]
        {
            el2::installed()
        }
        #[cfg(not(CONFIG_ARM64))]
        {
            false
        }
    }

    fn vtl_return_entry(&self, _offset: u64) -> Option<super::VtlReturnEntry> {
        super::VtlReturnEntry::of_code(vtl0::return_entry())
    }

    unsafe fn write_synic(&self, register: SynicRegister, value: u64) {
        hosted_synic::write(register, value);
    }

    fn read_synic(&self, register: SynicRegister) -> u64 {
        hosted_synic::read(register)
    }

    fn vmbus_synic_pages(
        &self,
        _cpu: u32,
    ) -> Option<(
        core::ptr::NonNull<core::ffi::c_void>,
        core::ptr::NonNull<core::ffi::c_void>,
    )> {
        // A VMBus the kernel may run is another hypervisor's: none set the machine's SynIC up.
        None
    }

    fn version(&self) -> Result<super::HvVersion> {
        // Hyper-V 10.0, of the first build upstream's driver validated.
        Ok(super::HvVersion {
            major: 10,
            minor: 0,
            build: 27744,
        })
    }

    fn vmbus_active(&self) -> bool {
        // A VMBus the kernel may run is another hypervisor's.
        false
    }

    fn set_synic_handler(&self, handler: Option<SynicHandler>) -> Result {
        hosted_synic::set_handler(handler);
        Ok(())
    }
}

/// Runs `f` on the machine, then sends the root the messages it made: the SynIC's interrupt
/// delivers them, after the call returns, as after the hypercall instruction.
///
/// The machine is a hypervisor's, which takes nothing from the kernel: fault injection aimed
/// at the calling task (a test's failslab or fail_page_alloc) does not reach its bookkeeping.
fn with_machine<R>(f: impl FnOnce(&mut Machine) -> R) -> R {
    let start = Instant::<Monotonic>::now();
    // SAFETY: Only the current task's flag is read and cleared.
    let injecting = unsafe { crate::ffi::mshv_shim_fault_injection_pause() };
    let mut machine = lock_machine();
    let result = f(&mut machine);
    MACHINE_NS.fetch_add(hosted_synic::nanos(start), Ordering::Relaxed);
    send(&mut machine);
    drop(machine);
    // SAFETY: Restores what the pause above read.
    unsafe { crate::ffi::mshv_shim_fault_injection_resume(injecting) };
    result
}

/// Locks the machine. It first makes the fast calls that waited for it ([`sint::defer`]), in
/// the order they came, and counts those made outside it.
fn lock_machine() -> impl DerefMut<Target = Machine> {
    let mut machine = MACHINE.lock();
    let mut made = false;
    while let Some(call) = sint::take_deferred() {
        if call.made {
            machine.account_fast(call.code, call.input1, call.input2);
        } else {
            // Its caller was answered already.
            let _ = machine.fast_hypercall(call.code, call.input1, call.input2);
            made = true;
        }
    }
    if made {
        send(&mut machine);
    }
    machine
}

/// Hands the messages the machine made to the SynIC, in the machine's order (its lock is held);
/// returns the last one's place, for [`hosted_synic::wait_delivered`].
fn send(machine: &mut Machine) -> Option<hosted_synic::Sent> {
    let sent = hosted_synic::send_root(&machine.outbox, machine.outbox_cpu.take());
    machine.outbox.clear();
    sent
}
