// SPDX-License-Identifier: GPL-2.0

//! A simulated Microsoft hypervisor, under the same [`Hypervisor`] interface as the real one.
//!
//! It takes each call as the hypercall instruction would hand it over (a control word and the
//! input and output pages, or register values) and decodes the TLFS layouts of
//! [`crate::hv::abi`]; it knows nothing else of the driver. Its state ([`machine`]) is real:
//! partitions with the exact creation input, memory pools fed by deposits and drained by
//! withdrawals (a call answers `INSUFFICIENT_*MEMORY` until enough was deposited), VPs with
//! registers and state pages taken from the pool, partition properties.
//!
//! Tests read and steer it through debugfs ([`debugfs`]).

use kernel::{
    prelude::*,
    sync::global_lock, //
};

use super::{
    synic::{
        take_port,
        Take, //
    },
    HvPage,
    Hypervisor,
    MessageHandler, //
};
use crate::hv::{
    abi::{
        code,
        Message, //
    },
    control::Control,
    status::HvResult, //
};

mod debugfs;
mod interrupt;
mod machine;
mod port;
mod property;
mod slat;
mod vp;

pub(crate) use debugfs::Debugfs;
use machine::Machine;

/// How the machine allocates its bookkeeping: without sleeping or reclaim. Its lock is taken
/// under the root's locks, some of which the root also takes in MMU-notifier invalidations,
/// where reclaim must not be waited for; and a real hypervisor takes nothing from the kernel.
pub(super) const ALLOC: kernel::alloc::Flags = kernel::alloc::flags::GFP_NOWAIT;

global_lock! {
    // SAFETY: `start` initialises the lock before the simulator is handed out, and the module
    // calls it once.
    unsafe(uninit) static MACHINE: Mutex<Machine> = Machine::new();
}

/// The simulated hypervisor.
pub(crate) struct Simulator;

/// The one instance.
pub(crate) static SIMULATOR: Simulator = Simulator;

/// Powers the simulated machine on: must run once, before the first call.
pub(crate) fn start() -> Result<Pin<KBox<Debugfs>>> {
    // SAFETY: Called once, from module init, before any other use of `MACHINE`.
    unsafe { MACHINE.init() };
    KBox::pin_init(debugfs::Debugfs::new(), GFP_KERNEL)
}

/// Powers the machine off: every page deposited and not withdrawn goes back to the kernel.
pub(crate) fn stop() {
    MACHINE.lock().power_off();
}

impl Hypervisor for Simulator {
    fn name(&self) -> &'static str {
        "simulated Microsoft hypervisor"
    }

    fn hypercall(&self, control: Control, input: &HvPage, output: &mut HvPage) -> HvResult {
        with_machine(|m| m.hypercall(control, input, output))
    }

    fn fast_hypercall(&self, code: u16, input1: u64, input2: u64) -> HvResult {
        with_machine(|m| m.fast_hypercall(code, input1, input2))
    }

    fn set_message_handler(&self, handler: Option<MessageHandler>) -> Result {
        MACHINE.lock().handler = handler;
        Ok(())
    }

    fn take_queued_port(&self, sint: u32) -> Option<u32> {
        loop {
            let take = {
                let mut machine = MACHINE.lock();
                let (ring, tail) = machine.event_rings.ring(sint as usize)?;
                // SAFETY: The ring is the machine's, which the lock keeps still; its consumer
                // index is `tail`, used by nothing else.
                unsafe { take_port(ring, tail) }
            };
            match take {
                Take::Port(port) => return Some(port),
                Take::Empty => return None,
                Take::NotifyEmpty => {
                    // Nothing to do if it fails: the ring then stays as it is.
                    let _ = self.fast_hypercall(code::NOTIFY_PORT_RING_EMPTY, sint.into(), 0);
                }
            }
        }
    }
}

/// Runs `f` on the machine, then delivers the messages it sent the root, outside the lock (as
/// an interrupt would arrive after the hypercall instruction).
fn with_machine<R>(f: impl FnOnce(&mut Machine) -> R) -> R {
    let (result, messages, handler) = {
        let mut machine = MACHINE.lock();
        let result = f(&mut machine);
        (
            result,
            core::mem::take(&mut machine.outbox),
            machine.handler,
        )
    };
    deliver(messages, handler);
    result
}

/// Delivers the messages a change of state outside a hypercall sent (debugfs injection).
fn deliver(messages: KVec<Message>, handler: Option<MessageHandler>) {
    if let Some(handler) = handler {
        for message in messages.iter() {
            handler(message);
        }
    }
}
