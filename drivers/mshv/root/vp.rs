// SPDX-License-Identifier: GPL-2.0

//! A virtual processor: the object behind a VP file, and its ioctls.

use core::{
    ptr::NonNull,
    sync::atomic::{
        AtomicBool,
        Ordering, //
    },
};

use kernel::{
    error::to_result,
    fs::File,
    mm::virt::VmaNew,
    new_mutex,
    page::BorrowedPage,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow,
        Mutex, //
    },
};

use super::{
    kick::{
        self,
        Kick, //
    },
    messages,
    partition::Partition,
    passthru::{
        root_hvcall,
        Caller, //
    },
    scheduler,
    vp_state, //
};
use crate::{
    anon_file::AnonFile,
    calls, ffi,
    hv::abi::{
        dispatch,
        message_type,
        register,
        vp_state_page,
        MEMORY_INTERCEPT_GPA_OFFSET, //
    },
    sync::lock_killable,
    transport::HvPages,
    uapi::{
        self,
        RunVp,
        MSHV_GET_VP_STATE,
        MSHV_ROOT_HVCALL,
        MSHV_RUN_VP,
        MSHV_SET_VP_STATE,
        MSHV_VP_MMAP_OFFSET_GHCB,
        MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE,
        MSHV_VP_MMAP_OFFSET_REGISTERS, //
    },
};

/// Times in a row one page may fault and be mapped in one `MSHV_RUN_VP` (invalidations may
/// race a fault) before the fault goes to the VMM.
const FAULT_REPEATS: u32 = 16;

/// A VP of a partition.
#[pin_data]
pub(crate) struct Vp {
    /// Its index in the partition.
    pub(crate) index: u32,
    /// The page frame of the register page the hypervisor shares.
    registers_pfn: u64,
    /// The page frame of the intercept message page.
    intercept_message_pfn: u64,
    /// Told when the VP stops.
    kick: Arc<Kick>,
    /// A run gave up waiting for an intercept's notice the hypervisor said was coming (see
    /// [`Vp::run_once`]): the next run takes it, before anything else. Under `run`.
    notice_owed: AtomicBool,
    /// Under the root scheduler (see [`Vp::dispatch_once`]): the last dispatch ended on an
    /// intercept, which the next one clears. Under `run`.
    intercept_suspended: AtomicBool,
    /// Under the root scheduler: a dispatch found the VP blocked and no signal has come since
    /// (a run ended by a signal to the task left it so). Under `run`.
    blocked: AtomicBool,
    /// Held for each of the VP's ioctls, `MSHV_RUN_VP`'s whole run included (upstream's
    /// `vp_mutex`): the pages for its hypercalls.
    #[pin]
    run: Mutex<HvPages>,
}

impl Vp {
    /// Creates VP `index` of partition `partition_id` and maps its state pages.
    pub(super) fn create(pages: &mut HvPages, partition_id: u64, index: u32) -> Result<Arc<Self>> {
        calls::create_vp(pages, partition_id, index)?;
        let mapped = (|| -> Result<(u64, u64)> {
            let intercept_message_pfn = calls::map_vp_state_page(
                pages,
                partition_id,
                index,
                vp_state_page::INTERCEPT_MESSAGE,
            )?;
            let registers_pfn =
                calls::map_vp_state_page(pages, partition_id, index, vp_state_page::REGISTERS)
                    .inspect_err(|_| {
                        let _ = calls::unmap_vp_state_page(
                            pages,
                            partition_id,
                            index,
                            vp_state_page::INTERCEPT_MESSAGE,
                        );
                    })?;
            Ok((registers_pfn, intercept_message_pfn))
        })();
        let vp = mapped.and_then(|(registers_pfn, intercept_message_pfn)| {
            let kick = Kick::new()?;
            let pages = HvPages::new()?;
            let registered = kick.clone();
            let vp = Arc::pin_init(
                pin_init!(Self {
                    index,
                    registers_pfn,
                    intercept_message_pfn,
                    kick,
                    notice_owed: AtomicBool::new(false),
                    intercept_suspended: AtomicBool::new(false),
                    blocked: AtomicBool::new(false),
                    run <- new_mutex!(pages),
                }),
                GFP_KERNEL,
            )?;
            kick::register(partition_id, index, registered)?;
            Ok(vp)
        });
        if vp.is_err() {
            // Undo in reverse: the VP goes, as on upstream's error path.
            let _ = calls::delete_vp(partition_id, index);
        }
        vp
    }

