// SPDX-License-Identifier: GPL-2.0

//! The Microsoft hypervisor's ABI (the TLFS): what a hypercall looks like, whoever issues or
//! services it. Pure definitions and arithmetic, no I/O: the driver encodes with it, and a
//! simulated hypervisor decodes with it.

pub(crate) mod abi;
pub(crate) mod control;
#[allow(dead_code)] // The VTL module's and the simulator's.
pub(crate) mod shared;
pub(crate) mod status;

/// The hypervisor's page size, whatever the kernel's.
pub(crate) const HV_HYP_PAGE_SIZE: usize = 4096;
