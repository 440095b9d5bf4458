// SPDX-License-Identifier: GPL-2.0

//! The hypercalls the driver issues, one function each: the input page is filled from typed
//! arguments, the call goes through the chosen [`Hypervisor`](crate::transport::Hypervisor)
//! with the rep and deposit loops of [`crate::hypercall`], and the output is decoded.
//!
//! Every function takes the caller's [`HvPages`]; nothing here keeps state.

use kernel::prelude::*;

use crate::{
    ffi,
    hv::{
        abi::{
            self,
            code,
            input_vtl,
            AssertVirtualInterruptIn,
            ConnectPortIn,
            CreatePartitionIn,
            CreatePortIn,
            CreateVpIn,
            DepositMemoryIn,
            DispatchVpIn,
            DispatchVpOut,
            GetPartitionPropertyExIn,
            GetPartitionPropertyIn,
            GetSystemPropertyIn,
            GpaPagesIn,
            MapVpStatePageIn,
            MapVpStatePageOut,
            PartitionIdOut,
            PostMessageIn,
            RegisterAssoc,
            UnmapVpStatePageIn,
            VpRegistersIn,
            VpStateIn,
            WithdrawMemoryIn, //
        },
        control::{
            reps_per_page,
            Control, //
        },
        status::{
            Deposit,
            HvResult,
            HvStatus, //
        },
    },
    hypercall::{
        batches,
        rep_call,
        with_deposits,
        MAX_DEPOSIT_PAGES_PER_CALL, //
    },
    transport::{
        hv,
        HvPages, //
    },
};

/// Pages deposited before `HVCALL_INITIALIZE_PARTITION` (as upstream).
pub(crate) const INITIALIZE_PARTITION_DEPOSIT_PAGES: u32 = 208;
/// Pages deposited before `HVCALL_CREATE_VP` (as upstream).
pub(crate) const CREATE_VP_DEPOSIT_PAGES: u32 = 90;
/// The most pages one deposit call takes (`HV_DEPOSIT_MAX`).
pub(crate) const DEPOSIT_MAX: u32 = reps_per_page(8, 8) as u32;
/// Pages deposited when mapping guest memory asks for memory (`HV_MAP_GPA_DEPOSIT_PAGES`).
pub(crate) const MAP_GPA_DEPOSIT_PAGES: u32 = 256;
/// Guest pages one map call takes: what fits in the input page after its header.
pub(crate) const MAP_GPA_BATCH: u16 = reps_per_page(size_of::<GpaPagesIn>(), 8);
/// Guest pages one unmap call takes (`HV_UMAP_GPA_PAGES`).
pub(crate) const UNMAP_GPA_BATCH: u16 = 512;
/// The most pages one withdraw call returns (`HV_WITHDRAW_BATCH_SIZE`).
const WITHDRAW_BATCH: u16 = reps_per_page(0, 8);

/// Issues a simple call with `input` at the start of the input page.
///
/// # Safety
///
/// As [`Hypervisor::hypercall`](crate::transport::Hypervisor::hypercall), for call `code`
/// with this input: every host frame it names is the caller's to hand over.
unsafe fn simple<I: kernel::transmute::AsBytes>(
    pages: &mut HvPages,
    code: u16,
    input: &I,
) -> Result<HvResult> {
    pages.input.write(0, input)?;
    // SAFETY: The input is `input` alone, whose frames the caller vouches for.
    Ok(unsafe { hv().hypercall(Control::new(code), &pages.input, &mut pages.output) })
}

/// Issues a simple call until it no longer asks for memory, depositing into `partition_id`
/// (or the root, when asked) in between, and returns its result as an errno.
///
/// # Safety
///
/// As [`simple`].
unsafe fn simple_with_deposits<I: kernel::transmute::AsBytes>(
    pages: &mut HvPages,
    code: u16,
    input: &I,
    partition_id: u64,
) -> Result {
    with_deposits(
        pages,
        |pages| {
            // SAFETY: As this function's contract says.
            unsafe { simple(pages, code, input) }
                .unwrap_or(HvResult::new(HvStatus::INVALID_PARAMETER, 0))
        },
        |pages, request| deposit_requested(pages, partition_id, request),
    )?
    .to_result()
}

/// Deposits what a call asked for.
pub(crate) fn deposit_requested(
    pages: &mut HvPages,
    partition_id: u64,
    request: Deposit,
) -> Result {
    let target = if request.into_root {
        abi::HV_PARTITION_ID_SELF
    } else {
        partition_id
    };
    deposit(pages, target, request.pages)
}

/// Pages allocated for a deposit, freed unless the hypervisor took them.
struct DepositPages(KVec<u64>);

