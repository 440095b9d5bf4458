// SPDX-License-Identifier: GPL-2.0

//! The root's SynIC, per CPU, as upstream's `mshv_synic.c` sets it up: where the hypervisor's
//! messages and doorbells reach the root, and the interrupt that says they came.
//!
//! On each CPU that is or comes online (a CPU hotplug state) the module maps the three pages
//! the hypervisor provides the root, whose frames SIMP, SIEFP and SIRBP hold: the message page,
//! the event flags page (enabled, not read) and the event ring page; on an L1 virtual host,
//! which is given no event ring page, it brings one of its own. Where VMBus runs it owns
//! SCONTROL, SIMP and SIEFP: the module maps the message page VMBus enabled and leaves the
//! three registers as they are; elsewhere it enables them. Then SINT0 (intercepts and the
//! hypervisor's other messages) and the doorbell SINT (`as_intercept`: its ports come as a
//! message on SINT0) are unmasked, with the module's vector. All of it is undone on each CPU
//! that goes offline, and on every CPU when the module unloads.
//!
//! The interrupt ([`isr`]; x86: `hv_setup_mshv_handler()`; arm64: the per-CPU interrupt whose
//! INTID the hypervisor reserves, mapped by ACPI, enabled on each CPU with its SINTs) runs in
//! hard interrupt context on the CPU the message came to. It reads SINT0's slot: a doorbell
//! message has it drain the doorbell SINT's event ring, from that CPU's consumer index; any
//! other message goes to [`messages::on_message`]. Then the slot is freed and, if the
//! hypervisor marked another message pending, the end of message signalled. Unlike upstream, a
//! message the module does not take is freed too: left in the slot, it would stop every later
//! one.
//!
//! When the machine reboots (halts, powers off, or kexecs another kernel), a reboot notifier
//! undoes it all on every CPU first, as upstream's does: the hypervisor must not write pages
//! the next kernel owns, nor interrupt it with a vector it never asked for.
//!
//! The simulated hypervisor provides the same pages and raises the interrupt by an irq_work on
//! the target CPU (see `transport::sim::hosted_synic`); this code is the same for both.

use core::{
    ptr::{
        null_mut,
        NonNull, //
    },
    sync::atomic::{
        AtomicBool,
        AtomicI32,
        AtomicPtr,
        AtomicU8,
        Ordering, //
    },
};

use kernel::{
    cpu::{
        nr_cpu_ids,
        CpuId, //
    },
    error::to_result,
    ffi::{
        c_int,
        c_uint,
        c_void, //
    },
    prelude::*,
};

use super::messages;
use crate::{
    calls,
    cpu::OnReboot,
    env::{
        HvEnvironment,
        PartitionType, //
    },
    ffi,
    hv::abi::{
        message_type,
        synic::{
            PAGE_ENABLE,
            SCONTROL_ENABLE,
            SINT_AS_INTERCEPT,
            SINT_MASKED, //
        },
        EventRing,
        SynicRegister,
        HV_SYNIC_DOORBELL_SINT_INDEX,
        HV_SYNIC_INTERCEPTION_SINT_INDEX, //
    },
    transport::{
        hv,
        synic::{
            take_port,
            MessagePage,
            Take,
            SLOT_BYTES, //
        },
    },
};

/// A page frame's address bits in SIMP, SIEFP and SIRBP.
const PAGE_FRAME: u64 = !0xfff;

/// One CPU's SynIC pages, while the CPU is online.
///
/// # Invariants
///
/// `message_map` and `ring` are mappings of the CPU's message page and event ring page, made
/// for this value and undone on drop (`ring` is the page itself when `own_ring` holds its
/// frame: the module's own, freed on drop). `tails`, when not null, is the Hyper-V core's array
/// of the CPU's consumer indices, one per SINT, which lives while the CPU is online.
struct Pages {
    message_map: NonNull<c_void>,
    ring: NonNull<c_void>,
    own_ring: Option<u64>,
    /// Whether VMBus owned SCONTROL, SIMP and SIEFP when the CPU came online: if not, the
    /// module enabled them, and disables them.
    vmbus: bool,
    tails: Option<NonNull<u8>>,
    /// The doorbell ring's consumer index where the Hyper-V core keeps none.
    own_tail: AtomicU8,
}

