// SPDX-License-Identifier: GPL-2.0

//! Guest memory: `MSHV_SET_GUEST_MEMORY` maps user memory into a partition's guest physical
//! address space, or unmaps it.
//!
//! A region is *movable*, as upstream's: mapped with no access at first, its pages faulted in
//! (2 MiB at a time) when the guest touches them and the hypervisor stops the VP with a GPA
//! intercept ([`Movable::fault`]), and mapped with no access again whenever the kernel changes
//! what backs them (an MMU interval notifier: [`invalidate`]), so they are never pinned. Where
//! the notifier cannot be registered, the region is *pinned* (`FOLL_LONGTERM`) and mapped whole
//! for as long as it exists. Device memory (a PCI BAR mapped by VFIO or sysfs) is mapped whole,
//! uncached. See Documentation/mshv-rs/root.rst.

use kernel::{
    bindings,
    error::from_err_ptr,
    ffi::{
        c_ulong,
        c_void, //
    },
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        Arc,
        Mutex, //
    },
};

use crate::{
    calls, ffi,
    transport::HvPages,
    uapi::{
        self,
        UserMemRegion, //
    },
};

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

/// Pages a guest's fault on a movable region brings in: the 2 MiB around it.
const FAULT_PAGES: u64 = 512;
/// Attempts at a fault that invalidations keep overtaking before it is left to the VMM.
const FAULT_TRIES: usize = 16;

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
        let mut this = Self(KVVec::with_capacity(count, GFP_KERNEL)?);
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
    /// Device memory (a PCI BAR mapped by VFIO or sysfs): its frames mapped whole, uncached.
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
        if let Backing::Movable(m) = &self.backing {
            m.forget();
        }
        calls::unmap_gpa_pages(hv_pages, partition_id, self.gfn, self.pages as usize)
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

/// A movable region's state, under its lock: what is mapped, and pages for the hypercalls made
/// under the lock (which must not allocate: invalidations take it).
struct MovableState {
    /// The host frame each page is mapped to, 0 where it is mapped with no access.
    mapped: KVVec<u64>,
    pages: HvPages,
}

/// A movable region: its pages come and go with the user mapping.
#[pin_data(PinnedDrop)]
pub(super) struct Movable {
    partition_id: u64,
    gfn: u64,
    pages: u64,
    uaddr: u64,
    /// `HV_MAP_GPA_*` for a faulted-in page.
    map_flags: u32,
    /// The shim's watch over the user range (null until registered).
    watch: *mut c_void,
    #[pin]
    state: Mutex<MovableState>,
}

// SAFETY: The watch is only passed to the shim, from any thread; the rest is plain data or
// behind the lock.
unsafe impl Send for Movable {}
// SAFETY: As above: `&Movable` only allows the locked state and shim calls that may run
// concurrently.
unsafe impl Sync for Movable {}

impl Movable {
    /// Maps `pages` frames from `gfn` with no access and watches the user range from `uaddr`.
    /// `Ok(None)`: the range cannot be watched (the caller pins instead).
    fn new(
        hv_pages: &mut HvPages,
        partition_id: u64,
        gfn: u64,
        pages: u64,
        uaddr: u64,
        map_flags: u32,
    ) -> Result<Option<Arc<Self>>> {
        let count = usize::try_from(pages).map_err(|_| EINVAL)?;
        let mut mapped = KVVec::with_capacity(count, GFP_KERNEL)?;
        mapped.resize(count, 0, GFP_KERNEL)?;
        let this = Arc::pin_init(
            try_pin_init!(Self {
                partition_id,
                gfn,
                pages,
                uaddr,
                map_flags,
                watch: core::ptr::null_mut(),
                state <- new_mutex!(MovableState {
                    mapped,
                    pages: HvPages::new()?,
                }),
            }),
            GFP_KERNEL,
        )?;
        // No page is named, so the mapping needs no watch yet.
        if let Err((e, done)) = calls::map_gpa_pages(
            hv_pages,
            partition_id,
            gfn,
            count,
            HV_MAP_GPA_NO_ACCESS,
            true,
            |_| 0,
        ) {
            if done > 0 {
                let _ = calls::unmap_gpa_pages(hv_pages, partition_id, gfn, done);
            }
            return Err(e);
        }
        // SAFETY: `invalidate` takes `data` as a `Movable`, which outlives the watch: `Drop`
        // removes the watch first. The range is the caller's, checked by `access_ok`.
        let watch = unsafe {
            ffi::mshv_shim_range_insert(
                uaddr,
                pages * PAGE_SIZE as u64,
                invalidate,
                Arc::as_ptr(&this).cast_mut().cast(),
            )
        };
        match from_err_ptr(watch) {
            Ok(w) => {
                // SAFETY: Nothing else refers to the region yet but the watch, which does not
                // read this field.
                unsafe { (*Arc::as_ptr(&this).cast_mut()).watch = w };
                Ok(Some(this))
            }
            Err(_) => {
                let _ = calls::unmap_gpa_pages(hv_pages, partition_id, gfn, count);
                Ok(None)
            }
        }
    }

