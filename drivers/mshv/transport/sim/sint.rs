// SPDX-License-Identifier: GPL-2.0

//! The simulated hypervisor's SynIC lock, and the fast calls the root's interrupt handler makes
//! where the machine's mutex may not be taken.
//!
//! The SynIC itself ([`hosted_synic`]: the message, event flags and event ring pages, the SINTs,
//! the interrupt) is under this module's raw spinlock, never the machine's mutex: the root's
//! handler, which runs in hard interrupt context, reaches the simulator only through fast
//! calls; `HVCALL_NOTIFY_PORT_RING_EMPTY` is taken under this lock alone, and any other waits
//! here for the machine (see [`defer`]).
//!
//! The locks, outermost first: the machine's mutex, then the SynIC's raw spinlock (a sender
//! queues under both); the driver's handler runs with neither held.
//!
//! [`hosted_synic`]: super::hosted_synic

use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    ops::{
        Deref,
        DerefMut, //
    },
};

use kernel::ffi::c_ulong;

use super::hosted_synic::HostedSynic;
use crate::{
    ffi,
    hv::status::{
        HvResult,
        HvStatus, //
    },
};

/// Whether the root's SynIC interrupt is an `IRQ_WORK_INIT_HARD` irq_work, run in hard interrupt
/// context even under PREEMPT_RT (VTL2's always is). Either way it runs in hard interrupt context on other
/// kernels, where a sleeping lock in the handler is reported; with it, lockdep also treats the
/// handler as a raw-spinlock-only context (as a real host's SINT vector is), and reports any
/// `spinlock_t` the handler takes (`Invalid wait context`, `PROVE_RAW_LOCK_NESTING`). The
/// root's handler takes such locks (its kick, port and resampler tables, wake-ups, eventfd
/// signals), so this stays off until they are raw.
pub(super) const HARD_IRQ_WORK: bool = false;

/// Fast calls waiting for the machine, at most.
const DEFERRED: usize = 64;

/// A first-in, first-out queue of at most `N` items, which never allocates.
pub(super) struct Fifo<T: Copy, const N: usize> {
    items: [T; N],
    first: usize,
    len: usize,
}

impl<T: Copy, const N: usize> Fifo<T, N> {
    /// An empty queue; `empty` fills the unused slots.
    pub(super) const fn new(empty: T) -> Self {
        Self {
            items: [empty; N],
            first: 0,
            len: 0,
        }
    }

    /// Puts `item` last; false if the queue is full.
    pub(super) fn push(&mut self, item: T) -> bool {
        if self.len == N {
            return false;
        }
        self.items[(self.first + self.len) % N] = item;
        self.len += 1;
        true
    }

    /// Takes the first item.
    pub(super) fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let item = self.items[self.first];
        self.first = (self.first + 1) % N;
        self.len -= 1;
        Some(item)
    }

    /// How many items are queued.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Forgets every item.
    pub(super) fn clear(&mut self) {
        self.first = 0;
        self.len = 0;
    }
}

/// A fast call taken where the machine's mutex may not be taken, waiting for the machine.
#[derive(Clone, Copy)]
pub(super) struct Deferred {
    pub(super) code: u16,
    pub(super) input1: u64,
    pub(super) input2: u64,
    /// The call was made already (under the SynIC's lock): the machine only counts it.
    pub(super) made: bool,
}

/// Whether the CPU runs in hard interrupt context.
pub(super) fn in_hardirq() -> bool {
    // SAFETY: Reads the preemption count; callable in any context.
    unsafe { ffi::mshv_shim_in_hardirq() }
}

/// The SynIC's state.
pub(super) struct Synic {
    /// Fast calls waiting for the machine, oldest first.
    deferred: Fifo<Deferred, DEFERRED>,
    /// The hosted partition's SynIC.
    pub(super) hosted: HostedSynic,
}

impl Synic {
    const fn new() -> Self {
        const NO_CALL: Deferred = Deferred {
            code: 0,
            input1: 0,
            input2: 0,
            made: false,
        };
        Self {
            deferred: Fifo::new(NO_CALL),
            hosted: HostedSynic::new(),
        }
    }

    /// Has the machine count a fast call made outside it (without room, it goes uncounted).
    pub(super) fn count_later(&mut self, code: u16, input1: u64, input2: u64) {
        let _ = self.deferred.push(Deferred {
            code,
            input1,
            input2,
            made: true,
        });
    }
}

/// The SynIC's state, reached only through [`lock`].
struct State(UnsafeCell<Synic>);

