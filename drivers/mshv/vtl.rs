// SPDX-License-Identifier: GPL-2.0

//! The VTL personality: the devices of upstream's `mshv_vtl` for a paravisor at VTL2.
//!
//! - `/dev/mshv` ([`VtlDevice`]): `MSHV_CHECK_EXTENSION` and `MSHV_CREATE_VTL`;
//! - a VTL file ([`file`]): VTL0's registers on the calling CPU, the run pages and the
//!   VTL-return loop ([`run`]);
//! - `/dev/mshv_hvcall` ([`hvcall`]): hypercalls of an allow-list the opener sets;
//! - VTL0's memory ([`memory`]): `MSHV_ADD_VTL0_MEMORY` on a VTL file, `/dev/mshv_vtl_low`;
//! - `/dev/mshv_sint` ([`sint`]): the host's VMBus messages and events for VTL2 user space,
//!   through VTL2's SynIC ([`synic`]).
//!
//! What the hypervisor offers a VTL2 partition is read once, at load ([`Vsm`]).

mod file;
mod hvcall;
mod memory;
mod reg_page;
mod run;
mod sint;
#[cfg(CONFIG_ARM64)]
mod smccc;
mod synic;

use kernel::{
    fs::File,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    prelude::*,
    sync::{
        global_lock,
        Arc,
        SetOnce, //
    },
};

use crate::{
    anon_file, calls,
    hv::abi::{
        input_vtl,
        register,
        vsm_capability,
        HV_PARTITION_ID_SELF,
        HV_VP_INDEX_SELF, //
    },
    transport::HvPages,
    uapi::{
        self,
        MSHV_CAP_CORE_API_STABLE,
        MSHV_CAP_DR6_SHARED,
        MSHV_CAP_REGISTER_PAGE,
        MSHV_CAP_SMCCC_VTL_SWITCH,
        MSHV_CAP_VTL_RETURN_ACTION,
        MSHV_CHECK_EXTENSION,
        MSHV_CREATE_VTL, //
    },
};

/// What the hypervisor offers this VTL2 partition (`HV_REGISTER_VSM_CAPABILITIES` and
/// `HV_REGISTER_VSM_CODE_PAGE_OFFSETS`), read at load.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Vsm {
    /// `union hv_register_vsm_capabilities`.
    pub(crate) capabilities: u64,
    /// `union hv_register_vsm_page_offsets`.
    pub(crate) page_offsets: u64,
}

impl Vsm {
    /// Reads both registers of the calling VP, in VTL2's own view, as upstream does at load.
    fn read() -> Result<Self> {
        let mut pages = HvPages::new()?;
        let mut read = |name| {
            calls::get_vp_register_in(
                &mut pages,
                HV_PARTITION_ID_SELF,
                HV_VP_INDEX_SELF,
                input_vtl::OWN,
                name,
            )
            .map(|value| value[0])
        };
        Ok(Self {
            page_offsets: read(register::VSM_CODE_PAGE_OFFSETS)?,
            capabilities: read(register::VSM_CAPABILITIES)?,
        })
    }

    /// Where the VTL-return sequence is in the hypercall page.
    pub(crate) fn vtl_return_offset(&self) -> u64 {
        (self.page_offsets >> 12) & 0xfff
    }

    /// `HV_REGISTER_VSM_PARTITION_CONFIG` as upstream sets it at load: VTL protection on, with
    /// every access allowed by default, memory zeroed on reset, VP start-ups and unimplemented
    /// CPUID leaves intercepted, and intercept messages in the VP assist page where offered.
    fn partition_config(&self) -> u64 {
        use crate::hv::abi::vsm_partition_config::*;
        let config = ENABLE_VTL_PROTECTION
            | DEFAULT_VTL_PROTECTION_MASK_ALL
            | ZERO_MEMORY_ON_RESET
            | INTERCEPT_VP_STARTUP
            | INTERCEPT_CPUID_UNIMPLEMENTED;
        if self.has(vsm_capability::INTERCEPT_PAGE_AVAILABLE) {
            config | INTERCEPT_PAGE
        } else {
            config
        }
    }

    /// Configures the partition's VSM (VTL2's own view of the calling VP), as upstream does at
    /// load.
    fn configure(&self) -> Result {
        let mut pages = HvPages::new()?;
        calls::set_vp_registers_in(
            &mut pages,
            HV_PARTITION_ID_SELF,
            HV_VP_INDEX_SELF,
            input_vtl::OWN,
            [(register::VSM_PARTITION_CONFIG, [self.partition_config(), 0])].into_iter(),
        )
    }

