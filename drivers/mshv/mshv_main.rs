// SPDX-License-Identifier: GPL-2.0

//! Microsoft Hypervisor driver.
//!
//! A Rust implementation of Linux's `mshv` drivers, built as the module `mshv_rs`:
//!
//! - [`root`]: `/dev/mshv`, the device a virtual machine monitor in a Hyper-V root partition
//!   uses to create and run partitions.
//! - [`env`]: what the kernel knows of the hypervisor it runs on.
//! - [`arch`]: the per-architecture assembly (`arch/<arch>/entry.S`), in `.noinstr.text`.
//! - [`uapi`]: the user-space ABI of the devices, checked against the kernel's header.
//! - [`hv`]: the hypervisor's ABI: control words, results, status codes.
//! - [`hypercall`]: the rep, deposit and batching loops every hypercall goes through.
//! - [`ffi`]: the one place that declares the C shim and assembly symbols.

use kernel::{
    miscdevice::MiscDeviceRegistration,
    prelude::*, //
};

mod arch;
mod env;
mod ffi;
mod hv;
mod hypercall;
mod root;
mod uapi;

module! {
    type: MshvModule,
    name: "mshv_rs",
    authors: ["The mshv-rs authors"],
    description: "Microsoft Hypervisor root and VTL driver",
    license: "GPL",
}

/// The module: owns the registered character devices.
#[pin_data]
struct MshvModule {
    /// `/dev/mshv`, deregistered when the module is unloaded.
    #[pin]
    _root: MiscDeviceRegistration<root::RootDevice>,
}

impl kernel::InPlaceModule for MshvModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pr_info!("{}\n", env::HvEnvironment::probe());

        try_pin_init!(Self {
            _root <- root::register(),
        })
    }
}
