// SPDX-License-Identifier: GPL-2.0

//! The SynIC of the hosted VTL2 partition's VPs ([`super::Hosted::Vtl2`]), as the TLFS has it:
//! per CPU, SCONTROL, the message page (SIMP), the event flags page (SIEFP) and sixteen SINTs,
//! written through the synthetic registers (the transport's `write_synic`, as the MSRs or VP
//! registers are); and the host's side, which a test plays through the debugfs file `synic`.
//!
//! A message for a CPU's SINT waits in that CPU's queue until the SINT can take it (SCONTROL
//! and SIMP enabled, the SINT unmasked, its slot free); then it is written into the SINT's slot
//! of the message page (its type last) and the CPU is interrupted. A message that finds the slot
//! taken sets the slot's `msg_pending`, and waits for the end of message (an `EOM` write). An
//! event flag is set in the SINT's part of the event flags page, and the CPU interrupted if the
//! flag was clear and the SINT unmasked. The interrupt is an irq_work queued on the target CPU:
//! the handler the driver set runs there in hard interrupt context and reads the pages itself.
//!
//! Its state is under the SynIC's raw spinlock ([`super::sint::lock`]); the handler runs with
//! no lock held.

use core::{
    ffi::c_void,
    sync::atomic::{
        AtomicU32,
        AtomicU64,
        AtomicU8,
        Ordering, //
    },
};

use kernel::{
    cpu::{
        nr_cpu_ids,
        CpuId, //
    },
    prelude::*,
    processor::cpu_relax,
};

use super::{
    sint::{
        self,
        in_hardirq, //
    },
    vtl0::MAX_CPUS,
};
use crate::{
    ffi,
    hv::abi::{
        synic::{
            EVENT_FLAGS,
            PAGE_ENABLE,
            SCONTROL_ENABLE,
            SINT_MASKED, //
        },
        Message,
        SynicRegister,
        HV_SYNIC_SINT_COUNT, //
    },
    irq_work::IrqWork,
    transport::SynicHandler,
};

/// Messages a CPU's SINTs hold before they can take them, at most (all SINTs together).
const QUEUED: usize = 8;
/// Bytes of a message slot, and of a SINT's event flags.
const SLOT_BYTES: usize = 256;

/// One CPU's SynIC registers and the messages it has yet to take.
struct Cpu {
    scontrol: u64,
    simp: u64,
    siefp: u64,
    sint: [u64; HV_SYNIC_SINT_COUNT],
    /// The messages waiting, oldest first (`queued[..len]`): each SINT takes its own in order,
    /// whatever the others' wait for.
    queued: [(u32, Message); QUEUED],
    len: usize,
}

impl Cpu {
    const fn new() -> Self {
        Self {
            scontrol: 0,
            simp: 0,
            siefp: 0,
            // Every SINT starts masked, as on reset.
            sint: [SINT_MASKED; HV_SYNIC_SINT_COUNT],
            queued: [(0, Message::EMPTY); QUEUED],
            len: 0,
        }
    }

    /// Whether SINT `sint` interrupts the CPU.
    fn unmasked(&self, sint: usize) -> bool {
        self.scontrol & SCONTROL_ENABLE != 0 && self.sint[sint] & SINT_MASKED == 0
    }

    /// The kernel address of the page a SIMP or SIEFP value enables, if it does.
    fn page(register: u64) -> Option<*mut u8> {
        (register & PAGE_ENABLE != 0).then(|| {
            // SAFETY: The driver enabled the page with this frame, which it holds for the
            // SynIC (the transport's `write_synic` contract); the shim only computes the
            // address in the linear map.
            unsafe { ffi::mshv_shim_page_address(register >> 12) }.cast::<u8>()
        })
    }

    /// Queues a message for SINT `sint`; false if the queue is full.
    fn push(&mut self, sint: u32, message: Message) -> bool {
        let Some(slot) = self.queued.get_mut(self.len) else {
            return false;
        };
        *slot = (sint, message);
        self.len += 1;
        true
    }

    /// Writes the queued messages the SINTs can take into their slots, each SINT's oldest
    /// first; whether any was.
    fn deliver(&mut self) -> bool {
        let mut delivered = false;
        // SINTs whose oldest message waits: their later ones wait behind it.
        let mut waiting = 0u32;
        let mut i = 0;
        while i < self.len {
            let (sint, message) = self.queued[i];
            let sint = sint as usize;
            if waiting & (1 << sint) != 0 || !self.take(sint, message) {
                waiting |= 1 << sint;
                i += 1;
                continue;
            }
            self.queued.copy_within(i + 1..self.len, i);
            self.len -= 1;
            delivered = true;
        }
        delivered
    }

