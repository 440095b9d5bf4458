// SPDX-License-Identifier: GPL-2.0

//! `/dev/mshv_sint`: the host's VMBus for VTL2 user space, as upstream relays it.
//!
//! The host sends VTL2 messages on VMBus's SINT for VTL2 of CPU 0 and signals its event flags
//! on any CPU ([`super::synic`]). A read takes the message waiting on CPU 0 (256 bytes, a
//! `struct hv_message`), or waits for one; an event flag with an eventfd set signals it; the
//! stream starts paused (the SINT masked, reads at end of file) until
//! `MSHV_SINT_PAUSE_MESSAGE_STREAM` unmasks it. The other way, `MSHV_SINT_POST_MESSAGE` and
//! `MSHV_SINT_SIGNAL_EVENT` reach the host's connections. The state is the device's, shared by
//! every open, as upstream's.
//!
//! The kernel crate's misc devices have no `poll`: the device's file operations are built here.

use core::{
    ptr::null_mut,
    sync::atomic::{
        AtomicBool,
        AtomicPtr,
        AtomicU64,
        Ordering, //
    },
};

use kernel::{
    bindings,
    cpu::CpuId,
    error::to_result,
    ffi::{
        c_char,
        c_int,
        c_long,
        c_uint,
        c_ulong,
        c_void, //
    },
    fs::File,
    new_mutex, new_poll_condvar, new_spinlock_irq,
    prelude::*,
    sync::{
        poll::{
            PollCondVar,
            PollTable, //
        },
        rcu, Mutex, SpinLockIrq,
    },
    types::Opaque,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use super::synic::{
    self,
    Synic, //
};
use crate::{
    calls, cpu,
    eventfd::Eventfd,
    ffi,
    hv::abi::{
        synic::EVENT_FLAGS,
        Message,
        HV_MESSAGE_PAYLOAD_QWORD_COUNT, //
    },
    irq_work::IrqWork,
    transport::{
        hv,
        HvPages, //
    },
    uapi::{
        self,
        SintMask,
        VtlSetEventfd,
        VtlSignalEvent,
        VtlSintPostMsg,
        MSHV_SINT_PAUSE_MESSAGE_STREAM,
        MSHV_SINT_POST_MESSAGE,
        MSHV_SINT_SET_EVENTFD,
        MSHV_SINT_SIGNAL_EVENT, //
    },
};

/// Bytes of a message, as a read gives it.
const MESSAGE_BYTES: usize = size_of::<Message>();
/// Bytes of a posted message's payload, at most.
const PAYLOAD_BYTES: usize = HV_MESSAGE_PAYLOAD_QWORD_COUNT * 8;
/// The CPU the host's VMBus messages for VTL2 come to (upstream's `VMBUS_CONNECT_CPU`).
const MESSAGE_CPU: u32 = 0;

/// The device's state.
///
/// The SynIC interrupt runs in hard interrupt context, where no `spinlock_t` may be taken (a
/// wake-up's or an eventfd's): it only notes what came (`has_message`, `flags`) and raises
/// `wake`, an irq_work (as upstream's tasklet), which wakes the readers and signals the
/// eventfds. A reader checks what it waits for under `paused`'s lock, which `wake` takes
/// before it wakes them, so that no wake-up falls between a reader's check and its wait.
#[pin_data(PinnedDrop)]
pub(super) struct Sint {
    /// A message came to CPU 0's slot since a read last looked.
    has_message: AtomicBool,
    /// The stream is paused (the SINT masked): reads are at end of file.
    #[pin]
    paused: SpinLockIrq<bool>,
    #[pin]
    readers: PollCondVar,
    /// Event flags taken from the SynIC, not yet signalled: a bit per flag.
    flags: KVec<AtomicU64>,
    /// Wakes the readers and signals the flags' eventfds.
    wake: IrqWork,
    /// Each event flag's eventfd (an [`Eventfd::into_raw`]), read under RCU by `wake`.
    eventfds: KVec<AtomicPtr<c_void>>,
    /// Serialises the stream's pausing.
    #[pin]
    pause_lock: Mutex<()>,
    synic: Synic,
}

/// The device's state while it is registered, for its file operations and the interrupt.
static SINT: AtomicPtr<Sint> = AtomicPtr::new(null_mut());

/// The state, while the device is registered.
fn sint() -> Option<&'static Sint> {
    // SAFETY: `SintDevice` publishes the state only while it lives, and clears it (and stops
    // the interrupt) before the state goes; the file operations run only while a file is
    // open, which holds the module, so before that.
    unsafe { SINT.load(Ordering::Acquire).as_ref() }
}