impl DepositPages {
    /// Allocates `count` pages as upstream does: in the largest physically contiguous chunks
    /// that fit what is left (a power of two), a smaller chunk when one cannot be had, so that
    /// a request for contiguous memory (8 pages) gets one chunk. Each chunk is split: every
    /// page is freed alone, as the hypervisor returns them one by one.
    fn alloc(count: u32) -> Result<Self> {
        let mut this = Self(KVec::with_capacity(count as usize, GFP_KERNEL)?);
        let mut left = count;
        while left > 0 {
            let mut order = left.ilog2();
            let first = loop {
                // SAFETY: No preconditions.
                let pfn = unsafe { ffi::mshv_shim_pages_alloc(order) };
                if pfn != 0 {
                    break pfn;
                }
                if order == 0 {
                    // Dropping `this` frees what was allocated so far.
                    return Err(ENOMEM);
                }
                order -= 1;
            };
            for pfn in first..first + (1u64 << order) {
                // Room for `count` pages was reserved, and the chunks add up to at most
                // `count`: this never fails, and the page would be freed if it did.
                if this.0.push_within_capacity(pfn).is_err() {
                    // SAFETY: The page was split from a chunk just allocated; nobody else
                    // has it.
                    unsafe { ffi::mshv_shim_page_free(pfn) };
                }
            }
            left -= 1 << order;
        }
        Ok(this)
    }

    /// The hypervisor owns the first `n` pages now; the rest are freed when `self` goes.
    fn given(mut self, n: usize) {
        let n = n.min(self.0.len());
        let len = self.0.len();
        self.0.copy_within(n.., 0);
        self.0.truncate(len - n);
    }
}

impl Drop for DepositPages {
    fn drop(&mut self) {
        for &pfn in self.0.iter() {
            // SAFETY: Each page came from `mshv_shim_pages_alloc` (split from its chunk) and
            // nobody else has it.
            unsafe { ffi::mshv_shim_page_free(pfn) };
        }
    }
}

/// `HVCALL_DEPOSIT_MEMORY`: gives `count` new pages to `partition_id`'s pool, in contiguous
/// chunks where the kernel has them ([`DepositPages::alloc`]); the input lists every page.
pub(crate) fn deposit(pages: &mut HvPages, partition_id: u64, count: u32) -> Result {
    if count > DEPOSIT_MAX {
        return Err(E2BIG);
    }
    if count == 0 {
        return Ok(());
    }
    let new = DepositPages::alloc(count)?;
    pages.input.write(0, &DepositMemoryIn { partition_id })?;
    for (i, &pfn) in new.0.iter().enumerate() {
        pages.input.write_u64(8, i, pfn)?;
    }
    let (input, output) = (&pages.input, &mut pages.output);
    // `count` fits: it is at most DEPOSIT_MAX.
    let result = rep_call(code::DEPOSIT_MEMORY, count as u16, 0, 0, |c| {
        // SAFETY: The frames are pages just allocated for the hypervisor, which it keeps (or
        // `new` frees them on failure).
        unsafe { hv().hypercall(c, input, output) }
    });
    let result = match result {
        Ok(result) => result,
        // A hypervisor that reported no progress may hold any of the pages: they stay with it.
        Err(e) => {
            new.given(count as usize);
            return Err(e);
        }
    };
    // A deposit that fails part way leaves the pages of the reps done with the hypervisor:
    // only the others are freed (upstream frees them all).
    let done = if result.status() == HvStatus::SUCCESS {
        count as usize
    } else {
        usize::from(result.reps_completed())
    };
    new.given(done);
    result.to_result()
}

/// `HVCALL_WITHDRAW_MEMORY` until the pool is empty: frees every page `partition_id` holds.
pub(crate) fn withdraw_all(pages: &mut HvPages, partition_id: u64) -> Result {
    loop {
        pages.input.write(
            0,
            &WithdrawMemoryIn {
                partition_id,
                proximity_domain_id: 0,
                proximity_flags: 0,
            },
        )?;
        let (input, output) = (&pages.input, &mut pages.output);
        let result = rep_call(code::WITHDRAW_MEMORY, WITHDRAW_BATCH, 0, 0, |c| {
            // SAFETY: A withdraw input names no host frame (the output does).
            unsafe { hv().hypercall(c, input, output) }
        })?;
        for i in 0..usize::from(result.reps_completed()) {
            let pfn = pages.output.read_u64(0, i)?;
            // SAFETY: The hypervisor returns pages the driver deposited, which came from
            // `mshv_shim_pages_alloc` split into single pages; it no longer uses them.
            unsafe { ffi::mshv_shim_page_free(pfn) };
        }
        match result.status() {
            HvStatus::NO_RESOURCES => return Ok(()),
            HvStatus::SUCCESS => continue,
            status => return status.to_result(),
        }
    }
}

/// `HVCALL_CREATE_PARTITION`: returns the new partition's id. Memory the hypervisor asks for
/// goes to the root's pool.
pub(crate) fn create_partition(pages: &mut HvPages, input: &CreatePartitionIn) -> Result<u64> {
    // SAFETY: A create-partition input names no host frame.
    unsafe {
        simple_with_deposits(
            pages,
            code::CREATE_PARTITION,
            input,
            abi::HV_PARTITION_ID_SELF,
        )
    }?;
    Ok(pages.output.read::<PartitionIdOut>(0)?.partition_id)
}

/// Issues a fast call with the partition id as its one input.
fn fast_partition(code: u16, partition_id: u64) -> HvResult {
    hv().fast_hypercall(code, partition_id, 0)
}

