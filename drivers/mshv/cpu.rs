// SPDX-License-Identifier: GPL-2.0

//! The CPUs themselves: work run on a chosen CPU, what runs when the machine reboots
//! ([`OnReboot`]), and the registers the VTLs share ([`Shared`]) read and written in the
//! hardware.

use core::{
    ffi::c_void,
    ptr::NonNull, //
};

use kernel::{
    error::to_result,
    prelude::*, //
};

use crate::{
    ffi,
    hv::shared::Shared, //
};

/// A function the kernel calls (in process context) when it reboots, halts or powers off, as
/// long as this lives: a reboot notifier.
///
/// # Invariants
///
/// The handle is the shim's registration, removed on drop and only then.
#[allow(dead_code)] // The root's, and the simulator's: the VTL module's shipping build has none.
pub(crate) struct OnReboot(NonNull<c_void>);

// SAFETY: The handle is used only by `drop`, which the shim allows from any task.
unsafe impl Send for OnReboot {}
// SAFETY: `&OnReboot` gives no access to the handle.
unsafe impl Sync for OnReboot {}

#[allow(dead_code)] // As the type.
impl OnReboot {
    /// Has `f` called at reboot; `priority` orders it among the others (higher first).
    ///
    /// # Safety
    ///
    /// The value is dropped before the module unloads (the kernel would call `f` after its
    /// code is gone): not leaked.
    pub(crate) unsafe fn new(f: extern "C" fn(), priority: i32) -> Result<Self> {
        // SAFETY: `f` is a function of the module, which may be called until the handle is
        // removed, before the module unloads (the caller's promise).
        let handle = unsafe { ffi::mshv_shim_reboot_add(f, priority) };
        // INVARIANT: A registration, removed by `drop`.
        Ok(Self(NonNull::new(handle).ok_or(ENOMEM)?))
    }
}

impl Drop for OnReboot {
    fn drop(&mut self) {
        // SAFETY: The handle is the registration (the invariants), removed once, here.
        unsafe { ffi::mshv_shim_reboot_remove(self.0.as_ptr()) };
    }
}

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
/// (DR6's upper half, an MTRR's reserved bits) or a register it has not; `EBUSY` for a debug
/// register a breakpoint of this kernel's uses on this CPU, and for an MTRR on bare metal or
/// where the kernel keeps MTRR state of its own (`CONFIG_MTRR`); `EOPNOTSUPP` on arm64.
///
/// The registers are VTL2's as much as VTL0's: a breakpoint VTL2's kernel installs later (or
/// its `#DB` handler, for DR6) overwrites the value.
///
/// # Safety
///
/// If `register` is an MTRR, the caller may set the memory types of the partition's memory,
/// VTL2's own included (the hypervisor applies them).
pub(crate) unsafe fn write_shared(register: Shared, mut value: u64) -> Result {
    let (debug, msr) = numbers(register);
    // SAFETY: The shim writes only a debug register or an MTRR, bounded in C, as the caller
    // allows; `value` is readable.
    to_result(unsafe { ffi::mshv_shim_shared_reg(debug, msr, true, &mut value) })
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_cpu)]
mod tests {
    use super::*;

    #[test]
    fn call_on_runs_on_the_cpu_and_returns() {
        let cpu = kernel::cpu::CpuId::current().as_u32();
        // The CPU the thread was on, and CPU 0: by an IPI, or at once if the thread is there.
        assert_eq!(call_on(cpu, || 7), Ok(7));
        assert_eq!(call_on(0, || kernel::cpu::CpuId::current().as_u32()), Ok(0));
        assert_eq!(call_on(u32::MAX, || ()), Err(ENXIO));
    }

    #[test]
    fn what_the_cpu_would_fault_on_is_refused_first() {
        // SAFETY: Refused before anything is written.
        let dr6 = unsafe { write_shared(Shared::Debug(6), 1 << 32) };
        // SAFETY: As above: neither is a shared register.
        let (dr7, msr) = unsafe {
            (
                write_shared(Shared::Debug(7), 0),
                write_shared(Shared::Mtrr(0x10), 0),
            )
        };
        if cfg!(CONFIG_X86_64) {
            assert_eq!(dr6, Err(EINVAL));
            assert_eq!(dr7, Err(EINVAL));
            assert_eq!(msr, Err(EINVAL));
            assert_eq!(read_shared(Shared::Mtrr(0x10)), Err(EINVAL));
        } else {
            assert_eq!(dr6, Err(EOPNOTSUPP));
        }
    }
}
