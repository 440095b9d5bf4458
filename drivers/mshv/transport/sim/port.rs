// SPDX-License-Identifier: GPL-2.0

//! The root's ports and the doorbells partitions connect to them, and the SynIC event rings
//! through which a rung doorbell reaches the root.
//!
//! A guest's write that matches a connected doorbell (address, size, value) does not stop the
//! VP: the hypervisor queues the port on the doorbell SINT's event ring and, if that ring's
//! signal is not masked, masks it and sends the root a `HVMSG_SYNIC_SINT_INTERCEPT` naming the
//! SINT. A port that finds the ring full waits, and the ring is marked full, until the root says
//! it has room (`HVCALL_NOTIFY_PORT_RING_EMPTY`).
//!
//! The ports are the machine's; the event ring page is the SynIC's ([`sint`]): the root's
//! message handler takes from it in interrupt context, under the SynIC's lock alone.

use super::ALLOC;
#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
use kernel::prelude::*;

use super::machine::{
    read,
    Machine,
    RepResult, //
};
use super::sint::{
    self,
    Fifo, //
};
use crate::{
    hv::{
        abi::{
            code,
            message_type,
            ConnectPortIn,
            CreatePortIn,
            EventRing,
            Message,
            HV_PARTITION_ID_SELF,
            HV_PORT_TYPE_DOORBELL,
            HV_SYNIC_DOORBELL_SINT_INDEX,
            HV_SYNIC_EVENT_RING_MESSAGE_COUNT,
            HV_SYNIC_SINT_COUNT, //
        },
        status::{
            HvResult,
            HvStatus, //
        },
    },
    transport::HvPage,
};

/// `HV_DOORBELL_FLAG_TRIGGER_SIZE_MASK`: 0 any size, else 1, 2, 4 or 8 bytes.
const TRIGGER_SIZE_MASK: u64 = 0x7;
/// `HV_DOORBELL_FLAG_TRIGGER_ANY_VALUE`.
const TRIGGER_ANY_VALUE: u64 = 1 << 31;

/// A port of the root's, for a partition to connect to.
pub(super) struct Port {
    id: u32,
    connection_partition_id: u64,
    /// The doorbell connected: guest physical address, trigger value, flags.
    doorbell: Option<(u64, u64, u64)>,
}

impl Port {
    /// Whether a guest's write of `len` bytes of `value` at `gpa` rings this port's doorbell.
    fn rung_by(&self, partition_id: u64, gpa: u64, len: u32, value: u64) -> bool {
        let Some((at, trigger, flags)) = self.doorbell else {
            return false;
        };
        let size = match flags & TRIGGER_SIZE_MASK {
            0 => None,
            s @ 1..=4 => Some(1u32 << (s - 1)),
            _ => return false,
        };
        self.connection_partition_id == partition_id
            && at == gpa
            && size.is_none_or(|s| s == len)
            && (flags & TRIGGER_ANY_VALUE != 0 || trigger == value)
    }
}

/// Ports that may wait for room in their ring at once, all SINTs together.
const WAITING: usize = 256;

/// The root's event ring page (one: the simulated SINTs are taken on whichever CPU asks) and
/// both ends' indices. It never allocates: the root's handler uses it in interrupt context.
pub(crate) struct EventRings {
    rings: [EventRing; HV_SYNIC_SINT_COUNT],
    /// Where the hypervisor writes next, by SINT.
    heads: [u8; HV_SYNIC_SINT_COUNT],
    /// Ports that found their ring full, oldest first: `(SINT, port)`.
    waiting: Fifo<(usize, u32), WAITING>,
    /// The root's consumer index, by SINT. It belongs to the root's side of the ring page, and
    /// lives here only because the simulated page does.
    pub(super) tails: [u8; HV_SYNIC_SINT_COUNT],
}

impl EventRings {
    pub(super) const fn new() -> Self {
        const EMPTY: EventRing = EventRing {
            signal_masked: 0,
            ring_full: 0,
            reserved_z: 0,
            data: [0; HV_SYNIC_EVENT_RING_MESSAGE_COUNT],
        };
        Self {
            rings: [EMPTY; HV_SYNIC_SINT_COUNT],
            heads: [0; HV_SYNIC_SINT_COUNT],
            waiting: Fifo::new((0, 0)),
            tails: [0; HV_SYNIC_SINT_COUNT],
        }
    }