/// `HVCALL_INITIALIZE_PARTITION`, after the usual pre-deposit.
pub(crate) fn initialize_partition(pages: &mut HvPages, partition_id: u64) -> Result {
    deposit(pages, partition_id, INITIALIZE_PARTITION_DEPOSIT_PAGES)?;
    with_deposits(
        pages,
        |_| fast_partition(code::INITIALIZE_PARTITION, partition_id),
        |pages, request| deposit_requested(pages, partition_id, request),
    )?
    .to_result()
}

/// `HVCALL_FINALIZE_PARTITION`.
pub(crate) fn finalize_partition(partition_id: u64) -> Result {
    fast_partition(code::FINALIZE_PARTITION, partition_id).to_result()
}

/// `HVCALL_DELETE_PARTITION`.
pub(crate) fn delete_partition(partition_id: u64) -> Result {
    fast_partition(code::DELETE_PARTITION, partition_id).to_result()
}

/// `HVCALL_CREATE_VP`, after the usual pre-deposit.
pub(crate) fn create_vp(pages: &mut HvPages, partition_id: u64, vp_index: u32) -> Result {
    deposit(pages, partition_id, CREATE_VP_DEPOSIT_PAGES)?;
    let input = CreateVpIn {
        partition_id,
        vp_index,
        padding: [0; 3],
        subnode_type: 0,
        subnode_id: 0,
        proximity_domain_id: 0,
        proximity_flags: 0,
        flags: 0,
    };
    // SAFETY: A create-VP input names no host frame.
    unsafe { simple_with_deposits(pages, code::CREATE_VP, &input, partition_id) }
}

/// `HVCALL_DELETE_VP`.
pub(crate) fn delete_vp(partition_id: u64, vp_index: u32) -> Result {
    hv().fast_hypercall(code::DELETE_VP, partition_id, u64::from(vp_index))
        .to_result()
}

/// `HVCALL_MAP_VP_STATE_PAGE`: returns the page frame the hypervisor chose.
pub(crate) fn map_vp_state_page(
    pages: &mut HvPages,
    partition_id: u64,
    vp_index: u32,
    type_: u16,
) -> Result<u64> {
    let input = MapVpStatePageIn {
        partition_id,
        vp_index,
        type_,
        input_vtl: 0,
        flags: 0,
        requested_map_location: 0,
    };
    // SAFETY: The input names no host frame: `requested_map_location` is read only with the
    // flag that asks for it, which is clear (the hypervisor chooses the page).
    unsafe { simple_with_deposits(pages, code::MAP_VP_STATE_PAGE, &input, partition_id) }?;
    Ok(pages.output.read::<MapVpStatePageOut>(0)?.map_location)
}

/// `HVCALL_UNMAP_VP_STATE_PAGE`.
pub(crate) fn unmap_vp_state_page(
    pages: &mut HvPages,
    partition_id: u64,
    vp_index: u32,
    type_: u16,
) -> Result {
    let input = UnmapVpStatePageIn {
        partition_id,
        vp_index,
        type_,
        input_vtl: 0,
        reserved0: 0,
    };
    // SAFETY: An unmap-VP-state-page input names no host frame.
    unsafe { simple(pages, code::UNMAP_VP_STATE_PAGE, &input) }?.to_result()
}

/// `HV_MAP_GPA_LARGE_PAGE`: each entry maps a 2 MiB page (reps count 2 MiB pages).
pub(crate) const MAP_LARGE_PAGE: u32 = 0x8000_0000;
/// `HV_UNMAP_GPA_LARGE_PAGE`: each entry unmaps a 2 MiB page.
const UNMAP_LARGE_PAGE: u32 = 0x2;
/// 4 KiB pages in a 2 MiB page, and its order.
const LARGE_PAGES: usize = 512;
const LARGE_ORDER: u32 = 9;

/// Whether guest frames `gfn + i..gfn + i + 512` of `count` from `gfn` go to the hypervisor as one
/// large page: a 2 MiB-aligned guest frame, and 512 frames of RAM in a row from an aligned one
/// of a folio of 2 MiB or more.
///
/// # Safety
///
/// The frames `pfn` names are held by the caller, and their pages stay what they are while
/// this runs (a pinned page, or one under an MMU notifier's lock).
unsafe fn large_at(gfn: u64, count: usize, pfn: &impl Fn(usize) -> u64, i: usize) -> bool {
    if (gfn + i as u64) % LARGE_PAGES as u64 != 0 || i + LARGE_PAGES > count {
        return false;
    }
    let first = pfn(i);
    first % LARGE_PAGES as u64 == 0
        // SAFETY: Both only look the frame up (its resource, its folio); the caller keeps the
        // page what it is.
        && unsafe { ffi::mshv_shim_pfn_is_ram(first) && ffi::mshv_shim_pfn_order(first) >= LARGE_ORDER }
        && (1..LARGE_PAGES).all(|k| pfn(i + k) == first + k as u64)
}

