// SPDX-License-Identifier: GPL-2.0

//! The partition the kernel runs in when the machine hosts it at VTL2 ([`Hosted::Vtl2`]): a
//! partition that is not the root, whose VPs run VTL0 and VTL2.
//!
//! Such a partition makes no root call: each answers `HV_STATUS_ACCESS_DENIED`, as the
//! hypervisor answers a partition without the privileges. What it may do: read and write its
//! own VPs' registers in either VTL's view (`union hv_input_vtl`), read the VSM registers that
//! say what VTL2 is offered, post messages and signal events (counted in `calls`).

use core::sync::atomic::{
    AtomicBool,
    AtomicU64,
    Ordering::Relaxed, //
};

use kernel::prelude::*;

use super::{
    machine::{
        read,
        RepResult, //
    },
    ALLOC,
};
use crate::cpu;
use crate::hv::{
    self,
    abi::{
        code,
        register,
        vsm_capability,
        vsm_partition_config,
        RegisterAssoc,
        VpRegistersIn,
        HV_PARTITION_ID_SELF,
        HV_VP_INDEX_SELF, //
    },
    shared::Shared,
    status::HvStatus,
};
use crate::transport::HvPage;

/// The partition the machine hosts the kernel in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hosted {
    /// The root partition.
    Root,
    /// A partition at VTL2 (a paravisor's).
    Vtl2,
}

/// What the machine offers VTL2 (`HV_REGISTER_VSM_CAPABILITIES`): on x86_64 return actions,
/// and intercept messages in the VP assist page unless it was started without; DR6 is not
/// shared. On arm64 neither (both live in the x86 VP assist page): intercepts come on SINT0.
fn capabilities() -> u64 {
    let page = if OFFERS_INTERCEPT_PAGE.load(Relaxed) {
        vsm_capability::INTERCEPT_PAGE_AVAILABLE
    } else {
        0
    };
    if cfg!(CONFIG_X86_64) {
        page | vsm_capability::RETURN_ACTION_AVAILABLE
    } else {
        page
    }
}

/// Whether the machine offers the intercept page; set when it starts.
static OFFERS_INTERCEPT_PAGE: AtomicBool = AtomicBool::new(true);
/// Whether the partition asked for it (`HV_REGISTER_VSM_PARTITION_CONFIG.intercept_page`):
/// else a lower VTL's intercept is a message on SINT0.
static INTERCEPT_PAGE: AtomicBool = AtomicBool::new(false);

/// Has the machine offer the intercept page, or not. Before the first call.
pub(super) fn offer_intercept_page(offer: bool) {
    OFFERS_INTERCEPT_PAGE.store(offer, Relaxed);
}

/// Whether a lower VTL's intercepts go in the VP assist page (the partition asked for it).
/// Any context.
pub(super) fn intercept_page() -> bool {
    INTERCEPT_PAGE.load(Relaxed)
}
/// Where the VTL call and return sequences are in the hypercall page
/// (`HV_REGISTER_VSM_CODE_PAGE_OFFSETS`: the call's offset in bits 0-11, the return's in 12-23).
pub(super) const PAGE_OFFSETS: u64 = 0x40 << 12;

/// `HV_MESSAGE_PAYLOAD_BYTE_COUNT`: the most a posted message carries.
const MESSAGE_PAYLOAD_BYTES: u32 = 240;
/// `HV_EVENT_FLAGS_COUNT`: event flags per SINT.
const EVENT_FLAGS: u64 = 2048;
/// Registers the machine keeps for the partition's VPs, at most: a write of another one is
/// refused (`INSUFFICIENT_BUFFERS`), as a hypervisor out of room would.
const MAX_REGISTERS: usize = 4096;

/// One register of one VP in one VTL, once written.
struct Register {
    vp: u32,
    vtl: u8,
    name: u32,
    value: [u64; 2],
}

/// The hosted VTL2 partition's state.
pub(crate) struct Vtl2Partition {
    /// The registers written, with their VP and VTL.
    registers: KVec<Register>,
}

impl Vtl2Partition {
    pub(crate) const fn new() -> Self {
        Self {
            registers: KVec::new(),
        }
    }

    /// Forgets every register written.
    pub(super) fn clear(&mut self) {
        self.registers = KVec::new();
        INTERCEPT_PAGE.store(false, Relaxed);
    }