    /// Whether the hypervisor has capability `bit` ([`vsm_capability`]).
    pub(crate) fn has(&self, bit: u64) -> bool {
        self.capabilities & bit != 0
    }

    /// What `MSHV_CHECK_EXTENSION` answers for `capability`: 1 or 0, or `EOPNOTSUPP` for one
    /// it does not know.
    fn extension(&self, capability: u32, reg_page: bool) -> Result<isize> {
        let has = match capability {
            MSHV_CAP_CORE_API_STABLE => return Ok(0),
            // As upstream: some CPU's register page was programmed.
            MSHV_CAP_REGISTER_PAGE => reg_page,
            MSHV_CAP_VTL_RETURN_ACTION => self.has(vsm_capability::RETURN_ACTION_AVAILABLE),
            MSHV_CAP_DR6_SHARED => self.has(vsm_capability::DR6_SHARED),
            // This driver's (arm64): the VTL switch over SMCCC is there.
            MSHV_CAP_SMCCC_VTL_SWITCH => cfg!(CONFIG_ARM64) && run::switch_ready(),
            _ => return Err(EOPNOTSUPP),
        };
        Ok(isize::from(has))
    }
}

/// What [`Vsm::read`] found when the module loaded; set before any device exists.
static VSM: SetOnce<Vsm> = SetOnce::new();

/// The hypervisor's VSM registers, as read at load.
pub(crate) fn vsm() -> Vsm {
    VSM.as_ref().copied().unwrap_or(Vsm {
        capabilities: 0,
        page_offsets: 0,
    })
}

global_lock! {
    // SAFETY: `Devices::register` initialises it, once, before any device exists.
    unsafe(uninit) static RUN_PAGES: Mutex<Option<Arc<run::RunPages>>> = None;
}

/// The run pages, for a new VTL file.
fn run_pages() -> Result<Arc<run::RunPages>> {
    RUN_PAGES.lock().clone().ok_or(ENODEV)
}

/// What the devices need, set up before they are registered and gone after them: the run
/// pages (also in [`RUN_PAGES`] while this lives), the hypervisor's VTL-return entry and the
/// VTL0 memory added.
struct Prepared {
    entry: Option<run::SwitchHolder>,
    _added: memory::Added,
}

impl Prepared {
    /// Checks the run page's layout, reads what the hypervisor offers, allocates the run pages
    /// and points the VTL switch at the hypervisor.
    fn new() -> Result<Self> {
        run::check_layout()
            .inspect_err(|_| pr_err!("the run page's layout differs from the kernel's\n"))?;
        // As upstream, a hypervisor that will not say or take this is no place to load.
        let vsm = Vsm::read().map_err(|e| {
            pr_err!("reading the VSM capabilities failed: {e:?}: not loading\n");
            ENODEV
        })?;
        pr_info!(
            "VSM capabilities {:#x}, VTL return at {:#x} in the hypercall page\n",
            vsm.capabilities,
            vsm.vtl_return_offset()
        );
        vsm.configure().map_err(|e| {
            pr_err!("configuring the partition's VSM failed: {e:?}: not loading\n");
            ENODEV
        })?;
        if !VSM.populate(vsm) {
            return Err(EBUSY);
        }
        // As upstream: where the hypervisor has the intercept page (x86_64).
        let reg = if cfg!(CONFIG_X86_64) && vsm.has(vsm_capability::INTERCEPT_PAGE_AVAILABLE) {
            Some(reg_page::RegPages::new()?)
        } else {
            None
        };
        let pages = Arc::pin_init(run::RunPages::new(reg)?, GFP_KERNEL)?;
        let entry = run::set_return_entry(&vsm, &pages)
            .inspect_err(|_| {
                pr_info!("no VTL switch here: MSHV_RETURN_TO_LOWER_VTL answers EOPNOTSUPP\n")
            })
            .ok();
        // SAFETY: Called once, from module init, before any other use of `RUN_PAGES`.
        unsafe { RUN_PAGES.init() };
        *RUN_PAGES.lock() = Some(pages);
        Ok(Self {
            entry,
            // SAFETY: Once, from module init, before the devices exist.
            _added: unsafe { memory::Added::new() },
        })
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        // The devices are gone, and the VTL files with them (each held the module): so are
        // their references to the run pages, and the switch is not in use. The hypervisor
        // lets go of the pages (arm64: the context blocks in them) before they are freed.
        drop(self.entry.take());
        *RUN_PAGES.lock() = None;
    }
}

