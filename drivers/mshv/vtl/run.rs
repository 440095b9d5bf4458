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
        AtomicU32,
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
    page::{
        Page,
        PAGE_SIZE, //
    },
    prelude::*,
};

use crate::{
    ffi,
    hv::abi::vtl_entry_reason,
    transport::{
        hv,
        VtlReturnEntry, //
    },
    uapi::MSHV_MAX_RUN_MSG_SIZE,
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

/// The kinds of page a VTL file maps (the file offset's bits 16 and up, in pages).
const RUN_PAGE: usize = 0;
/// Bits of the page offset that name the CPU.
const CPU_BITS: u32 = 16;

/// The run page of every CPU, allocated when the module loads.
///
/// # Invariants
///
/// `addrs[i]` is the kernel address of `pages[i]`, a page of the linear map, for `i` below
/// `nr_cpu_ids`.
pub(crate) struct RunPages {
    pages: KVec<Page>,
    addrs: KVec<usize>,
}

impl RunPages {
    /// A zeroed run page for every possible CPU.
    pub(crate) fn new() -> Result<Self> {
        let n = nr_cpu_ids() as usize;
        let mut pages = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut addrs = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            let page = Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?;
            // SAFETY: The page is allocated and of the linear map (no highmem on 64-bit), so
            // its frame has a kernel address.
            let addr = unsafe {
                ffi::mshv_shim_page_address(ffi::mshv_shim_page_to_pfn(page.as_ptr().cast()))
            } as usize;
            pages.push(page, GFP_KERNEL)?;
            addrs.push(addr, GFP_KERNEL)?;
        }
        // INVARIANT: Each address was taken from its page, for every CPU id.
        Ok(Self { pages, addrs })
    }

    /// CPU `cpu`'s run page.
    fn run(&self, cpu: usize) -> Option<*mut VtlRun> {
        self.addrs.get(cpu).map(|&a| a as *mut VtlRun)
    }

    /// Maps the pages a VTL file offset names, page by page: a CPU's run page where
    /// `pgoff + i` names one; nothing elsewhere (an access there gets `SIGBUS`: upstream's
    /// fault handler loops on a kind of page it does not know, and has no register page here).
    pub(crate) fn mmap(&self, vma: &VmaNew, pgoff: usize) -> Result {
        let map = vma.set_mixedmap();
        let mut addr = vma.start();
        let mut pgoff = pgoff;
        while addr < vma.end() {
            let cpu = pgoff & ((1 << CPU_BITS) - 1);
            let kind = pgoff >> CPU_BITS;
            if kind == RUN_PAGE {
                if let Some(page) = self.pages.get(cpu) {
                    map.vm_insert_page(addr, page)?;
                }
            }
            addr += PAGE_SIZE;
            pgoff = pgoff.checked_add(1).ok_or(EINVAL)?;
        }
        Ok(())
    }

    /// `MSHV_RETURN_TO_LOWER_VTL`: runs VTL0 on the calling CPU until it intercepts (0, the
    /// message in the run page), the run page's cancel flag is set or a signal comes (`EINTR`);
    /// `EINVAL` if VTL0's FP state in the run page cannot be loaded.
    pub(crate) fn return_to_lower_vtl(&self) -> Result<isize> {
        // Not on arm64 yet, nor where the hypervisor has no VTL-return entry.
        if !SWITCH_READY.load(Ordering::Acquire) {
            return Err(EOPNOTSUPP);
        }
        loop {
            if kernel::current!().signal_pending() {
                return Err(EINTR);
            }
            // SAFETY: Sleeps only if a reschedule is due; no lock is held.
            unsafe { ffi::mshv_shim_cond_resched() };
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
        let hvp = hv().vp_assist_page(cpu);
        if hvp.is_null() {
            return Some(Err(EOPNOTSUPP));
        }
        // SAFETY: Both pages are this CPU's, for as long as the module is loaded, and
        // preemption is off: no other VTL return uses them meanwhile.
        match unsafe { switch(run.cast(), hvp) } {
            0 => {}
            // VTL0's FP state in the run page does not load (a reserved MXCSR bit).
            e if e == EINVAL.to_errno() => return Some(Err(EINVAL)),
            _ => return Some(Err(EINTR)),
        }
        let hvp = hvp.cast::<crate::hv::abi::VpAssistPage>();
        // SAFETY: The hypervisor wrote the entry reason before VTL2 resumed; the page is this
        // CPU's and stays mapped.
        let reason = unsafe { core::ptr::addr_of!((*hvp).vtl_entry_reason).read_volatile() };
        match reason {
            vtl_entry_reason::INTERRUPT => None,
            vtl_entry_reason::INTERCEPT => {
                // SAFETY: Both buffers are 256 bytes of pages this CPU owns; user space may
                // read the run page meanwhile, which it shares on purpose.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        core::ptr::addr_of!((*hvp).intercept_message).cast::<u8>(),
                        core::ptr::addr_of_mut!((*run).exit_message).cast::<u8>(),
                        MSHV_MAX_RUN_MSG_SIZE,
                    )
                };
                Some(Ok(0))
            }
            other => {
                // Upstream panics here; a hypervisor that says something else gets EIO.
                kernel::pr_warn_once!("VTL0 exit with an unknown entry reason\n");
                let _ = other;
                Some(Err(EIO))
            }
        }
    }

    /// Sets the run page's cancel flag of CPU `cpu` (as the poll file's wake-up does).
    #[allow(dead_code)]
    pub(crate) fn cancel(&self, cpu: usize) {
        if let Some(run) = self.run(cpu) {
            // SAFETY: The flag is a u32 of the CPU's run page, which user space also writes:
            // it is only ever accessed atomically by the kernel.
            let flag = unsafe { AtomicU32::from_ptr(core::ptr::addr_of_mut!((*run).cancel)) };
            flag.store(1, Ordering::Relaxed);
        }
    }
}

