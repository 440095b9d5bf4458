// SPDX-License-Identifier: GPL-2.0

//! A partition's guest physical address space, as the simulated hypervisor keeps it: one table
//! of 512 entries for every 2 MiB of guest memory that has a mapping, each table a page taken
//! from the partition's pool (so mapping memory uses deposited memory, as on the real
//! hypervisor).
//!
//! An entry is zero when nothing is mapped, else `pfn << 12 | PRESENT | flags` with the low
//! bits of [`Entry`]. A block mapped with one large (2 MiB) entry (`HV_MAP_GPA_LARGE_PAGE`)
//! keeps it in its table's first entry, marked [`Entry::LARGE`]: its frame is the first of 512
//! and its accessed and dirty bits are the whole page's. A map or unmap of a 4 KiB frame of it
//! splits it first into 512 entries with its flags and bits, as the hypervisor splits a large
//! page on a partial unmap (the table's page was taken when the block was first mapped, so a
//! split needs no memory).

use super::ALLOC;
use kernel::prelude::*;

use crate::{
    ffi,
    hv::{
        status::HvStatus,
        HV_HYP_PAGE_SIZE, //
    },
};

/// Entries per table.
const ENTRIES: usize = HV_HYP_PAGE_SIZE / 8;

/// `HV_MAP_GPA_*` flags the simulator accepts.
pub(super) mod map_flags {
    pub(crate) const PERMISSIONS: u32 = 0xf;
    pub(crate) const ADJUSTABLE: u32 = 0x8000;
    pub(crate) const NO_ACCESS: u32 = 0x1_0000;
    pub(crate) const NOT_CACHED: u32 = 0x20_0000;
    pub(crate) const LARGE_PAGE: u32 = 0x8000_0000;
    pub(crate) const KNOWN: u32 = PERMISSIONS | ADJUSTABLE | NO_ACCESS | NOT_CACHED | LARGE_PAGE;
}

/// The bits of an entry.
struct Entry;

impl Entry {
    const PRESENT: u64 = 1 << 11;
    const NO_ACCESS: u64 = 1 << 4;
    const NOT_CACHED: u64 = 1 << 5;
    const ADJUSTABLE: u64 = 1 << 6;
    const FLAGS: u64 = 0xff;
    /// The table's first entry maps the whole block (2 MiB).
    const LARGE: u64 = 1 << 7;
    const ACCESSED: u64 = 1 << 9;
    const DIRTY: u64 = 1 << 10;

    fn encode(pfn: u64, flags: u32) -> u64 {
        let mut e = pfn << 12 | Self::PRESENT | u64::from(flags & map_flags::PERMISSIONS);
        for (hv, bit) in [
            (map_flags::NO_ACCESS, Self::NO_ACCESS),
            (map_flags::NOT_CACHED, Self::NOT_CACHED),
            (map_flags::ADJUSTABLE, Self::ADJUSTABLE),
        ] {
            if flags & hv != 0 {
                e |= bit;
            }
        }
        e
    }
}

/// One table: the guest frames `block * 512 ..` and the page that holds their entries.
struct Table {
    block: u64,
    pfn: u64,
    present: usize,
}

impl Table {
    fn entries(&mut self) -> &mut [u64; ENTRIES] {
        // SAFETY: The table's page was deposited (kernel memory in the linear map, page
        // aligned) and belongs to the hypervisor, which only touches it under the machine's
        // lock; `&mut self` makes this the only reference.
        unsafe { &mut *ffi::mshv_shim_page_address(self.pfn).cast::<[u64; ENTRIES]>() }
    }

    /// Whether the block is one large entry.
    fn is_large(&mut self) -> bool {
        self.entries()[0] & Entry::LARGE != 0
    }

    /// Slot `slot`'s entry as a 4 KiB one: a large entry's frame `slot` (none with no access),
    /// with its bits.
    fn entry(&mut self, slot: usize) -> u64 {
        let first = self.entries()[0];
        if first & Entry::LARGE == 0 {
            self.entries()[slot]
        } else if first & Entry::NO_ACCESS != 0 {
            first
        } else {
            first + ((slot as u64) << 12)
        }
    }

