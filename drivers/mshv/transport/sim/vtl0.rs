// SPDX-License-Identifier: GPL-2.0

//! VTL0 of the hosted VTL2 partition's VPs ([`super::Hosted::Vtl2`]): the VP assist pages the
//! machine overlays, and the VTL switch done for real.
//!
//! The driver's VTL switch calls the machine's VTL-return entry (`vtl_x86.S`) where a real
//! hypervisor's hypercall page has its sequence. That entry keeps VTL2's stack, return address
//! and flags, puts every general-purpose register in VTL0's register file and calls
//! [`mshv_sim_vtl0_run`], which does what the hypervisor does at a VTL return: loads VTL0's rax
//! and rcx from the VP assist page, runs the return actions there (counts and clears them), and
//! runs VTL0, here real code of the machine's (a *program*, one per CPU, chosen through the
//! debugfs file `vtl0`), until VTL0 exits to VTL2: the entry reason, and for an intercept its
//! message, go in the VP assist page, and the entry returns to VTL2 with VTL0's registers in
//! the registers. It knows the TLFS's pages only, never the driver's.
//!
//! The programs (numbers in the debugfs file):
//!
//! - 0, *intercept*: computes on the registers and intercepts (`HVMSG_X64_HALT`, payload: the
//!   CPU's VTL returns so far, then rax as VTL0 got it);
//! - 1, *interrupt first*: raises an interrupt for VTL2 (an IPI to itself) and exits with
//!   `INTERRUPT`; at the next return, does as *intercept*;
//! - 2, *spin*: runs for a millisecond and exits with `INTERRUPT`, as a timer tick would make
//!   it, every time: VTL2 runs it until cancelled;
//! - 3, *reason*: exits with the entry reason the file gives (any number).

use core::{
    ffi::c_void,
    sync::atomic::{
        AtomicU32,
        AtomicU64,
        AtomicU8,
        AtomicUsize,
        Ordering, //
    },
};

use kernel::{
    cpu::{
        nr_cpu_ids,
        CpuId, //
    },
    transmute::AsBytes,
};

use crate::{
    ffi,
    hv::abi::{
        message_type,
        vtl_entry_reason,
        Message,
        VpAssistPage,
        HV_MESSAGE_PAYLOAD_QWORD_COUNT,
        HV_SYNIC_INTERCEPTION_SINT_INDEX, //
    },
};

/// CPUs the machine simulates VTL0 for, at most.
pub(super) const MAX_CPUS: usize = 64;

/// The programs VTL0 can run (see the module's documentation).
pub(super) mod program {
    pub(crate) const INTERCEPT: u32 = 0;
    pub(crate) const INTERRUPT_FIRST: u32 = 1;
    pub(crate) const SPIN: u32 = 2;
    pub(crate) const REASON: u32 = 3;
    pub(crate) const COUNT: u32 = 4;
}

/// One CPU's VTL0, as the machine keeps it. Reached with interrupts off, from that CPU only,
/// and from debugfs: all atomics.
pub(super) struct Cpu {
    /// Its VP assist page's kernel address; 0 when there is none.
    assist: AtomicUsize,
    /// That page's frame.
    assist_pfn: AtomicU64,
    /// Its interrupt for VTL2 (an `irq_work`, queued on the CPU itself).
    irq: AtomicUsize,
    /// The program VTL0 runs.
    pub(super) program: AtomicU32,
    /// The program's argument (`REASON`: the entry reason).
    pub(super) arg: AtomicU32,
    /// Whether the interrupt of `INTERRUPT_FIRST` was raised (the next return intercepts).
    raised: AtomicU32,
    /// VTL returns taken.
    pub(super) returns: AtomicU64,
    /// Interrupts for VTL2 raised, and taken.
    pub(super) raised_irqs: AtomicU64,
    pub(super) taken_irqs: AtomicU64,
    /// Return actions run.
    pub(super) actions: AtomicU64,
    /// The kernel address of VTL0's register page, which VTL2 gave the machine
    /// (`HV_X64_REGISTER_REG_PAGE`); 0 when there is none.
    reg_page: AtomicUsize,
    /// VTL0's instruction pointer and flags: the register page shows them, and
    /// `HVCALL_GET/SET_VP_REGISTERS` of VTL0 reach them.
    pub(super) rip: AtomicU64,
    pub(super) rflags: AtomicU64,
}

