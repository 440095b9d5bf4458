// SPDX-License-Identifier: GPL-2.0

//! Partition properties the simulated hypervisor knows: their codes (`enum
//! hv_partition_property_code` of the hypervisor's headers; the kernel's `hvhdk_mini.h` lists
//! only those upstream's driver uses), what they read before anybody sets them, and when they
//! may be set.

use crate::hv::{
    abi::CreatePartitionIn,
    HV_HYP_PAGE_SIZE, //
};

/// When a property may be set.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Set {
    /// Never: it describes the machine or the partition's creation.
    Never,
    /// Only before the partition is initialised ("early" properties).
    Early,
    /// At any time.
    Always,
}

/// What a property reads before it is set.
#[derive(Clone, Copy)]
enum Initial {
    /// A fixed value.
    Value(u64),
    /// The processor features bank `n` left enabled (the complement of what creation disabled).
    Features(usize),
    /// The XSAVE features creation left enabled.
    XsaveFeatures,
}

/// One property.
struct Property {
    code: u32,
    default: Initial,
    set: Set,
}

const fn p(code: u32, default: Initial, set: Set) -> Property {
    Property { code, default, set }
}

use Initial::*;

/// Every property, for partitions and for the root (`HV_PARTITION_ID_SELF`).
const PROPERTIES: &[Property] = &[
    p(0x0001_0000, Value(0), Set::Early),      // PRIVILEGE_FLAGS
    p(0x0001_0001, Value(0), Set::Early),      // SYNTHETIC_PROC_FEATURES
    p(0x0002_0000, Value(0), Set::Always),     // SUSPEND
    p(0x0003_0003, Value(0), Set::Always),     // TIME_FREEZE
    p(0x0003_0005, Value(0), Set::Always),     // REFERENCE_TIME
    p(0x0005_0005, Value(0), Set::Always),     // GPA_PAGE_ACCESS_TRACKING
    p(0x0005_0017, Value(0), Set::Always),     // UNIMPLEMENTED_MSR_ACTION
    p(0x0006_0000, Value(1), Set::Never),      // PROCESSOR_VENDOR
    p(0x0006_0002, XsaveFeatures, Set::Early), // PROCESSOR_XSAVE_FEATURES
    p(0x0006_0003, Value(8), Set::Never),      // PROCESSOR_CL_FLUSH_SIZE
    p(0x0006_0005, Value(0x0609), Set::Never), // COMPATIBILITY_VERSION
    p(0x0006_0006, Value(46), Set::Never),     // PHYSICAL_ADDRESS_WIDTH
    p(0x0006_0007, Value(0x7), Set::Never),    // XSAVE_STATES
    p(
        0x0006_0008, // MAX_XSAVE_DATA_SIZE
        Value(HV_HYP_PAGE_SIZE as u64),
        Set::Never,
    ),
    p(0x0006_0009, Value(2_000_000_000), Set::Never), // PROCESSOR_CLOCK_FREQUENCY
    p(0x0006_000a, Features(0), Set::Early),          // PROCESSOR_FEATURES0
    p(0x0006_000b, Features(1), Set::Early),          // PROCESSOR_FEATURES1
];

/// The root partition reads every property as a partition created with nothing disabled.
const ROOT: CreatePartitionIn = CreatePartitionIn {
    flags: 0,
    proximity_domain_id: 0,
    proximity_flags: 0,
    compatibility_version: 0x0609,
    padding: 0,
    disabled_processor_features: [0; 2],
    disabled_processor_xsave_features: 0,
    isolation_properties: 0,
};

fn find(code: u32) -> Option<&'static Property> {
    PROPERTIES.iter().find(|p| p.code == code)
}

/// What property `code` reads before it is set, in a partition created with `created` (the
/// root's own partition for `None`); `None` for an unknown property.
pub(super) fn default(code: u32, created: Option<&CreatePartitionIn>) -> Option<u64> {
    let created = created.unwrap_or(&ROOT);
    Some(match find(code)?.default {
        Value(v) => v,
        Features(bank) => {
            let banks = created.disabled_processor_features;
            !banks[bank]
        }
        XsaveFeatures => !created.disabled_processor_xsave_features,
    })
}

/// When property `code` may be set; `None` for an unknown property.
pub(super) fn settable(code: u32) -> Option<Set> {
    find(code).map(|p| p.set)
}

/// `HV_PARTITION_PROPERTY_VMM_CAPABILITIES` (read with the `_EX` call).
pub(super) const VMM_CAPABILITIES: u32 = 0x0009_0007;
/// `HV_PARTITION_PROPERTY_ASSIGNABLE_SYNTHETIC_PROC_FEATURES` (read with the `_EX` call).
pub(super) const ASSIGNABLE_SYNTHETIC_PROC_FEATURES: u32 = 0x0009_0009;