/// Points the VTL switch at the hypervisor's VTL-return entry (at `offset` in its hypercall
/// page), which must live until the module goes. `EOPNOTSUPP` where there is none.
pub(crate) fn set_return_entry(offset: u64) -> Result<VtlReturnEntryHolder> {
    let entry = hv().vtl_return_entry(offset).ok_or(EOPNOTSUPP)?;
    if !cfg!(CONFIG_X86_64) {
        return Err(EOPNOTSUPP);
    }
    #[cfg(CONFIG_X86_64)]
    // SAFETY: `entry` is the hypervisor's VTL-return sequence, which the switch calls with
    // the VTL-return convention; the caller keeps it for as long as a switch may be made.
    unsafe {
        ffi::mshv_shim_vtl_set_return_entry(entry.addr())
    };
    SWITCH_READY.store(true, Ordering::Release);
    Ok(VtlReturnEntryHolder { _entry: entry })
}

/// Whether [`set_return_entry`] pointed the switch at an entry.
static SWITCH_READY: AtomicBool = AtomicBool::new(false);

/// The entry the switch is pointed at: no switch is made once it is dropped.
pub(crate) struct VtlReturnEntryHolder {
    _entry: VtlReturnEntry,
}

impl Drop for VtlReturnEntryHolder {
    fn drop(&mut self) {
        SWITCH_READY.store(false, Ordering::Release);
    }
}

/// Runs VTL0 once from `run` (x86_64).
///
/// # Safety
///
/// `run` and `hvp` are the calling CPU's run page and VP assist page, preemption is off, and
/// [`set_return_entry`] succeeded.
unsafe fn switch(run: *mut c_void, hvp: *mut c_void) -> i32 {
    #[cfg(CONFIG_X86_64)]
    {
        // SAFETY: As this function's contract.
        unsafe { ffi::mshv_shim_vtl_return(run, hvp) }
    }
    #[cfg(not(CONFIG_X86_64))]
    {
        let _ = (run, hvp);
        EOPNOTSUPP.to_errno()
    }
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