    /// Nothing is mapped any more (the region was unmapped, or the partition finalised).
    fn forget(&self) {
        let mut state = self.state.lock();
        state.mapped.iter_mut().for_each(|pfn| *pfn = 0);
    }

    /// Takes the guest's fault on frame `gfn`: faults in the 2 MiB around it and maps them.
    /// Whether that was done (else the VMM gets the intercept).
    pub(super) fn fault(&self, gfn: u64) -> bool {
        let first = (gfn - self.gfn) & !(FAULT_PAGES - 1);
        let n = FAULT_PAGES.min(self.pages - first);
        let mut pfns = KVec::new();
        if pfns.resize(n as usize, 0u64, GFP_KERNEL).is_err() {
            return false;
        }
        let write = self.map_flags & HV_MAP_GPA_WRITABLE != 0;
        for _ in 0..FAULT_TRIES {
            let mut seq: c_ulong = 0;
            // SAFETY: The watch lives as long as `self`; `pfns` has room for `n` frames.
            let ret = unsafe {
                ffi::mshv_shim_range_fault(
                    self.watch,
                    self.uaddr + first * PAGE_SIZE as u64,
                    n,
                    write,
                    pfns.as_mut_ptr(),
                    &mut seq,
                )
            };
            if ret == -(bindings::EBUSY as i32) {
                continue;
            }
            if ret != 0 {
                return false;
            }
            let mut state = self.state.lock();
            // SAFETY: The watch lives as long as `self`; the check is made under the lock the
            // invalidations take.
            if unsafe { ffi::mshv_shim_range_retry(self.watch, seq) } {
                continue;
            }
            let state = &mut *state;
            // Under the lock, nothing may allocate: the tables exist since the region was
            // mapped with no access, so the hypervisor asks for no memory.
            let mapped = calls::map_gpa_pages(
                &mut state.pages,
                self.partition_id,
                self.gfn + first,
                n as usize,
                self.map_flags,
                false,
                |i| pfns[i],
            );
            if mapped.is_err() {
                return false;
            }
            for (i, &pfn) in pfns.iter().enumerate() {
                state.mapped[first as usize + i] = pfn;
            }
            return true;
        }
        false
    }
}

#[pinned_drop]
impl PinnedDrop for Movable {
    fn drop(self: Pin<&mut Self>) {
        if !self.watch.is_null() {
            // SAFETY: The watch is this region's; after the call no `invalidate` runs.
            unsafe { ffi::mshv_shim_range_remove(self.watch) };
        }
    }
}

