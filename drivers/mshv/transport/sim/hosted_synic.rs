// SPDX-License-Identifier: GPL-2.0

//! The SynIC of the hosted partition's VPs (the root's, or VTL2's: [`Hosted`]), as the
//! TLFS has it: per CPU, SCONTROL, the message page (SIMP), the event flags page (SIEFP), the
//! event ring page (SIRBP) and sixteen SINTs, written through the synthetic registers (the
//! transport's `write_synic`, as the MSRs or VP registers are); and the host's side, which the
//! machine plays (the root's messages and doorbells) or a test does through the debugfs file
//! `synic` (VTL2's).
//!
//! For the root, the hypervisor provides each CPU's three pages: at power on their frames are
//! in SIMP, SIEFP and SIRBP, not yet enabled, and the root maps them and enables them. For VTL2
//! the registers start at zero and the driver brings pages of its own.
//!
//! A message for a CPU's SINT waits in that CPU's queue until the SINT can take it (SCONTROL
//! and SIMP enabled, the SINT unmasked, its slot free); then it is written into the SINT's slot
//! of the message page (its type last) and the CPU is interrupted. A message that finds the slot
//! taken sets the slot's `msg_pending`, and waits for the end of message (an `EOM` write). An
//! event flag is set in the SINT's part of the event flags page, and the CPU interrupted if the
//! flag was clear and the SINT unmasked. A doorbell's port goes into the calling CPU's event
//! ring for the doorbell SINT, which (`as_intercept`) signals the root by a message on SINT0.
//! The interrupt is an irq_work queued on the target CPU: the handler the driver set runs there
//! in hard interrupt context and reads the pages itself, as it does on a host.
//!
//! A message the root's SINT cannot take when it is sent (the SynIC or the page disabled, the
//! SINT masked) is dropped, and so are those still queued for a SINT the driver masks: the
//! driver masks its SINTs only to stop taking messages (a CPU going offline, the module going).
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
    time::{
        Instant,
        Monotonic, //
    },
};

use super::{
    port::EventRings,
    sint::{
        self,
        in_hardirq, //
    },
    vsm::Hosted,
    vtl0::MAX_CPUS, //
};
use crate::{
    cpu::OnReboot,
    ffi,
    hv::abi::{
        message_type,
        synic::{
            EVENT_FLAGS,
            PAGE_ENABLE,
            SCONTROL_ENABLE,
            SINT_AS_INTERCEPT,
            SINT_MASKED, //
        },
        EventRing,
        Message,
        SynicRegister,
        HV_SYNIC_INTERCEPTION_SINT_INDEX,
        HV_SYNIC_SINT_COUNT, //
    },
    irq_work::IrqWork,
    transport::SynicHandler,
};

/// Messages a CPU's SINTs hold before they can take them, at most (all SINTs together): a
/// sender of the root's messages that finds no room waits for the root to make some.
const QUEUED: usize = 16;
/// Bytes of a message slot, and of a SINT's event flags and event ring.
const SLOT_BYTES: usize = 256;
/// The SINT the root's messages come on.
const ROOT_SINT: usize = HV_SYNIC_INTERCEPTION_SINT_INDEX as usize;

/// One CPU's SynIC registers and the messages it has yet to take.
struct Cpu {
    scontrol: u64,
    simp: u64,
    siefp: u64,
    sirbp: u64,
    sint: [u64; HV_SYNIC_SINT_COUNT],
    /// The messages waiting, oldest first (`queued[..len]`): each SINT takes its own in order,
    /// whatever the others' wait for.
    queued: [(u32, Message); QUEUED],
    len: usize,
    /// SINTs whose slot holds a message written here, not yet seen freed (a bit each).
    in_slot: u32,
    /// Messages queued here since power on (or dropped, as none could take them) ...
    sent: u64,
    /// ... and of them, those written and seen freed, or dropped: a SINT takes its messages in
    /// order, so the first `finished` are done.
    finished: u64,
    /// When the interrupt on its way was raised, for the time it takes to come.
    raised: Option<Instant<Monotonic>>,
}