impl Cpu {
    const fn new() -> Self {
        Self {
            assist: AtomicUsize::new(0),
            assist_pfn: AtomicU64::new(0),
            irq: AtomicUsize::new(0),
            program: AtomicU32::new(program::INTERCEPT),
            arg: AtomicU32::new(0),
            raised: AtomicU32::new(0),
            returns: AtomicU64::new(0),
            raised_irqs: AtomicU64::new(0),
            taken_irqs: AtomicU64::new(0),
            actions: AtomicU64::new(0),
            reg_page: AtomicUsize::new(0),
            rip: AtomicU64::new(0xfff0),
            // Bit 1 is always set.
            rflags: AtomicU64::new(0x2),
        }
    }

    /// The register page's field at `offset`, as an atomic (VTL2 may write it from another
    /// thread while VTL0 runs here).
    fn reg_field<T>(page: usize, offset: usize) -> *mut T {
        (page + offset) as *mut T
    }

    /// At a VTL return: loads what VTL2 changed in the register page (its `dirty` classes).
    fn load_register_page(&self) {
        use crate::hv::abi::vp_register_page::*;
        let page = self.reg_page.load(Ordering::Acquire);
        if page == 0 {
            return;
        }
        // SAFETY: The page is VTL2's, which it gave the machine for this CPU and holds until it
        // takes it back; each field is aligned, and reached atomically only here.
        unsafe {
            // Only the classes the machine keeps here; VTL0's general-purpose registers come
            // from the run page, through the switch.
            let handled = (1 << CLASS_IP) | (1 << CLASS_FLAGS);
            let dirty = AtomicU32::from_ptr(Self::reg_field(page, DIRTY))
                .fetch_and(!handled, Ordering::AcqRel);
            if dirty & (1 << CLASS_IP) != 0 {
                let rip = AtomicU64::from_ptr(Self::reg_field(page, RIP)).load(Ordering::Acquire);
                self.rip.store(rip, Ordering::Relaxed);
            }
            if dirty & (1 << CLASS_FLAGS) != 0 {
                let flags = AtomicU64::from_ptr(Self::reg_field(page, RFLAGS));
                self.rflags
                    .store(flags.load(Ordering::Acquire), Ordering::Relaxed);
            }
        }
    }

    /// At an exit to VTL2 (with VTL0's general-purpose registers, `frame`), or after a
    /// hypercall set a register: shows VTL0's registers in the register page.
    fn store_register_page(&self, frame: Option<&Vtl0Frame>) {
        use crate::hv::abi::vp_register_page::*;
        let page = self.reg_page.load(Ordering::Acquire);
        if page == 0 {
            return;
        }
        // SAFETY: As in `load_register_page`.
        unsafe {
            AtomicU64::from_ptr(Self::reg_field(page, RIP))
                .store(self.rip.load(Ordering::Relaxed), Ordering::Release);
            AtomicU64::from_ptr(Self::reg_field(page, RFLAGS))
                .store(self.rflags.load(Ordering::Relaxed), Ordering::Release);
            if let Some(f) = frame {
                // `gp_registers`, in the page's order (rsp is VTL0's own, not switched).
                let gprs = [
                    f.rax, f.rcx, f.rdx, f.rbx, 0, f.rbp, f.rsi, f.rdi, f.r8, f.r9, f.r10, f.r11,
                    f.r12, f.r13, f.r14, f.r15,
                ];
                for (i, value) in gprs.into_iter().enumerate() {
                    AtomicU64::from_ptr(Self::reg_field(page, GP_REGISTERS + 8 * i))
                        .store(value, Ordering::Release);
                }
            }
            core::ptr::write_volatile(Self::reg_field::<u16>(page, VERSION), VERSION_1);
            AtomicU8::from_ptr(Self::reg_field(page, ISVALID)).store(1, Ordering::Release);
        }
    }
}

/// VTL2 sets VP `vp`'s `HV_X64_REGISTER_REG_PAGE` (`union hv_synic_overlay_page_msr`): the
/// machine overlays VTL0's registers on that page, or no page (disabled).
pub(super) fn set_register_page(vp: u32, value: u64) -> bool {
    let Some(cpu) = CPUS.get(vp as usize).filter(|_| (vp as usize) < cpus()) else {
        return false;
    };
    let addr = if value & 1 != 0 {
        // SAFETY: VTL2 names a page of its own, which it holds for the machine until it writes
        // the register again; the shim only computes its address.
        unsafe { ffi::mshv_shim_page_address(value >> 12) as usize }
    } else {
        0
    };
    cpu.reg_page.store(addr, Ordering::Release);
    true
}

