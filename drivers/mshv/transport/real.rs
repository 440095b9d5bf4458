// SPDX-License-Identifier: GPL-2.0

//! The real hypervisor, through the kernel's own hypercall path (`hv_do_hypercall()`: the
//! hypercall page on x86_64, SMCCC `hvc #0` on arm64), reached through the C shim.

use core::{
    ffi::c_void,
    ptr::NonNull, //
};

use kernel::{
    error::to_result,
    prelude::*, //
};

use super::{
    HvPage,
    HvPages,
    HvVersion,
    Hypervisor,
    SynicHandler,
    VtlReturnEntry, //
};
use crate::{
    calls,
    ffi, //
    hv::{
        abi::{
            register,
            SynicRegister,
            HV_PARTITION_ID_SELF,
            HV_VP_INDEX_SELF, //
        },
        control::Control,
        status::HvResult, //
    },
};

/// The hypervisor the kernel runs on.
pub(crate) struct Real;

impl Hypervisor for Real {
    fn name(&self) -> &'static str {
        "Microsoft hypervisor"
    }

    unsafe fn hypercall(&self, control: Control, input: &HvPage, output: &mut HvPage) -> HvResult {
        let input = core::ptr::from_ref(input).cast_mut().cast::<c_void>();
        let output = core::ptr::from_mut(output).cast::<c_void>();
        // SAFETY: `HvPage` is page-aligned and one page long, and both pages are kmalloc'ed
        // (callers hold them in a `KBox`), so each is one page of the linear map, as
        // `hv_do_hypercall()` needs; the `&mut` gives the output page to this call alone.
        // Whatever else the call makes the hypervisor touch (the frames the input names, a page
        // a register write makes it overlay) is the caller's promise (see the trait).
        HvResult(unsafe { ffi::mshv_shim_hypercall(control.raw(), input, output) })
    }

    fn fast_hypercall(&self, code: u16, input1: u64, input2: u64) -> HvResult {
        // SAFETY: A fast call passes values only, in registers.
        HvResult(unsafe { ffi::mshv_shim_fast_hypercall(code, input1, input2) })
    }

    unsafe fn write_synic(&self, register: SynicRegister, value: u64) {
        // SAFETY: The register is the calling CPU's; the caller holds any page it names.
        unsafe { ffi::mshv_shim_synic_write(register.index(), value) }
    }

    fn read_synic(&self, register: SynicRegister) -> u64 {
        // SAFETY: Reading a SynIC register of the calling CPU has no other effect.
        unsafe { ffi::mshv_shim_synic_read(register.index()) }
    }

    fn vmbus_synic_pages(&self, cpu: u32) -> Option<(NonNull<c_void>, NonNull<c_void>)> {
        let (mut message, mut event) = (core::ptr::null_mut(), core::ptr::null_mut());
        // SAFETY: The shim writes the two pointers, this function's locals, only on success.
        if !unsafe { ffi::mshv_shim_vmbus_synic_pages(cpu, &mut message, &mut event) } {
            return None;
        }
        Some((NonNull::new(message)?, NonNull::new(event)?))
    }

    fn set_synic_handler(&self, handler: Option<SynicHandler>) -> Result {
        // arm64: the INTID the hypervisor reserves for the SINTs, as upstream reads it (a
        // failure leaves none: the shim refuses with `ENODEV`).
        let intid = if cfg!(CONFIG_ARM64) && handler.is_some() {
            HvPages::new()
                .and_then(|mut pages| {
                    calls::get_vp_register(
                        &mut pages,
                        HV_PARTITION_ID_SELF,
                        HV_VP_INDEX_SELF,
                        register::ARM64_SINT_RESERVED_INTERRUPT_ID,
                    )
                })
                .unwrap_or(0)
        } else {
            0
        };
        // SAFETY: The handler is a function, which may run in hard interrupt context (the
        // type's contract) until this returns with `None`.
        to_result(unsafe { ffi::mshv_shim_set_synic_handler(handler, intid) })
    }

    fn version(&self) -> Result<HvVersion> {
        let (mut major, mut minor, mut build) = (0, 0, 0);
        // SAFETY: The shim writes the three locals only.
        to_result(unsafe { ffi::mshv_shim_hv_version(&mut major, &mut minor, &mut build) })?;
        Ok(HvVersion {
            major,
            minor,
            build,
        })
    }

    fn vmbus_active(&self) -> bool {
        // SAFETY: Reads the Hyper-V core's state only.
        unsafe { ffi::mshv_shim_vmbus_exists() }
    }

    fn vp_assist_page(&self, cpu: u32) -> *mut c_void {
        // SAFETY: Reads the kernel's table of VP assist pages, set up at boot.
        unsafe { ffi::mshv_shim_vp_assist_page(cpu) }
    }

    fn smccc_by_hvc(&self) -> bool {
        // The Hyper-V core's hypercalls are SMCCC calls by HVC #0 on arm64, once it found
        // Hyper-V (by its SMCCC UID, or ACPI).
        // SAFETY: Reads the Hyper-V core's state only.
        cfg!(CONFIG_ARM64) && unsafe { ffi::mshv_shim_hv_vtl() } != 0
    }

    fn vtl_return_entry(&self, offset: u64) -> Option<VtlReturnEntry> {
        if offset >= kernel::page::PAGE_SIZE as u64 {
            return None;
        }
        // SAFETY: Maps the page the kernel registered as its hypercall page, if any.
        let mapping = unsafe { ffi::mshv_shim_hypercall_page_map() };
        if mapping.is_null() {
            return None;
        }
        // INVARIANT: The entry is within the page, whose mapping was made for it.
        Some(VtlReturnEntry {
            addr: mapping.cast::<u8>().wrapping_add(offset as usize).cast(),
            mapping,
        })
    }
}