/// Splits guest frames `0..count` from `gfn` into runs of large pages and of 4 KiB ones, as
/// `large(i)` says of frames `i..i + 512`; `f(start, end, large)` for each run, in order.
fn for_each_run<E>(
    gfn: u64,
    count: usize,
    large: impl Fn(usize) -> bool,
    mut f: impl FnMut(usize, usize, bool) -> core::result::Result<(), E>,
) -> core::result::Result<(), E> {
    let aligned = |i: usize| (gfn + i as u64) % LARGE_PAGES as u64 == 0;
    let mut at = 0;
    while at < count {
        let is_large = large(at);
        let mut end = at;
        if is_large {
            while end < count && large(end) {
                end += LARGE_PAGES;
            }
        } else {
            end += 1;
            while end < count && !(aligned(end) && large(end)) {
                end += 1;
            }
        }
        f(at, end, is_large)?;
        at = end;
    }
    Ok(())
}

/// `HVCALL_MAP_GPA_PAGES`: maps guest frames `gfn..gfn + count` to `pfn(0)..pfn(count - 1)`
/// with `HV_MAP_GPA_*` `flags`, a batch of [`MAP_GPA_BATCH`] entries per call. With `large`,
/// where 512 frames from a 2 MiB-aligned guest frame are one 2 MiB run of a huge folio (see
/// [`large_at`]), they are mapped as one large page (`HV_MAP_GPA_LARGE_PAGE`), as upstream; the
/// rest 4 KiB at a time. Deposits [`MAP_GPA_DEPOSIT_PAGES`] and goes on whenever the hypervisor
/// asks for memory, if `may_deposit` (else that is `ENOMEM`: a caller that must not allocate),
/// until it was given [`MAX_DEPOSIT_PAGES_PER_CALL`] with no page mapped since (`ENOMEM`). On
/// failure, returns the error and how many pages were mapped (from the first), at most.
///
/// # Safety
///
/// Unless `flags` is `HV_MAP_GPA_NO_ACCESS` (every frame then 0), each frame `pfn(i)` is one
/// the caller holds for the guest (a user page pinned, or faulted in and watched by an MMU
/// notifier that remaps it before it goes; or device memory, not RAM) until it unmaps or
/// remaps guest frame `gfn + i`; with `large`, the frames' pages stay what they are (so a huge
/// folio stays one) while this runs.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn map_gpa_pages(
    pages: &mut HvPages,
    partition_id: u64,
    gfn: u64,
    count: usize,
    flags: u32,
    may_deposit: bool,
    large: bool,
    pfn: impl Fn(usize) -> u64,
) -> core::result::Result<(), (Error, usize)> {
    // SAFETY: With `large` the caller keeps the pages what they are.
    let is_large = |i| large && unsafe { large_at(gfn, count, &pfn, i) };
    for_each_run(gfn, count, is_large, |at, end, is_large| {
        let (shift, run_flags) = if is_large {
            (LARGE_ORDER, flags | MAP_LARGE_PAGE)
        } else {
            (0, flags)
        };
        // SAFETY: The frames are `pfn`'s, which the caller vouches for.
        unsafe {
            map_run(
                pages,
                partition_id,
                gfn + at as u64,
                (end - at) >> shift,
                shift,
                run_flags,
                may_deposit,
                |i| pfn(at + i),
            )
        }
        .map_err(|(e, done)| (e, at + done))
    })
}

/// Maps `reps` entries of `4 KiB << shift` each from guest frame `gfn`; `pfn(i)` is 4 KiB page
/// `i`'s frame. As [`map_gpa_pages`]; on failure, the pages (4 KiB) mapped at most.
///
/// # Safety
///
/// As [`map_gpa_pages`].
#[allow(clippy::too_many_arguments)]
unsafe fn map_run(
    pages: &mut HvPages,
    partition_id: u64,
    gfn: u64,
    reps: usize,
    shift: u32,
    flags: u32,
    may_deposit: bool,
    pfn: impl Fn(usize) -> u64,
) -> core::result::Result<(), (Error, usize)> {
    let page = |rep: usize| rep << shift;
    for (first, n) in batches(reps, MAP_GPA_BATCH) {
        let mut done = 0u16;
        // Pages deposited since the call last mapped a page.
        let mut given = 0u32;
        loop {
            let fill = |pages: &mut HvPages| -> Result {
                pages.input.write(
                    0,
                    &GpaPagesIn {
                        target_partition_id: partition_id,
                        target_gpa_base: gfn + page(first) as u64,
                        flags,
                        padding: 0,
                    },
                )?;
                for i in usize::from(done)..usize::from(n) {
                    pages
                        .input
                        .write_u64(size_of::<GpaPagesIn>(), i, pfn(page(first + i)))?;
                }
                Ok(())
            };
            fill(pages).map_err(|e| (e, page(first)))?;
            let (input, output) = (&pages.input, &mut pages.output);
            let result = rep_call(code::MAP_GPA_PAGES, n, done, 0, |c| {
                // SAFETY: The frames are `pfn`'s, which the caller vouches for.
                unsafe { hv().hypercall(c, input, output) }
            })
            // A hypervisor that reported no progress may have mapped any of the batch: the
            // caller undoes (or records) all of it.
            .map_err(|e| (e, page(first + usize::from(n))))?;
            let status = result.status();
            if status == HvStatus::SUCCESS {
                break;
            }
            if result.reps_completed() > done {
                given = 0;
            }
            done = result.reps_completed();
            let at = page(first + usize::from(done));
            if status.deposit_request().is_none() {
                return Err((result.to_result().err().unwrap_or(EIO), at));
            }
            given += MAP_GPA_DEPOSIT_PAGES;
            if !may_deposit || given > MAX_DEPOSIT_PAGES_PER_CALL {
                return Err((ENOMEM, at));
            }
            deposit(pages, partition_id, MAP_GPA_DEPOSIT_PAGES).map_err(|e| (e, at))?;
        }
    }
    Ok(())
}

