// SPDX-License-Identifier: GPL-2.0

//! What the kernel knows of the Microsoft hypervisor it runs on, and whether another driver
//! for it holds `/dev/mshv` already.

use kernel::{
    fmt,
    prelude::*, //
};

use crate::ffi;

/// The kind of Hyper-V partition the kernel runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PartitionType {
    /// No Microsoft hypervisor was found.
    NoHypervisor,
    /// An ordinary guest.
    Guest,
    /// The root partition: may create and run other partitions.
    Root,
    /// A level-1 virtual host: a guest that may create partitions of its own.
    L1vh,
}

impl PartitionType {
    /// Decodes the shim's `MSHV_SHIM_HV_*` value. Anything unknown is taken as a plain guest:
    /// the least privileged reading.
    fn from_shim(value: i32) -> Self {
        match value {
            ffi::MSHV_SHIM_HV_NONE => Self::NoHypervisor,
            ffi::MSHV_SHIM_HV_ROOT => Self::Root,
            ffi::MSHV_SHIM_HV_L1VH => Self::L1vh,
            _ => Self::Guest,
        }
    }
}

/// The hypervisor environment, read once at module load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HvEnvironment {
    /// The partition the kernel runs in.
    pub(crate) partition: PartitionType,
    /// The virtual trust level the kernel runs at.
    pub(crate) vtl: u8,
}

impl HvEnvironment {
    /// Reads the environment from the kernel's Hyper-V support.
    pub(crate) fn probe() -> Self {
        // SAFETY: Both shim functions only read variables the Hyper-V core set at boot and have
        // no preconditions.
        let (kind, vtl) = unsafe { (ffi::mshv_shim_hv_partition_type(), ffi::mshv_shim_hv_vtl()) };
        Self {
            partition: PartitionType::from_shim(kind),
            vtl,
        }
    }
}

impl HvEnvironment {
    /// Whether the kernel may create and run partitions through real hypercalls.
    pub(crate) fn can_issue_root_hypercalls(&self) -> bool {
        matches!(self.partition, PartitionType::Root | PartitionType::L1vh)
    }
}

/// `EBUSY` if another driver registered `/dev/mshv` (upstream's `mshv_root` or `mshv_vtl`, or
/// this project's other module): it owns the SynIC and the hypervisor's interrupt handler,
/// which this module would take from it (and give back to no one at unload).
pub(crate) fn claim_mshv_device() -> Result {
    // SAFETY: The name is a string, which the shim only reads.
    if unsafe { ffi::mshv_shim_misc_taken(c"mshv".as_char_ptr()) } {
        pr_err!("/dev/mshv is another driver's (mshv_root or mshv_vtl): not loading\n");
        return Err(EBUSY);
    }
    Ok(())
}

impl fmt::Display for HvEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.partition {
            PartitionType::NoHypervisor => return f.write_str("no Microsoft hypervisor found"),
            PartitionType::Guest => "guest partition",
            PartitionType::Root => "root partition",
            PartitionType::L1vh => "L1 virtual host",
        };
        write!(f, "Microsoft hypervisor: {what}, VTL{}", self.vtl)
    }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_env)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_shim_value() {
        for (value, expected) in [
            (ffi::MSHV_SHIM_HV_NONE, PartitionType::NoHypervisor),
            (ffi::MSHV_SHIM_HV_GUEST, PartitionType::Guest),
            (ffi::MSHV_SHIM_HV_ROOT, PartitionType::Root),
            (ffi::MSHV_SHIM_HV_L1VH, PartitionType::L1vh),
        ] {
            assert_eq!(PartitionType::from_shim(value), expected);
        }
    }

    #[test]
    fn unknown_shim_values_are_plain_guests() {
        for value in [-1, 4, i32::MAX, i32::MIN] {
            assert_eq!(PartitionType::from_shim(value), PartitionType::Guest);
        }
    }

    #[test]
    fn probe_is_consistent() {
        // Wherever the suite runs (a Hyper-V root partition or guest, a machine without
        // Hyper-V): the probe reads what the kernel found at boot, the same each time; there is
        // no VTL but 0 without a Microsoft hypervisor; and only a root partition or an L1
        // virtual host may issue root hypercalls. Which hypervisor the module then uses is
        // checked against this environment in `mshv_rs_transport`.
        let env = HvEnvironment::probe();
        assert_eq!(HvEnvironment::probe(), env);
        if env.partition == PartitionType::NoHypervisor {
            assert_eq!(env.vtl, 0);
        }
        let root = matches!(env.partition, PartitionType::Root | PartitionType::L1vh);
        assert_eq!(env.can_issue_root_hypercalls(), root);
    }
}
