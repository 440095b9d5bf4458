// SPDX-License-Identifier: GPL-2.0

//! The run pages and the VTL-return loop (`MSHV_RETURN_TO_LOWER_VTL`).
//!
//! Each CPU has a run page ([`VtlRun`]), which user space maps through a VTL file (at file
//! offset `((kind << 16) | cpu) * PAGE_SIZE`, kind 0) and shares with the kernel: VTL0's
//! registers go in and out through it, the intercept message that ended a return comes back in
//! it, and user space can cancel a return through it. The loop runs VTL0 on the calling CPU
//! until an intercept, a cancel or a signal.

use core::{
    ffi::c_void,
    sync::atomic::{
        AtomicBool,
        Ordering, //
    },
};

use kernel::{
    alloc::flags::__GFP_ZERO,
    cpu::{
        nr_cpu_ids,
        CpuId, //
    },
    mm::virt::VmaNew,
    new_mutex,
    page::{
        Page,
        PAGE_SIZE, //
    },
    prelude::*,
    sync::{
        Arc,
        Mutex, //
    },
};

use super::reg_page::RegPages;
#[cfg(CONFIG_X86_64)]
use crate::transport::{
    hv,
    VtlReturnEntry, //
};
use crate::{
    ffi,
    hv::abi::{
        vsm_capability,
        vtl_entry_reason, //
    },
    uapi::{
        self,
        VtlSetPollFile,
        MSHV_MAX_RUN_MSG_SIZE, //
    },
};

/// `struct mshv_vtl_run` (`drivers/hv/mshv_vtl.h`): ABI through `mmap`, though in no uapi
/// header. Its layout is checked against that header when the module loads (x86_64).
#[repr(C)]
pub(crate) struct VtlRun {
    /// Set (by the kernel or user space) to end a VTL return; only user space clears it.
    pub(crate) cancel: u32,
    /// Bytes of return actions for the next VTL return; zeroed when they are handed over.
    pub(crate) vtl_ret_action_size: u32,
    pad: [u32; 2],
    /// The intercept message that ended the last VTL return (`struct hv_message`).
    pub(crate) exit_message: [u8; MSHV_MAX_RUN_MSG_SIZE],
    /// VTL0's registers (`struct mshv_vtl_cpu_context` on x86_64), with room to grow.
    pub(crate) cpu_context: [u8; 1024],
    /// The return actions.
    pub(crate) vtl_ret_actions: [u8; MSHV_MAX_RUN_MSG_SIZE],
}

const _: () = assert!(size_of::<VtlRun>() <= PAGE_SIZE);

/// A poll file's watch: its wake-ups cancel a CPU's VTL return.
///
/// # Invariants
///
/// `0` is a watch `mshv_shim_poll_watch` made, ended once, on drop.
struct PollWatch(*mut c_void);

// SAFETY: The watch is the shim's, used from any thread; its wake-ups run in the waker's.
unsafe impl Send for PollWatch {}

impl PollWatch {
    /// Watches file `fd` for CPU `cpu`, whose cancel flag is at `cancel`.
    fn new(fd: i32, cancel: *mut u32, cpu: u32) -> Result<Self> {
        let mut err = 0;
        // SAFETY: `cancel` stays valid for the watch's life (the caller's promise).
        let watch = unsafe { ffi::mshv_shim_poll_watch(fd, cancel, cpu, &mut err) };
        if watch.is_null() {
            return Err(Error::from_errno(err));
        }
        // INVARIANT: The watch was just made.
        Ok(Self(watch))
    }
}

impl Drop for PollWatch {
    fn drop(&mut self) {
        // SAFETY: By the invariants, the watch is ended here only.
        unsafe { ffi::mshv_shim_poll_unwatch(self.0) };
    }
}

/// The file page of CPU 0's register page (`MSHV_REG_PAGE_OFFSET << MSHV_REAL_OFF_SHIFT`).
const REG_PAGE_OFFSET: usize = 1 << 16;

