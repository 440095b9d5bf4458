// SPDX-License-Identifier: GPL-2.0

//! `HVCALL_TRANSLATE_VIRTUAL_ADDRESS` (x86): the hypervisor walks a VP's page tables, as its
//! processor would, to give the root the guest physical address behind a guest virtual one (a
//! VMM emulating an instruction that touched device memory finds its operands so: QEMU's
//! `-accel mshv` does for every memory operand).
//!
//! The mode is the VP's CR0, CR4 and EFER: paging off, a linear address is its physical
//! address (32 bits of it); else 32-bit paging (4 MiB pages with CR4.PSE), PAE paging, or 4- or
//! 5-level paging (CR4.LA57), with large pages where the levels allow them. Each entry's present,
//! write, user and no-execute bits are checked against the access asked for: writes to a
//! read-only page only where CR0.WP is set or the access is the user's; the user's access at
//! CPL 3 (SS's DPL), unless the call is exempt or says whose access it is; reserved bits
//! (large pages where none can be, a PAE PDPTE's, no-execute without EFER.NXE) are invalid
//! flags. The tables are read, and their accessed and dirty bits set when asked, through the
//! partition's address space: a table the guest cannot read there fails as the hypervisor's GPA
//! failures do. Protection keys, SMEP, SMAP and shadow stacks are not modelled (their flags are
//! accepted). arm64's stage 1 is not modelled: the walk is built there for its KUnit suite only,
//! and the call is not answered.

// arm64: only the KUnit suite uses the walk.
#![cfg_attr(not(CONFIG_X86_64), allow(dead_code))]

use super::vp::Vp;
use kernel::prelude::*;

use crate::hv::abi::{
    register,
    translate_gva as gva, //
};

/// The registers a walk starts from.
#[derive(Clone, Copy, Default)]
pub(super) struct Paging {
    pub(super) cr0: u64,
    pub(super) cr3: u64,
    pub(super) cr4: u64,
    pub(super) efer: u64,
    /// The current privilege level (SS's DPL; 0 with CR0.PE clear).
    pub(super) cpl: u8,
}

const CR0_PE: u64 = 1 << 0;
const CR0_WP: u64 = 1 << 16;
const CR0_PG: u64 = 1 << 31;
const CR4_PSE: u64 = 1 << 4;
const CR4_PAE: u64 = 1 << 5;
const CR4_LA57: u64 = 1 << 12;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;
const EFER_NXE: u64 = 1 << 11;

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const USER: u64 = 1 << 2;
const ACCESSED: u64 = 1 << 5;
const DIRTY: u64 = 1 << 6;
const LARGE: u64 = 1 << 7;
const NO_EXECUTE: u64 = 1 << 63;
/// The bits of an 8-byte entry that hold a frame's address (bits 12-51).
const ADDRESS: u64 = 0x000f_ffff_ffff_f000;
/// A PAE PDPTE's bits that must be zero: 1-2, 5-8 and those above the address (52-63).
const PDPTE_RESERVED: u64 = 0xfff0_0000_0000_01e6;
/// PAE paging's other entries' bits between the address and no-execute (52-62), reserved.
const PAE_RESERVED: u64 = 0x7ff0_0000_0000_0000;
/// A 32-bit 4 MiB page's bit 21, reserved (bits 13-20 are its address's bits 32-39: PSE-36).
const PSE_RESERVED: u64 = 1 << 21;
/// How many times a walk is tried whose entries change under it while their bits are set.
const WALKS: usize = 4;

impl Paging {
    /// VP `vp`'s registers, as it last had them set.
    pub(super) fn of(vp: &Vp) -> Self {
        let cr0 = vp.register(register::X64_CR0)[0];
        // `struct hv_x64_segment_register`: the attributes are its last 16 bits, the DPL their
        // bits 5-6.
        let ss_attributes = vp.register(register::X64_SS)[1] >> 48;
        Self {
            cr0,
            cr3: vp.register(register::X64_CR3)[0],
            cr4: vp.register(register::X64_CR4)[0],
            efer: vp.register(register::X64_EFER)[0],
            cpl: if cr0 & CR0_PE != 0 {
                ((ss_attributes >> 5) & 3) as u8
            } else {
                0
            },
        }
    }
}