/// The VTL personality's devices.
#[pin_data]
pub(crate) struct Devices {
    /// `/dev/mshv`.
    #[pin]
    _mshv: MiscDeviceRegistration<VtlDevice>,
    /// `/dev/mshv_hvcall`.
    #[pin]
    _hvcall: MiscDeviceRegistration<hvcall::HvcallDevice>,
    /// `/dev/mshv_vtl_low`.
    #[pin]
    _low: MiscDeviceRegistration<memory::VtlLowDevice>,
    /// `/dev/mshv_sint`, with the SynIC, where the hypervisor's SynIC interrupt can be had.
    /// Made before the others, dropped after them.
    _sint: Option<Pin<KBox<sint::SintDevice>>>,
    /// Made first, dropped last.
    _prepared: Prepared,
}

impl Devices {
    /// Reads what the hypervisor offers, allocates the run pages, then registers the devices.
    pub(crate) fn register() -> impl PinInit<Self, Error> {
        let prepared = Prepared::new();
        try_pin_init!(Self {
            _prepared: prepared?,
            // Before `/dev/mshv`: the VTL-return loop may take intercepts from the SynIC.
            _sint: sint::SintDevice::new()?,
            _mshv <- MiscDeviceRegistration::register(MiscDeviceOptions { name: c"mshv" }),
            _hvcall <- MiscDeviceRegistration::register(MiscDeviceOptions {
                name: c"mshv_hvcall",
            }),
            _low <- MiscDeviceRegistration::register(MiscDeviceOptions {
                name: c"mshv_vtl_low",
            }),
        })
    }
}

/// One open of the VTL personality's `/dev/mshv`.
pub(crate) struct VtlDevice;

/// Handles an ioctl on `/dev/mshv`.
fn dispatch(cmd: u32, arg: usize) -> Result<isize> {
    match cmd {
        MSHV_CHECK_EXTENSION => vsm().extension(uapi::read_user(arg)?, reg_page::offered()),
        MSHV_CREATE_VTL => anon_file::install(Arc::new(file::Vtl::new(run_pages()?), GFP_KERNEL)?),
        _ => Err(ENOTTY),
    }
}

#[vtable]
impl MiscDevice for VtlDevice {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Self::Ptr> {
        Ok(KBox::pin(VtlDevice, GFP_KERNEL)?)
    }

    fn ioctl(_me: Pin<&Self>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        dispatch(cmd, arg)
    }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_vtl_device)]
mod tests {
    use super::*;

    #[test]
    fn extensions_follow_the_capabilities() {
        let none = Vsm {
            capabilities: 0,
            page_offsets: 0,
        };
        let all = Vsm {
            capabilities: vsm_capability::DR6_SHARED | vsm_capability::RETURN_ACTION_AVAILABLE,
            page_offsets: 0,
        };
        assert_eq!(none.extension(MSHV_CAP_CORE_API_STABLE, false), Ok(0));
        assert_eq!(all.extension(MSHV_CAP_CORE_API_STABLE, true), Ok(0));
        for cap in [MSHV_CAP_VTL_RETURN_ACTION, MSHV_CAP_DR6_SHARED] {
            assert_eq!(none.extension(cap, false), Ok(0));
            assert_eq!(all.extension(cap, false), Ok(1));
        }
        assert_eq!(all.extension(MSHV_CAP_REGISTER_PAGE, false), Ok(0));
        assert_eq!(none.extension(MSHV_CAP_REGISTER_PAGE, true), Ok(1));
        // This driver's own: whether the arm64 switch is there, never on x86_64.
        let smccc = isize::from(cfg!(CONFIG_ARM64) && run::switch_ready());
        assert_eq!(none.extension(MSHV_CAP_SMCCC_VTL_SWITCH, false), Ok(smccc));
        for cap in [4, 5, 0x100, u32::MAX] {
            assert_eq!(all.extension(cap, true), Err(EOPNOTSUPP));
        }
    }

    #[test]
    fn unknown_commands_are_enotty() {
        for cmd in [0u32, 1, 0xb800, 0x4010_b800, u32::MAX] {
            assert_eq!(dispatch(cmd, 0), Err(ENOTTY));
        }
    }
}
