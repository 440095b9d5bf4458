// SPDX-License-Identifier: GPL-2.0

//! Registers the VTLs of a VP share (x86_64): one piece of hardware that every VTL reads and
//! writes directly, so that VTL2 reaches VTL0's value without the hypervisor.
//!
//! The TLFS names them: the debug registers DR0-DR3, DR6 where the hypervisor says so
//! (`HV_REGISTER_VSM_CAPABILITIES.dr6_shared`), and the MTRRs. The driver handles a VTL0
//! register of these without a hypercall, as upstream's `mshv_vtl` does; the simulated
//! hypervisor answers a hypercall about one from the hardware, as the hypervisor does.

// The KUnit suite's attribute.
#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
use kernel::prelude::*;

/// Where a shared register is in the hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shared {
    /// A debug register: `DR<n>`, `n` in 0-3 or 6.
    Debug(u8),
    /// An MTRR: the model-specific register of this number.
    Mtrr(u32),
}

/// The architectural MSR numbers of the MTRRs (`asm/msr-index.h`, `uapi/asm/mtrr.h`).
pub(crate) mod msr {
    pub(crate) const MTRR_CAP: u32 = 0x0fe;
    pub(crate) const MTRR_DEF_TYPE: u32 = 0x2ff;
    /// `MTRRphysBase_MSR(n)` is `MTRR_PHYS_BASE0 + 2n`, `MTRRphysMask_MSR(n)` the one after.
    pub(crate) const MTRR_PHYS_BASE0: u32 = 0x200;
    pub(crate) const MTRR_FIX64K_00000: u32 = 0x250;
    pub(crate) const MTRR_FIX16K_80000: u32 = 0x258;
    pub(crate) const MTRR_FIX16K_A0000: u32 = 0x259;
    /// The eight 4 KiB ranges' registers, `C0000` to `F8000`, are consecutive from here.
    pub(crate) const MTRR_FIX4K_C0000: u32 = 0x268;
    /// Variable ranges the register names reach (`PHYS_BASE0`-`PHYS_BASEF`).
    pub(crate) const MTRR_VARIABLE: u32 = 16;
}

/// The register names (`enum hv_register_name`, x86_64) of the shared registers.
pub(crate) mod name {
    /// `HV_X64_REGISTER_DR0`; DR1-DR3 follow.
    pub(crate) const X64_DR0: u32 = 0x0005_0000;
    /// `HV_X64_REGISTER_DR6`.
    pub(crate) const X64_DR6: u32 = 0x0005_0004;
    pub(crate) const X64_MSR_MTRR_CAP: u32 = 0x0008_000D;
    pub(crate) const X64_MSR_MTRR_DEF_TYPE: u32 = 0x0008_000E;
    /// `HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0`; `BASE1`-`BASEF` follow.
    pub(crate) const X64_MSR_MTRR_PHYS_BASE0: u32 = 0x0008_0010;
    /// `HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0`; `MASK1`-`MASKF` follow.
    pub(crate) const X64_MSR_MTRR_PHYS_MASK0: u32 = 0x0008_0040;
    /// `HV_X64_REGISTER_MSR_MTRR_FIX64K00000`; the two 16K and the eight 4K ranges follow.
    pub(crate) const X64_MSR_MTRR_FIX64K00000: u32 = 0x0008_0070;
}

/// The shared register that register `name` is, if it is one; DR6 only if `dr6_shared`.
///
/// Only x86_64 has them: on arm64 every register is the hypervisor's.
pub(crate) fn shared(name: u32, dr6_shared: bool) -> Option<Shared> {
    use msr::*;
    use name::*;

    if !cfg!(CONFIG_X86_64) {
        return None;
    }
    let base = |first: u32, count: u32| name.checked_sub(first).filter(|&i| i < count);
    if let Some(n) = base(X64_DR0, 4) {
        return Some(Shared::Debug(n as u8));
    }
    if name == X64_DR6 {
        return dr6_shared.then_some(Shared::Debug(6));
    }
    let msr = match name {
        X64_MSR_MTRR_CAP => MTRR_CAP,
        X64_MSR_MTRR_DEF_TYPE => MTRR_DEF_TYPE,
        _ if let Some(n) = base(X64_MSR_MTRR_PHYS_BASE0, MTRR_VARIABLE) => MTRR_PHYS_BASE0 + 2 * n,
        _ if let Some(n) = base(X64_MSR_MTRR_PHYS_MASK0, MTRR_VARIABLE) => {
            MTRR_PHYS_BASE0 + 2 * n + 1
        }
        _ => match base(X64_MSR_MTRR_FIX64K00000, 11)? {
            0 => MTRR_FIX64K_00000,
            1 => MTRR_FIX16K_80000,
            2 => MTRR_FIX16K_A0000,
            n => MTRR_FIX4K_C0000 + (n - 3),
        },
    };
    Some(Shared::Mtrr(msr))
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_hv_shared)]
mod tests {
    use super::{
        msr,
        name::*,
        shared,
        Shared::*, //
    };

    #[test]
    fn the_debug_registers_dr0_to_dr3_and_dr6_if_shared() {
        if !cfg!(CONFIG_X86_64) {
            assert_eq!(shared(X64_DR0, true), None);
            return;
        }
        for n in 0..4 {
            assert_eq!(shared(X64_DR0 + n, false), Some(Debug(n as u8)));
        }
        assert_eq!(shared(X64_DR6, false), None);
        assert_eq!(shared(X64_DR6, true), Some(Debug(6)));
        // DR7 is each VTL's own.
        assert_eq!(shared(X64_DR6 + 1, true), None);
        assert_eq!(shared(X64_DR0 - 1, true), None);
    }

    #[test]
    fn every_mtrr_name_is_its_msr() {
        if !cfg!(CONFIG_X86_64) {
            return;
        }
        assert_eq!(shared(X64_MSR_MTRR_CAP, false), Some(Mtrr(0xfe)));
        assert_eq!(shared(X64_MSR_MTRR_DEF_TYPE, false), Some(Mtrr(0x2ff)));
        for n in 0..16 {
            assert_eq!(
                shared(X64_MSR_MTRR_PHYS_BASE0 + n, false),
                Some(Mtrr(0x200 + 2 * n))
            );
            assert_eq!(
                shared(X64_MSR_MTRR_PHYS_MASK0 + n, false),
                Some(Mtrr(0x201 + 2 * n))
            );
        }
        let fixed = [
            0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
        ];
        for (n, want) in (0..).zip(fixed) {
            assert_eq!(
                shared(X64_MSR_MTRR_FIX64K00000 + n, false),
                Some(Mtrr(want))
            );
        }
        // The names around them are the hypervisor's.
        for name in [
            X64_MSR_MTRR_CAP - 1,
            X64_MSR_MTRR_DEF_TYPE + 1,
            X64_MSR_MTRR_PHYS_BASE0 + 16,
            X64_MSR_MTRR_PHYS_MASK0 - 1,
            X64_MSR_MTRR_PHYS_MASK0 + 16,
            X64_MSR_MTRR_FIX64K00000 - 1,
            X64_MSR_MTRR_FIX64K00000 + 11,
        ] {
            assert_eq!(shared(name, true), None);
        }
        // Upstream's table: 4 debug registers, DR6, 45 MTRRs.
        let all = (0..0x10_0000)
            .filter(|&n| shared(n, true).is_some())
            .count();
        assert_eq!(all, 50);
        assert_eq!(msr::MTRR_VARIABLE, 16);
    }
}