/// What a walk reads its tables from: the guest's physical memory.
pub(super) trait GuestMemory {
    /// The entry of `size` bytes (4 or 8, aligned) at guest physical address `gpa`, or the
    /// result code of the failure.
    fn load(&mut self, gpa: u64, size: usize) -> Result<u64, u32>;
    /// Sets `bits` in the entry if it still holds `old`, at once (the guest and the VMM may
    /// write it meanwhile, as under a processor's walk): whether it did.
    fn set_bits(&mut self, gpa: u64, size: usize, old: u64, bits: u64) -> Result<bool, u32>;
}

/// An entry the walk used: where it is, its size and value.
#[derive(Clone, Copy, Default)]
struct Used {
    gpa: u64,
    size: usize,
    value: u64,
}

/// The guest physical address of `gva` for an access of the kind `flags` asks about (`HV_
/// TRANSLATE_GVA_*`), or the result code that says why there is none.
pub(super) fn translate(
    paging: &Paging,
    gva: u64,
    flags: u64,
    memory: &mut impl GuestMemory,
) -> Result<u64, u32> {
    // An entry that changed while its bits were set: the walk starts over, as the processor's
    // does; the last time, without setting them.
    for _ in 1..WALKS {
        if let Some(gpa) = walk(paging, gva, flags, memory)? {
            return Ok(gpa);
        }
    }
    let flags = flags & !gva::SET_PAGE_TABLE_BITS;
    walk(paging, gva, flags, memory)?.ok_or(gva::PAGE_NOT_PRESENT)
}

