// SPDX-License-Identifier: GPL-2.0

//! The loops every hypercall the driver issues goes through, written over a single-call
//! primitive (`FnMut(Control) -> HvResult`) so that they do not depend on how a call reaches
//! the hypervisor:
//!
//! - [`rep_call`]: a rep hypercall is issued again from the first rep not done, until every rep
//!   is done or one fails (as the kernel's `hv_do_rep_hypercall_ex()`);
//! - [`with_deposits`]: a call that answers `INSUFFICIENT_*MEMORY` is issued again after the
//!   memory it asked for was deposited, until it was given [`MAX_DEPOSIT_PAGES_PER_CALL`];
//! - [`batches`]: a long list of rep elements is cut into calls that each fill one input page.

use kernel::prelude::*;

use crate::hv::{
    control::Control,
    status::{
        Deposit,
        HvResult,
        HvStatus, //
    },
};

/// Issues rep hypercall `code` over reps `start..count` until all are done or the hypervisor
/// fails one, and returns the last result: on failure, its status and how far the reps got.
///
/// The hypervisor may stop early with success (to bound its latency); the call is then issued
/// again from the rep it reached. A success that reports no progress is taken as a broken
/// hypervisor (`EIO`) rather than retried for ever.
pub(crate) fn rep_call(
    code: u16,
    count: u16,
    start: u16,
    var_header_bytes: usize,
    mut call: impl FnMut(Control) -> HvResult,
) -> Result<HvResult> {
    if start >= count {
        return Err(EINVAL);
    }
    let mut next = start;
    loop {
        let control = Control::rep(code, count, next)?.var_header(var_header_bytes)?;
        let result = call(control);
        if result.status() != HvStatus::SUCCESS {
            return Ok(result);
        }
        let done = result.reps_completed();
        if done >= count {
            return Ok(result);
        }
        if done <= next {
            return Err(EIO);
        }
        next = done;
    }
}

/// The most pages deposited for one call that still asks for more (8 MiB): 2048 deposits of
/// the one page an `INSUFFICIENT_MEMORY` asks for, 256 of the 8 of an
/// `INSUFFICIENT_CONTIGUOUS_MEMORY`, 8 of the 256 a map call gets without mapping a page more.
///
/// The kernel's loops have no such bound: they end only when a deposit fails, so a hypervisor
/// that never stops asking would be given the whole of the root's memory first. The largest
/// need known (the 208 pages initialising a partition takes) is a tenth of this.
pub(crate) const MAX_DEPOSIT_PAGES_PER_CALL: u32 = 2048;

/// Issues a call until it no longer asks for memory, depositing what it asks for in between,
/// and returns the first result that asks for none. A failed deposit ends the loop with the
/// deposit's error. A call that would be given more than [`MAX_DEPOSIT_PAGES_PER_CALL`] is
/// not issued again: its last result, which asks for memory (`ENOMEM`), is returned.
///
/// Both closures get `state` (typically the caller's hypercall pages), in turn.
pub(crate) fn with_deposits<S: ?Sized>(
    state: &mut S,
    mut call: impl FnMut(&mut S) -> HvResult,
    mut deposit: impl FnMut(&mut S, Deposit) -> Result,
) -> Result<HvResult> {
    let mut given = 0u32;
    loop {
        let result = call(state);
        let Some(request) = result.status().deposit_request() else {
            return Ok(result);
        };
        given = match given.checked_add(request.pages) {
            Some(total) if total <= MAX_DEPOSIT_PAGES_PER_CALL => total,
            _ => return Ok(result),
        };
        deposit(state, request)?;
    }
}

/// Cuts `total` rep elements into batches of at most `per_batch`: `(first element, count)`.
pub(crate) fn batches(total: usize, per_batch: u16) -> impl Iterator<Item = (usize, u16)> {
    let per = usize::from(per_batch.max(1));
    (0..total.div_ceil(per)).map(move |i| {
        let first = i * per;
        // The last batch is shorter; every count fits in `per_batch`, a u16.
        (first, (total - first).min(per) as u16)
    })
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_hypercall)]
mod tests {
    use super::*;
    use crate::hv::control::reps_per_page;

