// SPDX-License-Identifier: GPL-2.0

//! The simulated hypervisor's state and its hypercall decoder.

use super::ALLOC;
use kernel::{
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

use crate::{
    ffi,
    hv::{
        abi::{
            code,
            message_type,
            register,
            vp_state,
            vp_state_page,
            CreatePartitionIn,
            CreateVpIn,
            DepositMemoryIn,
            GetPartitionPropertyExIn,
            GetPartitionPropertyIn,
            GpaPagesIn,
            MapVpStatePageIn,
            MapVpStatePageOut,
            Message,
            PartitionIdOut,
            RegisterAssoc,
            SetPartitionPropertyIn,
            UnmapVpStatePageIn,
            VpRegistersIn,
            VpStateIn,
            WithdrawMemoryIn,
            HV_PARTITION_ID_SELF, //
        },
        control::Control,
        status::{
            HvResult,
            HvStatus, //
        },
        HV_HYP_PAGE_SIZE,
    },
    transport::{
        HvPage,
        MessageHandler, //
    },
};

use super::port::{
    EventRings,
    Port, //
};
use super::property;
use super::slat::{
    map_flags,
    Fault,
    Slat, //
};

/// Pages the hypervisor takes from the root's pool for each partition it creates.
pub(super) const PARTITION_ROOT_PAGES: usize = 1;
/// Pages it takes from a partition's pool to initialise it.
pub(super) const INITIALIZE_PAGES: usize = 200;
/// Pages it takes for each VP, besides the VP's two state pages.
pub(super) const VP_PAGES: usize = 60;
/// The most VPs a partition may have.
pub(super) const MAX_VPS: u32 = 256;
/// Hypercall codes counted one by one; higher codes share the last counter.
pub(super) const COUNTED_CODES: usize = 0x140;
/// Bytes of input kept from the last call of each code.
pub(super) const LAST_INPUT_BYTES: usize = 128;

/// A call's outcome: the reps done, or the status it stopped with and the reps done by then.
pub(super) type RepResult = core::result::Result<usize, (HvStatus, usize)>;

/// Pages deposited by the root, named by frame number.
pub(super) struct Pool {
    /// Deposited and not in use.
    pub(super) free: KVec<u64>,
    /// In use by the hypervisor.
    pub(super) used: usize,
}

impl Pool {
    const fn new() -> Self {
        Self {
            free: KVec::new(),
            used: 0,
        }
    }

    /// Takes `count` pages, or answers `short` (the status that asks for memory).
    fn take(&mut self, count: usize, short: HvStatus) -> core::result::Result<KVec<u64>, HvStatus> {
        if self.free.len() < count {
            return Err(short);
        }
        let mut taken =
            KVec::with_capacity(count, ALLOC).map_err(|_| HvStatus::INSUFFICIENT_BUFFERS)?;
        for _ in 0..count {
            if let Some(pfn) = self.free.pop() {
                // Capacity was reserved above: this cannot fail.
                let _ = taken.push(pfn, ALLOC);
            }
        }
        self.used += count;
        Ok(taken)
    }

    /// Gives pages taken with [`Pool::take`] back to the free list.
    fn give_back(&mut self, pages: KVec<u64>) {
        self.used -= pages.len();
        for pfn in pages {
            // The list had room for these pages before they were taken; a failure here could
            // only lose a page to the hypervisor, never free it twice.
            let _ = self.free.push(pfn, ALLOC);
        }
    }
}

/// A simulated partition's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PartitionState {
    Created,
    Initialized,
    Finalized,
}

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
    pages: KVec<u64>,
    /// What the guest does when the VP runs, oldest first (see [`Intercept`]).
    pub(super) pending: KVec<Intercept>,
    /// The RIP at which the first pending access last faulted with a GPA intercept: it is
    /// tried again unless the root moved RIP meanwhile (it emulated the access).
    faulted_at: Option<u64>,
    /// The states set with `HVCALL_SET_VP_STATE`, by type (empty: never set).
    states: [KVec<u8>; 5],
    /// Level-triggered vectors in service, oldest first.
    pub(super) in_service: KVec<u32>,
}