/// The run page of every CPU, allocated when the module loads, and each CPU's poll file.
///
/// # Invariants
///
/// `addrs[i]` is the kernel address of `pages[i]`, a page of the linear map, for `i` below
/// `nr_cpu_ids`; `polls` has as many slots.
#[pin_data]
pub(crate) struct RunPages {
    /// Each CPU's poll file (`MSHV_SET_POLL_FILE`); dropped before the pages its wake-ups
    /// write into.
    #[pin]
    polls: Mutex<KVec<Option<PollWatch>>>,
    pages: KVec<Page>,
    addrs: KVec<usize>,
    /// VTL0's register pages, where the hypervisor offers them.
    reg: Option<RegPages>,
}

impl RunPages {
    /// A zeroed run page for every possible CPU, and no poll file.
    pub(crate) fn new(reg: Option<RegPages>) -> Result<impl PinInit<Self, Error>> {
        let n = nr_cpu_ids() as usize;
        let mut pages = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut addrs = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut polls = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            let page = Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?;
            // SAFETY: The page is allocated and of the linear map (no highmem on 64-bit), so
            // its frame has a kernel address.
            let addr = unsafe {
                ffi::mshv_shim_page_address(ffi::mshv_shim_page_to_pfn(page.as_ptr().cast()))
            } as usize;
            pages.push(page, GFP_KERNEL)?;
            addrs.push(addr, GFP_KERNEL)?;
            polls.push(None, GFP_KERNEL)?;
        }
        // INVARIANT: Each address was taken from its page, for every CPU id, with a slot each.
        Ok(try_pin_init!(Self {
            polls <- new_mutex!(polls),
            pages,
            addrs,
            reg,
        }))
    }

    /// `MSHV_SET_POLL_FILE`: from now on, any wake-up of file `fd`'s wait queue cancels CPU
    /// `cpu`'s VTL return (sets its run page's flag, and interrupts the CPU if it is in one),
    /// in place of the CPU's previous poll file. `EINVAL` for a CPU that is not online, or a
    /// file that polls on more than one queue (the previous one is then gone too, as
    /// upstream); `EBADFD` (upstream's errno) for a descriptor that is no file, and `ENOMEM`,
    /// with nothing changed.
    pub(crate) fn set_poll_file(&self, arg: usize) -> Result<isize> {
        let args: VtlSetPollFile = uapi::read_user(arg)?;
        let cpu = args.cpu;
        // SAFETY: Reads the online mask.
        if !unsafe { ffi::mshv_shim_cpu_online(cpu) } {
            return Err(EINVAL);
        }
        let run = self.run(cpu as usize).ok_or(EINVAL)?;
        // A number no descriptor has: upstream's fget() fails, with the same errno.
        let fd = i32::try_from(args.fd).map_err(|_| EBADFD)?;
        // SAFETY: The flag is a u32 of the CPU's run page, which outlives the watch (the
        // watches are dropped before the pages).
        let cancel = unsafe { core::ptr::addr_of_mut!((*run).cancel) };
        let mut polls = self.polls.lock();
        let slot = polls.get_mut(cpu as usize).ok_or(EINVAL)?;
        let (new, result) = match PollWatch::new(fd, cancel, cpu) {
            Ok(w) => (Some(w), Ok(0)),
            // A file that polls on more than one queue: the CPU is left with none, as upstream.
            Err(e) if e == EINVAL => (None, Err(EINVAL)),
            // No such file, no memory: nothing changes.
            Err(e) => return Err(e),
        };
        let old = core::mem::replace(slot, new);
        drop(polls);
        drop(old);
        result
    }

    /// CPU `cpu`'s run page.
    fn run(&self, cpu: usize) -> Option<*mut VtlRun> {
        self.addrs.get(cpu).map(|&a| a as *mut VtlRun)
    }

    /// Maps the pages a VTL file offset names: page `(kind << 16) | cpu` of the file is CPU
    /// `cpu`'s run page (kind 0) or register page (kind 1, where the hypervisor overlays it),
    /// for a CPU below `nr_cpu_ids`; nothing else is mapped, and an access there gets `SIGBUS`
    /// (upstream's fault handler loops on a kind of page it does not know).
    pub(crate) fn mmap(&self, vma: &VmaNew, pgoff: usize) -> Result {
        let map = vma.set_mixedmap();
        let pages = (vma.end() - vma.start()) / PAGE_SIZE;
        let end = pgoff.saturating_add(pages);
        let n = self.pages.len();
        // Only the pages' parts of the file are walked: no more than one page per CPU each.
        for (kind, base) in [(0, 0usize), (1, REG_PAGE_OFFSET)] {
            let first = pgoff.clamp(base, base + n);
            let last = end.clamp(base, base + n);
            for off in first..last {
                let cpu = off - base;
                let page = match kind {
                    0 => Some(&self.pages[cpu]),
                    _ => self.reg.as_ref().and_then(|r| r.page(cpu)),
                };
                if let Some(page) = page {
                    map.vm_insert_page(vma.start() + (off - pgoff) * PAGE_SIZE, page)?;
                }
            }
        }
        Ok(())
    }

    /// `MSHV_RETURN_TO_LOWER_VTL`: runs VTL0 on the calling CPU until it intercepts (0, the
    /// message in the run page), the run page's cancel flag is set or a signal comes (`EINTR`);
    /// x86_64: `EINVAL` if VTL0's FP state in the run page cannot be loaded; arm64:
    /// `EOPNOTSUPP`, `EINVAL` for the hypervisor's `NOT_SUPPORTED`, `INVALID_PARAMETER`, `EIO`
    /// for any other answer or an entry reason the loop does not know.
    pub(crate) fn return_to_lower_vtl(&self) -> Result<isize> {
        // Not where the hypervisor has no VTL switch.
        if !switch_ready() {
            return Err(EOPNOTSUPP);
        }
        // Without the intercept page, intercepts come through the SynIC, if the module has it.
        if !super::vsm().has(vsm_capability::INTERCEPT_PAGE_AVAILABLE) && !super::synic::ready() {
            kernel::pr_warn_once!("no VTL switch: no intercept page, and no SynIC interrupt\n");
            return Err(EOPNOTSUPP);
        }
        loop {
            // SAFETY: Takes the task's pending work (signals, a reschedule, task work), which
            // may sleep: no lock is held.
            let work = unsafe { handle_work() };
            if work != 0 {
                return Err(Error::from_errno(work));
            }
            // SAFETY: Undone below, in this iteration.
            unsafe { ffi::mshv_shim_preempt_disable() };
            let done = self.return_once();
            // SAFETY: Undoes the disable above.
            unsafe { ffi::mshv_shim_preempt_enable() };
            if let Some(result) = done {
                return result;
            }
        }
    }

    /// One VTL return on this CPU, preemption off: `None` to go round again (VTL2 had an
    /// interrupt, which it took when it enabled interrupts).
    fn return_once(&self) -> Option<Result<isize>> {
        let cpu = CpuId::current().as_u32();
        let Some(run) = self.run(cpu as usize) else {
            return Some(Err(EINVAL));
        };
        // SAFETY: Preemption is off (the loop's), and the loop found the switch ready; it stays
        // so while a VTL file exists.
        let exit = match unsafe { switch(run, cpu) } {
            Ok(exit) => exit,
            // Work came just before the switch: take it and go round again.
            Err(e) if e == EAGAIN => return None,
            Err(e) => return Some(Err(e)),
        };
        let intercept_page = super::vsm().has(vsm_capability::INTERCEPT_PAGE_AVAILABLE);
        let taken;
        let message = match exit.reason {
            vtl_entry_reason::INTERRUPT if intercept_page => return None,
            // Without the intercept page, an intercept is a SINT0 message, which interrupted
            // VTL0 (upstream's fallback); any other interrupt: go round again.
            vtl_entry_reason::INTERRUPT => {
                taken = super::synic::take_intercept()?;
                core::ptr::from_ref(&taken).cast::<u8>()
            }
            vtl_entry_reason::INTERCEPT if intercept_page && !exit.hvp.is_null() => {
                // SAFETY: The page is this CPU's and stays mapped.
                unsafe { core::ptr::addr_of!((*exit.hvp).intercept_message).cast::<u8>() }
            }
            _ => {
                // Upstream panics here (or, for an intercept it has no page for, warns); a
                // hypervisor that says something it should not gets EIO.
                kernel::pr_warn_once!("VTL0 exit with an unexpected entry reason\n");
                return Some(Err(EIO));
            }
        };
        // SAFETY: Both buffers are 256 bytes: the message, and the run page this CPU owns;
        // user space may read the run page meanwhile, which it shares on purpose.
        unsafe {
            core::ptr::copy_nonoverlapping(
                message,
                core::ptr::addr_of_mut!((*run).exit_message).cast::<u8>(),
                MSHV_MAX_RUN_MSG_SIZE,
            )
        };
        Some(Ok(0))
    }

    /// Each possible CPU's VTL0 context block: its run page's `cpu_context`, by physical
    /// address.
    #[cfg_attr(not(CONFIG_ARM64), allow(dead_code))]
    pub(super) fn context_blocks(&self) -> Result<KVec<u64>> {
        let mut blocks = KVec::with_capacity(self.pages.len(), GFP_KERNEL)?;
        for page in self.pages.iter() {
            // SAFETY: The page is allocated; the shim only reads its frame.
            let pfn = unsafe { ffi::mshv_shim_page_to_pfn(page.as_ptr().cast()) };
            let pa = (pfn << 12) + core::mem::offset_of!(VtlRun, cpu_context) as u64;
            blocks.push(pa, GFP_KERNEL)?;
        }
        Ok(blocks)
    }
}

