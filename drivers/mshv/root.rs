// SPDX-License-Identifier: GPL-2.0

//! The root personality: `/dev/mshv`, through which a virtual machine monitor in the root
//! partition creates and runs partitions.

mod async_call;
mod create;
mod gpap;
pub(crate) mod host;
mod ioeventfd;
mod irq;
mod irqfd;
mod kick;
mod memory;
pub(crate) mod messages;
mod partition;
mod passthru;
mod scheduler;
mod synic;
mod vp;
mod vp_state;

use kernel::{
    fs::File,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    prelude::*,
};

use crate::{
    transport::HvPages,
    uapi::{
        MSHV_CREATE_PARTITION,
        MSHV_ROOT_HVCALL, //
    },
};
use partition::Partition;
use passthru::Caller;

/// The state of one open of `/dev/mshv`.
pub(crate) struct RootDevice;

/// Registers `/dev/mshv`.
pub(crate) fn register() -> impl PinInit<MiscDeviceRegistration<RootDevice>, Error> {
    MiscDeviceRegistration::register(MiscDeviceOptions { name: c"mshv" })
}

/// Handles an ioctl on `/dev/mshv`.
fn dispatch(cmd: u32, arg: usize) -> Result<isize> {
    match cmd {
        MSHV_CREATE_PARTITION => Partition::create(&create::read(arg)?),
        MSHV_ROOT_HVCALL => passthru::root_hvcall(&mut HvPages::new()?, Caller::Root, arg),
        _ => Err(ENOTTY),
    }
}

#[vtable]
impl MiscDevice for RootDevice {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Self::Ptr> {
        Ok(KBox::pin(RootDevice, GFP_KERNEL)?)
    }

    fn ioctl(_me: Pin<&Self>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        dispatch(cmd, arg)
    }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_root)]
mod tests {
    use super::dispatch;
    use kernel::prelude::*;

    #[test]
    fn unknown_commands_are_enotty() {
        for cmd in [0u32, 1, 0xb800, 0xc010_b800, u32::MAX] {
            assert_eq!(dispatch(cmd, 0), Err(ENOTTY));
        }
    }
}