/// One walk for [`translate`]: `None` if an entry changed while its bits were being set.
fn walk(
    paging: &Paging,
    gva: u64,
    flags: u64,
    memory: &mut impl GuestMemory,
) -> Result<Option<u64>, u32> {
    if paging.cr0 & CR0_PG == 0 {
        return Ok(Some(gva & 0xffff_ffff));
    }
    let nxe = paging.efer & EFER_NXE != 0;
    // Long mode is active once paging is on with it enabled (the processor sets EFER.LMA).
    let long = paging.efer & EFER_LMA != 0 || paging.efer & EFER_LME != 0;
    // (levels, entry size, bits of index per level, the top table's address).
    let (levels, size, bits, mut table) = if long {
        let levels = if paging.cr4 & CR4_LA57 != 0 { 5 } else { 4 };
        // The address must be canonical: its bits above the top level's sign-extend it (no
        // entry maps any other, so none is present).
        let top = 12 + 9 * levels;
        let high = (gva as i64) >> (top - 1);
        if high != 0 && high != -1 {
            return Err(gva::PAGE_NOT_PRESENT);
        }
        (levels, 8, 9, paging.cr3 & ADDRESS)
    } else if paging.cr4 & CR4_PAE != 0 {
        (3, 8, 9, paging.cr3 & 0xffff_ffe0)
    } else {
        (2, 4, 10, paging.cr3 & 0xffff_f000)
    };
    let gva = if levels >= 4 { gva } else { gva & 0xffff_ffff };
    let mut used = [Used::default(); 5];
    let (mut writable, mut user, mut executable) = (true, true, true);
    let mut level = levels;
    let gpa = loop {
        let shift = 12 + bits * (level - 1);
        let index = (gva >> shift) & ((1 << bits) - 1);
        let at = table + index * size as u64;
        let e = memory.load(at, size)?;
        used[levels - level] = Used {
            gpa: at,
            size,
            value: e,
        };
        if e & PRESENT == 0 {
            return Err(gva::PAGE_NOT_PRESENT);
        }
        let pdpte = size == 8 && levels == 3 && level == 3;
        if pdpte {
            if e & PDPTE_RESERVED != 0 {
                return Err(gva::INVALID_PAGE_TABLE_FLAGS);
            }
        } else {
            if levels == 3 && e & PAE_RESERVED != 0 {
                return Err(gva::INVALID_PAGE_TABLE_FLAGS);
            }
            if size == 8 && e & NO_EXECUTE != 0 {
                if !nxe {
                    return Err(gva::INVALID_PAGE_TABLE_FLAGS);
                }
                executable = false;
            }
            writable &= e & WRITABLE != 0;
            user &= e & USER != 0;
        }
        let frame = if size == 8 {
            e & ADDRESS
        } else {
            e & 0xffff_f000
        };
        if level == 1 {
            break frame | (gva & 0xfff);
        }
        // 32-bit paging's large bit is ignored without CR4.PSE.
        if e & LARGE != 0 && !pdpte && (size == 8 || paging.cr4 & CR4_PSE != 0) {
            // A 2 MiB (or 4 MiB) page at level 2; a 1 GiB page at level 3 of 4 or 5.
            let allowed = level == 2 || (level == 3 && levels >= 4);
            if !allowed {
                return Err(gva::INVALID_PAGE_TABLE_FLAGS);
            }
            let span = 1u64 << shift;
            // The frame's bits below the page's size (above the attribute bits) are reserved,
            // but for 32-bit paging's, which hold PSE-36's high address bits.
            if (size == 8 && frame & (span - 1) & !0x1fff != 0)
                || (size == 4 && e & PSE_RESERVED != 0)
            {
                return Err(gva::INVALID_PAGE_TABLE_FLAGS);
            }
            let base = if size == 4 {
                e & 0xffc0_0000 | ((e >> 13) & 0xff) << 32
            } else {
                frame & !(span - 1)
            };
            break base | (gva & (span - 1));
        }
        table = frame;
        level -= 1;
    };
    // Exempt, no user/supervisor check is made; else the access is whose the flags say, or
    // the guest's privilege's.
    let as_user = if flags & (gva::PRIVILEGE_EXEMPT | gva::SUPERVISOR_ACCESS) != 0 {
        false
    } else {
        flags & gva::USER_ACCESS != 0 || paging.cpl == 3
    };
    let write = flags & gva::VALIDATE_WRITE != 0;
    if (as_user && !user)
        || (write && !writable && (as_user || paging.cr0 & CR0_WP != 0))
        || (flags & gva::VALIDATE_EXECUTE != 0 && !executable)
    {
        return Err(gva::PRIVILEGE_VIOLATION);
    }
    if flags & gva::SET_PAGE_TABLE_BITS != 0 {
        let walked = levels - level + 1;
        for (i, u) in used[..walked].iter().enumerate() {
            let last = i == walked - 1;
            let bits = ACCESSED | if last && write { DIRTY } else { 0 };
            // A PAE PDPTE has no accessed bit.
            let pdpte = size == 8 && levels == 3 && i == 0;
            if !pdpte && u.value & bits != bits && !memory.set_bits(u.gpa, u.size, u.value, bits)? {
                return Ok(None);
            }
        }
    }
    Ok(Some(gpa))
}

#[cfg(CONFIG_X86_64)]
mod call {
    use super::*;
    use crate::{
        ffi,
        hv::{
            abi::{
                TranslateVaIn,
                TranslateVaOut, //
            },
            status::HvStatus,
            HV_HYP_PAGE_SIZE,
        },
        transport::{
            sim::{
                machine::{
                    read,
                    write,
                    Machine,
                    RepResult, //
                },
                slat::{
                    Fault,
                    Slat, //
                },
            },
            HvPage,
        },
    };
    use core::sync::atomic::{
        AtomicU32,
        AtomicU64,
        Ordering, //
    };