impl Pages {
    /// Maps the calling CPU's pages, enabling those VMBus does not own.
    fn map(vmbus: bool, l1vh: bool) -> Result<KBox<Self>> {
        let mut simp = hv().read_synic(SynicRegister::Simp);
        let mut siefp = hv().read_synic(SynicRegister::Siefp);
        if !vmbus {
            simp |= PAGE_ENABLE;
            siefp |= PAGE_ENABLE;
            // SAFETY: The hypervisor provided both pages: they are its, named already.
            unsafe {
                hv().write_synic(SynicRegister::Simp, simp);
                hv().write_synic(SynicRegister::Siefp, siefp);
            }
        }
        // SAFETY: Maps the page the hypervisor provided.
        let message_map = NonNull::new(unsafe { ffi::mshv_shim_memremap_page(simp >> 12) })
            .ok_or(EFAULT)
            .inspect_err(|_| Self::disable(vmbus))?;
        let (ring, own_ring) = Self::map_ring(l1vh).inspect_err(|_| {
            // SAFETY: Mapped above, and used no more.
            unsafe { ffi::mshv_shim_memunmap_page(message_map.as_ptr()) };
            Self::disable(vmbus);
        })?;
        // SAFETY: Reads the Hyper-V core's per-CPU pointer.
        let tails = NonNull::new(unsafe { ffi::mshv_shim_eventring_tails() });
        // INVARIANT: Both mappings were made for this value, which undoes them; the indices are
        // the Hyper-V core's for this CPU, which is online.
        let pages = Self {
            message_map,
            ring,
            own_ring,
            vmbus,
            tails,
            own_tail: AtomicU8::new(0),
        };
        // On failure the value is dropped, and with it the mappings and the ring.
        KBox::new(pages, GFP_KERNEL).map_err(|_| {
            Self::disable(vmbus);
            ENOMEM
        })
    }

    /// The event ring page: the hypervisor's, mapped; on an L1 virtual host one of the
    /// module's own. Enabled.
    fn map_ring(l1vh: bool) -> Result<(NonNull<c_void>, Option<u64>)> {
        let sirbp = hv().read_synic(SynicRegister::Sirbp);
        let (ring, own, frame) = if l1vh {
            // SAFETY: Allocates a zeroed page of the kernel's.
            let pfn = unsafe { ffi::mshv_shim_pages_alloc(0) };
            if pfn == 0 {
                return Err(ENOMEM);
            }
            // SAFETY: The page was just allocated.
            let page = unsafe { ffi::mshv_shim_page_address(pfn) };
            (NonNull::new(page).ok_or(ENOMEM)?, Some(pfn), pfn << 12)
        } else {
            // SAFETY: Maps the page the hypervisor provided.
            let page =
                NonNull::new(unsafe { ffi::mshv_shim_memremap_page(sirbp >> 12) }).ok_or(EFAULT)?;
            (page, None, sirbp & PAGE_FRAME)
        };
        // SAFETY: The page is the hypervisor's, or the module's own, held until `Drop` has
        // disabled the register.
        unsafe { hv().write_synic(SynicRegister::Sirbp, frame | (sirbp & 0xffe) | PAGE_ENABLE) };
        Ok((ring, own))
    }

    /// Disables SIMP and SIEFP where the module enabled them (VMBus did not own them).
    fn disable(vmbus: bool) {
        if vmbus {
            return;
        }
        // SAFETY: Disabling names no page.
        unsafe {
            let siefp = hv().read_synic(SynicRegister::Siefp);
            hv().write_synic(SynicRegister::Siefp, siefp & !PAGE_ENABLE);
            let simp = hv().read_synic(SynicRegister::Simp);
            hv().write_synic(SynicRegister::Simp, simp & !PAGE_ENABLE);
        }
    }

