// SPDX-License-Identifier: GPL-2.0

//! A partition: the object behind a partition file, and its ioctls.
//!
//! Lifetime (as upstream): the partition file holds one reference and each VP file another;
//! the partition is torn down on the last release, whichever file that is: VPs' state pages
//! unmapped, the partition finalised, every deposited page withdrawn, the partition deleted.

use kernel::{
    fs::File,
    new_mutex,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow,
        Mutex, //
    },
};

use super::{
    ioeventfd::{
        set_ioeventfd,
        Ioeventfd, //
    },
    irq::{
        read_routes,
        Routes, //
    },
    irqfd::{
        prune,
        set_irqfd,
        update_routes,
        Irqfd, //
    },
    memory::{
        set_guest_memory,
        Region, //
    },
    passthru::{
        root_hvcall,
        Caller, //
    },
    vp::{
        Vp,
        VpFile, //
    },
};
use crate::{
    anon_file::{
        self,
        AnonFile, //
    },
    calls,
    hv::abi::vp_state_page,
    sync::{
        lock_interruptible,
        lock_killable, //
    },
    transport::HvPages,
    uapi::{
        self,
        CreateVp,
        MSHV_CREATE_VP,
        MSHV_GET_GPAP_ACCESS_BITMAP,
        MSHV_INITIALIZE_PARTITION,
        MSHV_IOEVENTFD,
        MSHV_IRQFD,
        MSHV_MAX_VPS,
        MSHV_ROOT_HVCALL,
        MSHV_SET_GUEST_MEMORY,
        MSHV_SET_MSI_ROUTING, //
    },
};

/// What the partition's ioctls serialise on (upstream's `pt_mutex`).
struct Inner {
    /// Pages for the partition's hypercalls.
    pages: HvPages,
    /// `MSHV_INITIALIZE_PARTITION` succeeded.
    initialized: bool,
    /// The VPs created, never removed before teardown.
    vps: KVec<Arc<Vp>>,
    /// The guest memory mapped.
    regions: KVec<Region>,
    /// The MSI routes, by GSI.
    routes: Routes,
    /// The irqfds assigned.
    irqfds: KVec<Irqfd>,
    /// The ioeventfds assigned.
    ioeventfds: KVec<Ioeventfd>,
}

/// A partition the driver created.
#[pin_data(PinnedDrop)]
pub(crate) struct Partition {
    /// The hypervisor's id for it.
    pub(crate) id: u64,
    #[pin]
    inner: Mutex<Inner>,
}

impl Partition {
    /// Creates a partition with the (validated) hypercall input and returns its file
    /// descriptor.
    pub(super) fn create(input: &crate::hv::abi::CreatePartitionIn) -> Result<isize> {
        let mut pages = HvPages::new()?;
        let id = calls::create_partition(&mut pages, input)?;
        let partition = Arc::pin_init(
            pin_init!(Self {
                id,
                inner <- new_mutex!(Inner {
                    pages,
                    initialized: false,
                    vps: KVec::new(),
                    regions: KVec::new(),
                    routes: Routes::new(),
                    irqfds: KVec::new(),
                    ioeventfds: KVec::new(),
                }),
            }),
            GFP_KERNEL,
        );
        let partition = match partition {
            Ok(p) => p,
            Err(e) => {
                // Nothing was deposited into it yet: deleting is enough.
                let _ = calls::delete_partition(id);
                return Err(e);
            }
        };
        // On failure the reference is dropped, which tears the partition down.
        anon_file::install(partition)
    }

    fn initialize(&self) -> Result<isize> {
        let mut inner = lock_killable(&self.inner)?;
        if inner.initialized {
            return Ok(0);
        }
        if let Err(e) = calls::initialize_partition(&mut inner.pages, self.id) {
            // Take back whatever was deposited; the ioctl may be tried again.
            let _ = calls::withdraw_all(&mut inner.pages, self.id);
            return Err(e);
        }
        inner.initialized = true;
        Ok(0)
    }

    fn create_vp(self: ArcBorrow<'_, Self>, arg: usize) -> Result<isize> {
        let args: CreateVp = uapi::read_user(arg)?;
        let index = args.vp_index;
        if index >= MSHV_MAX_VPS {
            return Err(EINVAL);
        }
        let mut inner = lock_killable(&self.inner)?;
        if inner.vps.iter().any(|vp| vp.index == index) {
            return Err(EEXIST);
        }
        inner.vps.reserve(1, GFP_KERNEL)?;
        let vp = Vp::create(&mut inner.pages, self.id, index)?;
        // The reservation above makes this push infallible.
        inner.vps.push(vp.clone(), GFP_KERNEL)?;
        let file = Arc::new(
            VpFile {
                partition: self.into(),
                vp,
            },
            GFP_KERNEL,
        )?;
        // A VP whose file could not be made stays with the partition, as upstream's slot
        // stays taken: its index cannot be used again.
        anon_file::install(file)
    }

