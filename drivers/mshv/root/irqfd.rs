// SPDX-License-Identifier: GPL-2.0

//! `MSHV_IRQFD`: an eventfd that, when signalled, asserts the interrupt its GSI's MSI route
//! describes.
//!
//! The watch on the eventfd is the C shim's (a wait-queue entry whose wake-up, in the waker's
//! context, queues a work item); the assertion runs in that work item, in process context, so
//! it may take locks and issue the hypercall like any other.
//!
//! With a resample eventfd (level-triggered routes), the irqfd is also a resampler: when the
//! guest ends the interrupt, the hypervisor sends the root an APIC EOI message, and [`on_eoi`]
//! signals the resample eventfd of every resampler of that partition whose route has the
//! vector the guest ended, so the device model samples its line again (for an EXTINT, after
//! withdrawing the pending one).

use core::{
    ffi::c_void,
    ptr::NonNull,
    sync::atomic::{
        AtomicBool,
        Ordering, //
    },
};

use kernel::{
    error::from_err_ptr,
    new_mutex, new_spinlock_irq,
    prelude::*,
    sync::{
        global_lock,
        Arc,
        ArcBorrow,
        Mutex,
        SpinLockIrq, //
    },
    types::ForeignOwnable,
};

use super::irq::{
    Route,
    Routes, //
};
use crate::{
    calls,
    eventfd::Eventfd,
    ffi,
    hv::abi::{
        Message,
        HV_X64_INTERRUPT_TYPE_EXTINT, //
    },
    transport::HvPages,
    uapi::{
        self,
        UserIrqfd, //
    },
};

/// `MSHV_IRQFD_BIT_*`.
const DEASSIGN: u32 = 1 << 0;
const RESAMPLE: u32 = 1 << 1;

/// What the work item needs: the partition, the route (kept up to date with the routing
/// table) and pages for the hypercall; and the resample eventfd, if any.
#[pin_data]
struct Target {
    partition_id: u64,
    /// The eventfd was closed: the irqfd asserts nothing more and goes at the partition's
    /// next `MSHV_IRQFD` or `MSHV_SET_MSI_ROUTING` (as upstream's, which goes on `EPOLLHUP`).
    closed: AtomicBool,
    #[pin]
    route: SpinLockIrq<Option<Route>>,
    #[pin]
    pages: Mutex<HvPages>,
    resample: Option<Eventfd>,
}

global_lock! {
    // SAFETY: `init` initialises the lock before the message handler is installed, once.
    unsafe(uninit) static RESAMPLERS: SpinLockIrq<KVec<Arc<Target>>> = KVec::new();
}

/// Makes the resampler list usable. Must run once, before any message can arrive.
pub(super) fn init() {
    // SAFETY: Called once, from `Messages::start`, before any other use of `RESAMPLERS`.
    unsafe { RESAMPLERS.init() };
}

/// Frees the resampler list (the module is going away: no irqfd is left).
pub(super) fn clear() {
    *RESAMPLERS.lock() = KVec::new();
}

/// Takes an APIC EOI message (possibly in interrupt context): resamples the irqfds whose
/// level-triggered route has the vector the guest ended.
///
/// Upstream compares the vector with the irqfd's GSI, which only works where the two are
/// equal; comparing it with the route's vector covers that case and every other.
pub(super) fn on_eoi(message: &Message) {
    let partition_id = message.sender;
    // `struct hv_x64_apic_eoi_message`: the VP index, then the vector.
    let vector = (message.payload[0] >> 32) as u32;
    // Under the lock, allocating nothing: a fast hypercall and an eventfd signal are both
    // fine in interrupt context.
    for t in RESAMPLERS.lock().iter() {
        let route = *t.route.lock();
        let Some(r) = route.filter(|r| {
            t.partition_id == partition_id && r.level_triggered() && r.vector == vector
        }) else {
            continue;
        };
        if cfg!(CONFIG_X86_64) && r.interrupt_type() == HV_X64_INTERRUPT_TYPE_EXTINT {
            // Nobody to report a failure to; the resample still tells the device model.
            let _ = calls::clear_virtual_interrupt(t.partition_id);
        }
        if let Some(resample) = &t.resample {
            resample.signal();
        }
    }
}

/// An assigned irqfd. Dropping it stops the watch and waits for an assertion in flight.
pub(super) struct Irqfd {
    /// The shim's watch.
    watch: NonNull<c_void>,
    /// The eventfd (an identity).
    eventfd: *const c_void,
    gsi: u32,
    target: Arc<Target>,
    /// The watch's reference to `target` (`Arc::into_foreign`).
    data: *mut c_void,
}

// SAFETY: The watch and the eventfd identity are only passed back to the shim, from any thread.
unsafe impl Send for Irqfd {}

