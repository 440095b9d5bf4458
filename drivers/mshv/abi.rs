// SPDX-License-Identifier: GPL-2.0

//! Declaring binary interfaces and checking them against the kernel's C headers.
//!
//! Two ABIs cross this driver: the user-space one ([`crate::uapi`]) and the hypervisor's
//! ([`crate::hv::abi`]). Both are written as `#[repr(C)]` structs declared through
//! [`abi_structs!`], with padding spelled out, and both list their sizes, offsets and numbers
//! as [`Fact`]s: each fact states the value of Linux 7.3's header and is asserted at compile
//! time, and [`check_headers`] compares the list with the same facts the C shim computes from
//! the headers the module is built against, each time the module loads (and a KUnit suite
//! does so too): a module built against headers that disagree refuses to load.

use kernel::prelude::*;

use crate::ffi;

/// Declares ABI structs: copyable, and readable from and writable to user or hypervisor pages.
macro_rules! abi_structs {
    ($($(#[$meta:meta])* $vis:vis struct $name:ident $body:tt)*) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, zerocopy_derive::IntoBytes)]
        $vis struct $name $body

        // SAFETY: Every struct declared through this macro holds only integers and arrays of
        // integers, for which every bit pattern is valid, and has no interior mutability.
        unsafe impl kernel::transmute::FromBytes for $name {}

        // SAFETY: The `IntoBytes` derive above proves at compile time that the struct has no
        // padding, so every byte of it is initialised.
        unsafe impl kernel::transmute::AsBytes for $name {}
    )*};
}
pub(crate) use abi_structs;

/// One fact of an ABI: a size, an offset or a number, named as the C shim names it.
pub(crate) struct Fact {
    /// `sizeof:<struct>`, `offsetof:<struct>.<field>`, `ioctl:<MACRO>` or `const:<MACRO>`.
    pub(crate) name: &'static CStr,
    /// Its value on the Rust side.
    pub(crate) value: u64,
}

/// One [`Fact`]: the Rust side's value, asserted at compile time to equal the one Linux 7.3's
/// header gives (`$want`, the same on x86_64 and arm64).
macro_rules! fact {
    (size $c:literal, $t:ty, $want:literal) => {
        $crate::abi::fact!(@ concat!("sizeof:", $c), core::mem::size_of::<$t>(), $want)
    };
    (offset $c:literal, $t:ty, $f:ident, $want:literal) => {
        $crate::abi::fact!(@ concat!("offsetof:", $c), core::mem::offset_of!($t, $f), $want)
    };
    (ioctl $c:ident, $want:literal) => {
        $crate::abi::fact!(@ concat!("ioctl:", stringify!($c)), $c, $want)
    };
    (const $c:ident, $want:literal) => {
        $crate::abi::fact!(@ concat!("const:", stringify!($c)), $c, $want)
    };
    (@ $name:expr, $value:expr, $want:literal) => {{
        const { assert!($value as u64 == $want) };
        $crate::abi::Fact {
            name: kernel::c_str!($name),
            value: $value as u64,
        }
    }};
}
pub(crate) use fact;

/// Checks the module against the kernel it was built for: every fact of both ABIs against the
/// C headers, and the arch assembly's calling convention. `EINVAL` (each difference in the
/// log) if anything disagrees.
pub(crate) fn check_headers() -> Result {
    let uapi = CFacts::uapi().matches(crate::uapi::FACTS);
    let hv = CFacts::hv().matches(crate::hv::abi::FACTS);
    let arch = crate::arch::abi_check(0x0123_4567_89ab_cdef) == !0x0123_4567_89ab_cdef;
    if uapi && hv && arch {
        return Ok(());
    }
    pr_err!("the kernel's headers disagree with the ABI this module speaks: not loading\n");
    Err(EINVAL)
}

/// A table of facts the C shim computed from the kernel's headers.
pub(crate) struct CFacts(&'static [ffi::MshvShimFact]);

impl CFacts {
    /// The shim's uapi facts (`<uapi/linux/mshv.h>`).
    pub(crate) fn uapi() -> Self {
        let mut len = 0usize;
        // SAFETY: The shim returns a pointer to a static array and stores its length; the
        // array is never written.
        Self(unsafe { core::slice::from_raw_parts(ffi::mshv_shim_uapi_facts(&mut len), len) })
    }

    /// The shim's hypervisor ABI facts (`<hyperv/hv*.h>`).
    pub(crate) fn hv() -> Self {
        let mut len = 0usize;
        // SAFETY: As in `uapi`.
        Self(unsafe { core::slice::from_raw_parts(ffi::mshv_shim_hv_facts(&mut len), len) })
    }

    /// A table of the shim's (the VTL module's run page facts).
    #[allow(dead_code)]
    pub(crate) fn from_table(table: &'static [ffi::MshvShimFact]) -> Self {
        Self(table)
    }

    /// The value the shim has for `name`.
    fn get(&self, name: &CStr) -> Option<u64> {
        self.0
            .iter()
            .find(|f| {
                // SAFETY: The shim's names are static NUL-terminated strings.
                let c_name = unsafe { CStr::from_char_ptr(f.name) };
                c_name == name
            })
            .map(|f| f.value)
    }

    /// Whether the two tables hold the same facts; prints each difference.
    pub(crate) fn matches(&self, facts: &[Fact]) -> bool {
        let mut ok = self.0.len() == facts.len();
        if !ok {
            pr_err!("{} facts here, {} in C\n", facts.len(), self.0.len());
        }
        for fact in facts {
            let c_value = self.get(fact.name);
            if c_value != Some(fact.value) {
                pr_err!("{:?}: {} here, {:?} in C\n", fact.name, fact.value, c_value);
                ok = false;
            }
        }
        ok
    }
}
