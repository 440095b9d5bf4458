// SPDX-License-Identifier: GPL-2.0

//! The simulated VPs: their creation and state pages, registers and states, and what their
//! guests do while they run (intercepts and memory accesses queued through debugfs).

use super::ALLOC;
use kernel::prelude::*;

use super::{
    machine::{
        read,
        write,
        zero_page,
        Machine,
        PartitionState,
        RepResult,
        MAX_VPS,
        VP_CONTIGUOUS_PAGES,
        VP_PAGES, //
    },
    slat::{
        Fault,
        Slat, //
    },
};
use crate::{
    ffi,
    hv::{
        abi::{
            dispatch,
            message_type,
            register,
            scheduler_type,
            vp_state,
            vp_state_page,
            CreateVpIn,
            DispatchVpIn,
            DispatchVpOut,
            MapVpStatePageIn,
            MapVpStatePageOut,
            Message,
            RegisterAssoc,
            UnmapVpStatePageIn,
            VpRegistersIn,
            VpStateIn,
            INTERCEPT_HEADER_IP_OFFSET,
            INTERCEPT_HEADER_SIZE,
            MEMORY_INTERCEPT_GPA_OFFSET,
            MEMORY_INTERCEPT_GVA_OFFSET,
            MEMORY_INTERCEPT_INSTRUCTION_BYTES,
            MEMORY_INTERCEPT_INSTRUCTION_COUNT_OFFSET,
            MEMORY_INTERCEPT_INSTRUCTION_OFFSET,
            MEMORY_INTERCEPT_SIZE, //
        },
        status::HvStatus,
        HV_HYP_PAGE_SIZE,
    },
    transport::HvPage,
};

/// A simulated VP.
pub(super) struct Vp {
    pub(super) index: u32,
    /// The register page and the intercept message page.
    pub(super) state_pages: [u64; 2],
    /// Whether each state page is mapped for the root.
    pub(super) mapped: [bool; 2],
    /// Registers written, by name.
    pub(super) registers: KVec<(u32, [u64; 2])>,
    /// The pool pages the VP holds (its state pages among them).
    pub(super) pages: KVec<u64>,
    /// What the guest does when the VP runs, oldest first (see [`Intercept`]).
    pub(super) pending: KVec<Intercept>,
    /// The instruction pointer at which the first pending access last faulted with a GPA
    /// intercept: it is tried again unless the root moved it meanwhile (it emulated the
    /// access).
    faulted_at: Option<u64>,
    /// The states set with `HVCALL_SET_VP_STATE`, by type (empty: never set).
    states: [KVec<u8>; 5],
    /// Level-triggered vectors in service, oldest first.
    pub(super) in_service: KVec<u32>,
    /// Under the root scheduler: a dispatch found the VP blocked, and the root waits for the
    /// signal that it may be dispatched again.
    blocked: bool,
}

impl Vp {
    /// A register's value (zero if never written).
    pub(super) fn register(&self, name: u32) -> [u64; 2] {
        self.registers
            .iter()
            .find(|(n, _)| *n == name)
            .map_or([0; 2], |r| r.1)
    }