    /// Splits a large entry into 512 with its flags and bits (none but the large bit lost).
    fn split(&mut self) {
        if !self.is_large() {
            return;
        }
        let first = self.entries()[0] & !Entry::LARGE;
        let step = if first & Entry::NO_ACCESS != 0 { 0 } else { 1 };
        for (slot, e) in self.entries().iter_mut().enumerate() {
            *e = first + ((slot as u64 * step) << 12);
        }
    }
}

/// Why a guest's access to memory faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fault {
    /// Nothing is mapped there.
    Unmapped,
    /// It is mapped without the access (or with no access at all).
    Denied,
}

/// A guest physical address space.
#[derive(Default)]
pub(super) struct Slat {
    /// Sorted by block.
    tables: KVec<Table>,
}

impl Slat {
    pub(super) const fn new() -> Self {
        Self {
            tables: KVec::new(),
        }
    }

    /// Maps guest frame `gfn` to `pfn`, taking a table page with `take_page` if its block has
    /// none yet.
    pub(super) fn map(
        &mut self,
        gfn: u64,
        pfn: u64,
        flags: u32,
        take_page: impl FnOnce() -> core::result::Result<u64, HvStatus>,
    ) -> core::result::Result<(), HvStatus> {
        let block = gfn / ENTRIES as u64;
        let i = match self.tables.binary_search_by_key(&block, |t| t.block) {
            Ok(i) => i,
            Err(i) => {
                self.tables
                    .reserve(1, ALLOC)
                    .map_err(|_| HvStatus::INSUFFICIENT_BUFFERS)?;
                let pfn = take_page()?;
                let mut table = Table {
                    block,
                    pfn,
                    present: 0,
                };
                table.entries().fill(0);
                self.tables
                    .insert_within_capacity(i, table)
                    .map_err(|_| HvStatus::INSUFFICIENT_BUFFERS)?;
                i
            }
        };
        let table = &mut self.tables[i];
        let slot = (gfn % ENTRIES as u64) as usize;
        table.split();
        let entries = table.entries();
        let was_present = entries[slot] != 0;
        entries[slot] = Entry::encode(pfn, flags);
        if !was_present {
            table.present += 1;
        }
        Ok(())
    }

    /// Maps the 2 MiB block from guest frame `gfn` (2 MiB-aligned) to the 512 frames from `pfn`
    /// (aligned too) with one large entry, in place of whatever the block mapped; a table page
    /// from `take_page` if the block has none yet.
    pub(super) fn map_large(
        &mut self,
        gfn: u64,
        pfn: u64,
        flags: u32,
        take_page: impl FnOnce() -> core::result::Result<u64, HvStatus>,
    ) -> core::result::Result<(), HvStatus> {
        // With no access the frame is none (zero).
        if gfn % ENTRIES as u64 != 0 || pfn % ENTRIES as u64 != 0 {
            return Err(HvStatus::INVALID_PARAMETER);
        }
        // Takes the block's table (mapping its first frame), then makes it one entry.
        self.map(gfn, pfn, flags, take_page)?;
        let (i, _) = self.find(gfn).ok_or(HvStatus::INVALID_PARAMETER)?;
        let table = &mut self.tables[i];
        let entries = table.entries();
        entries.fill(0);
        entries[0] = Entry::encode(pfn, flags) | Entry::LARGE;
        table.present = ENTRIES;
        Ok(())
    }

    /// The table of guest frame `gfn`'s block, if it has one, and the frame's slot in it.
    fn find(&self, gfn: u64) -> Option<(usize, usize)> {
        let block = gfn / ENTRIES as u64;
        let i = self.tables.binary_search_by_key(&block, |t| t.block).ok()?;
        Some((i, (gfn % ENTRIES as u64) as usize))
    }

    /// Whether guest frame `gfn` has a mapping.
    pub(super) fn is_mapped(&mut self, gfn: u64) -> bool {
        self.find(gfn)
            .is_some_and(|(i, slot)| self.tables[i].entry(slot) != 0)
    }