    /// `MSHV_RUN_VP`: lets the VP run until it stops on an intercept, and copies the
    /// intercept's message to user address `arg`. A signal while the VP runs suspends it and
    /// returns `EINTR`, unless an intercept was already on its way (then it is returned).
    /// Under the hypervisor's schedulers the VP runs once its suspend registers are cleared
    /// ([`Vp::run_once`]); under the root scheduler this thread dispatches it
    /// ([`Vp::dispatch_once`]).
    fn run(&self, pages: &mut HvPages, partition: &Partition, arg: usize) -> Result<isize> {
        if !messages::enabled() {
            return Err(EOPNOTSUPP);
        }
        let partition_id = partition.id;
        let (mut last_fault, mut repeats) = (None, 0);
        loop {
            if scheduler::hypervisor_runs_vps() {
                self.run_once(pages, partition_id)?;
            } else {
                let dispatched = self.dispatch_once(pages, partition_id);
                // SAFETY: The guest ran in this task, which returns to user space next (or
                // takes the fault and dispatches again).
                unsafe { ffi::mshv_shim_guest_exit() };
                dispatched?;
            }
            // SAFETY: The intercept message page is the hypervisor's page for this VP, mapped
            // for the root while the partition lives (the caller's file keeps it alive). The
            // VP is suspended, so the hypervisor does not write it now, unless the VMM resumed
            // it meanwhile (MSHV_ROOT_HVCALL): one snapshot is taken, bytes only, and what is
            // checked is what the caller gets.
            let message = unsafe {
                core::ptr::read_volatile(
                    ffi::mshv_shim_page_address(self.intercept_message_pfn)
                        .cast::<RunVp>()
                        .cast_const(),
                )
            };
            // A fault on movable guest memory is the driver's to take; the VP then runs on. A
            // page that keeps faulting right after it was mapped goes to the VMM rather than
            // keep this loop (which no signal interrupts) going.
            if let Some((gfn, access)) = gpa_fault(&message.msg_buf) {
                repeats = if last_fault.replace(gfn) == Some(gfn) {
                    repeats + 1
                } else {
                    0
                };
                if repeats < FAULT_REPEATS && partition.handle_gpa_fault(gfn, access)? {
                    continue;
                }
            }
            uapi::write_user(arg, &message)?;
            return Ok(0);
        }
    }

    /// Lets the VP run until it stops on an intercept (see [`Vp::run`]).
    fn run_once(&self, pages: &mut HvPages, partition_id: u64) -> Result {
        // The VP is still suspended on the intercept of a run that gave up on its notice: that
        // intercept is this run's, once its notice comes.
        if self.notice_owed.swap(false, Ordering::Relaxed) && self.kick.wait_bounded() {
            return Ok(());
        }
        // No notice came after all (the register was set with none to come): resume the VP.
        self.kick.reset();
        // Intercept suspend first: the hypervisor clears them in turn, and the other order
        // could lose an intercept suspend that comes just after the explicit one is cleared.
        calls::set_vp_registers(
            pages,
            partition_id,
            self.index,
            &[
                (register::INTERCEPT_SUSPEND, 0),
                (register::EXPLICIT_SUSPEND, 0),
            ],
        )?;
        if self.kick.wait_interruptible().is_err() {
            calls::set_vp_registers(
                pages,
                partition_id,
                self.index,
                &[(register::EXPLICIT_SUSPEND, 1)],
            )?;
            let suspended = calls::get_vp_register(
                pages,
                partition_id,
                self.index,
                register::INTERCEPT_SUSPEND,
            )?;
            if suspended & 1 == 0 {
                return Err(EINTR);
            }
            // The intercept's notice is on its way: take it. The wait cannot be interrupted
            // (the intercept would be lost) but is bounded: the hypervisor sends the notice
            // as it suspends the VP, and a VMM can set the register itself (MSHV_ROOT_HVCALL)
            // with no notice to come. The VP then stays suspended and the next run waits for
            // the notice again rather than resume it.
            if !self.kick.wait_bounded() {
                self.notice_owed.store(true, Ordering::Relaxed);
                return Err(EINTR);
            }
        }
        Ok(())
    }
}

