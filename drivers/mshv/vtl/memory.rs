// SPDX-License-Identifier: GPL-2.0

//! VTL0's memory: `MSHV_ADD_VTL0_MEMORY` and `/dev/mshv_vtl_low`.
//!
//! A paravisor's kernel does not have VTL0's memory in its memory map. `MSHV_ADD_VTL0_MEMORY`
//! gives a range of it struct pages (ZONE_DEVICE, as upstream), so that `/dev/mshv_vtl_low`
//! can map it by physical address (the file offset) and the kernel can reach it like any
//! other page. A range stays added until the module unloads, as upstream's.
//!
//! Where this differs from upstream (each in `Documentation/mshv-rs/vtl.rst`): an empty or
//! reversed range is `EINVAL` (upstream: `EFAULT`); a range must be aligned to the kernel's
//! memory sections' smallest piece (2 MiB) and be memory no one has claimed (the kernel's RAM,
//! a device's region, a range added before: `EBUSY`), where upstream lets the kernel warn; and
//! `/dev/mshv_vtl_low` maps only the pages of added ranges (any other access is `SIGBUS`),
//! where upstream maps any page frame, the paravisor kernel's own memory included.

use core::ptr::NonNull;

use kernel::{
    bindings,
    ffi::{
        c_int,
        c_void, //
    },
    fs::File,
    miscdevice::{
        MiscDevice,
        MiscDeviceRegistration, //
    },
    mm::virt::VmaNew,
    prelude::*,
    sync::global_lock,
};

use crate::{
    ffi,
    uapi::{
        self,
        VtlRamDisposition, //
    },
};

/// Page frames `[start, end)`, within the kernel's limits: only [`Limits::check`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PfnRange {
    start: u64,
    end: u64,
}

/// What the kernel can give struct pages to.
#[derive(Clone, Copy, Debug)]
struct Limits {
    /// Every range's start and end are multiples of this many pages.
    align: u64,
    /// The first page frame the kernel can add.
    first: u64,
    /// The page frame after the last it can add.
    end: u64,
    /// The most pages a range may have: their struct pages come out of the kernel's memory.
    max_pages: u64,
}

impl Limits {
    /// This kernel's.
    fn kernel() -> Self {
        let mut limits = Self {
            align: 1,
            first: 0,
            end: 0,
            max_pages: 0,
        };
        // SAFETY: The four pointers are to this function's own locals, which the call writes.
        unsafe {
            ffi::mshv_shim_vtl0_memory_limits(
                &mut limits.align,
                &mut limits.first,
                &mut limits.end,
                &mut limits.max_pages,
            )
        };
        limits
    }

    /// The range `MSHV_ADD_VTL0_MEMORY`'s argument names, if it can be added: `EINVAL` if it is
    /// empty, reversed, misaligned or beyond what the kernel can add (`EOPNOTSUPP` where it can
    /// add nothing), `ENOMEM` if its struct pages would take too much of the kernel's memory.
    fn check(&self, disposition: &VtlRamDisposition) -> Result<PfnRange> {
        if self.first >= self.end {
            return Err(EOPNOTSUPP);
        }
        let range = PfnRange {
            start: disposition.start_pfn,
            end: disposition.last_pfn,
        };
        let aligned = |pfn: u64| self.align != 0 && pfn % self.align == 0;
        if range.start >= range.end
            || !aligned(range.start)
            || !aligned(range.end)
            || range.start < self.first
            || range.end > self.end
        {
            return Err(EINVAL);
        }
        if range.end - range.start > self.max_pages {
            return Err(ENOMEM);
        }
        Ok(range)
    }
}

/// A range of VTL0 memory with struct pages, as long as this lives.
///
/// # Invariants
///
/// `mem` is what `mshv_shim_vtl0_memory_add` returned, not yet removed: it is removed once, on
/// drop.
struct Vtl0Memory {
    mem: NonNull<c_void>,
}

// SAFETY: The range is the kernel's page map, which any thread may remove (`memunmap_pages()`
// has no thread affinity); it is removed once.
unsafe impl Send for Vtl0Memory {}

impl Vtl0Memory {
    /// Gives `range` (within [`Limits::kernel`]) struct pages.
    fn add(range: PfnRange) -> Result<Self> {
        let mut err: c_int = 0;
        // SAFETY: The shim takes any range (a `PfnRange` is within the kernel's limits, which
        // it asks, so no page map check warns); `err` is a local, written on failure.
        let mem = unsafe { ffi::mshv_shim_vtl0_memory_add(range.start, range.end, &mut err) };
        // INVARIANT: Not null: what the shim added, removed only by this value's drop.
        NonNull::new(mem)
            .map(|mem| Self { mem })
            .ok_or_else(|| Error::from_errno(err))
    }
}

