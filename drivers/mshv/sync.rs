// SPDX-License-Identifier: GPL-2.0

//! What the kernel crate's locks lack: waiting for a mutex in a way a fatal signal ends, as
//! the C driver's `mutex_lock_killable()` does for every ioctl.

use kernel::{
    prelude::*,
    sync::{
        lock::Guard,
        Mutex,
        MutexGuard, //
    },
};

use crate::ffi;

/// Locks `mutex` unless a fatal signal comes first (`EINTR`): the thread of a killed VMM does
/// not stay blocked behind another ioctl.
pub(crate) fn lock_killable<T: ?Sized>(mutex: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    // `Lock` is `#[repr(C)]` with the kernel's lock object first (the layout `Lock::from_raw`
    // relies on): for a `Mutex`, a `struct mutex`.
    let raw = core::ptr::from_ref(mutex).cast_mut().cast::<c_void>();
    // SAFETY: `raw` points to the initialised `struct mutex` of `mutex`, which outlives the call.
    if unsafe { ffi::mshv_shim_mutex_lock_killable(raw) } != 0 {
        return Err(EINTR);
    }
    // SAFETY: The call above acquired the lock; the guard releases it.
    Ok(unsafe { Guard::new(mutex, ()) })
}
