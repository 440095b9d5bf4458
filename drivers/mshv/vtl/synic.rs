// SPDX-License-Identifier: GPL-2.0

//! VTL2's SynIC, as the VTL personality reads it: the message slot of the host's VMBus SINT
//! for VTL2 ([`VTL2_VMBUS_SINT`]) on CPU 0, that SINT's event flags on every CPU, and the
//! SynIC interrupt that says something came; where the hypervisor has no intercept page, each
//! CPU's SINT0 slot too, where a lower VTL's intercepts come ([`take_intercept`]).
//!
//! Where VMBus set a CPU's SynIC up (a paravisor's kernel, as upstream assumes), its pages are
//! the ones read, and its interrupt handler runs after this module's. Where it did not (VMBus
//! is not running, or not for the hypervisor the module chose), the module enables that CPU's
//! SynIC itself: a message page and an event flags page of its own, and SCONTROL. A CPU hotplug
//! state does it on each CPU that is or comes online, and undoes it on each that goes, and on
//! every CPU when the module unloads; the pages are freed only then. Either way VMBus's SINT for
//! VTL2 is masked until user space unmasks it (`MSHV_SINT_PAUSE_MESSAGE_STREAM`), and a CPU
//! that comes online gets the mask the others have; SINT0, where it is used, is unmasked on
//! each CPU online and masked when the CPU goes.

use core::{
    ptr::{
        null_mut,
        NonNull, //
    },
    sync::atomic::{
        AtomicBool,
        AtomicPtr,
        AtomicU64,
        Ordering, //
    },
};

use kernel::{
    cpu::{
        nr_cpu_ids,
        CpuId, //
    },
    ffi::{
        c_int,
        c_uint,
        c_void, //
    },
    prelude::*,
};

use crate::{
    ffi,
    hv::abi::{
        synic::{
            PAGE_ENABLE,
            SCONTROL_ENABLE,
            VTL2_VMBUS_SINT, //
        },
        vsm_capability,
        Message,
        SynicRegister, //
        HV_SYNIC_INTERCEPTION_SINT_INDEX,
    },
    transport::{
        hv,
        synic::{
            MessagePage,
            SLOT_BYTES, //
        },
    },
};

/// One CPU's SynIC pages.
///
/// # Invariants
///
/// `message` and `event` are the kernel addresses of the CPU's message and event flags pages
/// (each a page the SynIC writes), live as long as this is; `own` holds their frames when the
/// module allocated them (freed on drop), `None` when they are VMBus's.
struct Pages {
    message: NonNull<u8>,
    event: NonNull<u8>,
    own: Option<(u64, u64)>,
}

// SAFETY: The pages are the SynIC's, read and written atomically from any CPU.
unsafe impl Send for Pages {}
// SAFETY: As above.
unsafe impl Sync for Pages {}

impl Pages {
    /// CPU `cpu`'s: VMBus's, or two zeroed pages of the module's own.
    fn new(cpu: u32) -> Result<Self> {
        if let Some((message, event)) = hv().vmbus_synic_pages(cpu) {
            // INVARIANT: VMBus's pages, which outlive the module (it uses the symbols VMBus
            // exports, so VMBus stays while it is loaded).
            return Ok(Self {
                message: message.cast(),
                event: event.cast(),
                own: None,
            });
        }
        let alloc = || {
            // SAFETY: Allocates a zeroed page of the kernel's.
            let pfn = unsafe { ffi::mshv_shim_pages_alloc(0) };
            (pfn != 0).then_some(pfn).ok_or(ENOMEM)
        };
        let message = alloc()?;
        let event = alloc().inspect_err(|_| {
            // SAFETY: The page was allocated just above and is not handed out.
            unsafe { ffi::mshv_shim_page_free(message) }
        })?;
        let address = |pfn| {
            // SAFETY: The page is the kernel's, allocated above.
            NonNull::new(unsafe { ffi::mshv_shim_page_address(pfn) }.cast::<u8>())
        };
        match (address(message), address(event)) {
            // INVARIANT: Two pages of the module's own, freed on drop.
            (Some(m), Some(e)) => Ok(Self {
                message: m,
                event: e,
                own: Some((message, event)),
            }),
            _ => {
                // SAFETY: Both pages were allocated above and are not handed out.
                unsafe {
                    ffi::mshv_shim_page_free(message);
                    ffi::mshv_shim_page_free(event);
                }
                Err(ENOMEM)
            }
        }
    }

