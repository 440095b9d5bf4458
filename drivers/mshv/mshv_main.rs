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
//! - [`calls`]: the hypercalls the driver issues, one function each.
//! - [`transport`]: the hypervisor behind the hypercall instruction, real or simulated.
//! - [`anon_file`]: the partition and VP files.
//! - [`abi`]: declaring binary interfaces and checking them against C headers.
//! - [`ffi`]: the one place that declares the C shim and assembly symbols.
//! - [`sync`]: killable waits for the driver's mutexes.

use kernel::{
    miscdevice::MiscDeviceRegistration,
    prelude::*, //
};

mod abi;
mod anon_file;
mod arch;
mod calls;
#[allow(dead_code)] // The simulator's and the VTL module's.
mod cpu;
mod env;
mod eventfd;
mod ffi;
mod hv;
mod hypercall;
#[allow(dead_code)] // The simulator's and the VTL module's.
mod irq_work;
mod root;
mod sync;
mod transport;
mod uapi;

/// The driver this module is.
const PERSONALITY: transport::Personality = transport::Personality::Root;

module! {
    type: MshvModule,
    name: "mshv_rs",
    authors: ["The mshv-rs authors"],
    description: "Microsoft Hypervisor root and VTL driver",
    license: "GPL",
    params: {
        hypervisor: u32 {
            default: 0,
            description: "0: the real hypervisor in a Hyper-V root partition, else the simulated one (if built in) where there is no Microsoft hypervisor, else not loading; 1: real; 2: simulated; 3: simulated, as a host whose root scheduler runs the VPs (for mshv_vtl: as one without VTL2's intercept page)",
        },
    },
}

/// The module: owns the registered character devices and the hypervisor it chose.
#[pin_data]
struct MshvModule {
    /// `/dev/mshv`, deregistered when the module is unloaded.
    #[pin]
    _root: MiscDeviceRegistration<root::RootDevice>,
    /// The hypervisor's messages to the root, taken until the devices are gone.
    _messages: root::messages::Messages,
    /// The chosen hypervisor; dropped last.
    _hypervisor: transport::Selected,
}

impl kernel::InPlaceModule for MshvModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let selected = env::claim_mshv_device()
            .and_then(|()| transport::start(PERSONALITY, module_parameters::hypervisor.value()))
            .and_then(|selected| root::host::probe().map(|()| selected));

        try_pin_init!(Self {
            _hypervisor: selected?,
            _messages: root::messages::Messages::start(),
            _root <- root::register(),
        })
    }
}
