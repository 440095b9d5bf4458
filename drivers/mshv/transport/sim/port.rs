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
//! The ports are the machine's; the event rings are in each CPU's event ring page (SIRBP), the
//! SynIC's ([`hosted_synic`]): the root's interrupt handler takes from the ring of the CPU it
//! runs on, and the hypervisor's side is under the SynIC's lock alone.

use core::ptr::{
    addr_of_mut,
    read_volatile,
    write_volatile, //
};

use super::ALLOC;
#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
use kernel::prelude::*;

use super::{
    hosted_synic,
    machine::{
        read,
        Machine,
        RepResult, //
    },
    sint::{
        self,
        Fifo, //
    },
    vtl0::MAX_CPUS,
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

/// Ports that may wait for room in their ring at once, all CPUs and SINTs together.
const WAITING: usize = 256;

/// The hypervisor's side of the root's event rings (each CPU's event ring page, SIRBP, holds
/// one per SINT): where it writes next in each, and the ports that found theirs full. It never
/// allocates: it is used under the SynIC's raw spinlock.
pub(crate) struct EventRings {
    /// Where the hypervisor writes next, by CPU and SINT.
    heads: [[u8; HV_SYNIC_SINT_COUNT]; MAX_CPUS],
    /// Ports that found their ring full, oldest first: `(CPU, SINT, port)`.
    waiting: Fifo<(u16, u8, u32), WAITING>,
}

impl EventRings {
    pub(super) const fn new() -> Self {
        Self {
            heads: [[0; HV_SYNIC_SINT_COUNT]; MAX_CPUS],
            waiting: Fifo::new((0, 0, 0)),
        }
    }

    /// Queues `port` on `ring`, CPU `cpu`'s ring of SINT `sint`; whether the root is to be
    /// signalled (the ring's signal was not masked: it is now).
    ///
    /// # Safety
    ///
    /// `ring` is that ring, valid for reads and writes, and its consumer does not run
    /// meanwhile.
    pub(super) unsafe fn queue(
        &mut self,
        ring: *mut EventRing,
        cpu: usize,
        sint: usize,
        port: u32,
    ) -> bool {
        // SAFETY: As the function's contract says.
        if !unsafe { self.put(ring, cpu, sint, port) } {
            // Without room to wait the signal is lost, as a full ring's would be.
            let _ = self.waiting.push((cpu as u16, sint as u8, port));
            return false;
        }
        // SAFETY: As above.
        let masked = unsafe { addr_of_mut!((*ring).signal_masked) };
        // SAFETY: As above; the consumer writes the flag too, so both sides are volatile.
        unsafe {
            if read_volatile(masked) != 0 {
                return false;
            }
            write_volatile(masked, 1);
        }
        true
    }

    /// Unmasks `ring`'s signal: the signal [`Self::queue`] asked for was not sent.
    ///
    /// # Safety
    ///
    /// As for [`Self::queue`].
    pub(super) unsafe fn unmask(&mut self, ring: *mut EventRing) {
        // SAFETY: As the function's contract says.
        unsafe { write_volatile(addr_of_mut!((*ring).signal_masked), 0) };
    }

    /// The root consumed `ring`, CPU `cpu`'s ring of SINT `sint`: the ports that waited for it
    /// go in while there is room.
    ///
    /// # Safety
    ///
    /// As for [`Self::queue`].
    pub(super) unsafe fn notify_empty(&mut self, ring: *mut EventRing, cpu: usize, sint: usize) {
        for _ in 0..self.waiting.len() {
            let Some((c, s, port)) = self.waiting.pop() else {
                break;
            };
            let here = usize::from(c) == cpu && usize::from(s) == sint;
            // SAFETY: As the function's contract says.
            if !here || !unsafe { self.put(ring, cpu, sint, port) } {
                // Keeps its place: the ones behind it go back behind it (it was just taken
                // out, so there is room).
                let _ = self.waiting.push((c, s, port));
            }
        }
    }

    /// Writes `port` into the ring's next slot, if free; else marks the ring full.
    ///
    /// # Safety
    ///
    /// As for [`Self::queue`].
    unsafe fn put(&mut self, ring: *mut EventRing, cpu: usize, sint: usize, port: u32) -> bool {
        let Some(head) = self.heads.get_mut(cpu).and_then(|h| h.get_mut(sint)) else {
            return false;
        };
        let at = usize::from(*head) % HV_SYNIC_EVENT_RING_MESSAGE_COUNT;
        // SAFETY: `at` is in bounds of the ring, valid as the contract says (no reference is
        // made: the consumer writes the ring too).
        let slot = unsafe { addr_of_mut!((*ring).data).cast::<u32>().add(at) };
        // SAFETY: As above.
        unsafe {
            if read_volatile(slot) != 0 {
                write_volatile(addr_of_mut!((*ring).ring_full), 1);
                return false;
            }
            write_volatile(slot, port);
        }
        *head = ((at + 1) % HV_SYNIC_EVENT_RING_MESSAGE_COUNT) as u8;
        true
    }

    /// Forgets every queued port (power off).
    pub(super) fn clear(&mut self) {
        *self = Self::new();
    }

    /// Starts CPU `cpu`'s rings afresh (its ring page was enabled, empty): the ports that
    /// waited for them are lost.
    pub(super) fn reset(&mut self, cpu: usize) {
        if let Some(heads) = self.heads.get_mut(cpu) {
            *heads = [0; HV_SYNIC_SINT_COUNT];
        }
        for _ in 0..self.waiting.len() {
            if let Some(w) = self.waiting.pop() {
                if usize::from(w.0) != cpu {
                    let _ = self.waiting.push(w);
                }
            }
        }
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
        let sint = HV_SYNIC_DOORBELL_SINT_INDEX;
        let mut rung = false;
        for i in 0..self.ports.len() {
            if !self.ports[i].rung_by(partition_id, gpa, len, value) {
                continue;
            }
            rung = true;
            // One machine call's messages go to one CPU: the first doorbell's.
            let at = self.outbox_cpu;
            let Some(cpu) = hosted_synic::ring_doorbell(sint, self.ports[i].id, at) else {
                continue;
            };
            let mut m = Message::zeroed(message_type::SYNIC_SINT_INTERCEPT, 0);
            // `struct hv_notification_message_payload`: the SINT.
            m.payload_size = 4;
            m.payload[0] = sint.into();
            if self.outbox.push(m, ALLOC).is_err() {
                // Without memory the signal is lost: the next port signals again.
                hosted_synic::unsignalled(cpu, sint);
                continue;
            }
            // The message goes to the CPU whose ring holds the port.
            self.outbox_cpu = Some(cpu);
        }
        rung
    }
}

/// `HVCALL_NOTIFY_PORT_RING_EMPTY` (fast): the root emptied the calling CPU's ring of SINT
/// `input1`. The root's interrupt handler makes the call, in interrupt context: it is taken
/// under the SynIC's lock alone, and counted (`calls`, `last`) when the machine next runs.
pub(super) fn notify_port_ring_empty(input1: u64, input2: u64) -> HvResult {
    sint::lock().count_later(code::NOTIFY_PORT_RING_EMPTY, input1, input2);
    let status = match usize::try_from(input1)
        .ok()
        .filter(|&s| s < HV_SYNIC_SINT_COUNT)
    {
        Some(s) => {
            hosted_synic::ring_emptied(s);
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

    fn ring() -> KBox<EventRing> {
        use kernel::transmute::FromBytes;
        KBox::new(
            EventRing::from_bytes(&[0u8; 256]).copied().unwrap(),
            GFP_KERNEL,
        )
        .unwrap()
    }

    #[test]
    fn a_full_ring_keeps_ports_until_the_root_has_room() {
        let mut rings = KBox::new(EventRings::new(), GFP_KERNEL).unwrap();
        let mut r = ring();
        let ring: *mut EventRing = &raw mut *r;
        let mut tail = 0;
        // SAFETY: The ring is this test's, and so is its consumer index; the two sides take
        // turns.
        unsafe {
            // The first port signals the root and masks the signal; the rest fill the ring.
            assert!(rings.queue(ring, 1, 5, 1));
            for port in 2..=63 {
                assert!(!rings.queue(ring, 1, 5, port));
            }
            assert!(!rings.queue(ring, 1, 5, 64));
            for port in 1..=63 {
                assert_eq!(take_port(ring, &mut tail), Take::Port(port));
            }
            assert_eq!(take_port(ring, &mut tail), Take::NotifyEmpty);
            // Another CPU's emptied ring lets none in.
            rings.notify_empty(ring, 0, 5);
            assert_eq!(take_port(ring, &mut tail), Take::Empty);
            rings.notify_empty(ring, 1, 5);
            assert_eq!(take_port(ring, &mut tail), Take::Port(64));
            assert_eq!(take_port(ring, &mut tail), Take::Empty);
            // Unmasked: the next port signals again.
            assert!(rings.queue(ring, 1, 5, 65));
        }
    }
}
