// SPDX-License-Identifier: GPL-2.0

//! The arm64 VTL switch over SMCCC (`Documentation/mshv-rs/arm64-vtl-switch.rst`): finding
//! it, and registering each CPU's VTL0 context block with the hypervisor.
//!
//! The hypervisor is asked, never tried (a VTL-return call that succeeds switches VTL): its
//! vendor service's UID must be Hyper-V's, its revision 1 or later, and its features bitmap
//! must have the VTL switch. Each CPU's block is its run page's `cpu_context`, registered by
//! a CPU hotplug state when the CPU is or comes online and unregistered when it goes and when
//! the module unloads.

use core::{
    ptr::null_mut,
    sync::atomic::{
        AtomicPtr,
        Ordering, //
    },
};

use kernel::{
    ffi::{
        c_int,
        c_uint, //
    },
    prelude::*,
    sync::Arc,
};

use super::run::RunPages;
use crate::{
    ffi,
    hv::abi::smccc::*,
    transport::hv, //
};

/// One SMCCC call through the Hyper-V core's helper (x0-x3 back), for the queries.
fn query(fid: u64) -> [u64; 4] {
    let mut res = [0u64; 4];
    // SAFETY: `hv().smccc_by_hvc()` said HVC #0 reaches the hypervisor; the queries change
    // nothing, and the shim writes four words.
    unsafe { ffi::mshv_shim_smccc_hvc(fid, res.as_mut_ptr()) };
    res
}

/// Whether the hypervisor offers the SMCCC VTL switch: `EOPNOTSUPP` (and why, in the log)
/// if not.
pub(super) fn probe() -> Result {
    let no = |why: &str| {
        pr_info!("no VTL switch: {why}\n");
        Err(EOPNOTSUPP)
    };
    if !hv().smccc_by_hvc() {
        return no("no hypervisor answers SMCCC calls (HVC #0)");
    }
    let uid = query(SMCCC_CALL_UID);
    // SAFETY: Compares numbers.
    if !unsafe { ffi::mshv_shim_smccc_is_hyperv(uid[0], uid[1], uid[2], uid[3]) } {
        return no("the hypervisor's SMCCC UID is not Hyper-V's");
    }
    let revision = query(SMCCC_CALL_REVISION);
    if revision[0] == SMCCC_NOT_SUPPORTED || revision[0] < 1 {
        return no("the hypervisor's vendor service has no revision 1");
    }
    let features = query(SMCCC_FEATURES);
    if features[0] != 0 || features[1] & SMCCC_FEATURE_VTL_RETURN == 0 {
        return no("the hypervisor does not have the SMCCC VTL switch");
    }
    Ok(())
}

/// Each possible CPU's block (its physical address), while the hotplug state may use them.
static BLOCKS: AtomicPtr<KVec<u64>> = AtomicPtr::new(null_mut());

/// The blocks, registered on every CPU online, as long as this lives.
///
/// # Invariants
///
/// The blocks are in `pages`' run pages, which this holds until every CPU's registration is
/// undone.
pub(super) struct Registration {
    blocks: KBox<KVec<u64>>,
    /// The CPU hotplug state.
    state: c_int,
    _pages: Arc<RunPages>,
}

impl Registration {
    /// Registers each CPU's block in `pages` while the CPU is online. `EBUSY` if another
    /// registration lives.
    pub(super) fn new(pages: &Arc<RunPages>) -> Result<Self> {
        let blocks = KBox::new(pages.context_blocks()?, GFP_KERNEL)?;
        let ptr = core::ptr::from_ref(&*blocks).cast_mut();
        BLOCKS
            .compare_exchange(null_mut(), ptr, Ordering::AcqRel, Ordering::Acquire)
            .map_err(|_| EBUSY)?;
        // SAFETY: The name is static; the callbacks reach the blocks through `BLOCKS`, which
        // holds them until the state is removed.
        let state =
            unsafe { ffi::mshv_shim_cpuhp_add(c"mshv_vtl/smccc".as_char_ptr(), online, offline) };
        if state < 0 {
            BLOCKS.store(null_mut(), Ordering::Release);
            return Err(Error::from_errno(state));
        }
        // INVARIANT: The blocks are `pages`' run pages', held here.
        Ok(Self {
            blocks,
            state,
            _pages: pages.clone(),
        })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: Added in `new`; runs `offline` on every online CPU and waits for the
        // callbacks, after which nothing reaches the blocks.
        unsafe { ffi::mshv_shim_cpuhp_remove(self.state) };
        BLOCKS.store(null_mut(), Ordering::Release);
        let _ = &self.blocks;
    }
}

/// Registers block `pa` of `size` bytes (0: none) for the calling CPU: SMCCC's x0.
fn register(pa: u64, size: u64) -> u64 {
    // SAFETY: The hypervisor answers SMCCC calls (`probe`); the block is the CPU's run page's,
    // which outlives the registration (undone before the pages are freed).
    unsafe { ffi::mshv_vtl_smccc_call(SMCCC_VTL_REGISTER, pa, size, SMCCC_CONTEXT_LAYOUT) }.a0
}

/// The calling CPU's block.
fn block(cpu: c_uint) -> Option<u64> {
    // SAFETY: `BLOCKS` is set before the state is added and cleared after it is removed,
    // which waits for the callbacks.
    let blocks = unsafe { BLOCKS.load(Ordering::Acquire).as_ref() }?;
    blocks.get(cpu as usize).copied()
}

/// A CPU came online (run on it): its block registered.
///
/// # Safety
///
/// None beyond the hotplug state's: runs on CPU `cpu`.
unsafe extern "C" fn online(cpu: c_uint) -> c_int {
    if let Some(pa) = block(cpu) {
        let status = register(pa, RUN_CONTEXT_SIZE);
        if status != 0 {
            // The CPU comes up all the same; its VTL returns answer EINVAL.
            pr_warn!("CPU {cpu}: the hypervisor refused its VTL0 context block ({status:#x})\n");
        }
    }
    0
}

/// A CPU goes offline, or the module unloads (run on it): its block unregistered.
///
/// # Safety
///
/// As [`online`].
unsafe extern "C" fn offline(cpu: c_uint) -> c_int {
    if block(cpu).is_some() {
        let status = register(0, 0);
        if status != 0 {
            // The hypervisor keeps a block of a page about to be freed: say so, loudly.
            pr_err!("CPU {cpu}: the hypervisor kept its VTL0 context block ({status:#x})\n");
        }
    }
    0
}

/// The size of the run page's `cpu_context`, which the block is.
pub(super) const RUN_CONTEXT_SIZE: u64 = 1024;
