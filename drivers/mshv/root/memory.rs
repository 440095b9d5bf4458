// SPDX-License-Identifier: GPL-2.0

//! Guest memory: `MSHV_SET_GUEST_MEMORY` maps user memory into a partition's guest physical
//! address space, or unmaps it.
//!
//! A region is *movable*, as upstream's: mapped with no access at first, its pages faulted in
//! (2 MiB at a time) when the guest touches them and the hypervisor stops the VP with a GPA
//! intercept ([`Movable::fault`]), and mapped with no access again whenever the kernel changes
//! what backs them (an MMU interval notifier: [`invalidate`]), so they are never pinned. Where
//! the notifier cannot be registered, the region is *pinned* (`FOLL_LONGTERM`) and mapped whole
//! for as long as it exists. Device memory (a `VM_IO` or `VM_PFNMAP` mapping, such as a PCI BAR
//! mapped through sysfs) is mapped whole, uncached, to the frames its page tables map. See
//! Documentation/mshv-rs/root.rst.

use kernel::{
    bindings,
    page::PAGE_SIZE,
    prelude::*,
    sync::Arc, //
};

use crate::{
    calls, ffi,
    transport::HvPages,
    uapi::{
        self,
        UserMemRegion, //
    },
};

mod movable;

use movable::Movable;

/// `MSHV_SET_MEM_BIT_*` of [`UserMemRegion::flags`].
const WRITABLE: u8 = 1 << 0;
const EXECUTABLE: u8 = 1 << 1;
const UNMAP: u8 = 1 << 2;

/// `HV_MAP_GPA_*`.
const HV_MAP_GPA_READABLE: u32 = 0x1;
const HV_MAP_GPA_WRITABLE: u32 = 0x2;
const HV_MAP_GPA_EXECUTABLE: u32 = 0xc;
const HV_MAP_GPA_ADJUSTABLE: u32 = 0x8000;
const HV_MAP_GPA_NO_ACCESS: u32 = 0x1_0000;
const HV_MAP_GPA_NOT_CACHED: u32 = 0x20_0000;

/// Pages pinned per `pin_user_pages_fast()` call (256 MiB of 4 KiB pages).
const PIN_BATCH: usize = 1 << 16;

/// User pages pinned for the hypervisor; unpinned when dropped.
pub(super) struct Pinned(KVVec<*mut bindings::page>);

// SAFETY: The pointers name pinned pages, which any thread may unpin; nothing else is done
// with them.
unsafe impl Send for Pinned {}

impl Pinned {
    /// Pins `count` pages from user address `addr` for writing (for the long term if
    /// `longterm`: guest memory).
    pub(super) fn pin(addr: usize, count: usize, longterm: bool) -> Result<Self> {
        // A size user space chose: too big is ENOMEM, without a warning in the log.
        let mut this = Self(KVVec::with_capacity(count, GFP_KERNEL | __GFP_NOWARN)?);
        let flags = bindings::FOLL_WRITE | if longterm { bindings::FOLL_LONGTERM } else { 0 };
        while this.0.len() < count {
            let have = this.0.len();
            let n = (count - have).min(PIN_BATCH);
            let spare = this.0.spare_capacity_mut();
            // SAFETY: `spare` has room for `count - have >= n` pointers, which the call
            // writes; the range is the caller's user memory, checked by `access_ok` and
            // faulted through the normal paths.
            let got = unsafe {
                bindings::pin_user_pages_fast(
                    addr + have * PAGE_SIZE,
                    n as i32,
                    flags,
                    spare.as_mut_ptr().cast(),
                )
            };
            if got > 0 {
                // SAFETY: The call initialised `got <= n` more pointers.
                unsafe { this.0.inc_len(got as usize) };
            }
            if got < 0 {
                // `this` unpins what was pinned.
                return Err(Error::from_errno(got));
            }
            if got != n as i32 {
                // A short pin, as upstream.
                return Err(ENOMEM);
            }
        }
        Ok(this)
    }

    pub(super) fn pfn(&self, i: usize) -> u64 {
        // SAFETY: Each pointer names a page this object keeps pinned.
        unsafe { ffi::mshv_shim_page_to_pfn(self.0[i].cast()) }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            // SAFETY: Every pointer names a page `pin_user_pages_fast` pinned and nothing
            // unpinned yet.
            unsafe { bindings::unpin_user_pages(self.0.as_mut_ptr(), self.0.len()) };
        }
    }
}

/// How a region's pages are held.
enum Backing {
    /// Pinned and mapped whole (held for its drop, which unpins).
    Pinned { _pinned: Pinned },
    /// Faulted in on demand.
    Movable(Arc<Movable>),
    /// Device memory (a `VM_IO` or `VM_PFNMAP` mapping): its frames mapped whole, uncached.
    Mmio,
}

/// A mapped region of guest memory.
pub(super) struct Region {
    gfn: u64,
    pages: u64,
    uaddr: u64,
    /// `MSHV_SET_MEM_BIT_*`.
    flags: u8,
    backing: Backing,
}