impl Vp {
    /// Lets the VP run until it stops on an intercept, under the root scheduler: this thread
    /// dispatches it (`HVCALL_DISPATCH_VP`), again and again until a dispatch ends on an
    /// intercept. A dispatch that finds the VP explicitly suspended (a new VP is) clears the
    /// suspend; one that finds it blocked waits for the hypervisor's signal that it may run
    /// (a scheduler message, which kicks it). A signal to the task ends that wait (`EINTR`),
    /// and the next run waits for the hypervisor's signal before it dispatches; pending work
    /// (a signal, a reschedule) is taken before each dispatch, as before a guest entry.
    fn dispatch_once(&self, pages: &mut HvPages, partition_id: u64) -> Result {
        if self.blocked.load(Ordering::Relaxed) {
            self.wait_for_signal()?;
        }
        loop {
            // SAFETY: No spinlock is held; the caller may sleep (it holds only the VP's mutex).
            to_result(unsafe { ffi::mshv_shim_guest_work() })?;
            let mut flags = 0;
            if self.intercept_suspended.load(Ordering::Relaxed) {
                flags |= dispatch::FLAG_CLEAR_INTERCEPT_SUSPEND;
            }
            if self.interrupt_pending() {
                flags |= dispatch::FLAG_SCAN_INTERRUPT_INJECTION;
            }
            let out = calls::dispatch_vp(pages, partition_id, self.index, flags)?;
            self.intercept_suspended.store(false, Ordering::Relaxed);
            match (out.dispatch_state, out.dispatch_event) {
                (dispatch::STATE_BLOCKED, dispatch::EVENT_SUSPEND) => {
                    calls::set_vp_registers(
                        pages,
                        partition_id,
                        self.index,
                        &[(register::EXPLICIT_SUSPEND, 0)],
                    )?;
                    self.wait_for_signal()?;
                }
                (dispatch::STATE_BLOCKED, _) => {
                    self.blocked.store(true, Ordering::Relaxed);
                    self.wait_for_signal()?;
                }
                (_, dispatch::EVENT_INTERCEPT) => {
                    self.intercept_suspended.store(true, Ordering::Relaxed);
                    return Ok(());
                }
                // Ready again (its time ran out, an interrupt came): dispatched again.
                _ => {}
            }
        }
    }

