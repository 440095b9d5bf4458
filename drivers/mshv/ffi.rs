// SPDX-License-Identifier: GPL-2.0

//! Declarations of the module's own C shim (`shim.c`) and assembly (`arch/<arch>/entry.S`).
//!
//! Each item has a twin in `shim.h`; keep the two in step. Safe wrappers live next to their
//! users: nothing outside this crate's wrappers calls these directly.

use kernel::ffi::{
    c_char,
    c_int, //
};

/// No Microsoft hypervisor found (`MSHV_SHIM_HV_NONE`).
pub(crate) const MSHV_SHIM_HV_NONE: c_int = 0;
/// An ordinary guest partition (`MSHV_SHIM_HV_GUEST`).
pub(crate) const MSHV_SHIM_HV_GUEST: c_int = 1;
/// The root partition (`MSHV_SHIM_HV_ROOT`).
pub(crate) const MSHV_SHIM_HV_ROOT: c_int = 2;
/// A level-1 virtual host (`MSHV_SHIM_HV_L1VH`).
pub(crate) const MSHV_SHIM_HV_L1VH: c_int = 3;

/// `struct mshv_shim_uapi_fact`: one size, offset or ioctl number of the kernel's uapi header.
#[repr(C)]
pub(crate) struct MshvUapiFact {
    /// A static NUL-terminated name, as in [`crate::uapi::Fact::name`].
    pub(crate) name: *const c_char,
    /// Its value in the C header.
    pub(crate) value: u64,
}

extern "C" {
    /// Returns the shim's static table of uapi facts and stores its length in `*len`.
    pub(crate) fn mshv_shim_uapi_facts(len: *mut usize) -> *const MshvUapiFact;

    /// Returns one of the `MSHV_SHIM_HV_*` values. Callable in any context.
    pub(crate) fn mshv_shim_hv_partition_type() -> c_int;

    /// Returns the virtual trust level the kernel runs at (0 without Hyper-V).
    pub(crate) fn mshv_shim_hv_vtl() -> u8;

    /// Returns `!value`; touches no memory.
    pub(crate) fn mshv_arch_abi_check(value: u64) -> u64;

    /// The kernel's own mapping of a hypercall result to an errno (`drivers/hv/hv_common.c`),
    /// which the driver's mapping is tested against.
    pub(crate) fn hv_result_to_errno(status: u64) -> c_int;
}
