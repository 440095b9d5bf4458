// SPDX-License-Identifier: GPL-2.0

//! Hypercall codes and the layouts of the input and output pages of every hypercall the driver
//! issues, as Linux 7.3's `include/hyperv/hv*.h` define them. Each layout is checked against
//! those headers (see [`crate::abi`]).

// The hypervisor's ABI is declared whole, for both personalities and the simulated hypervisor
// alike: each module (the root's, the VTL's, either without the simulator) uses part of it.
#![allow(dead_code)]

// The KUnit suite's attribute.
#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
use kernel::prelude::*;

use crate::abi::{
    abi_structs,
    fact,
    Fact, //
};

/// The partition a hypercall is issued from (`HV_PARTITION_ID_SELF`).
pub(crate) const HV_PARTITION_ID_SELF: u64 = u64::MAX;
/// The VP a hypercall is issued from (`HV_VP_INDEX_SELF`).
pub(crate) const HV_VP_INDEX_SELF: u32 = 0xFFFF_FFFE;
/// `union hv_input_vtl`: which VTL's view a call takes.
pub(crate) mod input_vtl {
    /// The caller's own VTL.
    pub(crate) const OWN: u8 = 0;
    /// VTL0's (`use_target_vtl` set, `target_vtl` 0): a paravisor's "normal" VTL.
    pub(crate) const VTL0: u8 = 1 << 4;
}
/// `HV_COMPATIBILITY_21_H2`: the version the root asks new partitions to be compatible with.
pub(crate) const HV_COMPATIBILITY_21_H2: u32 = 0x0609;
/// `HV_PORT_TYPE_DOORBELL`: a port the root owns, rung by a guest's write.
pub(crate) const HV_PORT_TYPE_DOORBELL: u32 = 4;
/// `HV_SYNIC_DOORBELL_SINT_INDEX`: the SINT doorbells are signalled on.
pub(crate) const HV_SYNIC_DOORBELL_SINT_INDEX: u32 = 5;
/// `HV_SYNIC_INTERCEPTION_SINT_INDEX`: the SINT intercept messages come on (where they do not
/// come in the VP assist page).
pub(crate) const HV_SYNIC_INTERCEPTION_SINT_INDEX: u32 = 0;
/// `HV_SYNIC_SINT_COUNT`: SINTs per SynIC, and event rings per event ring page.
pub(crate) const HV_SYNIC_SINT_COUNT: usize = 16;
/// `HV_SYNIC_EVENT_RING_MESSAGE_COUNT`: ports one event ring holds.
pub(crate) const HV_SYNIC_EVENT_RING_MESSAGE_COUNT: usize = 63;
/// The SynIC: the values of its registers and the layout of its pages.
pub(crate) mod synic {
    /// The SINT the host's VMBus messages and events reach VTL2 on (upstream's
    /// `VTL2_VMBUS_SINT_INDEX`, in `mshv_vtl_main.c`).
    pub(crate) const VTL2_VMBUS_SINT: u32 = 7;
    /// `HV_EVENT_FLAGS_COUNT`: event flags per SINT.
    pub(crate) const EVENT_FLAGS: usize = 2048;
    /// SIMP, SIEFP and SIRBP: bit 0 enables the page; its frame is in bits 12-63.
    pub(crate) const PAGE_ENABLE: u64 = 1;
    /// SCONTROL: bit 0 enables the SynIC.
    pub(crate) const SCONTROL_ENABLE: u64 = 1;
    /// `union hv_synic_sint`: the vector (bits 0-7), `masked`, `auto_eoi`.
    pub(crate) const SINT_VECTOR: u64 = 0xff;
    pub(crate) const SINT_MASKED: u64 = 1 << 16;
    pub(crate) const SINT_AUTO_EOI: u64 = 1 << 17;
    /// `as_intercept`: the SINT's events reach the root as a `HVMSG_SYNIC_SINT_INTERCEPT`
    /// message on SINT0 naming it.
    pub(crate) const SINT_AS_INTERCEPT: u64 = 1 << 19;
}

/// A SynIC register of the calling VP (x86: a synthetic MSR; arm64: a VP register): each
/// transport reaches it as the hypervisor it is offers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SynicRegister {
    /// `HV_MSR_SCONTROL`.
    Scontrol,
    /// `HV_MSR_SIMP`: the message page.
    Simp,
    /// `HV_MSR_SIEFP`: the event flags page.
    Siefp,
    /// `HV_MSR_SIRBP`: the event ring page (the root's).
    Sirbp,
    /// `HV_MSR_EOM`: written, the end of a message (the hypervisor may deliver the next).
    Eom,
    /// `HV_MSR_SINT0 + n`.
    Sint(u32),
}

impl SynicRegister {
    /// The shim's number for it (`MSHV_SHIM_SYNIC_*`).
    pub(crate) fn index(self) -> u32 {
        match self {
            Self::Scontrol => 0,
            Self::Simp => 1,
            Self::Siefp => 2,
            Self::Eom => 3,
            Self::Sirbp => 4,
            Self::Sint(n) => 16 + n,
        }
    }
}

/// `HV_INTERRUPT_TYPE_EXTINT` (x86): an interrupt from the legacy PIC.
pub(crate) const HV_X64_INTERRUPT_TYPE_EXTINT: u32 = 7;
/// `HV_ANY_VP`.
pub(crate) const HV_ANY_VP: u32 = u32::MAX;
/// The number of processor feature banks in a create-partition input.
pub(crate) const HV_PARTITION_PROCESSOR_FEATURES_BANKS: usize = 2;

/// Hypercall codes (`HVCALL_*`).
pub(crate) mod code {
    pub(crate) const CREATE_PARTITION: u16 = 0x0040;
    pub(crate) const INITIALIZE_PARTITION: u16 = 0x0041;
    pub(crate) const FINALIZE_PARTITION: u16 = 0x0042;
    pub(crate) const DELETE_PARTITION: u16 = 0x0043;
    pub(crate) const GET_PARTITION_PROPERTY: u16 = 0x0044;
    pub(crate) const SET_PARTITION_PROPERTY: u16 = 0x0045;
    pub(crate) const DEPOSIT_MEMORY: u16 = 0x0048;
    pub(crate) const WITHDRAW_MEMORY: u16 = 0x0049;
    pub(crate) const MAP_GPA_PAGES: u16 = 0x004b;
    pub(crate) const UNMAP_GPA_PAGES: u16 = 0x004c;
    pub(crate) const INSTALL_INTERCEPT: u16 = 0x004d;
    pub(crate) const CREATE_VP: u16 = 0x004e;
    pub(crate) const DELETE_VP: u16 = 0x004f;
    pub(crate) const GET_VP_REGISTERS: u16 = 0x0050;
    pub(crate) const SET_VP_REGISTERS: u16 = 0x0051;
    pub(crate) const TRANSLATE_VIRTUAL_ADDRESS: u16 = 0x0052;
    pub(crate) const CLEAR_VIRTUAL_INTERRUPT: u16 = 0x0056;
    pub(crate) const REGISTER_INTERCEPT_RESULT: u16 = 0x0091;
    pub(crate) const ASSERT_VIRTUAL_INTERRUPT: u16 = 0x0094;
    pub(crate) const CREATE_PORT: u16 = 0x0095;
    pub(crate) const CONNECT_PORT: u16 = 0x0096;
    pub(crate) const DELETE_PORT: u16 = 0x0058;
    pub(crate) const DISCONNECT_PORT: u16 = 0x005b;
    pub(crate) const POST_MESSAGE: u16 = 0x005c;
    pub(crate) const SIGNAL_EVENT: u16 = 0x005d;
    pub(crate) const GET_SYSTEM_PROPERTY: u16 = 0x007b;
    pub(crate) const DISPATCH_VP: u16 = 0x00c2;
    pub(crate) const NOTIFY_PORT_RING_EMPTY: u16 = 0x008b;
    pub(crate) const SIGNAL_EVENT_DIRECT: u16 = 0x00c0;
    pub(crate) const POST_MESSAGE_DIRECT: u16 = 0x00c1;
    pub(crate) const GET_GPA_PAGES_ACCESS_STATES: u16 = 0x00c9;
    pub(crate) const MAP_VP_STATE_PAGE: u16 = 0x00e1;
    pub(crate) const UNMAP_VP_STATE_PAGE: u16 = 0x00e2;
    pub(crate) const GET_VP_STATE: u16 = 0x00e3;
    pub(crate) const SET_VP_STATE: u16 = 0x00e4;
    pub(crate) const GET_VP_CPUID_VALUES: u16 = 0x00f4;
    pub(crate) const GET_PARTITION_PROPERTY_EX: u16 = 0x0101;
}

