// SPDX-License-Identifier: GPL-2.0

//! The one way the driver reaches the hypervisor.
//!
//! A [`Hypervisor`] takes a hypercall exactly as the hypercall instruction does: a control
//! word and an input and an output page (or, for a fast call, register values), and returns
//! the 64-bit result. Two implementations exist:
//!
//! - [`real`]: the kernel's own hypercall path, on a Hyper-V root partition;
//! - `sim` (with `CONFIG_MSHV_RUST_SIMULATOR`): a simulated Microsoft hypervisor that decodes
//!   the same pages.
//!
//! One is chosen when the module loads ([`select`]); everything above asks [`hv`] for it and
//! never knows which it got.

use kernel::{
    prelude::*,
    sync::SetOnce,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

use crate::{
    env::HvEnvironment,
    hv::{
        abi::Message,
        control::Control,
        status::HvResult,
        HV_HYP_PAGE_SIZE, //
    },
};

pub(crate) mod real;
#[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
pub(crate) mod sim;
pub(crate) mod synic;

/// One hypervisor page: the input or output of a hypercall.
#[repr(C, align(4096))]
pub(crate) struct HvPage(pub(crate) [u8; HV_HYP_PAGE_SIZE]);

// SAFETY: An array of bytes is valid when all zeroes.
unsafe impl pin_init::Zeroable for HvPage {}

impl HvPage {
    /// Copies `value` into the page at byte `offset`.
    pub(crate) fn write<T: AsBytes>(&mut self, offset: usize, value: &T) -> Result {
        let bytes = value.as_bytes();
        let end = offset.checked_add(bytes.len()).ok_or(EINVAL)?;
        self.0
            .get_mut(offset..end)
            .ok_or(EINVAL)?
            .copy_from_slice(bytes);
        Ok(())
    }

    /// Reads a `T` from the page at byte `offset`.
    pub(crate) fn read<T: FromBytes>(&self, offset: usize) -> Result<T> {
        let end = offset.checked_add(size_of::<T>()).ok_or(EINVAL)?;
        T::from_bytes_copy(self.0.get(offset..end).ok_or(EINVAL)?).ok_or(EINVAL)
    }

    /// Reads the `index`th `u64` after a header of `header` bytes (a rep list element).
    pub(crate) fn read_u64(&self, header: usize, index: usize) -> Result<u64> {
        self.read(
            header
                .checked_add(index.checked_mul(8).ok_or(EINVAL)?)
                .ok_or(EINVAL)?,
        )
    }

    /// Writes the `index`th `u64` after a header of `header` bytes.
    pub(crate) fn write_u64(&mut self, header: usize, index: usize, value: u64) -> Result {
        self.write(
            header
                .checked_add(index.checked_mul(8).ok_or(EINVAL)?)
                .ok_or(EINVAL)?,
            &value,
        )
    }

    /// Zeroes the page.
    pub(crate) fn clear(&mut self) {
        self.0.fill(0);
    }
}

/// A pair of pages for a caller's hypercalls. Allocating per caller (rather than per CPU, as
/// the kernel's own pages are) lets a call sleep and run with interrupts on.
pub(crate) struct HvPages {
    /// The input page.
    pub(crate) input: KBox<HvPage>,
    /// The output page.
    pub(crate) output: KBox<HvPage>,
}

impl HvPages {
    /// Allocates two zeroed pages.
    pub(crate) fn new() -> Result<Self> {
        // A power-of-two kmalloc is naturally aligned, as `HvPage`'s alignment asks: each page
        // is one page of the linear map, as the hypervisor needs.
        Ok(Self {
            input: KBox::init(pin_init::init_zeroed(), GFP_KERNEL)?,
            output: KBox::init(pin_init::init_zeroed(), GFP_KERNEL)?,
        })
    }
}

/// What issues hypercalls: the hypervisor, as seen from its hypercall instruction.
pub(crate) trait Hypervisor: Sync {
    /// A short name for the kernel log.
    fn name(&self) -> &'static str;

    /// Issues a call whose input and output are in memory.
    fn hypercall(&self, control: Control, input: &HvPage, output: &mut HvPage) -> HvResult;

    /// Issues a fast call of `code` with up to two 64-bit inputs in registers.
    fn fast_hypercall(&self, code: u16, input1: u64, input2: u64) -> HvResult;

    /// Has the messages the hypervisor sends the root (SynIC SINT0) passed to `handler`, or
    /// stops that (`None`). Fails when this hypervisor cannot deliver them.
    fn set_message_handler(&self, handler: Option<MessageHandler>) -> Result;

    /// Takes the next port the hypervisor queued on SINT `sint`'s event ring (see [`synic`]),
    /// or `None` when the ring is empty. Called from the message handler, for the SINT a
    /// `HVMSG_SYNIC_SINT_INTERCEPT` names; it must not sleep either.
    fn take_queued_port(&self, sint: u32) -> Option<u32>;
}

/// Takes a message the hypervisor sent the root. It may be called in interrupt context: it
/// must not sleep.
pub(crate) type MessageHandler = fn(&Message);

/// The hypervisor chosen at load.
static HYPERVISOR: SetOnce<&'static dyn Hypervisor> = SetOnce::new();

/// How to choose the hypervisor (module parameter `hypervisor`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    /// The real one when the kernel runs where it can be used, else the simulated one if built.
    Auto,
    /// The kernel's own hypercall path, whatever the environment.
    Real,
    /// The simulated hypervisor.
    Simulated,
}

impl Choice {
    /// Reads the module parameter's value.
    pub(crate) fn from_param(value: u32) -> Result<Self> {
        match value {
            0 => Ok(Self::Auto),
            1 => Ok(Self::Real),
            2 => Ok(Self::Simulated),
            _ => Err(EINVAL),
        }
    }
}

/// The hypervisor chosen for the life of the module, and what it keeps running.
pub(crate) struct Selected {
    hv: &'static dyn Hypervisor,
    /// The simulated machine's debugfs files, when it runs.
    #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
    sim: Option<Pin<KBox<sim::Debugfs>>>,
}

impl Selected {
    /// The chosen hypervisor's name.
    pub(crate) fn name(&self) -> &'static str {
        self.hv.name()
    }
}

impl Drop for Selected {
    fn drop(&mut self) {
        #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
        if self.sim.take().is_some() {
            sim::stop();
        }
    }
}

/// Chooses the hypervisor for the life of the module. Fails with `ENODEV` when the chosen one
/// is not there.
pub(crate) fn select(choice: Choice, env: &HvEnvironment) -> Result<Selected> {
    let selected = match choice {
        Choice::Real => real(),
        Choice::Auto if env.can_issue_root_hypercalls() => real(),
        Choice::Auto | Choice::Simulated => simulated()?,
    };
    if !HYPERVISOR.populate(selected.hv) {
        return Err(EBUSY);
    }
    Ok(selected)
}

fn real() -> Selected {
    Selected {
        hv: &real::Real,
        #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
        sim: None,
    }
}

#[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
fn simulated() -> Result<Selected> {
    Ok(Selected {
        hv: &sim::SIMULATOR,
        sim: Some(sim::start()?),
    })
}

#[cfg(not(CONFIG_MSHV_RUST_SIMULATOR))]
fn simulated() -> Result<Selected> {
    Err(ENODEV)
}

/// The hypervisor [`select`] chose.
pub(crate) fn hv() -> &'static dyn Hypervisor {
    match HYPERVISOR.as_ref() {
        Some(hv) => *hv,
        // `select` runs before any device is registered, so nothing can get here without it.
        None => &real::Real,
    }
}