impl Vp {
    /// A register's value (zero if never written).
    fn register(&self, name: u32) -> [u64; 2] {
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
            let Intercept::Access { gpa, write } = action else {
                let _ = self.pending.remove(0);
                break action.message(partition_id, self, message_type::UNMAPPED_GPA);
            };
            let rip = self.register(X64_RIP)[0];
            if self.faulted_at.take().is_some_and(|at| at != rip) {
                // The root emulated the access and moved on.
                let _ = self.pending.remove(0);
                continue;
            }
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
                    self.faulted_at = Some(rip);
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

/// A simulated partition.
pub(super) struct Partition {
    pub(super) id: u64,
    /// The create-partition input, as received.
    pub(super) created_with: CreatePartitionIn,
    pub(super) state: PartitionState,
    pub(super) pool: Pool,
    /// Pool pages held by the partition itself once initialised.
    own_pages: KVec<u64>,
    /// The root-pool pages the partition holds.
    root_pages: KVec<u64>,
    pub(super) vps: KVec<Vp>,
    /// Properties set, by code.
    pub(super) properties: KVec<(u32, u64)>,
    /// Virtual interrupts asserted.
    pub(super) interrupts_asserted: u64,
    /// EXTINTs withdrawn (`HVCALL_CLEAR_VIRTUAL_INTERRUPT`).
    pub(super) interrupts_cleared: u64,
    /// An EXTINT is pending.
    pub(super) extint_pending: bool,
    /// Doorbells of the root's ports connected for this partition.
    pub(super) doorbells: u32,
    /// Intercepts installed: `(access type mask, intercept type, parameter)`.
    pub(super) intercepts: KVec<(u32, u32, u64)>,
    /// The guest physical address space.
    pub(super) slat: Slat,
}

impl Partition {
    /// Drops every GPA mapping; the tables' pages go back to the pool.
    fn clear_slat(&mut self) {
        let pages = self.slat.clear();
        self.pool.give_back(pages);
    }
}

/// The last call of one code.
pub(super) struct LastCall {
    pub(super) control: u64,
    pub(super) input: [u8; LAST_INPUT_BYTES],
}

/// The whole simulated machine.
pub(crate) struct Machine {
    pub(super) root_pool: Pool,
    next_id: u64,
    pub(super) partitions: KVec<Partition>,
    /// Calls made, by code.
    pub(super) calls: [u64; COUNTED_CODES],
    /// The last call of each code.
    pub(super) last: KVec<(u16, LastCall)>,
    /// Messages for the root, delivered once the machine's lock is dropped.
    pub(super) outbox: KVec<Message>,
    /// Where the root takes its messages.
    pub(super) handler: Option<MessageHandler>,
    /// Every VP that runs with no intercept waiting halts at once (for benchmarks).
    pub(super) auto_halt: bool,
    /// The root's ports.
    pub(super) ports: KVec<Port>,
    /// The root's SynIC event rings.
    pub(super) event_rings: EventRings,
}

impl Machine {
    pub(crate) const fn new() -> Self {
        Self {
            root_pool: Pool::new(),
            next_id: 1,
            partitions: KVec::new(),
            calls: [0; COUNTED_CODES],
            last: KVec::new(),
            outbox: KVec::new(),
            handler: None,
            auto_halt: false,
            ports: KVec::new(),
            event_rings: EventRings::new(),
        }
    }

    /// Frees every page the machine holds and forgets every partition.
    pub(super) fn power_off(&mut self) {
        for p in core::mem::take(&mut self.partitions) {
            release_pages(p.pool.free);
            release_pages(p.own_pages);
            release_pages(p.root_pages);
            let mut slat = p.slat;
            release_pages(slat.clear());
            for vp in p.vps {
                release_pages(vp.pages);
            }
        }
        release_pages(core::mem::take(&mut self.root_pool.free));
        self.root_pool.used = 0;
        self.last = KVec::new();
        self.outbox = KVec::new();
        self.handler = None;
        self.ports = KVec::new();
        self.event_rings.clear();
    }

    fn count(&mut self, code: u16) {
        let i = usize::from(code).min(COUNTED_CODES - 1);
        self.calls[i] += 1;
    }

    fn record(&mut self, code: u16, control: u64, input: &[u8]) {
        let mut call = LastCall {
            control,
            input: [0; LAST_INPUT_BYTES],
        };
        let n = input.len().min(LAST_INPUT_BYTES);
        call.input[..n].copy_from_slice(&input[..n]);
        if let Some(slot) = self.last.iter_mut().find(|(c, _)| *c == code) {
            slot.1 = call;
        } else {
            // Without memory the record is lost, and only the tests' view with it.
            let _ = self.last.push((code, call), ALLOC);
        }
    }

    /// Takes a call whose input and output are in memory.
    pub(super) fn hypercall(
        &mut self,
        control: Control,
        input: &HvPage,
        output: &mut HvPage,
    ) -> HvResult {
        let code = control.code();
        self.count(code);
        self.record(code, control.raw(), &input.0);
        let reps = control.rep_count();
        let is_rep = matches!(
            code,
            code::DEPOSIT_MEMORY
                | code::WITHDRAW_MEMORY
                | code::GET_VP_REGISTERS
                | code::SET_VP_REGISTERS
                | code::MAP_GPA_PAGES
                | code::UNMAP_GPA_PAGES
                | code::GET_VP_CPUID_VALUES
                | code::GET_GPA_PAGES_ACCESS_STATES
        );
        let var_header = matches!(code, code::GET_VP_STATE | code::SET_VP_STATE);
        if control.has_reserved_bits()
            || control.is_fast()
            || control.is_nested()
            || (control.var_header_bytes() != 0 && !var_header)
            || is_rep != (reps != 0)
            || control.rep_start() >= reps.max(1)
        {
            return HvResult::new(HvStatus::INVALID_HYPERCALL_INPUT, 0);
        }
        let start = usize::from(control.rep_start());
        let count = usize::from(reps);
        let result = match code {
            code::CREATE_PARTITION => self.create_partition(input, output),
            code::DEPOSIT_MEMORY => self.deposit(input, start, count),
            code::WITHDRAW_MEMORY => self.withdraw(input, output, start, count),
            code::CREATE_VP => self.create_vp(input),
            code::MAP_VP_STATE_PAGE => self.map_vp_state_page(input, output),
            code::UNMAP_VP_STATE_PAGE => self.unmap_vp_state_page(input),
            code::GET_PARTITION_PROPERTY => self.get_property(input, output),
            code::GET_PARTITION_PROPERTY_EX => self.get_property_ex(input, output),
            code::SET_PARTITION_PROPERTY => self.set_property(input),
            code::GET_VP_REGISTERS => self.get_vp_registers(input, output, start, count),
            code::SET_VP_REGISTERS => self.set_vp_registers(input, start, count),
            code::MAP_GPA_PAGES => self.map_gpa_pages(input, start, count),
            code::INSTALL_INTERCEPT => self.install_intercept(input),
            code::GET_GPA_PAGES_ACCESS_STATES => {
                self.gpa_access_states(input, output, start, count)
            }
            code::ASSERT_VIRTUAL_INTERRUPT => self.assert_virtual_interrupt(input),
            code::CLEAR_VIRTUAL_INTERRUPT => read(input, 0).and_then(|id| {
                self.clear_virtual_interrupt(id)
                    .map(|()| 0)
                    .map_err(|s| (s, 0))
            }),
            code::CREATE_PORT => self.create_port(input),
            code::CONNECT_PORT => self.connect_port(input),
            code::GET_VP_STATE | code::SET_VP_STATE => self.vp_state(
                input,
                output,
                control.var_header_bytes(),
                code == code::SET_VP_STATE,
            ),
            code::GET_VP_CPUID_VALUES => self.get_vp_cpuid_values(input, output, start, count),
            code::UNMAP_GPA_PAGES => self.unmap_gpa_pages(input, start, count),
            _ => Err((HvStatus::INVALID_HYPERCALL_CODE, 0)),
        };
        // Rep counts fit in 12 bits, so every `done` fits in a u16.
        match result {
            Ok(done) => HvResult::new(HvStatus::SUCCESS, done as u16),
            Err((status, done)) => HvResult::new(status, done as u16),
        }
    }

    /// Takes a fast call.
    pub(super) fn fast_hypercall(&mut self, code: u16, input1: u64, input2: u64) -> HvResult {
        self.count(code);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&input1.to_ne_bytes());
        bytes[8..].copy_from_slice(&input2.to_ne_bytes());
        self.record(code, Control::new(code).fast().raw(), &bytes);
        let result = match code {
            code::INITIALIZE_PARTITION => self.initialize(input1),
            code::FINALIZE_PARTITION => self.finalize(input1),
            code::DELETE_PARTITION => self.delete(input1),
            code::DISCONNECT_PORT => self.disconnect_port(input1, input2),
            code::CLEAR_VIRTUAL_INTERRUPT => self.clear_virtual_interrupt(input1),
            code::NOTIFY_PORT_RING_EMPTY => self.notify_port_ring_empty(input1),
            code::DELETE_PORT => self.delete_port(input1, input2),
            code::DELETE_VP => u32::try_from(input2)
                .map_err(|_| HvStatus::INVALID_VP_INDEX)
                .and_then(|index| self.delete_vp(input1, index)),
            _ => Err(HvStatus::INVALID_HYPERCALL_CODE),
        };
        HvResult::new(result.err().unwrap_or(HvStatus::SUCCESS), 0)
    }

    pub(super) fn partition(&mut self, id: u64) -> core::result::Result<&mut Partition, HvStatus> {
        self.partitions
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or(HvStatus::INVALID_PARTITION_ID)
    }

    pub(super) fn vp(
        &mut self,
        partition_id: u64,
        index: u32,
    ) -> core::result::Result<&mut Vp, HvStatus> {
        self.partition(partition_id)?
            .vps
            .iter_mut()
            .find(|vp| vp.index == index)
            .ok_or(HvStatus::INVALID_VP_INDEX)
    }

    fn create_partition(&mut self, input: &HvPage, output: &mut HvPage) -> RepResult {
        let created_with: CreatePartitionIn = read(input, 0)?;
        // Isolation type (bits 0-4): only "none" is simulated.
        if created_with.isolation_properties & 0x1f != 0 || created_with.padding != 0 {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        self.partitions
            .reserve(1, ALLOC)
            .map_err(|_| (HvStatus::INSUFFICIENT_BUFFERS, 0))?;
        let root_pages = self
            .root_pool
            .take(PARTITION_ROOT_PAGES, HvStatus::INSUFFICIENT_ROOT_MEMORY)
            .map_err(|s| (s, 0))?;
        let id = self.next_id;
        let partition = Partition {
            id,
            created_with,
            state: PartitionState::Created,
            pool: Pool::new(),
            own_pages: KVec::new(),
            root_pages,
            vps: KVec::new(),
            properties: KVec::new(),
            intercepts: KVec::new(),
            interrupts_asserted: 0,
            interrupts_cleared: 0,
            extint_pending: false,
            doorbells: 0,
            slat: Slat::new(),
        };
        // Room was reserved above.
        let _ = self.partitions.push(partition, ALLOC);
        self.next_id += 1;
        write(output, 0, &PartitionIdOut { partition_id: id })
    }

    fn initialize(&mut self, id: u64) -> core::result::Result<(), HvStatus> {
        let p = self.partition(id)?;
        if p.state != PartitionState::Created {
            return Err(HvStatus::INVALID_PARTITION_STATE);
        }
        p.own_pages = p
            .pool
            .take(INITIALIZE_PAGES, HvStatus::INSUFFICIENT_MEMORY)?;
        p.state = PartitionState::Initialized;
        Ok(())
    }

    fn finalize(&mut self, id: u64) -> core::result::Result<(), HvStatus> {
        let p = self.partition(id)?;
        if p.state != PartitionState::Initialized {
            return Err(HvStatus::INVALID_PARTITION_STATE);
        }
        for vp in core::mem::take(&mut p.vps) {
            p.pool.give_back(vp.pages);
        }
        p.pool.give_back(core::mem::take(&mut p.own_pages));
        p.clear_slat();
        p.state = PartitionState::Finalized;
        Ok(())
    }

    fn delete(&mut self, id: u64) -> core::result::Result<(), HvStatus> {
        let i = self
            .partitions
            .iter()
            .position(|p| p.id == id)
            .ok_or(HvStatus::INVALID_PARTITION_ID)?;
        if self.partitions[i].state == PartitionState::Initialized {
            return Err(HvStatus::INVALID_PARTITION_STATE);
        }
        let mut p = self
            .partitions
            .remove(i)
            .map_err(|_| HvStatus::INVALID_PARTITION_ID)?;
        p.clear_slat();
        self.root_pool.give_back(p.root_pages);
        // Pages the root did not withdraw stay with the hypervisor, in its own pool.
        for pfn in p.pool.free {
            let _ = self.root_pool.free.push(pfn, ALLOC);
        }
        Ok(())
    }

    fn deposit(&mut self, input: &HvPage, start: usize, count: usize) -> RepResult {
        let header: DepositMemoryIn = read(input, 0)?;
        let pool = if header.partition_id == HV_PARTITION_ID_SELF {
            &mut self.root_pool
        } else {
            &mut self
                .partition(header.partition_id)
                .map_err(|s| (s, start))?
                .pool
        };
        for i in start..count {
            let pfn = input
                .read_u64(8, i)
                .map_err(|_| (HvStatus::INVALID_PARAMETER, i))?;
            if pfn == 0 {
                return Err((HvStatus::INVALID_PARAMETER, i));
            }
            pool.free
                .push(pfn, ALLOC)
                .map_err(|_| (HvStatus::INSUFFICIENT_BUFFERS, i))?;
        }
        Ok(count)
    }

    fn withdraw(
        &mut self,
        input: &HvPage,
        output: &mut HvPage,
        start: usize,
        count: usize,
    ) -> RepResult {
        let header: WithdrawMemoryIn = read(input, 0)?;
        let p = self
            .partition(header.partition_id)
            .map_err(|s| (s, start))?;
        for i in start..count {
            let Some(pfn) = p.pool.free.pop() else {
                return Err((HvStatus::NO_RESOURCES, i));
            };
            if output.write_u64(0, i, pfn).is_err() {
                let _ = p.pool.free.push(pfn, ALLOC);
                return Err((HvStatus::INVALID_PARAMETER, i));
            }
        }
        Ok(count)
    }

    fn create_vp(&mut self, input: &HvPage) -> RepResult {
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
            .take(VP_PAGES + 2, HvStatus::INSUFFICIENT_MEMORY)
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
        };
        // Room was reserved above.
        let _ = p.vps.push(vp, ALLOC);
        Ok(0)
    }

    fn delete_vp(&mut self, partition_id: u64, index: u32) -> core::result::Result<(), HvStatus> {
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

    fn map_vp_state_page(&mut self, input: &HvPage, output: &mut HvPage) -> RepResult {
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

    fn unmap_vp_state_page(&mut self, input: &HvPage) -> RepResult {
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

    fn get_property(&mut self, input: &HvPage, output: &mut HvPage) -> RepResult {
        let args: GetPartitionPropertyIn = read(input, 0)?;
        let value = self
            .property(args.partition_id, args.property_code)
            .map_err(|s| (s, 0))?;
        write(output, 0, &value)
    }

    /// A property's value: as set, or its default.
    fn property(&mut self, partition_id: u64, code: u32) -> core::result::Result<u64, HvStatus> {
        let value = if partition_id == HV_PARTITION_ID_SELF {
            property::default(code, None)
        } else {
            let p = self.partition(partition_id)?;
            match p.properties.iter().find(|(c, _)| *c == code) {
                Some(&(_, v)) => Some(v),
                None => property::default(code, Some(&p.created_with)),
            }
        };
        value.ok_or(HvStatus::UNKNOWN_PROPERTY)
    }

    fn get_property_ex(&mut self, input: &HvPage, output: &mut HvPage) -> RepResult {
        let args: GetPartitionPropertyExIn = read(input, 0)?;
        if args.partition_id != HV_PARTITION_ID_SELF {
            self.partition(args.partition_id).map_err(|s| (s, 0))?;
        }
        match args.property_code {
            // One bank of VMM capabilities, none of them offered.
            property::VMM_CAPABILITIES => write(output, 0, &[1u64, 0]),
            property::ASSIGNABLE_SYNTHETIC_PROC_FEATURES => write(output, 0, &u64::MAX),
            _ => Err((HvStatus::UNKNOWN_PROPERTY, 0)),
        }
    }

    fn set_property(&mut self, input: &HvPage) -> RepResult {
        let args: SetPartitionPropertyIn = read(input, 0)?;
        let p = self.partition(args.partition_id).map_err(|s| (s, 0))?;
        match property::settable(args.property_code) {
            None => return Err((HvStatus::UNKNOWN_PROPERTY, 0)),
            Some(property::Set::Never) => return Err((HvStatus::ACCESS_DENIED, 0)),
            Some(property::Set::Early) if p.state != PartitionState::Created => {
                return Err((HvStatus::INVALID_PARTITION_STATE, 0))
            }
            Some(_) => {}
        }
        let value = args.property_value;
        match p
            .properties
            .iter_mut()
            .find(|(c, _)| *c == args.property_code)
        {
            Some(slot) => slot.1 = value,
            None => p
                .properties
                .push((args.property_code, value), ALLOC)
                .map_err(|_| (HvStatus::INSUFFICIENT_BUFFERS, 0))?,
        }
        Ok(0)
    }

    fn map_gpa_pages(&mut self, input: &HvPage, start: usize, count: usize) -> RepResult {
        let header: GpaPagesIn = read(input, 0)?;
        let flags = header.flags;
        // Large pages are not simulated; unknown bits are refused.
        if flags & !map_flags::KNOWN != 0 || flags & map_flags::LARGE_PAGE != 0 {
            return Err((HvStatus::INVALID_PARAMETER, start));
        }
        let p = self
            .partition(header.target_partition_id)
            .map_err(|s| (s, start))?;
        if p.state == PartitionState::Finalized {
            return Err((HvStatus::INVALID_PARTITION_STATE, start));
        }
        let base = header.target_gpa_base;
        for i in start..count {
            let pfn = input
                .read_u64(size_of::<GpaPagesIn>(), i)
                .map_err(|_| (HvStatus::INVALID_PARAMETER, i))?;
            let gfn = base
                .checked_add(i as u64)
                .filter(|gfn| *gfn < 1 << 40)
                .ok_or((HvStatus::INVALID_PARAMETER, i))?;
            if pfn == 0 && flags & map_flags::NO_ACCESS == 0 {
                return Err((HvStatus::INVALID_PARAMETER, i));
            }
            let pool = &mut p.pool;
            p.slat
                .map(gfn, pfn, flags, || {
                    let mut page = pool.take(1, HvStatus::INSUFFICIENT_MEMORY)?;
                    page.pop().ok_or(HvStatus::INSUFFICIENT_MEMORY)
                })
                .map_err(|s| (s, i))?;
        }
        Ok(count)
    }

    fn unmap_gpa_pages(&mut self, input: &HvPage, start: usize, count: usize) -> RepResult {
        let header: GpaPagesIn = read(input, 0)?;
        let p = self
            .partition(header.target_partition_id)
            .map_err(|s| (s, start))?;
        let base = header.target_gpa_base;
        for i in start..count {
            let pool = &mut p.pool;
            p.slat.unmap(base.wrapping_add(i as u64), |pfn| {
                let mut page = KVec::new();
                // Room for one is all the give-back needs; without it the page stays used.
                if page.push(pfn, ALLOC).is_ok() {
                    pool.give_back(page);
                }
            });
        }
        Ok(count)
    }

    fn install_intercept(&mut self, input: &HvPage) -> RepResult {
        // `struct hv_input_install_intercept`: partition, access type mask, intercept type,
        // parameter.
        let partition_id: u64 = read(input, 0)?;
        let access: u32 = read(input, 8)?;
        let kind: u32 = read(input, 12)?;
        let parameter: u64 = read(input, 16)?;
        // Access types: read, write, execute (bits 0-2).
        if access == 0 || access & !0x7 != 0 {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        let p = self.partition(partition_id).map_err(|s| (s, 0))?;
        p.intercepts
            .push((access, kind, parameter), ALLOC)
            .map_err(|_| (HvStatus::INSUFFICIENT_BUFFERS, 0))?;
        Ok(0)
    }

    fn gpa_access_states(
        &mut self,
        input: &HvPage,
        output: &mut HvPage,
        start: usize,
        count: usize,
    ) -> RepResult {
        // `struct hv_input_get_gpa_pages_access_state`: partition, flags, first page; one
        // byte of output per page.
        let partition_id: u64 = read(input, 0)?;
        let flags: u64 = read(input, 8)?;
        let base: u64 = read(input, 16)?;
        // Setting and clearing the same bit at once makes no sense.
        if flags & !0xf != 0 || flags & 0x3 == 0x3 || flags & 0xc == 0xc {
            return Err((HvStatus::INVALID_PARAMETER, start));
        }
        let p = self.partition(partition_id).map_err(|s| (s, start))?;
        for i in start..count {
            let gfn = base.wrapping_add(i as u64);
            let state = p.slat.access_state(gfn, flags);
            *output
                .0
                .get_mut(i)
                .ok_or((HvStatus::INVALID_PARAMETER, i))? = state;
        }
        Ok(count)
    }

    fn get_vp_cpuid_values(
        &mut self,
        input: &HvPage,
        output: &mut HvPage,
        start: usize,
        count: usize,
    ) -> RepResult {
        // `struct hv_input_get_vp_cpuid_values`: partition, VP, flags, then 24-byte
        // `hv_cpuid_leaf_info` reps (eax, ecx, xfem, xss); 16 bytes of output each.
        let partition_id: u64 = read(input, 0)?;
        let vp_index: u32 = read(input, 8)?;
        self.vp(partition_id, vp_index).map_err(|s| (s, start))?;
        for i in start..count {
            let leaf: u32 = input
                .read(24 + 24 * i)
                .map_err(|_| (HvStatus::INVALID_PARAMETER, i))?;
            output
                .write(16 * i, &cpuid(leaf))
                .map_err(|_| (HvStatus::INVALID_PARAMETER, i))?;
        }
        Ok(count)
    }

    fn vp_state(
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
        // Never set: zero, but the local APIC's id (the VP index) and version.
        let initial = (u64::from(vp.index) | 0x0005_0014 << 32).to_le_bytes();
        for i in 0..size {
            let byte = match stored.get(i) {
                Some(&b) => b,
                None if slot == 0 && i < initial.len() => initial[i],
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

    fn get_vp_registers(
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

    fn set_vp_registers(&mut self, input: &HvPage, start: usize, count: usize) -> RepResult {
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

/// Reads a call's fixed input.
pub(super) fn read<T: FromBytes>(
    page: &HvPage,
    offset: usize,
) -> core::result::Result<T, (HvStatus, usize)> {
    page.read(offset)
        .map_err(|_| (HvStatus::INVALID_PARAMETER, 0))
}

/// Writes a call's fixed output.
fn write<T: AsBytes>(page: &mut HvPage, offset: usize, value: &T) -> RepResult {
    page.write(offset, value)
        .map(|()| 0)
        .map_err(|_| (HvStatus::INVALID_PARAMETER, 0))
}

/// Which of a VP's state pages a `hv_vp_state_page_type` names.
fn state_page_slot(type_: u16) -> core::result::Result<usize, (HvStatus, usize)> {
    match type_ {
        vp_state_page::REGISTERS => Ok(0),
        vp_state_page::INTERCEPT_MESSAGE => Ok(1),
        _ => Err((HvStatus::INVALID_PARAMETER, 0)),
    }
}

/// Zeroes a page the hypervisor owns.
fn zero_page(pfn: u64) {
    // SAFETY: The page was deposited: it came from the kernel's page allocator, so it is in the
    // linear map, and it belongs to the hypervisor, so nothing else writes it now.
    unsafe {
        core::ptr::write_bytes(
            ffi::mshv_shim_page_address(pfn).cast::<u8>(),
            0,
            HV_HYP_PAGE_SIZE,
        )
    };
}

/// Hands pages back to the kernel (the machine is powering off).
fn release_pages(pages: KVec<u64>) {
    for pfn in pages {
        // SAFETY: Deposited pages came from the driver's `mshv_shim_page_alloc` and were handed
        // over to the hypervisor, which is going away: nothing uses them any more.
        unsafe { ffi::mshv_shim_page_free(pfn) };
    }
}

impl core::fmt::Display for Partition {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let c = &self.created_with;
        let (flags, features, xsave, isolation, compat) = (
            c.flags,
            c.disabled_processor_features,
            c.disabled_processor_xsave_features,
            c.isolation_properties,
            c.compatibility_version,
        );
        let state = match self.state {
            PartitionState::Created => "created",
            PartitionState::Initialized => "initialized",
            PartitionState::Finalized => "finalized",
        };
        write!(
            f,
            "{} {} flags={:#x} isolation={:#x} compatibility={:#x} \
             disabled_features={:#x},{:#x} disabled_xsave={:#x} \
             pool_free={} pool_used={} vps={} gpa_tables={} intercepts={} interrupts={} \
             cleared={} doorbells={}",
            self.id,
            state,
            flags,
            isolation,
            compat,
            features[0],
            features[1],
            xsave,
            self.pool.free.len(),
            self.pool.used,
            self.vps.len(),
            self.slat.tables(),
            self.intercepts.len(),
            self.interrupts_asserted,
            self.interrupts_cleared,
            self.doorbells
        )
    }
}

/// What tests can make a VP's guest do (see the debugfs `inject` file): take an intercept, or
/// access memory, which completes on its own where the partition's address space allows it.
#[derive(Clone, Copy)]
pub(super) enum Intercept {
    /// The guest wrote `value` (one byte) to I/O `port`.
    IoWrite { port: u16, value: u64 },
    /// The guest read guest physical address `gpa`, or wrote `len` bytes of `value` there:
    /// where nothing is mapped, an unmapped-GPA intercept; where the mapping denies it, a GPA
    /// intercept (tried again when the VP next runs unless RIP moved).
    Access { gpa: u64, write: Option<(u32, u64)> },
    /// The guest halted.
    Halt,
    /// The guest took an exception it cannot recover from.
    UnrecoverableException,
}

/// `HV_X64_REGISTER_RIP`.
const X64_RIP: u32 = 0x0002_0010;

impl Message {
    /// A message of `message_type` from `sender`, its payload zero.
    pub(super) fn zeroed(message_type: u32, sender: u64) -> Self {
        Self {
            message_type,
            payload_size: 0,
            message_flags: 0,
            reserved: [0; 2],
            sender,
            payload: [0; crate::hv::abi::HV_MESSAGE_PAYLOAD_QWORD_COUNT],
        }
    }
}

impl Intercept {
    /// The intercept message: the x64 intercept header (VP index, instruction length, access
    /// type, RIP) and the kind's own fields, laid out as `hv_x64_*_intercept_message`.
    /// An access's message is of type `access_type` (an unmapped-GPA or a GPA intercept).
    fn message(self, partition_id: u64, vp: &Vp, access_type: u32) -> Message {
        let (kind, size) = match self {
            Self::IoWrite { .. } => (message_type::X64_IO_PORT_INTERCEPT, 128),
            Self::Access { .. } => (access_type, 80),
            Self::Halt => (message_type::X64_HALT, 40),
            Self::UnrecoverableException => (message_type::UNRECOVERABLE_EXCEPTION, 40),
        };
        let mut m = Message::zeroed(kind, partition_id);
        m.payload_size = size;
        let access = u64::from(matches!(
            self,
            Self::IoWrite { .. } | Self::Access { write: Some(_), .. }
        ));
        // vp_index, instruction_length (1) and intercept_access_type.
        m.payload[0] = u64::from(vp.index) | 1 << 32 | access << 40;
        m.payload[3] = vp.register(X64_RIP)[0];
        match self {
            Self::IoWrite { port, value } => {
                // port_number, access_info (access_size 1), instruction_byte_count; rax.
                m.payload[5] = u64::from(port) | 1 << 16 | 1 << 24;
                m.payload[6] = value;
            }
            Self::Access { gpa, .. } => {
                // guest_physical_address.
                m.payload[7] = gpa;
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
        let vp = self.vp(partition_id, vp_index).map_err(|_| ENOENT)?;
        vp.pending.push(intercept, ALLOC)?;
        if let Some(notice) = self.run_vp(partition_id, vp_index) {
            self.outbox.push(notice, ALLOC)?;
        }
        Ok(())
    }

    /// Lets VP `vp_index` of partition `partition_id` run (see [`Vp::run`]).
    fn run_vp(&mut self, partition_id: u64, vp_index: u32) -> Option<Message> {
        let p = self.partition(partition_id).ok()?;
        let vp = p.vps.iter_mut().find(|vp| vp.index == vp_index)?;
        vp.run(partition_id, &mut p.slat)
    }

    /// VP `vp_index`'s guest writes `len` bytes of `value` at `gpa`: where nothing is mapped,
    /// the doorbells the write matches ring (the VP goes on); otherwise it is an access.
    pub(super) fn guest_write(
        &mut self,
        partition_id: u64,
        vp_index: u32,
        gpa: u64,
        len: u32,
        value: u64,
    ) -> Result {
        self.vp(partition_id, vp_index).map_err(|_| ENOENT)?;
        let p = self.partition(partition_id).map_err(|_| ENOENT)?;
        if !p.slat.is_mapped(gpa >> 12) && self.ring_doorbells(partition_id, gpa, len, value) {
            return Ok(());
        }
        let write = Some((len, value));
        self.inject(partition_id, vp_index, Intercept::Access { gpa, write })
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