    /// A partition's guest memory, through its address space: the tables are where the guest
    /// can reach them.
    struct Tables<'a>(&'a mut Slat);

    impl Tables<'_> {
        /// The kernel address of the `size` bytes at `gpa`, if the guest can access them so.
        fn address(&mut self, gpa: u64, size: usize, write: bool) -> Result<*mut u8, u32> {
            let pfn = self.0.guest_access(gpa >> 12, write).map_err(|f| match f {
                Fault::Unmapped => gva::GPA_UNMAPPED,
                Fault::Denied if write => gva::GPA_NO_WRITE_ACCESS,
                Fault::Denied => gva::GPA_NO_READ_ACCESS,
            })?;
            // SAFETY: `page_is_ram` only looks the frame up in the kernel's resource tree.
            if !unsafe { ffi::mshv_shim_pfn_is_ram(pfn) } {
                // Device memory is not modelled: tables cannot be there.
                return Err(gva::GPA_UNMAPPED);
            }
            let offset = (gpa % HV_HYP_PAGE_SIZE as u64) as usize;
            if offset + size > HV_HYP_PAGE_SIZE {
                return Err(gva::INVALID_PAGE_TABLE_FLAGS);
            }
            // SAFETY: `pfn` is a page of RAM the root mapped into the guest's address space (in the
            // linear map); the offset is within it.
            Ok(unsafe { ffi::mshv_shim_page_address(pfn).cast::<u8>().add(offset) })
        }
    }

    impl GuestMemory for Tables<'_> {
        fn load(&mut self, gpa: u64, size: usize) -> Result<u64, u32> {
            let p = self.address(gpa, size, false)?;
            // SAFETY: `address` gave `size` bytes of the guest's page, aligned to their size
            // (an entry's address is its table's plus a multiple of it); the guest and the
            // VMM may write them meanwhile, so they are read at once, as atomics.
            Ok(unsafe {
                if size == 8 {
                    AtomicU64::from_ptr(p.cast()).load(Ordering::Relaxed)
                } else {
                    u64::from(AtomicU32::from_ptr(p.cast()).load(Ordering::Relaxed))
                }
            })
        }

        fn set_bits(&mut self, gpa: u64, size: usize, old: u64, bits: u64) -> Result<bool, u32> {
            let p = self.address(gpa, size, true)?;
            // SAFETY: As in `load`, with write access; the bits are set only if the entry is
            // still what the walk read (a compare and exchange, as the processor's).
            Ok(unsafe {
                if size == 8 {
                    AtomicU64::from_ptr(p.cast())
                        .compare_exchange(old, old | bits, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                } else {
                    let (old, bits) = (old as u32, bits as u32);
                    AtomicU32::from_ptr(p.cast())
                        .compare_exchange(old, old | bits, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                }
            })
        }
    }

    impl Machine {
        /// `HVCALL_TRANSLATE_VIRTUAL_ADDRESS`: the call succeeds whenever its input is good; the
        /// translation's own result is in the output.
        pub(in crate::transport::sim) fn translate_virtual_address(
            &mut self,
            input: &HvPage,
            output: &mut HvPage,
        ) -> RepResult {
            let args: TranslateVaIn = read(input, 0)?;
            let (flags, gva_page) = (args.control_flags, args.gva_page);
            if args.padding != 0 || flags & !gva::KNOWN != 0 || gva_page >> 52 != 0 {
                return Err((HvStatus::INVALID_PARAMETER, 0));
            }
            let vp_index = args.vp_index;
            let p = self.partition(args.partition_id).map_err(|s| (s, 0))?;
            let paging = p
                .vps
                .iter()
                .find(|vp| vp.index == vp_index)
                .map(Paging::of)
                .ok_or((HvStatus::INVALID_VP_INDEX, 0))?;
            let out = match translate(&paging, gva_page << 12, flags, &mut Tables(&mut p.slat)) {
                Ok(gpa) => TranslateVaOut {
                    result: u64::from(gva::SUCCESS) | gva::CACHE_TYPE_WRITE_BACK << 32,
                    gpa_page: gpa >> 12,
                },
                Err(code) => TranslateVaOut {
                    result: u64::from(code),
                    gpa_page: 0,
                },
            };
            write(output, 0, &out)
        }
    }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_sim_translate)]