    /// Takes a call with its input and output in memory; `None` for a code it does not know.
    pub(super) fn hypercall(
        &mut self,
        code: u16,
        input: &HvPage,
        output: &mut HvPage,
        start: usize,
        count: usize,
    ) -> Option<RepResult> {
        Some(match code {
            code::GET_VP_REGISTERS => self.get_registers(input, output, start, count),
            code::SET_VP_REGISTERS => self.set_registers(input, start, count),
            code::POST_MESSAGE => post_message(input),
            _ => return None,
        })
    }

    /// Takes a fast call; `None` for a code it does not know.
    pub(super) fn fast_hypercall(&mut self, code: u16, input1: u64) -> Option<HvStatus> {
        match code {
            // `hv_input_signal_event`: the connection in bits 0-31, the flag in 32-47.
            code::SIGNAL_EVENT if (input1 >> 32) < EVENT_FLAGS => Some(HvStatus::SUCCESS),
            code::SIGNAL_EVENT => Some(HvStatus::INVALID_PARAMETER),
            _ => None,
        }
    }

    fn get_registers(
        &mut self,
        input: &HvPage,
        output: &mut HvPage,
        start: usize,
        count: usize,
    ) -> RepResult {
        let (vp, vtl) = target(&read(input, 0)?).map_err(|s| (s, start))?;
        for i in start..count {
            let name: u32 = input
                .read(size_of::<VpRegistersIn>() + 4 * i)
                .map_err(|_| (HvStatus::INVALID_PARAMETER, i))?;
            let value = match name {
                register::VSM_CAPABILITIES => [capabilities(), 0],
                register::VSM_CODE_PAGE_OFFSETS => [PAGE_OFFSETS, 0],
                _ if let Some(shared) = shared(name) => [
                    on_vp(vp, || cpu::read_shared(shared)).map_err(|s| (s, i))?,
                    0,
                ],
                _ if let Some(value) = vtl0_register(vp, vtl, name) => [value.load(Relaxed), 0],
                _ => self
                    .registers
                    .iter()
                    .find(|r| r.vp == keeper(vp, name) && r.vtl == vtl && r.name == name)
                    .map_or([0, 0], |r| r.value),
            };
            output
                .write(16 * i, &value)
                .map_err(|_| (HvStatus::INVALID_PARAMETER, i))?;
        }
        Ok(count)
    }

    fn set_registers(&mut self, input: &HvPage, start: usize, count: usize) -> RepResult {
        let (vp, vtl) = target(&read(input, 0)?).map_err(|s| (s, start))?;
        for i in start..count {
            let assoc: RegisterAssoc = input
                .read(size_of::<VpRegistersIn>() + size_of::<RegisterAssoc>() * i)
                .map_err(|_| (HvStatus::INVALID_PARAMETER, i))?;
            let (name, value) = (assoc.name, assoc.value);
            if assoc.reserved1 != 0 || assoc.reserved2 != 0 {
                return Err((HvStatus::INVALID_PARAMETER, i));
            }
            if matches!(
                name,
                register::VSM_CAPABILITIES | register::VSM_CODE_PAGE_OFFSETS
            ) {
                return Err((HvStatus::ACCESS_DENIED, i));
            }
            if let Some(shared) = shared(name) {
                // SAFETY: The partition asked for its memory types, which are its own.
                let write = || unsafe { cpu::write_shared(shared, value[0]) };
                on_vp(vp, write).map_err(|s| (s, i))?;
                continue;
            }
            if let Some(register) = vtl0_register(vp, vtl, name) {
                register.store(value[0], Relaxed);
                // The register page shows it from now on.
                super::vtl0::show_registers(vp);
                continue;
            }
            // Only an intercept page the machine offers; used once the register is kept.
            let page = value[0] & vsm_partition_config::INTERCEPT_PAGE != 0;
            let config = vtl == 2 && name == register::VSM_PARTITION_CONFIG;
            if config && page && capabilities() & vsm_capability::INTERCEPT_PAGE_AVAILABLE == 0 {
                return Err((HvStatus::INVALID_PARAMETER, i));
            }
            if vtl == 2 && name == register::X64_REG_PAGE {
                // Kept outside the table: the machine overlays the page, or refuses.
                if !super::vtl0::set_register_page(vp, value[0]) {
                    return Err((HvStatus::INVALID_VP_INDEX, i));
                }
                continue;
            }
            let vp = keeper(vp, name);
            let found = self
                .registers
                .iter_mut()
                .find(|r| r.vp == vp && r.vtl == vtl && r.name == name);
            if let Some(r) = found {
                r.value = value;
            } else {
                if self.registers.len() >= MAX_REGISTERS {
                    return Err((HvStatus::INSUFFICIENT_BUFFERS, i));
                }
                let register = Register {
                    vp,
                    vtl,
                    name,
                    value,
                };
                self.registers
                    .push(register, ALLOC)
                    .map_err(|_| (HvStatus::INSUFFICIENT_BUFFERS, i))?;
            }
            if config {
                INTERCEPT_PAGE.store(page, Relaxed);
            }
        }
        Ok(count)
    }
}