    /// The message page, while `self` is borrowed.
    fn messages(&self) -> MessagePage<'_> {
        // SAFETY: The page stays mapped while `self` lives (the invariants).
        unsafe { MessagePage::new(self.message) }
    }

    /// Takes the message in SINT `sint`'s slot, if any, and ends it (the SynIC may deliver the
    /// next). On the pages' CPU, which the caller keeps (preemption or interrupts off).
    fn take(&self, sint: Slot) -> Option<Message> {
        self.messages().take(sint as u32)
    }

    /// Word `i` (< 32) of the SINT's event flags.
    fn flags_word(&self, i: usize) -> &AtomicU64 {
        let offset = VTL2_VMBUS_SINT as usize * SLOT_BYTES + (i % (SLOT_BYTES / 8)) * 8;
        // SAFETY: Within the event flags page (the invariants), aligned; the SynIC and this
        // module access it atomically only.
        unsafe { AtomicU64::from_ptr(self.event.as_ptr().add(offset).cast()) }
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        if let Some((message, event)) = self.own {
            // SAFETY: The module's own pages (the invariants): the SynIC no longer uses them,
            // as `Synic`'s drop disabled them first.
            unsafe {
                ffi::mshv_shim_page_free(message);
                ffi::mshv_shim_page_free(event);
            }
        }
    }
}

/// Every possible CPU's SynIC pages (`None` for a number no CPU has).
struct Cpus(KVec<Option<Pages>>);

/// The pages, while the hotplug state may use them.
static CPUS: AtomicPtr<Cpus> = AtomicPtr::new(null_mut());
/// Whether VMBus's SINT for VTL2 is masked, on every CPU, and so on one that comes online.
static MASKED: AtomicBool = AtomicBool::new(true);

/// The SynIC, set up on every CPU online, as long as this lives.
pub(super) struct Synic {
    cpus: KBox<Cpus>,
    /// The CPU hotplug state.
    state: c_int,
}

impl Synic {
    /// Takes VMBus's SynIC pages, or enables the SynIC with pages of the module's own, on each
    /// CPU online now or later, VMBus's SINT for VTL2 masked. One at a time.
    pub(super) fn new() -> Result<Self> {
        let n = nr_cpu_ids();
        let mut cpus = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for cpu in 0..n {
            // SAFETY: Reads the possible mask.
            let possible = unsafe { ffi::mshv_shim_cpu_possible(cpu) };
            cpus.push(possible.then(|| Pages::new(cpu)).transpose()?, GFP_KERNEL)?;
        }
        let cpus = KBox::new(Cpus(cpus), GFP_KERNEL)?;
        MASKED.store(true, Ordering::Release);
        CPUS.store(core::ptr::from_ref(&*cpus).cast_mut(), Ordering::Release);
        // SAFETY: The name is static; the callbacks reach the pages through `CPUS`, which
        // holds them until the state is removed.
        let state = unsafe {
            ffi::mshv_shim_cpuhp_add(c"mshv_vtl/synic:online".as_char_ptr(), online, offline)
        };
        if state < 0 {
            CPUS.store(null_mut(), Ordering::Release);
            return Err(Error::from_errno(state));
        }
        Ok(Self { cpus, state })
    }

    /// CPU `cpu`'s pages.
    fn pages(&self, cpu: usize) -> Option<&Pages> {
        self.cpus.0.get(cpu)?.as_ref()
    }
    /// The calling CPU's VMBus SINT for VTL2's event flags: each flag set is cleared and
    /// passed to `f`. Any context.
    pub(super) fn take_flags(&self, mut f: impl FnMut(usize)) {
        let Some(pages) = self.pages(CpuId::current().as_u32() as usize) else {
            return;
        };
        for i in 0..SLOT_BYTES / 8 {
            let word = pages.flags_word(i);
            if word.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let mut bits = word.swap(0, Ordering::AcqRel);
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                f(i * 64 + bit);
            }
        }
    }

    /// Whether CPU `cpu`'s VMBus SINT for VTL2's slot holds a message.
    pub(super) fn has_message(&self, cpu: usize) -> bool {
        self.pages(cpu)
            .is_some_and(|p| p.messages().has_message(Slot::Vmbus as u32))
    }

    /// Takes the message in the calling CPU's VMBus SINT for VTL2's slot, if any, and ends it.
    /// Interrupts off, as in an IPI's callback.
    pub(super) fn take_message(&self) -> Option<Message> {
        self.pages(CpuId::current().as_u32() as usize)?
            .take(Slot::Vmbus)
    }
}

/// Takes the intercept message in the calling CPU's SINT0 slot, if any, and ends it: where
/// the hypervisor has no intercept page, that is where a lower VTL's intercept comes. The
/// caller keeps the CPU (preemption off); `None` too while there is no [`Synic`].
pub(super) fn take_intercept() -> Option<Message> {
    let cpu = CpuId::current().as_u32();
    // SAFETY: `Synic` publishes the pages while it lives: it is made before `/dev/mshv` and
    // dropped after it, and a VTL file's ioctl, which calls this, holds the module.
    let cpus = unsafe { CPUS.load(Ordering::Acquire).as_ref() }?;
    cpus.0.get(cpu as usize)?.as_ref()?.take(Slot::Intercept)
}

/// Whether the SynIC is set up (a [`Synic`] lives).
pub(super) fn ready() -> bool {
    !CPUS.load(Ordering::Acquire).is_null()
}