    /// Waits until the hypervisor signals the VP (or an interrupt is pending for it); `EINTR`
    /// if a signal to the task comes first.
    fn wait_for_signal(&self) -> Result {
        if self.interrupt_pending() {
            // As upstream, a signal that came meanwhile is spent too.
            self.kick.reset();
        } else {
            self.kick.wait_interruptible()?;
        }
        self.blocked.store(false, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the hypervisor has interrupts to inject at the next dispatch (x86: the register
    /// page's `interrupt_vectors`).
    fn interrupt_pending(&self) -> bool {
        #[cfg(CONFIG_X86_64)]
        {
            // SAFETY: The register page is the hypervisor's page for this VP, mapped for the
            // root while the partition lives (the caller's file keeps it alive); the word is
            // within it, aligned, and read volatile as the hypervisor writes it.
            unsafe {
                let page = ffi::mshv_shim_page_address(self.registers_pfn).cast::<u8>();
                core::ptr::read_volatile(
                    page.add(crate::hv::abi::vp_register_page::INTERRUPT_VECTORS)
                        .cast::<u64>(),
                ) != 0
            }
        }
        #[cfg(not(CONFIG_X86_64))]
        false
    }
}

/// The guest frame and access type (0 read, 1 write, 2 execute) of a GPA intercept message
/// (the architecture's memory intercept message: the access type at payload byte 5, the guest
/// physical address at [`MEMORY_INTERCEPT_GPA_OFFSET`]).
fn gpa_fault(message: &[u8; uapi::MSHV_RUN_VP_BUF_SZ]) -> Option<(u64, u8)> {
    let word = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(
            message.get(at..at + 8)?.try_into().ok()?,
        ))
    };
    if word(0)? as u32 != message_type::GPA_INTERCEPT {
        return None;
    }
    const PAYLOAD: usize = 16;
    Some((
        word(PAYLOAD + MEMORY_INTERCEPT_GPA_OFFSET)? >> 12,
        message[PAYLOAD + 5],
    ))
}

/// What a VP file refers to: the VP and, keeping it alive, its partition.
pub(crate) struct VpFile {
    pub(super) partition: Arc<Partition>,
    pub(super) vp: Arc<Vp>,
}

impl AnonFile for VpFile {
    const NAME: &'static CStr = c"mshv_vp";
    const HAS_MMAP: bool = true;

    /// Every ioctl holds the VP's lock (waiting for it ends on a fatal signal), not the
    /// partition's, as upstream.
    fn ioctl(this: ArcBorrow<'_, Self>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let (id, index) = (this.partition.id, this.vp.index);
        let set = cmd == MSHV_SET_VP_STATE;
        let pages = &mut *match cmd {
            MSHV_RUN_VP | MSHV_GET_VP_STATE | MSHV_SET_VP_STATE | MSHV_ROOT_HVCALL => {
                lock_killable(&this.vp.run)?
            }
            _ => return Err(ENOTTY),
        };
        match cmd {
            MSHV_RUN_VP => this.vp.run(pages, &this.partition, arg),
            MSHV_GET_VP_STATE | MSHV_SET_VP_STATE => vp_state::get_set(pages, id, index, arg, set),
            _ => root_hvcall(pages, Caller::Vp(id), arg),
        }
    }

    /// Maps one of the VP's state pages, chosen by the offset, at every page of the mapping
    /// (as upstream, which resolves every fault from the mapping's offset).
    fn mmap(this: ArcBorrow<'_, Self>, vma: &VmaNew, pgoff: usize) -> Result {
        let pfn = match pgoff {
            MSHV_VP_MMAP_OFFSET_REGISTERS => this.vp.registers_pfn,
            MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE => this.vp.intercept_message_pfn,
            // No encrypted partitions, so never a GHCB page.
            MSHV_VP_MMAP_OFFSET_GHCB => return Err(ENODEV),
            _ => return Err(EINVAL),
        };
        // SAFETY: The page frame is one the hypervisor handed out for the VP's state: memory the
        // driver deposited, so a page of the kernel's.
        let page = unsafe { ffi::mshv_shim_pfn_to_page(pfn) };
        let page = NonNull::new(page.cast::<kernel::bindings::page>()).ok_or(ENODEV)?;
        // SAFETY: The page stays allocated while the partition holds it, which this file's
        // reference guarantees for the duration of the call; the mapping takes its own
        // reference to the page.
        let page = unsafe { BorrowedPage::from_raw(page) };
        let map = vma.set_mixedmap();
        let mut addr = vma.start();
        while addr < vma.end() {
            map.vm_insert_page(addr, &page)?;
            addr += kernel::page::PAGE_SIZE;
        }
        Ok(())
    }
}