    /// SINT `sint`'s ring, for its consumer.
    pub(super) fn ring(&mut self, sint: usize) -> Option<(*mut EventRing, &mut u8)> {
        let ring = self.rings.get_mut(sint)?;
        Some((core::ptr::from_mut(ring), &mut self.tails[sint]))
    }

    /// Queues `port` on SINT `sint`'s ring; whether the root is to be signalled.
    fn queue(&mut self, sint: usize, port: u32) -> bool {
        if !self.put(sint, port) {
            // Without room to wait the signal is lost, as a full ring's would be.
            let _ = self.waiting.push((sint, port));
            return false;
        }
        let ring = &mut self.rings[sint];
        if ring.signal_masked != 0 {
            return false;
        }
        ring.signal_masked = 1;
        true
    }

    /// The root consumed SINT `sint`'s ring: the ports that waited go in while there is room.
    fn notify_empty(&mut self, sint: usize) {
        for _ in 0..self.waiting.len() {
            let Some((s, port)) = self.waiting.pop() else {
                break;
            };
            if s != sint || !self.put(s, port) {
                // Keeps its place: the ones behind it go back behind it (it was just taken
                // out, so there is room).
                let _ = self.waiting.push((s, port));
            }
        }
    }

    /// Writes `port` into the ring's next slot, if free; else marks the ring full.
    fn put(&mut self, sint: usize, port: u32) -> bool {
        let head = usize::from(self.heads[sint]);
        let ring = &mut self.rings[sint];
        let mut data = ring.data;
        if data[head] != 0 {
            ring.ring_full = 1;
            return false;
        }
        data[head] = port;
        ring.data = data;
        self.heads[sint] = ((head + 1) % HV_SYNIC_EVENT_RING_MESSAGE_COUNT) as u8;
        true
    }

    /// Forgets every queued port (power off).
    pub(super) fn clear(&mut self) {
        *self = Self::new();
    }
}