/// The kernel is about to change what backs user addresses `start..end` of a movable region:
/// its pages there are mapped with no access again. Returns false to be asked again where it
/// must not block but would have to.
///
/// # Safety
///
/// `data` is the `Movable` the watch `watch` was registered for, alive while the watch is.
unsafe extern "C" fn invalidate(
    data: *mut c_void,
    watch: *mut c_void,
    start: u64,
    end: u64,
    blockable: bool,
    seq: c_ulong,
) -> bool {
    // SAFETY: As the function's contract says.
    let this = unsafe { &*data.cast::<Movable>() };
    let mut state = if blockable {
        this.state.lock()
    } else {
        match this.state.try_lock() {
            Some(s) => s,
            None => return false,
        }
    };
    // SAFETY: `watch` is live (the contract); the lock the fault path checks under is held.
    unsafe { ffi::mshv_shim_range_set_seq(watch, seq) };
    let page = PAGE_SIZE as u64;
    let size = this.pages * page;
    let lo = (start.max(this.uaddr) - this.uaddr) / page;
    let hi = (end.min(this.uaddr + size) - this.uaddr).div_ceil(page);
    let range = lo as usize..(hi as usize).max(lo as usize);
    let Some(first) = range.clone().find(|&i| state.mapped[i] != 0) else {
        return true;
    };
    if !blockable {
        return false;
    }
    let last = range.rev().find(|&i| state.mapped[i] != 0).unwrap_or(first);
    let state = &mut *state;
    // Nothing to report to if it fails; the hypervisor's tables for these pages exist, so it
    // asks for no memory.
    let _ = calls::map_gpa_pages(
        &mut state.pages,
        this.partition_id,
        this.gfn + first as u64,
        last - first + 1,
        HV_MAP_GPA_NO_ACCESS,
        false,
        |_| 0,
    );
    state.mapped[first..=last]
        .iter_mut()
        .for_each(|pfn| *pfn = 0);
    true
}

/// Maps `count` frames of device memory from `first_pfn` at `gfn`: readable, writable and
/// uncached whatever the region's flags, as upstream. Frames of system RAM are refused
/// (`EINVAL`): device memory only.
fn map_mmio(
    hv_pages: &mut HvPages,
    partition_id: u64,
    gfn: u64,
    count: usize,
    first_pfn: u64,
) -> Result {
    for i in 0..count as u64 {
        let pfn = first_pfn.checked_add(i).ok_or(EINVAL)?;
        // SAFETY: `page_is_ram` only looks the frame up in the kernel's resource tree.
        if unsafe { ffi::mshv_shim_pfn_is_ram(pfn) } {
            return Err(EINVAL);
        }
    }
    let flags = HV_MAP_GPA_READABLE | HV_MAP_GPA_WRITABLE | HV_MAP_GPA_NOT_CACHED;
    calls::map_gpa_pages(hv_pages, partition_id, gfn, count, flags, true, |i| {
        first_pfn + i as u64
    })
    .map_err(|(e, done)| {
        if done > 0 {
            let _ = calls::unmap_gpa_pages(hv_pages, partition_id, gfn, done);
        }
        e
    })
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
    let (mut pgoff, mut vma_end) = (0, 0);
    // SAFETY: The shim looks the address up under the current task's mmap lock and writes the
    // two locals.
    let is_io = match unsafe { ffi::mshv_shim_user_vma(uaddr, &mut pgoff, &mut vma_end) } {
        0 => false,
        1 => true,
        _ => return Err(EINVAL),
    };
    if regions.iter().any(|r| r.overlaps(gfn, pages)) {
        return Err(EEXIST);
    }
    regions.reserve(1, GFP_KERNEL)?;
    if is_io {
        // The region must lie within the device mapping (upstream does not check).
        if uaddr.checked_add(args.size).is_none_or(|end| end > vma_end) {
            return Err(EINVAL);
        }
        map_mmio(hv_pages, partition_id, gfn, count, pgoff)?;
        regions.push(
            Region {
                gfn,
                pages,
                uaddr,
                flags: args.flags,
                backing: Backing::Mmio,
            },
            GFP_KERNEL,
        )?;
        return Ok(0);
    }
    let mut flags = HV_MAP_GPA_READABLE | HV_MAP_GPA_ADJUSTABLE;
    if args.flags & WRITABLE != 0 {
        flags |= HV_MAP_GPA_WRITABLE;
    }
    if args.flags & EXECUTABLE != 0 {
        flags |= HV_MAP_GPA_EXECUTABLE;
    }
    let backing = match Movable::new(hv_pages, partition_id, gfn, pages, uaddr, flags)? {
        Some(m) => Backing::Movable(m),
        None => {
            let pinned = Pinned::pin(uaddr_usize, count, true)?;
            if let Err((e, done)) =
                calls::map_gpa_pages(hv_pages, partition_id, gfn, count, flags, true, |i| {
                    pinned.pfn(i)
                })
            {
                if done > 0 {
                    let _ = calls::unmap_gpa_pages(hv_pages, partition_id, gfn, done);
                }
                return Err(e);
            }
            Backing::Pinned { _pinned: pinned }
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