    /// Writes `message` into SINT `sint`'s slot if the SINT can take it now; else, if its slot
    /// is taken, has the driver signal the end of that message.
    fn take(&self, sint: usize, message: Message) -> bool {
        let Some(page) = Self::page(self.simp) else {
            return false;
        };
        if !self.unmasked(sint) {
            return false;
        }
        // SAFETY: The slot is within the enabled message page (`sint` < 16).
        let slot = unsafe { page.add(sint * SLOT_BYTES) };
        // SAFETY: The slot's type, an aligned `u32` of the page, which the driver reads
        // and clears atomically too.
        let kind = unsafe { AtomicU32::from_ptr(slot.cast()) };
        if kind.load(Ordering::Acquire) != 0 {
            // SAFETY: The slot's flags byte (`message_flags`, offset 5).
            let flags = unsafe { AtomicU8::from_ptr(slot.add(5)) };
            flags.fetch_or(1, Ordering::SeqCst);
            // The driver may have freed the slot before it saw the flag (and so sends no
            // end of message): then the slot is free now.
            if kind.load(Ordering::SeqCst) != 0 {
                return false;
            }
        }
        let mut bytes = [0u8; SLOT_BYTES];
        // SAFETY: `Message` is 256 plain bytes.
        unsafe { core::ptr::write_unaligned(bytes.as_mut_ptr().cast::<Message>(), message) };
        bytes[..4].fill(0);
        // SAFETY: The slot is free: the driver touches it no more until its type is set,
        // which is last.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), slot, SLOT_BYTES) };
        kind.store(message.message_type, Ordering::Release);
        true
    }

    /// Whether an unmasked SINT has an event flag set.
    fn flags_pending(&self) -> bool {
        let Some(page) = Self::page(self.siefp) else {
            return false;
        };
        (0..HV_SYNIC_SINT_COUNT)
            .filter(|&s| self.unmasked(s))
            .any(|s| {
                (0..SLOT_BYTES / 8).any(|w| {
                    // SAFETY: A word of the SINT's flags, within the enabled page.
                    let word =
                        unsafe { AtomicU64::from_ptr(page.add(s * SLOT_BYTES + w * 8).cast()) };
                    word.load(Ordering::Acquire) != 0
                })
            })
    }
}

/// The SynIC of the hosted VTL2 partition.
pub(super) struct Vtl2Synic {
    cpus: [Cpu; MAX_CPUS],
    /// The driver's interrupt handler.
    handler: Option<SynicHandler>,
    /// Runs of it in progress.
    running: u32,
    /// Each CPU's interrupt (irq_works queued on it), while the machine is on.
    works: KVec<IrqWork>,
    /// Interrupts taken, and of them in hard interrupt context; messages delivered.
    interrupts: u64,
    in_hardirq: u64,
    delivered: u64,
}

impl Vtl2Synic {
    pub(super) const fn new() -> Self {
        Self {
            cpus: [const { Cpu::new() }; MAX_CPUS],
            handler: None,
            running: 0,
            works: KVec::new(),
            interrupts: 0,
            in_hardirq: 0,
            delivered: 0,
        }
    }

    /// Interrupts CPU `cpu`.
    fn raise(&self, cpu: usize) {
        if let Some(work) = self.works.get(cpu) {
            work.queue_on(cpu as u32);
        }
    }
}

/// CPUs with a SynIC here.
fn cpus() -> usize {
    (nr_cpu_ids() as usize).min(MAX_CPUS)
}

/// The interrupt's run on a CPU: the driver's handler, with no lock held.
///
/// # Safety
///
/// None: it takes no data (the irq_work's function type is an `unsafe fn`).
unsafe extern "C" fn interrupt(_data: *mut c_void) {
    let handler = {
        let mut synic = sint::lock();
        let vtl2 = &mut synic.vtl2;
        vtl2.interrupts += 1;
        if in_hardirq() {
            vtl2.in_hardirq += 1;
        }
        vtl2.running += 1;
        vtl2.handler
    };
    if let Some(handler) = handler {
        handler();
    }
    sint::lock().vtl2.running -= 1;
}

/// Gives every CPU its interrupt. Process context.
pub(super) fn power_on() -> Result {
    let mut works = KVec::with_capacity(cpus(), GFP_KERNEL)?;
    for _ in 0..cpus() {
        // SAFETY: `interrupt` takes no data and may run in hard interrupt context on any CPU
        // (the lock it takes is raw). Hard, as the hypervisor's interrupt is: lockdep then
        // reports a `spinlock_t` the driver's handler would take.
        let work = unsafe { IrqWork::new(interrupt, core::ptr::null_mut(), true)? };
        works.push(work, GFP_KERNEL)?;
    }
    let _none = core::mem::replace(&mut sint::lock().vtl2.works, works);
    Ok(())
}

/// Resets every CPU's SynIC and frees the interrupts once their runs have ended. Process
/// context; the driver's handler was removed before.
pub(super) fn power_off() {
    let works = {
        let mut synic = sint::lock();
        synic.vtl2.cpus = [const { Cpu::new() }; MAX_CPUS];
        synic.vtl2.handler = None;
        core::mem::take(&mut synic.vtl2.works)
    };
    drop(works);
}

