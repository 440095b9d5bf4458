// SPDX-License-Identifier: GPL-2.0

//! The simulated hypervisor's SynIC, as the root sees it: the messages the hypervisor sends the
//! root, their delivery, and the root's event ring page.
//!
//! A real hypervisor writes a message into a CPU's SynIC message page and raises the SINT's
//! interrupt there: the root's handler runs in hard interrupt context, whatever that CPU was
//! doing. The simulator does the same. What the machine sends (under its mutex, in the caller's
//! thread) goes into a queue here, and an irq_work (the SINT's interrupt, raised on the sending
//! CPU) hands the queue to the root's handler, in the order it was sent, one message at a time,
//! in hard interrupt context. Whatever the handler reaches in the simulator (this queue, the
//! event rings, `HVCALL_NOTIFY_PORT_RING_EMPTY`) is under this module's raw spinlock, never the
//! machine's mutex; another fast call it makes waits here for the machine (see [`defer`]).
//!
//! The locks, outermost first: the machine's mutex, then the SynIC's raw spinlock (a sender
//! queues under both); the root's handler runs with neither held.

use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    ops::{
        Deref,
        DerefMut, //
    },
};

use kernel::{
    ffi::{
        c_ulong,
        c_void, //
    },
    prelude::*,
    processor::cpu_relax, //
};

use crate::irq_work::IrqWork;

use super::{
    port::EventRings,
    vtl2_synic::Vtl2Synic, //
};
use crate::{
    ffi,
    hv::{
        abi::Message,
        status::{
            HvResult,
            HvStatus, //
        },
    },
    transport::MessageHandler,
};

/// Whether the SINT's interrupt is an `IRQ_WORK_INIT_HARD` irq_work, run in hard interrupt
/// context even under PREEMPT_RT. Either way it runs in hard interrupt context on other
/// kernels, where a sleeping lock in the handler is reported; with it, lockdep also treats the
/// handler as a raw-spinlock-only context (as a real host's SINT vector is), and reports any
/// `spinlock_t` the handler takes (`Invalid wait context`, `PROVE_RAW_LOCK_NESTING`). The
/// root's handler takes such locks (its kick, port and resampler tables, wake-ups, eventfd
/// signals), so this stays off until they are raw.
pub(super) const HARD_IRQ_WORK: bool = false;

