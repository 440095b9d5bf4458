// SPDX-License-Identifier: GPL-2.0

//! An irq_work: a function run soon in interrupt context, on the CPU that queued it (or
//! another it was queued on). The VTL personality's SynIC interrupt defers its wake-ups to
//! one; the simulated hypervisor raises its interrupts with them.

use core::ptr::NonNull;

use kernel::{
    ffi::c_void,
    prelude::*, //
};

use crate::ffi;

/// An irq_work of the shim's. It is freed when dropped, after its last run: drop it only in
/// process context, without a lock its function takes.
///
/// # Invariants
///
/// `self.0` is a live `struct mshv_shim_irq_work` from `mshv_shim_irq_work_new`, freed only by
/// `drop`.
pub(crate) struct IrqWork(NonNull<c_void>);

// SAFETY: The shim's irq_work may be queued, and freed, from any CPU.
unsafe impl Send for IrqWork {}
// SAFETY: What `&IrqWork` allows (queueing, waiting for a run) is safe from any CPU at once.
unsafe impl Sync for IrqWork {}

impl IrqWork {
    /// An irq_work whose runs call `func(data)` in hard interrupt context (`hard`: even under
    /// PREEMPT_RT).
    ///
    /// # Safety
    ///
    /// `func(data)` must be sound to call in hard interrupt context, from any CPU, until the
    /// work is dropped.
    pub(crate) unsafe fn new(
        func: unsafe extern "C" fn(*mut c_void),
        data: *mut c_void,
        hard: bool,
    ) -> Result<Self> {
        // SAFETY: The shim only stores `func` and `data`, which the caller vouches for.
        let work = unsafe { ffi::mshv_shim_irq_work_new(func, data, hard) };
        // INVARIANT: A non-null result is a live irq_work, owned by nothing else.
        NonNull::new(work).map(Self).ok_or(ENOMEM)
    }

    /// Raises the interrupt on this CPU; false if it was pending already (its run, still to
    /// come, then serves this call too).
    pub(crate) fn queue(&self) -> bool {
        // SAFETY: By the type's invariants, `self.0` is live; queueing is allowed in any
        // context.
        unsafe { ffi::mshv_shim_irq_work_queue(self.0.as_ptr()) }
    }

    /// Raises the interrupt on CPU `cpu` (an online one), as [`Self::queue`] does on this.
    #[allow(dead_code)] // The simulator's.
    pub(crate) fn queue_on(&self, cpu: u32) -> bool {
        // SAFETY: As in `queue`; the shim checks the CPU.
        unsafe { ffi::mshv_shim_irq_work_queue_on(self.0.as_ptr(), cpu) }
    }
}

impl IrqWork {
    /// Waits until a run queued or in progress has ended. Process context.
    pub(crate) fn sync(&self) {
        // SAFETY: By the type's invariants, `self.0` is live.
        unsafe { ffi::mshv_shim_irq_work_sync(self.0.as_ptr()) }
    }
}

impl Drop for IrqWork {
    fn drop(&mut self) {
        // SAFETY: By the type's invariants, `self.0` is live and freed only here; the type's
        // documentation keeps this in process context, where the shim may wait for a run.
        unsafe { ffi::mshv_shim_irq_work_free(self.0.as_ptr()) };
    }
}
