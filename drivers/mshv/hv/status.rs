// SPDX-License-Identifier: GPL-2.0

//! Hypercall results: the 64-bit value a hypercall returns, its 16-bit status code, and the
//! errno Linux reports for each code (the same as the kernel's `hv_result_to_errno()`).

use kernel::prelude::*;

/// A hypercall's status code (`HV_STATUS_*`), bits 0-15 of its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HvStatus(pub(crate) u16);

/// Every status code Linux knows, with its errno (`None`: success).
const STATUSES: &[(HvStatus, Option<Error>)] = &[
    (HvStatus::SUCCESS, None),
    (HvStatus::INVALID_HYPERCALL_CODE, Some(EINVAL)),
    (HvStatus::INVALID_HYPERCALL_INPUT, Some(EINVAL)),
    (HvStatus::INVALID_ALIGNMENT, Some(EIO)),
    (HvStatus::INVALID_PARAMETER, Some(EINVAL)),
    (HvStatus::ACCESS_DENIED, Some(EACCES)),
    (HvStatus::INVALID_PARTITION_STATE, Some(EIO)),
    (HvStatus::OPERATION_DENIED, Some(EACCES)),
    (HvStatus::UNKNOWN_PROPERTY, Some(EINVAL)),
    (HvStatus::PROPERTY_VALUE_OUT_OF_RANGE, Some(EINVAL)),
    (HvStatus::INSUFFICIENT_MEMORY, Some(ENOMEM)),
    (HvStatus::INVALID_PARTITION_ID, Some(EINVAL)),
    (HvStatus::INVALID_VP_INDEX, Some(EINVAL)),
    (HvStatus::NOT_FOUND, Some(EIO)),
    (HvStatus::INVALID_PORT_ID, Some(EINVAL)),
    (HvStatus::INVALID_CONNECTION_ID, Some(EINVAL)),
    (HvStatus::INSUFFICIENT_BUFFERS, Some(EIO)),
    (HvStatus::NOT_ACKNOWLEDGED, Some(EIO)),
    (HvStatus::INVALID_VP_STATE, Some(EIO)),
    (HvStatus::NO_RESOURCES, Some(EIO)),
    (HvStatus::PROCESSOR_FEATURE_NOT_SUPPORTED, Some(EOPNOTSUPP)),
    (HvStatus::INVALID_LP_INDEX, Some(EINVAL)),
    (HvStatus::INVALID_REGISTER_VALUE, Some(EINVAL)),
    (HvStatus::OPERATION_FAILED, Some(EIO)),
    (HvStatus::INSUFFICIENT_ROOT_MEMORY, Some(ENOMEM)),
    (HvStatus::INSUFFICIENT_CONTIGUOUS_MEMORY, Some(ENOMEM)),
    (HvStatus::TIME_OUT, Some(EIO)),
    (HvStatus::CALL_PENDING, Some(EIO)),
    (HvStatus::INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY, Some(ENOMEM)),
    (HvStatus::VTL_ALREADY_ENABLED, Some(EIO)),
];