    fn set_register(&mut self, name: u32, value: [u64; 2]) -> core::result::Result<(), HvStatus> {
        match self.registers.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self
                .registers
                .push((name, value), ALLOC)
                .map_err(|_| HvStatus::INSUFFICIENT_BUFFERS)?,
        }
        Ok(())
    }

    /// The guest ran to instruction pointer `ip`; with `value`, the low `len` bytes of its
    /// value register (x86 `rax`, arm64 `x0`) hold it.
    fn ran_to(&mut self, ip: u64, value: Option<(u32, u64)>) {
        // Recorded registers never fail to update (see `run`).
        let _ = self.set_register(IP, [ip, 0]);
        if let Some((len, value)) = value {
            let mask = match len {
                8.. => u64::MAX,
                len => (1 << (8 * len)) - 1,
            };
            let old = self.register(RAX)[0];
            let _ = self.set_register(RAX, [old & !mask | value & mask, 0]);
        }
    }

    /// Whether the VP runs: suspended neither explicitly nor on an intercept.
    fn running(&self) -> bool {
        self.register(register::EXPLICIT_SUSPEND)[0] & 1 == 0
            && self.register(register::INTERCEPT_SUSPEND)[0] & 1 == 0
    }

    /// Lets the guest act while the VP runs, until it takes an intercept: the message goes to
    /// the intercept message page, the VP is suspended on it, and the root is told (an opaque
    /// intercept message naming the VP). Accesses to mapped memory complete on their own.
    fn run(&mut self, partition_id: u64, slat: &mut Slat) -> Option<Message> {
        let message = loop {
            if !self.running() {
                return None;
            }
            let action = *self.pending.first()?;
            let Intercept::Access { gpa, write, insn } = action else {
                let _ = self.pending.remove(0);
                if let Intercept::IoWrite {
                    value,
                    at: Some(ip),
                    ..
                } = action
                {
                    // The guest ran to `ip`, its `al` holding the value.
                    self.ran_to(ip, Some((1, value)));
                }
                break action.message(partition_id, self, message_type::UNMAPPED_GPA);
            };
            let retried = self.faulted_at.take();
            if retried.is_some_and(|at| at != self.register(IP)[0]) {
                // The root emulated the access and moved on.
                let _ = self.pending.remove(0);
                continue;
            }
            if let (None, Some(at)) = (retried, insn.at) {
                // The guest ran to the instruction, a write's value in its register.
                self.ran_to(at, write);
            }
            let ip = self.register(IP)[0];
            match slat.guest_access(gpa >> 12, write.is_some()) {
                Ok(pfn) => {
                    if let Some((len, value)) = write {
                        store(pfn, gpa, len, value);
                    }
                    let _ = self.pending.remove(0);
                }
                Err(Fault::Unmapped) => {
                    let _ = self.pending.remove(0);
                    break action.message(partition_id, self, message_type::UNMAPPED_GPA);
                }
                Err(Fault::Denied) => {
                    self.faulted_at = Some(ip);
                    break action.message(partition_id, self, message_type::GPA_INTERCEPT);
                }
            }
        };
        // SAFETY: The intercept message page was deposited (kernel memory in the linear map)
        // and is the hypervisor's; the root only reads it.
        unsafe {
            core::ptr::copy_nonoverlapping(
                core::ptr::from_ref(&message).cast::<u8>(),
                ffi::mshv_shim_page_address(self.state_pages[1]).cast::<u8>(),
                size_of::<Message>(),
            )
        };
        // Recorded registers never fail to update (the slot exists: it was read above or is
        // created with room to spare at VP creation).
        let _ = self.set_register(register::INTERCEPT_SUSPEND, [1, 0]);
        let mut notice = Message::zeroed(message_type::OPAQUE_INTERCEPT, partition_id);
        notice.payload_size = 4;
        notice.payload[0] = u64::from(self.index);
        Some(notice)
    }
}

/// The root scheduler's signal that VP `vp_index` of partition `partition_id` may be dispatched
/// again: a bitset message naming it alone.
fn signal(partition_id: u64, vp_index: u32) -> Message {
    let mut m = Message::zeroed(message_type::SCHEDULER_VP_SIGNAL_BITSET, 0);
    let mut payload = m.payload;
    payload[0] = partition_id;
    // `vp_count` (the upper half of the second word).
    payload[1] = 1 << 32;
    payload[2] = dispatch::VP_SET_SPARSE_4K;
    payload[3] = 1 << (vp_index / 64);
    payload[4] = 1 << (vp_index % 64);
    m.payload = payload;
    m.payload_size = 40;
    m
}

/// A guest's write of `len` bytes of `value` at `gpa`, which reaches host frame `pfn`. Device
/// memory (a frame that is not RAM) is not modelled: the write goes nowhere.
fn store(pfn: u64, gpa: u64, len: u32, value: u64) {
    // SAFETY: `page_is_ram` only looks the frame up in the kernel's resource tree.
    if !unsafe { ffi::mshv_shim_pfn_is_ram(pfn) } {
        return;
    }
    let offset = (gpa % HV_HYP_PAGE_SIZE as u64) as usize;
    let len = (len as usize).min(HV_HYP_PAGE_SIZE - offset);
    // SAFETY: The root mapped `pfn` into the guest's address space with write access: a page of
    // memory (pinned, or kept mapped only while the root's MMU notifier lets it be), in the
    // linear map; the write stays within it.
    unsafe {
        core::ptr::copy_nonoverlapping(
            value.to_le_bytes().as_ptr(),
            ffi::mshv_shim_page_address(pfn).cast::<u8>().add(offset),
            len,
        )
    };
}

/// Refuses a value the hypervisor would refuse for register `name`.
///
/// Deliverability notifications (a 64-bit register: the value's upper half is not looked at,
/// and clients leave it undefined): the reserved bits must be zero, and the hypervisor answers
/// a request for NMI notification with `INVALID_PARAMETER` (what mshv-ioctls' test of the
/// register expects of it); interrupt and SINT notifications are accepted.
fn check_register(name: u32, value: [u64; 2]) -> core::result::Result<(), HvStatus> {
    const NMI: u64 = 1 << 0;
    const RESERVED: u64 = ((1 << 48) - 1) & !((1 << 6) - 1);
    match name {
        register::DELIVERABILITY_NOTIFICATIONS if value[0] & (NMI | RESERVED) != 0 => {
            Err(HvStatus::INVALID_PARAMETER)
        }
        _ => Ok(()),
    }
}

