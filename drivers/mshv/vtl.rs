// SPDX-License-Identifier: GPL-2.0

//! The VTL personality: the devices of upstream's `mshv_vtl` for a paravisor at VTL2.
//!
//! - `/dev/mshv` ([`VtlDevice`]): `MSHV_CHECK_EXTENSION` and `MSHV_CREATE_VTL`;
//! - a VTL file ([`file`]): VTL0's registers on the calling CPU;
//! - `/dev/mshv_hvcall` ([`hvcall`]): hypercalls of an allow-list the opener sets.
//!
//! What the hypervisor offers a VTL2 partition is read once, at load ([`Vsm`]).

mod file;
mod hvcall;

use kernel::{
    fs::File,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    prelude::*,
    sync::{
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

    /// Whether the hypervisor has capability `bit` ([`vsm_capability`]).
    pub(crate) fn has(&self, bit: u64) -> bool {
        self.capabilities & bit != 0
    }

    /// What `MSHV_CHECK_EXTENSION` answers for `capability`: 1 or 0, or `EOPNOTSUPP` for one
    /// it does not know.
    fn extension(&self, capability: u32) -> Result<isize> {
        let has = match capability {
            MSHV_CAP_CORE_API_STABLE => return Ok(0),
            // No register page is set up (yet): VTL0's registers go through the run page and
            // `MSHV_GET/SET_VP_REGISTERS`.
            MSHV_CAP_REGISTER_PAGE => false,
            MSHV_CAP_VTL_RETURN_ACTION => self.has(vsm_capability::RETURN_ACTION_AVAILABLE),
            MSHV_CAP_DR6_SHARED => self.has(vsm_capability::DR6_SHARED),
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

/// The VTL personality's devices.
#[pin_data]
pub(crate) struct Devices {
    /// `/dev/mshv`.
    #[pin]
    _mshv: MiscDeviceRegistration<VtlDevice>,
    /// `/dev/mshv_hvcall`.
    #[pin]
    _hvcall: MiscDeviceRegistration<hvcall::HvcallDevice>,
}

impl Devices {
    /// Reads what the hypervisor offers, then registers the devices.
    pub(crate) fn register() -> impl PinInit<Self, Error> {
        let vsm = Vsm::read().inspect_err(|e| {
            pr_err!("reading the VSM capabilities failed: {e:?}: not loading\n");
        });
        try_pin_init!(Self {
            _mshv <- {
                let vsm = vsm?;
                pr_info!(
                    "VSM capabilities {:#x}, VTL return at {:#x} in the hypercall page\n",
                    vsm.capabilities,
                    vsm.vtl_return_offset()
                );
                if !VSM.populate(vsm) {
                    return Err(EBUSY);
                }
                MiscDeviceRegistration::register(MiscDeviceOptions { name: c"mshv" })
            },
            _hvcall <- MiscDeviceRegistration::register(MiscDeviceOptions {
                name: c"mshv_hvcall",
            }),
        })
    }
}

/// One open of the VTL personality's `/dev/mshv`.
pub(crate) struct VtlDevice;

/// Handles an ioctl on `/dev/mshv`.
fn dispatch(cmd: u32, arg: usize) -> Result<isize> {
    match cmd {
        MSHV_CHECK_EXTENSION => vsm().extension(uapi::read_user(arg)?),
        MSHV_CREATE_VTL => anon_file::install(Arc::new(file::Vtl, GFP_KERNEL)?),
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
        assert_eq!(none.extension(MSHV_CAP_CORE_API_STABLE), Ok(0));
        assert_eq!(all.extension(MSHV_CAP_CORE_API_STABLE), Ok(0));
        for cap in [MSHV_CAP_VTL_RETURN_ACTION, MSHV_CAP_DR6_SHARED] {
            assert_eq!(none.extension(cap), Ok(0));
            assert_eq!(all.extension(cap), Ok(1));
        }
        assert_eq!(all.extension(MSHV_CAP_REGISTER_PAGE), Ok(0));
        for cap in [4, 5, 0x100, u32::MAX] {
            assert_eq!(all.extension(cap), Err(EOPNOTSUPP));
        }
    }

    #[test]
    fn unknown_commands_are_enotty() {
        for cmd in [0u32, 1, 0xb800, 0x4010_b800, u32::MAX] {
            assert_eq!(dispatch(cmd, 0), Err(ENOTTY));
        }
    }
}
