// SPDX-License-Identifier: GPL-2.0

//! The messages the hypervisor sends the root, and who takes each:
//!
//! - an opaque intercept: a VP stopped ([`kick`]);
//! - a SINT intercept for the doorbell SINT: guest writes rang doorbells ([`ioeventfd`]);
//! - an APIC EOI: a guest ended a level-triggered interrupt ([`irqfd`]'s resamplers).
//!
//! They may arrive in interrupt context: every taker only takes spinlocks.

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