/// `HVCALL_UNMAP_GPA_PAGES` over guest frames `gfn..gfn + count`, [`UNMAP_GPA_BATCH`] per call.
pub(crate) fn unmap_gpa_pages(
    pages: &mut HvPages,
    partition_id: u64,
    gfn: u64,
    count: usize,
) -> Result {
    unmap_run(pages, partition_id, gfn, count, 0)
}

/// Unmaps guest frames `gfn..gfn + count`, which [`map_gpa_pages`] mapped with `large` to
/// `pfn(0)..`: the 2 MiB it mapped as large pages with `HV_UNMAP_GPA_LARGE_PAGE`, as upstream,
/// the rest 4 KiB at a time.
///
/// # Safety
///
/// As for [`map_gpa_pages`] with `large`: the frames are still the caller's, and what they were
/// when they were mapped.
pub(crate) unsafe fn unmap_gpa_pages_of(
    pages: &mut HvPages,
    partition_id: u64,
    gfn: u64,
    count: usize,
    pfn: impl Fn(usize) -> u64,
) -> Result {
    // SAFETY: As this function's contract says.
    let is_large = |i| unsafe { large_at(gfn, count, &pfn, i) };
    for_each_run(gfn, count, is_large, |at, end, is_large| {
        let at_gfn = gfn + at as u64;
        if is_large {
            unmap_run(
                pages,
                partition_id,
                at_gfn,
                (end - at) / LARGE_PAGES,
                LARGE_ORDER,
            )
        } else {
            unmap_run(pages, partition_id, at_gfn, end - at, 0)
        }
    })
}

/// Unmaps `reps` entries of `4 KiB << shift` each from guest frame `gfn`.
fn unmap_run(pages: &mut HvPages, partition_id: u64, gfn: u64, reps: usize, shift: u32) -> Result {
    let flags = if shift == 0 { 0 } else { UNMAP_LARGE_PAGE };
    for (first, n) in batches(reps, UNMAP_GPA_BATCH) {
        pages.input.write(
            0,
            &GpaPagesIn {
                target_partition_id: partition_id,
                target_gpa_base: gfn + ((first as u64) << shift),
                flags,
                padding: 0,
            },
        )?;
        let (input, output) = (&pages.input, &mut pages.output);
        rep_call(code::UNMAP_GPA_PAGES, n, 0, 0, |c| {
            // SAFETY: An unmap input names guest frames only.
            unsafe { hv().hypercall(c, input, output) }
        })?
        .to_result()?;
    }
    Ok(())
}

/// `HVCALL_SET_VP_REGISTERS`: sets `(name, low 64 bits)` pairs on a VP, in order.
pub(crate) fn set_vp_registers(
    pages: &mut HvPages,
    partition_id: u64,
    vp_index: u32,
    registers: &[(u32, u64)],
) -> Result {
    let values = registers.iter().map(|&(name, value)| (name, [value, 0]));
    set_vp_registers_in(pages, partition_id, vp_index, input_vtl::OWN, values)
}

/// Registers whose value names a host frame the hypervisor overlays: no safe call sets them.
const OVERLAY_REGISTERS: [u32; 1] = [abi::register::X64_REG_PAGE];

/// `HVCALL_SET_VP_REGISTERS` in VTL view `vtl` (`union hv_input_vtl`): sets `(name, value)`
/// pairs, each value 128 bits (low word first), in order. A register whose value names a page
/// the hypervisor would overlay (`HV_X64_REGISTER_REG_PAGE`) is `EINVAL`: see
/// [`set_overlay_page`].
pub(crate) fn set_vp_registers_in(
    pages: &mut HvPages,
    partition_id: u64,
    vp_index: u32,
    vtl: u8,
    registers: impl ExactSizeIterator<Item = (u32, [u64; 2])> + Clone,
) -> Result {
    if registers
        .clone()
        .any(|(name, _)| OVERLAY_REGISTERS.contains(&name))
    {
        return Err(EINVAL);
    }
    // SAFETY: No value names a host frame (checked above).
    unsafe { set_vp_registers_unchecked(pages, partition_id, vp_index, vtl, registers) }
}

/// Sets the calling VP's overlay register `name` (`HV_X64_REGISTER_REG_PAGE`), in VTL2's own
/// view, to `value`: a page's frame, enabled, or 0.
///
/// # Safety
///
/// An enabled value names a page the caller holds for the hypervisor until the register is
/// set to 0 (successfully: else for good).
#[allow(dead_code)] // The VTL module's.
pub(crate) unsafe fn set_overlay_page(pages: &mut HvPages, name: u32, value: u64) -> Result {
    let registers = [(name, [value, 0])].into_iter();
    // SAFETY: The caller's promise covers the one frame named.
    unsafe {
        set_vp_registers_unchecked(
            pages,
            abi::HV_PARTITION_ID_SELF,
            abi::HV_VP_INDEX_SELF,
            input_vtl::OWN,
            registers,
        )
    }
}

