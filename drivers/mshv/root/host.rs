// SPDX-License-Identifier: GPL-2.0

//! What the root learns of its host at load, as upstream's driver does and in its order: the
//! hypervisor's version (a build outside the range upstream validated is said so, and used),
//! the VMM capabilities (which only an L1 virtual host must have), then the scheduler that
//! runs the VPs ([`scheduler`]).

use kernel::prelude::*;

use super::scheduler;
use crate::{
    calls,
    env::{
        HvEnvironment,
        PartitionType, //
    },
    hv::abi::{
        property,
        HV_PARTITION_ID_SELF, //
    },
    transport::{
        hv,
        HvPages, //
    },
};

/// The hypervisor builds upstream's driver was validated with (`MSHV_HV_MIN_VERSION`,
/// `MSHV_HV_MAX_VERSION`).
const VALIDATED_BUILDS: core::ops::RangeInclusive<u32> = 27744..=27751;

/// Reads what the root needs of its host; fails the load where upstream's does: no version
/// (`ENODEV`), no VMM capabilities on an L1 virtual host, no known scheduler.
pub(crate) fn probe() -> Result {
    let version = hv().version().map_err(|e| {
        pr_err!(
            "cannot read the hypervisor's version ({:?}): not loading\n",
            e
        );
        ENODEV
    })?;
    if !VALIDATED_BUILDS.contains(&version.build) {
        pr_warn!(
            "unvalidated Hyper-V version: build {} ({}.{}), validated {} to {}\n",
            version.build,
            version.major,
            version.minor,
            VALIDATED_BUILDS.start(),
            VALIDATED_BUILDS.end()
        );
    }
    let env = HvEnvironment::probe();
    let mut pages = HvPages::new()?;
    let caps = vmm_capabilities(&mut pages).or_else(|e| {
        if env.partition == PartitionType::L1vh {
            pr_err!("cannot read the VMM capabilities: {:?}\n", e);
            return Err(e);
        }
        Ok(0)
    })?;
    scheduler::probe(&mut pages, &env, caps)
}

/// The first bank of the root's VMM capabilities (none where the hypervisor reports no bank).
fn vmm_capabilities(pages: &mut HvPages) -> Result<u64> {
    let [count, bank] = calls::get_partition_property_ex::<2>(
        pages,
        HV_PARTITION_ID_SELF,
        property::VMM_CAPABILITIES,
        0,
    )?;
    // `bank_count` is the first `u16`.
    Ok(if count as u16 == 0 { 0 } else { bank })
}