/// `HV_SYSTEM_PROPERTY_SCHEDULER_TYPE`: which scheduler runs the VPs.
pub(crate) const SYSTEM_PROPERTY_SCHEDULER_TYPE: u32 = 15;

/// `enum hv_scheduler_type`.
pub(crate) mod scheduler_type {
    /// Classic, without SMT.
    pub(crate) const LP: u32 = 1;
    /// Classic, with SMT.
    pub(crate) const LP_SMT: u32 = 2;
    /// The core scheduler.
    pub(crate) const CORE_SMT: u32 = 3;
    /// The root's (integrated) scheduler: the root dispatches each VP (`HVCALL_DISPATCH_VP`).
    pub(crate) const ROOT: u32 = 4;
}

/// `HV_PARTITION_CREATION_FLAG_*`.
pub(crate) mod creation_flag {
    pub(crate) const SMT_ENABLED_GUEST: u64 = 1 << 0;
    pub(crate) const NESTED_VIRTUALIZATION_CAPABLE: u64 = 1 << 1;
    pub(crate) const GPA_SUPER_PAGES_ENABLED: u64 = 1 << 4;
    pub(crate) const EXO_PARTITION: u64 = 1 << 8;
    pub(crate) const LAPIC_ENABLED: u64 = 1 << 13;
    pub(crate) const INTERCEPT_MESSAGE_PAGE_ENABLED: u64 = 1 << 19;
    pub(crate) const X2APIC_CAPABLE: u64 = 1 << 22;
}

/// `enum hv_vp_state_page_type`.
pub(crate) mod vp_state_page {
    pub(crate) const REGISTERS: u16 = 0;
    pub(crate) const INTERCEPT_MESSAGE: u16 = 1;
}

/// Message types (`enum hv_message_type`).
pub(crate) mod message_type {
    pub(crate) const UNMAPPED_GPA: u32 = 0x8000_0000;
    pub(crate) const GPA_INTERCEPT: u32 = 0x8000_0001;
    pub(crate) const UNRECOVERABLE_EXCEPTION: u32 = 0x8000_0021;
    pub(crate) const OPAQUE_INTERCEPT: u32 = 0x8000_003f;
    pub(crate) const SYNIC_SINT_INTERCEPT: u32 = 0x8000_0061;
    pub(crate) const X64_IO_PORT_INTERCEPT: u32 = 0x8001_0000;
    pub(crate) const X64_APIC_EOI: u32 = 0x8001_0004;
    pub(crate) const X64_HALT: u32 = 0x8001_0007;
    /// A lower VTL's hypercall, intercepted.
    pub(crate) const HYPERCALL_INTERCEPT: u32 = 0x8000_0050;
    /// The root scheduler's: VPs that may be dispatched again, as a partition and a set of VP
    /// indices (`struct hv_vp_signal_bitset_scheduler_message`) ...
    pub(crate) const SCHEDULER_VP_SIGNAL_BITSET: u32 = 0x8000_0100;
    /// ... or as (partition, VP index) pairs (`struct hv_vp_signal_pair_scheduler_message`).
    pub(crate) const SCHEDULER_VP_SIGNAL_PAIR: u32 = 0x8000_0101;
    /// A call answered `HV_STATUS_CALL_PENDING` completed
    /// (`struct hv_async_completion_message_payload`).
    pub(crate) const ASYNC_CALL_COMPLETION: u32 = 0x8000_0070;
}

/// `HVCALL_TRANSLATE_VIRTUAL_ADDRESS`: its control flags (`HV_TRANSLATE_GVA_*`) and its result
/// codes (`enum hv_translate_gva_result_code`). Not in Linux's headers: the TLFS's, as
/// mshv-bindings and QEMU's copies name them.
pub(crate) mod translate_gva {
    pub(crate) const VALIDATE_READ: u64 = 0x1;
    pub(crate) const VALIDATE_WRITE: u64 = 0x2;
    pub(crate) const VALIDATE_EXECUTE: u64 = 0x4;
    /// The access is checked as the supervisor's, whatever the guest's privilege.
    pub(crate) const PRIVILEGE_EXEMPT: u64 = 0x8;
    /// The walk sets the accessed bits of the entries it used (and the dirty bit of the last,
    /// for a write), as the processor would.
    pub(crate) const SET_PAGE_TABLE_BITS: u64 = 0x10;
    pub(crate) const TLB_FLUSH_INHIBIT: u64 = 0x20;
    pub(crate) const SUPERVISOR_ACCESS: u64 = 0x40;
    pub(crate) const USER_ACCESS: u64 = 0x80;
    pub(crate) const ENFORCE_SMAP: u64 = 0x100;
    pub(crate) const OVERRIDE_SMAP: u64 = 0x200;
    pub(crate) const SHADOW_STACK: u64 = 0x400;
    /// Every flag the hypervisor knows.
    pub(crate) const KNOWN: u64 = 0x7ff;

    pub(crate) const SUCCESS: u32 = 0;
    pub(crate) const PAGE_NOT_PRESENT: u32 = 1;
    pub(crate) const PRIVILEGE_VIOLATION: u32 = 2;
    pub(crate) const INVALID_PAGE_TABLE_FLAGS: u32 = 3;
    pub(crate) const GPA_UNMAPPED: u32 = 4;
    pub(crate) const GPA_NO_READ_ACCESS: u32 = 5;
    pub(crate) const GPA_NO_WRITE_ACCESS: u32 = 6;

    /// `enum hv_cache_type`'s write back, the cache type of a successful translation (bits
    /// 32-39 of `union hv_translate_gva_result`).
    pub(crate) const CACHE_TYPE_WRITE_BACK: u64 = 6;
}

/// `HVCALL_DISPATCH_VP` (the root scheduler's): its flags, and the VP's state and the event
/// that ended the dispatch (`enum hv_vp_dispatch_state`, `enum hv_vp_dispatch_event`).
pub(crate) mod dispatch {
    /// Clears the VP's intercept suspend before it runs.
    pub(crate) const FLAG_CLEAR_INTERCEPT_SUSPEND: u32 = 0x1;
    /// Scans for an interrupt to inject before the VP runs.
    pub(crate) const FLAG_SCAN_INTERRUPT_INJECTION: u32 = 0x40;
    /// The VP cannot run until the hypervisor signals it (a scheduler message).
    pub(crate) const STATE_BLOCKED: u32 = 1;
    /// The VP may be dispatched again at once.
    pub(crate) const STATE_READY: u32 = 2;
    /// Blocked on its explicit suspend.
    pub(crate) const EVENT_SUSPEND: u32 = 1;
    /// Stopped on an intercept: the message is in its intercept message page.
    pub(crate) const EVENT_INTERCEPT: u32 = 2;
    /// `HV_GENERIC_SET_SPARSE_4K`: a VP set's banks of 64 VPs, present as a mask says.
    pub(crate) const VP_SET_SPARSE_4K: u64 = 0;
    /// `HV_MESSAGE_MAX_PARTITION_VP_PAIR_COUNT`: the pairs a pair message has room for.
    pub(crate) const MAX_PAIRS: usize = 19;
    /// VP set words a bitset message holds (`HV_GENERIC_SET_QWORD_COUNT(1024)`): the format,
    /// the bank mask, and 16 banks.
    pub(crate) const BITSET_WORDS: usize = 18;
}

/// The arm64 VTL switch's SMCCC functions (`hv/smccc.h`, the proposal in
/// `Documentation/mshv-rs/arm64-vtl-switch.rst`): fast calls of the vendor hypervisor service,
/// numbers that are placeholders until the owner of the Hyper-V UID allocates them.
#[allow(dead_code)] // arm64's.
pub(crate) mod smccc {
    /// The service's UID query (SMC32): x0-x3 the UID.
    pub(crate) const SMCCC_CALL_UID: u64 = 0x8600_ff01;
    /// The service's revision query (SMC32): x0 major, x1 minor.
    pub(crate) const SMCCC_CALL_REVISION: u64 = 0x8600_ff03;
    /// x1 back: the features bitmap.
    pub(crate) const SMCCC_FEATURES: u64 = 0xc600_0011;
    /// x1 = flags (0): runs VTL0 until its next exit; x1 back: the entry reason.
    pub(crate) const SMCCC_VTL_RETURN: u64 = 0xc600_0012;
    /// x1 = the context block's IPA, x2 = its size (0: none), x3 = its layout.
    pub(crate) const SMCCC_VTL_REGISTER: u64 = 0xc600_0013;
    /// Feature bit: the VTL switch, with a registered context block of layout 1.
    pub(crate) const SMCCC_FEATURE_VTL_RETURN: u64 = 0x1;
    /// Layout 1: x0-x30 at 0, a reserved word, q0-q31 at [`SMCCC_CONTEXT_Q`].
    pub(crate) const SMCCC_CONTEXT_LAYOUT: u64 = 1;
    pub(crate) const SMCCC_CONTEXT_Q: usize = 256;
    /// The bytes of the block layout 1 uses.
    pub(crate) const SMCCC_CONTEXT_USED: usize = 768;
    /// SMCCC's return codes, as x0 holds them.
    pub(crate) const SMCCC_NOT_SUPPORTED: u64 = -1i64 as u64;
    pub(crate) const SMCCC_INVALID_PARAMETER: u64 = -3i64 as u64;
}