    /// A guest's access to frame `gfn` (a write if `write`): the host frame it reaches, its
    /// accessed (and for a write, dirty) bit set; or why it faults.
    pub(super) fn guest_access(
        &mut self,
        gfn: u64,
        write: bool,
    ) -> core::result::Result<u64, Fault> {
        const READABLE: u64 = 0x1;
        const WRITABLE: u64 = 0x2;
        let Some((i, slot)) = self.find(gfn) else {
            return Err(Fault::Unmapped);
        };
        let table = &mut self.tables[i];
        let e = table.entry(slot);
        if e == 0 {
            return Err(Fault::Unmapped);
        }
        let need = if write { WRITABLE } else { READABLE };
        if e & Entry::NO_ACCESS != 0 || e & need == 0 {
            return Err(Fault::Denied);
        }
        // A large entry's bits are the whole page's.
        let at = if table.is_large() { 0 } else { slot };
        table.entries()[at] |= Entry::ACCESSED | if write { Entry::DIRTY } else { 0 };
        Ok(e >> 12)
    }

    /// Guest frame `gfn`'s access state (bit 0 accessed, bit 1 dirty; zero when unmapped),
    /// then changed as `flags` asks (`hv_gpa_page_access_state_flags`: bit 0 clear accessed,
    /// 1 set accessed, 2 clear dirty, 3 set dirty).
    pub(super) fn access_state(&mut self, gfn: u64, flags: u64) -> u8 {
        let Some((i, slot)) = self.find(gfn) else {
            return 0;
        };
        let table = &mut self.tables[i];
        // A large entry's bits are the whole page's: each of its frames reports them, and a
        // change comes at its last frame only, so that a query of the whole page sees them all
        // (one of part of it over-reports, never loses a dirty page).
        let large = table.is_large();
        let flags = if large && slot != ENTRIES - 1 {
            0
        } else {
            flags
        };
        let entry = &mut table.entries()[if large { 0 } else { slot }];
        if *entry == 0 {
            return 0;
        }
        let state =
            u8::from(*entry & Entry::ACCESSED != 0) | u8::from(*entry & Entry::DIRTY != 0) << 1;
        for (bit, mask, set) in [
            (0, Entry::ACCESSED, false),
            (1, Entry::ACCESSED, true),
            (2, Entry::DIRTY, false),
            (3, Entry::DIRTY, true),
        ] {
            if flags & (1 << bit) != 0 {
                if set {
                    *entry |= mask;
                } else {
                    *entry &= !mask;
                }
            }
        }
        state
    }

    /// Unmaps guest frame `gfn`, giving an emptied table's page to `give_page`.
    pub(super) fn unmap(&mut self, gfn: u64, give_page: impl FnOnce(u64)) {
        let Some((i, slot)) = self.find(gfn) else {
            return;
        };
        let table = &mut self.tables[i];
        table.split();
        let entries = table.entries();
        if entries[slot] == 0 {
            return;
        }
        entries[slot] = 0;
        table.present -= 1;
        if table.present == 0 {
            if let Ok(t) = self.tables.remove(i) {
                give_page(t.pfn);
            }
        }
    }

    /// Unmaps the large page at guest frame `gfn` (2 MiB-aligned): `INVALID_PARAMETER` where
    /// the block is mapped 4 KiB at a time (nothing where it is not mapped), as
    /// `HV_UNMAP_GPA_LARGE_PAGE` has it.
    pub(super) fn unmap_large(
        &mut self,
        gfn: u64,
        give_page: impl FnOnce(u64),
    ) -> core::result::Result<(), HvStatus> {
        if gfn % ENTRIES as u64 != 0 {
            return Err(HvStatus::INVALID_PARAMETER);
        }
        let Some((i, _)) = self.find(gfn) else {
            return Ok(());
        };
        if !self.tables[i].is_large() {
            return Err(HvStatus::INVALID_PARAMETER);
        }
        if let Ok(t) = self.tables.remove(i) {
            give_page(t.pfn);
        }
        Ok(())
    }