/// Which of a VP's state pages a `hv_vp_state_page_type` names.
fn state_page_slot(type_: u16) -> core::result::Result<usize, (HvStatus, usize)> {
    match type_ {
        vp_state_page::REGISTERS => Ok(0),
        vp_state_page::INTERCEPT_MESSAGE => Ok(1),
        _ => Err((HvStatus::INVALID_PARAMETER, 0)),
    }
}

/// What tests can make a VP's guest do (see the debugfs `inject` file): take an intercept, or
/// access memory, which completes on its own where the partition's address space allows it.
#[derive(Clone, Copy)]
pub(super) enum Intercept {
    /// The guest wrote `value` (one byte) to I/O `port` (x86 only) with an `out dx, al`: at
    /// instruction pointer `at` (the guest ran there, `al` holding the value), or where the
    /// VP's instruction pointer is.
    IoWrite {
        port: u16,
        value: u64,
        at: Option<u64>,
    },
    /// The guest read guest physical address `gpa`, or wrote `len` bytes of `value` there,
    /// with instruction `insn`: where nothing is mapped, an unmapped-GPA intercept; where the
    /// mapping denies it, a GPA intercept (tried again when the VP next runs unless the
    /// instruction pointer moved).
    Access {
        gpa: u64,
        write: Option<(u32, u64)>,
        insn: Instruction,
    },
    /// The guest halted.
    Halt,
    /// The guest took an exception it cannot recover from.
    UnrecoverableException,
}

/// What the hypervisor tells of the instruction behind an access, where the test says: where
/// it is (the guest ran there), its bytes (as many as the message has room for: up to 16 on
/// x86, one A64 instruction), and the guest virtual address it accessed.
#[derive(Clone, Copy, Default)]
pub(super) struct Instruction {
    pub(super) at: Option<u64>,
    pub(super) bytes: [u8; MEMORY_INTERCEPT_INSTRUCTION_BYTES],
    pub(super) len: u8,
    pub(super) gva: Option<u64>,
}

/// Writes `bytes` into a message's payload at byte `offset` (the words are little-endian).
fn put(payload: &mut [u64], offset: usize, bytes: &[u8]) {
    for (i, &b) in bytes.iter().enumerate() {
        let (word, shift) = ((offset + i) / 8, 8 * ((offset + i) % 8));
        payload[word] = payload[word] & !(0xff << shift) | u64::from(b) << shift;
    }
}

/// The register of the guest's instruction pointer, which intercept headers report:
/// `HV_X64_REGISTER_RIP`, `HV_ARM64_REGISTER_PC` (not in Linux's headers; mshv-bindings names
/// them).
#[cfg(CONFIG_X86_64)]
const IP: u32 = 0x0002_0010;
/// `HV_X64_REGISTER_RAX` (arm64 has no I/O port intercept: never written there).
const RAX: u32 = register::X64_RAX;
#[cfg(CONFIG_ARM64)]
const IP: u32 = 0x0002_0022;

/// The length of the instruction that took the intercept: one byte for the simulated x86
/// guests' `out`, `hlt` and accesses; every A64 instruction is four.
#[cfg(CONFIG_X86_64)]
const INSTRUCTION_LENGTH: u64 = 1;
#[cfg(CONFIG_ARM64)]
const INSTRUCTION_LENGTH: u64 = 4;

impl Intercept {
    /// The intercept message: the architecture's intercept header (VP index, instruction
    /// length, access type, and the instruction pointer: x86 RIP, arm64 PC; as in
    /// `hv_x64_intercept_message_header` / `hv_arm64_intercept_message_header`) and the kind's
    /// own fields, laid out as `hv_x64_io_port_intercept_message` (x86 only) or the
    /// architecture's memory intercept message. An access's message is of type `access_type`
    /// (an unmapped-GPA or a GPA intercept).
    fn message(self, partition_id: u64, vp: &Vp, access_type: u32) -> Message {
        let (kind, size) = match self {
            Self::IoWrite { .. } => (message_type::X64_IO_PORT_INTERCEPT, 128),
            Self::Access { .. } => (access_type, MEMORY_INTERCEPT_SIZE),
            Self::Halt => (message_type::X64_HALT, INTERCEPT_HEADER_SIZE),
            Self::UnrecoverableException => {
                (message_type::UNRECOVERABLE_EXCEPTION, INTERCEPT_HEADER_SIZE)
            }
        };
        let mut m = Message::zeroed(kind, partition_id);
        m.payload_size = size as u8;
        let access = u64::from(matches!(
            self,
            Self::IoWrite { .. } | Self::Access { write: Some(_), .. }
        ));
        // vp_index, instruction_length and intercept_access_type.
        m.payload[0] = u64::from(vp.index) | INSTRUCTION_LENGTH << 32 | access << 40;
        m.payload[INTERCEPT_HEADER_IP_OFFSET / 8] = vp.register(IP)[0];
        match self {
            Self::IoWrite { port, value, .. } => {
                // port_number, access_info (access_size 1), instruction_byte_count; rax.
                m.payload[5] = u64::from(port) | 1 << 16 | 1 << 24;
                m.payload[6] = value;
            }
            Self::Access { gpa, insn, .. } => {
                // guest_physical_address, where the architecture's layout has it; then
                // instruction_byte_count, memory_access_info's gva_valid and the instruction's
                // bytes, and guest_virtual_address.
                // (The message is packed: its payload is changed as a copy.)
                let mut payload = m.payload;
                payload[MEMORY_INTERCEPT_GPA_OFFSET / 8] = gpa;
                let count = MEMORY_INTERCEPT_INSTRUCTION_COUNT_OFFSET;
                put(
                    &mut payload,
                    count,
                    &[insn.len, u8::from(insn.gva.is_some())],
                );
                let bytes = &insn.bytes[..usize::from(insn.len)];
                put(&mut payload, MEMORY_INTERCEPT_INSTRUCTION_OFFSET, bytes);
                payload[MEMORY_INTERCEPT_GVA_OFFSET / 8] = insn.gva.unwrap_or(0);
                m.payload = payload;
            }
            Self::Halt | Self::UnrecoverableException => {}
        }
        m
    }
}

