// SPDX-License-Identifier: GPL-2.0

//! A virtual processor: the object behind a VP file, and its ioctls.

use core::ptr::NonNull;

use kernel::{
    fs::File,
    mm::virt::VmaNew,
    page::BorrowedPage,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow, //
    },
};

use super::{
    partition::Partition,
    passthru::Caller, //
};
use crate::{
    anon_file::AnonFile,
    calls, ffi,
    hv::abi::vp_state_page,
    transport::HvPages,
    uapi::{
        MSHV_ROOT_HVCALL,
        MSHV_VP_MMAP_OFFSET_GHCB,
        MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE,
        MSHV_VP_MMAP_OFFSET_REGISTERS, //
    },
};

/// A VP of a partition.
pub(crate) struct Vp {
    /// Its index in the partition.
    pub(crate) index: u32,
    /// The page frame of the register page the hypervisor shares.
    registers_pfn: u64,
    /// The page frame of the intercept message page.
    intercept_message_pfn: u64,
}

impl Vp {
    /// Creates VP `index` of partition `partition_id` and maps its state pages.
    pub(super) fn create(pages: &mut HvPages, partition_id: u64, index: u32) -> Result<Arc<Self>> {
        calls::create_vp(pages, partition_id, index)?;
        let mapped = (|| -> Result<Self> {
            let intercept_message_pfn = calls::map_vp_state_page(
                pages,
                partition_id,
                index,
                vp_state_page::INTERCEPT_MESSAGE,
            )?;
            let registers_pfn =
                calls::map_vp_state_page(pages, partition_id, index, vp_state_page::REGISTERS)
                    .inspect_err(|_| {
                        let _ = calls::unmap_vp_state_page(
                            pages,
                            partition_id,
                            index,
                            vp_state_page::INTERCEPT_MESSAGE,
                        );
                    })?;
            Ok(Self {
                index,
                registers_pfn,
                intercept_message_pfn,
            })
        })();
        let vp = mapped.and_then(|vp| Ok(Arc::new(vp, GFP_KERNEL)?));
        if vp.is_err() {
            // Undo in reverse: the VP goes, as on upstream's error path.
            let _ = calls::delete_vp(partition_id, index);
        }
        vp
    }
}

/// What a VP file refers to: the VP and, keeping it alive, its partition.
pub(crate) struct VpFile {
    pub(super) partition: Arc<Partition>,
    pub(super) vp: Arc<Vp>,
}

impl AnonFile for VpFile {
    const NAME: &'static CStr = c"mshv_vp";
    const HAS_MMAP: bool = true;

    fn ioctl(this: ArcBorrow<'_, Self>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            MSHV_ROOT_HVCALL => this.partition.hvcall(Caller::Vp(this.partition.id), arg),
            _ => Err(ENOTTY),
        }
    }

    /// Maps one of the VP's state pages, chosen by the offset, at every page of the mapping
    /// (as upstream, which resolves every fault from the mapping's offset).
    fn mmap(this: ArcBorrow<'_, Self>, vma: &VmaNew, pgoff: usize) -> Result {
        let pfn = match pgoff {
            MSHV_VP_MMAP_OFFSET_REGISTERS => this.vp.registers_pfn,
            MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE => this.vp.intercept_message_pfn,
            // No encrypted partitions, so never a GHCB page.
            MSHV_VP_MMAP_OFFSET_GHCB => return Err(ENODEV),
            _ => return Err(EINVAL),
        };
        // SAFETY: The page frame is one the hypervisor handed out for the VP's state: memory the
        // driver deposited, so a page of the kernel's.
        let page = unsafe { ffi::mshv_shim_pfn_to_page(pfn) };
        let page = NonNull::new(page.cast::<kernel::bindings::page>()).ok_or(ENODEV)?;
        // SAFETY: The page stays allocated while the partition holds it, which this file's
        // reference guarantees for the duration of the call; the mapping takes its own
        // reference to the page.
        let page = unsafe { BorrowedPage::from_raw(page) };
        let map = vma.set_mixedmap();
        let mut addr = vma.start();
        while addr < vma.end() {
            map.vm_insert_page(addr, &page)?;
            addr += kernel::page::PAGE_SIZE;
        }
        Ok(())
    }
}