impl Region {
    pub(super) fn contains(&self, gfn: u64) -> bool {
        gfn >= self.gfn && gfn - self.gfn < self.pages
    }

    fn overlaps(&self, gfn: u64, pages: u64) -> bool {
        gfn < self.gfn.saturating_add(self.pages) && self.gfn < gfn.saturating_add(pages)
    }

    /// Unmaps the region from the partition's address space (pinned pages stay pinned until the
    /// region is dropped).
    pub(super) fn unmap(&self, hv_pages: &mut HvPages, partition_id: u64) -> Result {
        let count = self.pages as usize;
        match &self.backing {
            Backing::Movable(m) => m.unmap(),
            // SAFETY: The pages are still pinned (the region unpins them once unmapped), so
            // they are what they were when mapped.
            Backing::Pinned { _pinned } => unsafe {
                calls::unmap_gpa_pages_of(hv_pages, partition_id, self.gfn, count, |i| {
                    _pinned.pfn(i)
                })
            },
            Backing::Mmio => calls::unmap_gpa_pages(hv_pages, partition_id, self.gfn, count),
        }
    }

    /// The hypervisor may still map the region, which goes: its pages are never given back to
    /// the kernel (pinned pages stay pinned; a movable region keeps the pages it holds).
    pub(super) fn leak(self) {
        match self.backing {
            Backing::Pinned { _pinned } => core::mem::forget(_pinned),
            Backing::Movable(m) => m.keep(),
            Backing::Mmio => {}
        }
    }

    /// The hypervisor dropped every mapping (the partition was finalised): nothing is mapped.
    pub(super) fn forget(&self) {
        if let Backing::Movable(m) = &self.backing {
            m.forget();
        }
    }

    /// The movable region that may take a guest's fault of access type `access` (0 read, 1
    /// write, 2 execute), if the region allows that access.
    pub(super) fn movable_for(&self, access: u8) -> Option<Arc<Movable>> {
        let allowed = match access {
            0 => true,
            1 => self.flags & WRITABLE != 0,
            2 => self.flags & EXECUTABLE != 0,
            _ => false,
        };
        match &self.backing {
            Backing::Movable(m) if allowed => Some(m.clone()),
            _ => None,
        }
    }
}

/// Maps the `count` frames of device memory behind user address `uaddr` at `gfn`: readable,
/// writable and uncached whatever the region's flags, as upstream. Each page's frame is the one
/// its page-table entry maps (upstream takes `vm_pgoff` as the first frame of the mapping,
/// whatever the address's offset in it). Frames of system RAM are refused (`EINVAL`): device
/// memory only.
fn map_mmio(
    hv_pages: &mut HvPages,
    partition_id: u64,
    gfn: u64,
    uaddr: u64,
    count: usize,
) -> Result {
    // A size user space chose: too big is ENOMEM, without a warning in the log.
    let mut pfns = KVVec::<u64>::with_capacity(count, GFP_KERNEL | __GFP_NOWARN)?;
    let spare = pfns.spare_capacity_mut().as_mut_ptr().cast();
    // SAFETY: `spare` has room for `count` frames, which the shim writes; it looks the range up
    // in the current task's page tables under its mmap lock.
    let ret = unsafe { ffi::mshv_shim_user_io_pfns(uaddr, count as u64, spare) };
    if ret < 0 {
        return Err(Error::from_errno(ret));
    }
    // SAFETY: The shim succeeded: it wrote all `count` frames.
    unsafe { pfns.inc_len(count) };
    for &pfn in pfns.iter() {
        // SAFETY: `page_is_ram` only looks the frame up in the kernel's resource tree.
        if unsafe { ffi::mshv_shim_pfn_is_ram(pfn) } {
            return Err(EINVAL);
        }
    }
    let flags = HV_MAP_GPA_READABLE | HV_MAP_GPA_WRITABLE | HV_MAP_GPA_NOT_CACHED;
    // SAFETY: The frames are those the caller's device mapping (VM_IO or VM_PFNMAP) maps, none
    // of them RAM (checked above): no page the kernel's allocator hands out. As upstream, the
    // region does not watch the mapping afterwards (see "Not implemented yet" in root.rst).
    unsafe {
        map_whole(hv_pages, partition_id, gfn, count, flags, false, |i| {
            pfns[i]
        })
    }?;
    Ok(())
}

/// Maps `count` guest frames from `gfn` to `pfn(0)..`, depositing as the hypervisor asks, with
/// large pages where it can if `large`; on failure, unmaps what was mapped.
///
/// # Safety
///
/// As [`calls::map_gpa_pages`]: the frames are held for the guest until unmapped (and, with
/// `large`, stay what they are until then).
pub(super) unsafe fn map_whole(
    hv_pages: &mut HvPages,
    partition_id: u64,
    gfn: u64,
    count: usize,
    flags: u32,
    large: bool,
    pfn: impl Fn(usize) -> u64,
) -> core::result::Result<(), MapFailed> {
    // SAFETY: As this function's contract says.
    let mapped = unsafe {
        calls::map_gpa_pages(hv_pages, partition_id, gfn, count, flags, true, large, &pfn)
    };
    mapped.map_err(|(error, done)| {
        let unmapped = done == 0
            || if large {
                // SAFETY: The frames are still the caller's, as they were mapped.
                unsafe { calls::unmap_gpa_pages_of(hv_pages, partition_id, gfn, done, &pfn) }
            } else {
                calls::unmap_gpa_pages(hv_pages, partition_id, gfn, done)
            }
            .is_ok();
        MapFailed {
            error,
            still_mapped: !unmapped,
        }
    })
}