/// Register names (`enum hv_register_name`).
pub(crate) mod register {
    /// Bit 0: the VP is explicitly suspended.
    pub(crate) const EXPLICIT_SUSPEND: u32 = 0x0000_0000;
    /// Bit 0: the VP is suspended on an intercept.
    pub(crate) const INTERCEPT_SUSPEND: u32 = 0x0000_0001;
    /// `HvRegisterDeliverabilityNotifications` (not in Linux's headers; mshv-bindings names
    /// it): bit 0 NMI, bit 1 interrupt, bits 2-5 the interrupt's priority, bits 48-63 SINTs.
    pub(crate) const DELIVERABILITY_NOTIFICATIONS: u32 = 0x0001_0006;
    /// `union hv_register_vsm_page_offsets`: bits 0-11 the VTL call's offset in the hypercall
    /// page, bits 12-23 the VTL return's.
    pub(crate) const VSM_CODE_PAGE_OFFSETS: u32 = 0x000D_0002;
    /// `union hv_register_vsm_capabilities` (see [`super::vsm_capability`]).
    pub(crate) const VSM_CAPABILITIES: u32 = 0x000D_0006;
    /// `union hv_register_vsm_partition_config` (see [`super::vsm_partition_config`]).
    pub(crate) const VSM_PARTITION_CONFIG: u32 = 0x000D_0007;
    /// `HvX64RegisterRip` (the TLFS's; Linux's headers do not name it).
    pub(crate) const X64_RIP: u32 = 0x0002_0010;
    /// `HvX64RegisterRflags` (as above).
    pub(crate) const X64_RFLAGS: u32 = 0x0002_0011;
    /// `HvX64RegisterRax` (as above); at the same number, arm64's `HvArm64RegisterX0`.
    pub(crate) const X64_RAX: u32 = 0x0002_0000;
    /// `HvX64RegisterCr0`, `Cr3`, `Cr4`, `HvX64RegisterSs` and `HvX64RegisterEfer` (as above):
    /// what a walk of the guest's page tables starts from.
    pub(crate) const X64_CR0: u32 = 0x0004_0000;
    pub(crate) const X64_CR3: u32 = 0x0004_0002;
    pub(crate) const X64_CR4: u32 = 0x0004_0003;
    pub(crate) const X64_SS: u32 = 0x0006_0002;
    pub(crate) const X64_EFER: u32 = 0x0008_0001;
    /// `HV_X64_REGISTER_REG_PAGE`: the lower VTL's register page (`union
    /// hv_synic_overlay_page_msr`: bit 0 enabled, the frame in bits 12-63).
    pub(crate) const X64_REG_PAGE: u32 = 0x0009_001C;
    /// `HV_ARM64_REGISTER_SINT_RESERVED_INTERRUPT_ID`: the INTID (a PPI) the hypervisor
    /// interrupts the SINTs with.
    pub(crate) const ARM64_SINT_RESERVED_INTERRUPT_ID: u32 = 0x0007_0001;
}

/// `struct hv_vp_register_page` (x86): the hypervisor's overlay of a VP's registers, the
/// offsets of what the driver and the simulator use.
pub(crate) mod vp_register_page {
    /// `version` (u16): `HV_VP_REGISTER_PAGE_VERSION_1`.
    pub(crate) const VERSION: usize = 0;
    pub(crate) const VERSION_1: u16 = 1;
    /// `isvalid` (u8): the hypervisor wrote the registers.
    pub(crate) const ISVALID: usize = 2;
    /// `dirty` (u32): a bit per register class the VTL above changed, for the hypervisor to
    /// load at the next entry.
    pub(crate) const DIRTY: usize = 4;
    /// `gp_registers` (16 u64: rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8-r15), `rip`,
    /// `rflags` (u64).
    pub(crate) const GP_REGISTERS: usize = 8;
    pub(crate) const RIP: usize = 136;
    pub(crate) const RFLAGS: usize = 144;
    /// `HV_X64_REGISTER_CLASS_IP`, `HV_X64_REGISTER_CLASS_FLAGS`: bits of `dirty`.
    pub(crate) const CLASS_IP: u32 = 1;
    pub(crate) const CLASS_FLAGS: u32 = 4;
    /// `interrupt_vectors` (u64): interrupts pending for the root scheduler's next dispatch
    /// (nonzero: some).
    pub(crate) const INTERRUPT_VECTORS: usize = 688;
}

/// Bits of `union hv_register_vsm_partition_config` the VTL personality sets at load.
pub(crate) mod vsm_partition_config {
    pub(crate) const ENABLE_VTL_PROTECTION: u64 = 1 << 0;
    /// `default_vtl_protection_mask`, all of `HV_MAP_GPA_PERMISSIONS_MASK` (0xf).
    pub(crate) const DEFAULT_VTL_PROTECTION_MASK_ALL: u64 = 0xf << 1;
    pub(crate) const ZERO_MEMORY_ON_RESET: u64 = 1 << 5;
    pub(crate) const INTERCEPT_VP_STARTUP: u64 = 1 << 9;
    pub(crate) const INTERCEPT_CPUID_UNIMPLEMENTED: u64 = 1 << 10;
    /// Lower VTLs' intercept messages in the VP assist page.
    pub(crate) const INTERCEPT_PAGE: u64 = 1 << 12;
}

/// Why VTL2 was entered (`hv_vp_assist_page.vtl_entry_reason`).
pub(crate) mod vtl_entry_reason {
    /// A lower VTL called VTL2.
    pub(crate) const LOWER_VTL_CALL: u32 = 1;
    /// An interrupt for VTL2.
    pub(crate) const INTERRUPT: u32 = 2;
    /// A lower VTL's intercept: its message is in the VP assist page.
    pub(crate) const INTERCEPT: u32 = 3;
}

/// Bits of `union hv_register_vsm_capabilities` the VTL personality reads.
pub(crate) mod vsm_capability {
    /// DR6 is shared between the VTLs.
    pub(crate) const DR6_SHARED: u64 = 1 << 0;
    /// The hypervisor puts a lower VTL's intercept message in the VP assist page.
    pub(crate) const INTERCEPT_PAGE_AVAILABLE: u64 = 1 << 27;
    /// The hypervisor runs return actions from the VP assist page.
    pub(crate) const RETURN_ACTION_AVAILABLE: u64 = 1 << 28;
}

/// `enum hv_get_set_vp_state_type`: bit 31 set for the types passed in pages.
pub(crate) mod vp_state {
    pub(crate) const TYPE_PFN: u32 = 1 << 31;
    pub(crate) const LAPIC_STATE: u32 = TYPE_PFN;
    pub(crate) const XSAVE: u32 = 1 | TYPE_PFN;
    pub(crate) const SIM_PAGE: u32 = 2 | TYPE_PFN;
    pub(crate) const SIEF_PAGE: u32 = 3 | TYPE_PFN;
    pub(crate) const SYNTHETIC_TIMERS: u32 = 4;
    /// `sizeof(struct hv_synthetic_timers_state)`.
    pub(crate) const SYNTHETIC_TIMERS_SIZE: usize = 200;
}

/// Partition property codes the driver reads.
pub(crate) mod property {
    pub(crate) const XSAVE_STATES: u32 = 0x0006_0007;
    pub(crate) const MAX_XSAVE_DATA_SIZE: u32 = 0x0006_0008;
    /// Whether the root's (integrated) scheduler runs an L1 virtual host's guests' VPs.
    pub(crate) const INTEGRATED_SCHEDULER_ENABLED: u32 = 0x0002_0005;
    /// The root's VMM capabilities (`struct hv_partition_property_vmm_capabilities`, read with
    /// `HVCALL_GET_PARTITION_PROPERTY_EX`): a bank count, then banks of capability bits.
    pub(crate) const VMM_CAPABILITIES: u32 = 0x0009_0007;
}

/// Bits of the first bank of `struct hv_partition_property_vmm_capabilities`.
pub(crate) mod vmm_capability {
    /// `vmm_enable_integrated_scheduler`: the root's scheduler may run the VPs (an L1 virtual
    /// host then asks `INTEGRATED_SCHEDULER_ENABLED`).
    pub(crate) const ENABLE_INTEGRATED_SCHEDULER: u64 = 1 << 6;
}