/// How a VTL return ended: the entry reason, and the VP assist page that holds the intercept
/// message where the hypervisor has one (x86_64; null on arm64).
struct Exit {
    reason: u32,
    hvp: *const crate::hv::abi::VpAssistPage,
}

/// Points the VTL switch at the hypervisor: on x86_64 its VTL-return entry (at `offset` in
/// its hypercall page), on arm64 its SMCCC VTL switch, with each CPU's context block
/// registered. No switch is made once the holder is dropped. `EOPNOTSUPP` where there is none.
pub(crate) fn set_return_entry(vsm: &super::Vsm, pages: &Arc<RunPages>) -> Result<SwitchHolder> {
    #[cfg(CONFIG_X86_64)]
    {
        let _ = pages;
        let entry = hv()
            .vtl_return_entry(vsm.vtl_return_offset())
            .ok_or(EOPNOTSUPP)?;
        let mut why: *const kernel::ffi::c_char = core::ptr::null();
        // SAFETY: Only compares addresses and reads the CPU's features.
        if !unsafe { ffi::mshv_shim_vtl_entry_usable(entry.addr(), &mut why) } {
            // SAFETY: The shim sets `why` to a static string when it says no.
            let why = unsafe { CStr::from_char_ptr(why) };
            pr_warn!("no VTL switch: {}\n", why.to_str().unwrap_or("?"));
            return Err(EOPNOTSUPP);
        }
        // SAFETY: `entry` is the hypervisor's VTL-return sequence, which the switch calls with
        // the VTL-return convention; the holder keeps it for as long as a switch may be made.
        unsafe { ffi::mshv_shim_vtl_set_return_entry(entry.addr()) };
        SWITCH_READY.store(true, Ordering::Release);
        Ok(SwitchHolder { _entry: entry })
    }
    #[cfg(CONFIG_ARM64)]
    {
        let _ = vsm;
        super::smccc::probe()?;
        let registration = super::smccc::Registration::new(pages)?;
        SWITCH_READY.store(true, Ordering::Release);
        Ok(SwitchHolder {
            _registration: registration,
        })
    }
}

