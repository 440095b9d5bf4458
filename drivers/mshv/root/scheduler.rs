// SPDX-License-Identifier: GPL-2.0

//! Which scheduler runs the guests' VPs, as the hypervisor says at load
//! (`HVCALL_GET_SYSTEM_PROPERTY`, `HV_SYSTEM_PROPERTY_SCHEDULER_TYPE`).
//!
//! Under the hypervisor's schedulers (classic, with or without SMT, and the core scheduler) a
//! VP runs once its suspend registers are cleared, and `MSHV_RUN_VP` waits for its intercept.
//! Under the root scheduler the root's thread dispatches the VP itself (`HVCALL_DISPATCH_VP`,
//! see `Vp::dispatch_once`). A type the driver does not know refuses the load, as upstream's
//! does. An L1 virtual host does not ask: its hypervisor runs
//! the core scheduler, as upstream assumes.

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
        scheduler_type,
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

/// Reads the hypervisor's scheduler type and remembers whether it runs the VPs; fails the load
/// (`EOPNOTSUPP`) for an unknown type, or with the call's errno.
pub(crate) fn probe() -> Result {
    let scheduler = of(&HvEnvironment::probe(), || {
        calls::get_system_property_u32(&mut HvPages::new()?, SYSTEM_PROPERTY_SCHEDULER_TYPE)
            .inspect_err(|e| pr_err!("cannot read the scheduler type: {:?}\n", e))
    })?;
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

/// The scheduler in `env`: the core scheduler on an L1 virtual host, whose hypervisor is not
/// asked; elsewhere the type `read` returns.
fn of(env: &HvEnvironment, read: impl FnOnce() -> Result<u32>) -> Result<Scheduler> {
    if env.partition == PartitionType::L1vh {
        return Ok(Scheduler::CoreSmt);
    }
    let raw = read()?;
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

    #[test]
    fn an_l1_virtual_host_runs_the_core_scheduler_without_asking() {
        let l1vh = HvEnvironment {
            partition: PartitionType::L1vh,
            vtl: 0,
        };
        let mut asked = false;
        let scheduler = of(&l1vh, || {
            asked = true;
            Ok(4)
        });
        assert_eq!(scheduler, Ok(Scheduler::CoreSmt));
        assert!(!asked);
    }

    #[test]
    fn elsewhere_the_hypervisor_is_asked() {
        for partition in [
            PartitionType::Root,
            PartitionType::Guest,
            PartitionType::NoHypervisor,
        ] {
            let env = HvEnvironment { partition, vtl: 0 };
            assert_eq!(of(&env, || Ok(4)), Ok(Scheduler::Root));
            assert_eq!(of(&env, || Ok(9)), Err(EOPNOTSUPP));
            assert_eq!(of(&env, || Err(EIO)), Err(EIO));
        }
    }
}