/// Where a memory intercept message's payload has the guest physical address
/// (`struct hv_x64_memory_intercept_message` / `struct hv_arm64_memory_intercept_message`); the
/// access type is at byte 5 of both.
#[cfg(CONFIG_X86_64)]
pub(crate) const MEMORY_INTERCEPT_GPA_OFFSET: usize = 56;
#[cfg(CONFIG_ARM64)]
pub(crate) const MEMORY_INTERCEPT_GPA_OFFSET: usize = 48;

/// Where a memory intercept message's payload has `instruction_byte_count` (the next byte is
/// `memory_access_info`: bit 0, `gva_valid`), `guest_virtual_address` and
/// `instruction_bytes`, and how many of those bytes it has room for.
#[cfg(CONFIG_X86_64)]
pub(crate) const MEMORY_INTERCEPT_INSTRUCTION_COUNT_OFFSET: usize = 44;
#[cfg(CONFIG_ARM64)]
pub(crate) const MEMORY_INTERCEPT_INSTRUCTION_COUNT_OFFSET: usize = 28;
#[cfg(CONFIG_X86_64)]
pub(crate) const MEMORY_INTERCEPT_GVA_OFFSET: usize = 48;
#[cfg(CONFIG_ARM64)]
pub(crate) const MEMORY_INTERCEPT_GVA_OFFSET: usize = 40;
#[cfg(CONFIG_X86_64)]
pub(crate) const MEMORY_INTERCEPT_INSTRUCTION_OFFSET: usize = 64;
#[cfg(CONFIG_ARM64)]
pub(crate) const MEMORY_INTERCEPT_INSTRUCTION_OFFSET: usize = 32;
#[cfg(CONFIG_X86_64)]
pub(crate) const MEMORY_INTERCEPT_INSTRUCTION_BYTES: usize = 16;
#[cfg(CONFIG_ARM64)]
pub(crate) const MEMORY_INTERCEPT_INSTRUCTION_BYTES: usize = 4;

/// The size of a memory intercept message's payload (the structs above).
#[cfg(CONFIG_X86_64)]
pub(crate) const MEMORY_INTERCEPT_SIZE: usize = 80;
#[cfg(CONFIG_ARM64)]
pub(crate) const MEMORY_INTERCEPT_SIZE: usize = 64;

/// The size of an intercept message's header (`struct hv_x64_intercept_message_header` /
/// `struct hv_arm64_intercept_message_header`), which every intercept payload starts with:
/// the VP index at byte 0, the instruction length at byte 4 (its low 4 bits on x86), the
/// access type at byte 5.
#[cfg(CONFIG_X86_64)]
pub(crate) const INTERCEPT_HEADER_SIZE: usize = 40;
#[cfg(CONFIG_ARM64)]
pub(crate) const INTERCEPT_HEADER_SIZE: usize = 24;

/// Where the intercept header has the guest's instruction pointer (x86 `rip`, arm64 `pc`).
#[cfg(CONFIG_X86_64)]
pub(crate) const INTERCEPT_HEADER_IP_OFFSET: usize = 24;
#[cfg(CONFIG_ARM64)]
pub(crate) const INTERCEPT_HEADER_IP_OFFSET: usize = 8;

/// `union hv_interrupt_control`: the interrupt type (`enum hv_interrupt_type`) in bits 0-31,
/// then the architecture's bits; the others are reserved.
pub(crate) mod interrupt_control {
    /// x86: the interrupt is level-triggered.
    #[cfg(CONFIG_X86_64)]
    pub(crate) const LEVEL_TRIGGERED: u64 = 1 << 32;
    /// x86: the destination is a logical APIC id.
    #[cfg(CONFIG_X86_64)]
    pub(crate) const LOGICAL_DEST_MODE: u64 = 1 << 33;
    /// arm64: the line is asserted (clear: deasserted); bits 32-33 are reserved.
    #[cfg(CONFIG_ARM64)]
    pub(crate) const ASSERTED: u64 = 1 << 34;
    /// The bits above the interrupt type that are not reserved.
    #[cfg(CONFIG_X86_64)]
    pub(crate) const FLAGS: u64 = LEVEL_TRIGGERED | LOGICAL_DEST_MODE;
    #[cfg(CONFIG_ARM64)]
    pub(crate) const FLAGS: u64 = ASSERTED;
}

/// The size of a message's payload, in 64-bit words.
pub(crate) const HV_MESSAGE_PAYLOAD_QWORD_COUNT: usize = 30;