impl Machine {
    pub(super) fn create_port(&mut self, input: &HvPage) -> RepResult {
        let args: CreatePortIn = read(input, 0)?;
        let (id, owner, partner) = (
            args.port_id,
            args.port_partition_id,
            args.connection_partition_id,
        );
        // Doorbell ports belong to the root.
        if args.port_type != HV_PORT_TYPE_DOORBELL || owner != HV_PARTITION_ID_SELF {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        if args.padding != 0 || args.port_info_padding != 0 || args.port_info_rsvdz != 0 {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        self.partition(partner).map_err(|s| (s, 0))?;
        if id == 0 || self.ports.iter().any(|p| p.id == id) {
            return Err((HvStatus::INVALID_PORT_ID, 0));
        }
        let port = Port {
            id,
            connection_partition_id: partner,
            doorbell: None,
        };
        self.ports
            .push(port, ALLOC)
            .map_err(|_| (HvStatus::INSUFFICIENT_BUFFERS, 0))?;
        Ok(0)
    }

    pub(super) fn connect_port(&mut self, input: &HvPage) -> RepResult {
        let args: ConnectPortIn = read(input, 0)?;
        let (partner, id) = (args.connection_partition_id, args.port_id);
        if args.port_type != HV_PORT_TYPE_DOORBELL
            || args.port_partition_id != HV_PARTITION_ID_SELF
            || args.connection_id != id
            || args.rsvdz0 != 0
            || args.rsvdz1 != 0
            || args.reserved2 != 0
        {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        let port = self
            .ports
            .iter_mut()
            .find(|p| p.id == id && p.connection_partition_id == partner)
            .ok_or((HvStatus::INVALID_PORT_ID, 0))?;
        if port.doorbell.is_some() {
            return Err((HvStatus::INVALID_CONNECTION_ID, 0));
        }
        port.doorbell = Some((args.gpa, args.trigger_value, args.flags));
        self.partition(partner).map_err(|s| (s, 0))?.doorbells += 1;
        Ok(0)
    }

    pub(super) fn disconnect_port(
        &mut self,
        partition_id: u64,
        input2: u64,
    ) -> core::result::Result<(), HvStatus> {
        // The connection id, then `is_doorbell` in bit 32.
        let id = input2 as u32;
        let port = self
            .ports
            .iter_mut()
            .find(|p| p.id == id && p.connection_partition_id == partition_id)
            .filter(|p| p.doorbell.is_some())
            .ok_or(HvStatus::INVALID_CONNECTION_ID)?;
        port.doorbell = None;
        if let Ok(p) = self.partition(partition_id) {
            p.doorbells -= 1;
        }
        Ok(())
    }

    pub(super) fn delete_port(
        &mut self,
        owner: u64,
        input2: u64,
    ) -> core::result::Result<(), HvStatus> {
        let id = input2 as u32;
        let i = self
            .ports
            .iter()
            .position(|p| p.id == id && owner == HV_PARTITION_ID_SELF)
            .ok_or(HvStatus::INVALID_PORT_ID)?;
        let port = self
            .ports
            .remove(i)
            .map_err(|_| HvStatus::INVALID_PORT_ID)?;
        if port.doorbell.is_some() {
            if let Ok(p) = self.partition(port.connection_partition_id) {
                p.doorbells -= 1;
            }
        }
        Ok(())
    }

    /// A guest write of `len` bytes of `value` at `gpa` in partition `partition_id`: rings every
    /// doorbell it matches; whether any did.
    pub(super) fn ring_doorbells(
        &mut self,
        partition_id: u64,
        gpa: u64,
        len: u32,
        value: u64,
    ) -> bool {
        let sint = HV_SYNIC_DOORBELL_SINT_INDEX as usize;
        let mut rung = false;
        for i in 0..self.ports.len() {
            if !self.ports[i].rung_by(partition_id, gpa, len, value) {
                continue;
            }
            rung = true;
            let port = self.ports[i].id;
            if sint::lock().event_rings.queue(sint, port) {
                let mut m = Message::zeroed(message_type::SYNIC_SINT_INTERCEPT, 0);
                // `struct hv_notification_message_payload`: the SINT.
                m.payload_size = 4;
                m.payload[0] = sint as u64;
                // Without memory the signal is lost; the port stays queued for the next one.
                let _ = self.outbox.push(m, ALLOC);
            }
        }
        rung
    }
}

/// `HVCALL_NOTIFY_PORT_RING_EMPTY` (fast): the root emptied SINT `input1`'s ring. The root's
/// message handler makes the call, in interrupt context: it is taken under the SynIC's lock
/// alone, and counted (`calls`, `last`) when the machine next runs.
pub(super) fn notify_port_ring_empty(input1: u64, input2: u64) -> HvResult {
    let mut synic = sint::lock();
    synic.count_later(code::NOTIFY_PORT_RING_EMPTY, input1, input2);
    let status = match usize::try_from(input1)
        .ok()
        .filter(|&s| s < HV_SYNIC_SINT_COUNT)
    {
        Some(s) => {
            synic.event_rings.notify_empty(s);
            HvStatus::SUCCESS
        }
        None => HvStatus::INVALID_PARAMETER,
    };
    HvResult::new(status, 0)
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_sim_event_ring)]
mod tests {
    use super::*;
    use crate::transport::synic::{
        take_port,
        Take, //
    };

    /// Fresh rings, built in place from a constant: they are too big for a kernel stack.
    fn new_rings() -> KBox<EventRings> {
        static EMPTY: EventRings = EventRings::new();
        let mut rings = KBox::<EventRings>::new_uninit(GFP_KERNEL).unwrap();
        // SAFETY: The destination is a fresh allocation of one `EventRings`, the source a
        // valid one (plain integers: a copy is a valid value).
        unsafe {
            rings.as_mut_ptr().copy_from_nonoverlapping(&EMPTY, 1);
            rings.assume_init()
        }
    }

    #[test]
    fn a_full_ring_keeps_ports_until_the_root_has_room() {
        let mut rings = new_rings();
        // The first port signals the root and masks the signal; the rest fill the ring.
        assert!(rings.queue(5, 1));
        for port in 2..=63 {
            assert!(!rings.queue(5, port));
        }
        assert!(!rings.queue(5, 64));
        let (ring, tail) = rings.ring(5).unwrap();
        for port in 1..=63 {
            // SAFETY: The ring is this test's, and so is its consumer index.
            assert_eq!(unsafe { take_port(ring, tail) }, Take::Port(port));
        }
        // SAFETY: As above.
        assert_eq!(unsafe { take_port(ring, tail) }, Take::NotifyEmpty);
        rings.notify_empty(5);
        let (ring, tail) = rings.ring(5).unwrap();
        // SAFETY: As above.
        unsafe {
            assert_eq!(take_port(ring, tail), Take::Port(64));
            assert_eq!(take_port(ring, tail), Take::Empty);
        }
        // Unmasked: the next port signals again.
        assert!(rings.queue(5, 65));
    }
}
