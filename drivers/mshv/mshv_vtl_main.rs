// SPDX-License-Identifier: GPL-2.0

//! Microsoft Hypervisor VTL driver.
//!
//! The VTL personality of the Rust `mshv` drivers, built as the module `mshv_vtl` (the name the
//! kernel's Hyper-V core exports `hv_context`, `hv_post_message` and `vmbus_isr` to): the
//! devices a paravisor running at VTL2 uses to run VTL0 and to reach the hypervisor.
//!
//! - [`vtl`]: `/dev/mshv`, the VTL files, `/dev/mshv_hvcall`.
//!
//! Everything else is the root module's ([`mshv_rs`'s crate root] lists it), shared at the
//! source level: the hypervisor's ABI, the hypercall loops, the transport (and the simulated
//! hypervisor), the user-space ABI and its checks.
//!
//! [`mshv_rs`'s crate root]: ../mshv_main/index.html

use kernel::prelude::*;

// Shared with the root module, which uses the rest of them.
#[allow(dead_code)]
mod abi;
#[allow(dead_code)]
mod anon_file;
mod arch;
#[allow(dead_code)]
mod calls;
mod cpu;
mod env;
#[allow(dead_code)]
mod eventfd;
#[allow(dead_code)]
mod ffi;
mod hv;
#[allow(dead_code)]
mod hypercall;
mod irq_work;
#[allow(dead_code)]
mod sync;
#[allow(dead_code)]
mod transport;
mod uapi;
mod vtl;

/// The driver this module is.
const PERSONALITY: transport::Personality = transport::Personality::Vtl;

module! {
    type: MshvVtlModule,
    name: "mshv_vtl",
    authors: ["The mshv-rs authors"],
    description: "Microsoft Hypervisor VTL driver",
    license: "GPL",
    params: {
        hypervisor: u32 {
            default: 0,
            description: "0: the real hypervisor at VTL2, else the simulated one (if built in) where there is no Microsoft hypervisor, else not loading; 1: real; 2: simulated; 3: simulated, offering VTL2 no intercept page",
        },
    },
}

/// The module: owns the registered character devices and the hypervisor it chose.
#[pin_data]
struct MshvVtlModule {
    /// The devices, deregistered when the module is unloaded.
    #[pin]
    _devices: vtl::Devices,
    /// The chosen hypervisor; dropped last.
    _hypervisor: transport::Selected,
}

impl kernel::InPlaceModule for MshvVtlModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let selected = env::claim_mshv_device()
            .and_then(|()| transport::start(PERSONALITY, module_parameters::hypervisor.value()));

        try_pin_init!(Self {
            _hypervisor: selected?,
            _devices <- vtl::Devices::register(),
        })
    }
}
