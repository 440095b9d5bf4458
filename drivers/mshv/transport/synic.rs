// SPDX-License-Identifier: GPL-2.0

//! The reader's side of the SynIC's pages: a CPU's message page ([`MessagePage`]), and an event
//! ring ([`take_port`]).
//!
//! A message page holds a slot per SINT. The hypervisor writes a message into a free slot, its
//! type last, and interrupts the CPU; the reader takes the message, frees the slot (its type
//! cleared) and, if the hypervisor marked another one pending for it, signals the end of
//! message (`EOM`) so that the next one comes.
//!
//! An event ring holds the ports the hypervisor signalled on one SINT (for the root, doorbells
//! on [`HV_SYNIC_DOORBELL_SINT_INDEX`]), in the order it queued them.
//!
//! The hypervisor writes a port id into the first free slot and, unless the ring's signal is
//! masked, masks it and sends the SINT's message. The consumer takes slots from its own tail
//! and clears them; a ring it finds empty is unmasked (and checked once more, in case a port
//! came meanwhile); a ring the hypervisor marked full is handed back with
//! `HVCALL_NOTIFY_PORT_RING_EMPTY`, which lets the ports that did not fit in.
//!
//! [`HV_SYNIC_DOORBELL_SINT_INDEX`]: crate::hv::abi::HV_SYNIC_DOORBELL_SINT_INDEX

use core::{
    marker::PhantomData,
    ptr::{
        addr_of,
        addr_of_mut,
        read_volatile,
        write_volatile,
        NonNull, //
    },
    sync::atomic::{
        fence,
        AtomicU32,
        AtomicU8,
        Ordering, //
    },
};

// The KUnit suite's attribute.
#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
use kernel::prelude::*;

use crate::{
    hv::abi::{
        EventRing,
        Message,
        SynicRegister,
        HV_SYNIC_EVENT_RING_MESSAGE_COUNT,
        HV_SYNIC_SINT_COUNT, //
    },
    transport::hv,
};

/// Bytes of a message slot (and of a SINT's event flags, and of an event ring).
pub(crate) const SLOT_BYTES: usize = 256;

/// A CPU's SynIC message page, as its reader sees it, for `'a`.
///
/// # Invariants
///
/// `page` is the kernel address of a SynIC message page, which stays mapped for `'a`.
pub(crate) struct MessagePage<'a> {
    page: NonNull<u8>,
    _mapped: PhantomData<&'a u8>,
}

impl MessagePage<'_> {
    /// The message page at `page`.
    ///
    /// # Safety
    ///
    /// `page` is the kernel address of a SynIC message page, mapped for the lifetime the
    /// caller gives the value.
    pub(crate) unsafe fn new(page: NonNull<u8>) -> Self {
        // INVARIANT: As the caller promises.
        Self {
            page,
            _mapped: PhantomData,
        }
    }

    /// SINT `sint`'s slot (`sint` is taken modulo 16).
    fn slot(&self, sint: u32) -> *mut u8 {
        let sint = sint as usize % HV_SYNIC_SINT_COUNT;
        // SAFETY: The 16 slots fill the page (the invariants).
        unsafe { self.page.as_ptr().add(sint * SLOT_BYTES) }
    }

    /// SINT `sint`'s slot's type.
    fn slot_type(&self, sint: u32) -> &AtomicU32 {
        // SAFETY: The slot's first `u32`, aligned, within the page (the invariants); the
        // hypervisor and this module access it atomically only.
        unsafe { AtomicU32::from_ptr(self.slot(sint).cast()) }
    }

    /// Whether SINT `sint`'s slot holds a message.
    pub(crate) fn has_message(&self, sint: u32) -> bool {
        self.slot_type(sint).load(Ordering::Acquire) != 0
    }

    /// A copy of the message in SINT `sint`'s slot, if any; the slot stays taken until
    /// [`Self::end`].
    pub(crate) fn peek(&self, sint: u32) -> Option<Message> {
        if !self.has_message(sint) {
            return None;
        }
        // SAFETY: The slot holds a full message the hypervisor wrote (its type last) and leaves
        // alone until its type is cleared; `Message` is plain bytes.
        Some(unsafe { core::ptr::read_unaligned(self.slot(sint).cast::<Message>()) })
    }

    /// Frees SINT `sint`'s slot and, if another message is pending for it, signals the end
    /// of message: the hypervisor may deliver the next. On the page's CPU.
    pub(crate) fn end(&self, sint: u32) {
        self.slot_type(sint).store(0, Ordering::SeqCst);
        // SAFETY: The slot's flags byte (`message_flags`, offset 5), bit 0 `msg_pending`,
        // within the page.
        let flags = unsafe { AtomicU8::from_ptr(self.slot(sint).add(5)) };
        if flags.load(Ordering::SeqCst) & 1 != 0 {
            // SAFETY: EOM names no page.
            unsafe { hv().write_synic(SynicRegister::Eom, 0) };
        }
    }

    /// Takes the message in SINT `sint`'s slot, if any, and ends it. On the page's CPU.
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn take(&self, sint: u32) -> Option<Message> {
        let message = self.peek(sint)?;
        self.end(sint);
        Some(message)
    }
}

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
    const N: usize = HV_SYNIC_EVENT_RING_MESSAGE_COUNT;
    // SAFETY: The function's contract makes the ring valid, and aligned as `EventRing`'s
    // fields are (no reference is taken: the hypervisor writes the ring).
    let (data, masked, full) = unsafe {
        (
            addr_of_mut!((*ring).data).cast::<u32>(),
            addr_of_mut!((*ring).signal_masked),
            addr_of_mut!((*ring).ring_full),
        )
    };
    // SAFETY: `i % N` is in bounds of the ring's slots.
    let slot = |i: usize| unsafe { data.add(i % N) };
    let t = usize::from(*tail) % N;
    // SAFETY: Every pointer points into the ring, valid as the contract says; the hypervisor
    // may write the slots at any time, so every access is volatile.
    let port = unsafe {
        let mut port = read_volatile(slot(t));
        if port == 0 {
            if read_volatile(full) != 0 {
                write_volatile(full, 0);
                return Take::NotifyEmpty;
            }
            write_volatile(masked, 0);
            // The unmask must be seen before the last look at the slot.
            fence(Ordering::SeqCst);
            port = read_volatile(slot(t));
            if port == 0 {
                return Take::Empty;
            }
            write_volatile(masked, 1);
        }
        write_volatile(slot(t), 0);
        port
    };
    *tail = ((t + 1) % N) as u8;
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
