// SPDX-License-Identifier: GPL-2.0

//! Which scheduler runs the guests' VPs, as the hypervisor says at load
//! (`HVCALL_GET_SYSTEM_PROPERTY`, `HV_SYSTEM_PROPERTY_SCHEDULER_TYPE`).
//!
//! Under the hypervisor's schedulers (classic, with or without SMT, and the core scheduler) a
//! VP runs once its suspend registers are cleared, and `MSHV_RUN_VP` waits for its intercept.
//! Under the root scheduler the root's thread dispatches the VP itself (`HVCALL_DISPATCH_VP`,
//! see `Vp::dispatch_once`). A type the driver does not know refuses the load, as upstream's
//! does. An L1 virtual host does not ask: its hypervisor runs the core scheduler, unless its
//! VMM capabilities offer the integrated scheduler and the root's property
//! `INTEGRATED_SCHEDULER_ENABLED` says it is on (then the root scheduler), as upstream has it.

use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

use crate::{
    calls,
    env::{
        HvEnvironment,
        PartitionType, //
    },
    hv::abi::{
        property,
        scheduler_type,
        vmm_capability,
        HV_PARTITION_ID_SELF,
        SYSTEM_PROPERTY_SCHEDULER_TYPE, //
    },
    transport::HvPages,
};

/// The scheduler the hypervisor runs, once [`probe`] read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheduler {
    /// Classic, without SMT (`HV_SCHEDULER_TYPE_LP`).
    Lp,
    /// Classic, with SMT (`HV_SCHEDULER_TYPE_LP_SMT`).
    LpSmt,
    /// The core scheduler (`HV_SCHEDULER_TYPE_CORE_SMT`).
    CoreSmt,
    /// The root's (`HV_SCHEDULER_TYPE_ROOT`).
    Root,
}

impl Scheduler {
    /// The scheduler of type `raw`; `EOPNOTSUPP` for one the driver does not know.
    fn from_raw(raw: u32) -> Result<Self> {
        match raw {
            scheduler_type::LP => Ok(Self::Lp),
            scheduler_type::LP_SMT => Ok(Self::LpSmt),
            scheduler_type::CORE_SMT => Ok(Self::CoreSmt),
            scheduler_type::ROOT => Ok(Self::Root),
            _ => Err(EOPNOTSUPP),
        }
    }

    /// Its name, for the kernel log.
    fn name(self) -> &'static str {
        match self {
            Self::Lp => "LP",
            Self::LpSmt => "LP SMT",
            Self::CoreSmt => "core",
            Self::Root => "root",
        }
    }
}

/// Whether the hypervisor runs the VPs itself (not the root scheduler). Written once, at load,
/// before `/dev/mshv` exists.
static HYPERVISOR_RUNS_VPS: Atomic<bool> = Atomic::new(false);

/// Reads the hypervisor's scheduler type in `env` (the root's VMM capabilities `caps`) and
/// remembers whether it runs the VPs; fails the load (`EOPNOTSUPP`) for an unknown type, or
/// with a call's errno.
pub(crate) fn probe(pages: &mut HvPages, env: &HvEnvironment, caps: u64) -> Result {
    let scheduler = {
        let mut read = |what: Read| match what {
            Read::Type => calls::get_system_property_u32(pages, SYSTEM_PROPERTY_SCHEDULER_TYPE),
            Read::Integrated => calls::get_partition_property_ex::<1>(
                pages,
                HV_PARTITION_ID_SELF,
                property::INTEGRATED_SCHEDULER_ENABLED,
                0,
            )
            .map(|[on]| u32::from(on != 0)),
        };
        of(env, caps, &mut read).inspect_err(|e| pr_err!("cannot tell the scheduler: {:?}\n", e))?
    };
    if scheduler == Scheduler::Root {
        pr_info!("the root scheduler: MSHV_RUN_VP dispatches the VPs\n");
    } else {
        pr_info!(
            "the hypervisor's {} scheduler runs the VPs\n",
            scheduler.name()
        );
    }
    HYPERVISOR_RUNS_VPS.store(scheduler != Scheduler::Root, Relaxed);
    Ok(())
}