    /// Issues a pass-through hypercall on the partition's behalf.
    fn hvcall(&self, caller: Caller, arg: usize) -> Result<isize> {
        let mut inner = lock_killable(&self.inner)?;
        root_hvcall(&mut inner.pages, caller, arg)
    }
}

impl AnonFile for Partition {
    const NAME: &'static CStr = c"mshv_partition";

    /// As upstream, the irqfds and ioeventfds go with the partition file, whatever VP files keep the
    /// partition.
    fn release(this: &Self) {
        let (irqfds, ioeventfds) = {
            let mut inner = this.inner.lock();
            (
                core::mem::take(&mut inner.irqfds),
                core::mem::take(&mut inner.ioeventfds),
            )
        };
        drop(irqfds);
        drop(ioeventfds);
    }

    fn ioctl(this: ArcBorrow<'_, Self>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            MSHV_INITIALIZE_PARTITION => this.initialize(),
            MSHV_CREATE_VP => this.create_vp(arg),
            MSHV_GET_GPAP_ACCESS_BITMAP => {
                let mut inner = lock_killable(&this.inner)?;
                super::gpap::get_bitmap(&mut inner.pages, this.id, arg)
            }
            MSHV_SET_MSI_ROUTING => {
                // Read and checked before the swap: a bad table leaves the old one.
                let routes = read_routes(arg)?;
                let mut inner = lock_killable(&this.inner)?;
                prune(&mut inner.irqfds);
                update_routes(&inner.irqfds, &routes);
                inner.routes = routes;
                Ok(0)
            }
            MSHV_IOEVENTFD => {
                let mut inner = lock_killable(&this.inner)?;
                let inner = &mut *inner;
                set_ioeventfd(&mut inner.pages, this.id, &mut inner.ioeventfds, arg)
            }
            MSHV_IRQFD => {
                let mut inner = lock_killable(&this.inner)?;
                let inner = &mut *inner;
                set_irqfd(this.id, &mut inner.irqfds, &inner.routes, arg)
            }
            MSHV_SET_GUEST_MEMORY => {
                let mut inner = lock_killable(&this.inner)?;
                let inner = &mut *inner;
                set_guest_memory(&mut inner.pages, this.id, &mut inner.regions, arg)
            }
            MSHV_ROOT_HVCALL => this.hvcall(Caller::Partition(this.id), arg),
            _ => Err(ENOTTY),
        }
    }
}

impl Partition {
    /// Takes a guest's fault on guest frame `gfn` (access type `access`: 0 read, 1 write, 2
    /// execute), which the hypervisor reported with a GPA intercept: for a movable region that
    /// allows the access, its pages there are faulted in and mapped. Whether it was handled
    /// (the VP may run on) or is for the VMM; `EINTR` if a signal came while waiting behind
    /// another of the partition's ioctls (the VP, still stopped on the fault, takes it again on
    /// the next run).
    pub(super) fn handle_gpa_fault(&self, gfn: u64, access: u8) -> Result<bool> {
        let inner = lock_interruptible(&self.inner)?;
        let region = inner
            .regions
            .iter()
            .find(|r| r.contains(gfn))
            .and_then(|r| r.movable_for(access));
        drop(inner);
        Ok(region.is_some_and(|m| m.fault(gfn)))
    }
}

#[pinned_drop]
impl PinnedDrop for Partition {
    fn drop(self: Pin<&mut Self>) {
        let id = self.id;
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        if inner.initialized {
            for vp in inner.vps.iter() {
                for type_ in [vp_state_page::REGISTERS, vp_state_page::INTERCEPT_MESSAGE] {
                    let _ = calls::unmap_vp_state_page(&mut inner.pages, id, vp.index, type_);
                }
            }
            // Finalising unmaps all guest memory too; if it fails, the hypervisor may still map
            // any of it, which is then never given back to the kernel.
            match calls::finalize_partition(id) {
                Ok(()) => inner.regions.iter().for_each(|r| r.forget()),
                Err(e) => {
                    pr_err!("partition {id}: finalize failed: {e:?}; its guest memory is kept\n");
                    core::mem::take(&mut inner.regions)
                        .into_iter()
                        .for_each(Region::leak);
                }
            }
        } else {
            for r in core::mem::take(&mut inner.regions) {
                if r.unmap(&mut inner.pages, id).is_err() {
                    pr_err!("partition {id}: unmapping guest memory failed; it is kept\n");
                    r.leak();
                }
            }
        }
        // The hypervisor no longer uses the guest memory: unpin it.
        inner.regions.clear();
        super::kick::unregister_partition(id);
        inner.vps.clear();
        if let Err(e) = calls::withdraw_all(&mut inner.pages, id) {
            pr_err!("partition {id}: withdrawing its memory failed: {e:?}\n");
        }
        if let Err(e) = calls::delete_partition(id) {
            pr_err!("partition {id}: delete failed: {e:?}\n");
        }
    }
}
