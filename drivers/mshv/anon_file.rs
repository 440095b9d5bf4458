// SPDX-License-Identifier: GPL-2.0

//! Objects handed to user space as anonymous-inode files (the partition and VP files).
//!
//! The kernel crate has no abstraction for these: this is the one place that builds their
//! `file_operations` and calls `anon_inode_getfile()`. A file holds one reference to its
//! object ([`Arc`]); release drops it.

use core::{marker::PhantomData, ptr::NonNull};

use kernel::{
    bindings,
    error::from_err_ptr,
    ffi::{
        c_int,
        c_long,
        c_uint,
        c_ulong, //
    },
    fs::{
        file::{
            flags,
            FileDescriptorReservation, //
        },
        File,
    },
    mm::virt::VmaNew,
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        ArcBorrow, //
    },
    types::ForeignOwnable,
};

use crate::ffi;

/// An object behind an anonymous-inode file.
pub(crate) trait AnonFile: Send + Sync + Sized + 'static {
    /// The inode's name (`[<name>]` in `/proc/<pid>/fd`).
    const NAME: &'static CStr;

    /// Whether the file can be mapped.
    const HAS_MMAP: bool = false;

    /// Handles an ioctl.
    fn ioctl(this: ArcBorrow<'_, Self>, file: &File, cmd: u32, arg: usize) -> Result<isize>;

    /// The file is being released (its last descriptor closed); the object may live on in
    /// other references.
    fn release(_this: &Self) {}

    /// Maps the file: `pgoff` is the mapping's offset in pages.
    fn mmap(_this: ArcBorrow<'_, Self>, _vma: &VmaNew, _pgoff: usize) -> Result {
        Err(ENODEV)
    }
}

/// Creates a file for `object` and installs it as a new close-on-exec descriptor, which it
/// returns.
pub(crate) fn install<T: AnonFile>(object: Arc<T>) -> Result<isize> {
    let fd = FileDescriptorReservation::get_unused_fd_flags(flags::O_CLOEXEC)?;
    let private = object.into_foreign();
    // SAFETY: The name is a static C string and the operations a static table; `private` is
    // the object's reference, which the file's release gives back.
    let raw = unsafe {
        ffi::anon_inode_getfile(
            T::NAME.as_char_ptr(),
            core::ptr::from_ref(Ops::<T>::build()).cast(),
            private,
            flags::O_RDWR as c_int,
        )
    };
    let raw = match from_err_ptr(raw.cast::<bindings::file>()) {
        Ok(raw) => raw,
        Err(e) => {
            // SAFETY: No file was made, so the reference is still this function's.
            drop(unsafe { Arc::<T>::from_foreign(private) });
            return Err(e);
        }
    };
    // SAFETY: `anon_inode_getfile` returned a new file with one reference, which becomes the
    // `ARef`'s. `File` is a transparent wrapper around `struct file`.
    let file = unsafe { ARef::from_raw(NonNull::new_unchecked(raw.cast::<File>())) };
    let number = fd.reserved_fd();
    fd.fd_install(file);
    Ok(number as isize)
}

/// The file operations of `T`'s files.
struct Ops<T>(PhantomData<T>);

impl<T: AnonFile> Ops<T> {
    const FOPS: bindings::file_operations = bindings::file_operations {
        owner: kernel::module::this_module::<crate::LocalModule>().as_ptr(),
        release: Some(Self::release),
        unlocked_ioctl: Some(Self::ioctl),
        mmap: if T::HAS_MMAP { Some(Self::mmap) } else { None },
        llseek: Some(bindings::noop_llseek),
        // SAFETY: Every other field of `file_operations` may be zero (no operation).
        ..unsafe { core::mem::zeroed() }
    };

    const fn build() -> &'static bindings::file_operations {
        &Self::FOPS
    }

    /// # Safety
    ///
    /// `file` is a file of these operations, being released.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: Release owns the private data, which `install` set to an `Arc<T>`.
        let this = unsafe { Arc::<T>::from_foreign((*file).private_data) };
        T::release(&this);
        drop(this);
        0
    }

    /// # Safety
    ///
    /// `file` is a live file of these operations.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: The private data is an `Arc<T>` until release, which cannot run during an
        // ioctl.
        let this = unsafe { Arc::<T>::borrow((*file).private_data) };
        // SAFETY: The file is valid for the call, and no fdget_pos region is active.
        let file = unsafe { File::from_raw_file(file) };
        match T::ioctl(this, file, cmd, arg) {
            Ok(ret) => ret as c_long,
            Err(e) => e.to_errno() as c_long,
        }
    }

    /// # Safety
    ///
    /// `file` is a live file of these operations and `vma` a mapping of it being set up.
    unsafe extern "C" fn mmap(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: As in `ioctl`.
        let this = unsafe { Arc::<T>::borrow((*file).private_data) };
        // SAFETY: The mapping is valid for the call.
        let pgoff = unsafe { (*vma).vm_pgoff };
        // SAFETY: The mapping is undergoing its initial setup.
        let vma = unsafe { VmaNew::from_raw(vma) };
        match T::mmap(this, vma, pgoff) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
}