/// The message slots the module reads.
#[derive(Clone, Copy)]
#[repr(u32)]
enum Slot {
    /// Intercepts where the hypervisor has no intercept page.
    Intercept = HV_SYNIC_INTERCEPTION_SINT_INDEX,
    /// VMBus's SINT for VTL2.
    Vmbus = VTL2_VMBUS_SINT,
}

/// Whether intercepts come as SINT0 messages: the hypervisor has no intercept page.
fn intercepts_by_sint() -> bool {
    !super::vsm().has(vsm_capability::INTERCEPT_PAGE_AVAILABLE)
}

impl Drop for Synic {
    fn drop(&mut self) {
        // Undone on each CPU online (each that went was undone then): no SynIC uses the
        // module's pages after this.
        // SAFETY: The state is this value's.
        unsafe { ffi::mshv_shim_cpuhp_remove(self.state) };
        CPUS.store(null_mut(), Ordering::Release);
    }
}

/// Masks or unmasks VMBus's SINT for VTL2 on every CPU, and on each that comes online. Process
/// context, one at a time.
pub(super) fn set_masked(masked: bool) {
    MASKED.store(masked, Ordering::Release);
    // SAFETY: `mask_cpu` takes no data.
    unsafe { ffi::mshv_shim_on_each_cpu(mask_cpu, null_mut()) };
}

/// Programs the calling CPU's VMBus SINT for VTL2 as upstream does, masked as [`MASKED`] says.
fn program_sint() {
    // SAFETY: Computes the register's value only.
    let value = unsafe { ffi::mshv_shim_sint(MASKED.load(Ordering::Acquire)) };
    // SAFETY: A SINT's value names no page.
    unsafe { hv().write_synic(SynicRegister::Sint(VTL2_VMBUS_SINT), value) };
}

/// # Safety
///
/// None: an IPI's callback, which takes no data.
unsafe extern "C" fn mask_cpu(_data: *mut c_void) {
    program_sint();
}

/// The pages of CPU `cpu`, while the hotplug state may use them.
fn cpu_pages(cpu: c_uint) -> Option<&'static Pages> {
    // SAFETY: `Synic` publishes the pages only while its hotplug state exists, and removes the
    // state (which waits for its callbacks) before they go.
    let cpus = unsafe { CPUS.load(Ordering::Acquire).as_ref() }?;
    cpus.0.get(cpu as usize)?.as_ref()
}

/// A CPU came online (the hotplug state's callback, run on it): its SynIC set up with the
/// module's own pages, if they are its, and VMBus's SINT for VTL2 programmed.
///
/// # Safety
///
/// None beyond the hotplug state's: runs on CPU `cpu`.
unsafe extern "C" fn online(cpu: c_uint) -> c_int {
    let Some(pages) = cpu_pages(cpu) else {
        return 0;
    };
    if let Some((message, event)) = pages.own {
        // SAFETY: The pages are the module's, held for the SynIC until `offline` has run on
        // this CPU.
        unsafe {
            hv().write_synic(SynicRegister::Simp, (message << 12) | PAGE_ENABLE);
            hv().write_synic(SynicRegister::Siefp, (event << 12) | PAGE_ENABLE);
            hv().write_synic(SynicRegister::Scontrol, SCONTROL_ENABLE);
        }
    }
    program_sint();
    if intercepts_by_sint() {
        // As upstream: SINT0 unmasked, with the SINT's vector, for as long as the CPU is
        // online.
        // SAFETY: Computes the register's value only.
        let value = unsafe { ffi::mshv_shim_sint(false) };
        // SAFETY: A SINT's value names no page.
        unsafe { hv().write_synic(SynicRegister::Sint(HV_SYNIC_INTERCEPTION_SINT_INDEX), value) };
    }
    0
}

/// A CPU goes offline, or the module unloads (run on the CPU): VMBus's SINT for VTL2 masked
/// and, if the module set the SynIC up, disabled.
///
/// # Safety
///
/// As [`online`].
unsafe extern "C" fn offline(cpu: c_uint) -> c_int {
    // SAFETY: Computes the register's value only.
    let masked = unsafe { ffi::mshv_shim_sint(true) };
    // SAFETY: Neither value names a page.
    unsafe { hv().write_synic(SynicRegister::Sint(VTL2_VMBUS_SINT), masked) };
    if intercepts_by_sint() {
        // SAFETY: As above.
        unsafe {
            hv().write_synic(
                SynicRegister::Sint(HV_SYNIC_INTERCEPTION_SINT_INDEX),
                masked,
            )
        };
    }
    if cpu_pages(cpu).is_some_and(|p| p.own.is_some()) {
        // SAFETY: Disabling names no page.
        unsafe {
            hv().write_synic(SynicRegister::Scontrol, 0);
            hv().write_synic(SynicRegister::Simp, 0);
            hv().write_synic(SynicRegister::Siefp, 0);
        }
    }
    0
}