mod tests {
    use super::*;

    /// Guest memory as a list of the entries written, zero elsewhere; nothing at or above 1 GiB
    /// (unmapped); and a write another CPU makes at the next `set_bits`, if any.
    struct Fake(KVec<(u64, u64)>, Option<(u64, u64)>);

    impl Fake {
        fn set(&mut self, gpa: u64, value: u64) {
            match self.0.iter_mut().find(|e| e.0 == gpa) {
                Some(e) => e.1 = value,
                None => self.0.push((gpa, value), GFP_KERNEL).unwrap(),
            }
        }

        fn get(&self, gpa: u64) -> u64 {
            self.0.iter().find(|e| e.0 == gpa).map_or(0, |e| e.1)
        }
    }

    impl GuestMemory for Fake {
        fn load(&mut self, gpa: u64, _size: usize) -> Result<u64, u32> {
            if gpa >= 1 << 30 {
                return Err(gva::GPA_UNMAPPED);
            }
            Ok(self.get(gpa))
        }

        fn set_bits(&mut self, gpa: u64, _size: usize, old: u64, bits: u64) -> Result<bool, u32> {
            if let Some((at, value)) = self.1.take() {
                self.set(at, value);
            }
            let now = self.get(gpa);
            if now != old {
                return Ok(false);
            }
            self.set(gpa, now | bits);
            Ok(true)
        }
    }

    const RW: u64 = PRESENT | WRITABLE;
    const LONG: Paging = Paging {
        cr0: CR0_PE | CR0_WP | CR0_PG,
        cr3: 0x1000,
        cr4: CR4_PAE,
        efer: EFER_LMA | EFER_NXE,
        cpl: 0,
    };
    const READ: u64 = gva::VALIDATE_READ;

    /// 4-level tables: PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000, PT at 0x4000; the
    /// address 0x40201234 (PML4 0, PDPT 1, PD 1, PT 1) in frame 0x9000.
    fn long_mode() -> Fake {
        let mut m = Fake(KVec::new(), None);
        m.set(0x1000, 0x2000 | RW | USER);
        m.set(0x2000 + 8, 0x3000 | RW | USER);
        m.set(0x3000 + 8, 0x4000 | RW | USER);
        m.set(0x4000 + 8, 0x9000 | RW | USER);
        m
    }

    #[test]
    fn paging_off_is_the_identity() {
        let mut m = Fake(KVec::new(), None);
        let p = Paging::default();
        assert_eq!(translate(&p, 0xfed0_0123, READ, &mut m), Ok(0xfed0_0123));
        assert_eq!(translate(&p, 0x1_0000_0042, READ, &mut m), Ok(0x42));
    }

    #[test]
    fn four_levels_reach_4k_2m_and_1g_pages() {
        let mut m = long_mode();
        assert_eq!(translate(&LONG, 0x4020_1234, READ, &mut m), Ok(0x9234));
        // PD entry 2: a 2 MiB page at 0x60_0000.
        m.set(0x3000 + 16, 0x60_0000 | RW | LARGE);
        assert_eq!(translate(&LONG, 0x4045_6789, READ, &mut m), Ok(0x65_6789));
        // PDPT entry 2: a 1 GiB page at 0x8000_0000.
        m.set(0x2000 + 16, 0x8000_0000 | RW | LARGE);
        assert_eq!(translate(&LONG, 0x8123_4567, READ, &mut m), Ok(0x8123_4567));
        // Reserved bits in a large page's address; a large PML4 entry.
        m.set(0x3000 + 16, 0x60_2000 | RW | LARGE);
        assert_eq!(
            translate(&LONG, 0x4045_6789, READ, &mut m),
            Err(gva::INVALID_PAGE_TABLE_FLAGS)
        );
        m.set(0x1000, 0x2000 | RW | LARGE);
        assert_eq!(
            translate(&LONG, 0x4020_1234, READ, &mut m),
            Err(gva::INVALID_PAGE_TABLE_FLAGS)
        );
    }