    /// The message page, while `self` is borrowed.
    fn messages(&self) -> MessagePage<'_> {
        // SAFETY: Mapped while `self` lives (the invariants).
        unsafe { MessagePage::new(self.message_map.cast()) }
    }

    /// The doorbell SINT's event ring.
    fn doorbell_ring(&self) -> *mut EventRing {
        let offset = HV_SYNIC_DOORBELL_SINT_INDEX as usize * SLOT_BYTES;
        // SAFETY: The ring is within the mapped page (the invariants).
        unsafe { self.ring.as_ptr().cast::<u8>().add(offset) }.cast()
    }

    /// The doorbell ring's consumer index.
    fn tail(&self) -> &AtomicU8 {
        match self.tails {
            // SAFETY: The Hyper-V core's array has an index per SINT and lives while the CPU is
            // online (the invariants), as `self` does; only this CPU's interrupt uses it.
            Some(tails) => unsafe {
                AtomicU8::from_ptr(tails.as_ptr().add(HV_SYNIC_DOORBELL_SINT_INDEX as usize))
            },
            None => &self.own_tail,
        }
    }

    /// Signals every port queued on the doorbell SINT's ring. On the pages' CPU, in its
    /// interrupt.
    fn drain_doorbells(&self) {
        let mut tail = self.tail().load(Ordering::Relaxed);
        loop {
            // SAFETY: The ring is the CPU's, mapped (the invariants); this CPU's interrupt is
            // its only consumer, and `tail` its index.
            match unsafe { take_port(self.doorbell_ring(), &mut tail) } {
                Take::Port(port) => messages::on_doorbell(port),
                Take::Empty => break,
                Take::NotifyEmpty => {
                    // Taken again either way: the ring's full flag is cleared, so the next
                    // look at an empty ring unmasks it. Ports left out wait for the next call.
                    if let Err(e) = calls::notify_port_ring_empty(HV_SYNIC_DOORBELL_SINT_INDEX) {
                        kernel::pr_warn_once!("HVCALL_NOTIFY_PORT_RING_EMPTY: {:?}\n", e);
                    }
                }
            }
        }
        self.tail().store(tail, Ordering::Relaxed);
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: The registers are the calling CPU's (the CPU these pages are): disabling
        // names no page, and the hypervisor writes the ring no more after it.
        unsafe {
            let sirbp = hv().read_synic(SynicRegister::Sirbp) & !PAGE_ENABLE;
            let sirbp = if self.own_ring.is_some() { 0 } else { sirbp };
            hv().write_synic(SynicRegister::Sirbp, sirbp);
        }
        match self.own_ring {
            // SAFETY: The module's own page (the invariants), no longer the SynIC's.
            Some(pfn) => unsafe { ffi::mshv_shim_page_free(pfn) },
            // SAFETY: Mapped by `map_ring` for this value.
            None => unsafe { ffi::mshv_shim_memunmap_page(self.ring.as_ptr()) },
        }
        // The message page is the hypervisor's (or VMBus's): unmapped here, it is disabled (if
        // the module enabled it) by `disable`, after.
        // SAFETY: Mapped by `map` for this value; read no more (the SINTs were masked, and the
        // pointer to these pages withdrawn, on this CPU).
        unsafe { ffi::mshv_shim_memunmap_page(self.message_map.as_ptr()) };
    }
}

/// Each possible CPU's pages while it is online (null otherwise), read by its interrupt.
struct Cpus(KVec<AtomicPtr<Pages>>);

/// The per-CPU pages while the hotplug state exists.
static CPUS: AtomicPtr<Cpus> = AtomicPtr::new(null_mut());
/// Whether the root is an L1 virtual host. Set before the hotplug state is added.
static L1VH: AtomicBool = AtomicBool::new(false);

/// The CPU hotplug state while it exists (0 before it is added and once it is removed).
static STATE: AtomicI32 = AtomicI32::new(0);

/// The SynIC, set up on every CPU online, and its interrupt, as long as this lives (or until
/// the machine reboots).
pub(super) struct Synic {
    /// What `CPUS` points to.
    _cpus: KBox<Cpus>,
    /// Undoes the SynIC at reboot.
    reboot: Option<OnReboot>,
}