/// Whether [`set_return_entry`] pointed the switch at the hypervisor.
static SWITCH_READY: AtomicBool = AtomicBool::new(false);

/// Whether the VTL switch is there (`MSHV_CAP_SMCCC_VTL_SWITCH` on arm64).
pub(crate) fn switch_ready() -> bool {
    SWITCH_READY.load(Ordering::Acquire)
}

/// What the switch is pointed at: no switch is made once it is dropped.
pub(crate) struct SwitchHolder {
    #[cfg(CONFIG_X86_64)]
    _entry: VtlReturnEntry,
    #[cfg(CONFIG_ARM64)]
    _registration: super::smccc::Registration,
}

impl Drop for SwitchHolder {
    fn drop(&mut self) {
        SWITCH_READY.store(false, Ordering::Release);
    }
}

/// Runs VTL0 once from `run` on CPU `cpu`, whose run page it is.
///
/// # Safety
///
/// Preemption is off, and [`set_return_entry`] succeeded.
unsafe fn switch(run: *mut VtlRun, cpu: u32) -> Result<Exit> {
    #[cfg(CONFIG_X86_64)]
    {
        let hvp = hv().vp_assist_page(cpu);
        if hvp.is_null() {
            return Err(EOPNOTSUPP);
        }
        let actions = super::vsm().has(vsm_capability::RETURN_ACTION_AVAILABLE);
        // SAFETY: Both pages are this CPU's, for as long as the module is loaded, and
        // preemption is off (the caller's): no other VTL return uses them meanwhile.
        match unsafe { ffi::mshv_shim_vtl_return(run.cast(), hvp, actions) } {
            0 => {}
            e if e == EAGAIN.to_errno() => return Err(EAGAIN),
            // VTL0's FP state in the run page does not load (a reserved MXCSR bit).
            e if e == EINVAL.to_errno() => return Err(EINVAL),
            _ => return Err(EINTR),
        }
        let hvp = hvp.cast::<crate::hv::abi::VpAssistPage>();
        // SAFETY: The hypervisor wrote the entry reason before VTL2 resumed; the page is this
        // CPU's and stays mapped.
        let reason = unsafe { core::ptr::addr_of!((*hvp).vtl_entry_reason).read_volatile() };
        Ok(Exit { reason, hvp })
    }
    #[cfg(CONFIG_ARM64)]
    {
        let _ = cpu;
        let mut reason = 0u64;
        // SAFETY: The cancel flag is a u32 of this CPU's run page; preemption is off (the
        // caller's) and each CPU's block was registered (`set_return_entry`).
        let status = unsafe {
            ffi::mshv_shim_vtl_return_smccc(core::ptr::addr_of_mut!((*run).cancel), &mut reason)
        };
        if status != 0 {
            return Err(Error::from_errno(status));
        }
        // A reason that is no u32 is no reason the loop knows.
        Ok(Exit {
            reason: u32::try_from(reason).unwrap_or(u32::MAX),
            hvp: core::ptr::null(),
        })
    }
}

