// SPDX-License-Identifier: GPL-2.0

//! The consumer side of a SynIC event ring: the ports the hypervisor signalled on one SINT
//! (for the root, doorbells on [`HV_SYNIC_DOORBELL_SINT_INDEX`]), in the order it queued them.
//!
//! The hypervisor writes a port id into the first free slot and, unless the ring's signal is
//! masked, masks it and sends the SINT's message. The consumer takes slots from its own tail
//! and clears them; a ring it finds empty is unmasked (and checked once more, in case a port
//! came meanwhile); a ring the hypervisor marked full is handed back with
//! `HVCALL_NOTIFY_PORT_RING_EMPTY`, which lets the ports that did not fit in.
//!
//! [`HV_SYNIC_DOORBELL_SINT_INDEX`]: crate::hv::abi::HV_SYNIC_DOORBELL_SINT_INDEX

// Only the simulated hypervisor delivers doorbells until the real transport sets up the root's
// SynIC (its event ring pages); the consumer is shared by both.
#![cfg_attr(not(CONFIG_MSHV_RUST_SIMULATOR), allow(dead_code))]

use core::{
    ptr::{
        addr_of,
        addr_of_mut,
        read_volatile,
        write_volatile, //
    },
    sync::atomic::{
        fence,
        Ordering, //
    },
};

// The KUnit suite's attribute.
#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
use kernel::prelude::*;

use crate::hv::abi::{
    EventRing,
    HV_SYNIC_EVENT_RING_MESSAGE_COUNT, //
};

/// What the consumer found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Take {
    /// The next port.
    Port(u32),
    /// Nothing queued; the signal is unmasked again.
    Empty,
    /// Nothing queued, but ports were left out: the caller must issue
    /// `HVCALL_NOTIFY_PORT_RING_EMPTY` for the SINT, then take again.
    NotifyEmpty,
}

/// Takes the next port from `ring`, whose consumer index is `tail`.
///
/// # Safety
///
/// `ring` points to an event ring the hypervisor writes (a SynIC event ring page, or the
/// simulator's copy of one), valid for reads and writes (and so aligned, as `EventRing` is);
/// only this consumer, with this `tail`, takes from it.
pub(crate) unsafe fn take_port(ring: *mut EventRing, tail: &mut u8) -> Take {
    let t = usize::from(*tail) % HV_SYNIC_EVENT_RING_MESSAGE_COUNT;
    // SAFETY: `t` is in bounds; the function's contract makes the slot valid, and aligned as
    // `EventRing`'s fields are (no reference is taken: the hypervisor writes the ring).
    let slot = unsafe { addr_of_mut!((*ring).data).cast::<u32>().add(t) };
    // SAFETY: As above, for the flags (bytes).
    let (masked, full) = unsafe {
        (
            addr_of_mut!((*ring).signal_masked),
            addr_of_mut!((*ring).ring_full),
        )
    };
    // SAFETY: All three point into the ring, valid as the contract says; the hypervisor may
    // write the slot at any time, so every access is volatile.
    let port = unsafe {
        let mut port = read_volatile(slot);
        if port == 0 {
            if read_volatile(full) != 0 {
                write_volatile(full, 0);
                return Take::NotifyEmpty;
            }
            write_volatile(masked, 0);
            // The unmask must be seen before the last look at the slot.
            fence(Ordering::SeqCst);
            port = read_volatile(slot);
            if port == 0 {
                return Take::Empty;
            }
            write_volatile(masked, 1);
        }
        write_volatile(slot, 0);
        port
    };
    *tail = ((t + 1) % HV_SYNIC_EVENT_RING_MESSAGE_COUNT) as u8;
    Take::Port(port)
}

/// Whether `ring`'s consumer has masked its signal.
///
/// # Safety
///
/// As for [`take_port`].
// Read by the tests of both sides of the ring.
#[cfg_attr(not(CONFIG_MSHV_RUST_KUNIT_TEST), allow(dead_code))]
pub(crate) unsafe fn masked(ring: *const EventRing) -> bool {
    // SAFETY: As the function's contract says.
    unsafe { read_volatile(addr_of!((*ring).signal_masked)) != 0 }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_synic)]
mod tests {
    use super::*;
    use kernel::transmute::FromBytes;

    fn ring() -> KBox<EventRing> {
        KBox::new(
            EventRing::from_bytes(&[0u8; 256]).copied().unwrap(),
            GFP_KERNEL,
        )
        .unwrap()
    }

    #[test]
    fn takes_in_order_then_unmasks() {
        let mut r = ring();
        r.signal_masked = 1;
        let mut data = r.data;
        data[0] = 7;
        data[1] = 9;
        r.data = data;
        let mut tail = 0;
        let p: *mut EventRing = &raw mut *r;
        // SAFETY: `r` is a ring only this test uses.
        unsafe {
            assert_eq!(take_port(p, &mut tail), Take::Port(7));
            assert_eq!(take_port(p, &mut tail), Take::Port(9));
            assert!(masked(p));
            assert_eq!(take_port(p, &mut tail), Take::Empty);
            assert!(!masked(p));
        }
        assert_eq!(tail, 2);
        assert_eq!({ r.data }, [0; HV_SYNIC_EVENT_RING_MESSAGE_COUNT]);
    }

    #[test]
    fn a_full_ring_asks_to_be_notified_and_wraps() {
        let mut r = ring();
        r.ring_full = 1;
        let mut data = r.data;
        data[HV_SYNIC_EVENT_RING_MESSAGE_COUNT - 1] = 3;
        r.data = data;
        let mut tail = (HV_SYNIC_EVENT_RING_MESSAGE_COUNT - 1) as u8;
        let p: *mut EventRing = &raw mut *r;
        // SAFETY: `r` is a ring only this test uses.
        unsafe {
            assert_eq!(take_port(p, &mut tail), Take::Port(3));
            assert_eq!(tail, 0);
            assert_eq!(take_port(p, &mut tail), Take::NotifyEmpty);
            assert_eq!(take_port(p, &mut tail), Take::Empty);
        }
        assert_eq!({ r.ring_full }, 0);
    }
}
