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
            scheduler_type,
            CreatePartitionIn,
            DepositMemoryIn,
            GetPartitionPropertyExIn,
            GetPartitionPropertyIn,
            GetSystemPropertyIn,
            GpaPagesIn,
            Message,
            PartitionIdOut,
            SetPartitionPropertyIn,
            WithdrawMemoryIn,
            HV_PARTITION_ID_SELF,
            SYSTEM_PROPERTY_SCHEDULER_TYPE, //
        },
        control::Control,
        status::{
            HvResult,
            HvStatus,
            HV_MAX_CONTIGUOUS_ALLOCATION_PAGES, //
        },
        HV_HYP_PAGE_SIZE,
    },
    transport::HvPage,
};

use super::fail::Rules;
use super::port::Port;
use super::property;
use super::slat::{
    map_flags,
    Slat, //
};
use super::vp::{
    CpuidResult,
    Vp, //
};
use super::vsm::{
    Hosted,
    Vtl2Partition, //
};

/// Pages the hypervisor takes from the root's pool for each partition it creates.
pub(super) const PARTITION_ROOT_PAGES: usize = 1;
/// Pages it takes from a partition's pool to initialise it.
pub(super) const INITIALIZE_PAGES: usize = 200;
/// Pages it takes for each VP, besides the VP's two state pages.
pub(super) const VP_PAGES: usize = 60;
/// How many of a VP's pages must be physically contiguous, its state pages first: where the
/// simulated hypervisor asks for contiguous memory (`INSUFFICIENT_CONTIGUOUS_MEMORY`), as much
/// as the hypervisor may ask for at once.
pub(super) const VP_CONTIGUOUS_PAGES: usize = HV_MAX_CONTIGUOUS_ALLOCATION_PAGES as usize;
/// The most VPs a partition may have.
pub(super) const MAX_VPS: u32 = 256;
/// `HV_UNMAP_GPA_LARGE_PAGE`.
const UNMAP_LARGE_PAGE: u32 = 0x2;
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
    pub(super) fn take(
        &mut self,
        count: usize,
        short: HvStatus,
    ) -> core::result::Result<KVec<u64>, HvStatus> {
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

    /// Takes `count` pages of which the first `run` are physically contiguous (frames in a row,
    /// lowest first), or answers `short` when the pool holds fewer than `count` pages and
    /// `INSUFFICIENT_CONTIGUOUS_MEMORY` when it holds no such run.
    pub(super) fn take_contiguous(
        &mut self,
        count: usize,
        run: usize,
        short: HvStatus,
    ) -> core::result::Result<KVec<u64>, HvStatus> {
        let run = run.min(count);
        if self.free.len() < count || run == 0 {
            return self.take(count, short);
        }
        let free = self.free.as_mut_slice();
        free.sort_unstable();
        let mut length = 0;
        let mut end = None;
        for i in 0..free.len() {
            let follows = i > 0 && free[i - 1].checked_add(1) == Some(free[i]);
            length = if follows { length + 1 } else { 1 };
            if length == run {
                end = Some(i + 1);
                break;
            }
        }
        let end = end.ok_or(HvStatus::INSUFFICIENT_CONTIGUOUS_MEMORY)?;
        // The run goes last, its lowest frame at the very end: `take` pops it first.
        free[end - run..].rotate_left(run);
        let len = free.len();
        free[len - run..].reverse();
        self.take(count, short)
    }

    /// Gives pages taken with [`Pool::take`] back to the free list.
    pub(super) fn give_back(&mut self, pages: KVec<u64>) {
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
    /// The CPUID results registered (`HVCALL_REGISTER_INTERCEPT_RESULT`), oldest first.
    pub(super) cpuid_results: KVec<CpuidResult>,
    /// MSR intercept results registered.
    pub(super) msr_results: u32,
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
    /// Messages for the root, handed to the SynIC (`hosted_synic`) before the machine's lock is
    /// dropped.
    pub(super) outbox: KVec<Message>,
    /// The CPU the outbox goes to: the one whose event ring a doorbell rang (else the caller's).
    pub(super) outbox_cpu: Option<usize>,
    /// Every VP that runs with no intercept waiting halts at once (for benchmarks).
    pub(super) auto_halt: bool,
    /// `SET_PARTITION_PROPERTY` completes asynchronously: it answers `CALL_PENDING`, and its
    /// status comes in a completion message.
    pub(super) async_calls: bool,
    /// The root's ports.
    pub(super) ports: KVec<Port>,
    /// The failures tests inject (debugfs `fail`).
    pub(super) fail: Rules,
    /// The partition the kernel runs in.
    pub(super) hosted: Hosted,
    /// The scheduler the root is told of (`HV_SYSTEM_PROPERTY_SCHEDULER_TYPE`).
    pub(super) scheduler: u32,
    /// Its state, when it is a VTL2 partition.
    vtl2: Vtl2Partition,
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
            outbox_cpu: None,
            auto_halt: false,
            async_calls: false,
            ports: KVec::new(),
            fail: Rules::new(),
            hosted: Hosted::Root,
            scheduler: scheduler_type::CORE_SMT,
            vtl2: Vtl2Partition::new(),
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
        self.outbox_cpu = None;
        self.ports = KVec::new();
        self.fail.clear();
        self.vtl2.clear();
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
    ///
    /// # Safety
    ///
    /// As [`Hypervisor::hypercall`](crate::transport::Hypervisor::hypercall): every host frame
    /// the input names is the caller's to hand over for what the call does with it (the
    /// machine writes guest accesses and VP state through the kernel's linear map).
    pub(super) unsafe fn hypercall(
        &mut self,
        control: Control,
        input: &HvPage,
        output: &mut HvPage,
    ) -> HvResult {
        let code = control.code();
        self.count(code);
        self.record(code, control.raw(), &input.0);
        if let Some(status) = self.fail.check(code) {
            return HvResult::new(status, 0);
        }
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
        if self.hosted == Hosted::Vtl2 {
            // A VTL2 partition is not the root: it may make none of the calls below.
            let result = self
                .vtl2
                .hypercall(code, input, output, start, count)
                .unwrap_or(Err((HvStatus::ACCESS_DENIED, 0)));
            return rep_result(result);
        }
        let result = match code {
            code::CREATE_PARTITION => self.create_partition(input, output),
            code::DEPOSIT_MEMORY => self.deposit(input, start, count),
            code::WITHDRAW_MEMORY => self.withdraw(input, output, start, count),
            code::CREATE_VP => self.create_vp(input),
            code::MAP_VP_STATE_PAGE => self.map_vp_state_page(input, output),
            code::UNMAP_VP_STATE_PAGE => self.unmap_vp_state_page(input),
            code::GET_SYSTEM_PROPERTY => self.get_system_property(input, output),
            code::DISPATCH_VP => self.dispatch_vp(input, output),
            code::GET_PARTITION_PROPERTY => self.get_property(input, output),
            code::GET_PARTITION_PROPERTY_EX => self.get_property_ex(input, output),
            code::SET_PARTITION_PROPERTY if self.async_calls => self.set_property_async(input),
            code::SET_PARTITION_PROPERTY => self.set_property(input),
            code::GET_VP_REGISTERS => self.get_vp_registers(input, output, start, count),
            code::SET_VP_REGISTERS => self.set_vp_registers(input, start, count),
            code::MAP_GPA_PAGES => self.map_gpa_pages(input, start, count),
            code::INSTALL_INTERCEPT => self.install_intercept(input),
            code::REGISTER_INTERCEPT_RESULT => self.register_intercept_result(input),
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
            // x86's page tables only: arm64's stage 1 is not modelled.
            #[cfg(CONFIG_X86_64)]
            code::TRANSLATE_VIRTUAL_ADDRESS => self.translate_virtual_address(input, output),
            _ => Err((HvStatus::INVALID_HYPERCALL_CODE, 0)),
        };
        rep_result(result)
    }

    /// Counts a fast call and records its inputs (`calls`, `last`); for a call taken outside
    /// the machine (see `sint`), when the machine next runs.
    pub(super) fn account_fast(&mut self, code: u16, input1: u64, input2: u64) {
        self.count(code);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&input1.to_ne_bytes());
        bytes[8..].copy_from_slice(&input2.to_ne_bytes());
        self.record(code, Control::new(code).fast().raw(), &bytes);
    }

    /// Takes a fast call.
    pub(super) fn fast_hypercall(&mut self, code: u16, input1: u64, input2: u64) -> HvResult {
        self.account_fast(code, input1, input2);
        if let Some(status) = self.fail.check(code) {
            return HvResult::new(status, 0);
        }
        if self.hosted == Hosted::Vtl2 {
            let status = self.vtl2.fast_hypercall(code, input1);
            return HvResult::new(status.unwrap_or(HvStatus::ACCESS_DENIED), 0);
        }
        let result = match code {
            code::INITIALIZE_PARTITION => self.initialize(input1),
            code::FINALIZE_PARTITION => self.finalize(input1),
            code::DELETE_PARTITION => self.delete(input1),
            code::DISCONNECT_PORT => self.disconnect_port(input1, input2),
            code::CLEAR_VIRTUAL_INTERRUPT => self.clear_virtual_interrupt(input1),
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
            cpuid_results: KVec::new(),
            msr_results: 0,
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

    /// `HVCALL_GET_SYSTEM_PROPERTY`: of the system's properties, the scheduler's type.
    fn get_system_property(&mut self, input: &HvPage, output: &mut HvPage) -> RepResult {
        let args: GetSystemPropertyIn = read(input, 0)?;
        if args.reserved != 0 {
            return Err((HvStatus::INVALID_PARAMETER, 0));
        }
        match args.property_id {
            SYSTEM_PROPERTY_SCHEDULER_TYPE => write(output, 0, &u64::from(self.scheduler)),
            _ => Err((HvStatus::INVALID_PARAMETER, 0)),
        }
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

    /// `HVCALL_SET_PARTITION_PROPERTY`, completed asynchronously: `CALL_PENDING` at once, then
    /// a completion message with the call's status (`struct
    /// hv_async_completion_message_payload`), as a hypervisor that takes its time does.
    fn set_property_async(&mut self, input: &HvPage) -> RepResult {
        let status = match self.set_property(input) {
            Ok(_) => HvStatus::SUCCESS,
            Err((status, _)) => status,
        };
        let partition_id =
            read::<SetPartitionPropertyIn>(input, 0).map_or(0, |args| args.partition_id);
        let mut m = Message::zeroed(message_type::ASYNC_CALL_COMPLETION, 0);
        let mut payload = m.payload;
        payload[0] = partition_id;
        // The status, then `completion_count`.
        payload[1] = u64::from(status.0) | 1 << 32;
        m.payload = payload;
        m.payload_size = 24;
        self.outbox
            .push(m, ALLOC)
            .map_err(|_| (HvStatus::INSUFFICIENT_BUFFERS, 0))?;
        Err((HvStatus::CALL_PENDING, 0))
    }

    fn map_gpa_pages(&mut self, input: &HvPage, start: usize, count: usize) -> RepResult {
        let header: GpaPagesIn = read(input, 0)?;
        let flags = header.flags;
        // Unknown bits are refused; with `LARGE_PAGE` each entry maps 2 MiB (512 frames).
        if flags & !map_flags::KNOWN != 0 {
            return Err((HvStatus::INVALID_PARAMETER, start));
        }
        let large = flags & map_flags::LARGE_PAGE != 0;
        let stride = if large { 512 } else { 1 };
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
            // Every frame the entry maps is within the guest's address space.
            let gfn = (i as u64)
                .checked_mul(stride)
                .and_then(|off| base.checked_add(off))
                .filter(|gfn| gfn + stride <= 1 << 40)
                .ok_or((HvStatus::INVALID_PARAMETER, i))?;
            if pfn == 0 && flags & map_flags::NO_ACCESS == 0 {
                return Err((HvStatus::INVALID_PARAMETER, i));
            }
            let pool = &mut p.pool;
            let take_page = || {
                let mut page = pool.take(1, HvStatus::INSUFFICIENT_MEMORY)?;
                page.pop().ok_or(HvStatus::INSUFFICIENT_MEMORY)
            };
            if large {
                p.slat.map_large(gfn, pfn, flags, take_page)
            } else {
                p.slat.map(gfn, pfn, flags, take_page)
            }
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
        // `HV_UNMAP_GPA_LARGE_PAGE`: each entry unmaps a large page; no other flag is known.
        let large = match header.flags {
            0 => false,
            UNMAP_LARGE_PAGE => true,
            _ => return Err((HvStatus::INVALID_PARAMETER, start)),
        };
        for i in start..count {
            let pool = &mut p.pool;
            let give_back = |pfn| {
                let mut page = KVec::new();
                // Room for one is all the give-back needs; without it the page stays used.
                if page.push(pfn, ALLOC).is_ok() {
                    pool.give_back(page);
                }
            };
            if large {
                let gfn = base.wrapping_add((i as u64).wrapping_mul(512));
                p.slat.unmap_large(gfn, give_back).map_err(|s| (s, i))?;
            } else {
                p.slat.unmap(base.wrapping_add(i as u64), give_back);
            }
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
}

/// Reads a call's fixed input.
pub(super) fn read<T: FromBytes>(
    page: &HvPage,
    offset: usize,
) -> core::result::Result<T, (HvStatus, usize)> {
    page.read(offset)
        .map_err(|_| (HvStatus::INVALID_PARAMETER, 0))
}

/// A rep call's result as the hypercall instruction returns it.
fn rep_result(result: RepResult) -> HvResult {
    // Rep counts fit in 12 bits, so every `done` fits in a u16.
    match result {
        Ok(done) => HvResult::new(HvStatus::SUCCESS, done as u16),
        Err((status, done)) => HvResult::new(status, done as u16),
    }
}

/// Writes a call's fixed output.
pub(super) fn write<T: AsBytes>(page: &mut HvPage, offset: usize, value: &T) -> RepResult {
    page.write(offset, value)
        .map(|()| 0)
        .map_err(|_| (HvStatus::INVALID_PARAMETER, 0))
}

/// Zeroes a page the hypervisor owns.
pub(super) fn zero_page(pfn: u64) {
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
        // SAFETY: Deposited pages came from the driver's `mshv_shim_pages_alloc`, split into
        // single pages, and were handed over to the hypervisor, which is going away: nothing
        // uses them any more.
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
             cleared={} doorbells={} cpuid_results={} msr_results={}",
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
            self.doorbells,
            self.cpuid_results.len(),
            self.msr_results
        )
    }
}

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