impl Machine {
    /// Makes VP `vp_index` of partition `partition_id` do `intercept` when it next runs (at
    /// once, if it runs).
    pub(super) fn inject(
        &mut self,
        partition_id: u64,
        vp_index: u32,
        intercept: Intercept,
    ) -> Result {
        // arm64 has no I/O ports (nor an I/O port intercept message).
        if cfg!(CONFIG_ARM64) && matches!(intercept, Intercept::IoWrite { .. }) {
            return Err(EINVAL);
        }
        let vp = self.vp(partition_id, vp_index).map_err(|_| ENOENT)?;
        vp.pending.push(intercept, ALLOC)?;
        if let Some(notice) = self.run_vp(partition_id, vp_index) {
            self.outbox.push(notice, ALLOC)?;
        }
        Ok(())
    }

    /// Whether the root dispatches the VPs (`HV_SCHEDULER_TYPE_ROOT`).
    pub(super) fn root_scheduler(&self) -> bool {
        self.scheduler == scheduler_type::ROOT
    }

    /// Lets VP `vp_index` of partition `partition_id` run (see [`Vp::run`]): the message to
    /// send the root, if any. Under the root scheduler the VP runs only when dispatched; this
    /// signals it instead, if a dispatch found it blocked and it can run now.
    fn run_vp(&mut self, partition_id: u64, vp_index: u32) -> Option<Message> {
        let root_scheduler = self.root_scheduler();
        let auto_halt = self.auto_halt;
        let p = self.partition(partition_id).ok()?;
        let vp = p.vps.iter_mut().find(|vp| vp.index == vp_index)?;
        if !root_scheduler {
            return vp.run(partition_id, &mut p.slat);
        }
        if !vp.blocked || !vp.running() || (vp.pending.is_empty() && !auto_halt) {
            return None;
        }
        vp.blocked = false;
        Some(signal(partition_id, vp_index))
    }

