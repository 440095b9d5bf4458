// SPDX-License-Identifier: GPL-2.0

//! The hypercall control word and the rep arithmetic (TLFS "Hypercall Inputs").
//!
//! | bits  | field                                   |
//! |-------|-----------------------------------------|
//! | 0-15  | call code                               |
//! | 16    | fast (inputs in registers)              |
//! | 17-26 | variable header size, in 8-byte units   |
//! | 31    | nested                                  |
//! | 32-43 | rep count                               |
//! | 48-59 | rep start index                         |
//!
//! Bits 27-30, 44-47 and 60-63 are reserved and must be zero.

// Decoding a control word is the hypervisor's side: without the simulator nothing reads one.
#![cfg_attr(not(CONFIG_MSHV_RUST_SIMULATOR), allow(dead_code))]

use kernel::prelude::*;

use super::HV_HYP_PAGE_SIZE;

const FAST: u64 = 1 << 16;
const VARHEAD_SHIFT: u32 = 17;
const VARHEAD_MAX: u64 = (1 << 10) - 1;
const NESTED: u64 = 1 << 31;
const REP_COUNT_SHIFT: u32 = 32;
const REP_START_SHIFT: u32 = 48;
/// The largest rep count or rep start index a control word holds (12 bits).
pub(crate) const REP_MAX: u16 = (1 << 12) - 1;
const RESERVED: u64 = (0xf << 27) | (0xf << 44) | (0xf << 60);

/// A hypercall control word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Control(u64);

impl Control {
    /// A simple (not rep, not fast) call of `code`.
    pub(crate) const fn new(code: u16) -> Self {
        Self(code as u64)
    }

    /// A rep call of `code` over `count` elements starting at `start`.
    pub(crate) fn rep(code: u16, count: u16, start: u16) -> Result<Self> {
        if count == 0 || count > REP_MAX || start > REP_MAX {
            return Err(EINVAL);
        }
        Ok(Self(
            u64::from(code)
                | u64::from(count) << REP_COUNT_SHIFT
                | u64::from(start) << REP_START_SHIFT,
        ))
    }

    /// The same call with its inputs in registers.
    pub(crate) const fn fast(self) -> Self {
        Self(self.0 | FAST)
    }

    /// The same call with a variable header of `bytes` (a multiple of 8).
    pub(crate) fn var_header(self, bytes: usize) -> Result<Self> {
        let units = (bytes / 8) as u64;
        if bytes % 8 != 0 || units > VARHEAD_MAX {
            return Err(EINVAL);
        }
        Ok(Self(self.0 | units << VARHEAD_SHIFT))
    }

    /// Takes a control word as it is (a paravisor's own, through `/dev/mshv_hvcall`; the
    /// hypervisor checks it).
    pub(crate) const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The word to pass to the hypervisor.
    pub(crate) const fn raw(self) -> u64 {
        self.0
    }

    /// The call code.
    pub(crate) const fn code(self) -> u16 {
        self.0 as u16
    }

    /// Whether the inputs are in registers.
    pub(crate) const fn is_fast(self) -> bool {
        self.0 & FAST != 0
    }

    /// Whether the call is for the nested hypervisor.
    pub(crate) const fn is_nested(self) -> bool {
        self.0 & NESTED != 0
    }

    /// The variable header's size in bytes.
    pub(crate) const fn var_header_bytes(self) -> usize {
        (((self.0 >> VARHEAD_SHIFT) & VARHEAD_MAX) * 8) as usize
    }

    /// The rep count (0 for a simple call).
    pub(crate) const fn rep_count(self) -> u16 {
        ((self.0 >> REP_COUNT_SHIFT) as u16) & REP_MAX
    }

    /// The index of the first rep to process.
    pub(crate) const fn rep_start(self) -> u16 {
        ((self.0 >> REP_START_SHIFT) as u16) & REP_MAX
    }

    /// Whether any reserved bit is set (the hypervisor rejects such a call).
    pub(crate) const fn has_reserved_bits(self) -> bool {
        self.0 & RESERVED != 0
    }
}

/// How many rep elements of `element` bytes fit in one input page after a fixed header of
/// `header` bytes, capped at what a control word can count. Zero if not even one fits.
pub(crate) const fn reps_per_page(header: usize, element: usize) -> u16 {
    if element == 0 || header >= HV_HYP_PAGE_SIZE {
        return 0;
    }
    let n = (HV_HYP_PAGE_SIZE - header) / element;
    if n > REP_MAX as usize {
        REP_MAX
    } else {
        n as u16
    }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_hv_control)]
mod tests {
    use super::*;

    #[test]
    fn simple_call_is_just_the_code() {
        let c = Control::new(0x0040);
        assert_eq!(c.raw(), 0x40);
        assert_eq!(c.code(), 0x40);
        assert_eq!(c.rep_count(), 0);
        assert!(!c.is_fast());
        assert!(!c.has_reserved_bits());
    }

    #[test]
    fn rep_call_encodes_count_and_start() -> Result {
        let c = Control::rep(0x004b, 511, 7)?;
        assert_eq!(c.raw(), 0x004b | 511 << 32 | 7 << 48);
        assert_eq!((c.code(), c.rep_count(), c.rep_start()), (0x4b, 511, 7));
        Ok(())
    }

    #[test]
    fn rep_limits_are_enforced() {
        assert_eq!(Control::rep(1, 0, 0), Err(EINVAL));
        assert_eq!(Control::rep(1, REP_MAX + 1, 0), Err(EINVAL));
        assert_eq!(Control::rep(1, 1, REP_MAX + 1), Err(EINVAL));
        assert!(Control::rep(1, REP_MAX, REP_MAX).is_ok());
    }

    #[test]
    fn fast_and_var_header_bits() -> Result {
        let c = Control::new(0x99).fast().var_header(16)?;
        assert_eq!(c.raw(), 0x99 | 1 << 16 | 2 << 17);
        assert!(c.is_fast());
        assert_eq!(c.var_header_bytes(), 16);
        assert_eq!(Control::new(1).var_header(12), Err(EINVAL));
        assert_eq!(Control::new(1).var_header(8 * 1024), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn reserved_and_nested_bits_are_seen() {
        assert!(Control::from_raw(1 << 27).has_reserved_bits());
        assert!(Control::from_raw(1 << 44).has_reserved_bits());
        assert!(Control::from_raw(1 << 63).has_reserved_bits());
        assert!(Control::from_raw(1 << 31).is_nested());
        assert!(!Control::from_raw(1 << 31).has_reserved_bits());
    }

    #[test]
    fn reps_per_page_fills_one_page() {
        // A GPA map call: 24 bytes of header, 8-byte PFNs.
        assert_eq!(reps_per_page(24, 8), 509);
        // A deposit: the partition id, then 8-byte PFNs.
        assert_eq!(reps_per_page(8, 8), 511);
        assert_eq!(reps_per_page(0, 1), REP_MAX);
        assert_eq!(reps_per_page(4096, 8), 0);
        assert_eq!(reps_per_page(8, 0), 0);
    }
}
