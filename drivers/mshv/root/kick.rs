// SPDX-License-Identifier: GPL-2.0

//! How a running VP learns that it stopped: the hypervisor sends the root an opaque intercept
//! message naming the partition and VP, and [`on_intercept`] wakes the thread waiting in
//! `MSHV_RUN_VP` for that VP.

use kernel::{
    new_condvar, new_spinlock_irq,
    prelude::*,
    sync::{
        global_lock,
        Arc,
        CondVar,
        SpinLockIrq, //
    },
    time::{
        delay::fsleep,
        Delta, //
    },
};

use crate::hv::abi::Message;

/// How long, in milliseconds, a run waits without interruption for a notice the hypervisor
/// said is coming.
const BOUNDED_WAIT_MS: u32 = 1000;

/// A VP's "you stopped" flag and the queue its runner waits on.
#[pin_data]
pub(crate) struct Kick {
    #[pin]
    kicked: SpinLockIrq<bool>,
    #[pin]
    wait: CondVar,
}

impl Kick {
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                kicked <- new_spinlock_irq!(false),
                wait <- new_condvar!(),
            }),
            GFP_KERNEL,
        )
    }

    fn kick(&self) {
        *self.kicked.lock() = true;
        self.wait.notify_all();
    }

    /// Waits for a kick and consumes it; `Err(EINTR)` if a signal came first.
    pub(crate) fn wait_interruptible(&self) -> Result {
        let mut kicked = self.kicked.lock();
        while !*kicked {
            if self.wait.wait_interruptible(&mut kicked) {
                return Err(EINTR);
            }
        }
        *kicked = false;
        Ok(())
    }

    /// Waits for a kick, whatever signals come, and consumes it; gives up (false) after
    /// [`BOUNDED_WAIT_MS`].
    pub(crate) fn wait_bounded(&self) -> bool {
        for _ in 0..BOUNDED_WAIT_MS {
            if self.take() {
                return true;
            }
            fsleep(Delta::from_millis(1));
        }
        self.take()
    }

    /// Consumes a kick, if one came.
    fn take(&self) -> bool {
        core::mem::replace(&mut *self.kicked.lock(), false)
    }

    /// Forgets a kick not waited for.
    pub(crate) fn reset(&self) {
        self.take();
    }
}

global_lock! {
    // SAFETY: `init` initialises the lock before the message handler is installed, once.
    unsafe(uninit) static VPS: SpinLockIrq<KVec<(u64, u32, Arc<Kick>)>> = KVec::new();
}

/// Makes VP kicks possible. Must run once, before any message can arrive.
pub(super) fn init() {
    // SAFETY: Called once, from `Messages::start`, before any other use of `VPS`.
    unsafe { VPS.init() };
}

/// Forgets every VP (the module is going away).
pub(super) fn clear() {
    *VPS.lock() = KVec::new();
}

/// Lets VP `vp_index` of partition `partition_id` be kicked.
pub(crate) fn register(partition_id: u64, vp_index: u32, kick: Arc<Kick>) -> Result {
    VPS.lock()
        .push((partition_id, vp_index, kick), GFP_ATOMIC)?;
    Ok(())
}

/// Forgets every VP of a partition.
pub(crate) fn unregister_partition(partition_id: u64) {
    VPS.lock().retain(|(p, _, _)| *p != partition_id);
}

/// Takes an opaque intercept message (possibly in interrupt context): wakes the VP it names.
pub(super) fn on_intercept(message: &Message) {
    let (partition_id, vp_index) = (message.sender, message.payload[0] as u32);
    let kick = VPS
        .lock()
        .iter()
        .find(|(p, v, _)| *p == partition_id && *v == vp_index)
        .map(|(_, _, k)| k.clone());
    if let Some(kick) = kick {
        kick.kick();
    }
}
