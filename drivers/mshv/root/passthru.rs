// SPDX-License-Identifier: GPL-2.0

//! `MSHV_ROOT_HVCALL`: a hypercall from user space, on `/dev/mshv` (for the root partition
//! itself) or a partition or VP file (for that partition), restricted to an allow-list.

use kernel::{
    prelude::*,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use super::async_call::Pending;
use crate::{
    calls::deposit_requested,
    hv::{
        abi::{
            code,
            HV_PARTITION_ID_SELF, //
        },
        control::Control,
        status::{
            HvResult,
            HvStatus, //
        },
        HV_HYP_PAGE_SIZE,
    },
    hypercall::MAX_DEPOSIT_PAGES_PER_CALL,
    transport::{
        hv,
        HvPages, //
    },
    uapi::{
        self,
        RootHvcall, //
    },
};

/// What `/dev/mshv` allows: reading the root's own properties.
const SELF_ALLOWED: &[u16] = &[
    code::GET_PARTITION_PROPERTY,
    code::GET_PARTITION_PROPERTY_EX,
];

/// What partition and VP files allow.
const PARTITION_ALLOWED: &[u16] = &[
    code::GET_PARTITION_PROPERTY,
    code::GET_PARTITION_PROPERTY_EX,
    code::SET_PARTITION_PROPERTY,
    code::INSTALL_INTERCEPT,
    code::GET_VP_REGISTERS,
    code::SET_VP_REGISTERS,
    code::TRANSLATE_VIRTUAL_ADDRESS,
    code::CLEAR_VIRTUAL_INTERRUPT,
    code::REGISTER_INTERCEPT_RESULT,
    code::ASSERT_VIRTUAL_INTERRUPT,
    code::GET_GPA_PAGES_ACCESS_STATES,
    code::SIGNAL_EVENT_DIRECT,
    code::POST_MESSAGE_DIRECT,
    code::GET_VP_CPUID_VALUES,
];

/// Calls that may complete asynchronously: only from the partition file.
const ASYNC: &[u16] = &[code::SET_PARTITION_PROPERTY];

/// Where the call comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// `/dev/mshv`: the root partition itself.
    Root,
    /// A partition file.
    Partition(u64),
    /// A VP file of the partition.
    Vp(u64),
}

/// Validates the argument as upstream does, in its order.
fn check(args: &RootHvcall, caller: Caller) -> Result {
    let (in_sz, out_sz) = (usize::from(args.in_sz), usize::from(args.out_sz));
    if args.status != 0
        || args.in_ptr == 0
        || in_sz < 8
        || args.rsvd != [0; 6]
        || in_sz > HV_HYP_PAGE_SIZE
    {
        return Err(EINVAL);
    }
    if args.out_ptr != 0 && (out_sz == 0 || out_sz > HV_HYP_PAGE_SIZE) {
        return Err(EINVAL);
    }
    let allowed = match caller {
        Caller::Root => SELF_ALLOWED,
        Caller::Partition(_) | Caller::Vp(_) => PARTITION_ALLOWED,
    };
    if !allowed.contains(&args.code) {
        return Err(EINVAL);
    }
    if ASYNC.contains(&args.code) && !matches!(caller, Caller::Partition(_)) {
        return Err(EINVAL);
    }
    Ok(())
}

/// Handles `MSHV_ROOT_HVCALL` with argument `arg`. `pages` serve the deposits a call asks for.
///
/// The hypervisor's status and the reps completed are written back even when the call fails
/// (user space reads them to tell failures apart); the output only when it succeeds.
pub(crate) fn root_hvcall(pages: &mut HvPages, caller: Caller, arg: usize) -> Result<isize> {
    let mut args: RootHvcall = uapi::read_user(arg)?;
    check(&args, caller)?;
    let partition_id = match caller {
        Caller::Root => HV_PARTITION_ID_SELF,
        Caller::Partition(id) | Caller::Vp(id) => id,
    };
    // A pair of pages of its own: the deposits in between use `pages`.
    let mut io = HvPages::new()?;
    UserSlice::new(
        UserPtr::from_addr(args.in_ptr as usize),
        usize::from(args.in_sz),
    )
    .reader()
    .read_slice(&mut io.input.0[..usize::from(args.in_sz)])?;
    // The call is always about the caller's partition, whatever user space wrote.
    io.input.write(0, &partition_id)?;

    let reps = args.reps;
    let mut done = 0u16;
    let mut deposited = 0u32;
    let (status, ret) = loop {
        let control = if reps != 0 {
            Control::rep(args.code, reps, done)?
        } else {
            Control::new(args.code)
        };
        // A call that may complete asynchronously has its completion readied before it is
        // made (`check` let it through only from the partition file, which holds its lock).
        let pending = if ASYNC.contains(&args.code) {
            Some(Pending::begin(partition_id)?)
        } else {
            None
        };
        // SAFETY: `check` let through only the allow-listed codes, none of whose inputs names a
        // host page frame (they carry partition, VP and guest values), so the bytes user space
        // wrote cannot make the hypervisor touch the host's memory.
        let mut result = unsafe { hv().hypercall(control, &io.input, &mut io.output) };
        if result.status() == HvStatus::CALL_PENDING {
            // No other call completes asynchronously: the hypervisor has none to complete.
            let Some(pending) = pending else {
                return Err(EBADFD);
            };
            // Its completion's status is the call's, as upstream has it.
            result = HvResult::new(pending.wait(), 0);
        }
        let status = result.status();
        if reps != 0 && status == HvStatus::SUCCESS {
            let now = result.reps_completed();
            if now < reps && now <= done {
                break (status, Err(EIO));
            }
            done = now;
            // Progress: the call is given as much again before it is given up.
            deposited = 0;
            if done < reps {
                continue;
            }
        } else if reps != 0 {
            done = result.reps_completed().max(done);
        }
        if let Some(request) = status.deposit_request() {
            // Bounded as the driver's own calls are: user space chose the call.
            deposited = deposited.saturating_add(request.pages);
            if deposited > MAX_DEPOSIT_PAGES_PER_CALL {
                break (status, result.to_result());
            }
            match deposit_requested(pages, partition_id, request) {
                Ok(()) => continue,
                Err(e) => break (status, Err(e)),
            }
        }
        break (status, result.to_result());
    };

    args.status = status.0;
    args.reps = done;
    uapi::write_user(arg, &args)?;
    ret?;
    if args.out_ptr != 0 {
        UserSlice::new(
            UserPtr::from_addr(args.out_ptr as usize),
            usize::from(args.out_sz),
        )
        .writer()
        .write_slice(&io.output.0[..usize::from(args.out_sz)])?;
    }
    Ok(0)
}
