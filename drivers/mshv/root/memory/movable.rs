// SPDX-License-Identifier: GPL-2.0

//! A movable region of guest memory: mapped with no access at first, its pages faulted in
//! (2 MiB at a time) when the guest touches them and the hypervisor stops the VP with a GPA
//! intercept ([`Movable::fault`]), and mapped with no access again whenever the kernel changes
//! what backs them ([`invalidate`], called by an MMU interval notifier), so they are never
//! pinned.
//!
//! The region's lock is taken in invalidations, which may run in reclaim: nothing allocates
//! under it (the hypercalls made under it use pages set aside, and never ask for a deposit).

use core::ptr::NonNull;

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

use super::{
    map_whole,
    HV_MAP_GPA_NO_ACCESS,
    HV_MAP_GPA_WRITABLE, //
};
use crate::{
    calls,
    ffi,
    transport::HvPages, //
};

/// Pages a guest's fault on a movable region brings in: the 2 MiB around it.
const FAULT_PAGES: u64 = 512;
/// Attempts at a fault that invalidations keep overtaking before it is left to the VMM.
const FAULT_TRIES: usize = 16;

/// Marks an entry of [`MovableState::mapped`] whose frame the region holds a reference on: the
/// hypervisor refused to take it back when the kernel reclaimed it (see [`invalidate`]).
const HELD: u64 = 1 << 63;

/// A movable region's state, under its lock: what is mapped, and pages for the hypercalls made
/// under the lock (which must not allocate: invalidations take it).
struct MovableState {
    /// The host frame each page is mapped to, 0 where it is mapped with no access; with
    /// [`HELD`], a frame the region keeps a reference on.
    mapped: KVVec<u64>,
    pages: HvPages,
    /// The region is still in the partition's address space. Cleared, under the lock, when it
    /// is unmapped or the partition finalised: a fault that found the region before that (and
    /// still holds a reference) must not map it again.
    live: bool,
}

impl MovableState {
    /// Records that page `i` is mapped to frame `pfn` (0: no access), the hypervisor no longer
    /// mapping what it was before: a frame held for it is let go.
    fn set(&mut self, i: usize, pfn: u64) {
        let old = core::mem::replace(&mut self.mapped[i], pfn);
        if old & HELD != 0 {
            // SAFETY: `HELD` marks a reference `hold` took, dropped once, here.
            unsafe { ffi::mshv_shim_pfn_release(old & !HELD) };
        }
    }

    /// Nothing of the region is mapped any more.
    fn clear(&mut self) {
        (0..self.mapped.len()).for_each(|i| self.set(i, 0));
    }

    /// The hypervisor still maps pages `range`, which the kernel is taking back: a reference
    /// on each keeps it from being freed while it is mapped. Whether every page is held.
    fn hold(&mut self, range: core::ops::RangeInclusive<usize>) -> bool {
        let mut all = true;
        for pfn in self.mapped[range].iter_mut() {
            if *pfn == 0 || *pfn & HELD != 0 {
                continue;
            }
            // SAFETY: The frame is in use: every mapped entry was faulted in under the watch and
            // is remapped, held or cleared by the invalidation that takes it back, which runs
            // before the user mapping lets go of the page; this is that invalidation.
            if unsafe { ffi::mshv_shim_pfn_hold(*pfn) } {
                *pfn |= HELD;
            } else {
                all = false;
            }
        }
        all
    }
}

impl Drop for MovableState {
    /// The region is gone. After it was unmapped or its partition finalised (no longer live),
    /// the frames it held can go; else the hypervisor may still map them, and they stay held.
    fn drop(&mut self) {
        if !self.live {
            self.clear();
        }
    }
}

/// What invalidations see of a movable region: a separate allocation, which the region keeps
/// until after its watch is removed, so no invalidation runs while the region is dropped.
#[pin_data]
struct Shared {
    partition_id: u64,
    gfn: u64,
    pages: u64,
    uaddr: u64,
    /// `HV_MAP_GPA_*` for a faulted-in page.
    map_flags: u32,
    #[pin]
    state: Mutex<MovableState>,
}

impl Shared {
    /// Maps `count` pages from page `first` with no access again, under the region's lock (the
    /// hypervisor's tables for them exist, so it asks for no memory); the record is the
    /// caller's to update.
    fn no_access(
        &self,
        state: &mut MovableState,
        first: usize,
        count: usize,
    ) -> core::result::Result<(), (Error, usize)> {
        // SAFETY: No access: no frame is named.
        unsafe {
            calls::map_gpa_pages(
                &mut state.pages,
                self.partition_id,
                self.gfn + first as u64,
                count,
                HV_MAP_GPA_NO_ACCESS,
                false,
                false,
                |_| 0,
            )
        }
    }
}

/// A movable region: its pages come and go with the user mapping.
pub(in crate::root) struct Movable {
    shared: Arc<Shared>,
    /// The shim's watch over the user range.
    watch: NonNull<c_void>,
}