/// [`set_vp_registers_in`], whatever the registers.
///
/// # Safety
///
/// A value that names a host frame (an overlay page) names one the caller holds for the
/// hypervisor as long as it may use it.
unsafe fn set_vp_registers_unchecked(
    pages: &mut HvPages,
    partition_id: u64,
    vp_index: u32,
    vtl: u8,
    registers: impl ExactSizeIterator<Item = (u32, [u64; 2])>,
) -> Result {
    pages
        .input
        .write(0, &vp_registers_in(partition_id, vp_index, vtl))?;
    // The count is of the entries written (the page holds only those; an iterator's own
    // length is not trusted).
    let mut written = 0usize;
    for (i, (name, value)) in registers.enumerate() {
        written = i + 1;
        let assoc = RegisterAssoc {
            name,
            reserved1: 0,
            reserved2: 0,
            value,
        };
        pages.input.write(
            size_of::<VpRegistersIn>() + i * size_of::<RegisterAssoc>(),
            &assoc,
        )?;
    }
    let count = u16::try_from(written).map_err(|_| EINVAL)?;
    let (input, output) = (&pages.input, &mut pages.output);
    rep_call(code::SET_VP_REGISTERS, count, 0, 0, |c| {
        // SAFETY: The frames register values name are the caller's promise.
        unsafe { hv().hypercall(c, input, output) }
    })?
    .to_result()
}

/// `HVCALL_GET_VP_REGISTERS` of one register: its low 64 bits.
pub(crate) fn get_vp_register(
    pages: &mut HvPages,
    partition_id: u64,
    vp_index: u32,
    name: u32,
) -> Result<u64> {
    get_vp_register_in(pages, partition_id, vp_index, input_vtl::OWN, name).map(|v| v[0])
}

/// `HVCALL_GET_VP_REGISTERS` of one register in VTL view `vtl` (`union hv_input_vtl`): its
/// 128-bit value, low word first.
pub(crate) fn get_vp_register_in(
    pages: &mut HvPages,
    partition_id: u64,
    vp_index: u32,
    vtl: u8,
    name: u32,
) -> Result<[u64; 2]> {
    pages
        .input
        .write(0, &vp_registers_in(partition_id, vp_index, vtl))?;
    pages.input.write(size_of::<VpRegistersIn>(), &name)?;
    let (input, output) = (&pages.input, &mut pages.output);
    rep_call(code::GET_VP_REGISTERS, 1, 0, 0, |c| {
        // SAFETY: A register name names no host frame.
        unsafe { hv().hypercall(c, input, output) }
    })?
    .to_result()?;
    pages.output.read(0)
}

fn vp_registers_in(partition_id: u64, vp_index: u32, vtl: u8) -> VpRegistersIn {
    VpRegistersIn {
        partition_id,
        vp_index,
        input_vtl: vtl,
        rsvd_z8: 0,
        rsvd_z16: 0,
    }
}

/// `HVCALL_GET_SYSTEM_PROPERTY` of a property whose value is a `u32` (the output's first).
pub(crate) fn get_system_property_u32(pages: &mut HvPages, property_id: u32) -> Result<u32> {
    let input = GetSystemPropertyIn {
        property_id,
        reserved: 0,
        arg: 0,
    };
    // SAFETY: A get-property input names no host frame.
    unsafe { simple(pages, code::GET_SYSTEM_PROPERTY, &input) }?.to_result()?;
    pages.output.read(0)
}

/// `HVCALL_DISPATCH_VP` (the root scheduler's): runs VP `vp_index` of partition
/// `partition_id` in the calling thread until something happens (`flags`:
/// `HV_DISPATCH_VP_FLAG_*`); the VP's state and the event that ended it.
pub(crate) fn dispatch_vp(
    pages: &mut HvPages,
    partition_id: u64,
    vp_index: u32,
    flags: u32,
) -> Result<DispatchVpOut> {
    let input = DispatchVpIn {
        partition_id,
        vp_index,
        flags,
        time_slice: 0,
        spec_ctrl: 0,
    };
    // SAFETY: A dispatch input names no host frame.
    unsafe { simple(pages, code::DISPATCH_VP, &input) }?.to_result()?;
    pages.output.read(0)
}

/// `HVCALL_GET_PARTITION_PROPERTY`.
pub(crate) fn get_partition_property(
    pages: &mut HvPages,
    partition_id: u64,
    property_code: u32,
) -> Result<u64> {
    let input = GetPartitionPropertyIn {
        partition_id,
        property_code,
        padding: 0,
    };
    // SAFETY: A get-property input names no host frame.
    unsafe { simple(pages, code::GET_PARTITION_PROPERTY, &input) }?.to_result()?;
    pages.output.read(0)
}