    #[test]
    fn five_levels_and_canonical_addresses() {
        let mut m = long_mode();
        // Non-canonical under 4 levels.
        assert_eq!(
            translate(&LONG, 0x0000_8000_0000_0000, READ, &mut m),
            Err(gva::PAGE_NOT_PRESENT)
        );
        // The top half: PML4 entry 511.
        m.set(0x1000 + 511 * 8, 0x2000 | RW);
        assert_eq!(
            translate(&LONG, 0xffff_ff80_4020_1234, READ, &mut m),
            Ok(0x9234)
        );
        // 5 levels: a PML5 at 0x5000 whose entry 0 points to the PML4.
        let la57 = Paging {
            cr3: 0x5000,
            cr4: CR4_PAE | CR4_LA57,
            ..LONG
        };
        m.set(0x5000, 0x1000 | RW | USER);
        assert_eq!(translate(&la57, 0x4020_1234, READ, &mut m), Ok(0x9234));
    }

    #[test]
    fn not_present_and_unreachable_tables_fail() {
        let mut m = long_mode();
        assert_eq!(
            translate(&LONG, 0x4020_2000, READ, &mut m),
            Err(gva::PAGE_NOT_PRESENT)
        );
        m.set(0x4000 + 16, 0x4000_0000 | RW);
        m.set(0x3000 + 24, 0x4000_0000 | RW);
        // PD entry 3 points to a table the guest has not mapped.
        assert_eq!(
            translate(&LONG, 0x4060_0000, READ, &mut m),
            Err(gva::GPA_UNMAPPED)
        );
    }

    #[test]
    fn rights_are_checked_as_the_processor_does() {
        let mut m = long_mode();
        // A read-only page: a supervisor write fails with CR0.WP, passes without.
        m.set(0x4000 + 8, 0x9000 | PRESENT | USER);
        let write = gva::VALIDATE_WRITE;
        assert_eq!(
            translate(&LONG, 0x4020_1234, write, &mut m),
            Err(gva::PRIVILEGE_VIOLATION)
        );
        let no_wp = Paging {
            cr0: CR0_PE | CR0_PG,
            ..LONG
        };
        assert_eq!(translate(&no_wp, 0x4020_1234, write, &mut m), Ok(0x9234));
        // The user's access, at CPL 3 or asked for, fails on a supervisor page; exempt, it
        // passes.
        m.set(0x4000 + 8, 0x9000 | RW);
        let user = Paging { cpl: 3, ..LONG };
        assert_eq!(
            translate(&user, 0x4020_1234, READ, &mut m),
            Err(gva::PRIVILEGE_VIOLATION)
        );
        assert_eq!(
            translate(&LONG, 0x4020_1234, READ | gva::USER_ACCESS, &mut m),
            Err(gva::PRIVILEGE_VIOLATION)
        );
        let exempt = READ | gva::PRIVILEGE_EXEMPT;
        assert_eq!(translate(&user, 0x4020_1234, exempt, &mut m), Ok(0x9234));
        // No-execute: refused for execution; reserved without EFER.NXE.
        m.set(0x4000 + 8, 0x9000 | RW | NO_EXECUTE);
        assert_eq!(translate(&LONG, 0x4020_1234, READ, &mut m), Ok(0x9234));
        assert_eq!(
            translate(&LONG, 0x4020_1234, gva::VALIDATE_EXECUTE, &mut m),
            Err(gva::PRIVILEGE_VIOLATION)
        );
        let no_nxe = Paging {
            efer: EFER_LMA,
            ..LONG
        };
        assert_eq!(
            translate(&no_nxe, 0x4020_1234, READ, &mut m),
            Err(gva::INVALID_PAGE_TABLE_FLAGS)
        );
    }

