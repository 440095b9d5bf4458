// SPDX-License-Identifier: GPL-2.0

//! `MSHV_IOEVENTFD`: an eventfd the hypervisor signals when the guest writes to an MMIO
//! address (a doorbell): each is a port of the root's that the partition is connected to.

use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

use super::irqfd::Eventfd;
use crate::{
    calls,
    transport::HvPages,
    uapi::{
        self,
        UserIoeventfd, //
    },
};

/// `MSHV_IOEVENTFD_BIT_*`.
const DATAMATCH: u32 = 1 << 0;
const PIO: u32 = 1 << 1;
const DEASSIGN: u32 = 1 << 2;
/// `HV_DOORBELL_FLAG_TRIGGER_ANY_VALUE`: without a data match, any write rings.
const TRIGGER_ANY_VALUE: u64 = 1 << 31;

/// Port ids, for the whole module as the hypervisor's ports are: 1 up to `i32::MAX`.
static NEXT_PORT: Atomic<u32> = Atomic::new(1);

fn new_port_id() -> Result<u32> {
    let id = NEXT_PORT.fetch_add(1, Relaxed);
    if id == 0 || id >= i32::MAX as u32 {
        return Err(ENOSPC);
    }
    Ok(id)
}

/// An assigned ioeventfd: its doorbell connected until dropped.
pub(super) struct Ioeventfd {
    eventfd: Eventfd,
    addr: u64,
    len: u32,
    /// `None`: any value rings.
    datamatch: Option<u64>,
    port_id: u32,
    partition_id: u64,
}

impl Ioeventfd {
    /// Whether `self` and a doorbell at `addr`, `len` matching `datamatch` would ring together.
    fn collides(&self, addr: u64, len: u32, datamatch: Option<u64>) -> bool {
        self.addr == addr
            && self.len == len
            && match (self.datamatch, datamatch) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

impl Drop for Ioeventfd {
    fn drop(&mut self) {
        // Nothing to report to: a failure leaves the port with the hypervisor.
        let _ = calls::disconnect_doorbell(self.partition_id, self.port_id);
        let _ = calls::delete_port(self.port_id);
    }
}

/// `HV_DOORBELL_FLAG_TRIGGER_SIZE_*` for an access size, or `EINVAL`.
fn trigger_size(len: u32) -> Result<u64> {
    Ok(match len {
        0 => 0,
        1 => 1,
        2 => 2,
        4 => 3,
        8 => 4,
        _ => return Err(EINVAL),
    })
}

/// Handles `MSHV_IOEVENTFD` for partition `partition_id`, whose ioeventfds these are.
pub(super) fn set_ioeventfd(
    pages: &mut HvPages,
    partition_id: u64,
    ioeventfds: &mut KVec<Ioeventfd>,
    arg: usize,
) -> Result<isize> {
    let args: UserIoeventfd = uapi::read_user(arg)?;
    if args.flags & !(DATAMATCH | PIO | DEASSIGN) != 0 || args.rsvd != [0; 4] {
        return Err(EINVAL);
    }
    // Port I/O doorbells do not exist.
    if args.flags & PIO != 0 {
        return Err(EOPNOTSUPP);
    }
    let datamatch = (args.flags & DATAMATCH != 0).then_some(args.datamatch);
    if args.flags & DEASSIGN != 0 {
        let eventfd = Eventfd::get(args.fd)?;
        let i = ioeventfds
            .iter()
            .position(|e| {
                e.eventfd.same(&eventfd)
                    && e.addr == args.addr
                    && e.len == args.len
                    && e.datamatch == datamatch
            })
            .ok_or(ENOENT)?;
        // Dropping it disconnects the doorbell and deletes the port.
        ioeventfds.remove(i).map_err(|_| ENOENT)?;
        return Ok(0);
    }
    let size = trigger_size(args.len)?;
    args.addr.checked_add(u64::from(args.len)).ok_or(EINVAL)?;
    let eventfd = Eventfd::get(args.fd)?;
    if ioeventfds
        .iter()
        .any(|e| e.collides(args.addr, args.len, datamatch))
    {
        return Err(EEXIST);
    }
    ioeventfds.reserve(1, GFP_KERNEL)?;
    let port_id = new_port_id()?;
    calls::create_doorbell_port(pages, port_id, partition_id)?;
    let flags = size
        | if datamatch.is_none() {
            TRIGGER_ANY_VALUE
        } else {
            0
        };
    let trigger = datamatch.unwrap_or(0);
    if let Err(e) = calls::connect_doorbell(pages, partition_id, port_id, args.addr, trigger, flags)
    {
        let _ = calls::delete_port(port_id);
        return Err(e);
    }
    // Room was reserved above.
    ioeventfds.push(
        Ioeventfd {
            eventfd,
            addr: args.addr,
            len: args.len,
            datamatch,
            port_id,
            partition_id,
        },
        GFP_KERNEL,
    )?;
    Ok(0)
}