impl Cpu {
    const fn new() -> Self {
        Self {
            scontrol: 0,
            simp: 0,
            siefp: 0,
            sirbp: 0,
            // Every SINT starts masked, as on reset.
            sint: [SINT_MASKED; HV_SYNIC_SINT_COUNT],
            queued: [(0, Message::EMPTY); QUEUED],
            len: 0,
            in_slot: 0,
            raised: None,
            sent: 0,
            finished: 0,
        }
    }

    /// Whether SINT `sint` interrupts the CPU.
    fn unmasked(&self, sint: usize) -> bool {
        self.scontrol & SCONTROL_ENABLE != 0 && self.sint[sint] & SINT_MASKED == 0
    }

    /// Whether SINT `sint` can take a message (now or once its slot is free).
    fn takes_messages(&self, sint: usize) -> bool {
        self.unmasked(sint) && Self::page(self.simp).is_some()
    }

    /// The kernel address of the page a SIMP, SIEFP or SIRBP value enables, if it does.
    fn page(register: u64) -> Option<*mut u8> {
        (register & PAGE_ENABLE != 0).then(|| {
            // SAFETY: The page is the hypervisor's (the root's three, allocated at power on) or
            // one the driver holds for the SynIC (the transport's `write_synic` contract); the
            // shim only computes the address in the linear map.
            unsafe { ffi::mshv_shim_page_address(register >> 12) }.cast::<u8>()
        })
    }

