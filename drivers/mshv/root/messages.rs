// SPDX-License-Identifier: GPL-2.0

//! The messages the hypervisor sends the root, and who takes each:
//!
//! - an opaque intercept: a VP stopped ([`kick`]);
//! - a SINT intercept for the doorbell SINT: guest writes rang doorbells ([`ioeventfd`]);
//! - an APIC EOI: a guest ended a level-triggered interrupt ([`irqfd`]'s resamplers).
//!
//! They arrive in hard interrupt context, on whichever CPU the hypervisor chose, whatever it
//! was doing: on a real host from the SINT's interrupt vector, under the simulated hypervisor
//! from its SINT's irq_work (never in the thread whose hypercall made the message; its
//! debugfs `deliveries` counts those in hard interrupt context). So every taker only takes
//! spinlocks, allocates nothing that could wait, and issues only fast hypercalls (the
//! simulator takes those without its mutex). Lockdep sees that context as it is, but for one
//! thing: the simulator's irq_work is not `IRQ_WORK_INIT_HARD`, so the `spinlock_t`s taken here
//! are not reported as they would be in a raw-spinlock-only context (a real host's vector, or
//! PREEMPT_RT).

use kernel::sync::atomic::{
    Atomic,
    Relaxed, //
};

use super::{
    ioeventfd,
    irqfd,
    kick, //
};
use crate::{
    hv::abi::{
        message_type,
        Message, //
    },
    transport::hv,
};

/// Whether the hypervisor delivers messages: without them no VP can be run.
static ENABLED: Atomic<bool> = Atomic::new(false);

/// Messages taken while this lives (the module's lifetime).
pub(crate) struct Messages;

impl Messages {
    /// Starts taking the hypervisor's messages. Must run once, before any partition exists.
    pub(crate) fn start() -> Self {
        kick::init();
        ioeventfd::init();
        irqfd::init();
        ENABLED.store(hv().set_message_handler(Some(on_message)).is_ok(), Relaxed);
        Self
    }
}

impl Drop for Messages {
    fn drop(&mut self) {
        if ENABLED.load(Relaxed) {
            let _ = hv().set_message_handler(None);
        }
        kick::clear();
        ioeventfd::clear();
        irqfd::clear();
    }
}

/// Whether VPs can be run.
pub(crate) fn enabled() -> bool {
    ENABLED.load(Relaxed)
}

/// Takes a message from the hypervisor. Others (a scheduler's, an asynchronous call's) are not
/// asked for by anything the driver does, and are dropped.
fn on_message(message: &Message) {
    match message.message_type {
        message_type::OPAQUE_INTERCEPT => kick::on_intercept(message),
        message_type::SYNIC_SINT_INTERCEPT => ioeventfd::on_sint(message),
        message_type::X64_APIC_EOI => irqfd::on_eoi(message),
        _ => {}
    }
}