/// The work item: asserts the route's interrupt, if the GSI has a route; once the eventfd is
/// `closed`, stops the irqfd.
///
/// # Safety
///
/// `data` is the `Arc<Target>` a watch was attached with, alive until after the detach.
unsafe extern "C" fn signal(data: *mut c_void, closed: bool) {
    // SAFETY: As the function's contract says.
    let target: ArcBorrow<'_, Target> = unsafe { Arc::<Target>::borrow(data) };
    if closed {
        if !target.closed.swap(true, Ordering::Relaxed) && target.resample.is_some() {
            RESAMPLERS.lock().retain(|t| !core::ptr::eq(&**t, &*target));
        }
        return;
    }
    let route = *target.route.lock();
    if let Some(r) = route {
        let mut pages = target.pages.lock();
        // Nobody to report a failure to: the guest sees no interrupt, as on upstream's path.
        let _ = calls::assert_virtual_interrupt(
            &mut pages,
            target.partition_id,
            r.control,
            u64::from(r.apic_id),
            r.vector,
        );
    }
}

impl Drop for Irqfd {
    fn drop(&mut self) {
        if self.target.resample.is_some() {
            RESAMPLERS.lock().retain(|t| !Arc::ptr_eq(t, &self.target));
        }
        // SAFETY: The watch is this object's; after the call no `signal` runs or will run.
        unsafe { ffi::mshv_shim_irqfd_detach(self.watch.as_ptr()) };
        // SAFETY: The reference `set_irqfd` handed to the watch, which is gone.
        drop(unsafe { Arc::<Target>::from_foreign(self.data) });
    }
}

fn route(routes: &Routes, gsi: u32) -> Option<Route> {
    routes.get(gsi as usize).copied().flatten()
}

/// Handles `MSHV_IRQFD` for partition `partition_id`, whose irqfds and routes these are.
pub(super) fn set_irqfd(
    partition_id: u64,
    irqfds: &mut KVec<Irqfd>,
    routes: &Routes,
    arg: usize,
) -> Result<isize> {
    let args: UserIrqfd = uapi::read_user(arg)?;
    prune(irqfds);
    if args.flags & !(DEASSIGN | RESAMPLE) != 0 {
        return Err(EINVAL);
    }
    let eventfd = Eventfd::get(args.fd)?;
    if args.flags & DEASSIGN != 0 {
        // Every irqfd of this eventfd and GSI goes; none is not an error.
        irqfds.retain(|i| !(i.eventfd == eventfd.as_raw() && i.gsi == args.gsi));
        return Ok(0);
    }
    let resample = if args.flags & RESAMPLE != 0 {
        Some(Eventfd::get(args.resamplefd)?)
    } else {
        None
    };
    if resample.is_some() {
        // Resampling is for level-triggered routes, which must exist first (x86).
        if cfg!(CONFIG_X86_64) && !route(routes, args.gsi).is_some_and(|r| r.level_triggered()) {
            return Err(EINVAL);
        }
    }
    if irqfds.iter().any(|i| i.eventfd == eventfd.as_raw()) {
        return Err(EBUSY);
    }
    irqfds.reserve(1, GFP_KERNEL)?;
    let pages = HvPages::new()?;
    let target = Arc::pin_init(
        pin_init!(Target {
            partition_id,
            closed: AtomicBool::new(false),
            route <- new_spinlock_irq!(route(routes, args.gsi)),
            pages <- new_mutex!(pages),
            resample,
        }),
        GFP_KERNEL,
    )?;
    if target.resample.is_some() {
        RESAMPLERS.lock().push(target.clone(), GFP_ATOMIC)?;
    }
    let data = target.clone().into_foreign();
    // SAFETY: `signal` takes `data` as its contract says: the reference lives until `Drop`
    // detaches the watch.
    let watch = unsafe { ffi::mshv_shim_irqfd_attach(args.fd, signal, data) };
    let watch = match from_err_ptr(watch) {
        Ok(w) => w,
        Err(e) => {
            RESAMPLERS.lock().retain(|t| !Arc::ptr_eq(t, &target));
            // SAFETY: No watch holds the reference.
            drop(unsafe { Arc::<Target>::from_foreign(data) });
            return Err(e);
        }
    };
    // SAFETY: `from_err_ptr` let a valid pointer through, never null.
    let watch = unsafe { NonNull::new_unchecked(watch) };
    irqfds.push(
        Irqfd {
            watch,
            eventfd: eventfd.as_raw(),
            gsi: args.gsi,
            target,
            data,
        },
        GFP_KERNEL,
    )?;
    Ok(0)
}

/// Drops the irqfds whose eventfd was closed.
pub(super) fn prune(irqfds: &mut KVec<Irqfd>) {
    irqfds.retain(|i| !i.target.closed.load(Ordering::Relaxed));
}

/// Points every irqfd at its GSI's route in a new routing table.
pub(super) fn update_routes(irqfds: &KVec<Irqfd>, routes: &Routes) {
    for i in irqfds.iter() {
        *i.target.route.lock() = route(routes, i.gsi);
    }
}