// SAFETY: The watch is only handed to the shim, whose calls may come from any thread.
unsafe impl Send for Movable {}
// SAFETY: As above; `&Movable` allows nothing but those calls and the locked state.
unsafe impl Sync for Movable {}

impl Movable {
    /// Maps `pages` frames from `gfn` with no access and watches the user range from `uaddr`.
    /// `Ok(None)`: the range cannot be watched (the caller pins instead).
    pub(super) fn new(
        hv_pages: &mut HvPages,
        partition_id: u64,
        gfn: u64,
        pages: u64,
        uaddr: u64,
        map_flags: u32,
    ) -> Result<Option<Arc<Self>>> {
        let count = usize::try_from(pages).map_err(|_| EINVAL)?;
        // A size user space chose: too big is ENOMEM, without a warning in the log.
        let mut mapped = KVVec::with_capacity(count, GFP_KERNEL | __GFP_NOWARN)?;
        mapped.resize(count, 0, GFP_KERNEL | __GFP_NOWARN)?;
        let shared = Arc::pin_init(
            try_pin_init!(Shared {
                partition_id,
                gfn,
                pages,
                uaddr,
                map_flags,
                state <- new_mutex!(MovableState {
                    mapped,
                    pages: HvPages::new()?,
                    live: true,
                }),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: No page is named (no access), so the mapping needs no watch yet.
        unsafe {
            map_whole(
                hv_pages,
                partition_id,
                gfn,
                count,
                HV_MAP_GPA_NO_ACCESS,
                false,
                |_| 0,
            )
        }?;
        // SAFETY: `invalidate` takes `data` as a `Shared`, which outlives the watch: the
        // region's `Drop` removes the watch before its reference goes. The range is the
        // caller's, checked by `access_ok`.
        let watch = unsafe {
            ffi::mshv_shim_range_insert(
                uaddr,
                pages * PAGE_SIZE as u64,
                invalidate,
                Arc::as_ptr(&shared).cast_mut().cast(),
            )
        };
        let watch = match from_err_ptr(watch) {
            // A valid pointer is never null.
            Ok(w) => NonNull::new(w).ok_or(EINVAL)?,
            Err(_) => {
                let _ = calls::unmap_gpa_pages(hv_pages, partition_id, gfn, count);
                return Ok(None);
            }
        };
        match Arc::new(Self { shared, watch }, GFP_KERNEL) {
            Ok(this) => Ok(Some(this)),
            // `Self`'s drop removed the watch; the pages are unmapped with the region's.
            Err(e) => {
                let _ = calls::unmap_gpa_pages(hv_pages, partition_id, gfn, count);
                Err(e.into())
            }
        }
    }

    /// The shim's watch.
    fn watch(&self) -> *mut c_void {
        self.watch.as_ptr()
    }

    /// Unmaps the region from the partition's address space for good. Under the lock: an
    /// invalidation waits until the hypervisor no longer maps the pages, and a fault that found
    /// the region before it was unmapped sees it gone.
    pub(super) fn unmap(&self) -> Result {
        let mut state = self.shared.state.lock();
        let state = &mut *state;
        let mapped = &state.mapped;
        // SAFETY: The frames mapped are stable under the lock (an invalidation, which takes it,
        // comes before they are split or freed), so they are what they were when the fault
        // mapped them: the blocks it mapped large are found large again.
        unsafe {
            calls::unmap_gpa_pages_of(
                &mut state.pages,
                self.shared.partition_id,
                self.shared.gfn,
                self.shared.pages as usize,
                |i| mapped[i] & !HELD,
            )
        }?;
        state.clear();
        state.live = false;
        Ok(())
    }

    /// Nothing is mapped any more, and nothing may be (the partition was finalised).
    pub(super) fn forget(&self) {
        let mut state = self.shared.state.lock();
        state.clear();
        state.live = false;
    }

    /// The hypervisor may still map the region, which goes: every page it maps is held for
    /// good (the watch still guards them, so each is in use).
    pub(super) fn keep(&self) {
        let mut state = self.shared.state.lock();
        if let Some(last) = state.mapped.len().checked_sub(1) {
            if !state.hold(0..=last) {
                pr_err!(
                    "partition {}: guest pages the kernel frees may stay mapped\n",
                    self.shared.partition_id
                );
            }
        }
    }

    /// Takes the guest's fault on frame `gfn`: faults in the 2 MiB around it and maps them.
    /// Whether that was done (else the VMM gets the intercept).
    pub(in crate::root) fn fault(&self, gfn: u64) -> bool {
        let first = (gfn - self.shared.gfn) & !(FAULT_PAGES - 1);
        let n = FAULT_PAGES.min(self.shared.pages - first);
        let mut pfns = KVec::new();
        if pfns.resize(n as usize, 0u64, GFP_KERNEL).is_err() {
            return false;
        }
        let write = self.shared.map_flags & HV_MAP_GPA_WRITABLE != 0;
        for _ in 0..FAULT_TRIES {
            let mut seq: c_ulong = 0;
            // SAFETY: The watch lives as long as `self`; `pfns` has room for `n` frames.
            let ret = unsafe {
                ffi::mshv_shim_range_fault(
                    self.watch(),
                    self.shared.uaddr + first * PAGE_SIZE as u64,
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
            let mut state = self.shared.state.lock();
            // SAFETY: The watch lives as long as `self`; the check is made under the lock the
            // invalidations take.
            if unsafe { ffi::mshv_shim_range_retry(self.watch(), seq) } {
                continue;
            }
            // Unmapped since the partition looked it up: the pages are no longer the guest's
            // (and once this reference goes, nothing watches them). The VP runs again and meets
            // what is mapped there now (nothing, or a new region).
            if !state.live {
                return true;
            }
            let state = &mut *state;
            // Under the lock, nothing may allocate: the tables exist since the region was
            // mapped with no access, so the hypervisor asks for no memory.
            // SAFETY: The frames were faulted in under the watch, and no invalidation came
            // since (checked under the lock it takes): until one does, which remaps them with no
            // access under the same lock, they are the guest's.
            let mapped = unsafe {
                calls::map_gpa_pages(
                    &mut state.pages,
                    self.shared.partition_id,
                    self.shared.gfn + first,
                    n as usize,
                    self.shared.map_flags,
                    false,
                    // Large pages where the 2 MiB are a huge page's: the frames are stable
                    // under this lock (splitting or freeing them needs an invalidation).
                    true,
                    |i| pfns[i],
                )
            };
            let Err((_, done)) = mapped else {
                for (i, &pfn) in pfns.iter().enumerate() {
                    state.set(first as usize + i, pfn);
                }
                return true;
            };
            // Some of the pages (at most `done`) may be mapped: back to no access, which lets
            // go of any frame held there; else what may be mapped is recorded (invalidations
            // must find it) and no held frame is let go.
            let at = first as usize;
            let undone = self.shared.no_access(state, at, n as usize);
            if undone.is_ok() {
                (at..at + pfns.len()).for_each(|i| state.set(i, 0));
            } else {
                for (i, &pfn) in pfns.iter().take(done).enumerate() {
                    if state.mapped[at + i] & HELD == 0 {
                        state.mapped[at + i] = pfn;
                    }
                }
            }
            return false;
        }
        false
    }
}

impl Drop for Movable {
    fn drop(&mut self) {
        // SAFETY: The watch is this region's; after the call no `invalidate` runs, and only then
        // does the reference to `Shared` go.
        unsafe { ffi::mshv_shim_range_remove(self.watch()) };
    }
}

/// The kernel is about to change what backs user addresses `start..end` of a movable region:
/// its pages there are mapped with no access again. Returns false to be asked again where it
/// must not block but would have to.
///
/// # Safety
///
/// `data` is the `Shared` of the region the watch `watch` was registered for, alive while the
/// watch is.
unsafe extern "C" fn invalidate(
    data: *mut c_void,
    watch: *mut c_void,
    start: u64,
    end: u64,
    blockable: bool,
    seq: c_ulong,
) -> bool {
    // SAFETY: As the function's contract says.
    let this = unsafe { &*data.cast::<Shared>() };
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
    let lo = start.saturating_sub(this.uaddr) / page;
    let hi = (end.min(this.uaddr + size).saturating_sub(this.uaddr)).div_ceil(page);
    let range = lo as usize..(hi as usize).max(lo as usize);
    let Some(first) = range.clone().find(|&i| state.mapped[i] != 0) else {
        return true;
    };
    if !blockable {
        return false;
    }
    let last = range.rev().find(|&i| state.mapped[i] != 0).unwrap_or(first);
    let state = &mut *state;
    match this.no_access(state, first, last - first + 1) {
        Ok(()) => (first..=last).for_each(|i| state.set(i, 0)),
        // The hypervisor still maps the pages, and the invalidation cannot be refused where it
        // may block (the core would only warn): the region keeps the frames until it is
        // unmapped or remapped, so none is freed while the guest can reach it.
        Err(_) => {
            kernel::pr_warn_once!(
                "partition {}: the hypervisor kept guest pages the kernel reclaims; they stay \
                 allocated until the region is unmapped\n",
                this.partition_id
            );
            if !state.hold(first..=last) {
                // A page that cannot be held must not stay mapped: take the range out of the
                // guest's address space altogether (its accesses then go to the VMM).
                let unmapped = calls::unmap_gpa_pages(
                    &mut state.pages,
                    this.partition_id,
                    this.gfn + first as u64,
                    last - first + 1,
                );
                if unmapped.is_ok() {
                    (first..=last).for_each(|i| state.set(i, 0));
                } else {
                    pr_err!(
                        "partition {}: guest pages the kernel frees may stay mapped\n",
                        this.partition_id
                    );
                    // What could be held stays so; the rest is forgotten, never held later
                    // (its pages may be gone by then).
                    for pfn in state.mapped[first..=last].iter_mut() {
                        if *pfn & HELD == 0 {
                            *pfn = 0;
                        }
                    }
                }
            }
        }
    }
    true
}
