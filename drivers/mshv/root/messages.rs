// SPDX-License-Identifier: GPL-2.0

//! The messages the hypervisor sends the root, and who takes each:
//!
//! - an opaque intercept: a VP stopped ([`kick`]);
//! - a scheduler's signal: VPs the root scheduler found blocked may be dispatched again
//!   ([`kick`]);
//! - a SINT intercept for the doorbell SINT: guest writes rang doorbells, whose ports the
//!   SynIC's event ring holds ([`synic`] takes them, [`ioeventfd`] signals them);
//! - an APIC EOI: a guest ended a level-triggered interrupt ([`irqfd`]'s resamplers);
//! - an asynchronous call's completion ([`async_call`]).
//!
//! They arrive in SINT0's slot of the message page of whichever CPU the hypervisor chose, and
//! its SynIC interrupt runs [`synic`]'s handler there, in hard interrupt context, whatever that
//! CPU was doing: on a real host from the SINT's vector, under the simulated hypervisor from an
//! irq_work queued on that CPU (never in the thread whose hypercall made the message; its
//! debugfs `deliveries` counts the interrupts in hard interrupt context). So every taker only
//! takes spinlocks, allocates nothing that could wait, and issues only fast hypercalls (the
//! simulator takes those without its mutex). Lockdep sees that context as it is, but for one
//! thing: the simulator's irq_work for the root is not `IRQ_WORK_INIT_HARD`, so the
//! `spinlock_t`s taken here are not reported as they would be in a raw-spinlock-only context
//! (a real host's vector, or PREEMPT_RT).

use kernel::sync::atomic::{
    Atomic,
    Relaxed, //
};

use kernel::prelude::*;

use super::{
    async_call,
    ioeventfd,
    irqfd,
    kick,
    synic::Synic, //
};
use crate::hv::abi::{
    message_type,
    Message, //
};

/// Whether the hypervisor delivers messages: without them no VP can be run.
static ENABLED: Atomic<bool> = Atomic::new(false);

/// Messages taken while this lives (the module's lifetime).
pub(crate) struct Messages {
    /// The SynIC, set up on every CPU, if it could be.
    synic: Option<Synic>,
}

impl Messages {
    /// Starts taking the hypervisor's messages. Must run once, before any partition exists.
    /// Where the SynIC cannot be set up, no VP can be run (`MSHV_RUN_VP` says `EOPNOTSUPP`);
    /// everything else works.
    pub(crate) fn start() -> Self {
        kick::init();
        async_call::init();
        ioeventfd::init();
        irqfd::init();
        let synic = Synic::new()
            .inspect_err(|e| pr_warn!("no SynIC ({:?}): MSHV_RUN_VP is not supported\n", e))
            .ok();
        ENABLED.store(synic.is_some(), Relaxed);
        Self { synic }
    }
}

impl Drop for Messages {
    fn drop(&mut self) {
        ENABLED.store(false, Relaxed);
        // No message is taken once the SynIC is down.
        drop(self.synic.take());
        kick::clear();
        async_call::clear();
        ioeventfd::clear();
        irqfd::clear();
    }
}

/// Whether VPs can be run.
pub(crate) fn enabled() -> bool {
    ENABLED.load(Relaxed)
}

/// Takes a message from the hypervisor (but doorbells, which [`synic`] takes). Others are not
/// asked for by anything the driver does, and are dropped.
pub(super) fn on_message(message: &Message) {
    match message.message_type {
        message_type::OPAQUE_INTERCEPT => kick::on_intercept(message),
        message_type::SCHEDULER_VP_SIGNAL_BITSET | message_type::SCHEDULER_VP_SIGNAL_PAIR => {
            kick::on_scheduler_signal(message)
        }
        message_type::X64_APIC_EOI => irqfd::on_eoi(message),
        message_type::ASYNC_CALL_COMPLETION => async_call::on_completion(message),
        _ => {}
    }
}

/// Signals doorbell port `port`'s eventfd.
pub(super) fn on_doorbell(port: u32) {
    ioeventfd::on_port(port);
}
