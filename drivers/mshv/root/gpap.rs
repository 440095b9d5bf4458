// SPDX-License-Identifier: GPL-2.0

//! `MSHV_GET_GPAP_ACCESS_BITMAP`: which guest pages were accessed or dirtied, one bit a page,
//! optionally clearing or setting the state as it is read.

use kernel::{
    prelude::*,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use crate::{
    ffi,
    hv::{abi::code, control::reps_per_page, HV_HYP_PAGE_SIZE},
    hypercall::{
        batches,
        rep_call, //
    },
    transport::{
        hv,
        HvPages, //
    },
    uapi::{
        self,
        GpapAccessBitmap, //
    },
};

/// `MSHV_GPAP_ACCESS_TYPE_*`.
const ACCESSED: u8 = 0;
const DIRTY: u8 = 1;
/// `MSHV_GPAP_ACCESS_OP_*`: no-op, clear, set.
const OP_CLEAR: u8 = 1;
const OP_COUNT: u8 = 3;
/// `hv_gpa_page_access_state_flags`.
const CLEAR_ACCESSED: u64 = 1 << 0;
const SET_ACCESSED: u64 = 1 << 1;
const CLEAR_DIRTY: u64 = 1 << 2;
const SET_DIRTY: u64 = 1 << 3;
/// Pages one call reports: one output byte each.
const BATCH: u16 = reps_per_page(0, 1);
/// Pages asked for per call: as many as fit, in whole bytes of the bitmap.
const CHUNK: usize = BATCH as usize & !7;

/// The hypervisor flags for a type and operation. As upstream, "no-op" sets the state like
/// "set" (the uapi names an operation the driver never had), and clearing "accessed" clears
/// "dirty" too.
fn flags(access_type: u8, access_op: u8) -> u64 {
    match (access_type, access_op == OP_CLEAR) {
        (ACCESSED, true) => CLEAR_ACCESSED | CLEAR_DIRTY,
        (ACCESSED, false) => SET_ACCESSED,
        (_, true) => CLEAR_DIRTY,
        (_, false) => SET_DIRTY | SET_ACCESSED,
    }
}

/// Handles the ioctl for partition `partition_id`.
pub(super) fn get_bitmap(pages: &mut HvPages, partition_id: u64, arg: usize) -> Result<isize> {
    let args: GpapAccessBitmap = uapi::read_user(arg)?;
    if args.access_type > DIRTY
        || args.access_op >= OP_COUNT
        || args.rsvd != [0; 6]
        || args.page_count == 0
        || args.bitmap_ptr == 0
    {
        return Err(EINVAL);
    }
    let count = usize::try_from(args.page_count).map_err(|_| E2BIG)?;
    let len = count.div_ceil(8);
    // SAFETY: `access_ok` only compares the range with the task's address-space limit.
    if !unsafe { ffi::mshv_shim_access_ok(args.bitmap_ptr, len as u64) } {
        return Err(EFAULT);
    }
    let mask = if args.access_type == ACCESSED { 1 } else { 2 };
    let flags = flags(args.access_type, args.access_op);
    // Each call's pages fill whole bytes of the bitmap, which go out as they come: a bitmap
    // that cannot be written stops the walk there (upstream writes it all at the end).
    let mut out = UserSlice::new(UserPtr::from_addr(args.bitmap_ptr as usize), len).writer();
    let mut bits = [0u8; CHUNK / 8];
    for (first, n) in batches(count, CHUNK as u16) {
        // A count of up to 2^64 pages is the caller's: the walk yields, and ends if the caller
        // is killed (upstream's walks the whole range first).
        // SAFETY: Called from the ioctl's process context, with no spinlock held.
        if !unsafe { ffi::mshv_shim_yield_killable() } {
            return Err(EINTR);
        }
        pages.input.write(0, &partition_id)?;
        pages.input.write(8, &flags)?;
        pages
            .input
            .write(16, &(args.gpap_base.wrapping_add(first as u64)))?;
        let (input, output) = (&pages.input, &mut pages.output);
        rep_call(code::GET_GPA_PAGES_ACCESS_STATES, n, 0, 0, |c| {
            // SAFETY: An access-states input names guest frames only.
            unsafe { hv().hypercall(c, input, output) }
        })?
        .to_result()?;
        bits.fill(0);
        for (i, &state) in pages.output.0[..usize::from(n)].iter().enumerate() {
            if state & mask != 0 {
                bits[i / 8] |= 1 << (i % 8);
            }
        }
        out.write_slice(&bits[..usize::from(n).div_ceil(8)])?;
    }
    Ok(0)
}

const _: () = assert!(BATCH as usize <= HV_HYP_PAGE_SIZE);
