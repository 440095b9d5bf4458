// SPDX-License-Identifier: GPL-2.0

//! `MSHV_SET_MSI_ROUTING`: the partition's table of MSI routes, by GSI, decoded as the
//! interrupts they describe. No hypercall: the table is what irqfds will assert.

use kernel::{
    prelude::*,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use crate::{
    hv::abi::interrupt_control,
    uapi::{
        self,
        UserIrqEntry,
        UserIrqTable, //
    },
};

/// `MSHV_MAX_GUEST_IRQS`: GSIs are below this, and so is a table's length.
pub(super) const MSHV_MAX_GUEST_IRQS: u32 = 4096;

/// One route: the interrupt a GSI's MSI stands for, decoded as upstream decodes it, into what
/// `HVCALL_ASSERT_VIRTUAL_INTERRUPT` takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Route {
    /// Bits 0-7 of the data.
    pub(super) vector: u32,
    /// The destination APIC id (bits 12-19 of the address); x86 only, arm64 interrupts have
    /// no destination.
    pub(super) apic_id: u32,
    /// `union hv_interrupt_control`: the interrupt type is the delivery mode (bits 8-10 of the
    /// data); x86: level-triggered (bit 15 of the data) and logical destination mode (bit 2
    /// of the address); arm64: asserted, always.
    pub(super) control: u64,
}

impl Route {
    fn decode(entry: &UserIrqEntry) -> Self {
        let interrupt_type = u64::from((entry.data & 0x700) >> 8);
        #[cfg(CONFIG_X86_64)]
        let flags = (u64::from((entry.data >> 15) & 1) * interrupt_control::LEVEL_TRIGGERED)
            | (u64::from((entry.address_lo >> 2) & 1) * interrupt_control::LOGICAL_DEST_MODE);
        #[cfg(CONFIG_ARM64)]
        let flags = interrupt_control::ASSERTED;
        Self {
            vector: entry.data & 0xff,
            apic_id: (entry.address_lo >> 12) & 0xff,
            control: interrupt_type | flags,
        }
    }

    /// The interrupt type (`enum hv_interrupt_type`).
    pub(super) fn interrupt_type(&self) -> u32 {
        self.control as u32
    }

    /// Whether the interrupt is level-triggered (x86; arm64 routes have no trigger mode).
    pub(super) fn level_triggered(&self) -> bool {
        #[cfg(CONFIG_X86_64)]
        let level = self.control & interrupt_control::LEVEL_TRIGGERED != 0;
        #[cfg(CONFIG_ARM64)]
        let level = false;
        level
    }
}

/// A routing table: indexed by GSI, `None` where no route was given.
pub(super) type Routes = KVec<Option<Route>>;

/// Reads and validates the table at user address `arg`: `EINVAL` for more than
/// [`MSHV_MAX_GUEST_IRQS`] entries, a nonzero reserved field, a GSI out of range, an
/// `address_hi` (no extended destinations) or a GSI given twice.
pub(super) fn read_routes(arg: usize) -> Result<Routes> {
    let table: UserIrqTable = uapi::read_user(arg)?;
    if table.nr > MSHV_MAX_GUEST_IRQS || table.rsvd != 0 {
        return Err(EINVAL);
    }
    let nr = table.nr as usize;
    let mut reader = UserSlice::new(
        UserPtr::from_addr(arg.checked_add(size_of::<UserIrqTable>()).ok_or(EFAULT)?),
        nr * size_of::<UserIrqEntry>(),
    )
    .reader();
    let mut entries = KVVec::with_capacity(nr, GFP_KERNEL)?;
    for _ in 0..nr {
        entries.push(reader.read::<UserIrqEntry>()?, GFP_KERNEL)?;
    }
    let mut routes = Routes::new();
    for e in entries.iter() {
        if e.gsi >= MSHV_MAX_GUEST_IRQS || e.address_hi != 0 {
            return Err(EINVAL);
        }
    }
    let len = entries
        .iter()
        .map(|e| e.gsi as usize + 1)
        .max()
        .unwrap_or(0);
    routes.reserve(len, GFP_KERNEL)?;
    for _ in 0..len {
        routes.push(None, GFP_KERNEL)?;
    }
    for e in entries.iter() {
        let slot = &mut routes[e.gsi as usize];
        if slot.is_some() {
            return Err(EINVAL);
        }
        *slot = Some(Route::decode(e));
    }
    Ok(routes)
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_root_irq)]
mod tests {
    use super::*;

    #[test]
    fn msi_fields_decode_as_upstream() {
        let route = Route::decode(&UserIrqEntry {
            gsi: 5,
            address_lo: 0xfee0_3004,
            address_hi: 0,
            data: 0x8000 | 0x400 | 0x31,
        });
        // x86: the interrupt type, level-triggered (bit 32), logical destination (bit 33).
        #[cfg(CONFIG_X86_64)]
        let (control, level) = (4 | 1 << 32 | 1 << 33, true);
        // arm64: the interrupt type and asserted (bit 34); no trigger or destination mode.
        #[cfg(CONFIG_ARM64)]
        let (control, level) = (4 | 1 << 34, false);
        assert_eq!(
            route,
            Route {
                vector: 0x31,
                apic_id: 3,
                control,
            }
        );
        assert_eq!(route.interrupt_type(), 4);
        assert_eq!(route.level_triggered(), level);
    }

    #[test]
    fn an_edge_triggered_physical_msi_sets_only_the_arch_bits() {
        let route = Route::decode(&UserIrqEntry {
            gsi: 6,
            address_lo: 0xfee0_1000,
            address_hi: 0,
            data: 0x32,
        });
        #[cfg(CONFIG_X86_64)]
        let control = 0;
        #[cfg(CONFIG_ARM64)]
        let control = 1 << 34;
        assert_eq!(route.control, control);
        assert!(!route.level_triggered());
    }
}
