// SPDX-License-Identifier: GPL-2.0

//! `/dev/mshv_hvcall`: hypercalls a privileged paravisor makes itself, from an allow-list.
//!
//! Opening needs `CAP_SYS_ADMIN`. Each open file starts allowing nothing; `MSHV_HVCALL_SETUP`
//! sets its allow bitmap once (bit `n` allows call code `n`), and `MSHV_HVCALL` then issues a
//! call of an allowed code with the caller's full control word, input and output, writing the
//! hypervisor's result back into the argument.

use kernel::{
    bindings,
    fs::File,
    miscdevice::{
        MiscDevice,
        MiscDeviceRegistration, //
    },
    new_mutex,
    prelude::*,
    sync::Mutex,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use crate::{
    hv::{
        control::Control,
        HV_HYP_PAGE_SIZE, //
    },
    transport::{
        hv,
        HvPages, //
    },
    uapi::{
        self,
        VtlHvcall,
        VtlHvcallSetup,
        MSHV_HVCALL,
        MSHV_HVCALL_SETUP, //
    },
};

/// Bytes of an allow bitmap: a bit for each of the 65536 call codes.
const BITMAP_BYTES: usize = 1 << 16 >> 3;

/// Which call codes an open file allows.
struct AllowList(KVVec<u8>);

impl AllowList {
    /// Reads `size` bytes of bitmap from user address `at`; the codes past them are not
    /// allowed.
    fn read(size: u64, at: u64) -> Result<Self> {
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s <= BITMAP_BYTES)
            .ok_or(EINVAL)?;
        let mut bits = KVVec::from_elem(0u8, BITMAP_BYTES, GFP_KERNEL)?;
        let at = usize::try_from(at).map_err(|_| EFAULT)?;
        UserSlice::new(UserPtr::from_addr(at), size)
            .reader()
            .read_slice(&mut bits[..size])?;
        Ok(Self(bits))
    }

    /// Whether call code `code` is allowed.
    fn allows(&self, code: u16) -> bool {
        let code = usize::from(code);
        self.0
            .get(code / 8)
            .is_some_and(|byte| byte & (1 << (code % 8)) != 0)
    }
}

/// One open of `/dev/mshv_hvcall`.
#[pin_data]
pub(crate) struct HvcallDevice {
    /// The allow-list, once set up.
    #[pin]
    allowed: Mutex<Option<AllowList>>,
}

impl HvcallDevice {
    /// `MSHV_HVCALL_SETUP`: sets the allow-list, once (`EINVAL` after that, before the argument
    /// is read, as upstream).
    fn setup(&self, arg: usize) -> Result<isize> {
        let mut allowed = self.allowed.lock();
        if allowed.is_some() {
            return Err(EINVAL);
        }
        let args: VtlHvcallSetup = uapi::read_user(arg)?;
        *allowed = Some(AllowList::read(
            args.bitmap_array_size,
            args.allow_bitmap_ptr,
        )?);
        Ok(0)
    }

    /// `MSHV_HVCALL`: issues an allowed call; `EPERM` for any other (every call before setup).
    fn call(&self, arg: usize) -> Result<isize> {
        let mut args: VtlHvcall = uapi::read_user(arg)?;
        let page = HV_HYP_PAGE_SIZE as u64;
        if args.input_size > page || args.output_size > page {
            return Err(EINVAL);
        }
        let control = Control::from_raw(args.control);
        if !self
            .allowed
            .lock()
            .as_ref()
            .is_some_and(|list| list.allows(control.code()))
        {
            return Err(EPERM);
        }
        // Both sizes are at most a page.
        let (input_size, output_size) = (args.input_size as usize, args.output_size as usize);
        let mut pages = HvPages::new()?;
        user(args.input_ptr, input_size)?
            .reader()
            .read_slice(&mut pages.input.0[..input_size])?;
        // SAFETY: Deliberately none of the trait's promise is kept here: this device is the
        // hypercall instruction itself, handed to a `CAP_SYS_ADMIN` paravisor, as upstream's
        // is. An allowed call may name any frame (and a register write may make the hypervisor
        // overlay one of the kernel's pages); which calls are allowed is the allow-list its
        // opener set. The pages passed are this call's own.
        let result = unsafe { hv().hypercall(control, &pages.input, &mut pages.output) };
        // The output goes back whatever the result, as upstream.
        user(args.output_ptr, output_size)?
            .writer()
            .write_slice(&pages.output.0[..output_size])?;
        args.status = result.0;
        uapi::write_user(arg + core::mem::offset_of!(VtlHvcall, status), &args.status)?;
        Ok(0)
    }
}

/// The user buffer of `size` bytes at `at`.
fn user(at: u64, size: usize) -> Result<UserSlice> {
    Ok(UserSlice::new(
        UserPtr::from_addr(usize::try_from(at).map_err(|_| EFAULT)?),
        size,
    ))
}

#[vtable]
impl MiscDevice for HvcallDevice {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Self::Ptr> {
        // SAFETY: `capable` only reads the current task's credentials.
        if !unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) } {
            return Err(EPERM);
        }
        KBox::pin_init(
            pin_init!(Self {
                allowed <- new_mutex!(None),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(me: Pin<&Self>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            MSHV_HVCALL_SETUP => me.setup(arg),
            MSHV_HVCALL => me.call(arg),
            _ => Err(ENOTTY),
        }
    }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_vtl_hvcall)]
mod tests {
    use super::*;

    #[test]
    fn the_bitmap_allows_its_codes_only() {
        let mut bits = KVVec::from_elem(0u8, BITMAP_BYTES, GFP_KERNEL).unwrap();
        bits[0] = 0b10;
        bits[BITMAP_BYTES - 1] = 0x80;
        let list = AllowList(bits);
        assert!(list.allows(1));
        assert!(list.allows(u16::MAX));
        for code in [0u16, 2, 8, 0x5c, u16::MAX - 1] {
            assert!(!list.allows(code));
        }
    }
}