impl Sint {
    fn new() -> Result<impl PinInit<Self, Error>> {
        let mut eventfds = KVec::with_capacity(EVENT_FLAGS, GFP_KERNEL)?;
        for _ in 0..EVENT_FLAGS {
            eventfds.push(AtomicPtr::new(null_mut()), GFP_KERNEL)?;
        }
        let mut flags = KVec::with_capacity(EVENT_FLAGS / 64, GFP_KERNEL)?;
        for _ in 0..EVENT_FLAGS / 64 {
            flags.push(AtomicU64::new(0), GFP_KERNEL)?;
        }
        // SAFETY: `wake` reaches the state only through `sint()`, and runs in interrupt
        // context taking interrupt-safe locks only; the state syncs it before it goes.
        let wake = unsafe { IrqWork::new(wake, null_mut(), false)? };
        let synic = Synic::new()?;
        Ok(try_pin_init!(Self {
            has_message: AtomicBool::new(false),
            paused <- new_spinlock_irq!(true),
            readers <- new_poll_condvar!("mshv_sint readers"),
            flags,
            wake,
            eventfds,
            pause_lock <- new_mutex!(()),
            synic,
        }? Error))
    }

    /// The SynIC interrupt (hard interrupt context): notes a message on CPU 0 and takes this
    /// CPU's event flags, for `wake`.
    fn interrupt(&self) {
        let cpu = CpuId::current().as_u32();
        let mut came = false;
        if cpu == MESSAGE_CPU && self.synic.has_message(cpu as usize) {
            self.has_message.store(true, Ordering::Release);
            came = true;
        }
        self.synic.take_flags(|flag| {
            self.flags[flag / 64].fetch_or(1 << (flag % 64), Ordering::AcqRel);
            came = true;
        });
        if came {
            self.wake.queue();
        }
    }

    /// `wake`'s run: wakes the readers, signals the eventfds of the flags taken.
    fn wake(&self) {
        // Past a reader's check, or before it: see `Sint`.
        drop(self.paused.lock());
        self.readers.notify_all();
        let _rcu = rcu::read_lock();
        for (i, word) in self.flags.iter().enumerate() {
            let mut bits = word.swap(0, Ordering::AcqRel);
            while bits != 0 {
                let flag = i * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let raw = self.eventfds[flag].load(Ordering::Acquire);
                if !raw.is_null() {
                    // SAFETY: The table holds the reference until a grace period after the
                    // slot was cleared; this reader is inside one.
                    unsafe { ffi::mshv_shim_eventfd_signal(raw) };
                }
            }
        }
    }

    /// A read: the message waiting on CPU 0 (256 bytes), 0 at end of the stream (paused),
    /// `EAGAIN` (non-blocking) or waits; `EINVAL` for a buffer too small for a message.
    fn read(&self, nonblocking: bool, buf: usize, size: usize) -> Result<usize> {
        if size < MESSAGE_BYTES {
            return Err(EINVAL);
        }
        loop {
            // On CPU 0: forgets that a message came, then takes the one waiting.
            let taken = cpu::call_on(MESSAGE_CPU, || {
                self.has_message.store(false, Ordering::Release);
                self.synic.take_message()
            })?;
            // A message that cannot be written to the buffer is lost (as upstream's): it was
            // taken, and the SynIC's slot freed.
            if let Some(message) = taken {
                let bytes = kernel::transmute::AsBytes::as_bytes(&message);
                UserSlice::new(UserPtr::from_addr(buf), MESSAGE_BYTES)
                    .writer()
                    .write_slice(bytes)?;
                return Ok(MESSAGE_BYTES);
            }
            let mut paused = self.paused.lock();
            if *paused {
                return Ok(0);
            }
            if nonblocking {
                return Err(EAGAIN);
            }
            while !self.has_message.load(Ordering::Acquire) && !*paused {
                if self.readers.wait_interruptible(&mut paused) {
                    return Err(ERESTARTSYS);
                }
            }
        }
    }

    /// Whether a read would not wait.
    fn readable(&self) -> bool {
        self.has_message.load(Ordering::Acquire) || *self.paused.lock()
    }

