// SPDX-License-Identifier: GPL-2.0

//! Virtual interrupts: asserted by the root, and (x86) the end-of-interrupt a guest signals for
//! a level-triggered one, which the hypervisor reports to the root (`HVMSG_X64_APIC_EOI`) so the
//! device model can sample its line again.
//!
//! The guest runs no code here: tests make a VP's guest signal the EOI through debugfs.

use super::ALLOC;
use kernel::prelude::*;

use super::machine::{
    read,
    Machine,
    PartitionState,
    RepResult, //
};
use crate::{
    hv::{
        abi::{
            interrupt_control,
            message_type,
            AssertVirtualInterruptIn,
            Message, //
        },
        status::HvStatus,
    },
    transport::HvPage,
};

impl Machine {
    /// `HVCALL_ASSERT_VIRTUAL_INTERRUPT`, its control word (`union hv_interrupt_control`) as
    /// the architecture lays it out: a reserved bit set is `INVALID_PARAMETER`.
    ///
    /// x86: the vector is a byte. A level-triggered interrupt for a VP named by its APIC id
    /// (physical destination mode; the simulated APIC id is the VP index) stays in service on
    /// that VP until its guest signals the EOI; an EXTINT stays pending until cleared.
    ///
    /// arm64: the vector is a GIC interrupt id and there is no destination. Only an assertion
    /// (`asserted` set) counts; a deassertion lowers the line, which nothing here keeps.
    pub(super) fn assert_virtual_interrupt(&mut self, input: &HvPage) -> RepResult {
        let args: AssertVirtualInterruptIn = read(input, 0)?;
        let (partition_id, control, vector) = (args.partition_id, args.control, args.vector);
        if args.target_vtl != 0 || args.rsvd_z0 != 0 || args.rsvd_z1 != 0 {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        if control & !(u64::from(u32::MAX) | interrupt_control::FLAGS) != 0
            || (cfg!(CONFIG_X86_64) && vector > 0xff)
        {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        let p = self.partition(partition_id).map_err(|s| (s, 0))?;
        if p.state != PartitionState::Initialized {
            return Err((HvStatus::INVALID_PARTITION_STATE, 0));
        }
        #[cfg(CONFIG_X86_64)]
        {
            let dest = args.dest_addr;
            p.interrupts_asserted += 1;
            if control as u32 == crate::hv::abi::HV_X64_INTERRUPT_TYPE_EXTINT {
                p.extint_pending = true;
            }
            let level_triggered = control & interrupt_control::LEVEL_TRIGGERED != 0;
            let logical = control & interrupt_control::LOGICAL_DEST_MODE != 0;
            if level_triggered && !logical {
                if let Some(vp) = p.vps.iter_mut().find(|vp| u64::from(vp.index) == dest) {
                    // One in-service bit per vector, as in an APIC.
                    if !vp.in_service.contains(&vector) {
                        vp.in_service
                            .push(vector, ALLOC)
                            .map_err(|_| (HvStatus::INSUFFICIENT_BUFFERS, 0))?;
                    }
                }
            }
        }
        #[cfg(CONFIG_ARM64)]
        {
            if control & interrupt_control::ASSERTED != 0 {
                p.interrupts_asserted += 1;
            }
        }
        Ok(0)
    }

    /// `HVCALL_CLEAR_VIRTUAL_INTERRUPT` (fast): withdraws the partition's pending EXTINT.
    pub(super) fn clear_virtual_interrupt(
        &mut self,
        partition_id: u64,
    ) -> core::result::Result<(), HvStatus> {
        let p = self.partition(partition_id)?;
        if p.state != PartitionState::Initialized {
            return Err(HvStatus::INVALID_PARTITION_STATE);
        }
        p.extint_pending = false;
        p.interrupts_cleared += 1;
        Ok(())
    }

    /// VP `vp_index`'s guest signals the end of its oldest level-triggered interrupt in
    /// service: the root gets `HVMSG_X64_APIC_EOI`. With none in service the EOI does nothing,
    /// as an APIC's would.
    pub(super) fn end_of_interrupt(&mut self, partition_id: u64, vp_index: u32) -> Result {
        let vp = self.vp(partition_id, vp_index).map_err(|_| ENOENT)?;
        if vp.in_service.is_empty() {
            return Ok(());
        }
        let vector = vp.in_service.remove(0).map_err(|_| ENOENT)?;
        let mut m = Message::zeroed(message_type::X64_APIC_EOI, partition_id);
        // `struct hv_x64_apic_eoi_message`: the VP index, then the vector.
        m.payload_size = 8;
        m.payload[0] = u64::from(vp_index) | u64::from(vector) << 32;
        self.outbox.push(m, ALLOC)?;
        Ok(())
    }
}
