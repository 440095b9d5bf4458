// SPDX-License-Identifier: GPL-2.0

//! A reference to an eventfd, which the driver signals: the root's irqfd resamplers and
//! ioeventfds, the VTL personality's event flags.

use kernel::{
    error::from_err_ptr,
    ffi::c_void,
    prelude::*, //
};

use crate::ffi;

/// A reference to an eventfd's context, put when dropped.
pub(crate) struct Eventfd(*const c_void);

// SAFETY: The reference may be put from any thread.
unsafe impl Send for Eventfd {}

// SAFETY: What `&Eventfd` allows (signalling, comparing) is safe from any thread at once.
unsafe impl Sync for Eventfd {}

impl Eventfd {
    /// A reference to eventfd `fd`: `EBADF` if `fd` is not open, `EINVAL` if it is no eventfd.
    pub(crate) fn get(fd: i32) -> Result<Self> {
        // SAFETY: The shim looks the descriptor up in the caller's table.
        let ctx = unsafe { ffi::mshv_shim_eventfd_get(fd) };
        from_err_ptr(ctx.cast_mut())?;
        Ok(Self(ctx))
    }
}

impl Eventfd {
    /// Whether both are the same eventfd.
    pub(crate) fn same(&self, other: &Self) -> bool {
        self.0 == other.0
    }

    /// Signals it (adds one to its counter); any context.
    pub(crate) fn signal(&self) {
        // SAFETY: `self` holds a reference to the eventfd.
        unsafe { ffi::mshv_shim_eventfd_signal(self.0) };
    }

    /// The eventfd, for [`signal_raw`](Self::signal_raw) while `self` lives.
    pub(crate) fn as_raw(&self) -> *const c_void {
        self.0
    }

    /// Signals the eventfd `raw`.
    ///
    /// # Safety
    ///
    /// `raw` came from [`as_raw`](Self::as_raw) of an [`Eventfd`] still alive.
    pub(crate) unsafe fn signal_raw(raw: *const c_void) {
        // SAFETY: The live `Eventfd` holds a reference, as the function's contract says.
        unsafe { ffi::mshv_shim_eventfd_signal(raw) };
    }
}

impl Drop for Eventfd {
    fn drop(&mut self) {
        // SAFETY: `get` took this reference.
        unsafe { ffi::mshv_shim_eventfd_put(self.0) };
    }
}

// The VTL module's (its event flags' table holds raw references).
#[allow(dead_code)]
impl Eventfd {
    /// The reference, as a raw context pointer, for [`from_raw`](Self::from_raw) to take back.
    pub(crate) fn into_raw(self) -> *const c_void {
        let raw = self.0;
        core::mem::forget(self);
        raw
    }

    /// Takes back a reference [`into_raw`](Self::into_raw) gave.
    ///
    /// # Safety
    ///
    /// `raw` came from `into_raw`, and is taken back once.
    pub(crate) unsafe fn from_raw(raw: *const c_void) -> Self {
        Self(raw)
    }
}