/// `HVCALL_GET_PARTITION_PROPERTY_EX` of property `property_code` (with argument `arg`): the
/// output's first `N` words.
pub(crate) fn get_partition_property_ex<const N: usize>(
    pages: &mut HvPages,
    partition_id: u64,
    property_code: u32,
    arg: u64,
) -> Result<[u64; N]> {
    let input = GetPartitionPropertyExIn {
        partition_id,
        property_code,
        padding: 0,
        arg,
    };
    // SAFETY: A get-property input names no host frame.
    unsafe { simple(pages, code::GET_PARTITION_PROPERTY_EX, &input) }?.to_result()?;
    pages.output.read(0)
}

/// The most page numbers a get- or set-VP-state call carries after its header.
pub(crate) const VP_STATE_MAX_PFNS: usize = reps_per_page(size_of::<VpStateIn>(), 8) as usize;

/// A VP state to get or set: its type, and what goes with it.
pub(crate) struct VpState<'a> {
    /// `HV_GET_SET_VP_STATE_*`.
    pub(crate) type_: u32,
    /// For XSAVE: the components.
    pub(crate) xsave_states: u64,
    /// The pages holding the state (types passed in pages), or the bytes to set (others).
    pub(crate) data: VpStateData<'a>,
}

/// Host page frames a VP's state is read into or written from.
///
/// # Invariants
///
/// Each frame is a page its maker keeps pinned, writable, for `'a`.
pub(crate) struct HostFrames<'a>(&'a [u64]);

impl<'a> HostFrames<'a> {
    /// # Safety
    ///
    /// Each frame of `pfns` is a page the caller keeps pinned and writable for `'a`.
    pub(crate) unsafe fn new(pfns: &'a [u64]) -> Self {
        // INVARIANT: As the caller promises.
        Self(pfns)
    }
}

