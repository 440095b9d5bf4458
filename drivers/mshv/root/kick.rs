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

/// The VPs that can be kicked: per partition, by VP index, so that an intercept finds its VP
/// without looking at any other partition's VPs or at any other VP of its own.
struct Table(KVec<PartitionKicks>);

/// One partition's VPs, at their VP index (below `MSHV_MAX_VPS`, which `MSHV_CREATE_VP`
/// checks).
struct PartitionKicks {
    id: u64,
    vps: KVec<Option<Arc<Kick>>>,
}

impl Table {
    const fn new() -> Self {
        Self(KVec::new())
    }

    /// Lets VP `vp_index` of partition `partition_id` be kicked (in place of a VP of that
    /// index before it). Does not sleep.
    fn register(&mut self, partition_id: u64, vp_index: u32, kick: Arc<Kick>) -> Result {
        let at = match self.0.iter().position(|p| p.id == partition_id) {
            Some(at) => at,
            None => {
                self.0.push(
                    PartitionKicks {
                        id: partition_id,
                        vps: KVec::new(),
                    },
                    GFP_ATOMIC,
                )?;
                self.0.len() - 1
            }
        };
        let vps = &mut self.0[at].vps;
        let index = vp_index as usize;
        if vps.len() <= index {
            vps.resize(index + 1, None, GFP_ATOMIC)?;
        }
        vps[index] = Some(kick);
        Ok(())
    }

    /// Forgets every VP of a partition.
    fn unregister_partition(&mut self, partition_id: u64) {
        self.0.retain(|p| p.id != partition_id);
    }

    /// The VP an intercept names.
    fn find(&self, partition_id: u64, vp_index: u32) -> Option<Arc<Kick>> {
        let partition = self.0.iter().find(|p| p.id == partition_id)?;
        partition.vps.get(vp_index as usize)?.clone()
    }
}

global_lock! {
    // SAFETY: `init` initialises the lock before the message handler is installed, once.
    unsafe(uninit) static VPS: SpinLockIrq<Table> = Table::new();
}

/// Makes VP kicks possible. Must run once, before any message can arrive.
pub(super) fn init() {
    // SAFETY: Called once, from `Messages::start`, before any other use of `VPS`.
    unsafe { VPS.init() };
}

/// Forgets every VP (the module is going away).
pub(super) fn clear() {
    *VPS.lock() = Table::new();
}

/// Lets VP `vp_index` of partition `partition_id` be kicked.
pub(crate) fn register(partition_id: u64, vp_index: u32, kick: Arc<Kick>) -> Result {
    VPS.lock().register(partition_id, vp_index, kick)
}

/// Forgets every VP of a partition.
pub(crate) fn unregister_partition(partition_id: u64) {
    VPS.lock().unregister_partition(partition_id);
}

/// Takes an opaque intercept message (possibly in interrupt context): wakes the VP it names.
pub(super) fn on_intercept(message: &Message) {
    let (partition_id, vp_index) = (message.sender, message.payload[0] as u32);
    let kick = VPS.lock().find(partition_id, vp_index);
    if let Some(kick) = kick {
        kick.kick();
    }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_kick)]
mod tests {
    use super::*;

    #[test]
    fn an_intercept_finds_its_vp_and_only_it() {
        let mut table = Table::new();
        let kicks: KVec<Arc<Kick>> = {
            let mut v = KVec::new();
            for _ in 0..4 {
                v.push(Kick::new().unwrap(), GFP_KERNEL).unwrap();
            }
            v
        };
        table.register(7, 0, kicks[0].clone()).unwrap();
        table.register(7, 255, kicks[1].clone()).unwrap();
        table.register(9, 3, kicks[2].clone()).unwrap();
        table.register(9, 0, kicks[3].clone()).unwrap();
        let is = |got: Option<Arc<Kick>>, want: &Arc<Kick>| {
            got.is_some_and(|k| core::ptr::eq(&*k, &**want))
        };
        assert!(is(table.find(7, 0), &kicks[0]));
        assert!(is(table.find(7, 255), &kicks[1]));
        assert!(is(table.find(9, 3), &kicks[2]));
        assert!(is(table.find(9, 0), &kicks[3]));
        // Indices nobody has, partitions nobody has.
        for (p, v) in [(7, 1), (7, 256), (9, 2), (9, 4), (8, 0), (u64::MAX, 0)] {
            assert!(table.find(p, v).is_none());
        }
        // A partition's VPs go with it, and no other's.
        table.unregister_partition(7);
        assert!(table.find(7, 0).is_none());
        assert!(table.find(7, 255).is_none());
        assert!(is(table.find(9, 3), &kicks[2]));
        // A VP of the same index again replaces the one before.
        table.register(9, 3, kicks[0].clone()).unwrap();
        assert!(is(table.find(9, 3), &kicks[0]));
    }
}