/// What [`of`] asks the hypervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Read {
    /// The scheduler type (`HV_SYSTEM_PROPERTY_SCHEDULER_TYPE`).
    Type,
    /// Whether the integrated scheduler is on (an L1 virtual host's): 1 or 0.
    Integrated,
}

/// The scheduler in `env`, with VMM capabilities `caps`, asking `read` what it must.
fn of(
    env: &HvEnvironment,
    caps: u64,
    read: &mut impl FnMut(Read) -> Result<u32>,
) -> Result<Scheduler> {
    if env.partition == PartitionType::L1vh {
        if caps & vmm_capability::ENABLE_INTEGRATED_SCHEDULER == 0 {
            return Ok(Scheduler::CoreSmt);
        }
        return Ok(if read(Read::Integrated)? != 0 {
            Scheduler::Root
        } else {
            Scheduler::CoreSmt
        });
    }
    let raw = read(Read::Type)?;
    Scheduler::from_raw(raw)
        .inspect_err(|_| pr_err!("unknown scheduler type {}: not loading\n", raw))
}

/// Whether the hypervisor runs the VPs (else `MSHV_RUN_VP` dispatches them).
pub(crate) fn hypervisor_runs_vps() -> bool {
    HYPERVISOR_RUNS_VPS.load(Relaxed)
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_scheduler)]
mod tests {
    use super::*;

    #[test]
    fn the_four_known_types_and_no_other() {
        assert_eq!(Scheduler::from_raw(1), Ok(Scheduler::Lp));
        assert_eq!(Scheduler::from_raw(2), Ok(Scheduler::LpSmt));
        assert_eq!(Scheduler::from_raw(3), Ok(Scheduler::CoreSmt));
        assert_eq!(Scheduler::from_raw(4), Ok(Scheduler::Root));
        for raw in [0, 5, 6, u32::MAX] {
            assert_eq!(Scheduler::from_raw(raw), Err(EOPNOTSUPP));
        }
    }

    /// What `of` comes to, and what it asked.
    fn decide(partition: PartitionType, caps: u64, answer: u32) -> (Result<Scheduler>, KVec<Read>) {
        let env = HvEnvironment { partition, vtl: 0 };
        let mut asked = KVec::new();
        let got = of(&env, caps, &mut |what| {
            asked.push(what, GFP_KERNEL).unwrap();
            match answer {
                u32::MAX => Err(EIO),
                a => Ok(a),
            }
        });
        (got, asked)
    }

    #[test]
    fn an_l1_virtual_host_asks_only_with_the_integrated_scheduler() {
        let integrated = vmm_capability::ENABLE_INTEGRATED_SCHEDULER;
        let (got, asked) = decide(PartitionType::L1vh, 0, 1);
        assert_eq!(got, Ok(Scheduler::CoreSmt));
        assert!(asked.is_empty());
        let (got, asked) = decide(PartitionType::L1vh, integrated, 1);
        assert_eq!(got, Ok(Scheduler::Root));
        assert_eq!(&asked[..], &[Read::Integrated]);
        let (got, _) = decide(PartitionType::L1vh, integrated, 0);
        assert_eq!(got, Ok(Scheduler::CoreSmt));
        let (got, _) = decide(PartitionType::L1vh, integrated, u32::MAX);
        assert_eq!(got, Err(EIO));
    }

    #[test]
    fn elsewhere_the_scheduler_type_is_asked() {
        for partition in [
            PartitionType::Root,
            PartitionType::Guest,
            PartitionType::NoHypervisor,
        ] {
            let (got, asked) = decide(partition, u64::MAX, 4);
            assert_eq!(got, Ok(Scheduler::Root));
            assert_eq!(&asked[..], &[Read::Type]);
            assert_eq!(decide(partition, 0, 9).0, Err(EOPNOTSUPP));
            assert_eq!(decide(partition, 0, u32::MAX).0, Err(EIO));
        }
    }
}
