// SPDX-License-Identifier: GPL-2.0

//! VTL2's SynIC, as the VTL personality reads it: the message slot of the host's VMBus SINT
//! for VTL2 ([`VTL2_VMBUS_SINT`]) on CPU 0, that SINT's event flags on every CPU, and the
//! SynIC interrupt that says something came.
//!
//! Where VMBus set the SynIC up (a paravisor's kernel, as upstream assumes), its pages are the
//! ones read, and its interrupt handler runs after this module's. Where it did not (VMBus is
//! not running), the module enables the SynIC itself when it loads, on every online CPU: a
//! message page and an event flags page of its own, and SCONTROL; it disables them and takes
//! the pages back when it unloads. Either way VMBus's SINT for VTL2 is masked until user space
//! unmasks it (`MSHV_SINT_PAUSE_MESSAGE_STREAM`).

use core::{
    ffi::c_void,
    ptr::NonNull,
    sync::atomic::{
        AtomicU32,
        AtomicU64,
        AtomicU8,
        Ordering, //
    },
};

use kernel::{
    cpu::{
        nr_cpu_ids,
        CpuId, //
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
        Message,
        SynicRegister, //
    },
    transport::hv,
};

/// Bytes of a message slot, and of a SINT's event flags.
const SLOT_BYTES: usize = 256;

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
        let (mut message, mut event) = (core::ptr::null_mut(), core::ptr::null_mut());
        // SAFETY: The shim writes the two pointers, its arguments' locals, only on success.
        if unsafe { ffi::mshv_shim_vmbus_synic_pages(cpu, &mut message, &mut event) } {
            if let (Some(message), Some(event)) =
                (NonNull::new(message.cast()), NonNull::new(event.cast()))
            {
                // INVARIANT: VMBus's pages, which outlive the module (it uses the symbols
                // VMBus exports, so VMBus stays while it is loaded).
                return Ok(Self {
                    message,
                    event,
                    own: None,
                });
            }
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

    /// The SINT's message slot's type (an aligned `u32` of the page).
    fn slot_type(&self) -> &AtomicU32 {
        // SAFETY: The slot is within the message page (the invariants), at a `u32`'s
        // alignment; the SynIC and this module access it atomically only.
        unsafe { AtomicU32::from_ptr(self.slot().cast()) }
    }

    /// The SINT's message slot.
    fn slot(&self) -> *mut u8 {
        // SAFETY: Slot `VTL2_VMBUS_SINT` (< 16) is within the page.
        unsafe { self.message.as_ptr().add(VTL2_VMBUS_SINT as usize * SLOT_BYTES) }
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

/// Every possible CPU's SynIC pages, as long as this lives.
pub(super) struct Synic {
    cpus: KVec<Pages>,
    /// Whether the module set the SynIC up (its own pages), to undo at drop.
    own: bool,
}

impl Synic {
    /// Takes VMBus's SynIC pages, or enables the SynIC with pages of the module's own on every
    /// online CPU, VMBus's SINT for VTL2 masked.
    pub(super) fn new() -> Result<Self> {
        let n = nr_cpu_ids();
        let mut cpus = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for cpu in 0..n {
            cpus.push(Pages::new(cpu)?, GFP_KERNEL)?;
        }
        let own = cpus.first().is_some_and(|p| p.own.is_some());
        let synic = Self { cpus, own };
        // SAFETY: `enable` reads `synic`, which outlives the call (it waits for every CPU).
        unsafe { ffi::mshv_shim_on_each_cpu(enable, core::ptr::from_ref(&synic).cast_mut().cast()) };
        Ok(synic)
    }

    /// CPU `cpu`'s pages.
    fn pages(&self, cpu: usize) -> Option<&Pages> {
        self.cpus.get(cpu)
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

    /// Whether CPU `cpu`'s slot holds a message.
    pub(super) fn has_message(&self, cpu: usize) -> bool {
        self.pages(cpu)
            .is_some_and(|p| p.slot_type().load(Ordering::Acquire) != 0)
    }

    /// Takes the message in the calling CPU's slot, if any, and ends it (the SynIC may deliver
    /// the next). Interrupts off, as in an IPI's callback.
    pub(super) fn take_message(&self) -> Option<Message> {
        let pages = self.pages(CpuId::current().as_u32() as usize)?;
        let kind = pages.slot_type().load(Ordering::Acquire);
        if kind == 0 {
            return None;
        }
        // SAFETY: The slot is a full message the SynIC wrote (its type last) and leaves alone
        // until its type is cleared; `Message` is plain bytes.
        let message = unsafe { core::ptr::read_unaligned(pages.slot().cast::<Message>()) };
        // The end of message, as the TLFS has it: the slot freed, then, if another message is
        // pending for it, EOM.
        pages.slot_type().store(0, Ordering::SeqCst);
        // SAFETY: The slot's flags byte (`message_flags`, offset 5), bit 0 `msg_pending`.
        let flags = unsafe { AtomicU8::from_ptr(pages.slot().add(5)) };
        if flags.load(Ordering::SeqCst) & 1 != 0 {
            // SAFETY: EOM names no page.
            unsafe { hv().write_synic(SynicRegister::Eom, 0) };
        }
        Some(message)
    }
}

impl Drop for Synic {
    fn drop(&mut self) {
        // SAFETY: As in `new`.
        unsafe { ffi::mshv_shim_on_each_cpu(disable, core::ptr::from_mut(self).cast()) };
    }
}

/// Masks or unmasks the calling CPU's VMBus SINT for VTL2, as upstream programs it.
pub(super) fn set_masked(masked: bool) {
    // SAFETY: Computes the register's value only.
    let value = unsafe { ffi::mshv_shim_vtl_sint(masked) };
    // SAFETY: A SINT's value names no page.
    unsafe { hv().write_synic(SynicRegister::Sint(VTL2_VMBUS_SINT), value) };
}

/// Sets the calling CPU's SynIC up with the module's own pages, if they are.
///
/// # Safety
///
/// `data` is a live `Synic`.
unsafe extern "C" fn enable(data: *mut c_void) {
    // SAFETY: The caller's promise.
    let synic = unsafe { &*data.cast::<Synic>() };
    let Some(pages) = synic.pages(CpuId::current().as_u32() as usize) else {
        return;
    };
    if let Some((message, event)) = pages.own {
        // SAFETY: The pages are the module's, held for the SynIC until `disable`.
        unsafe {
            hv().write_synic(SynicRegister::Simp, (message << 12) | PAGE_ENABLE);
            hv().write_synic(SynicRegister::Siefp, (event << 12) | PAGE_ENABLE);
            hv().write_synic(SynicRegister::Scontrol, SCONTROL_ENABLE);
        }
    }
    set_masked(true);
}

/// Masks the calling CPU's VMBus SINT for VTL2 and, if the module set its SynIC up, disables
/// it.
///
/// # Safety
///
/// As [`enable`].
unsafe extern "C" fn disable(data: *mut c_void) {
    // SAFETY: The caller's promise.
    let synic = unsafe { &*data.cast::<Synic>() };
    set_masked(true);
    if synic.own {
        // SAFETY: Disabling names no page.
        unsafe {
            hv().write_synic(SynicRegister::Scontrol, 0);
            hv().write_synic(SynicRegister::Simp, 0);
            hv().write_synic(SynicRegister::Siefp, 0);
        }
    }
}