/// The register of the VTLs' shared ones that `name` is, if it is one: every VTL's view of it
/// is the hardware's, of the CPU the VP runs on.
fn shared(name: u32) -> Option<Shared> {
    hv::shared::shared(name, capabilities() & vsm_capability::DR6_SHARED != 0)
}

/// Runs `access` on VP `vp`'s CPU: `INVALID_VP_STATE` if it is offline, `INVALID_PARAMETER`
/// if the CPU refused the access.
fn on_vp<T: Send>(vp: u32, access: impl FnOnce() -> Result<T> + Send) -> Result<T, HvStatus> {
    cpu::call_on(vp, access)
        .map_err(|_| HvStatus::INVALID_VP_STATE)?
        .map_err(|_| HvStatus::INVALID_PARAMETER)
}

/// Where the machine keeps VP `vp`'s register `name` in `vtl`, if not in the table: VTL0's
/// instruction pointer and flags, which its register page shows.
fn vtl0_register(vp: u32, vtl: u8, name: u32) -> Option<&'static AtomicU64> {
    // x86's names (arm64 has no register page).
    if !cfg!(CONFIG_X86_64) {
        return None;
    }
    let cpu = super::vtl0::CPUS.get(vp as usize).filter(|_| vtl == 0)?;
    match name {
        register::X64_RIP => Some(&cpu.rip),
        register::X64_RFLAGS => Some(&cpu.rflags),
        _ => None,
    }
}

/// The VP a register is kept for: the partition's, for a register of the partition's
/// (`HV_REGISTER_VSM_PARTITION_CONFIG`, whichever VP writes it), else the VP's own.
fn keeper(vp: u32, name: u32) -> u32 {
    if name == register::VSM_PARTITION_CONFIG {
        u32::MAX
    } else {
        vp
    }
}

/// The VP and VTL a register call is about: only the partition's own VPs (`HV_VP_INDEX_SELF`
/// is the calling CPU's), in VTL2's own view or VTL0's or VTL1's.
fn target(header: &VpRegistersIn) -> core::result::Result<(u32, u8), HvStatus> {
    if header.partition_id != HV_PARTITION_ID_SELF {
        return Err(HvStatus::ACCESS_DENIED);
    }
    if header.rsvd_z8 != 0 || header.rsvd_z16 != 0 {
        return Err(HvStatus::INVALID_PARAMETER);
    }
    let vp_index = header.vp_index;
    let vp = match vp_index {
        HV_VP_INDEX_SELF => kernel::cpu::CpuId::current().as_u32(),
        index if index < kernel::cpu::nr_cpu_ids() => index,
        _ => return Err(HvStatus::INVALID_VP_INDEX),
    };
    // `union hv_input_vtl`: the target VTL in bits 0-3, used if bit 4 is set; 5-7 reserved.
    let input_vtl = header.input_vtl;
    let vtl = match (input_vtl & 0x10 != 0, input_vtl & 0xf) {
        _ if input_vtl & 0xe0 != 0 => return Err(HvStatus::INVALID_PARAMETER),
        (false, 0) => 2,
        (true, target) if target <= 2 => target,
        _ => return Err(HvStatus::INVALID_PARAMETER),
    };
    Ok((vp, vtl))
}

/// `HVCALL_POST_MESSAGE` (`struct hv_input_post_message`): taken and counted; nobody in the
/// machine receives it.
fn post_message(input: &HvPage) -> RepResult {
    let reserved: u32 = read(input, 4)?;
    let payload_size: u32 = read(input, 12)?;
    if reserved != 0 || payload_size > MESSAGE_PAYLOAD_BYTES {
        return Err((HvStatus::INVALID_PARAMETER, 0));
    }
    Ok(0)
}