impl HvStatus {
    pub(crate) const SUCCESS: Self = Self(0x0);
    pub(crate) const INVALID_HYPERCALL_CODE: Self = Self(0x2);
    pub(crate) const INVALID_HYPERCALL_INPUT: Self = Self(0x3);
    pub(crate) const INVALID_ALIGNMENT: Self = Self(0x4);
    pub(crate) const INVALID_PARAMETER: Self = Self(0x5);
    pub(crate) const ACCESS_DENIED: Self = Self(0x6);
    pub(crate) const INVALID_PARTITION_STATE: Self = Self(0x7);
    pub(crate) const OPERATION_DENIED: Self = Self(0x8);
    pub(crate) const UNKNOWN_PROPERTY: Self = Self(0x9);
    pub(crate) const PROPERTY_VALUE_OUT_OF_RANGE: Self = Self(0xa);
    pub(crate) const INSUFFICIENT_MEMORY: Self = Self(0xb);
    pub(crate) const INVALID_PARTITION_ID: Self = Self(0xd);
    pub(crate) const INVALID_VP_INDEX: Self = Self(0xe);
    pub(crate) const NOT_FOUND: Self = Self(0x10);
    pub(crate) const INVALID_PORT_ID: Self = Self(0x11);
    pub(crate) const INVALID_CONNECTION_ID: Self = Self(0x12);
    pub(crate) const INSUFFICIENT_BUFFERS: Self = Self(0x13);
    pub(crate) const NOT_ACKNOWLEDGED: Self = Self(0x14);
    pub(crate) const INVALID_VP_STATE: Self = Self(0x15);
    pub(crate) const NO_RESOURCES: Self = Self(0x1d);
    pub(crate) const PROCESSOR_FEATURE_NOT_SUPPORTED: Self = Self(0x20);
    pub(crate) const INVALID_LP_INDEX: Self = Self(0x41);
    pub(crate) const INVALID_REGISTER_VALUE: Self = Self(0x50);
    pub(crate) const OPERATION_FAILED: Self = Self(0x71);
    pub(crate) const INSUFFICIENT_ROOT_MEMORY: Self = Self(0x73);
    pub(crate) const INSUFFICIENT_CONTIGUOUS_MEMORY: Self = Self(0x75);
    pub(crate) const TIME_OUT: Self = Self(0x78);
    pub(crate) const CALL_PENDING: Self = Self(0x79);
    pub(crate) const INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY: Self = Self(0x83);
    pub(crate) const VTL_ALREADY_ENABLED: Self = Self(0x86);

    /// `Ok` for success, else the errno Linux reports for the status; `EIO` for a code Linux
    /// does not know.
    pub(crate) fn to_result(self) -> Result {
        match STATUSES.iter().find(|(status, _)| *status == self) {
            Some((_, None)) => Ok(()),
            Some((_, Some(err))) => Err(*err),
            None => Err(EIO),
        }
    }

    /// What the hypervisor asks to be deposited before the call is tried again, if anything.
    pub(crate) fn deposit_request(self) -> Option<Deposit> {
        let (pages, into_root) = match self {
            Self::INSUFFICIENT_MEMORY => (1, false),
            Self::INSUFFICIENT_CONTIGUOUS_MEMORY => (HV_MAX_CONTIGUOUS_ALLOCATION_PAGES, false),
            Self::INSUFFICIENT_ROOT_MEMORY => (1, true),
            Self::INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY => (HV_MAX_CONTIGUOUS_ALLOCATION_PAGES, true),
            _ => return None,
        };
        Some(Deposit { pages, into_root })
    }
}

/// Pages deposited for an `INSUFFICIENT_CONTIGUOUS_*` status: the longest physically contiguous
/// run the hypervisor asks for. A deposit of this many is allocated as one chunk when the
/// kernel has one (see [`crate::calls::deposit`]).
pub(crate) const HV_MAX_CONTIGUOUS_ALLOCATION_PAGES: u32 = 8;

/// A deposit the hypervisor asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Deposit {
    /// How many pages.
    pub(crate) pages: u32,
    /// Into the root partition's own pool rather than the target partition's.
    pub(crate) into_root: bool,
}

/// The 64-bit value a hypercall returns: the status in bits 0-15, the reps completed in bits
/// 32-43.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HvResult(pub(crate) u64);

impl HvResult {
    /// What the kernel's hypercall helper returns when no hypercall can be made (no hypercall
    /// page).
    pub(crate) const NO_HYPERCALLS: Self = Self(u64::MAX);

    /// A result of `status` with `reps` completed.
    pub(crate) const fn new(status: HvStatus, reps: u16) -> Self {
        Self(status.0 as u64 | ((reps as u64) & 0xfff) << 32)
    }

    /// The status code.
    pub(crate) const fn status(self) -> HvStatus {
        HvStatus(self.0 as u16)
    }

    /// How many reps of a rep call completed.
    pub(crate) const fn reps_completed(self) -> u16 {
        ((self.0 >> 32) & 0xfff) as u16
    }

    /// `Ok` for success, else the errno Linux reports (`EOPNOTSUPP` when no hypercall could be
    /// made at all).
    pub(crate) fn to_result(self) -> Result {
        if self == Self::NO_HYPERCALLS {
            return Err(EOPNOTSUPP);
        }
        self.status().to_result()
    }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_hv_status)]