/// A [`map_whole`] that failed.
pub(super) struct MapFailed {
    error: Error,
    /// What was mapped could not be unmapped: its frames must stay the guest's for good.
    still_mapped: bool,
}

impl From<MapFailed> for Error {
    fn from(failed: MapFailed) -> Self {
        failed.error
    }
}

/// Handles `MSHV_SET_GUEST_MEMORY` for a partition whose regions are `regions`.
pub(super) fn set_guest_memory(
    hv_pages: &mut HvPages,
    partition_id: u64,
    regions: &mut KVec<Region>,
    arg: usize,
) -> Result<isize> {
    let args: UserMemRegion = uapi::read_user(arg)?;
    let (size, uaddr) = (args.size, args.userspace_addr);
    let page = PAGE_SIZE as u64;
    if size == 0
        || size % page != 0
        || uaddr % page != 0
        || args.flags & !(WRITABLE | EXECUTABLE | UNMAP) != 0
        || args.rsvd != [0; 7]
    {
        return Err(EINVAL);
    }
    let pages = size / page;
    if args.flags & UNMAP != 0 {
        let i = regions
            .iter()
            .position(|r| r.contains(args.guest_pfn))
            .ok_or(ENOENT)?;
        let r = &regions[i];
        if r.uaddr != uaddr || r.gfn != args.guest_pfn || r.pages != pages {
            return Err(EINVAL);
        }
        r.unmap(hv_pages, partition_id)?;
        // Dropping the region unpins it or stops watching it.
        regions.remove(i).map_err(|_| EINVAL)?;
        return Ok(0);
    }
    map(hv_pages, partition_id, regions, &args, pages)
}

fn map(
    hv_pages: &mut HvPages,
    partition_id: u64,
    regions: &mut KVec<Region>,
    args: &UserMemRegion,
    pages: u64,
) -> Result<isize> {
    let (gfn, uaddr) = (args.guest_pfn, args.userspace_addr);
    // SAFETY: `access_ok` only compares the range with the task's address-space limit.
    if !unsafe { ffi::mshv_shim_access_ok(uaddr, args.size) } {
        return Err(EINVAL);
    }
    let uaddr_usize = usize::try_from(uaddr).map_err(|_| EINVAL)?;
    let count = usize::try_from(pages).map_err(|_| EINVAL)?;
    let mut vma_end = 0;
    // SAFETY: The shim looks the address up under the current task's mmap lock and writes the
    // local.
    let is_io = match unsafe { ffi::mshv_shim_user_vma(uaddr, &mut vma_end) } {
        0 => false,
        1 => true,
        _ => return Err(EINVAL),
    };
    if regions.iter().any(|r| r.overlaps(gfn, pages)) {
        return Err(EEXIST);
    }
    regions.reserve(1, GFP_KERNEL)?;
    let backing = if is_io {
        // The region must lie within the device mapping (upstream does not check).
        if uaddr.checked_add(args.size).is_none_or(|end| end > vma_end) {
            return Err(EINVAL);
        }
        map_mmio(hv_pages, partition_id, gfn, uaddr, count)?;
        Backing::Mmio
    } else {
        let mut flags = HV_MAP_GPA_READABLE | HV_MAP_GPA_ADJUSTABLE;
        if args.flags & WRITABLE != 0 {
            flags |= HV_MAP_GPA_WRITABLE;
        }
        if args.flags & EXECUTABLE != 0 {
            flags |= HV_MAP_GPA_EXECUTABLE;
        }
        match Movable::new(hv_pages, partition_id, gfn, pages, uaddr, flags)? {
            Some(m) => Backing::Movable(m),
            None => {
                let pinned = Pinned::pin(uaddr_usize, count, true)?;
                // SAFETY: The frames are pinned for as long as the region, which unmaps them
                // before it unpins them (or, if it cannot, never unpins them).
                let mapped = unsafe {
                    map_whole(hv_pages, partition_id, gfn, count, flags, true, |i| {
                        pinned.pfn(i)
                    })
                };
                if let Err(failed) = mapped {
                    if failed.still_mapped {
                        pr_err!("partition {partition_id}: guest memory stays pinned: unmapping failed\n");
                        core::mem::forget(pinned);
                    }
                    return Err(failed.into());
                }
                Backing::Pinned { _pinned: pinned }
            }
        }
    };
    regions.push(
        Region {
            gfn,
            pages,
            uaddr,
            flags: args.flags,
            backing,
        },
        GFP_KERNEL,
    )?;
    Ok(0)
}