    /// SINT `sint`'s event ring, where SIRBP is enabled.
    fn ring(&self, sint: usize) -> Option<*mut EventRing> {
        // SAFETY: The ring is within the enabled page (`sint` < 16).
        Self::page(self.sirbp).map(|page| unsafe { page.add(sint * SLOT_BYTES) }.cast())
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
        self.sweep();
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

    /// SINT `sint`'s slot's type (an aligned `u32` of the enabled message page `page`).
    fn slot_type<'a>(page: *mut u8, sint: usize) -> &'a AtomicU32 {
        // SAFETY: The slot is within the page (`sint` < 16), which stays (the SynIC's lock is
        // held while the reference is used); the driver reads and clears it atomically too.
        unsafe { AtomicU32::from_ptr(page.add(sint * SLOT_BYTES).cast()) }
    }

    /// Counts the messages written here whose slots the driver has freed since, or whose SINT
    /// no longer takes them.
    fn sweep(&mut self) {
        let page = Self::page(self.simp);
        for sint in 0..HV_SYNIC_SINT_COUNT {
            if self.in_slot & (1 << sint) == 0 {
                continue;
            }
            let gone = !self.takes_messages(sint);
            if gone || page.is_some_and(|p| Self::slot_type(p, sint).load(Ordering::Acquire) == 0) {
                self.in_slot &= !(1 << sint);
                self.finished += 1;
            }
        }
    }

    /// Drops the messages queued for the SINTs that no longer take them.
    fn drop_untaken(&mut self) {
        let mut i = 0;
        while i < self.len {
            if self.takes_messages(self.queued[i].0 as usize) {
                i += 1;
                continue;
            }
            self.queued.copy_within(i + 1..self.len, i);
            self.len -= 1;
            self.finished += 1;
        }
    }

    /// Writes `message` into SINT `sint`'s slot if the SINT can take it now; else, if its slot
    /// is taken, has the driver signal the end of that message.
    fn take(&mut self, sint: usize, message: Message) -> bool {
        let Some(page) = Self::page(self.simp) else {
            return false;
        };
        if !self.unmasked(sint) {
            return false;
        }
        // SAFETY: The slot is within the enabled message page (`sint` < 16).
        let slot = unsafe { page.add(sint * SLOT_BYTES) };
        let kind = Self::slot_type(page, sint);
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
        if self.in_slot & (1 << sint) != 0 {
            // The one before, freed.
            self.finished += 1;
        }
        let mut bytes = [0u8; SLOT_BYTES];
        // SAFETY: `Message` is 256 plain bytes.
        unsafe { core::ptr::write_unaligned(bytes.as_mut_ptr().cast::<Message>(), message) };
        bytes[..4].fill(0);
        // SAFETY: The slot is free: the driver touches it no more until its type is set,
        // which is last.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), slot, SLOT_BYTES) };
        kind.store(message.message_type, Ordering::Release);
        self.in_slot |= 1 << sint;
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

/// The SynIC of the hosted partition.
pub(super) struct HostedSynic {
    cpus: [Cpu; MAX_CPUS],
    /// The driver's interrupt handler.
    handler: Option<SynicHandler>,
    /// Runs of it in progress.
    running: u32,
    /// Each CPU's interrupt (irq_works queued on it), while the machine is on.
    works: KVec<IrqWork>,
    /// The pages the hypervisor provides the root, per CPU (message, event flags, event ring
    /// frames), while the machine is on; empty for VTL2.
    provided: KVec<[u64; 3]>,
    /// The hypervisor's side of the root's event rings.
    pub(super) rings: EventRings,
    /// The hosted partition is the root: the machine sends it messages, and the host side of
    /// the debugfs file is VTL2's only.
    root: bool,
    /// Interrupts taken, and of them in hard interrupt context; messages delivered.
    interrupts: u64,
    in_hardirq: u64,
    delivered: u64,
    /// Nanoseconds from raising interrupts to their handler's start, and in the handler.
    latency_ns: u64,
    handler_ns: u64,
    /// The check that the root undid its SynIC before the machine reboots, while the machine
    /// is on.
    reboot: Option<OnReboot>,
}

impl HostedSynic {
    pub(super) const fn new() -> Self {
        Self {
            cpus: [const { Cpu::new() }; MAX_CPUS],
            handler: None,
            running: 0,
            works: KVec::new(),
            provided: KVec::new(),
            rings: EventRings::new(),
            root: false,
            interrupts: 0,
            in_hardirq: 0,
            delivered: 0,
            latency_ns: 0,
            handler_ns: 0,
            reboot: None,
        }
    }

    /// Interrupts CPU `cpu`.
    fn raise(&mut self, cpu: usize) {
        if let Some(work) = self.works.get(cpu) {
            self.cpus[cpu].raised.get_or_insert_with(Instant::now);
            work.queue_on(cpu as u32);
        }
    }

    /// Queues `message` for CPU `cpu`'s SINT `sint` and delivers what it can: false if the
    /// CPU's queue is full.
    fn queue(&mut self, cpu: usize, sint: u32, message: Message) -> bool {
        let c = &mut self.cpus[cpu];
        if !c.push(sint, message) {
            return false;
        }
        c.sent += 1;
        if c.deliver() {
            self.delivered += 1;
            self.raise(cpu);
        }
        true
    }

    /// Drops `message` for the root on CPU `cpu`, which no SINT takes: counted done. A
    /// doorbell's signal lost unmasks its ring, so that the next port signals again.
    fn drop_root(&mut self, cpu: usize, message: &Message) {
        let c = &mut self.cpus[cpu];
        c.sent += 1;
        c.finished += 1;
        if message.message_type == message_type::SYNIC_SINT_INTERCEPT {
            self.unmask_ring(cpu, message.payload[0] as usize);
        }
    }

    /// Unmasks the signal of CPU `cpu`'s event ring of SINT `sint`, if it has one.
    fn unmask_ring(&mut self, cpu: usize, sint: usize) {
        let ring = (sint < HV_SYNIC_SINT_COUNT)
            .then(|| self.cpus.get(cpu)?.ring(sint))
            .flatten();
        if let Some(ring) = ring {
            // SAFETY: The ring is the CPU's, in its enabled event ring page; its consumer (the
            // driver's interrupt on that CPU) only reads and clears the flag too.
            unsafe { self.rings.unmask(ring) };
        }
    }
}

/// How long, in microseconds, the host waits for the root at most: for room in a CPU's queue,
/// or for a message to be taken. A root that takes none (its handler gone, a slot never freed)
/// has its messages dropped, or the waiter told (`ETIMEDOUT`), rather than the machine stuck.
const WAIT_US: u32 = 1_000_000;

/// A message sent to the root: the CPU it went to and its sequence number there, for
/// [`wait_delivered`].
#[derive(Clone, Copy)]
pub(super) struct Sent {
    cpu: usize,
    seq: u64,
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
    let cpu = CpuId::current().as_u32() as usize;
    let handler = {
        let mut synic = sint::lock();
        let hosted = &mut synic.hosted;
        hosted.interrupts += 1;
        if in_hardirq() {
            hosted.in_hardirq += 1;
        }
        if let Some(raised) = hosted.cpus.get_mut(cpu).and_then(|c| c.raised.take()) {
            hosted.latency_ns += nanos(raised);
        }
        hosted.running += 1;
        hosted.handler
    };
    let start = Instant::<Monotonic>::now();
    if let Some(handler) = handler {
        handler();
    }
    let mut synic = sint::lock();
    synic.hosted.handler_ns += nanos(start);
    synic.hosted.running -= 1;
}

/// The nanoseconds since `start`.
pub(super) fn nanos(start: Instant<Monotonic>) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(0)
}

/// Frees pages the hypervisor provided.
fn free_provided(provided: KVec<[u64; 3]>) {
    for pfn in provided.into_iter().flatten().filter(|&pfn| pfn != 0) {
        // SAFETY: The page was allocated at power on, and no register names it any more.
        unsafe { ffi::mshv_shim_page_free(pfn) };
    }
}

/// Gives every CPU its interrupt and, for the root, the pages the hypervisor provides.
/// Process context.
pub(super) fn power_on(hosted: Hosted) -> Result {
    // Hard, as the hypervisor's interrupt is: lockdep then reports a `spinlock_t` the driver's
    // handler takes. The root's handler takes some (see `sint::HARD_IRQ_WORK`).
    let hard = hosted == Hosted::Vtl2 || sint::HARD_IRQ_WORK;
    // Last of the reboot notifiers, after the root's own (removed again on failure).
    let reboot = match hosted {
        // SAFETY: The machine powers off (dropping it) before the module unloads.
        Hosted::Root => Some(unsafe { OnReboot::new(check_at_reboot, i32::MIN) }?),
        Hosted::Vtl2 => None,
    };
    let mut works = KVec::with_capacity(cpus(), GFP_KERNEL)?;
    let mut provided = KVec::new();
    for _ in 0..cpus() {
        // SAFETY: `interrupt` takes no data and may run in hard interrupt context on any CPU
        // (the lock it takes is raw).
        let work = unsafe { IrqWork::new(interrupt, core::ptr::null_mut(), hard)? };
        works.push(work, GFP_KERNEL)?;
    }
    if hosted == Hosted::Root {
        provided.reserve(cpus(), GFP_KERNEL)?;
        for _ in 0..cpus() {
            // SAFETY: Each allocates a zeroed page of the kernel's, for the hypervisor.
            let pages = unsafe { [0; 3].map(|_: u64| ffi::mshv_shim_pages_alloc(0)) };
            // Pushed first, so that a failure frees what was allocated.
            provided.push(pages, GFP_KERNEL)?;
            if pages.contains(&0) {
                free_provided(provided);
                return Err(ENOMEM);
            }
        }
    }
    let mut synic = sint::lock();
    synic.hosted.root = hosted == Hosted::Root;
    synic.hosted.reboot = reboot;
    for (c, pages) in synic.hosted.cpus.iter_mut().zip(provided.iter()) {
        // Provisioned, not enabled: the root enables them.
        c.simp = pages[0] << 12;
        c.siefp = pages[1] << 12;
        c.sirbp = pages[2] << 12;
    }
    let _none = core::mem::replace(&mut synic.hosted.works, works);
    let _none = core::mem::replace(&mut synic.hosted.provided, provided);
    Ok(())
}

/// Resets every CPU's SynIC and frees the interrupts once their runs have ended, and the
/// pages provided. Process context; the driver's handler was removed before.
pub(super) fn power_off() {
    // Removed first, with the lock dropped (a run in progress, which takes it, ends first).
    let reboot = sint::lock().hosted.reboot.take();
    drop(reboot);
    let (works, provided) = {
        let mut synic = sint::lock();
        let hosted = &mut synic.hosted;
        hosted.cpus = [const { Cpu::new() }; MAX_CPUS];
        hosted.handler = None;
        hosted.rings.clear();
        (
            core::mem::take(&mut hosted.works),
            core::mem::take(&mut hosted.provided),
        )
    };
    drop(works);
    free_provided(provided);
}

/// The machine reboots with the root's module loaded: the root must have undone its SynIC on
/// every CPU (upstream's reboot notifier does), or the hypervisor would go on writing its pages
/// and interrupting its vector in whatever kernel comes next. A SynIC left on is a bug, and
/// said so in the kernel log.
extern "C" fn check_at_reboot() {
    let n = cpus();
    let left_on = {
        let synic = sint::lock();
        synic.hosted.cpus[..n]
            .iter()
            .enumerate()
            .find_map(|(cpu, c)| {
                let pages = (c.simp | c.siefp | c.sirbp) & PAGE_ENABLE != 0;
                let sints = c.sint.iter().any(|&sint| sint & SINT_MASKED == 0);
                (c.scontrol & SCONTROL_ENABLE != 0 || pages || sints)
                    .then_some((cpu, c.scontrol, c.simp, c.sint[0]))
            })
    };
    match left_on {
        Some((cpu, scontrol, simp, sint0)) => pr_err!(
            "BUG: simulator: the root left its SynIC on at reboot (CPU {cpu}: SCONTROL {scontrol:#x}, SIMP {simp:#x}, SINT0 {sint0:#x})\n"
        ),
        None => pr_info!("simulator: at reboot the root's SynIC is off on all {n} CPUs\n"),
    }
}

/// Has `handler` run at each interrupt, or no more (`None`: not once this returns).
pub(super) fn set_handler(handler: Option<SynicHandler>) {
    sint::lock().hosted.handler = handler;
    if handler.is_none() {
        while sint::lock().hosted.running != 0 {
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
    let hosted = &mut synic.hosted;
    let c = &mut hosted.cpus[cpu];
    match register {
        SynicRegister::Scontrol => c.scontrol = value,
        SynicRegister::Simp => {
            c.simp = value;
            // arm64: the machine's EL2 writes VTL0's intercepts into SINT0's slot.
            #[cfg(CONFIG_ARM64)]
            super::el2::set_simp(value);
        }
        SynicRegister::Siefp => c.siefp = value,
        SynicRegister::Sirbp => {
            let enabled = value & PAGE_ENABLE != 0 && c.sirbp & PAGE_ENABLE == 0;
            c.sirbp = value;
            if enabled {
                // A ring page enabled starts empty, its rings at their first slot (as the
                // Hyper-V core's consumer indices do when the CPU comes online).
                if let Some(page) = Cpu::page(value) {
                    // SAFETY: The page just enabled: the hypervisor's, or the driver's for it.
                    unsafe { core::ptr::write_bytes(page, 0, crate::hv::HV_HYP_PAGE_SIZE) };
                }
                hosted.rings.reset(cpu);
            }
        }
        // The end of a message: the next may be delivered.
        SynicRegister::Eom => (),
        SynicRegister::Sint(n) if (n as usize) < HV_SYNIC_SINT_COUNT => c.sint[n as usize] = value,
        SynicRegister::Sint(_) => return,
    }
    c.sweep();
    if hosted.root {
        // The root masks its SINTs only to stop taking messages.
        c.drop_untaken();
    }
    let delivered = c.deliver();
    // An unmasked SINT's flags set while it was masked interrupt it now.
    let pending =
        matches!(register, SynicRegister::Sint(_) | SynicRegister::Scontrol) && c.flags_pending();
    if delivered {
        hosted.delivered += 1;
    }
    if delivered || pending {
        hosted.raise(cpu);
    }
}

/// The calling CPU's register `register`. Any context.
pub(super) fn read(register: SynicRegister) -> u64 {
    let cpu = CpuId::current().as_u32() as usize;
    let synic = sint::lock();
    let Some(c) = synic.hosted.cpus.get(cpu) else {
        return 0;
    };
    match register {
        SynicRegister::Scontrol => c.scontrol,
        SynicRegister::Simp => c.simp,
        SynicRegister::Siefp => c.siefp,
        SynicRegister::Sirbp => c.sirbp,
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
    // The root's messages are the machine's to send.
    if synic.hosted.root {
        return Err(EPERM);
    }
    if synic.hosted.queue(cpu, sint, message) {
        Ok(())
    } else {
        Err(EBUSY)
    }
}

/// Sends the root `messages`, in order, on SINT0 of CPU `cpu` (the one whose event ring a
/// doorbell rang), or else of the CPU that sends them; waits for room when that CPU's queue is
/// full (process context, interrupts on: the root's handler on that CPU makes it), for at most
/// [`WAIT_US`] (then the rest are dropped). The last one's place, for [`wait_delivered`].
pub(super) fn send_root(messages: &[Message], cpu: Option<usize>) -> Option<Sent> {
    if messages.is_empty() {
        return None;
    }
    let mut rest = messages;
    let mut synic = sint::lock();
    let cpu = cpu.unwrap_or_else(|| CpuId::current().as_u32() as usize);
    if cpu >= cpus() {
        return None;
    }
    let mut waited = 0;
    loop {
        let hosted = &mut synic.hosted;
        while let Some((first, others)) = rest.split_first() {
            if waited >= WAIT_US || !hosted.cpus[cpu].takes_messages(ROOT_SINT) {
                // Nothing takes it.
                hosted.drop_root(cpu, first);
            } else if !hosted.queue(cpu, ROOT_SINT as u32, *first) {
                break;
            }
            rest = others;
        }
        if rest.is_empty() {
            return Some(Sent {
                cpu,
                seq: hosted.cpus[cpu].sent,
            });
        }
        // The root's handler makes room; it takes no lock a sender holds but this one, which
        // it takes only for a fast call.
        drop(synic);
        // SAFETY: Busy-waits, in any context.
        unsafe { ffi::mshv_shim_udelay(1) };
        waited += 1;
        synic = sint::lock();
    }
}

/// Waits until the root has freed the slot of `sent` and of every message before it on its CPU
/// (or they were dropped): `ETIMEDOUT` after [`WAIT_US`]. Process context, with interrupts on:
/// on this CPU the interrupt may have to run.
pub(super) fn wait_delivered(sent: Sent) -> Result {
    for _ in 0..WAIT_US {
        {
            let mut synic = sint::lock();
            let c = &mut synic.hosted.cpus[sent.cpu];
            c.sweep();
            if c.finished >= sent.seq {
                return Ok(());
            }
        }
        // SAFETY: Busy-waits, in any context.
        unsafe { ffi::mshv_shim_udelay(1) };
    }
    Err(ETIMEDOUT)
}

/// A guest rang doorbell port `port` of SINT `sint`: it goes into CPU `cpu`'s event ring (the
/// one this machine call's messages go to), else the calling CPU's.
/// If that ring's signal was not masked (it is now), the root is to be signalled by a SINT
/// intercept message on that CPU's SINT0 (the doorbell SINT is `as_intercept`): the CPU, for
/// [`send_root`]. Where the CPU has no event ring page or the SINT is masked, the port is lost.
pub(super) fn ring_doorbell(sint: u32, port: u32, cpu: Option<usize>) -> Option<usize> {
    let mut synic = sint::lock();
    let hosted = &mut synic.hosted;
    let cpu = cpu.unwrap_or_else(|| CpuId::current().as_u32() as usize);
    let c = hosted.cpus.get(cpu)?;
    let s = sint as usize;
    let ring = (s < HV_SYNIC_SINT_COUNT && c.unmasked(s))
        .then(|| c.ring(s))
        .flatten()?;
    if c.sint[s] & SINT_AS_INTERCEPT == 0 {
        return None;
    }
    // SAFETY: The ring is the CPU's, in its enabled event ring page; the driver takes from it
    // on this CPU, which cannot run it now (interrupts are off under the lock).
    unsafe { hosted.rings.queue(ring, cpu, s, port) }.then_some(cpu)
}

/// The signal [`ring_doorbell`] asked for for CPU `cpu`'s SINT `sint` cannot be sent: its ring
/// is unmasked, so that the next port signals again.
pub(super) fn unsignalled(cpu: usize, sint: u32) {
    sint::lock().hosted.unmask_ring(cpu, sint as usize);
}

/// The root emptied the calling CPU's ring of SINT `sint`: the ports that waited for room go
/// in. Any context (the root's handler calls it).
pub(super) fn ring_emptied(sint: usize) {
    let mut synic = sint::lock();
    let hosted = &mut synic.hosted;
    let cpu = CpuId::current().as_u32() as usize;
    let Some(ring) = hosted.cpus.get(cpu).and_then(|c| c.ring(sint)) else {
        return;
    };
    // SAFETY: As in `ring_doorbell`.
    unsafe { hosted.rings.notify_empty(ring, cpu, sint) };
}

/// The host forgets every message it queued and did not deliver (the debugfs file's `clear`).
pub(super) fn forget() {
    let mut synic = sint::lock();
    let hosted = &mut synic.hosted;
    for c in hosted.cpus.iter_mut() {
        c.finished += c.len as u64;
        c.len = 0;
    }
}

/// The SynIC's interrupts taken since power on, and those of them in hard interrupt context.
pub(super) fn interrupts() -> (u64, u64) {
    let synic = sint::lock();
    (synic.hosted.interrupts, synic.hosted.in_hardirq)
}

/// The nanoseconds interrupts took to come (from being raised to their handler's start), and
/// their handler's run, since power on.
pub(super) fn interrupt_times() -> (u64, u64) {
    let synic = sint::lock();
    (synic.hosted.latency_ns, synic.hosted.handler_ns)
}

/// What the debugfs file shows: per CPU, the registers and the messages waiting; then the
/// interrupts taken (in hard interrupt context) and the messages delivered.
pub(super) fn show(f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
    let synic = sint::lock();
    let hosted = &synic.hosted;
    for (i, c) in hosted.cpus.iter().enumerate().take(cpus()) {
        write!(
            f,
            "{i} scontrol {:#x} simp {:#x} siefp {:#x} sirbp {:#x} queued {} sint",
            c.scontrol, c.simp, c.siefp, c.sirbp, c.len
        )?;
        for s in c.sint {
            write!(f, " {s:#x}")?;
        }
        writeln!(f)?;
    }
    writeln!(
        f,
        "interrupts {} hardirq {} delivered {}",
        hosted.interrupts, hosted.in_hardirq, hosted.delivered
    )
}

/// The host signals event flag `flag` of CPU `cpu`'s SINT `sint`: `ENXIO` where the CPU has no
/// event flags page.
pub(super) fn signal(cpu: usize, sint: u32, flag: usize) -> Result {
    if cpu >= cpus() || sint as usize >= HV_SYNIC_SINT_COUNT || flag >= EVENT_FLAGS {
        return Err(EINVAL);
    }
    let mut synic = sint::lock();
    if synic.hosted.root {
        return Err(EPERM);
    }
    let c = &synic.hosted.cpus[cpu];
    let page = Cpu::page(c.siefp).ok_or(ENXIO)?;
    // SAFETY: The flag's word, within the SINT's part of the enabled page.
    let word =
        unsafe { AtomicU64::from_ptr(page.add(sint as usize * SLOT_BYTES + flag / 64 * 8).cast()) };
    let bit = 1u64 << (flag % 64);
    if word.fetch_or(bit, Ordering::AcqRel) & bit == 0 && c.unmasked(sint as usize) {
        synic.hosted.raise(cpu);
    }
    Ok(())
}