    /// `HVCALL_DISPATCH_VP` (the root scheduler's only): runs the VP in the caller's thread
    /// until it takes an intercept (ready: the message is in its intercept message page) or
    /// has nothing to do (blocked, until the root is signalled). A VP explicitly suspended is
    /// blocked at once.
    pub(super) fn dispatch_vp(&mut self, input: &HvPage, output: &mut HvPage) -> RepResult {
        let args: DispatchVpIn = read(input, 0)?;
        if !self.root_scheduler() {
            return Err((HvStatus::ACCESS_DENIED, 0));
        }
        let known =
            dispatch::FLAG_CLEAR_INTERCEPT_SUSPEND | dispatch::FLAG_SCAN_INTERRUPT_INJECTION;
        if args.flags & !known != 0 {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        let (partition_id, flags) = (args.partition_id, args.flags);
        let auto_halt = self.auto_halt;
        let p = self.partition(partition_id).map_err(|s| (s, 0))?;
        let vp = p
            .vps
            .iter_mut()
            .find(|vp| vp.index == args.vp_index)
            .ok_or((HvStatus::INVALID_VP_INDEX, 0))?;
        if flags & dispatch::FLAG_CLEAR_INTERCEPT_SUSPEND != 0 {
            let _ = vp.set_register(register::INTERCEPT_SUSPEND, [0, 0]);
        }
        let (state, event) = if vp.register(register::EXPLICIT_SUSPEND)[0] & 1 != 0 {
            vp.blocked = true;
            (dispatch::STATE_BLOCKED, dispatch::EVENT_SUSPEND)
        } else if vp.register(register::INTERCEPT_SUSPEND)[0] & 1 != 0 {
            // Still suspended on the intercept it took: the root did not clear it.
            (dispatch::STATE_READY, dispatch::EVENT_INTERCEPT)
        } else {
            if auto_halt && vp.pending.is_empty() {
                let _ = vp.pending.push(Intercept::Halt, ALLOC);
            }
            // Under the root scheduler the intercept's notice is the dispatch's return.
            match vp.run(partition_id, &mut p.slat) {
                Some(_notice) => (dispatch::STATE_READY, dispatch::EVENT_INTERCEPT),
                None => {
                    vp.blocked = true;
                    (dispatch::STATE_BLOCKED, 0)
                }
            }
        };
        let out = DispatchVpOut {
            dispatch_state: state,
            dispatch_event: event,
        };
        write(output, 0, &out)
    }

    /// VP `vp_index`'s guest leaves register `name` with `value` (instructions that take no
    /// intercept did): checked as `HVCALL_SET_VP_REGISTERS` checks it.
    pub(super) fn guest_set_register(
        &mut self,
        partition_id: u64,
        vp_index: u32,
        name: u32,
        value: [u64; 2],
    ) -> Result {
        let vp = self.vp(partition_id, vp_index).map_err(|_| ENOENT)?;
        check_register(name, value).map_err(|_| EINVAL)?;
        vp.set_register(name, value).map_err(|_| ENOMEM)
    }

    /// VP `vp_index`'s guest writes `len` bytes of `value` at `gpa` with instruction `insn`:
    /// where nothing is mapped, the doorbells the write matches ring (the VP goes on);
    /// otherwise it is an access.
    pub(super) fn guest_write(
        &mut self,
        partition_id: u64,
        vp_index: u32,
        (gpa, len, value): (u64, u32, u64),
        insn: Instruction,
    ) -> Result {
        self.vp(partition_id, vp_index).map_err(|_| ENOENT)?;
        let p = self.partition(partition_id).map_err(|_| ENOENT)?;
        if !p.slat.is_mapped(gpa >> 12) && self.ring_doorbells(partition_id, gpa, len, value) {
            return Ok(());
        }
        let write = Some((len, value));
        self.inject(
            partition_id,
            vp_index,
            Intercept::Access { gpa, write, insn },
        )
    }
}

/// Where an XSAVE area's header has `xcomp_bv` (after the legacy area and `xstate_bv`).
const XSAVE_XCOMP_BV: usize = 520;

/// `hv_intercept_type`: the CPUID and MSR intercepts, whose results can be registered.
const INTERCEPT_TYPE_X64_MSR: u32 = 1;
const INTERCEPT_TYPE_X64_CPUID: u32 = 2;

/// A VP index that names every VP of a partition.
const HV_ANY_VP: u32 = u32::MAX;

/// A CPUID result registered with `HVCALL_REGISTER_INTERCEPT_RESULT`.
pub(super) struct CpuidResult {
    /// The VP it is for, or [`HV_ANY_VP`].
    vp_index: u32,
    leaf: u32,
    /// The subleaf it is for alone, or `None`: every subleaf.
    subleaf: Option<u32>,
    /// eax, its mask, ebx, its mask, ecx, its mask, edx, its mask.
    values: [u32; 8],
}

impl CpuidResult {
    /// Whether `other` registers a result for the same VP, leaf and subleaf.
    fn same_input(&self, other: &Self) -> bool {
        (self.vp_index, self.leaf, self.subleaf) == (other.vp_index, other.leaf, other.subleaf)
    }

    fn applies(&self, vp_index: u32, leaf: u32, subleaf: u32) -> bool {
        (self.vp_index == HV_ANY_VP || self.vp_index == vp_index)
            && self.leaf == leaf
            && self.subleaf.is_none_or(|s| s == subleaf)
    }

