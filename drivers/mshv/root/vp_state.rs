// SPDX-License-Identifier: GPL-2.0

//! `MSHV_GET_VP_STATE` and `MSHV_SET_VP_STATE`: a VP's local interrupt controller, XSAVE area,
//! SynIC message and event-flag pages, and synthetic timers.

use kernel::{
    page::PAGE_SIZE,
    prelude::*,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use super::memory::Pinned;
use crate::{
    calls::{
        self,
        HostFrames,
        VpState,
        VpStateData, //
    },
    ffi,
    hv::abi::{
        property,
        vp_state, //
    },
    transport::HvPages,
    uapi::{
        self,
        GetSetVpState, //
    },
};

/// `MSHV_VP_STATE_COUNT`: the uapi types are 0 (LAPIC) to 4 (synthetic timers).
const MSHV_VP_STATE_COUNT: u8 = 5;
/// XSAVE components always asked for: legacy x87 and SSE.
const XSAVE_LEGACY: u64 = 0x3;

/// Gets (`set` false) or sets the state `arg` names of VP `vp_index`.
///
/// As upstream, the size the state needs is written to `buf_sz` before it is compared with the
/// buffer's: `EINVAL` with a larger `buf_sz` means "buffer too small". The buffer is page
/// aligned and a whole number of pages, even for the 200 bytes of the timers.
pub(super) fn get_set(
    pages: &mut HvPages,
    partition_id: u64,
    vp_index: u32,
    arg: usize,
    set: bool,
) -> Result<isize> {
    let args: GetSetVpState = uapi::read_user(arg)?;
    let (buf_sz, buf_ptr) = (args.buf_sz as usize, args.buf_ptr);
    if args.type_ >= MSHV_VP_STATE_COUNT
        || args.rsvd != [0; 3]
        || buf_sz == 0
        || buf_sz % PAGE_SIZE != 0
        || buf_ptr % PAGE_SIZE as u64 != 0
    {
        return Err(EINVAL);
    }
    // SAFETY: `access_ok` only compares the range with the task's address-space limit.
    if !unsafe { ffi::mshv_shim_access_ok(buf_ptr, buf_sz as u64) } {
        return Err(EFAULT);
    }
    let (type_, xsave_states, data_sz) = match args.type_ {
        0 => (vp_state::LAPIC_STATE, 0, PAGE_SIZE),
        1 => {
            let states =
                calls::get_partition_property(pages, partition_id, property::XSAVE_STATES)?;
            let size =
                calls::get_partition_property(pages, partition_id, property::MAX_XSAVE_DATA_SIZE)?;
            let size = usize::try_from(size).map_err(|_| EINVAL)?;
            (vp_state::XSAVE, states | XSAVE_LEGACY, size)
        }
        2 => (vp_state::SIM_PAGE, 0, PAGE_SIZE),
        3 => (vp_state::SIEF_PAGE, 0, PAGE_SIZE),
        _ => (
            vp_state::SYNTHETIC_TIMERS,
            0,
            vp_state::SYNTHETIC_TIMERS_SIZE,
        ),
    };
    let needed = u32::try_from(data_sz).map_err(|_| EINVAL)?;
    // `buf_sz` is at offset 4 of the argument.
    uapi::write_user(arg + 4, &needed)?;
    if data_sz > buf_sz {
        return Err(EINVAL);
    }
    let buf_ptr = usize::try_from(buf_ptr).map_err(|_| EINVAL)?;

    if type_ & vp_state::TYPE_PFN != 0 {
        let count = buf_sz / PAGE_SIZE;
        let pinned = Pinned::pin(buf_ptr, count, false)?;
        let mut pfns = KVec::with_capacity(count, GFP_KERNEL)?;
        for i in 0..count {
            pfns.push(pinned.pfn(i), GFP_KERNEL)?;
        }
        let state = VpState {
            type_,
            xsave_states,
            // SAFETY: `pinned` keeps the pages pinned (for writing) until after the call.
            data: VpStateData::Pages(unsafe { HostFrames::new(&pfns) }),
        };
        calls::vp_state(pages, partition_id, vp_index, &state, set)?;
        return Ok(0);
    }

    let user = UserSlice::new(UserPtr::from_addr(buf_ptr), data_sz);
    if set {
        let mut bytes = KVec::new();
        user.read_all(&mut bytes, GFP_KERNEL)?;
        let state = VpState {
            type_,
            xsave_states,
            data: VpStateData::Bytes(&bytes),
        };
        calls::vp_state(pages, partition_id, vp_index, &state, true)?;
    } else {
        let state = VpState {
            type_,
            xsave_states,
            data: VpStateData::Bytes(&[]),
        };
        calls::vp_state(pages, partition_id, vp_index, &state, false)?;
        user.writer().write_slice(&pages.output.0[..data_sz])?;
    }
    Ok(0)
}
