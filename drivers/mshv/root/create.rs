// SPDX-License-Identifier: GPL-2.0

//! `MSHV_CREATE_PARTITION`'s argument: read (v1 or v2), validated, and turned into the
//! create-partition hypercall's input.

use kernel::prelude::*;

use crate::{
    hv::abi::{
        creation_flag,
        CreatePartitionIn,
        HV_COMPATIBILITY_21_H2, //
    },
    uapi::{
        self,
        pt_bit,
        CreatePartition,
        CreatePartitionV2,
        MSHV_NUM_CPU_FEATURES_BANKS,
        MSHV_PT_ISOLATION_COUNT, //
    },
};

/// Checks the fields v1 and v2 share.
fn check_common(pt_flags: u64, pt_isolation: u64) -> Result {
    if pt_flags & !((1u64 << pt_bit::COUNT) - 1) != 0 || pt_isolation >= MSHV_PT_ISOLATION_COUNT {
        return Err(EINVAL);
    }
    Ok(())
}

/// Reads the argument at user address `arg`: 16 bytes, and all 64 only when `pt_flags` asks
/// for the v2 layout (`MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES`). The v1 fields are checked again
/// in the second copy, which is the one used.
pub(super) fn read(arg: usize) -> Result<CreatePartitionIn> {
    let v1: CreatePartition = uapi::read_user(arg)?;
    check_common(v1.pt_flags, v1.pt_isolation)?;
    if v1.pt_flags & (1 << pt_bit::CPU_AND_XSAVE_FEATURES) == 0 {
        // v1: every feature the hypervisor offers, nothing disabled.
        return Ok(hypercall_input(
            v1.pt_flags,
            [0; MSHV_NUM_CPU_FEATURES_BANKS],
            0,
        ));
    }
    let v2: CreatePartitionV2 = uapi::read_user(arg)?;
    from_v2(&v2)
}

/// Validates a v2 argument and returns the hypercall input it asks for.
fn from_v2(v2: &CreatePartitionV2) -> Result<CreatePartitionIn> {
    let (flags, isolation, banks) = (v2.pt_flags, v2.pt_isolation, v2.pt_num_cpu_fbanks);
    check_common(flags, isolation)?;
    if usize::from(banks) != MSHV_NUM_CPU_FEATURES_BANKS || v2.pt_rsvd != [0; 6] || { v2.pt_rsvd1 }
        != [0; 2]
    {
        return Err(EINVAL);
    }
    let xsave = v2.pt_disabled_xsave;
    // On arm64 the last field is reserved (`pt_rsvd2`): it must be zero, and there are no
    // XSAVE features to disable.
    let xsave = if cfg!(CONFIG_X86_64) {
        xsave
    } else if xsave != 0 {
        return Err(EINVAL);
    } else {
        0
    };
    Ok(hypercall_input(flags, v2.pt_cpu_fbanks, xsave))
}

/// The hypercall input for validated arguments: banks and XSAVE word go through unchanged.
fn hypercall_input(
    pt_flags: u64,
    banks: [u64; MSHV_NUM_CPU_FEATURES_BANKS],
    disabled_xsave: u64,
) -> CreatePartitionIn {
    const MAP: [(u32, u64); 5] = [
        (pt_bit::LAPIC, creation_flag::LAPIC_ENABLED),
        (pt_bit::X2APIC, creation_flag::X2APIC_CAPABLE),
        (
            pt_bit::GPA_SUPER_PAGES,
            creation_flag::GPA_SUPER_PAGES_ENABLED,
        ),
        (
            pt_bit::NESTED_VIRTUALIZATION,
            creation_flag::NESTED_VIRTUALIZATION_CAPABLE,
        ),
        (pt_bit::SMT_ENABLED_GUEST, creation_flag::SMT_ENABLED_GUEST),
    ];
    let mut flags = creation_flag::EXO_PARTITION | creation_flag::INTERCEPT_MESSAGE_PAGE_ENABLED;
    for (bit, hv_flag) in MAP {
        if pt_flags & (1 << bit) != 0 {
            flags |= hv_flag;
        }
    }
    CreatePartitionIn {
        flags,
        proximity_domain_id: 0,
        proximity_flags: 0,
        compatibility_version: HV_COMPATIBILITY_21_H2,
        padding: 0,
        disabled_processor_features: banks,
        disabled_processor_xsave_features: disabled_xsave,
        isolation_properties: 0,
    }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_root_create)]
mod tests {
    use super::*;

    fn v2(banks: u16) -> CreatePartitionV2 {
        CreatePartitionV2 {
            pt_flags: 1 << pt_bit::CPU_AND_XSAVE_FEATURES | 1 << pt_bit::LAPIC,
            pt_isolation: 0,
            pt_num_cpu_fbanks: banks,
            pt_rsvd: [0; 6],
            pt_cpu_fbanks: [0x1234_5678_9abc_def0, 0x8000_0000_0000_0001],
            pt_rsvd1: [0; 2],
            pt_disabled_xsave: 0,
        }
    }

    #[test]
    fn banks_pass_through_unchanged() -> Result {
        let input = from_v2(&v2(2))?;
        let banks = input.disabled_processor_features;
        assert_eq!(banks, [0x1234_5678_9abc_def0, 0x8000_0000_0000_0001]);
        let flags = input.flags;
        assert_eq!(
            flags,
            creation_flag::EXO_PARTITION
                | creation_flag::INTERCEPT_MESSAGE_PAGE_ENABLED
                | creation_flag::LAPIC_ENABLED
        );
        Ok(())
    }

    #[test]
    fn bank_count_must_be_two() {
        for banks in [0, 1, 3, u16::MAX] {
            assert_eq!(from_v2(&v2(banks)).err(), Some(EINVAL));
        }
    }

    #[test]
    fn reserved_fields_must_be_zero() {
        let mut a = v2(2);
        a.pt_rsvd[5] = 1;
        assert_eq!(from_v2(&a).err(), Some(EINVAL));
        let mut b = v2(2);
        b.pt_rsvd1 = [0, 1];
        assert_eq!(from_v2(&b).err(), Some(EINVAL));
        let mut c = v2(2);
        c.pt_isolation = 1;
        assert_eq!(from_v2(&c).err(), Some(EINVAL));
        let mut d = v2(2);
        d.pt_flags |= 1 << pt_bit::COUNT;
        assert_eq!(from_v2(&d).err(), Some(EINVAL));
    }

    #[test]
    fn every_uapi_flag_maps() {
        let input = hypercall_input((1 << pt_bit::COUNT) - 1, [0; 2], 0);
        let flags = input.flags;
        assert_eq!(flags, 0x0048_2113);
        let compat = input.compatibility_version;
        assert_eq!(compat, 0x0609);
    }
}