impl Synic {
    /// Installs the interrupt handler, then sets the SynIC up on each CPU online now or
    /// later. Once, at load.
    pub(super) fn new() -> Result<Self> {
        let mut cpus = KVec::with_capacity(nr_cpu_ids() as usize, GFP_KERNEL)?;
        for _ in 0..nr_cpu_ids() {
            cpus.push(AtomicPtr::new(null_mut()), GFP_KERNEL)?;
        }
        let cpus = KBox::new(Cpus(cpus), GFP_KERNEL)?;
        L1VH.store(
            HvEnvironment::probe().partition == PartitionType::L1vh,
            Ordering::Relaxed,
        );
        CPUS.store(core::ptr::from_ref(&*cpus).cast_mut(), Ordering::Release);
        if let Err(e) = hv().set_synic_handler(Some(isr)) {
            CPUS.store(null_mut(), Ordering::Release);
            return Err(e);
        }
        // SAFETY: The name is static; the callbacks reach the pages through `CPUS`, which
        // holds them until the state is removed.
        let state = unsafe {
            ffi::mshv_shim_cpuhp_add(c"mshv_rs/synic:online".as_char_ptr(), online, offline)
        };
        if let Err(e) = to_result(state) {
            let _ = hv().set_synic_handler(None);
            CPUS.store(null_mut(), Ordering::Release);
            return Err(e);
        }
        STATE.store(state, Ordering::Release);
        let mut synic = Self {
            _cpus: cpus,
            reboot: None,
        };
        // Upstream's priority: the default, among the other drivers'.
        // SAFETY: The module holds the SynIC until it unloads, and drops it then.
        synic.reboot = Some(unsafe { OnReboot::new(on_reboot, 0) }?);
        Ok(synic)
    }
}

impl Drop for Synic {
    fn drop(&mut self) {
        // A run of the notifier in progress ends first.
        drop(self.reboot.take());
        remove_state();
        // Every CPU's pointer is null now; a run of the handler in progress ends before this
        // returns.
        let _ = hv().set_synic_handler(None);
        CPUS.store(null_mut(), Ordering::Release);
    }
}

/// Undoes the SynIC on each CPU online (each that went was undone then), once.
fn remove_state() {
    let state = STATE.swap(0, Ordering::AcqRel);
    if state > 0 {
        // SAFETY: The state was added by `Synic::new`, and the swap gave it to this call alone.
        unsafe { ffi::mshv_shim_cpuhp_remove(state) };
    }
}

/// The machine reboots: the SynIC undone on every CPU. The interrupt handler stays until
/// unload (one that finds no pages on its CPU takes nothing).
extern "C" fn on_reboot() {
    remove_state();
}

/// CPU `cpu`'s slot for its pages, while the hotplug state may use it.
fn cpu_slot(cpu: u32) -> Option<&'static AtomicPtr<Pages>> {
    // SAFETY: `Synic` publishes `CPUS` before it installs the handler and adds the hotplug
    // state, and withdraws it after it removed both (which waits for their runs).
    let cpus = unsafe { CPUS.load(Ordering::Acquire).as_ref() }?;
    cpus.0.get(cpu as usize)
}

/// The value of a SINT the module takes, with its vector, unmasked.
fn sint_value(as_intercept: bool) -> u64 {
    // SAFETY: Computes the register's value only.
    let value = unsafe { ffi::mshv_shim_sint(false) };
    if as_intercept {
        value | SINT_AS_INTERCEPT
    } else {
        value
    }
}