impl Drop for Vtl0Memory {
    fn drop(&mut self) {
        // SAFETY: By the invariants the range is added and removed only here. The module is
        // unloading (only `Added`'s drop drops these: `add` never drops one it made), so no
        // mapping of `/dev/mshv_vtl_low`, which would hold it, is left.
        unsafe { ffi::mshv_shim_vtl0_memory_remove(self.mem.as_ptr()) };
    }
}

global_lock! {
    // SAFETY: `Added::new` initialises it, once, before any device exists.
    unsafe(uninit) static ADDED: Mutex<KVec<Vtl0Memory>> = KVec::new();
}

/// The ranges added, kept while this lives: from before the devices to after them.
pub(super) struct Added(());

impl Added {
    /// Starts with none.
    ///
    /// # Safety
    ///
    /// Called once, when the module loads, before any device exists.
    pub(super) unsafe fn new() -> Self {
        // SAFETY: The caller's promise: once, before any other use of `ADDED`.
        unsafe { ADDED.init() };
        Self(())
    }
}

impl Drop for Added {
    fn drop(&mut self) {
        // The devices are gone, and every file and mapping of theirs (each held the module).
        let ranges = core::mem::take(&mut *ADDED.lock());
        drop(ranges);
    }
}

/// `MSHV_ADD_VTL0_MEMORY`: gives a range of VTL0's memory struct pages.
pub(super) fn add(arg: usize) -> Result<isize> {
    let disposition: VtlRamDisposition = uapi::read_user(arg)?;
    let range = Limits::kernel().check(&disposition)?;
    let mut added = ADDED.lock();
    added.reserve(1, GFP_KERNEL)?;
    let memory = Vtl0Memory::add(range)?;
    // Room was made above, under the lock: this cannot fail. Were it to, the range stays added
    // (a fault may have mapped it already), as it would have been until the module unloads.
    if let Err(unkept) = added.push_within_capacity(memory) {
        pr_err!("a range of VTL0 memory was added but not kept\n");
        core::mem::forget(unkept);
    }
    Ok(0)
}

/// `/dev/mshv_vtl_low`: VTL0's added memory, mapped by physical address.
pub(crate) struct VtlLowDevice;

#[vtable]
impl MiscDevice for VtlLowDevice {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Self::Ptr> {
        // SAFETY: `capable` only reads the current task's credentials.
        if !unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) } {
            return Err(EPERM);
        }
        Ok(KBox::pin(VtlLowDevice, GFP_KERNEL)?)
    }

    fn mmap(_me: Pin<&Self>, _file: &File, vma: &VmaNew) -> Result {
        // SAFETY: `vma` is a mapping being set up, which the shim gives its fault handlers;
        // they map only pages of added VTL0 memory, which stays added while the mapping (which
        // holds the file, and so the module) exists.
        unsafe { ffi::mshv_shim_vtl_low_mmap(vma.as_ptr().cast()) };
        Ok(())
    }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_vtl_memory)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        align: 512,
        first: 0,
        end: 1 << 40,
        max_pages: 1 << 20,
    };

    fn range(start_pfn: u64, last_pfn: u64) -> Result<PfnRange> {
        LIMITS.check(&VtlRamDisposition {
            start_pfn,
            last_pfn,
        })
    }

    #[test]
    fn aligned_ranges_within_the_limits_are_taken() {
        assert_eq!(
            range(0x30000, 0x34000),
            Ok(PfnRange {
                start: 0x30000,
                end: 0x34000
            })
        );
        assert!(range(0, 512).is_ok());
        assert!(range((1 << 40) - 512, 1 << 40).is_ok());
        assert!(range(0, 1 << 20).is_ok());
    }

    #[test]
    fn a_range_too_big_for_its_struct_pages_is_enomem() {
        assert_eq!(range(0, (1 << 20) + 512), Err(ENOMEM));
        assert_eq!(range(512, 1 << 39), Err(ENOMEM));
    }

    #[test]
    fn empty_reversed_misaligned_or_outside_ranges_are_einval() {
        for (start, last) in [
            (0x30000, 0x30000),
            (0x34000, 0x30000),
            (0x30001, 0x34000),
            (0x30000, 0x33fff),
            (0x30000, (1 << 40) + 512),
            (1 << 63, (1 << 63) + 512),
            (u64::MAX - 511, u64::MAX),
        ] {
            assert_eq!(range(start, last), Err(EINVAL));
        }
    }

    #[test]
    fn a_kernel_without_device_memory_adds_nothing() {
        let none = Limits {
            align: 1,
            first: 0,
            end: 0,
            max_pages: 0,
        };
        let d = VtlRamDisposition {
            start_pfn: 0,
            last_pfn: 512,
        };
        assert_eq!(none.check(&d), Err(EOPNOTSUPP));
    }
}
