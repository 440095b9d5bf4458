// SPDX-License-Identifier: GPL-2.0

//! The CPUs themselves: work run on a chosen CPU, and the registers the VTLs share
//! ([`Shared`]) read and written in the hardware.

use core::ffi::c_void;

use kernel::{
    error::to_result,
    prelude::*, //
};

use crate::{
    ffi,
    hv::shared::Shared, //
};

/// A closure on its way to another CPU, and what it returned.
struct Call<F, T> {
    f: Option<F>,
    out: Option<T>,
}

/// Runs `f` on CPU `cpu` (by an IPI, or at once on the calling CPU) with interrupts off, and
/// returns what it returned; `ENXIO` if `cpu` is not online. Waits, so may not be called with
/// interrupts off.
pub(crate) fn call_on<T: Send, F: FnOnce() -> T + Send>(cpu: u32, f: F) -> Result<T> {
    /// The IPI's callback.
    ///
    /// # Safety
    ///
    /// `data` is a live, unshared `Call<F, T>`.
    unsafe extern "C" fn run<F: FnOnce() -> T, T>(data: *mut c_void) {
        // SAFETY: The caller's promise.
        let call = unsafe { &mut *data.cast::<Call<F, T>>() };
        call.out = call.f.take().map(|f| f());
    }
    let mut call = Call {
        f: Some(f),
        out: None,
    };
    // SAFETY: `run::<F, T>` takes a `Call<F, T>`, and `call` outlives the call (it waits);
    // `F` and `T` are `Send`: they may be used on the other CPU.
    to_result(unsafe {
        ffi::mshv_shim_call_on_cpu(cpu, run::<F, T>, core::ptr::from_mut(&mut call).cast())
    })?;
    call.out.ok_or(ENXIO)
}

/// The shim's numbers for a shared register: the debug register's, or the MSR's.
fn numbers(register: Shared) -> (u32, u32) {
    match register {
        Shared::Debug(n) => (n.into(), 0),
        Shared::Mtrr(msr) => (0, msr),
    }
}

/// Reads `register` of the calling CPU. `EINVAL` where the CPU has no such register (an MTRR
/// beyond the ones it implements), `EOPNOTSUPP` on arm64.
pub(crate) fn read_shared(register: Shared) -> Result<u64> {
    let (debug, msr) = numbers(register);
    let mut value = 0;
    // SAFETY: Reading a debug register or an MTRR changes nothing; `value` is writable.
    to_result(unsafe { ffi::mshv_shim_shared_reg(debug, msr, false, &mut value) })?;
    Ok(value)
}

/// Writes `value` to `register` of the calling CPU. `EINVAL` for a value the CPU refuses
/// (DR6's upper half, an MTRR's reserved bits) or a register it has not, `EOPNOTSUPP` on
/// arm64.
///
/// The registers are VTL0's as much as VTL2's: a breakpoint VTL2's kernel has set in DR0-DR3
/// is overwritten, as VTL0 itself could overwrite it.
pub(crate) fn write_shared(register: Shared, mut value: u64) -> Result {
    let (debug, msr) = numbers(register);
    // SAFETY: The shim writes only a debug register's address or condition bits, or an MTRR
    // (memory types, which the hypervisor applies): no memory of the kernel's is touched.
    to_result(unsafe { ffi::mshv_shim_shared_reg(debug, msr, true, &mut value) })
}
