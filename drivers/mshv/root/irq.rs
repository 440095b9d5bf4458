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

use crate::uapi::{
    self,
    UserIrqEntry,
    UserIrqTable, //
};

/// `MSHV_MAX_GUEST_IRQS`: GSIs are below this, and so is a table's length.
pub(super) const MSHV_MAX_GUEST_IRQS: u32 = 4096;

/// One route: the MSI a GSI stands for, decoded (x86 MSI format).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Route {
    /// Bits 0-7 of the data.
    pub(super) vector: u32,
    /// The destination APIC id (bits 12-19 of the address).
    pub(super) apic_id: u32,
    /// The delivery mode (bits 8-10 of the data).
    pub(super) interrupt_type: u32,
    /// Level-triggered (bit 15 of the data).
    pub(super) level_triggered: bool,
    /// Logical destination mode (bit 2 of the address).
    pub(super) logical_dest_mode: bool,
}

impl Route {
    fn decode(entry: &UserIrqEntry) -> Self {
        Self {
            vector: entry.data & 0xff,
            apic_id: (entry.address_lo >> 12) & 0xff,
            interrupt_type: (entry.data & 0x700) >> 8,
            level_triggered: (entry.data >> 15) & 1 != 0,
            logical_dest_mode: (entry.address_lo >> 2) & 1 != 0,
        }
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
        assert_eq!(
            route,
            Route {
                vector: 0x31,
                apic_id: 3,
                interrupt_type: 4,
                level_triggered: true,
                logical_dest_mode: true,
            }
        );
    }
}