abi_structs! {
    /// `struct hv_input_create_partition`.
    #[repr(C, packed)]
    pub(crate) struct CreatePartitionIn {
        /// `HV_PARTITION_CREATION_FLAG_*`.
        pub(crate) flags: u64,
        /// `proximity_domain_info.domain_id`.
        pub(crate) proximity_domain_id: u32,
        /// `proximity_domain_info.flags`.
        pub(crate) proximity_flags: u32,
        /// `HV_COMPATIBILITY_*`.
        pub(crate) compatibility_version: u32,
        /// Zero.
        pub(crate) padding: u32,
        /// `partition_creation_properties.disabled_processor_features`: a set bit disables.
        pub(crate) disabled_processor_features: [u64; HV_PARTITION_PROCESSOR_FEATURES_BANKS],
        /// `partition_creation_properties.disabled_processor_xsave_features`.
        pub(crate) disabled_processor_xsave_features: u64,
        /// `isolation_properties`.
        pub(crate) isolation_properties: u64,
    }

    /// `struct hv_output_create_partition`, and every output that is one partition id.
    #[repr(C, packed)]
    pub(crate) struct PartitionIdOut {
        /// The new partition's id.
        pub(crate) partition_id: u64,
    }

    /// `struct hv_input_post_message` (in `drivers/hv/hyperv_vmbus.h`, checked by the VTL
    /// module's shim).
    #[repr(C, packed)]
    pub(crate) struct PostMessageIn {
        /// `union hv_connection_id`.
        pub(crate) connection_id: u32,
        /// Zero.
        pub(crate) reserved: u32,
        /// `enum hv_message_type`.
        pub(crate) message_type: u32,
        /// Bytes of payload, at most 240.
        pub(crate) payload_size: u32,
        /// The payload.
        pub(crate) payload: [u64; HV_MESSAGE_PAYLOAD_QWORD_COUNT],
    }

    /// `struct hv_deposit_memory`, the header before the deposited page numbers.
    #[repr(C, packed)]
    pub(crate) struct DepositMemoryIn {
        /// The partition the pages go to.
        pub(crate) partition_id: u64,
    }

    /// `struct hv_input_withdraw_memory`; the output is the withdrawn page numbers.
    #[repr(C, packed)]
    pub(crate) struct WithdrawMemoryIn {
        /// The partition the pages come from.
        pub(crate) partition_id: u64,
        /// `proximity_domain_info.domain_id`.
        pub(crate) proximity_domain_id: u32,
        /// `proximity_domain_info.flags`.
        pub(crate) proximity_flags: u32,
    }

    /// `struct hv_create_vp`.
    #[repr(C, packed)]
    pub(crate) struct CreateVpIn {
        /// The partition.
        pub(crate) partition_id: u64,
        /// The new VP's index.
        pub(crate) vp_index: u32,
        /// Zero.
        pub(crate) padding: [u8; 3],
        /// `HV_SUBNODE_*`.
        pub(crate) subnode_type: u8,
        /// The subnode.
        pub(crate) subnode_id: u64,
        /// `proximity_domain_info.domain_id`.
        pub(crate) proximity_domain_id: u32,
        /// `proximity_domain_info.flags`.
        pub(crate) proximity_flags: u32,
        /// Zero.
        pub(crate) flags: u64,
    }

    /// `struct hv_input_get_vp_state` and `struct hv_input_set_vp_state`: the header before
    /// the page numbers (or, to set the bytes types, the data).
    #[repr(C, packed)]
    pub(crate) struct VpStateIn {
        /// The partition.
        pub(crate) partition_id: u64,
        /// The VP.
        pub(crate) vp_index: u32,
        /// `union hv_input_vtl`.
        pub(crate) input_vtl: u8,
        /// Zero.
        pub(crate) rsvd0: u8,
        /// Zero.
        pub(crate) rsvd1: u16,
        /// `state_data.type`: `HV_GET_SET_VP_STATE_*`.
        pub(crate) type_: u32,
        /// Zero.
        pub(crate) rsvd: u32,
        /// `state_data.xsave.flags`.
        pub(crate) xsave_flags: u64,
        /// `state_data.xsave.states`: the XSAVE components wanted.
        pub(crate) xsave_states: u64,
    }

    /// `struct hv_input_assert_virtual_interrupt`.
    #[repr(C, packed)]
    pub(crate) struct AssertVirtualInterruptIn {
        /// The partition.
        pub(crate) partition_id: u64,
        /// `union hv_interrupt_control` (see [`interrupt_control`]).
        pub(crate) control: u64,
        /// The destination (x86: the APIC id; arm64: none, zero).
        pub(crate) dest_addr: u64,
        /// The vector.
        pub(crate) vector: u32,
        /// `union hv_input_vtl`.
        pub(crate) target_vtl: u8,
        /// Zero.
        pub(crate) rsvd_z0: u8,
        /// Zero.
        pub(crate) rsvd_z1: u16,
    }

    /// `struct hv_input_create_port`, for a doorbell port (`port_info.doorbell_port_info`).
    #[repr(C, packed)]
    pub(crate) struct CreatePortIn {
        /// The partition that owns the port (the root).
        pub(crate) port_partition_id: u64,
        /// The port's id, chosen by the caller.
        pub(crate) port_id: u32,
        /// The port's VTL.
        pub(crate) port_vtl: u8,
        /// The lowest VTL that may connect.
        pub(crate) min_connection_vtl: u8,
        /// Zero.
        pub(crate) padding: u16,
        /// The partition that may connect.
        pub(crate) connection_partition_id: u64,
        /// `port_info.port_type`: `HV_PORT_TYPE_*`.
        pub(crate) port_type: u32,
        /// Zero.
        pub(crate) port_info_padding: u32,
        /// `doorbell_port_info.target_sint`.
        pub(crate) target_sint: u32,
        /// `doorbell_port_info.target_vp`.
        pub(crate) target_vp: u32,
        /// Zero.
        pub(crate) port_info_rsvdz: u64,
        /// `proximity_domain_info.domain_id`.
        pub(crate) proximity_domain_id: u32,
        /// `proximity_domain_info.flags`.
        pub(crate) proximity_flags: u32,
    }

    /// `struct hv_input_connect_port`, for a doorbell (`connection_info.doorbell_connection_info`).
    #[repr(C, packed)]
    pub(crate) struct ConnectPortIn {
        /// The partition that connects.
        pub(crate) connection_partition_id: u64,
        /// The connection's id.
        pub(crate) connection_id: u32,
        /// The connection's VTL.
        pub(crate) connection_vtl: u8,
        /// Zero.
        pub(crate) rsvdz0: u8,
        /// Zero.
        pub(crate) rsvdz1: u16,
        /// The port's partition.
        pub(crate) port_partition_id: u64,
        /// The port.
        pub(crate) port_id: u32,
        /// Zero.
        pub(crate) reserved2: u32,
        /// `connection_info.port_type`.
        pub(crate) port_type: u32,
        /// Zero.
        pub(crate) connection_info_padding: u32,
        /// The guest physical address that rings the doorbell.
        pub(crate) gpa: u64,
        /// The value that rings it (unless any value does).
        pub(crate) trigger_value: u64,
        /// `HV_DOORBELL_FLAG_*`.
        pub(crate) flags: u64,
        /// `proximity_domain_info.domain_id`.
        pub(crate) proximity_domain_id: u32,
        /// `proximity_domain_info.flags`.
        pub(crate) proximity_flags: u32,
    }

    /// `struct hv_input_map_vp_state_page`.
    #[repr(C, packed)]
    pub(crate) struct MapVpStatePageIn {
        /// The partition.
        pub(crate) partition_id: u64,
        /// The VP.
        pub(crate) vp_index: u32,
        /// `enum hv_vp_state_page_type`.
        pub(crate) type_: u16,
        /// `union hv_input_vtl`.
        pub(crate) input_vtl: u8,
        /// Bit 0: `map_location_provided`.
        pub(crate) flags: u8,
        /// The page the caller provides, with `map_location_provided`.
        pub(crate) requested_map_location: u64,
    }

    /// `struct hv_output_map_vp_state_page`.
    #[repr(C, packed)]
    pub(crate) struct MapVpStatePageOut {
        /// The page frame of the state page.
        pub(crate) map_location: u64,
    }

    /// `struct hv_input_unmap_vp_state_page`.
    #[repr(C, packed)]
    pub(crate) struct UnmapVpStatePageIn {
        /// The partition.
        pub(crate) partition_id: u64,
        /// The VP.
        pub(crate) vp_index: u32,
        /// `enum hv_vp_state_page_type`.
        pub(crate) type_: u16,
        /// `union hv_input_vtl`.
        pub(crate) input_vtl: u8,
        /// Zero.
        pub(crate) reserved0: u8,
    }

    /// `struct hv_input_get_partition_property`; the output is one `u64`.
    #[repr(C, packed)]
    pub(crate) struct GetPartitionPropertyIn {
        /// The partition.
        pub(crate) partition_id: u64,
        /// `enum hv_partition_property_code`.
        pub(crate) property_code: u32,
        /// Zero.
        pub(crate) padding: u32,
    }

    /// `struct hv_input_get_system_property`; the output's first `u32` is the answer here.
    #[repr(C, packed)]
    pub(crate) struct GetSystemPropertyIn {
        /// `enum hv_system_property`.
        pub(crate) property_id: u32,
        /// Zero.
        pub(crate) reserved: u32,
        /// The property's argument (none for the scheduler's type).
        pub(crate) arg: u64,
    }

    /// `struct hv_input_dispatch_vp`.
    #[repr(C, packed)]
    pub(crate) struct DispatchVpIn {
        /// The partition.
        pub(crate) partition_id: u64,
        /// The VP.
        pub(crate) vp_index: u32,
        /// `HV_DISPATCH_VP_FLAG_*`.
        pub(crate) flags: u32,
        /// 0: until something happens.
        pub(crate) time_slice: u64,
        /// The caller's speculation control (unused: zero).
        pub(crate) spec_ctrl: u64,
    }

    /// `struct hv_output_dispatch_vp`.
    #[repr(C, packed)]
    pub(crate) struct DispatchVpOut {
        /// `enum hv_vp_dispatch_state`.
        pub(crate) dispatch_state: u32,
        /// `enum hv_vp_dispatch_event`.
        pub(crate) dispatch_event: u32,
    }

    /// `struct hv_vp_signal_bitset_scheduler_message`: a message's payload.
    #[repr(C, packed)]
    pub(crate) struct SignalBitset {
        /// The partition.
        pub(crate) partition_id: u64,
        /// Signals lost.
        pub(crate) overflow_count: u32,
        /// The VPs signalled.
        pub(crate) vp_count: u16,
        /// Zero.
        pub(crate) reserved: u16,
        /// `struct hv_vpset`: the format ([`dispatch::VP_SET_SPARSE_4K`]), the mask of the banks
        /// present, then each bank present, in order: bit `n` of bank `b` is VP `64 * b + n`.
        pub(crate) vp_bitset: [u64; dispatch::BITSET_WORDS],
    }

    /// `struct hv_vp_signal_pair_scheduler_message`: a message's payload.
    #[repr(C, packed)]
    pub(crate) struct SignalPair {
        /// Signals lost.
        pub(crate) overflow_count: u32,
        /// The pairs that follow.
        pub(crate) vp_count: u8,
        /// Zero.
        pub(crate) reserved1: [u8; 3],
        /// Each pair's partition ...
        pub(crate) partition_ids: [u64; dispatch::MAX_PAIRS],
        /// ... and VP.
        pub(crate) vp_indexes: [u32; dispatch::MAX_PAIRS],
        /// Zero.
        pub(crate) reserved2: [u8; 4],
    }

    /// `struct hv_input_get_partition_property_ex`.
    #[repr(C, packed)]
    pub(crate) struct GetPartitionPropertyExIn {
        /// The partition.
        pub(crate) partition_id: u64,
        /// `enum hv_partition_property_code`.
        pub(crate) property_code: u32,
        /// Zero.
        pub(crate) padding: u32,
        /// The property's argument.
        pub(crate) arg: u64,
    }

    /// `struct hv_input_set_partition_property`.
    #[repr(C, packed)]
    pub(crate) struct SetPartitionPropertyIn {
        /// The partition.
        pub(crate) partition_id: u64,
        /// `enum hv_partition_property_code`.
        pub(crate) property_code: u32,
        /// Zero.
        pub(crate) padding: u32,
        /// The new value.
        pub(crate) property_value: u64,
    }

    /// The header of `struct hv_input_get_vp_registers` and `struct hv_input_set_vp_registers`.
    #[repr(C, packed)]
    pub(crate) struct VpRegistersIn {
        /// The partition.
        pub(crate) partition_id: u64,
        /// The VP.
        pub(crate) vp_index: u32,
        /// `union hv_input_vtl`.
        pub(crate) input_vtl: u8,
        /// Zero.
        pub(crate) rsvd_z8: u8,
        /// Zero.
        pub(crate) rsvd_z16: u16,
    }

    /// `struct hv_input_translate_virtual_address` (the TLFS's; not in Linux's headers).
    #[repr(C, packed)]
    pub(crate) struct TranslateVaIn {
        /// The partition.
        pub(crate) partition_id: u64,
        /// The VP whose view of its guest's addresses is asked for.
        pub(crate) vp_index: u32,
        /// Zero.
        pub(crate) padding: u32,
        /// `HV_TRANSLATE_GVA_*` (see [`super::translate_gva`]).
        pub(crate) control_flags: u64,
        /// The guest virtual address's page number.
        pub(crate) gva_page: u64,
    }

    /// `struct hv_output_translate_virtual_address` (as above).
    #[repr(C, packed)]
    pub(crate) struct TranslateVaOut {
        /// `union hv_translate_gva_result`: the result code in bits 0-31, the cache type in
        /// 32-39, `overlay_page` bit 40.
        pub(crate) result: u64,
        /// The guest physical page, where the translation succeeded.
        pub(crate) gpa_page: u64,
    }

    /// `struct hv_vp_assist_page`: the page the hypervisor overlays for each VP, through which
    /// a VTL switch passes what the registers cannot.
    #[repr(C, packed)]
    pub(crate) struct VpAssistPage {
        pub(crate) apic_assist: u32,
        pub(crate) reserved1: u32,
        /// Why VTL2 was entered ([`vtl_entry_reason`]).
        pub(crate) vtl_entry_reason: u32,
        pub(crate) vtl_reserved: u32,
        /// VTL0's rax and rcx at a VTL return (the switch itself needs both registers).
        pub(crate) vtl_ret_x64rax: u64,
        pub(crate) vtl_ret_x64rcx: u64,
        /// `struct hv_nested_enlightenments_control`.
        pub(crate) nested_control: [u32; 2],
        pub(crate) enlighten_vmentry: u8,
        pub(crate) reserved2: [u8; 7],
        pub(crate) current_nested_vmcs: u64,
        pub(crate) synthetic_time_unhalted_timer_expired: u8,
        pub(crate) reserved3: [u8; 7],
        pub(crate) virtualization_fault_information: [u8; 40],
        pub(crate) reserved4: [u8; 8],
        /// A lower VTL's intercept message (`struct hv_message`).
        pub(crate) intercept_message: [u8; 256],
        /// The actions the hypervisor runs at the next VTL return.
        pub(crate) vtl_ret_actions: [u8; 256],
    }

    /// `struct hv_register_assoc`: one element of a set-registers call.
    #[repr(C, packed)]
    pub(crate) struct RegisterAssoc {
        /// `enum hv_register_name`.
        pub(crate) name: u32,
        /// Zero.
        pub(crate) reserved1: u32,
        /// Zero.
        pub(crate) reserved2: u64,
        /// `union hv_register_value`.
        pub(crate) value: [u64; 2],
    }

    /// `struct hv_input_map_gpa_pages` and `struct hv_input_unmap_gpa_pages`: the header before
    /// the page numbers (map only).
    #[repr(C, packed)]
    pub(crate) struct GpaPagesIn {
        /// The partition.
        pub(crate) target_partition_id: u64,
        /// The first guest page frame.
        pub(crate) target_gpa_base: u64,
        /// `HV_MAP_GPA_*` or `HV_UNMAP_GPA_*`.
        pub(crate) flags: u32,
        /// Zero.
        pub(crate) padding: u32,
    }

    /// `struct hv_message`: a SynIC or intercept message.
    #[repr(C, packed)]
    pub(crate) struct Message {
        /// `enum hv_message_type`.
        pub(crate) message_type: u32,
        /// The payload's size in bytes.
        pub(crate) payload_size: u8,
        /// Bit 0: `msg_pending`.
        pub(crate) message_flags: u8,
        /// Zero.
        pub(crate) reserved: [u8; 2],
        /// The sender: a partition id or a port.
        pub(crate) sender: u64,
        /// The payload.
        pub(crate) payload: [u64; HV_MESSAGE_PAYLOAD_QWORD_COUNT],
    }

    /// `struct hv_synic_event_ring`: the ports signalled on one SINT, in order. Packed in C,
    /// but every field is at its natural offset, so the type keeps its 4-byte alignment: a
    /// pointer to a ring is a pointer to aligned slots.
    #[repr(C)]
    pub(crate) struct EventRing {
        /// Nonzero: the consumer is draining; signal no interrupt for a new port.
        pub(crate) signal_masked: u8,
        /// Nonzero: a port found the ring full; the consumer says when it has room
        /// (`HVCALL_NOTIFY_PORT_RING_EMPTY`).
        pub(crate) ring_full: u8,
        /// Zero.
        pub(crate) reserved_z: u16,
        /// Port ids, zero where free.
        pub(crate) data: [u32; HV_SYNIC_EVENT_RING_MESSAGE_COUNT],
    }
}