    /// Forgets every mapping and returns the table pages.
    pub(super) fn clear(&mut self) -> KVec<u64> {
        let mut pages = KVec::with_capacity(self.tables.len(), ALLOC).unwrap_or_default();
        for t in core::mem::take(&mut self.tables) {
            if pages.push(t.pfn, ALLOC).is_err() {
                // Without memory for the list the page is leaked to nobody: free it now.
                // SAFETY: A table page was deposited by the driver and is the hypervisor's.
                unsafe { ffi::mshv_shim_page_free(t.pfn) };
            }
        }
        pages
    }

    /// The mapped ranges: `(first gfn, pages, entry flags)`, merged where contiguous.
    pub(super) fn ranges(&mut self, mut each: impl FnMut(u64, u64, u64)) {
        let mut run: Option<(u64, u64, u64)> = None;
        for t in self.tables.iter_mut() {
            let base = t.block * ENTRIES as u64;
            for slot in 0..ENTRIES {
                let e = t.entry(slot);
                let gfn = base + slot as u64;
                let flags = e & Entry::FLAGS;
                match run {
                    Some((first, n, f)) if e != 0 && first + n == gfn && f == flags => {
                        run = Some((first, n + 1, f));
                    }
                    _ => {
                        if let Some((first, n, f)) = run.take() {
                            each(first, n, f);
                        }
                        if e != 0 {
                            run = Some((gfn, 1, flags));
                        }
                    }
                }
            }
        }
        if let Some((first, n, f)) = run {
            each(first, n, f);
        }
    }

    /// Calls `each` with every host frame a guest access can reach (mapped, not with no
    /// access: a large entry with no access names no frame).
    pub(super) fn reachable_frames(&mut self, mut each: impl FnMut(u64)) {
        for t in self.tables.iter_mut() {
            for slot in 0..ENTRIES {
                let e = t.entry(slot);
                if e & Entry::PRESENT != 0 && e & Entry::NO_ACCESS == 0 {
                    each(e >> 12);
                }
            }
        }
    }

    /// How many table pages are in use.
    pub(super) fn tables(&self) -> usize {
        self.tables.len()
    }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_sim_slat)]
mod tests {
    use super::*;

    /// A table page of the kernel's, as a deposit would give.
    fn page() -> core::result::Result<u64, HvStatus> {
        // SAFETY: Allocates a zeroed page; the test frees it.
        match unsafe { ffi::mshv_shim_pages_alloc(0) } {
            0 => Err(HvStatus::INSUFFICIENT_MEMORY),
            pfn => Ok(pfn),
        }
    }

    /// The mapped ranges, as a list.
    fn ranges(slat: &mut Slat) -> KVec<(u64, u64, u64)> {
        let mut got = KVec::new();
        slat.ranges(|g, n, f| got.push((g, n, f), GFP_KERNEL).unwrap());
        got
    }

    #[test]
    fn a_large_entry_maps_2mib_and_splits_on_a_partial_unmap() {
        const RW: u32 = 0x3;
        let mut slat = Slat::new();
        // Misaligned: refused.
        assert_eq!(
            slat.map_large(512, 0x1001, RW, page),
            Err(HvStatus::INVALID_PARAMETER)
        );
        assert_eq!(slat.map_large(512, 0x1000, RW, page), Ok(()));
        assert_eq!(&ranges(&mut slat)[..], &[(512, 512, 0x80 | 0x3)]);
        // Every frame of it reaches its host frame; the bits are the page's.
        assert_eq!(slat.guest_access(512 + 7, true), Ok(0x1007));
        assert_eq!(slat.access_state(512 + 300, 0), 0b11);
        // An unmap of one frame splits it, and keeps the rest as it was.
        let mut given = false;
        slat.unmap(512 + 5, |_| given = true);
        assert!(!given);
        assert!(!slat.is_mapped(512 + 5));
        assert_eq!(slat.guest_access(512 + 6, false), Ok(0x1006));
        assert_eq!(&ranges(&mut slat)[..], &[(512, 5, 0x3), (518, 506, 0x3)]);
        assert_eq!(slat.access_state(512 + 300, 0), 0b11);
        let mut left = 0;
        slat.reachable_frames(|_| left += 1);
        assert_eq!(left, 511);
        for pfn in slat.clear() {
            // SAFETY: The table's page, allocated by `page` and no longer the table's.
            unsafe { ffi::mshv_shim_page_free(pfn) };
        }
    }
}