/// CPU `cpu`'s VTL returns so far: on arm64, how often the machine's EL2 entered VTL0.
pub(super) fn returns(cpu: usize) -> u64 {
    #[cfg(CONFIG_ARM64)]
    {
        super::el2::returns(cpu)
    }
    #[cfg(not(CONFIG_ARM64))]
    {
        CPUS.get(cpu)
            .map_or(0, |c| c.returns.load(Ordering::Relaxed))
    }
}

/// VP `vp`'s register page shows its registers as they are now (after a hypercall set one).
pub(super) fn show_registers(vp: u32) {
    if let Some(cpu) = CPUS.get(vp as usize) {
        cpu.store_register_page(None);
    }
}

/// Every CPU's VTL0.
pub(super) static CPUS: [Cpu; MAX_CPUS] = [const { Cpu::new() }; MAX_CPUS];

/// How many CPUs the machine simulates: the kernel's, up to [`MAX_CPUS`].
pub(super) fn cpus() -> usize {
    (nr_cpu_ids() as usize).min(MAX_CPUS)
}

/// Overlays a VP assist page and sets up an interrupt for each CPU. What it could not get, it
/// leaves out: that CPU has no VP assist page.
pub(super) fn power_on() {
    for (i, cpu) in CPUS.iter().enumerate().take(cpus()) {
        // SAFETY: Allocates a zeroed page; the machine owns it until `power_off`.
        let pfn = unsafe { ffi::mshv_shim_pages_alloc(0) };
        if pfn == 0 {
            continue;
        }
        // SAFETY: `pfn` is the page just allocated: the kernel's memory.
        let addr = unsafe { ffi::mshv_shim_page_address(pfn) } as usize;
        // SAFETY: `irq_taken` takes the CPU's index, which stays valid (a static's).
        let irq = unsafe { ffi::mshv_shim_irq_work_new(irq_taken, i as *mut c_void, true) };
        if irq.is_null() {
            // SAFETY: The page was allocated above and is used by nothing yet.
            unsafe { ffi::mshv_shim_page_free(pfn) };
            continue;
        }
        cpu.irq.store(irq as usize, Ordering::Release);
        cpu.assist_pfn.store(pfn, Ordering::Release);
        cpu.assist.store(addr, Ordering::Release);
    }
}

/// Takes the VP assist pages and the interrupts back. Nothing runs VTL0 any more: the driver's
/// devices are gone.
pub(super) fn power_off() {
    for cpu in CPUS.iter() {
        let irq = cpu.irq.swap(0, Ordering::AcqRel);
        if irq != 0 {
            // SAFETY: The work was made by `power_on`; freeing waits for a run in progress.
            unsafe { ffi::mshv_shim_irq_work_free(irq as *mut c_void) };
        }
        cpu.assist.store(0, Ordering::Release);
        cpu.reg_page.store(0, Ordering::Release);
        let pfn = cpu.assist_pfn.swap(0, Ordering::AcqRel);
        if pfn != 0 {
            // SAFETY: The page was allocated by `power_on` and is no longer handed out.
            unsafe { ffi::mshv_shim_page_free(pfn) };
        }
    }
}

/// CPU `cpu`'s VP assist page, or null.
pub(super) fn vp_assist_page(cpu: u32) -> *mut c_void {
    CPUS.get(cpu as usize)
        .map_or(0, |c| c.assist.load(Ordering::Acquire)) as *mut c_void
}

/// The machine's VTL-return entry, where it has one (x86_64).
pub(super) fn return_entry() -> *mut c_void {
    #[cfg(CONFIG_X86_64)]
    {
        ffi::mshv_sim_vtl_return as *mut c_void
    }
    #[cfg(not(CONFIG_X86_64))]
    {
        core::ptr::null_mut()
    }
}

/// The interrupt a program raised for VTL2, taken once VTL2 enables interrupts again.
///
/// # Safety
///
/// `data` is a CPU's index, as `power_on` set up.
unsafe extern "C" fn irq_taken(data: *mut c_void) {
    if let Some(cpu) = CPUS.get(data as usize) {
        cpu.taken_irqs.fetch_add(1, Ordering::Relaxed);
    }
}

/// VTL0's general-purpose registers, as the entry stores them (`vtl_x86.S`), and VTL2's flags.
#[repr(C)]
pub(crate) struct Vtl0Frame {
    rax: u64,
    rcx: u64,
    rbp: u64,
    rdi: u64,
    rsi: u64,
    rdx: u64,
    rbx: u64,
    r8: u64,
    r9: u64,
    r10: u64,
    r11: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
    flags: u64,
}