/// Takes the task's pending work before a VTL return: 0, or a negative errno (`EINTR` for a
/// signal).
///
/// # Safety
///
/// May sleep: no spinlock held, preemption on.
unsafe fn handle_work() -> i32 {
    // SAFETY: As this function's contract.
    unsafe { ffi::mshv_shim_guest_work() }
}

/// The run page's layout facts, checked against `drivers/hv/mshv_vtl.h` (x86_64).
#[cfg(CONFIG_X86_64)]
pub(crate) const FACTS: &[crate::abi::Fact] = &[
    crate::abi::fact!(size "mshv_vtl_run", VtlRun, 1552),
    crate::abi::fact!(offset "mshv_vtl_run.vtl_ret_action_size", VtlRun, vtl_ret_action_size, 4),
    crate::abi::fact!(offset "mshv_vtl_run.exit_message", VtlRun, exit_message, 16),
    crate::abi::fact!(offset "mshv_vtl_run.cpu_context", VtlRun, cpu_context, 272),
    crate::abi::fact!(offset "mshv_vtl_run.vtl_ret_actions", VtlRun, vtl_ret_actions, 1296),
    crate::abi::fact!(@ "sizeof:mshv_vtl_cpu_context", 640usize, 640),
];

/// Checks the run page's layout against the kernel's header: `EINVAL` if they differ.
pub(crate) fn check_layout() -> Result {
    #[cfg(CONFIG_X86_64)]
    {
        let mut len = 0usize;
        // SAFETY: The shim returns a static array and its length.
        let c = unsafe { core::slice::from_raw_parts(ffi::mshv_shim_vtl_run_facts(&mut len), len) };
        if !crate::abi::CFacts::from_table(c).matches(FACTS) {
            return Err(EINVAL);
        }
    }
    Ok(())
}
