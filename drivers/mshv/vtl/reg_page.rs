// SPDX-License-Identifier: GPL-2.0

//! VTL0's register pages (x86_64): a page per CPU that the hypervisor overlays with VTL0's
//! registers (`struct hv_vp_register_page`), where it offers the intercept page, as upstream.
//!
//! The driver allocates a zeroed page for every possible CPU and has a CPU hotplug state
//! program each CPU's (`HV_X64_REGISTER_REG_PAGE`, VTL2's own view of the calling VP) when the
//! CPU is or comes online, and undo it when it goes and when the module unloads; the pages are
//! freed only then. A VTL file maps CPU `n`'s at offset `(1 << 16 | n)` pages, once programmed.
//! User space reads VTL0's registers there after an exit and writes them back with the `dirty`
//! bits set, for the hypervisor to load at the next entry.

use core::{
    ptr::null_mut,
    sync::atomic::{
        AtomicBool,
        AtomicPtr,
        Ordering, //
    },
};

use kernel::{
    cpu::nr_cpu_ids,
    ffi::{
        c_int,
        c_uint, //
    },
    page::Page,
    prelude::*,
};

use crate::{calls, ffi, hv::abi::register, transport::HvPages};

/// Every possible CPU's register page (`None` for a number no CPU has), and whether the
/// hypervisor overlays it now.
struct Pages {
    pages: KVec<Option<(Page, u64)>>,
    programmed: KVec<AtomicBool>,
}

/// The pages, while the hotplug state may use them.
static PAGES: AtomicPtr<Pages> = AtomicPtr::new(null_mut());
/// Whether some CPU's register page was programmed (`MSHV_CAP_REGISTER_PAGE`, as upstream's).
static OFFERED: AtomicBool = AtomicBool::new(false);

/// Whether the hypervisor took a register page for some CPU.
pub(super) fn offered() -> bool {
    OFFERED.load(Ordering::Acquire)
}

/// The register pages, programmed on every CPU online, as long as this lives.
pub(crate) struct RegPages {
    pages: KBox<Pages>,
    /// The CPU hotplug state.
    state: c_int,
}

impl RegPages {
    /// A zeroed register page for every possible CPU, each programmed while its CPU is online.
    /// One at a time.
    pub(super) fn new() -> Result<Self> {
        let n = nr_cpu_ids();
        let mut pages = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        let mut programmed = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for cpu in 0..n {
            // SAFETY: Reads the possible mask.
            let page = if unsafe { ffi::mshv_shim_cpu_possible(cpu) } {
                let page = Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?;
                // SAFETY: The page is allocated; the shim only reads its frame.
                let pfn = unsafe { ffi::mshv_shim_page_to_pfn(page.as_ptr().cast()) };
                Some((page, pfn))
            } else {
                None
            };
            pages.push(page, GFP_KERNEL)?;
            programmed.push(AtomicBool::new(false), GFP_KERNEL)?;
        }
        let pages = KBox::new(Pages { pages, programmed }, GFP_KERNEL)?;
        PAGES.store(core::ptr::from_ref(&*pages).cast_mut(), Ordering::Release);
        // SAFETY: The name is static; the callbacks reach the pages through `PAGES`, which
        // holds them until the state is removed.
        let state = unsafe {
            ffi::mshv_shim_cpuhp_add(c"mshv_vtl/reg_page:online".as_char_ptr(), online, offline)
        };
        if state < 0 {
            // A CPU's setup that ran before the failure was undone by the state's rollback.
            PAGES.store(null_mut(), Ordering::Release);
            let mut pages = pages;
            pages.keep_overlaid();
            return Err(Error::from_errno(state));
        }
        Ok(Self { pages, state })
    }

    /// CPU `cpu`'s register page, if the hypervisor overlays it.
    pub(super) fn page(&self, cpu: usize) -> Option<&Page> {
        let programmed = self.pages.programmed.get(cpu)?.load(Ordering::Acquire);
        let (page, _) = self.pages.pages.get(cpu)?.as_ref()?;
        programmed.then_some(page)
    }
}

impl Drop for RegPages {
    fn drop(&mut self) {
        // Undone on each CPU online (each that went was undone then): the hypervisor overlays
        // none of the pages after this. No mapping of one is left: each holds a VTL file,
        // which holds the module.
        // SAFETY: The state is this value's.
        unsafe { ffi::mshv_shim_cpuhp_remove(self.state) };
        PAGES.store(null_mut(), Ordering::Release);
        OFFERED.store(false, Ordering::Release);
        self.pages.keep_overlaid();
    }
}

impl Pages {
    /// A page the hypervisor would not give back is its for good: it is never freed.
    fn keep_overlaid(&mut self) {
        for (page, programmed) in self.pages.iter_mut().zip(self.programmed.iter()) {
            if programmed.load(Ordering::Acquire) {
                core::mem::forget(page.take());
            }
        }
        OFFERED.store(false, Ordering::Release);
    }
}

/// The pages, while the hotplug state may use them.
fn pages() -> Option<&'static Pages> {
    // SAFETY: `RegPages` publishes the pages only while its hotplug state exists, and removes
    // the state (which waits for its callbacks) before they go.
    unsafe { PAGES.load(Ordering::Acquire).as_ref() }
}

/// Sets the calling CPU's `HV_X64_REGISTER_REG_PAGE`, in VTL2's own view, as upstream.
///
/// # Safety
///
/// An enabled value names one of `Pages`' pages, held for the hypervisor until this is called
/// with 0 successfully (else never freed: see `RegPages`' drop).
unsafe fn program(value: u64) -> Result {
    // SAFETY: The caller's promise.
    unsafe { calls::set_overlay_page(&mut HvPages::new()?, register::X64_REG_PAGE, value) }
}

/// A CPU came online (the hotplug state's callback, run on it, in process context): its
/// register page overlaid. A hypervisor that refuses leaves the CPU without one (logged).
///
/// # Safety
///
/// None beyond the hotplug state's: runs on CPU `cpu`.
unsafe extern "C" fn online(cpu: c_uint) -> c_int {
    let Some(pages) = pages() else {
        return 0;
    };
    let (Some(Some((_, pfn))), Some(programmed)) = (
        pages.pages.get(cpu as usize),
        pages.programmed.get(cpu as usize),
    ) else {
        return 0;
    };
    // `union hv_synic_overlay_page_msr`: enabled, and the frame. The page is the driver's,
    // held for the hypervisor until `offline` has run on this CPU.
    // SAFETY: The page is this CPU's of `Pages`, which `offline` takes back.
    match unsafe { program((pfn << 12) | 1) } {
        Ok(()) => {
            programmed.store(true, Ordering::Release);
            OFFERED.store(true, Ordering::Release);
        }
        Err(e) => pr_warn!("no register page on CPU {cpu}: {e:?}\n"),
    }
    0
}

/// A CPU goes offline, or the module unloads (run on the CPU): its register page no longer
/// overlaid.
///
/// # Safety
///
/// As [`online`].
unsafe extern "C" fn offline(cpu: c_uint) -> c_int {
    let Some(programmed) = pages().and_then(|p| p.programmed.get(cpu as usize)) else {
        return 0;
    };
    if programmed.load(Ordering::Acquire) {
        // SAFETY: 0 names no page.
        match unsafe { program(0) } {
            Ok(()) => programmed.store(false, Ordering::Release),
            // Still the hypervisor's: left programmed, it is never freed.
            Err(e) => pr_warn!("the register page of CPU {cpu} stays overlaid: {e:?}\n"),
        }
    }
    0
}