mod tests {
    use super::*;

    #[test]
    fn errnos_match_linux() {
        let expect = [
            (0x00, None),
            (0x02, Some(EINVAL)),
            (0x03, Some(EINVAL)),
            (0x04, Some(EIO)),
            (0x05, Some(EINVAL)),
            (0x06, Some(EACCES)),
            (0x07, Some(EIO)),
            (0x08, Some(EACCES)),
            (0x09, Some(EINVAL)),
            (0x0a, Some(EINVAL)),
            (0x0b, Some(ENOMEM)),
            (0x0d, Some(EINVAL)),
            (0x0e, Some(EINVAL)),
            (0x10, Some(EIO)),
            (0x11, Some(EINVAL)),
            (0x12, Some(EINVAL)),
            (0x13, Some(EIO)),
            (0x14, Some(EIO)),
            (0x15, Some(EIO)),
            (0x1d, Some(EIO)),
            (0x20, Some(EOPNOTSUPP)),
            (0x41, Some(EINVAL)),
            (0x50, Some(EINVAL)),
            (0x71, Some(EIO)),
            (0x73, Some(ENOMEM)),
            (0x75, Some(ENOMEM)),
            (0x78, Some(EIO)),
            (0x79, Some(EIO)),
            (0x83, Some(ENOMEM)),
            (0x86, Some(EIO)),
        ];
        assert_eq!(expect.len(), STATUSES.len());
        for (code, errno) in expect {
            let want = match errno {
                None => Ok(()),
                Some(e) => Err(e),
            };
            assert_eq!(HvStatus(code).to_result(), want);
        }
    }

    #[test]
    fn every_code_maps_as_the_kernel_does() {
        let codes = (0..=u16::MAX).map(u64::from);
        for raw in Iterator::chain(codes, [u64::MAX, 0x1ff_0000_0005]) {
            // SAFETY: `hv_result_to_errno` only looks its argument up in a static table.
            let kernel = unsafe { crate::ffi::hv_result_to_errno(raw) };
            let ours = match HvResult(raw).to_result() {
                Ok(()) => 0,
                Err(e) => e.to_errno(),
            };
            if ours != kernel {
                pr_err!(
                    "status {:#x}: {} here, {} in the kernel\n",
                    raw,
                    ours,
                    kernel
                );
            }
            assert_eq!(ours, kernel);
        }
    }

    #[test]
    fn unknown_codes_are_eio() {
        for code in [0x01, 0x0c, 0x42, 0x87, 0xffff] {
            assert_eq!(HvStatus(code).to_result(), Err(EIO));
        }
    }

    #[test]
    fn result_splits_status_and_reps() {
        let r = HvResult(0x0000_01fd_0000_000b);
        assert_eq!(r.status(), HvStatus::INSUFFICIENT_MEMORY);
        assert_eq!(r.reps_completed(), 0x1fd);
        assert_eq!(r.to_result(), Err(ENOMEM));
        assert_eq!(HvResult::new(HvStatus::SUCCESS, 509).reps_completed(), 509);
        assert_eq!(HvResult::NO_HYPERCALLS.to_result(), Err(EOPNOTSUPP));
    }

    #[test]
    fn deposits_match_linux() {
        let one = |into_root| {
            Some(Deposit {
                pages: 1,
                into_root,
            })
        };
        let eight = |into_root| {
            Some(Deposit {
                pages: 8,
                into_root,
            })
        };
        assert_eq!(HvStatus::INSUFFICIENT_MEMORY.deposit_request(), one(false));
        assert_eq!(
            HvStatus::INSUFFICIENT_CONTIGUOUS_MEMORY.deposit_request(),
            eight(false)
        );
        assert_eq!(
            HvStatus::INSUFFICIENT_ROOT_MEMORY.deposit_request(),
            one(true)
        );
        assert_eq!(
            HvStatus::INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY.deposit_request(),
            eight(true)
        );
        assert_eq!(HvStatus::SUCCESS.deposit_request(), None);
        assert_eq!(HvStatus::INVALID_PARAMETER.deposit_request(), None);
    }
}