/// A CPU came online (the hotplug state's callback, run on it): its pages mapped, its SINTs
/// unmasked, the SynIC enabled where VMBus does not own it.
///
/// # Safety
///
/// None beyond the hotplug state's: runs on CPU `cpu`.
unsafe extern "C" fn online(cpu: c_uint) -> c_int {
    let Some(slot) = cpu_slot(cpu) else {
        return 0;
    };
    // As upstream, asked at each CPU's online: VMBus may have come since the last.
    let vmbus = hv().vmbus_active();
    let pages = match Pages::map(vmbus, L1VH.load(Ordering::Relaxed)) {
        Ok(pages) => pages,
        Err(e) => return e.to_errno(),
    };
    // Published before the SINTs can interrupt.
    slot.store(KBox::into_raw(pages), Ordering::Release);
    // SAFETY: The hotplug callback is bound to this CPU, whose interrupt it enables; the
    // handler the interrupt runs was installed before the hotplug state.
    unsafe { ffi::mshv_shim_synic_irq_percpu(true) };
    // SAFETY: A SINT's value names no page, nor does SCONTROL's.
    unsafe {
        hv().write_synic(
            SynicRegister::Sint(HV_SYNIC_INTERCEPTION_SINT_INDEX),
            sint_value(false),
        );
        hv().write_synic(
            SynicRegister::Sint(HV_SYNIC_DOORBELL_SINT_INDEX),
            sint_value(true),
        );
        if !vmbus {
            let scontrol = hv().read_synic(SynicRegister::Scontrol);
            hv().write_synic(SynicRegister::Scontrol, scontrol | SCONTROL_ENABLE);
        }
    }
    0
}

/// A CPU goes offline, or the module unloads (run on the CPU): its SINTs masked, its pages
/// unmapped and, where the module enabled them, disabled, as SCONTROL.
///
/// # Safety
///
/// As [`online`].
unsafe extern "C" fn offline(cpu: c_uint) -> c_int {
    let Some(slot) = cpu_slot(cpu) else {
        return 0;
    };
    for sint in [
        HV_SYNIC_INTERCEPTION_SINT_INDEX,
        HV_SYNIC_DOORBELL_SINT_INDEX,
    ] {
        let value = hv().read_synic(SynicRegister::Sint(sint));
        // SAFETY: A SINT's value names no page.
        unsafe { hv().write_synic(SynicRegister::Sint(sint), value | SINT_MASKED) };
    }
    // SAFETY: The hotplug callback is bound to this CPU, whose interrupt it disables.
    unsafe { ffi::mshv_shim_synic_irq_percpu(false) };
    // This CPU's interrupt, the pages' only other user, cannot be running: it would have
    // interrupted this callback and ended first.
    let pages = slot.swap(null_mut(), Ordering::AcqRel);
    if pages.is_null() {
        // `online` failed, and undid what it did.
        return 0;
    }
    // SAFETY: `online` made it from a `KBox`, and nothing else holds it now.
    let pages = unsafe { KBox::from_raw(pages) };
    let vmbus = pages.vmbus;
    drop(pages);
    Pages::disable(vmbus);
    if !vmbus {
        let scontrol = hv().read_synic(SynicRegister::Scontrol);
        // SAFETY: Disabling names no page.
        unsafe { hv().write_synic(SynicRegister::Scontrol, scontrol & !SCONTROL_ENABLE) };
    }
    0
}

/// The SynIC interrupt, in hard interrupt context: takes the message in this CPU's SINT0 slot.
extern "C" fn isr() {
    let Some(slot) = cpu_slot(CpuId::current().as_u32()) else {
        return;
    };
    // SAFETY: Set by `online` on this CPU and cleared by `offline` on it, which this interrupt
    // does not overlap; freed only after it was cleared.
    let Some(pages) = (unsafe { slot.load(Ordering::Acquire).as_ref() }) else {
        return;
    };
    let sint = HV_SYNIC_INTERCEPTION_SINT_INDEX;
    let messages = pages.messages();
    // Not a message of the root's: another interrupt on the same vector (VMBus's).
    let Some(message) = messages.peek(sint) else {
        return;
    };
    // `struct hv_notification_message_payload`: the SINT, in the low half of the first word.
    let doorbell = message.message_type == message_type::SYNIC_SINT_INTERCEPT
        && message.payload[0] as u32 == HV_SYNIC_DOORBELL_SINT_INDEX;
    if doorbell {
        pages.drain_doorbells();
    } else {
        messages::on_message(&message);
    }
    messages.end(sint);
}
