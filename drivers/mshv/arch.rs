// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers around the per-architecture assembly in `arch/<arch>/entry.S`.

// The KUnit suite's attribute.
#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
use kernel::prelude::*;

use crate::ffi;

/// Calls the assembly's ABI check, which returns the complement of `value`.
///
/// Shows that the arch object is linked into the module and follows the C calling convention.
pub(crate) fn abi_check(value: u64) -> u64 {
    // SAFETY: `mshv_arch_abi_check` only moves and inverts a register: it touches no memory and
    // has no preconditions.
    unsafe { ffi::mshv_arch_abi_check(value) }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_arch)]
mod tests {
    use super::abi_check;

    #[test]
    fn abi_check_round_trips() {
        for value in [
            0u64,
            1,
            0x8000_0000_0000_0001,
            u64::MAX,
            0x0123_4567_89ab_cdef,
        ] {
            assert_eq!(abi_check(value), !value);
        }
    }
}