    /// `MSHV_SINT_POST_MESSAGE`: `EINVAL` for a payload above 240 bytes.
    fn post_message(&self, arg: usize) -> Result<isize> {
        let args: VtlSintPostMsg = uapi::read_user(arg)?;
        let size = args.payload_size as usize;
        if size > PAYLOAD_BYTES {
            return Err(EINVAL);
        }
        let mut payload = [0u8; PAYLOAD_BYTES];
        let at = usize::try_from(args.payload_ptr).map_err(|_| EFAULT)?;
        UserSlice::new(UserPtr::from_addr(at), size)
            .reader()
            .read_slice(&mut payload[..size])?;
        // The hypercall's type is 32 bits, as upstream truncates it.
        let message_type = args.message_type as u32;
        calls::post_message(
            &mut HvPages::new()?,
            args.connection_id,
            message_type,
            &payload[..size],
        )?;
        Ok(0)
    }

    /// `MSHV_SINT_SIGNAL_EVENT`.
    fn signal_event(&self, arg: usize) -> Result<isize> {
        let args: VtlSignalEvent = uapi::read_user(arg)?;
        calls::signal_event(args.connection_id, args.flag)?;
        Ok(0)
    }

    /// `MSHV_SINT_SET_EVENTFD`: event flag `flag` signals eventfd `fd` from now on (none for a
    /// negative `fd`); `EINVAL` for a flag beyond 2047.
    fn set_eventfd(&self, arg: usize) -> Result<isize> {
        let args: VtlSetEventfd = uapi::read_user(arg)?;
        let slot = self.eventfds.get(args.flag as usize).ok_or(EINVAL)?;
        let new = match args.fd {
            fd if fd >= 0 => Eventfd::get(fd)?.into_raw(),
            _ => core::ptr::null(),
        };
        let old = slot.swap(new.cast_mut(), Ordering::AcqRel);
        if !old.is_null() {
            // The interrupt may be signalling it: it holds no reference past a grace period.
            rcu::synchronize_rcu();
            // SAFETY: The table held this reference from `into_raw`, and no longer does.
            drop(unsafe { Eventfd::from_raw(old) });
        }
        Ok(0)
    }

    /// `MSHV_SINT_PAUSE_MESSAGE_STREAM`: masks (pausing the stream: readers at end of file)
    /// or unmasks the SINT on every CPU.
    fn pause(&self, arg: usize) -> Result<isize> {
        let args: SintMask = uapi::read_user(arg)?;
        let paused = args.mask != 0;
        let _guard = self.pause_lock.lock();
        synic::set_masked(paused);
        *self.paused.lock() = paused;
        if paused {
            self.readers.notify_all();
        }
        Ok(0)
    }