    /// Overrides the bits of `values` (eax, ebx, ecx, edx) that the masks name.
    fn apply(&self, values: &mut [u32; 4]) {
        for (n, value) in values.iter_mut().enumerate() {
            let (result, mask) = (self.values[2 * n], self.values[2 * n + 1]);
            *value = (*value & !mask) | (result & mask);
        }
    }
}

/// The CPUID the simulated VPs report: the basic and the hypervisor leaves' headers; every other
/// leaf reads zero.
fn cpuid(leaf: u32) -> [u32; 4] {
    let word = |s: &[u8; 4]| u32::from_le_bytes(*s);
    match leaf {
        // Highest basic leaf, "GenuineIntel" (ebx, edx, ecx).
        0 => [0xd, word(b"Genu"), word(b"ntel"), word(b"ineI")],
        // Highest hypervisor leaf, "Microsoft Hv".
        0x4000_0000 => [0x4000_0006, word(b"Micr"), word(b"osof"), word(b"t Hv")],
        _ => [0; 4],
    }
}

impl Machine {
    pub(super) fn create_vp(&mut self, input: &HvPage) -> RepResult {
        let args: CreateVpIn = read(input, 0)?;
        let p = self.partition(args.partition_id).map_err(|s| (s, 0))?;
        if p.state != PartitionState::Initialized {
            return Err((HvStatus::INVALID_PARTITION_STATE, 0));
        }
        if args.vp_index >= MAX_VPS || p.vps.iter().any(|vp| vp.index == args.vp_index) {
            return Err((HvStatus::INVALID_VP_INDEX, 0));
        }
        if args.padding != [0; 3] || args.flags != 0 {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        p.vps
            .reserve(1, ALLOC)
            .map_err(|_| (HvStatus::INSUFFICIENT_BUFFERS, 0))?;
        let pages = p
            .pool
            .take_contiguous(
                VP_PAGES + 2,
                VP_CONTIGUOUS_PAGES,
                HvStatus::INSUFFICIENT_MEMORY,
            )
            .map_err(|s| (s, 0))?;
        let state_pages = [pages[0], pages[1]];
        for &pfn in &state_pages {
            zero_page(pfn);
        }
        let mut registers = KVec::new();
        // A new VP is explicitly suspended until the root lets it run.
        let fresh = [
            (register::EXPLICIT_SUSPEND, [1, 0]),
            (register::INTERCEPT_SUSPEND, [0, 0]),
        ];
        for r in fresh {
            if registers.push(r, ALLOC).is_err() {
                p.pool.give_back(pages);
                return Err((HvStatus::INSUFFICIENT_BUFFERS, 0));
            }
        }
        let vp = Vp {
            index: args.vp_index,
            state_pages,
            mapped: [false; 2],
            registers,
            pages,
            pending: KVec::new(),
            faulted_at: None,
            states: Default::default(),
            in_service: KVec::new(),
            blocked: false,
        };
        // Room was reserved above.
        let _ = p.vps.push(vp, ALLOC);
        Ok(0)
    }

    pub(super) fn delete_vp(
        &mut self,
        partition_id: u64,
        index: u32,
    ) -> core::result::Result<(), HvStatus> {
        let p = self.partition(partition_id)?;
        let i = p
            .vps
            .iter()
            .position(|vp| vp.index == index)
            .ok_or(HvStatus::INVALID_VP_INDEX)?;
        let vp = p.vps.remove(i).map_err(|_| HvStatus::INVALID_VP_INDEX)?;
        p.pool.give_back(vp.pages);
        Ok(())
    }

    pub(super) fn map_vp_state_page(&mut self, input: &HvPage, output: &mut HvPage) -> RepResult {
        let args: MapVpStatePageIn = read(input, 0)?;
        if args.flags != 0 || args.input_vtl != 0 {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        let slot = state_page_slot(args.type_)?;
        let vp = self
            .vp(args.partition_id, args.vp_index)
            .map_err(|s| (s, 0))?;
        vp.mapped[slot] = true;
        let map_location = vp.state_pages[slot];
        write(output, 0, &MapVpStatePageOut { map_location })
    }

    pub(super) fn unmap_vp_state_page(&mut self, input: &HvPage) -> RepResult {
        let args: UnmapVpStatePageIn = read(input, 0)?;
        let slot = state_page_slot(args.type_)?;
        let vp = self
            .vp(args.partition_id, args.vp_index)
            .map_err(|s| (s, 0))?;
        if !vp.mapped[slot] {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        vp.mapped[slot] = false;
        Ok(0)
    }

    pub(super) fn get_vp_cpuid_values(
        &mut self,
        input: &HvPage,
        output: &mut HvPage,
        start: usize,
        count: usize,
    ) -> RepResult {
        // `struct hv_input_get_vp_cpuid_values`: partition, VP, flags (bit 0
        // `use_vp_xfem_xss`, bit 1 `apply_registered_values`; the others reserved), then
        // 24-byte `hv_cpuid_leaf_info` reps (eax, ecx, xfem, xss); 16 bytes of output each.
        // Where the flags ask, the results registered for the VP override the bits of their
        // masks.
        const USE_VP_XFEM_XSS: u32 = 1 << 0;
        const APPLY_REGISTERED_VALUES: u32 = 1 << 1;
        let partition_id: u64 = read(input, 0)?;
        let vp_index: u32 = read(input, 8)?;
        let flags: u32 = read(input, 12)?;
        if flags & !(USE_VP_XFEM_XSS | APPLY_REGISTERED_VALUES) != 0 {
            return Err((HvStatus::INVALID_PARAMETER, start));
        }
        self.vp(partition_id, vp_index).map_err(|s| (s, start))?;
        let results = &self
            .partition(partition_id)
            .map_err(|s| (s, start))?
            .cpuid_results;
        let registered = if flags & APPLY_REGISTERED_VALUES != 0 {
            &results[..]
        } else {
            &[]
        };
        for i in start..count {
            let [leaf, subleaf]: [u32; 2] = input
                .read(24 + 24 * i)
                .map_err(|_| (HvStatus::INVALID_PARAMETER, i))?;
            let mut values = cpuid(leaf);
            for r in registered
                .iter()
                .filter(|r| r.applies(vp_index, leaf, subleaf))
            {
                r.apply(&mut values);
            }
            output
                .write(16 * i, &values)
                .map_err(|_| (HvStatus::INVALID_PARAMETER, i))?;
        }
        Ok(count)
    }

    /// `HVCALL_REGISTER_INTERCEPT_RESULT`: what the guest's CPUID (or an MSR access it is not
    /// intercepted on) answers on a VP. `struct hv_input_register_intercept_result`: partition,
    /// VP, intercept type, then the type's parameters: for CPUID, the leaf (eax), the subleaf
    /// (ecx), whether the result is the subleaf's alone and whether it always applies, then
    /// each of eax, ebx, ecx and edx with the mask of its bits the result overrides.
    pub(super) fn register_intercept_result(&mut self, input: &HvPage) -> RepResult {
        /// The registrations kept for a VP (or for every VP), at most: a leaf re-registered
        /// replaces its earlier result. Past it the call fails without asking the root for
        /// memory (a deposit would not help).
        const MAX_RESULTS_PER_VP: usize = 512;
        let partition_id: u64 = read(input, 0)?;
        let vp_index: u32 = read(input, 8)?;
        let kind: u32 = read(input, 12)?;
        let p = self.partition(partition_id).map_err(|s| (s, 0))?;
        if vp_index != HV_ANY_VP && !p.vps.iter().any(|vp| vp.index == vp_index) {
            return Err((HvStatus::INVALID_VP_INDEX, 0));
        }
        match kind {
            // x86 only: arm64 has neither intercept.
            INTERCEPT_TYPE_X64_CPUID if cfg!(CONFIG_X86_64) => {
                let leaf: [u32; 2] = read(input, 16)?;
                let flags: [u8; 2] = read(input, 24)?;
                let padding: u16 = read(input, 26)?;
                let values: [u32; 8] = read(input, 28)?;
                if padding != 0 || flags.iter().any(|&f| f > 1) {
                    return Err((HvStatus::INVALID_PARAMETER, 0));
                }
                let result = CpuidResult {
                    vp_index,
                    leaf: leaf[0],
                    subleaf: (flags[0] == 1).then_some(leaf[1]),
                    values,
                };
                let results = &mut p.cpuid_results;
                if let Some(old) = results.iter_mut().find(|r| r.same_input(&result)) {
                    *old = result;
                } else if results.iter().filter(|r| r.vp_index == vp_index).count()
                    >= MAX_RESULTS_PER_VP
                {
                    return Err((HvStatus::INSUFFICIENT_BUFFERS, 0));
                } else {
                    results
                        .push(result, ALLOC)
                        .map_err(|_| (HvStatus::INSUFFICIENT_BUFFERS, 0))?;
                }
            }
            INTERCEPT_TYPE_X64_MSR if cfg!(CONFIG_X86_64) => {
                // msr_index, access_type (read, write: bits 0-1), action (`enum
                // hv_unimplemented_msr_action`: fault, or ignore writes and read zero).
                let [_, access, action]: [u32; 3] = read(input, 16)?;
                if access == 0 || access & !0x3 != 0 || action > 1 {
                    return Err((HvStatus::INVALID_PARAMETER, 0));
                }
                p.msr_results = p.msr_results.saturating_add(1);
            }
            _ => return Err((HvStatus::INVALID_PARAMETER, 0)),
        }
        Ok(0)
    }

    pub(super) fn vp_state(
        &mut self,
        input: &HvPage,
        output: &mut HvPage,
        var_header: usize,
        set: bool,
    ) -> RepResult {
        let args: VpStateIn = read(input, 0)?;
        let header = size_of::<VpStateIn>();
        let (slot, size) = match args.type_ {
            vp_state::LAPIC_STATE => (0, HV_HYP_PAGE_SIZE),
            vp_state::XSAVE => (1, HV_HYP_PAGE_SIZE),
            vp_state::SIM_PAGE => (2, HV_HYP_PAGE_SIZE),
            vp_state::SIEF_PAGE => (3, HV_HYP_PAGE_SIZE),
            vp_state::SYNTHETIC_TIMERS => (4, vp_state::SYNTHETIC_TIMERS_SIZE),
            _ => return Err((HvStatus::INVALID_PARAMETER, 0)),
        };
        if args.input_vtl != 0 || args.rsvd0 != 0 || args.rsvd1 != 0 || args.rsvd != 0 {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        let by_pages = args.type_ & vp_state::TYPE_PFN != 0;
        // The data's room: the pages the variable header lists, or the bytes it holds.
        let room = if by_pages {
            var_header / 8 * HV_HYP_PAGE_SIZE
        } else if set {
            var_header
        } else {
            HV_HYP_PAGE_SIZE
        };
        if room < size || header + var_header > HV_HYP_PAGE_SIZE {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        let vp = self
            .vp(args.partition_id, args.vp_index)
            .map_err(|s| (s, 0))?;
        // The byte at `i` of the state, where the call keeps it.
        let at = |i: usize| -> core::result::Result<*mut u8, (HvStatus, usize)> {
            let pfn = input
                .read_u64(header, i / HV_HYP_PAGE_SIZE)
                .map_err(|_| (HvStatus::INVALID_PARAMETER, 0))?;
            // SAFETY: The root pinned the page for the call and named it by frame: kernel
            // memory in the linear map; the offset stays within the page.
            Ok(unsafe {
                ffi::mshv_shim_page_address(pfn)
                    .cast::<u8>()
                    .add(i % HV_HYP_PAGE_SIZE)
            })
        };
        if set {
            let mut data = KVec::with_capacity(size, ALLOC)
                .map_err(|_| (HvStatus::INSUFFICIENT_BUFFERS, 0))?;
            for i in 0..size {
                let byte = if by_pages {
                    // SAFETY: `at` points into a page the root pinned for this call.
                    unsafe { *at(i)? }
                } else {
                    input.0[header + i]
                };
                // Capacity was reserved above.
                let _ = data.push(byte, ALLOC);
            }
            vp.states[slot] = data;
            return Ok(0);
        }
        let stored = &vp.states[slot];
        // Never set: zero, but the local APIC's id (the VP index) and version, and the XSAVE
        // area's `xcomp_bv`: the hypervisor keeps it in the compacted format (bit 63), every
        // component in its initial state.
        let (initial, from) = match slot {
            0 => ((u64::from(vp.index) | 0x0005_0014 << 32).to_le_bytes(), 0),
            1 => ((1u64 << 63).to_le_bytes(), XSAVE_XCOMP_BV),
            _ => ([0; 8], 0),
        };
        for i in 0..size {
            let byte = match stored.get(i) {
                Some(&b) => b,
                None if (from..from + initial.len()).contains(&i) => initial[i - from],
                None => 0,
            };
            if by_pages {
                // SAFETY: `at` points into a page the root pinned for writing for this call.
                unsafe { *at(i)? = byte };
            } else {
                output.0[i] = byte;
            }
        }
        Ok(0)
    }

    pub(super) fn get_vp_registers(
        &mut self,
        input: &HvPage,
        output: &mut HvPage,
        start: usize,
        count: usize,
    ) -> RepResult {
        let header: VpRegistersIn = read(input, 0)?;
        let vp = self
            .vp(header.partition_id, header.vp_index)
            .map_err(|s| (s, start))?;
        for i in start..count {
            let name: u32 = input
                .read(16 + 4 * i)
                .map_err(|_| (HvStatus::INVALID_PARAMETER, i))?;
            let value = vp.register(name);
            output
                .write(16 * i, &value)
                .map_err(|_| (HvStatus::INVALID_PARAMETER, i))?;
        }
        Ok(count)
    }

    pub(super) fn set_vp_registers(
        &mut self,
        input: &HvPage,
        start: usize,
        count: usize,
    ) -> RepResult {
        let header: VpRegistersIn = read(input, 0)?;
        let partition_id = header.partition_id;
        let auto_halt = self.auto_halt;
        let vp = self
            .vp(partition_id, header.vp_index)
            .map_err(|s| (s, start))?;
        let mut result = Ok(count);
        for i in start..count {
            let assoc: RegisterAssoc = match input.read(16 + 32 * i) {
                Ok(a) => a,
                Err(_) => {
                    result = Err((HvStatus::INVALID_PARAMETER, i));
                    break;
                }
            };
            if assoc.reserved1 != 0 || assoc.reserved2 != 0 {
                result = Err((HvStatus::INVALID_PARAMETER, i));
                break;
            }
            if let Err(s) = check_register(assoc.name, assoc.value) {
                result = Err((s, i));
                break;
            }
            if let Err(s) = vp.set_register(assoc.name, assoc.value) {
                result = Err((s, i));
                break;
            }
        }
        // Clearing the suspend registers lets the VP run into its next intercept.
        if auto_halt && vp.running() && vp.pending.is_empty() {
            let _ = vp.pending.push(Intercept::Halt, ALLOC);
        }
        if let Some(notice) = self.run_vp(partition_id, header.vp_index) {
            let _ = self.outbox.push(notice, ALLOC);
        }
        result
    }
}
