// SPDX-License-Identifier: GPL-2.0

//! What the kernel crate's locks lack: waiting for a mutex in a way a signal ends, as the C
//! driver's `mutex_lock_killable()` does for every ioctl.

use kernel::{
    prelude::*,
    sync::{
        lock::Guard,
        Mutex,
        MutexGuard, //
    },
};

use crate::ffi;

/// Locks `mutex` with `lock`, a C function taking its `struct mutex` that returns 0 once it
/// holds it, or an error.
fn lock_with<T: ?Sized>(
    mutex: &Mutex<T>,
    lock: unsafe extern "C" fn(*mut c_void) -> c_int,
) -> Result<MutexGuard<'_, T>> {
    // `Lock` is `#[repr(C)]` with the kernel's lock object first (the layout `Lock::from_raw`
    // relies on): for a `Mutex`, a `struct mutex`.
    let raw = core::ptr::from_ref(mutex).cast_mut().cast::<c_void>();
    // SAFETY: `lock` is one of the shim's `mutex_lock_*()` variants (this module's callers
    // choose it); `raw` points to the initialised `struct mutex` of `mutex`, which outlives
    // the call.
    if unsafe { lock(raw) } != 0 {
        return Err(EINTR);
    }
    // SAFETY: The call above acquired the lock; the guard releases it.
    Ok(unsafe { Guard::new(mutex, ()) })
}

/// Locks `mutex` unless a fatal signal comes first (`EINTR`): the thread of a killed VMM does
/// not stay blocked behind another ioctl.
pub(crate) fn lock_killable<T: ?Sized>(mutex: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    lock_with(mutex, ffi::mshv_shim_mutex_lock_killable)
}

/// Locks `mutex` unless any signal comes first (`EINTR`): for a wait inside `MSHV_RUN_VP`,
/// which a signal ends.
pub(crate) fn lock_interruptible<T: ?Sized>(mutex: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    lock_with(mutex, ffi::mshv_shim_mutex_lock_interruptible)
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_sync)]
mod tests {
    use super::*;
    use kernel::{
        new_mutex,
        sync::Arc, //
    };

    #[test]
    fn the_guards_hold_the_mutex() -> Result {
        let m = Arc::pin_init(new_mutex!(5u32), GFP_KERNEL)?;
        {
            let mut guard = lock_killable(&m)?;
            *guard += 1;
            assert!(m.try_lock().is_none());
        }
        {
            let guard = lock_interruptible(&m)?;
            assert_eq!(*guard, 6);
            assert!(m.try_lock().is_none());
        }
        assert!(m.try_lock().is_some());
        Ok(())
    }
}