impl Message {
    /// A free slot's (`HVMSG_NONE`, no payload).
    pub(crate) const EMPTY: Self = Self {
        message_type: 0,
        payload_size: 0,
        message_flags: 0,
        reserved: [0; 2],
        sender: 0,
        payload: [0; HV_MESSAGE_PAYLOAD_QWORD_COUNT],
    };
}

// `struct hv_input_post_message` is in a header of the kernel's own (`drivers/hv/hyperv_vmbus.h`),
// which only the VTL module's shim includes: it checks the same three facts at build time.
const _: () = assert!(
    size_of::<PostMessageIn>() == 256
        && core::mem::offset_of!(PostMessageIn, payload_size) == 12
        && core::mem::offset_of!(PostMessageIn, payload) == 16
);

/// Every fact the C shim also computes from the kernel's headers (`mshv_shim_hv_facts`).
pub(crate) const FACTS: &[Fact] = {
    use code::*;
    use interrupt_control::*;
    use message_type::*;
    use property::*;
    use register::*;
    use scheduler_type::*;
    use smccc::*;
    use vp_state::*;
    use vsm_capability::*;
    use vsm_partition_config::*;
    &[
        fact!(size "hv_input_create_partition", CreatePartitionIn, 56),
        fact!(offset "hv_input_create_partition.compatibility_version", CreatePartitionIn, compatibility_version, 16),
        fact!(offset "hv_input_create_partition.partition_creation_properties", CreatePartitionIn, disabled_processor_features, 24),
        fact!(offset "hv_input_create_partition.isolation_properties", CreatePartitionIn, isolation_properties, 48),
        fact!(size "hv_output_create_partition", PartitionIdOut, 8),
        fact!(size "hv_deposit_memory", DepositMemoryIn, 8),
        fact!(size "hv_input_withdraw_memory", WithdrawMemoryIn, 16),
        fact!(size "hv_create_vp", CreateVpIn, 40),
        fact!(offset "hv_create_vp.subnode_type", CreateVpIn, subnode_type, 15),
        fact!(offset "hv_create_vp.flags", CreateVpIn, flags, 32),
        fact!(size "hv_input_map_vp_state_page", MapVpStatePageIn, 24),
        fact!(offset "hv_input_map_vp_state_page.type", MapVpStatePageIn, type_, 12),
        fact!(offset "hv_input_map_vp_state_page.requested_map_location", MapVpStatePageIn, requested_map_location, 16),
        fact!(size "hv_output_map_vp_state_page", MapVpStatePageOut, 8),
        fact!(size "hv_input_unmap_vp_state_page", UnmapVpStatePageIn, 16),
        fact!(size "hv_input_get_vp_state", VpStateIn, 40),
        fact!(size "hv_input_assert_virtual_interrupt", AssertVirtualInterruptIn, 32),
        fact!(size "hv_input_create_port", CreatePortIn, 56),
        fact!(offset "hv_input_create_port.port_info", CreatePortIn, port_type, 24),
        fact!(size "hv_input_connect_port", ConnectPortIn, 72),
        fact!(offset "hv_input_connect_port.connection_info", ConnectPortIn, port_type, 32),
        fact!(const CREATE_PORT, 0x95),
        fact!(const CONNECT_PORT, 0x96),
        fact!(const DELETE_PORT, 0x58),
        fact!(const DISCONNECT_PORT, 0x5b),
        fact!(const HV_PORT_TYPE_DOORBELL, 4),
        fact!(size "hv_input_set_vp_state", VpStateIn, 40),
        fact!(offset "hv_input_get_vp_state.state_data", VpStateIn, type_, 16),
        fact!(const LAPIC_STATE, 0x8000_0000),
        fact!(const XSAVE, 0x8000_0001),
        fact!(const SIM_PAGE, 0x8000_0002),
        fact!(const SIEF_PAGE, 0x8000_0003),
        fact!(const SYNTHETIC_TIMERS, 4),
        fact!(const SYNTHETIC_TIMERS_SIZE, 200),
        fact!(const XSAVE_STATES, 0x0006_0007),
        fact!(const MAX_XSAVE_DATA_SIZE, 0x0006_0008),
        fact!(const INTEGRATED_SCHEDULER_ENABLED, 0x0002_0005),
        fact!(const VMM_CAPABILITIES, 0x0009_0007),
        fact!(@ "sizeof:hv_partition_property_vmm_capabilities", 16usize, 16),
        fact!(size "hv_input_get_partition_property", GetPartitionPropertyIn, 16),
        fact!(size "hv_input_get_partition_property_ex", GetPartitionPropertyExIn, 24),
        fact!(size "hv_input_get_system_property", GetSystemPropertyIn, 16),
        fact!(const SYSTEM_PROPERTY_SCHEDULER_TYPE, 15),
        fact!(size "hv_input_dispatch_vp", DispatchVpIn, 32),
        fact!(offset "hv_input_dispatch_vp.flags", DispatchVpIn, flags, 12),
        fact!(size "hv_output_dispatch_vp", DispatchVpOut, 8),
        fact!(@ "const:DISPATCH_VP", code::DISPATCH_VP, 0xc2),
        fact!(@ "const:SCHEDULER_VP_SIGNAL_BITSET", message_type::SCHEDULER_VP_SIGNAL_BITSET, 0x8000_0100),
        fact!(@ "const:SCHEDULER_VP_SIGNAL_PAIR", message_type::SCHEDULER_VP_SIGNAL_PAIR, 0x8000_0101),
        fact!(@ "const:ASYNC_CALL_COMPLETION", message_type::ASYNC_CALL_COMPLETION, 0x8000_0070),
        fact!(@ "sizeof:hv_async_completion_message_payload", 24usize, 24),
        fact!(@ "offsetof:hv_async_completion_message_payload.status", 8usize, 8),
        fact!(@ "const:FLAG_CLEAR_INTERCEPT_SUSPEND", dispatch::FLAG_CLEAR_INTERCEPT_SUSPEND, 1),
        fact!(@ "const:FLAG_SCAN_INTERRUPT_INJECTION", dispatch::FLAG_SCAN_INTERRUPT_INJECTION, 0x40),
        fact!(@ "const:STATE_BLOCKED", dispatch::STATE_BLOCKED, 1),
        fact!(@ "const:STATE_READY", dispatch::STATE_READY, 2),
        fact!(@ "const:EVENT_SUSPEND", dispatch::EVENT_SUSPEND, 1),
        fact!(@ "const:EVENT_INTERCEPT", dispatch::EVENT_INTERCEPT, 2),
        fact!(@ "const:VP_SET_SPARSE_4K", dispatch::VP_SET_SPARSE_4K, 0),
        fact!(@ "const:MAX_PAIRS", dispatch::MAX_PAIRS, 19),
        fact!(size "hv_vp_signal_pair_scheduler_message", SignalPair, 240),
        fact!(offset "hv_vp_signal_pair_scheduler_message.partition_ids", SignalPair, partition_ids, 8),
        fact!(offset "hv_vp_signal_pair_scheduler_message.vp_indexes", SignalPair, vp_indexes, 160),
        fact!(size "hv_vp_signal_bitset_scheduler_message", SignalBitset, 160),
        fact!(offset "hv_vp_signal_bitset_scheduler_message.vp_bitset", SignalBitset, vp_bitset, 16),
        fact!(const LP, 1),
        fact!(const LP_SMT, 2),
        fact!(const CORE_SMT, 3),
        fact!(const ROOT, 4),
        fact!(size "hv_input_set_partition_property", SetPartitionPropertyIn, 24),
        fact!(size "hv_input_get_vp_registers", VpRegistersIn, 16),
        fact!(size "hv_input_set_vp_registers", VpRegistersIn, 16),
        fact!(size "hv_register_assoc", RegisterAssoc, 32),
        fact!(offset "hv_register_assoc.value", RegisterAssoc, value, 16),
        fact!(size "hv_input_map_gpa_pages", GpaPagesIn, 24),
        fact!(size "hv_input_unmap_gpa_pages", GpaPagesIn, 24),
        fact!(size "hv_message", Message, 256),
        fact!(size "hv_synic_event_ring", EventRing, 256),
        fact!(offset "hv_synic_event_ring.data", EventRing, data, 4),
        fact!(const HV_SYNIC_DOORBELL_SINT_INDEX, 5),
        fact!(const HV_SYNIC_INTERCEPTION_SINT_INDEX, 0),
        fact!(const HV_SYNIC_SINT_COUNT, 16),
        fact!(const HV_SYNIC_EVENT_RING_MESSAGE_COUNT, 63),
        fact!(@ "const:HV_EVENT_FLAGS_COUNT", synic::EVENT_FLAGS, 2048),
        fact!(const HV_X64_INTERRUPT_TYPE_EXTINT, 7),
        fact!(const NOTIFY_PORT_RING_EMPTY, 0x8b),
        fact!(const SYNIC_SINT_INTERCEPT, 0x8000_0061),
        fact!(const X64_APIC_EOI, 0x8001_0004),
        fact!(const GPA_INTERCEPT, 0x8000_0001),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "offsetof:hv_vp_register_page.isvalid", vp_register_page::ISVALID, 2),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "offsetof:hv_vp_register_page.gp_registers", vp_register_page::GP_REGISTERS, 8),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_VP_REGISTER_PAGE_VERSION_1", vp_register_page::VERSION_1, 1),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "offsetof:hv_vp_register_page.dirty", vp_register_page::DIRTY, 4),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "offsetof:hv_vp_register_page.rip", vp_register_page::RIP, 136),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "offsetof:hv_vp_register_page.rflags", vp_register_page::RFLAGS, 144),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "offsetof:hv_vp_register_page.interrupt_vectors", vp_register_page::INTERRUPT_VECTORS, 688),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_CLASS_IP", vp_register_page::CLASS_IP, 1),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_CLASS_FLAGS", vp_register_page::CLASS_FLAGS, 4),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_REG_PAGE", register::X64_REG_PAGE, 0x9001c),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_DR0", super::shared::name::X64_DR0, 0x50000),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_DR3", super::shared::name::X64_DR0 + 3, 0x50003),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF", super::shared::name::X64_MSR_MTRR_PHYS_BASE0 + super::shared::msr::MTRR_VARIABLE - 1, 0x8001f),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_MSR_MTRR_PHYS_MASKF", super::shared::name::X64_MSR_MTRR_PHYS_MASK0 + super::shared::msr::MTRR_VARIABLE - 1, 0x8004f),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_MSR_MTRR_FIX4KF8000", super::shared::name::X64_MSR_MTRR_FIX64K00000 + 10, 0x8007a),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:MTRRphysMask_MSR(15)", super::shared::msr::MTRR_PHYS_BASE0 + 2 * super::shared::msr::MTRR_VARIABLE - 1, 0x21f),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:MSR_MTRRfix4K_F8000", super::shared::msr::MTRR_FIX4K_C0000 + 7, 0x26f),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_DR6", super::shared::name::X64_DR6, 0x50004),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_MSR_MTRR_CAP", super::shared::name::X64_MSR_MTRR_CAP, 0x8000d),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_MSR_MTRR_DEF_TYPE", super::shared::name::X64_MSR_MTRR_DEF_TYPE, 0x8000e),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0", super::shared::name::X64_MSR_MTRR_PHYS_BASE0, 0x80010),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0", super::shared::name::X64_MSR_MTRR_PHYS_MASK0, 0x80040),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:HV_X64_REGISTER_MSR_MTRR_FIX64K00000", super::shared::name::X64_MSR_MTRR_FIX64K00000, 0x80070),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:MSR_MTRRcap", super::shared::msr::MTRR_CAP, 0xfe),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:MSR_MTRRdefType", super::shared::msr::MTRR_DEF_TYPE, 0x2ff),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:MTRRphysBase_MSR(0)", super::shared::msr::MTRR_PHYS_BASE0, 0x200),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:MSR_MTRRfix64K_00000", super::shared::msr::MTRR_FIX64K_00000, 0x250),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:MSR_MTRRfix16K_80000", super::shared::msr::MTRR_FIX16K_80000, 0x258),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:MSR_MTRRfix16K_A0000", super::shared::msr::MTRR_FIX16K_A0000, 0x259),
        #[cfg(CONFIG_X86_64)]
        fact!(@ "const:MSR_MTRRfix4K_C0000", super::shared::msr::MTRR_FIX4K_C0000, 0x268),
        #[cfg(CONFIG_X86_64)]
        fact!(const MEMORY_INTERCEPT_GPA_OFFSET, 56),
        #[cfg(CONFIG_ARM64)]
        fact!(const MEMORY_INTERCEPT_GPA_OFFSET, 48),
        #[cfg(CONFIG_X86_64)]
        fact!(const MEMORY_INTERCEPT_INSTRUCTION_COUNT_OFFSET, 44),
        #[cfg(CONFIG_ARM64)]
        fact!(const MEMORY_INTERCEPT_INSTRUCTION_COUNT_OFFSET, 28),
        #[cfg(CONFIG_X86_64)]
        fact!(const MEMORY_INTERCEPT_GVA_OFFSET, 48),
        #[cfg(CONFIG_ARM64)]
        fact!(const MEMORY_INTERCEPT_GVA_OFFSET, 40),
        #[cfg(CONFIG_X86_64)]
        fact!(const MEMORY_INTERCEPT_INSTRUCTION_OFFSET, 64),
        #[cfg(CONFIG_ARM64)]
        fact!(const MEMORY_INTERCEPT_INSTRUCTION_OFFSET, 32),
        #[cfg(CONFIG_X86_64)]
        fact!(const MEMORY_INTERCEPT_INSTRUCTION_BYTES, 16),
        #[cfg(CONFIG_ARM64)]
        fact!(const MEMORY_INTERCEPT_INSTRUCTION_BYTES, 4),
        #[cfg(CONFIG_X86_64)]
        fact!(const MEMORY_INTERCEPT_SIZE, 80),
        #[cfg(CONFIG_ARM64)]
        fact!(const MEMORY_INTERCEPT_SIZE, 64),
        #[cfg(CONFIG_X86_64)]
        fact!(const INTERCEPT_HEADER_SIZE, 40),
        #[cfg(CONFIG_ARM64)]
        fact!(const INTERCEPT_HEADER_SIZE, 24),
        #[cfg(CONFIG_X86_64)]
        fact!(const INTERCEPT_HEADER_IP_OFFSET, 24),
        #[cfg(CONFIG_ARM64)]
        fact!(const INTERCEPT_HEADER_IP_OFFSET, 8),
        #[cfg(CONFIG_X86_64)]
        fact!(const LEVEL_TRIGGERED, 0x1_0000_0000),
        #[cfg(CONFIG_X86_64)]
        fact!(const LOGICAL_DEST_MODE, 0x2_0000_0000),
        #[cfg(CONFIG_ARM64)]
        fact!(const ASSERTED, 0x4_0000_0000),
        #[cfg(CONFIG_ARM64)]
        fact!(@ "const:HV_ARM64_REGISTER_SINT_RESERVED_INTERRUPT_ID", register::ARM64_SINT_RESERVED_INTERRUPT_ID, 0x70001),
        fact!(offset "hv_message.u", Message, payload, 16),
        fact!(const HV_COMPATIBILITY_21_H2, 0x0609),
        fact!(const HV_PARTITION_PROCESSOR_FEATURES_BANKS, 2),
        fact!(const CREATE_PARTITION, 0x40),
        fact!(const INITIALIZE_PARTITION, 0x41),
        fact!(const FINALIZE_PARTITION, 0x42),
        fact!(const DELETE_PARTITION, 0x43),
        fact!(const GET_PARTITION_PROPERTY, 0x44),
        fact!(const SET_PARTITION_PROPERTY, 0x45),
        fact!(const DEPOSIT_MEMORY, 0x48),
        fact!(const WITHDRAW_MEMORY, 0x49),
        fact!(const MAP_GPA_PAGES, 0x4b),
        fact!(const UNMAP_GPA_PAGES, 0x4c),
        fact!(const INSTALL_INTERCEPT, 0x4d),
        fact!(const CREATE_VP, 0x4e),
        fact!(const DELETE_VP, 0x4f),
        fact!(const GET_VP_REGISTERS, 0x50),
        fact!(const SET_VP_REGISTERS, 0x51),
        fact!(const TRANSLATE_VIRTUAL_ADDRESS, 0x52),
        fact!(const CLEAR_VIRTUAL_INTERRUPT, 0x56),
        fact!(const REGISTER_INTERCEPT_RESULT, 0x91),
        fact!(const ASSERT_VIRTUAL_INTERRUPT, 0x94),
        fact!(const SIGNAL_EVENT_DIRECT, 0xc0),
        fact!(const POST_MESSAGE_DIRECT, 0xc1),
        fact!(const GET_GPA_PAGES_ACCESS_STATES, 0xc9),
        fact!(const MAP_VP_STATE_PAGE, 0xe1),
        fact!(const UNMAP_VP_STATE_PAGE, 0xe2),
        fact!(const GET_VP_STATE, 0xe3),
        fact!(const SET_VP_STATE, 0xe4),
        fact!(const GET_VP_CPUID_VALUES, 0xf4),
        fact!(const GET_PARTITION_PROPERTY_EX, 0x101),
        fact!(const GET_SYSTEM_PROPERTY, 0x7b),
        fact!(const OPAQUE_INTERCEPT, 0x8000_003f),
        fact!(const X64_IO_PORT_INTERCEPT, 0x8001_0000),
        fact!(const X64_HALT, 0x8001_0007),
        fact!(const HYPERCALL_INTERCEPT, 0x8000_0050),
        fact!(const SMCCC_CALL_UID, 0x8600_ff01),
        fact!(const SMCCC_CALL_REVISION, 0x8600_ff03),
        fact!(const SMCCC_FEATURES, 0xc600_0011),
        fact!(const SMCCC_VTL_RETURN, 0xc600_0012),
        fact!(const SMCCC_VTL_REGISTER, 0xc600_0013),
        fact!(const SMCCC_FEATURE_VTL_RETURN, 0x1),
        fact!(const SMCCC_CONTEXT_LAYOUT, 1),
        fact!(const SMCCC_CONTEXT_Q, 256),
        fact!(const SMCCC_CONTEXT_USED, 768),
        fact!(const SMCCC_NOT_SUPPORTED, 0xffff_ffff_ffff_ffff),
        fact!(const SMCCC_INVALID_PARAMETER, 0xffff_ffff_ffff_fffd),
        fact!(const UNRECOVERABLE_EXCEPTION, 0x8000_0021),
        fact!(const UNMAPPED_GPA, 0x8000_0000),
        fact!(const EXPLICIT_SUSPEND, 0x0),
        fact!(const HV_VP_INDEX_SELF, 0xFFFF_FFFE),
        fact!(const POST_MESSAGE, 0x5c),
        fact!(const SIGNAL_EVENT, 0x5d),
        fact!(const VSM_CODE_PAGE_OFFSETS, 0x000D_0002),
        fact!(const VSM_CAPABILITIES, 0x000D_0006),
        fact!(const VSM_PARTITION_CONFIG, 0x000D_0007),
        fact!(const ENABLE_VTL_PROTECTION, 0x1),
        fact!(const DEFAULT_VTL_PROTECTION_MASK_ALL, 0x1e),
        fact!(const ZERO_MEMORY_ON_RESET, 0x20),
        fact!(const INTERCEPT_VP_STARTUP, 0x200),
        fact!(const INTERCEPT_CPUID_UNIMPLEMENTED, 0x400),
        fact!(const INTERCEPT_PAGE, 0x1000),
        fact!(size "hv_vp_assist_page", VpAssistPage, 624),
        fact!(offset "hv_vp_assist_page.vtl_entry_reason", VpAssistPage, vtl_entry_reason, 8),
        fact!(offset "hv_vp_assist_page.vtl_ret_x64rax", VpAssistPage, vtl_ret_x64rax, 16),
        fact!(offset "hv_vp_assist_page.vtl_ret_x64rcx", VpAssistPage, vtl_ret_x64rcx, 24),
        fact!(offset "hv_vp_assist_page.current_nested_vmcs", VpAssistPage, current_nested_vmcs, 48),
        fact!(offset "hv_vp_assist_page.intercept_message", VpAssistPage, intercept_message, 112),
        fact!(offset "hv_vp_assist_page.vtl_ret_actions", VpAssistPage, vtl_ret_actions, 368),
        fact!(const DR6_SHARED, 0x1),
        fact!(const INTERCEPT_PAGE_AVAILABLE, 0x800_0000),
        fact!(const RETURN_ACTION_AVAILABLE, 0x1000_0000),
        fact!(const INTERCEPT_SUSPEND, 0x1),
    ]
};

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_hv_abi)]
mod tests {
    use super::FACTS;
    use crate::abi::CFacts;

    #[test]
    fn every_fact_matches_the_kernel_headers() {
        assert!(CFacts::hv().matches(FACTS));
    }
}
