// SPDX-License-Identifier: GPL-2.0

//! `MSHV_IOEVENTFD`: an eventfd the hypervisor signals when the guest writes to an MMIO
//! address (a doorbell): each is a port of the root's that the partition is connected to.
//! When guest writes ring doorbells, the hypervisor queues their ports on the doorbell SINT's
//! event ring and sends the root a SINT intercept message; the root's SynIC interrupt takes
//! the ports from the ring, and [`on_port`] signals each one's eventfd.

use core::ffi::c_void;

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        global_lock, //
    },
};

use crate::{
    calls,
    eventfd::Eventfd,
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

/// An eventfd a port signals, alive while its entry is in [`PORTS`].
struct Signal(*const c_void);

// SAFETY: The eventfd may be signalled from any thread.
unsafe impl Send for Signal {}

global_lock! {
    // SAFETY: `init` initialises the lock before the message handler is installed, once.
    unsafe(uninit) static PORTS: SpinLockIrq<KVec<(u32, Signal)>> = KVec::new();
}

/// Makes the port table usable. Must run once, before any message can arrive.
pub(super) fn init() {
    // SAFETY: Called once, from `Messages::start`, before any other use of `PORTS`.
    unsafe { PORTS.init() };
}

/// Frees the port table (the module is going away: no port is left).
pub(super) fn clear() {
    *PORTS.lock() = KVec::new();
}

/// Signals the eventfd of port `port`, which the doorbell SINT's event ring held (in the
/// SynIC's interrupt).
pub(super) fn on_port(port: u32) {
    let ports = PORTS.lock();
    // A port not found was deassigned meanwhile.
    if let Some((_, signal)) = ports.iter().find(|(p, _)| *p == port) {
        // SAFETY: An entry's `Ioeventfd` removes it before its `Eventfd` goes, and the lock
        // keeps it in.
        unsafe { Eventfd::signal_raw(signal.0) };
    }
}

/// Forgets port `port_id`: no signal reaches its eventfd afterwards.
fn forget_port(port_id: u32) {
    PORTS.lock().retain(|(p, _)| *p != port_id);
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
        forget_port(self.port_id);
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
    PORTS
        .lock()
        .push((port_id, Signal(eventfd.as_raw())), GFP_ATOMIC)?;
    if let Err(e) = calls::create_doorbell_port(pages, port_id, partition_id) {
        forget_port(port_id);
        return Err(e);
    }
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
        forget_port(port_id);
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
