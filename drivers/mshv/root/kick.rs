// SPDX-License-Identifier: GPL-2.0

//! How a running VP's thread learns that it stopped, or may run again: under the hypervisor's
//! schedulers the hypervisor sends the root an opaque intercept message naming the partition
//! and VP, and [`on_intercept`] wakes the thread waiting in `MSHV_RUN_VP` for that VP; under
//! the root scheduler it signals VPs a dispatch found blocked, in a scheduler message naming
//! them ([`on_scheduler_signal`]).

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

use crate::hv::abi::{
    dispatch,
    message_type,
    Message,
    SignalBitset,
    SignalPair, //
};

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

/// Takes a scheduler message (in interrupt context): wakes every VP it signals.
pub(super) fn on_scheduler_signal(message: &Message) {
    let table = VPS.lock();
    signalled(message, |partition_id, vp_index| {
        if let Some(kick) = table.find(partition_id, vp_index) {
            kick.kick();
        }
    });
}

/// Passes each (partition, VP index) a scheduler message signals to `f`, in order: a bitset
/// message's set (of the sparse format only), or a pair message's pairs (at most as many as it
/// has room for). A message of another type signals none.
fn signalled(message: &Message, mut f: impl FnMut(u64, u32)) {
    use kernel::transmute::FromBytes;
    let payload = message.payload;
    let bytes = kernel::transmute::AsBytes::as_bytes(&payload);
    match message.message_type {
        message_type::SCHEDULER_VP_SIGNAL_BITSET => {
            let Some(m) = SignalBitset::from_bytes_copy(&bytes[..size_of::<SignalBitset>()]) else {
                return;
            };
            let set = m.vp_bitset;
            let (format, mask, banks) = (set[0], set[1], &set[2..]);
            if format != dispatch::VP_SET_SPARSE_4K {
                return;
            }
            // The banks present, in order; a mask naming more than the message holds stops
            // at its end.
            let present = (0..64u32).filter(|b| mask & (1 << b) != 0);
            for (bank, &bits) in present.zip(banks) {
                for bit in (0..64u32).filter(|n| bits & (1 << n) != 0) {
                    f(m.partition_id, bank * 64 + bit);
                }
            }
        }
        message_type::SCHEDULER_VP_SIGNAL_PAIR => {
            let Some(m) = SignalPair::from_bytes_copy(&bytes[..size_of::<SignalPair>()]) else {
                return;
            };
            let (ids, indexes) = (m.partition_ids, m.vp_indexes);
            let count = usize::from(m.vp_count).min(dispatch::MAX_PAIRS);
            for (&id, &index) in ids.iter().zip(&indexes).take(count) {
                f(id, index);
            }
        }
        _ => {}
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

    /// An empty message of type `kind`.
    fn message(kind: u32) -> Message {
        Message {
            message_type: kind,
            ..Message::EMPTY
        }
    }

    /// What a scheduler message signals, as a list.
    fn signals(message: &Message) -> KVec<(u64, u32)> {
        let mut got = KVec::new();
        signalled(message, |p, v| got.push((p, v), GFP_KERNEL).unwrap());
        got
    }

    #[test]
    fn a_bitset_message_signals_its_set() {
        let mut m = message(message_type::SCHEDULER_VP_SIGNAL_BITSET);
        let mut payload = m.payload;
        payload[0] = 7; // The partition.
        payload[1] = 3 << 32; // Three VPs.
        payload[2] = dispatch::VP_SET_SPARSE_4K;
        payload[3] = 0b101; // Banks 0 and 2.
        payload[4] = 1 << 1 | 1 << 63; // VPs 1 and 63.
        payload[5] = 1; // VP 128.
        m.payload = payload;
        assert_eq!(&signals(&m)[..], &[(7, 1), (7, 63), (7, 128)]);
        // Another format signals none.
        payload[2] = 1;
        m.payload = payload;
        assert!(signals(&m).is_empty());
        // A mask of every bank stops at the end of the message (16 banks).
        payload[2] = dispatch::VP_SET_SPARSE_4K;
        payload[3] = u64::MAX;
        payload[4..].fill(0);
        payload[4 + 15] = 1 << 5;
        m.payload = payload;
        assert_eq!(&signals(&m)[..], &[(7, 15 * 64 + 5)]);
    }

    #[test]
    fn a_pair_message_signals_its_pairs() {
        let mut m = message(message_type::SCHEDULER_VP_SIGNAL_PAIR);
        let mut payload = m.payload;
        payload[0] = 2 << 32; // Two pairs.
        payload[1] = 7; // partition_ids[0]
        payload[2] = 9; // partition_ids[1]
                        // vp_indexes at byte 160: word 20.
        payload[20] = 3 | 4 << 32;
        m.payload = payload;
        assert_eq!(&signals(&m)[..], &[(7, 3), (9, 4)]);
        // A count beyond the room stops at the room.
        payload[0] = 255 << 32;
        m.payload = payload;
        assert_eq!(signals(&m).len(), dispatch::MAX_PAIRS);
        // Any other message signals none.
        let other = message(message_type::OPAQUE_INTERCEPT);
        assert!(signals(&other).is_empty());
    }
}
