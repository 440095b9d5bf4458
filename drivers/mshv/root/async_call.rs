// SPDX-License-Identifier: GPL-2.0

//! Hypercalls the hypervisor completes asynchronously: it answers `HV_STATUS_CALL_PENDING`, and
//! later sends the root a completion message (`HVMSG_ASYNC_CALL_COMPLETION`) with the call's
//! status, naming the partition. Of the calls the driver lets through, `SET_PARTITION_PROPERTY`
//! may (from a partition file only, whose lock is held: one at a time per partition).
//!
//! Before such a call is made its partition gets a [`Pending`] entry; the SynIC interrupt's
//! handler ([`on_completion`]) finds the entry by the partition named, stores the status and
//! completes it; the caller waits for that, as upstream does (without interruption: the
//! call's effect is the hypervisor's, whatever the caller does). A completion for a partition
//! with no call in flight is dropped.

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        global_lock,
        Arc,
        Completion, //
    },
};

use crate::hv::{
    abi::Message,
    status::HvStatus, //
};

/// One call in flight: its status, once it completed.
#[pin_data]
struct Call {
    #[pin]
    done: Completion,
    status: Atomic<u32>,
}

global_lock! {
    // SAFETY: `init` initialises the lock before the message handler is installed, once.
    unsafe(uninit) static CALLS: SpinLockIrq<KVec<(u64, Arc<Call>)>> = KVec::new();
}

/// Makes asynchronous calls possible. Must run once, before any message can arrive.
pub(super) fn init() {
    // SAFETY: Called once, from `Messages::start`, before any other use of `CALLS`.
    unsafe { CALLS.init() };
}

/// Forgets every call (the module is going away: none is in flight).
pub(super) fn clear() {
    *CALLS.lock() = KVec::new();
}

/// A call of a partition's that may complete asynchronously, about to be made.
pub(crate) struct Pending {
    partition_id: u64,
    call: Arc<Call>,
}

impl Pending {
    /// Readies the completion of a call about to be made for partition `partition_id`:
    /// `EBUSY` if one is in flight for it already (the partition's lock makes that none),
    /// `EOPNOTSUPP` where no completion message can come (no SynIC).
    pub(crate) fn begin(partition_id: u64) -> Result<Self> {
        // Without the SynIC no completion can come: the wait would never end.
        if !super::messages::enabled() {
            return Err(EOPNOTSUPP);
        }
        let call = Arc::pin_init(
            pin_init!(Call {
                done <- Completion::new(),
                status: Atomic::new(0),
            }),
            GFP_KERNEL,
        )?;
        let mut calls = CALLS.lock();
        if calls.iter().any(|(id, _)| *id == partition_id) {
            return Err(EBUSY);
        }
        calls.push((partition_id, call.clone()), GFP_ATOMIC)?;
        Ok(Self { partition_id, call })
    }

    /// Waits for the call's completion message; the call's status.
    pub(crate) fn wait(self) -> HvStatus {
        self.call.done.wait_for_completion();
        // Stored from a `u16`.
        HvStatus(self.call.status.load(Relaxed) as u16)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let id = self.partition_id;
        CALLS.lock().retain(|(p, _)| *p != id);
    }
}

/// Takes a completion message (in interrupt context): completes the call of the partition it
/// names, with its status (`struct hv_async_completion_message_payload`: the partition, then
/// the status in the low half of the next word).
pub(super) fn on_completion(message: &Message) {
    let payload = message.payload;
    let (partition_id, status) = (payload[0], payload[1] as u32);
    let calls = CALLS.lock();
    if let Some((_, call)) = calls.iter().find(|(id, _)| *id == partition_id) {
        // A status wider than a status code is none the hypervisor sends: an error.
        let status = u16::try_from(status).unwrap_or(HvStatus::INVALID_PARAMETER.0);
        call.status.store(status.into(), Relaxed);
        call.done.complete_all();
    }
}