/// Runs VTL0 on the calling CPU, from the VTL-return entry: interrupts are off.
///
/// # Safety
///
/// `frame` is the entry's register file, on its stack, for this call alone.
#[no_mangle]
pub(crate) unsafe extern "C" fn mshv_sim_vtl0_run(frame: *mut Vtl0Frame) {
    // SAFETY: The entry passes its frame, which nothing else touches during the call.
    let frame = unsafe { &mut *frame };
    let index = CpuId::current().as_u32() as usize;
    let Some(cpu) = CPUS.get(index) else { return };
    let addr = cpu.assist.load(Ordering::Acquire);
    if addr == 0 {
        return;
    }
    // SAFETY: The page is the machine's, overlaid for this CPU, which is the only one that
    // runs VTL0 on it (interrupts are off); the driver reads it only between returns.
    let hvp = unsafe { &mut *(addr as *mut VpAssistPage) };
    frame.rax = hvp.vtl_ret_x64rax;
    frame.rcx = hvp.vtl_ret_x64rcx;
    if hvp.vtl_ret_actions.iter().any(|&b| b != 0) {
        cpu.actions.fetch_add(1, Ordering::Relaxed);
        hvp.vtl_ret_actions.fill(0);
    }
    cpu.load_register_page();
    let returns = cpu.returns.fetch_add(1, Ordering::Relaxed) + 1;
    let reason = match cpu.program.load(Ordering::Relaxed) {
        program::INTERRUPT_FIRST if cpu.raised.swap(1, Ordering::Relaxed) == 0 => {
            raise(cpu);
            vtl_entry_reason::INTERRUPT
        }
        program::SPIN => {
            // SAFETY: A busy wait.
            unsafe { ffi::mshv_shim_udelay(1000) };
            vtl_entry_reason::INTERRUPT
        }
        program::REASON => cpu.arg.load(Ordering::Relaxed),
        _ => {
            cpu.raised.store(0, Ordering::Relaxed);
            let message = intercept(frame, returns);
            if super::vsm::intercept_page() {
                hvp.intercept_message.copy_from_slice(message.as_bytes());
                vtl_entry_reason::INTERCEPT
            } else {
                // Without the intercept page, the intercept is a message on VTL2's SINT0,
                // whose interrupt ends VTL0's run. One the SynIC cannot queue is lost: VTL0
                // intercepts again at its next run.
                let _ = super::hosted_synic::send(index, HV_SYNIC_INTERCEPTION_SINT_INDEX, message);
                vtl_entry_reason::INTERRUPT
            }
        }
    };
    hvp.vtl_entry_reason = reason;
    cpu.store_register_page(Some(frame));
}

/// Raises an interrupt for VTL2 on this CPU, pending until VTL2 enables interrupts.
fn raise(cpu: &Cpu) {
    let irq = cpu.irq.load(Ordering::Acquire);
    // SAFETY: The work is the CPU's, made by `power_on`, and is freed only at power off.
    if irq != 0 && unsafe { ffi::mshv_shim_irq_work_queue(irq as *mut c_void) } {
        cpu.raised_irqs.fetch_add(1, Ordering::Relaxed);
    }
}

/// VTL0's computation, then its intercept: the registers' new values, and the message.
fn intercept(frame: &mut Vtl0Frame, returns: u64) -> Message {
    let rax = frame.rax;
    frame.rax = frame.rax.wrapping_add(frame.rbx);
    frame.rcx ^= frame.rdx;
    frame.rdx = frame.rdx.wrapping_add(1);
    frame.rbp = frame.rbp.wrapping_add(1);
    for (i, r) in [
        &mut frame.r8,
        &mut frame.r9,
        &mut frame.r10,
        &mut frame.r11,
        &mut frame.r12,
        &mut frame.r13,
        &mut frame.r14,
        &mut frame.r15,
    ]
    .into_iter()
    .enumerate()
    {
        *r = r.wrapping_add(i as u64 + 1);
    }
    frame.rsi = !frame.rsi;
    frame.rdi = frame.rdi.rotate_left(8);
    let mut payload = [0; HV_MESSAGE_PAYLOAD_QWORD_COUNT];
    payload[0] = returns;
    payload[1] = rax;
    Message {
        message_type: message_type::X64_HALT,
        payload_size: 16,
        payload,
        ..Message::EMPTY
    }
}
