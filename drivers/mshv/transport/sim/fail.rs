// SPDX-License-Identifier: GPL-2.0

//! Failures tests inject into the simulated hypervisor's calls (the debugfs `fail` file): a
//! rule names a hypercall code, which of its calls fail, and the status they fail with. A
//! refused call changes nothing: it is answered before it is decoded, as a hypervisor that
//! refuses it would answer.

use kernel::prelude::*;

use crate::hv::status::HvStatus;

/// How many rules may be set at once.
pub(super) const MAX_RULES: usize = 16;

/// Which calls of a rule's code fail, counted from when the rule was set.
#[derive(Clone, Copy)]
pub(super) enum When {
    /// The nth call, once.
    Nth(u64),
    /// Every nth call.
    Every(u64),
    /// A pseudo-random fraction of the calls, in thousandths, drawn from a generator seeded
    /// with `seed` (the same seed fails the same calls); `state` is the generator's, which
    /// [`Rule::new`] starts at `seed`.
    Fraction {
        per_mille: u32,
        seed: u64,
        state: u64,
    },
}

/// One rule.
#[derive(Clone, Copy)]
pub(super) struct Rule {
    code: u16,
    when: When,
    status: HvStatus,
    /// Calls of `code` since the rule was set.
    calls: u64,
    /// Failures it injected.
    injected: u64,
}

impl Rule {
    /// A rule for `code`'s calls; `None` if it could never fail one (a zero count, a fraction
    /// above 1000) or fails with success.
    pub(super) fn new(code: u16, mut when: When, status: u16) -> Option<Self> {
        let valid = match &mut when {
            When::Nth(n) | When::Every(n) => *n != 0,
            When::Fraction {
                per_mille,
                seed,
                state,
            } => {
                *state = *seed;
                *per_mille <= 1000
            }
        };
        (valid && status != 0).then_some(Self {
            code,
            when,
            status: HvStatus(status),
            calls: 0,
            injected: 0,
        })
    }

    /// Counts a call of the rule's code; whether the rule fails it.
    fn fires(&mut self) -> bool {
        self.calls = self.calls.saturating_add(1);
        match &mut self.when {
            When::Nth(n) => self.calls == *n,
            // `n` is never 0 (the parser refuses it); no division that could panic either way.
            When::Every(n) => self.calls.checked_rem(*n) == Some(0),
            When::Fraction {
                per_mille, state, ..
            } => splitmix64(state) % 1000 < u64::from(*per_mille),
        }
    }

    /// Whether the rule will fail no call any more.
    fn spent(&self) -> bool {
        matches!(self.when, When::Nth(n) if self.calls >= n)
    }
}

/// The next value of a SplitMix64 generator whose state is `state`.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The rules set, in the order they were set.
pub(crate) struct Rules([Option<Rule>; MAX_RULES]);

impl Rules {
    pub(super) const fn new() -> Self {
        Self([None; MAX_RULES])
    }

    /// Adds a rule, in place of a spent one when the table is full (`ENOSPC` if none is).
    pub(super) fn add(&mut self, rule: Rule) -> Result {
        let slot = match self.0.iter().position(Option::is_none) {
            Some(i) => i,
            None => self
                .0
                .iter()
                .position(|r| r.is_some_and(|r| r.spent()))
                .ok_or(ENOSPC)?,
        };
        self.0[slot] = Some(rule);
        Ok(())
    }

    /// Removes every rule.
    pub(super) fn clear(&mut self) {
        self.0 = [None; MAX_RULES];
    }

    /// Counts a call of `code` in every rule for it: the status to refuse it with, if one of
    /// them fails it (the first set, when several do).
    pub(super) fn check(&mut self, code: u16) -> Option<HvStatus> {
        let mut refused: Option<&mut Rule> = None;
        for rule in self.0.iter_mut().flatten() {
            if rule.code == code && rule.fires() && refused.is_none() {
                refused = Some(rule);
            }
        }
        refused.map(|rule| {
            rule.injected = rule.injected.saturating_add(1);
            rule.status
        })
    }
}

impl core::fmt::Display for Rules {
    /// One line per rule, as it was written, then how many calls of its code it saw and how
    /// many of them it failed: `<code> <when> <status> [<seed>] calls=<n> injected=<n>`; no
    /// newline after the last.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, rule) in self.0.iter().flatten().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let (code, status) = (rule.code, rule.status.0);
            match rule.when {
                When::Nth(n) => write!(f, "{code:#x} {n} {status:#x}")?,
                When::Every(n) => write!(f, "{code:#x} every {n} {status:#x}")?,
                When::Fraction {
                    per_mille, seed, ..
                } => write!(f, "{code:#x} fraction {per_mille} {status:#x} {seed}")?,
            }
            write!(f, " calls={} injected={}", rule.calls, rule.injected)?;
        }
        Ok(())
    }
}