// SAFETY: `lock` hands the state out only under the shim's raw spinlock: one CPU uses it at a
// time. What it holds may be used from any CPU.
unsafe impl Sync for State {}

static SYNIC: State = State(UnsafeCell::new(Synic::new()));

/// The SynIC's state, its lock held (interrupts off on this CPU) until dropped.
pub(super) struct Guard {
    flags: c_ulong,
    /// Released on the CPU that took it.
    _not_send: PhantomData<*mut ()>,
}

/// Takes the SynIC's lock, a raw spinlock: callable in any context, but never with the lock
/// held already (nor, so, from within the root's handler while a delivery holds it: it does
/// not).
pub(super) fn lock() -> Guard {
    // SAFETY: Takes the lock; the guard releases it with the flags returned.
    let flags = unsafe { ffi::mshv_shim_sim_synic_lock() };
    Guard {
        flags,
        _not_send: PhantomData,
    }
}

impl Deref for Guard {
    type Target = Synic;

    fn deref(&self) -> &Synic {
        // SAFETY: The lock is held while the guard lives: nothing else uses the state.
        unsafe { &*SYNIC.0.get() }
    }
}

impl DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut Synic {
        // SAFETY: As for `deref`; the guard is borrowed mutably, so this is the only reference.
        unsafe { &mut *SYNIC.0.get() }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: The guard took the lock, on this CPU (it is not `Send`), with these flags.
        unsafe { ffi::mshv_shim_sim_synic_unlock(self.flags) };
    }
}

/// Forgets the fast calls waiting for the machine (power off). Process context.
pub(super) fn power_off() {
    lock().deferred.clear();
}

/// Takes fast call `code` made in interrupt context, where the machine's mutex may not be
/// taken: it waits here, and the machine makes it before anything else the next time it runs.
/// Answered at once: success, or `INSUFFICIENT_BUFFERS` when too many calls wait.
pub(super) fn defer(code: u16, input1: u64, input2: u64) -> HvResult {
    let call = Deferred {
        code,
        input1,
        input2,
        made: false,
    };
    let status = if lock().deferred.push(call) {
        HvStatus::SUCCESS
    } else {
        HvStatus::INSUFFICIENT_BUFFERS
    };
    HvResult::new(status, 0)
}

/// The oldest fast call waiting for the machine.
pub(super) fn take_deferred() -> Option<Deferred> {
    lock().deferred.pop()
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kernel::prelude::kunit_tests(mshv_rs_sim_sint)]
mod tests {
    use super::*;
    use crate::irq_work::IrqWork;
    use kernel::{
        ffi::c_void,
        prelude::*,
        processor::cpu_relax,
        sync::atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
    };

    #[test]
    fn a_fifo_keeps_its_order_and_its_bound() {
        let mut fifo = Fifo::<u32, 3>::new(0);
        assert!(fifo.push(1));
        assert!(fifo.push(2));
        assert!(fifo.push(3));
        assert!(!fifo.push(4));
        assert_eq!(fifo.pop(), Some(1));
        assert!(fifo.push(4));
        assert_eq!(fifo.len(), 3);
        assert_eq!(fifo.pop(), Some(2));
        assert_eq!(fifo.pop(), Some(3));
        assert_eq!(fifo.pop(), Some(4));
        assert_eq!(fifo.pop(), None);
    }

    /// What a test's interrupt saw: its runs, and those in hard interrupt context.
    struct Seen {
        runs: Atomic<u32>,
        hard: Atomic<u32>,
    }

    extern "C" fn note(data: *mut c_void) {
        // SAFETY: `data` is the test's `Seen`, which outlives the work.
        let seen = unsafe { &*data.cast::<Seen>() };
        if in_hardirq() {
            seen.hard.fetch_add(1u32, Relaxed);
        }
        seen.runs.fetch_add(1u32, Release);
    }

    #[test]
    fn the_sints_interrupt_runs_in_hard_interrupt_context() -> Result {
        let seen = KBox::new(
            Seen {
                runs: Atomic::new(0),
                hard: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        let data = core::ptr::from_ref::<Seen>(&seen)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: `note` takes a `Seen`, as `data` is; `seen` outlives `work`, dropped first.
        let work = unsafe { IrqWork::new(note, data, HARD_IRQ_WORK)? };
        assert!(!in_hardirq());
        assert!(work.queue());
        while seen.runs.load(Acquire) == 0 {
            cpu_relax();
        }
        drop(work);
        assert_eq!(seen.runs.load(Relaxed), 1);
        assert_eq!(seen.hard.load(Relaxed), 1);
        Ok(())
    }
}