/// Messages sent and not yet delivered, at most: a sender that finds no room waits for the
/// delivery to make some, as a hypervisor holds a message until the SINT's slot is free.
const MESSAGES: usize = 64;
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
    /// Sent and not yet delivered, oldest first.
    messages: Fifo<Message, MESSAGES>,
    /// Messages sent since power on, and those of them delivered (or dropped): a sender that
    /// needs its messages delivered waits for the second to reach the first.
    sent: u64,
    finished: u64,
    /// Where the root takes its messages.
    handler: Option<MessageHandler>,
    /// A CPU is delivering: another one leaves the queue to it, which keeps the order.
    delivering: bool,
    /// The SINT's interrupt.
    work: Option<IrqWork>,
    /// The root's event ring page.
    pub(super) event_rings: EventRings,
    /// Fast calls waiting for the machine, oldest first.
    deferred: Fifo<Deferred, DEFERRED>,
    /// Messages handed to the root's handler, and those of them in hard interrupt context.
    delivered: u64,
    delivered_in_hardirq: u64,
    /// The hosted VTL2 partition's SynIC.
    pub(super) vtl2: Vtl2Synic,
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
            messages: Fifo::new(Message::EMPTY),
            sent: 0,
            finished: 0,
            handler: None,
            delivering: false,
            work: None,
            event_rings: EventRings::new(),
            deferred: Fifo::new(NO_CALL),
            delivered: 0,
            delivered_in_hardirq: 0,
            vtl2: Vtl2Synic::new(),
        }
    }

    /// Drops the messages not delivered: nothing takes them.
    fn drop_messages(&mut self) {
        self.finished += self.messages.len() as u64;
        self.messages.clear();
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

/// Powers the SynIC on: its interrupt exists from now on.
pub(super) fn start() -> Result {
    // SAFETY: `deliver` ignores its argument and may run in any interrupt context.
    let work = unsafe { IrqWork::new(deliver, core::ptr::null_mut(), HARD_IRQ_WORK)? };
    // An earlier interrupt (there is none) would be freed here, outside the lock.
    let _earlier = lock().work.replace(work);
    Ok(())
}

/// Powers the SynIC off: what was not delivered is dropped, the event rings emptied, and the
/// interrupt freed once a run in progress has ended. Process context.
pub(super) fn power_off() {
    let work = {
        let mut synic = lock();
        synic.handler = None;
        synic.drop_messages();
        synic.event_rings.clear();
        synic.deferred.clear();
        synic.work.take()
    };
    // Outside the lock: freeing waits for the interrupt's run in progress, if any.
    drop(work);
}

/// Has the root's messages passed to `handler`, or dropped (`None`). Once this returns with
/// `None`, the old handler runs no more. Process context.
pub(super) fn set_handler(handler: Option<MessageHandler>) {
    {
        let mut synic = lock();
        synic.handler = handler;
        if handler.is_none() {
            synic.drop_messages();
        }
    }
    if handler.is_none() {
        // A delivery may be in the old handler: it takes no other message after it.
        while lock().delivering {
            cpu_relax();
        }
    }
}

/// Sends the root `messages`, in order, after every message sent before; waits for room when
/// the queue is full (process context). Returns the sequence number of the last one, for
/// [`wait_delivered`].
pub(super) fn send(messages: &[Message]) -> u64 {
    let mut rest = messages;
    loop {
        let mut synic = lock();
        if synic.handler.is_none() {
            // Nothing takes them.
            synic.sent += rest.len() as u64;
            synic.finished += rest.len() as u64;
            return synic.sent;
        }
        let mut queued = false;
        while let Some((first, others)) = rest.split_first() {
            if !synic.messages.push(*first) {
                break;
            }
            synic.sent += 1;
            rest = others;
            queued = true;
        }
        if queued {
            if let Some(work) = &synic.work {
                // Already pending, its run (still to come) takes these too.
                work.queue();
            }
        }
        if rest.is_empty() {
            return synic.sent;
        }
        // The delivery makes room; it needs no lock a sender holds but this one.
        drop(synic);
        cpu_relax();
    }
}

/// Waits until the root's handler has returned from every message up to sequence number
/// `sent` (or they were dropped). Process context, with interrupts on: on this CPU the
/// interrupt may have to run.
pub(super) fn wait_delivered(sent: u64) {
    while lock().finished < sent {
        cpu_relax();
    }
}

/// The SINT's interrupt (the irq_work's function): hands the queued messages to the root's
/// handler, oldest first, with no lock held.
extern "C" fn deliver(_data: *mut c_void) {
    let hard = in_hardirq();
    let mut synic = lock();
    // The CPU delivering already takes the messages this run was raised for, after its own.
    if synic.delivering {
        return;
    }
    synic.delivering = true;
    loop {
        let Some(handler) = synic.handler else {
            synic.drop_messages();
            break;
        };
        let Some(message) = synic.messages.pop() else {
            break;
        };
        synic.delivered += 1;
        if hard {
            synic.delivered_in_hardirq += 1;
        }
        // The handler takes the lock itself (for the event rings, a fast call).
        drop(synic);
        handler(&message);
        synic = lock();
        synic.finished += 1;
    }
    synic.delivering = false;
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

/// Messages handed to the root's handler since power on, and those of them in hard interrupt
/// context.
pub(super) fn deliveries() -> (u64, u64) {
    let synic = lock();
    (synic.delivered, synic.delivered_in_hardirq)
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_sim_sint)]
mod tests {
    use super::*;
    use kernel::sync::atomic::{
        Acquire,
        Atomic,
        Relaxed,
        Release, //
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