    #[test]
    fn set_page_table_bits_marks_accessed_and_dirty() {
        let mut m = long_mode();
        let flags = gva::VALIDATE_WRITE | gva::SET_PAGE_TABLE_BITS;
        assert_eq!(translate(&LONG, 0x4020_1234, READ, &mut m), Ok(0x9234));
        assert_eq!(m.get(0x4000 + 8) & (ACCESSED | DIRTY), 0);
        assert_eq!(translate(&LONG, 0x4020_1234, flags, &mut m), Ok(0x9234));
        for at in [0x1000, 0x2000 + 8, 0x3000 + 8] {
            assert_eq!(m.get(at) & (ACCESSED | DIRTY), ACCESSED);
        }
        assert_eq!(m.get(0x4000 + 8) & (ACCESSED | DIRTY), ACCESSED | DIRTY);
        // The PT entry is pointed elsewhere while the bits are set: the walk starts over and
        // finds the new frame.
        m.set(0x4000 + 8, 0x9000 | RW | USER);
        m.1 = Some((0x4000 + 8, 0xa000 | RW | USER));
        assert_eq!(translate(&LONG, 0x4020_1234, flags, &mut m), Ok(0xa234));
        assert_eq!(m.get(0x4000 + 8), 0xa000 | RW | USER | ACCESSED | DIRTY);
    }

    #[test]
    fn pae_and_32_bit_paging() {
        // PAE: PDPT at 0x1000 (entry 1), PD at 0x3000 (entry 1), PT at 0x4000 (entry 1).
        let mut m = Fake(KVec::new(), None);
        m.set(0x1000 + 8, 0x3000 | PRESENT);
        m.set(0x3000 + 8, 0x4000 | RW);
        m.set(0x4000 + 8, 0x9000 | RW);
        let pae = Paging {
            efer: EFER_NXE,
            ..LONG
        };
        assert_eq!(translate(&pae, 0x4020_1234, READ, &mut m), Ok(0x9234));
        // A PDPTE's write bit is reserved.
        m.set(0x1000 + 8, 0x3000 | RW);
        assert_eq!(
            translate(&pae, 0x4020_1234, READ, &mut m),
            Err(gva::INVALID_PAGE_TABLE_FLAGS)
        );
        // 32-bit: PD at 0x5000; entry 0x101 a table at 0x6000, entry 0x102 a 4 MiB page (with
        // CR4.PSE).
        m.set(0x5000 + 0x101 * 4, 0x6000 | RW);
        m.set(0x6000 + 4, 0xa000 | RW);
        m.set(0x5000 + 0x102 * 4, 0x0140_0000 | RW | LARGE);
        let legacy = Paging {
            cr3: 0x5000,
            cr4: CR4_PSE,
            efer: 0,
            ..LONG
        };
        assert_eq!(translate(&legacy, 0x4040_1234, READ, &mut m), Ok(0xa234));
        assert_eq!(
            translate(&legacy, 0x4081_2345, READ, &mut m),
            Ok(0x0141_2345)
        );
        // PSE-36: bits 13-20 are the page's address bits 32-39; bit 21 is reserved.
        m.set(0x5000 + 0x103 * 4, 0x0140_0000 | 0x3 << 13 | RW | LARGE);
        assert_eq!(
            translate(&legacy, 0x40c1_2345, READ, &mut m),
            Ok(0x3_0141_2345)
        );
        m.set(0x5000 + 0x103 * 4, 0x0140_0000 | 1 << 21 | RW | LARGE);
        assert_eq!(
            translate(&legacy, 0x40c1_2345, READ, &mut m),
            Err(gva::INVALID_PAGE_TABLE_FLAGS)
        );
        // Without CR4.PSE the entry is a table's (where nothing is present).
        let no_pse = Paging { cr4: 0, ..legacy };
        assert_eq!(
            translate(&no_pse, 0x4081_2345, READ, &mut m),
            Err(gva::PAGE_NOT_PRESENT)
        );
    }
}