    /// Replays `script` as the hypervisor's answers, recording the control words it was given;
    /// answers `OPERATION_FAILED` once the script is exhausted.
    struct Scripted<'a> {
        script: &'a [HvResult],
        seen: KVec<Control>,
    }

    impl<'a> Scripted<'a> {
        fn new(script: &'a [HvResult]) -> Self {
            Self {
                script,
                seen: KVec::new(),
            }
        }

        fn call(&mut self, control: Control) -> HvResult {
            let answer = self
                .script
                .get(self.seen.len())
                .copied()
                .unwrap_or(HvResult::new(HvStatus::OPERATION_FAILED, 0));
            // The test allocates at most a few entries; a failure shows as a short `seen`.
            let _ = self.seen.push(control, GFP_KERNEL);
            answer
        }
    }

    fn ok(reps: u16) -> HvResult {
        HvResult::new(HvStatus::SUCCESS, reps)
    }

    #[test]
    fn rep_call_resumes_where_the_hypervisor_stopped() -> Result {
        let script = [ok(100), ok(300), ok(509)];
        let mut hv = Scripted::new(&script);
        let result = rep_call(0x4b, 509, 0, 16, |c| hv.call(c))?;
        assert_eq!(result, ok(509));
        assert_eq!(hv.seen.len(), 3);
        for (c, start) in hv.seen.iter().zip([0, 100, 300]) {
            assert_eq!(c.rep_start(), start);
            assert_eq!(c.code(), 0x4b);
            assert_eq!(c.rep_count(), 509);
            assert_eq!(c.var_header_bytes(), 16);
        }
        Ok(())
    }

    #[test]
    fn rep_call_returns_the_first_failure_with_its_progress() -> Result {
        let failed = HvResult::new(HvStatus::INVALID_PARAMETER, 42);
        let script = [ok(10), failed];
        let mut hv = Scripted::new(&script);
        assert_eq!(rep_call(1, 100, 0, 0, |c| hv.call(c))?, failed);
        assert_eq!(hv.seen.len(), 2);
        Ok(())
    }

    #[test]
    fn rep_call_refuses_a_hypervisor_that_makes_no_progress() {
        let script = [ok(5), ok(5)];
        let mut hv = Scripted::new(&script);
        assert_eq!(rep_call(1, 10, 0, 0, |c| hv.call(c)), Err(EIO));
        assert_eq!(hv.seen.len(), 2);
    }

    #[test]
    fn rep_call_checks_its_arguments() {
        let mut hv = Scripted::new(&[]);
        assert_eq!(rep_call(1, 10, 10, 0, |c| hv.call(c)), Err(EINVAL));
        assert_eq!(rep_call(1, 10, 0, 12, |c| hv.call(c)), Err(EINVAL));
        assert_eq!(hv.seen.len(), 0);
    }

    #[test]
    fn deposits_until_the_call_stops_asking() -> Result {
        let no_mem = HvResult::new(HvStatus::INSUFFICIENT_MEMORY, 0);
        let no_contig = HvResult::new(HvStatus::INSUFFICIENT_CONTIGUOUS_MEMORY, 0);
        let answers = [no_mem, no_contig, no_mem, ok(0)];
        // (calls, pages deposited)
        let mut seen = (0, 0);
        let result = with_deposits(
            &mut seen,
            |seen| {
                seen.0 += 1;
                answers[seen.0 - 1]
            },
            |seen, d| {
                seen.1 += d.pages;
                Ok(())
            },
        )?;
        assert_eq!(result, ok(0));
        assert_eq!(seen, (4, 1 + 8 + 1));
        Ok(())
    }

    #[test]
    fn a_failed_deposit_ends_the_loop() {
        let mut calls = 0;
        let result = with_deposits(
            &mut calls,
            |calls| {
                *calls += 1;
                HvResult::new(HvStatus::INSUFFICIENT_ROOT_MEMORY, 0)
            },
            |_, d| {
                assert!(d.into_root);
                Err(ENOMEM)
            },
        );
        assert_eq!(result, Err(ENOMEM));
        assert_eq!(calls, 1);
    }

    #[test]
    fn a_call_that_keeps_asking_is_given_up() -> Result {
        for (status, per_deposit) in [
            (HvStatus::INSUFFICIENT_MEMORY, 1),
            (HvStatus::INSUFFICIENT_CONTIGUOUS_MEMORY, 8),
            (HvStatus::INSUFFICIENT_ROOT_MEMORY, 1),
            (HvStatus::INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY, 8),
        ] {
            let asks = HvResult::new(status, 0);
            // (calls, deposits, pages deposited)
            let mut seen = (0u32, 0u32, 0u32);
            let result = with_deposits(
                &mut seen,
                |seen| {
                    seen.0 += 1;
                    asks
                },
                |seen, d| {
                    assert_eq!(d.pages, per_deposit);
                    seen.1 += 1;
                    seen.2 += d.pages;
                    Ok(())
                },
            )?;
            // The last answer is returned as it is: the caller reports it as ENOMEM.
            assert_eq!(result, asks);
            assert_eq!(result.to_result(), Err(ENOMEM));
            let deposits = MAX_DEPOSIT_PAGES_PER_CALL / per_deposit;
            assert_eq!(seen, (deposits + 1, deposits, MAX_DEPOSIT_PAGES_PER_CALL));
        }
        Ok(())
    }

    #[test]
    fn the_bound_is_per_call() -> Result {
        // Two calls that each need the most a call may be given both get it.
        for _ in 0..2 {
            let mut asked = 0u32;
            let result = with_deposits(
                &mut asked,
                |asked| {
                    if *asked == MAX_DEPOSIT_PAGES_PER_CALL {
                        ok(0)
                    } else {
                        HvResult::new(HvStatus::INSUFFICIENT_MEMORY, 0)
                    }
                },
                |asked, d| {
                    *asked += d.pages;
                    Ok(())
                },
            )?;
            assert_eq!(result, ok(0));
        }
        Ok(())
    }

    #[test]
    fn other_failures_are_returned_as_they_are() -> Result {
        let denied = HvResult::new(HvStatus::ACCESS_DENIED, 0);
        assert_eq!(
            with_deposits(&mut (), |()| denied, |(), _| Err(EINVAL))?,
            denied
        );
        Ok(())
    }

    #[test]
    fn batches_cover_every_element_once() {
        // 1 GiB of 4 KiB pages in map-GPA calls of one input page each.
        let per = reps_per_page(24, 8);
        let total = 1usize << 18;
        let mut next = 0;
        let mut calls = 0;
        for (first, count) in batches(total, per) {
            assert_eq!(first, next);
            assert!(count > 0 && count <= per);
            next += usize::from(count);
            calls += 1;
        }
        assert_eq!(next, total);
        assert_eq!(calls, total.div_ceil(usize::from(per)));
        assert_eq!(batches(0, per).count(), 0);
        assert_eq!(batches(3, 0).count(), 3);
    }
}
