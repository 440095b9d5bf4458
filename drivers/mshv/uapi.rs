// SPDX-License-Identifier: GPL-2.0

//! The devices' user-space ABI, as Linux 7.3's `include/uapi/linux/mshv.h` defines it: the root
//! personality's (`mshv_root`'s) and the VTL personality's (`mshv_vtl`'s).
//!
//! Every struct is declared through [`abi_structs!`] and every size, offset and ioctl number is
//! listed once, in [`FACTS`] (see [`crate::abi`]); the KUnit suite below compares the list with
//! the header the module is built against.

// Not every definition is used yet (the ioctls not yet implemented).
#![allow(dead_code)]

use kernel::{
    ioctl::{
        _IO,
        _IOR,
        _IOW,
        _IOWR, //
    },
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use crate::abi::{
    abi_structs,
    fact,
    Fact, //
};

/// Reads a `T` from user address `addr` (`EFAULT` if it cannot).
pub(crate) fn read_user<T: FromBytes>(addr: usize) -> Result<T> {
    UserSlice::new(UserPtr::from_addr(addr), size_of::<T>())
        .reader()
        .read()
}

/// Writes `value` to user address `addr` (`EFAULT` if it cannot).
pub(crate) fn write_user<T: AsBytes>(addr: usize, value: &T) -> Result {
    UserSlice::new(UserPtr::from_addr(addr), size_of::<T>())
        .writer()
        .write(value)
}

/// `MSHV_PT_BIT_*`: `pt_flags` bits of `MSHV_CREATE_PARTITION`.
pub(crate) mod pt_bit {
    pub(crate) const LAPIC: u32 = 0;
    pub(crate) const X2APIC: u32 = 1;
    pub(crate) const GPA_SUPER_PAGES: u32 = 2;
    pub(crate) const CPU_AND_XSAVE_FEATURES: u32 = 3;
    pub(crate) const NESTED_VIRTUALIZATION: u32 = 4;
    pub(crate) const SMT_ENABLED_GUEST: u32 = 5;
    /// `MSHV_PT_BIT_COUNT`.
    pub(crate) const COUNT: u32 = 6;
}
/// `MSHV_PT_ISOLATION_COUNT`: only `MSHV_PT_ISOLATION_NONE` (0) exists.
pub(crate) const MSHV_PT_ISOLATION_COUNT: u64 = 1;
/// `MSHV_MAX_VPS`.
pub(crate) const MSHV_MAX_VPS: u32 = 256;
/// `MSHV_VP_MMAP_OFFSET_*`: the pages of a VP file.
pub(crate) const MSHV_VP_MMAP_OFFSET_REGISTERS: usize = 0;
pub(crate) const MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE: usize = 1;
pub(crate) const MSHV_VP_MMAP_OFFSET_GHCB: usize = 2;

/// The ioctl type of every `mshv` command.
pub(crate) const MSHV_IOCTL: u32 = 0xB8;

abi_structs! {
    /// `struct mshv_create_partition`: the v1 argument of `MSHV_CREATE_PARTITION`.
    #[repr(C)]
    pub(crate) struct CreatePartition {
        /// `MSHV_PT_BIT_*` flags.
        pub(crate) pt_flags: u64,
        /// `MSHV_PT_ISOLATION_*`.
        pub(crate) pt_isolation: u64,
    }

    /// `struct mshv_create_partition_v2`: the argument of `MSHV_CREATE_PARTITION` when
    /// `MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES` is set in `pt_flags`. Packed.
    #[repr(C, packed)]
    pub(crate) struct CreatePartitionV2 {
        /// As in v1.
        pub(crate) pt_flags: u64,
        /// As in v1.
        pub(crate) pt_isolation: u64,
        /// Must be [`MSHV_NUM_CPU_FEATURES_BANKS`].
        pub(crate) pt_num_cpu_fbanks: u16,
        /// Must be zero.
        pub(crate) pt_rsvd: [u8; 6],
        /// Processor features to disable, passed to the hypervisor unchanged.
        pub(crate) pt_cpu_fbanks: [u64; MSHV_NUM_CPU_FEATURES_BANKS],
        /// Must be zero.
        pub(crate) pt_rsvd1: [u64; 2],
        /// x86_64: XSAVE features to disable (`pt_disabled_xsave`); arm64: reserved, must be
        /// zero (`pt_rsvd2`).
        pub(crate) pt_disabled_xsave: u64,
    }

    /// `struct mshv_create_vp`.
    #[repr(C)]
    pub(crate) struct CreateVp {
        /// The index of the new VP.
        pub(crate) vp_index: u32,
    }

    /// `struct mshv_user_mem_region`: the argument of `MSHV_SET_GUEST_MEMORY`.
    #[repr(C)]
    pub(crate) struct UserMemRegion {
        /// Bytes, a multiple of the hypervisor page size.
        pub(crate) size: u64,
        /// The first guest page frame.
        pub(crate) guest_pfn: u64,
        /// The user address of the memory.
        pub(crate) userspace_addr: u64,
        /// `MSHV_SET_MEM_BIT_*` flags.
        pub(crate) flags: u8,
        /// Must be zero.
        pub(crate) rsvd: [u8; 7],
    }

    /// `struct mshv_user_irqfd`: the argument of `MSHV_IRQFD`.
    #[repr(C)]
    pub(crate) struct UserIrqfd {
        /// The eventfd that raises the interrupt.
        pub(crate) fd: i32,
        /// The eventfd signalled on resample (`MSHV_IRQFD_BIT_RESAMPLE`).
        pub(crate) resamplefd: i32,
        /// The interrupt's routing entry.
        pub(crate) gsi: u32,
        /// `MSHV_IRQFD_BIT_*` flags.
        pub(crate) flags: u32,
    }

    /// `struct mshv_user_ioeventfd`: the argument of `MSHV_IOEVENTFD`.
    #[repr(C)]
    pub(crate) struct UserIoeventfd {
        /// The value to match (`MSHV_IOEVENTFD_BIT_DATAMATCH`).
        pub(crate) datamatch: u64,
        /// The port or MMIO address.
        pub(crate) addr: u64,
        /// The access size: 1, 2, 4 or 8 bytes.
        pub(crate) len: u32,
        /// The eventfd to signal.
        pub(crate) fd: i32,
        /// `MSHV_IOEVENTFD_BIT_*` flags.
        pub(crate) flags: u32,
        /// Must be zero.
        pub(crate) rsvd: [u8; 4],
    }

    /// `struct mshv_user_irq_entry`: one MSI routing entry.
    #[repr(C)]
    pub(crate) struct UserIrqEntry {
        /// The routing entry's number.
        pub(crate) gsi: u32,
        /// The low half of the MSI address.
        pub(crate) address_lo: u32,
        /// The high half of the MSI address.
        pub(crate) address_hi: u32,
        /// The MSI data.
        pub(crate) data: u32,
    }

    /// `struct mshv_user_irq_table`: the header of `MSHV_SET_MSI_ROUTING`'s argument, followed
    /// in user memory by `nr` [`UserIrqEntry`]s.
    #[repr(C)]
    pub(crate) struct UserIrqTable {
        /// The number of entries that follow.
        pub(crate) nr: u32,
        /// Must be zero.
        pub(crate) rsvd: u32,
    }

    /// `struct mshv_gpap_access_bitmap`: the argument of `MSHV_GET_GPAP_ACCESS_BITMAP`.
    #[repr(C)]
    pub(crate) struct GpapAccessBitmap {
        /// `MSHV_GPAP_ACCESS_TYPE_*`.
        pub(crate) access_type: u8,
        /// `MSHV_GPAP_ACCESS_OP_*`.
        pub(crate) access_op: u8,
        /// Must be zero.
        pub(crate) rsvd: [u8; 6],
        /// The number of guest pages.
        pub(crate) page_count: u64,
        /// The first guest page frame.
        pub(crate) gpap_base: u64,
        /// The user address of the bitmap, one bit a page.
        pub(crate) bitmap_ptr: u64,
    }

    /// `struct mshv_root_hvcall`: the argument of `MSHV_ROOT_HVCALL`.
    #[repr(C)]
    pub(crate) struct RootHvcall {
        /// The hypercall code.
        pub(crate) code: u16,
        /// In: the rep count; out: the reps completed.
        pub(crate) reps: u16,
        /// The input size in bytes.
        pub(crate) in_sz: u16,
        /// The output size in bytes.
        pub(crate) out_sz: u16,
        /// Out: the hypervisor's status.
        pub(crate) status: u16,
        /// Must be zero.
        pub(crate) rsvd: [u8; 6],
        /// The user address of the input.
        pub(crate) in_ptr: u64,
        /// The user address of the output.
        pub(crate) out_ptr: u64,
    }

    /// `struct mshv_run_vp`: the argument of `MSHV_RUN_VP`, the message that ended the run.
    #[repr(C)]
    pub(crate) struct RunVp {
        /// A `struct hv_message`.
        pub(crate) msg_buf: [u8; MSHV_RUN_VP_BUF_SZ],
    }

    /// `struct mshv_get_set_vp_state`: the argument of `MSHV_GET_VP_STATE` and
    /// `MSHV_SET_VP_STATE`.
    #[repr(C)]
    pub(crate) struct GetSetVpState {
        /// `MSHV_VP_STATE_*`.
        pub(crate) type_: u8,
        /// Must be zero.
        pub(crate) rsvd: [u8; 3],
        /// The size of the user buffer.
        pub(crate) buf_sz: u32,
        /// The user address of the buffer.
        pub(crate) buf_ptr: u64,
    }
}

/// The number of processor feature banks in [`CreatePartitionV2`].
pub(crate) const MSHV_NUM_CPU_FEATURES_BANKS: usize = 2;
/// The size of [`RunVp`]'s message buffer.
pub(crate) const MSHV_RUN_VP_BUF_SZ: usize = 256;

/// `MSHV_CREATE_PARTITION`: the number encodes the v1 size even for the v2 struct.
pub(crate) const MSHV_CREATE_PARTITION: u32 = _IOW::<CreatePartition>(MSHV_IOCTL, 0x00);
/// `MSHV_ROOT_HVCALL`, on `/dev/mshv`, partition and VP files.
pub(crate) const MSHV_ROOT_HVCALL: u32 = _IOWR::<RootHvcall>(MSHV_IOCTL, 0x07);
/// `MSHV_INITIALIZE_PARTITION`, on a partition file.
pub(crate) const MSHV_INITIALIZE_PARTITION: u32 = _IO(MSHV_IOCTL, 0x00);
/// `MSHV_CREATE_VP`, on a partition file.
pub(crate) const MSHV_CREATE_VP: u32 = _IOW::<CreateVp>(MSHV_IOCTL, 0x01);
/// `MSHV_SET_GUEST_MEMORY`, on a partition file.
pub(crate) const MSHV_SET_GUEST_MEMORY: u32 = _IOW::<UserMemRegion>(MSHV_IOCTL, 0x02);
/// `MSHV_IRQFD`, on a partition file.
pub(crate) const MSHV_IRQFD: u32 = _IOW::<UserIrqfd>(MSHV_IOCTL, 0x03);
/// `MSHV_IOEVENTFD`, on a partition file.
pub(crate) const MSHV_IOEVENTFD: u32 = _IOW::<UserIoeventfd>(MSHV_IOCTL, 0x04);
/// `MSHV_SET_MSI_ROUTING`, on a partition file.
pub(crate) const MSHV_SET_MSI_ROUTING: u32 = _IOW::<UserIrqTable>(MSHV_IOCTL, 0x05);
/// `MSHV_GET_GPAP_ACCESS_BITMAP`, on a partition file.
pub(crate) const MSHV_GET_GPAP_ACCESS_BITMAP: u32 = _IOWR::<GpapAccessBitmap>(MSHV_IOCTL, 0x06);
/// `MSHV_RUN_VP`, on a VP file.
pub(crate) const MSHV_RUN_VP: u32 = _IOR::<RunVp>(MSHV_IOCTL, 0x00);
/// `MSHV_GET_VP_STATE`, on a VP file.
pub(crate) const MSHV_GET_VP_STATE: u32 = _IOWR::<GetSetVpState>(MSHV_IOCTL, 0x01);
/// `MSHV_SET_VP_STATE`, on a VP file.
pub(crate) const MSHV_SET_VP_STATE: u32 = _IOWR::<GetSetVpState>(MSHV_IOCTL, 0x02);

abi_structs! {
    /// `struct mshv_vp_registers`: the argument of `MSHV_GET/SET_VP_REGISTERS` on a VTL file.
    #[repr(C)]
    pub(crate) struct VpRegisters {
        /// Must be 1.
        pub(crate) count: u32,
        /// Not checked (as upstream).
        pub(crate) reserved: u32,
        /// The user address of one `struct hv_register_assoc`.
        pub(crate) regs_ptr: u64,
    }

    /// `struct mshv_vtl_set_eventfd`: the argument of `MSHV_SINT_SET_EVENTFD`.
    #[repr(C)]
    pub(crate) struct VtlSetEventfd {
        /// An eventfd, or negative to clear the flag's.
        pub(crate) fd: i32,
        /// The event flag, below `HV_EVENT_FLAGS_COUNT`.
        pub(crate) flag: u32,
    }

    /// `struct mshv_vtl_signal_event`: the argument of `MSHV_SINT_SIGNAL_EVENT`.
    #[repr(C)]
    pub(crate) struct VtlSignalEvent {
        /// The connection to signal.
        pub(crate) connection_id: u32,
        /// The event flag to set.
        pub(crate) flag: u32,
    }

    /// `struct mshv_vtl_sint_post_msg`: the argument of `MSHV_SINT_POST_MESSAGE`.
    #[repr(C)]
    pub(crate) struct VtlSintPostMsg {
        /// The message type (the hypercall takes 32 bits of it).
        pub(crate) message_type: u64,
        /// The connection to post to.
        pub(crate) connection_id: u32,
        /// Bytes of payload, at most `HV_MESSAGE_PAYLOAD_BYTE_COUNT`.
        pub(crate) payload_size: u32,
        /// The user address of the payload.
        pub(crate) payload_ptr: u64,
    }

    /// `struct mshv_vtl_ram_disposition`: the argument of `MSHV_ADD_VTL0_MEMORY`.
    #[repr(C)]
    pub(crate) struct VtlRamDisposition {
        /// The first page frame.
        pub(crate) start_pfn: u64,
        /// The page frame after the last.
        pub(crate) last_pfn: u64,
    }

    /// `struct mshv_vtl_set_poll_file`: the argument of `MSHV_SET_POLL_FILE`.
    #[repr(C)]
    pub(crate) struct VtlSetPollFile {
        /// The CPU whose VTL return the file's wake-ups cancel.
        pub(crate) cpu: u32,
        /// The file.
        pub(crate) fd: u32,
    }

    /// `struct mshv_vtl_hvcall_setup`: the argument of `MSHV_HVCALL_SETUP`.
    #[repr(C)]
    pub(crate) struct VtlHvcallSetup {
        /// Bytes of the allow bitmap.
        pub(crate) bitmap_array_size: u64,
        /// The user address of the bitmap: bit `n` allows call code `n`.
        pub(crate) allow_bitmap_ptr: u64,
    }

    /// `struct mshv_vtl_hvcall`: the argument of `MSHV_HVCALL`.
    #[repr(C)]
    pub(crate) struct VtlHvcall {
        /// The full hypercall control word.
        pub(crate) control: u64,
        /// Bytes of input, at most a page.
        pub(crate) input_size: u64,
        /// The user address of the input.
        pub(crate) input_ptr: u64,
        /// Out: the hypercall's 64-bit result.
        pub(crate) status: u64,
        /// Bytes of output, at most a page.
        pub(crate) output_size: u64,
        /// The user address of the output.
        pub(crate) output_ptr: u64,
    }

    /// `struct mshv_sint_mask`: the argument of `MSHV_SINT_PAUSE_MESSAGE_STREAM`.
    #[repr(C)]
    pub(crate) struct SintMask {
        /// Non-zero pauses the stream.
        pub(crate) mask: u8,
        /// Not checked (as upstream).
        pub(crate) reserved: [u8; 7],
    }
}

/// `MSHV_CAP_*`: the capabilities `MSHV_CHECK_EXTENSION` answers for.
pub(crate) const MSHV_CAP_CORE_API_STABLE: u32 = 0;
pub(crate) const MSHV_CAP_REGISTER_PAGE: u32 = 1;
pub(crate) const MSHV_CAP_VTL_RETURN_ACTION: u32 = 2;
pub(crate) const MSHV_CAP_DR6_SHARED: u32 = 3;
/// This driver's, in no upstream header (a proposal, `arm64-vtl-switch.rst`): 1 where the VTL
/// switch over SMCCC is there (arm64). Upstream's numbers end at 3; OpenHCL's own
/// capability 4 is left free.
pub(crate) const MSHV_CAP_SMCCC_VTL_SWITCH: u32 = 16;
/// `MSHV_MAX_RUN_MSG_SIZE`: a run page's message and return-action buffers.
pub(crate) const MSHV_MAX_RUN_MSG_SIZE: usize = 256;

/// `MSHV_CHECK_EXTENSION`, on the VTL personality's `/dev/mshv`.
pub(crate) const MSHV_CHECK_EXTENSION: u32 = _IOW::<u32>(MSHV_IOCTL, 0x00);
/// `MSHV_CREATE_VTL`, on the VTL personality's `/dev/mshv` (the argument is unused).
pub(crate) const MSHV_CREATE_VTL: u32 = _IOR::<u8>(MSHV_IOCTL, 0x1D);
/// `MSHV_ADD_VTL0_MEMORY`, on a VTL file.
pub(crate) const MSHV_ADD_VTL0_MEMORY: u32 = _IOW::<VtlRamDisposition>(MSHV_IOCTL, 0x21);
/// `MSHV_SET_POLL_FILE`, on a VTL file (the same number as `MSHV_SINT_PAUSE_MESSAGE_STREAM`).
pub(crate) const MSHV_SET_POLL_FILE: u32 = _IOW::<VtlSetPollFile>(MSHV_IOCTL, 0x25);
/// `MSHV_RETURN_TO_LOWER_VTL`, on a VTL file.
pub(crate) const MSHV_RETURN_TO_LOWER_VTL: u32 = _IO(MSHV_IOCTL, 0x27);
/// `MSHV_GET_VP_REGISTERS`, on a VTL file.
pub(crate) const MSHV_GET_VP_REGISTERS: u32 = _IOWR::<VpRegisters>(MSHV_IOCTL, 0x05);
/// `MSHV_SET_VP_REGISTERS`, on a VTL file.
pub(crate) const MSHV_SET_VP_REGISTERS: u32 = _IOW::<VpRegisters>(MSHV_IOCTL, 0x06);
/// `MSHV_SINT_SIGNAL_EVENT`, on `/dev/mshv_sint`.
pub(crate) const MSHV_SINT_SIGNAL_EVENT: u32 = _IOW::<VtlSignalEvent>(MSHV_IOCTL, 0x22);
/// `MSHV_SINT_POST_MESSAGE`, on `/dev/mshv_sint`.
pub(crate) const MSHV_SINT_POST_MESSAGE: u32 = _IOW::<VtlSintPostMsg>(MSHV_IOCTL, 0x23);
/// `MSHV_SINT_SET_EVENTFD`, on `/dev/mshv_sint`.
pub(crate) const MSHV_SINT_SET_EVENTFD: u32 = _IOW::<VtlSetEventfd>(MSHV_IOCTL, 0x24);
/// `MSHV_SINT_PAUSE_MESSAGE_STREAM`, on `/dev/mshv_sint`.
pub(crate) const MSHV_SINT_PAUSE_MESSAGE_STREAM: u32 = _IOW::<SintMask>(MSHV_IOCTL, 0x25);
/// `MSHV_HVCALL_SETUP`, on `/dev/mshv_hvcall`.
pub(crate) const MSHV_HVCALL_SETUP: u32 = _IOW::<VtlHvcallSetup>(MSHV_IOCTL, 0x1E);
/// `MSHV_HVCALL`, on `/dev/mshv_hvcall`.
pub(crate) const MSHV_HVCALL: u32 = _IOWR::<VtlHvcall>(MSHV_IOCTL, 0x1F);

/// Every fact the C shim also computes from the kernel's header (`mshv_shim_uapi_facts`).
pub(crate) const FACTS: &[Fact] = &[
    fact!(size "mshv_create_partition", CreatePartition, 16),
    fact!(size "mshv_create_partition_v2", CreatePartitionV2, 64),
    fact!(offset "mshv_create_partition_v2.pt_num_cpu_fbanks", CreatePartitionV2, pt_num_cpu_fbanks, 16),
    fact!(offset "mshv_create_partition_v2.pt_rsvd", CreatePartitionV2, pt_rsvd, 18),
    fact!(offset "mshv_create_partition_v2.pt_cpu_fbanks", CreatePartitionV2, pt_cpu_fbanks, 24),
    fact!(offset "mshv_create_partition_v2.pt_rsvd1", CreatePartitionV2, pt_rsvd1, 40),
    fact!(offset "mshv_create_partition_v2.pt_disabled_xsave", CreatePartitionV2, pt_disabled_xsave, 56),
    fact!(size "mshv_create_vp", CreateVp, 4),
    fact!(size "mshv_user_mem_region", UserMemRegion, 32),
    fact!(offset "mshv_user_mem_region.flags", UserMemRegion, flags, 24),
    fact!(offset "mshv_user_mem_region.rsvd", UserMemRegion, rsvd, 25),
    fact!(size "mshv_user_irqfd", UserIrqfd, 16),
    fact!(offset "mshv_user_irqfd.gsi", UserIrqfd, gsi, 8),
    fact!(offset "mshv_user_irqfd.flags", UserIrqfd, flags, 12),
    fact!(size "mshv_user_ioeventfd", UserIoeventfd, 32),
    fact!(offset "mshv_user_ioeventfd.len", UserIoeventfd, len, 16),
    fact!(offset "mshv_user_ioeventfd.fd", UserIoeventfd, fd, 20),
    fact!(offset "mshv_user_ioeventfd.flags", UserIoeventfd, flags, 24),
    fact!(offset "mshv_user_ioeventfd.rsvd", UserIoeventfd, rsvd, 28),
    fact!(size "mshv_user_irq_entry", UserIrqEntry, 16),
    fact!(size "mshv_user_irq_table", UserIrqTable, 8),
    fact!(size "mshv_gpap_access_bitmap", GpapAccessBitmap, 32),
    fact!(offset "mshv_gpap_access_bitmap.page_count", GpapAccessBitmap, page_count, 8),
    fact!(offset "mshv_gpap_access_bitmap.bitmap_ptr", GpapAccessBitmap, bitmap_ptr, 24),
    fact!(size "mshv_root_hvcall", RootHvcall, 32),
    fact!(offset "mshv_root_hvcall.status", RootHvcall, status, 8),
    fact!(offset "mshv_root_hvcall.rsvd", RootHvcall, rsvd, 10),
    fact!(offset "mshv_root_hvcall.in_ptr", RootHvcall, in_ptr, 16),
    fact!(offset "mshv_root_hvcall.out_ptr", RootHvcall, out_ptr, 24),
    fact!(size "mshv_run_vp", RunVp, 256),
    fact!(size "mshv_get_set_vp_state", GetSetVpState, 16),
    fact!(offset "mshv_get_set_vp_state.buf_sz", GetSetVpState, buf_sz, 4),
    fact!(offset "mshv_get_set_vp_state.buf_ptr", GetSetVpState, buf_ptr, 8),
    fact!(ioctl MSHV_CREATE_PARTITION, 0x4010_B800),
    fact!(ioctl MSHV_ROOT_HVCALL, 0xC020_B807),
    fact!(ioctl MSHV_INITIALIZE_PARTITION, 0x0000_B800),
    fact!(ioctl MSHV_CREATE_VP, 0x4004_B801),
    fact!(ioctl MSHV_SET_GUEST_MEMORY, 0x4020_B802),
    fact!(ioctl MSHV_IRQFD, 0x4010_B803),
    fact!(ioctl MSHV_IOEVENTFD, 0x4020_B804),
    fact!(ioctl MSHV_SET_MSI_ROUTING, 0x4008_B805),
    fact!(ioctl MSHV_GET_GPAP_ACCESS_BITMAP, 0xC020_B806),
    fact!(ioctl MSHV_RUN_VP, 0x8100_B800),
    fact!(ioctl MSHV_GET_VP_STATE, 0xC010_B801),
    fact!(ioctl MSHV_SET_VP_STATE, 0xC010_B802),
    fact!(size "mshv_vp_registers", VpRegisters, 16),
    fact!(offset "mshv_vp_registers.regs_ptr", VpRegisters, regs_ptr, 8),
    fact!(size "mshv_vtl_set_eventfd", VtlSetEventfd, 8),
    fact!(offset "mshv_vtl_set_eventfd.flag", VtlSetEventfd, flag, 4),
    fact!(size "mshv_vtl_signal_event", VtlSignalEvent, 8),
    fact!(offset "mshv_vtl_signal_event.flag", VtlSignalEvent, flag, 4),
    fact!(size "mshv_vtl_sint_post_msg", VtlSintPostMsg, 24),
    fact!(offset "mshv_vtl_sint_post_msg.connection_id", VtlSintPostMsg, connection_id, 8),
    fact!(offset "mshv_vtl_sint_post_msg.payload_size", VtlSintPostMsg, payload_size, 12),
    fact!(offset "mshv_vtl_sint_post_msg.payload_ptr", VtlSintPostMsg, payload_ptr, 16),
    fact!(size "mshv_vtl_ram_disposition", VtlRamDisposition, 16),
    fact!(offset "mshv_vtl_ram_disposition.last_pfn", VtlRamDisposition, last_pfn, 8),
    fact!(size "mshv_vtl_set_poll_file", VtlSetPollFile, 8),
    fact!(offset "mshv_vtl_set_poll_file.fd", VtlSetPollFile, fd, 4),
    fact!(size "mshv_vtl_hvcall_setup", VtlHvcallSetup, 16),
    fact!(offset "mshv_vtl_hvcall_setup.allow_bitmap_ptr", VtlHvcallSetup, allow_bitmap_ptr, 8),
    fact!(size "mshv_vtl_hvcall", VtlHvcall, 48),
    fact!(offset "mshv_vtl_hvcall.input_size", VtlHvcall, input_size, 8),
    fact!(offset "mshv_vtl_hvcall.input_ptr", VtlHvcall, input_ptr, 16),
    fact!(offset "mshv_vtl_hvcall.status", VtlHvcall, status, 24),
    fact!(offset "mshv_vtl_hvcall.output_size", VtlHvcall, output_size, 32),
    fact!(offset "mshv_vtl_hvcall.output_ptr", VtlHvcall, output_ptr, 40),
    fact!(size "mshv_sint_mask", SintMask, 8),
    fact!(offset "mshv_sint_mask.reserved", SintMask, reserved, 1),
    fact!(const MSHV_MAX_RUN_MSG_SIZE, 256),
    fact!(const MSHV_CAP_CORE_API_STABLE, 0),
    fact!(const MSHV_CAP_REGISTER_PAGE, 1),
    fact!(const MSHV_CAP_VTL_RETURN_ACTION, 2),
    fact!(const MSHV_CAP_DR6_SHARED, 3),
    fact!(ioctl MSHV_CHECK_EXTENSION, 0x4004_B800),
    fact!(ioctl MSHV_CREATE_VTL, 0x8001_B81D),
    fact!(ioctl MSHV_ADD_VTL0_MEMORY, 0x4010_B821),
    fact!(ioctl MSHV_SET_POLL_FILE, 0x4008_B825),
    fact!(ioctl MSHV_RETURN_TO_LOWER_VTL, 0x0000_B827),
    fact!(ioctl MSHV_GET_VP_REGISTERS, 0xC010_B805),
    fact!(ioctl MSHV_SET_VP_REGISTERS, 0x4010_B806),
    fact!(ioctl MSHV_SINT_SIGNAL_EVENT, 0x4008_B822),
    fact!(ioctl MSHV_SINT_POST_MESSAGE, 0x4018_B823),
    fact!(ioctl MSHV_SINT_SET_EVENTFD, 0x4008_B824),
    fact!(ioctl MSHV_SINT_PAUSE_MESSAGE_STREAM, 0x4008_B825),
    fact!(ioctl MSHV_HVCALL_SETUP, 0x4010_B81E),
    fact!(ioctl MSHV_HVCALL, 0xC030_B81F),
];

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_uapi)]
mod tests {
    use super::FACTS;
    use crate::abi::CFacts;

    #[test]
    fn every_fact_matches_the_kernel_header() {
        assert!(CFacts::uapi().matches(FACTS));
    }
}