/// Has `handler` run at each interrupt, or no more (`None`: not once this returns).
pub(super) fn set_handler(handler: Option<SynicHandler>) {
    sint::lock().vtl2.handler = handler;
    if handler.is_none() {
        while sint::lock().vtl2.running != 0 {
            cpu_relax();
        }
    }
}

/// The calling CPU's register `register`, written. Any context.
pub(super) fn write(register: SynicRegister, value: u64) {
    let cpu = CpuId::current().as_u32() as usize;
    if cpu >= MAX_CPUS {
        return;
    }
    let mut synic = sint::lock();
    let vtl2 = &mut synic.vtl2;
    let c = &mut vtl2.cpus[cpu];
    match register {
        SynicRegister::Scontrol => c.scontrol = value,
        SynicRegister::Simp => {
            c.simp = value;
            // arm64: the machine's EL2 writes VTL0's intercepts into SINT0's slot.
            #[cfg(CONFIG_ARM64)]
            super::el2::set_simp(value);
        }
        SynicRegister::Siefp => c.siefp = value,
        // The end of a message: the next may be delivered.
        SynicRegister::Eom => (),
        SynicRegister::Sint(n) if (n as usize) < HV_SYNIC_SINT_COUNT => c.sint[n as usize] = value,
        SynicRegister::Sint(_) => return,
    }
    let delivered = c.deliver();
    // An unmasked SINT's flags set while it was masked interrupt it now.
    let pending =
        matches!(register, SynicRegister::Sint(_) | SynicRegister::Scontrol) && c.flags_pending();
    if delivered {
        vtl2.delivered += 1;
    }
    if delivered || pending {
        vtl2.raise(cpu);
    }
}

/// The calling CPU's register `register`. Any context.
pub(super) fn read(register: SynicRegister) -> u64 {
    let cpu = CpuId::current().as_u32() as usize;
    let synic = sint::lock();
    let Some(c) = synic.vtl2.cpus.get(cpu) else {
        return 0;
    };
    match register {
        SynicRegister::Scontrol => c.scontrol,
        SynicRegister::Simp => c.simp,
        SynicRegister::Siefp => c.siefp,
        SynicRegister::Eom => 0,
        SynicRegister::Sint(n) => c.sint.get(n as usize).copied().unwrap_or(0),
    }
}

/// The host sends CPU `cpu`'s SINT `sint` a message: `EBUSY` if the CPU's queue is full.
pub(super) fn send(cpu: usize, sint: u32, message: Message) -> Result {
    if cpu >= cpus() || sint as usize >= HV_SYNIC_SINT_COUNT {
        return Err(EINVAL);
    }
    let mut synic = sint::lock();
    let vtl2 = &mut synic.vtl2;
    if !vtl2.cpus[cpu].push(sint, message) {
        return Err(EBUSY);
    }
    if vtl2.cpus[cpu].deliver() {
        vtl2.delivered += 1;
        vtl2.raise(cpu);
    }
    Ok(())
}

/// The host signals event flag `flag` of CPU `cpu`'s SINT `sint`: `ENXIO` where the CPU has no
/// event flags page.
pub(super) fn signal(cpu: usize, sint: u32, flag: usize) -> Result {
    if cpu >= cpus() || sint as usize >= HV_SYNIC_SINT_COUNT || flag >= EVENT_FLAGS {
        return Err(EINVAL);
    }
    let synic = sint::lock();
    let c = &synic.vtl2.cpus[cpu];
    let page = Cpu::page(c.siefp).ok_or(ENXIO)?;
    // SAFETY: The flag's word, within the SINT's part of the enabled page.
    let word =
        unsafe { AtomicU64::from_ptr(page.add(sint as usize * SLOT_BYTES + flag / 64 * 8).cast()) };
    let bit = 1u64 << (flag % 64);
    if word.fetch_or(bit, Ordering::AcqRel) & bit == 0 && c.unmasked(sint as usize) {
        synic.vtl2.raise(cpu);
    }
    Ok(())
}

/// The host forgets every message it queued and did not deliver (the debugfs file's `clear`).
pub(super) fn forget() {
    let mut synic = sint::lock();
    for c in synic.vtl2.cpus.iter_mut() {
        c.len = 0;
    }
}

/// What the debugfs file shows: per CPU, the registers and the messages waiting; then the
/// interrupts taken (in hard interrupt context) and the messages delivered.
pub(super) fn show(f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
    let synic = sint::lock();
    let vtl2 = &synic.vtl2;
    for (i, c) in vtl2.cpus.iter().enumerate().take(cpus()) {
        write!(
            f,
            "{i} scontrol {:#x} simp {:#x} siefp {:#x} queued {} sint",
            c.scontrol, c.simp, c.siefp, c.len
        )?;
        for s in c.sint {
            write!(f, " {s:#x}")?;
        }
        writeln!(f)?;
    }
    writeln!(
        f,
        "interrupts {} hardirq {} delivered {}",
        vtl2.interrupts, vtl2.in_hardirq, vtl2.delivered
    )
}