    /// Handles an ioctl.
    fn ioctl(&self, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            MSHV_SINT_POST_MESSAGE => self.post_message(arg),
            MSHV_SINT_SIGNAL_EVENT => self.signal_event(arg),
            MSHV_SINT_SET_EVENTFD => self.set_eventfd(arg),
            MSHV_SINT_PAUSE_MESSAGE_STREAM => self.pause(arg),
            _ => Err(ENOTTY),
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Sint {
    fn drop(self: Pin<&mut Self>) {
        // The interrupt is stopped and no file is open: once `wake`'s last run has ended, the
        // references go.
        self.wake.sync();
        for slot in self.eventfds.iter() {
            let raw = slot.swap(null_mut(), Ordering::AcqRel);
            if !raw.is_null() {
                // SAFETY: The table held this reference from `into_raw`.
                drop(unsafe { Eventfd::from_raw(raw) });
            }
        }
    }
}

/// What a read asks of CPU 0.
/// The SynIC interrupt's handler.
extern "C" fn interrupt() {
    if let Some(sint) = sint() {
        sint.interrupt();
    }
}

/// The wake-ups the interrupt deferred.
///
/// # Safety
///
/// None: it takes no data (the irq_work's function type is an `unsafe fn`).
unsafe extern "C" fn wake(_data: *mut c_void) {
    if let Some(sint) = sint() {
        sint.wake();
    }
}

/// `/dev/mshv_sint`, registered while this lives, with its state.
#[pin_data(PinnedDrop)]
pub(super) struct SintDevice {
    #[pin]
    misc: Opaque<bindings::miscdevice>,
    state: Pin<KBox<Sint>>,
}

// SAFETY: The registration is used only to deregister it, from any thread; the state is `Send`.
unsafe impl Send for SintDevice {}
// SAFETY: Nothing reaches the registration through a shared reference; the state is `Sync`.
unsafe impl Sync for SintDevice {}

impl SintDevice {
    /// The device, registered, where the hypervisor's SynIC interrupt can be had: `None`
    /// (logged) where it cannot.
    pub(super) fn new() -> Result<Option<Pin<KBox<Self>>>> {
        match KBox::pin_init(Self::register(), GFP_KERNEL) {
            Ok(device) => Ok(Some(device)),
            Err(e) if e == EOPNOTSUPP => {
                pr_info!("no SynIC interrupt here: no /dev/mshv_sint\n");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Sets the SynIC up, takes its interrupt and registers the device.
    fn register() -> impl PinInit<Self, Error> {
        let state = Sint::new().and_then(|init| KBox::pin_init(init, GFP_KERNEL));
        let raw = state
            .as_ref()
            .map_or(null_mut(), |s| core::ptr::from_ref::<Sint>(s).cast_mut());
        try_pin_init!(Self {
            state: state?,
            misc <- register_misc(raw),
        }? Error)
    }
}

/// Publishes `state` (in a box the device holds while it is registered), takes the SynIC
/// interrupt, and registers the misc device.
fn register_misc(state: *mut Sint) -> impl PinInit<Opaque<bindings::miscdevice>, Error> {
    Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
        SINT.store(state, Ordering::Release);
        if let Err(e) = hv().set_synic_handler(Some(interrupt)) {
            SINT.store(null_mut(), Ordering::Release);
            return Err(e);
        }
        // SAFETY: `slot` is the field's memory, which all zeroes initialises; the name and
        // operations are static.
        unsafe {
            slot.write(core::mem::zeroed());
            (*slot).minor = bindings::MISC_DYNAMIC_MINOR as c_int;
            (*slot).name = c"mshv_sint".as_char_ptr();
            (*slot).fops = &FOPS;
            (*slot).mode = 0o600;
        }
        // SAFETY: The miscdevice is initialised, and pinned for as long as it is registered
        // (until the device's drop).
        let err = unsafe { bindings::misc_register(slot) };
        if err != 0 {
            let _ = hv().set_synic_handler(None);
            SINT.store(null_mut(), Ordering::Release);
        }
        to_result(err)
    })
}

#[pinned_drop]
impl PinnedDrop for SintDevice {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered in `register` (this value exists only if that succeeded).
        unsafe { bindings::misc_deregister(self.misc.get()) };
        // Nothing more comes (what came is left in the SynIC's pages); then the handler runs
        // no more once this returns, and the state may go.
        synic::set_masked(true);
        let _ = hv().set_synic_handler(None);
        SINT.store(null_mut(), Ordering::Release);
    }
}

/// The device's file operations (its state is the device's: no per-file data).
const FOPS: bindings::file_operations = bindings::file_operations {
    owner: kernel::module::this_module::<crate::LocalModule>().as_ptr(),
    read: Some(read),
    poll: Some(poll),
    unlocked_ioctl: Some(ioctl),
    llseek: Some(bindings::noop_llseek),
    // SAFETY: Every other field of `file_operations` may be zero (no operation).
    ..unsafe { core::mem::zeroed() }
};

/// # Safety
///
/// `file` is an open file of the device; `buf` a user address.
unsafe extern "C" fn read(
    file: *mut bindings::file,
    buf: *mut c_char,
    size: usize,
    _pos: *mut bindings::loff_t,
) -> isize {
    let Some(sint) = sint() else {
        return ENODEV.to_errno() as isize;
    };
    // SAFETY: The file is open for the call.
    let nonblocking = unsafe { (*file).f_flags } & bindings::O_NONBLOCK != 0;
    match sint.read(nonblocking, buf as usize, size) {
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// `file` is an open file of the device; `table` null or a live poll table.
unsafe extern "C" fn poll(
    file: *mut bindings::file,
    table: *mut bindings::poll_table_struct,
) -> bindings::__poll_t {
    let Some(sint) = sint() else {
        return bindings::POLLERR;
    };
    // SAFETY: The file is open for the call, and no fdget_pos region is active.
    let file = unsafe { File::from_raw_file(file) };
    // SAFETY: The table is null or live for the call.
    unsafe { PollTable::from_raw(table) }.register_wait(file, &sint.readers);
    if sint.readable() {
        bindings::POLLIN | bindings::POLLRDNORM
    } else {
        0
    }
}

/// # Safety
///
/// `file` is an open file of the device.
unsafe extern "C" fn ioctl(_file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
    let Some(sint) = sint() else {
        return ENODEV.to_errno() as c_long;
    };
    match sint.ioctl(cmd, arg) {
        Ok(ret) => ret as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}
