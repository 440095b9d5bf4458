// SPDX-License-Identifier: GPL-2.0

//! Misbehaves on request, so that the VM runner's own test can show that a failing KUnit case,
//! a kernel warning and a memory leak each turn a run red. Loaded with no parameters, it is well
//! behaved.

use kernel::prelude::*;

module! {
    type: VmrunSelftest,
    name: "vmrun_selftest",
    authors: ["The mshv-rs authors"],
    description: "Test module for the mshv-rs VM runner",
    license: "GPL",
    params: {
        fail_kunit: bool {
            default: false,
            description: "Make the KUnit case fail",
        },
        warn: bool {
            default: false,
            description: "WARN when loaded",
        },
        leak: bool {
            default: false,
            description: "Leak an allocation when loaded",
        },
    },
}

/// The module; holds nothing.
struct VmrunSelftest;

impl kernel::Module for VmrunSelftest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        kernel::warn_on!(module_parameters::warn.value());
        Ok(VmrunSelftest)
    }
}

#[kunit_tests(vmrun_selftest)]
mod tests {
    use super::module_parameters;
    use kernel::prelude::*;

    #[test]
    fn passes_unless_told_to_fail() {
        assert!(!module_parameters::fail_kunit.value());
    }

    #[test]
    fn leaks_when_told_to() -> Result {
        if module_parameters::leak.value() {
            // Drops the only pointers to the allocations: kmemleak must report them. vmalloc
            // memory, because the slab allocator keeps stale copies of the pointers it handed
            // out in per-CPU arrays that kmemleak scans, which can hide a small leak for long.
            for _ in 0..4 {
                let _ = VBox::into_raw(VBox::new([0x6bu8; 64], GFP_KERNEL)?);
            }
        }
        Ok(())
    }
}