/// Where a VP state's data is.
pub(crate) enum VpStateData<'a> {
    /// In these page frames.
    Pages(HostFrames<'a>),
    /// In the call's input (set) or output (get) page; the bytes to set.
    Bytes(&'a [u8]),
}

/// `HVCALL_GET_VP_STATE` or `HVCALL_SET_VP_STATE`. For a get of the bytes types, the state is
/// at the start of `pages.output` afterwards.
pub(crate) fn vp_state(
    pages: &mut HvPages,
    partition_id: u64,
    vp_index: u32,
    state: &VpState<'_>,
    set: bool,
) -> Result {
    let header = size_of::<VpStateIn>();
    let code = if set {
        code::SET_VP_STATE
    } else {
        code::GET_VP_STATE
    };
    with_deposits(
        pages,
        |pages| {
            let fill = |pages: &mut HvPages| -> Result<usize> {
                pages.input.write(
                    0,
                    &VpStateIn {
                        partition_id,
                        vp_index,
                        input_vtl: 0,
                        rsvd0: 0,
                        rsvd1: 0,
                        type_: state.type_,
                        rsvd: 0,
                        xsave_flags: 0,
                        xsave_states: state.xsave_states,
                    },
                )?;
                Ok(match state.data {
                    VpStateData::Pages(HostFrames(pfns)) => {
                        if pfns.len() > VP_STATE_MAX_PFNS {
                            return Err(EINVAL);
                        }
                        for (i, &pfn) in pfns.iter().enumerate() {
                            pages.input.write_u64(header, i, pfn)?;
                        }
                        pfns.len() * 8
                    }
                    VpStateData::Bytes(bytes) if set => {
                        let end = header.checked_add(bytes.len()).ok_or(EINVAL)?;
                        let padded = bytes.len().next_multiple_of(8);
                        let area = pages.input.0.get_mut(header..header + padded);
                        let (data, padding) = area.ok_or(EINVAL)?.split_at_mut(end - header);
                        data.copy_from_slice(bytes);
                        // The variable header's padding, which the hypervisor reads too.
                        padding.fill(0);
                        padded
                    }
                    VpStateData::Bytes(_) => 0,
                })
            };
            match fill(pages).and_then(|varhead| Control::new(code).var_header(varhead)) {
                // SAFETY: The frames are those of `HostFrames`, whose maker vouched for them.
                Ok(control) => unsafe { hv().hypercall(control, &pages.input, &mut pages.output) },
                // Reported as a status the caller maps to EINVAL.
                Err(_) => HvResult::new(HvStatus::INVALID_PARAMETER, 0),
            }
        },
        |pages, request| deposit_requested(pages, partition_id, request),
    )?
    .to_result()
}

/// `HVCALL_ASSERT_VIRTUAL_INTERRUPT`: `vector` with `control` (`union hv_interrupt_control`,
/// as the architecture lays it out: see [`abi::interrupt_control`]) to `dest_addr`, at VTL 0.
/// The destination is an APIC id on x86; arm64 interrupts have none, and the input's is zero
/// there whatever `dest_addr` is, as upstream's.
pub(crate) fn assert_virtual_interrupt(
    pages: &mut HvPages,
    partition_id: u64,
    control: u64,
    dest_addr: u64,
    vector: u32,
) -> Result {
    let input = AssertVirtualInterruptIn {
        partition_id,
        control,
        dest_addr: if cfg!(CONFIG_X86_64) { dest_addr } else { 0 },
        vector,
        target_vtl: 0,
        rsvd_z0: 0,
        rsvd_z1: 0,
    };
    // SAFETY: An assert-interrupt input names no host frame.
    unsafe { simple(pages, code::ASSERT_VIRTUAL_INTERRUPT, &input) }?.to_result()
}

/// `HVCALL_CREATE_PORT`: doorbell port `port_id` of the root, for `partition_id` to connect to,
/// signalled on the doorbell SINT of any VP. Memory asked for goes to the root.
pub(crate) fn create_doorbell_port(pages: &mut HvPages, port_id: u32, partition_id: u64) -> Result {
    let input = CreatePortIn {
        port_partition_id: abi::HV_PARTITION_ID_SELF,
        port_id,
        port_vtl: 0,
        min_connection_vtl: 0,
        padding: 0,
        connection_partition_id: partition_id,
        port_type: abi::HV_PORT_TYPE_DOORBELL,
        port_info_padding: 0,
        target_sint: abi::HV_SYNIC_DOORBELL_SINT_INDEX,
        target_vp: abi::HV_ANY_VP,
        port_info_rsvdz: 0,
        proximity_domain_id: 0,
        proximity_flags: 0,
    };
    // SAFETY: A create-port input names no host frame.
    unsafe { simple_with_deposits(pages, code::CREATE_PORT, &input, abi::HV_PARTITION_ID_SELF) }
}

/// `HVCALL_CONNECT_PORT`: `partition_id`'s doorbell `port_id`, rung by a write of
/// `trigger_value` (or any value, by `flags`) to `gpa`. Memory asked for goes to the partition.
pub(crate) fn connect_doorbell(
    pages: &mut HvPages,
    partition_id: u64,
    port_id: u32,
    gpa: u64,
    trigger_value: u64,
    flags: u64,
) -> Result {
    let input = ConnectPortIn {
        connection_partition_id: partition_id,
        connection_id: port_id,
        connection_vtl: 0,
        rsvdz0: 0,
        rsvdz1: 0,
        port_partition_id: abi::HV_PARTITION_ID_SELF,
        port_id,
        reserved2: 0,
        port_type: abi::HV_PORT_TYPE_DOORBELL,
        connection_info_padding: 0,
        gpa,
        trigger_value,
        flags,
        proximity_domain_id: 0,
        proximity_flags: 0,
    };
    // SAFETY: A connect-port input names no host frame.
    unsafe { simple_with_deposits(pages, code::CONNECT_PORT, &input, partition_id) }
}

/// `HVCALL_DISCONNECT_PORT` of a doorbell connection.
pub(crate) fn disconnect_doorbell(partition_id: u64, connection_id: u32) -> Result {
    // `is_doorbell` is bit 32 of the second input.
    hv().fast_hypercall(
        code::DISCONNECT_PORT,
        partition_id,
        u64::from(connection_id) | 1 << 32,
    )
    .to_result()
}

/// `HVCALL_DELETE_PORT` of one of the root's ports.
pub(crate) fn delete_port(port_id: u32) -> Result {
    hv().fast_hypercall(
        code::DELETE_PORT,
        abi::HV_PARTITION_ID_SELF,
        u64::from(port_id),
    )
    .to_result()
}

/// `HVCALL_NOTIFY_PORT_RING_EMPTY` (fast): the calling CPU's event ring of SINT `sint` was
/// found full and is empty now; the ports that did not fit may come in. Any context.
pub(crate) fn notify_port_ring_empty(sint: u32) -> Result {
    hv().fast_hypercall(code::NOTIFY_PORT_RING_EMPTY, sint.into(), 0)
        .to_result()
}

/// `HVCALL_CLEAR_VIRTUAL_INTERRUPT`: withdraws the partition's pending EXTINT (x86).
pub(crate) fn clear_virtual_interrupt(partition_id: u64) -> Result {
    hv().fast_hypercall(code::CLEAR_VIRTUAL_INTERRUPT, partition_id, 0)
        .to_result()
}

/// `HVCALL_POST_MESSAGE`: a message of `message_type` with `payload` (at most 240 bytes, else
/// `EINVAL`) to connection `connection_id`.
#[allow(dead_code)] // The VTL module's.
pub(crate) fn post_message(
    pages: &mut HvPages,
    connection_id: u32,
    message_type: u32,
    payload: &[u8],
) -> Result {
    let mut input = PostMessageIn {
        connection_id,
        reserved: 0,
        message_type,
        payload_size: u32::try_from(payload.len()).map_err(|_| EINVAL)?,
        payload: [0; abi::HV_MESSAGE_PAYLOAD_QWORD_COUNT],
    };
    let mut words = input.payload;
    kernel::transmute::AsBytes::as_bytes_mut(&mut words)
        .get_mut(..payload.len())
        .ok_or(EINVAL)?
        .copy_from_slice(payload);
    input.payload = words;
    // SAFETY: A message names no host frame.
    unsafe { simple(pages, code::POST_MESSAGE, &input) }?.to_result()
}

/// `HVCALL_SIGNAL_EVENT` (fast): event flag `flag` of connection `connection_id`.
#[allow(dead_code)] // The VTL module's.
pub(crate) fn signal_event(connection_id: u32, flag: u32) -> Result {
    hv().fast_hypercall(
        code::SIGNAL_EVENT,
        u64::from(connection_id) | (u64::from(flag) << 32),
        0,
    )
    .to_result()
}
