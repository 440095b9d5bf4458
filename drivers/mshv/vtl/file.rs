// SPDX-License-Identifier: GPL-2.0

//! A VTL file (`MSHV_CREATE_VTL`): VTL0 as seen from the CPU that makes each call.
//!
//! As upstream's, the file holds no state of its own: every VTL file of the module reaches the
//! same per-CPU state, and a call is about the CPU its thread runs on (a paravisor runs one
//! thread pinned to each CPU).

use kernel::{
    fs::File,
    mm::virt::VmaNew,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow, //
    },
};

use super::run::RunPages;

use crate::{
    anon_file::AnonFile,
    calls, cpu,
    hv::{
        self,
        abi::{
            input_vtl,
            vsm_capability,
            RegisterAssoc,
            HV_PARTITION_ID_SELF,
            HV_VP_INDEX_SELF, //
        },
        shared::Shared,
    },
    transport::HvPages,
    uapi::{
        self,
        VpRegisters,
        MSHV_ADD_VTL0_MEMORY,
        MSHV_GET_VP_REGISTERS,
        MSHV_RETURN_TO_LOWER_VTL,
        MSHV_SET_POLL_FILE,
        MSHV_SET_VP_REGISTERS, //
    },
};

/// A VTL file's object: the module's run pages, which every VTL file shares.
pub(crate) struct Vtl {
    run: Arc<RunPages>,
}

impl Vtl {
    pub(crate) fn new(run: Arc<RunPages>) -> Self {
        Self { run }
    }
}

impl AnonFile for Vtl {
    const NAME: &'static CStr = c"mshv_vtl";
    const HAS_MMAP: bool = true;

    fn ioctl(this: ArcBorrow<'_, Self>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            MSHV_GET_VP_REGISTERS => get_register(arg),
            MSHV_SET_VP_REGISTERS => set_register(arg),
            MSHV_RETURN_TO_LOWER_VTL => this.run.return_to_lower_vtl(),
            MSHV_SET_POLL_FILE => this.run.set_poll_file(arg),
            MSHV_ADD_VTL0_MEMORY => super::memory::add(arg),
            _ => Err(ENOTTY),
        }
    }

    fn mmap(this: ArcBorrow<'_, Self>, vma: &VmaNew, pgoff: usize) -> Result {
        this.run.mmap(vma, pgoff)
    }
}

/// Reads the argument of `MSHV_GET/SET_VP_REGISTERS` and the one register it points to.
fn read_register(arg: usize) -> Result<(usize, RegisterAssoc)> {
    let args: VpRegisters = uapi::read_user(arg)?;
    if args.count != 1 {
        return Err(EINVAL);
    }
    let at = usize::try_from(args.regs_ptr).map_err(|_| EFAULT)?;
    Ok((at, uapi::read_user(at)?))
}

/// The register VTL0 shares with VTL2 that register `name` is, if it is one: it is read and
/// written in the hardware, without a hypercall, as upstream does.
fn shared(name: u32) -> Option<Shared> {
    hv::shared::shared(name, super::vsm().has(vsm_capability::DR6_SHARED))
}

/// `MSHV_GET_VP_REGISTERS`: one of VTL0's registers on this CPU, the whole
/// `struct hv_register_assoc` written back.
fn get_register(arg: usize) -> Result<isize> {
    let (at, mut assoc) = read_register(arg)?;
    assoc.value = match shared(assoc.name) {
        Some(register) => [cpu::read_shared(register)?, 0],
        None => calls::get_vp_register_in(
            &mut HvPages::new()?,
            HV_PARTITION_ID_SELF,
            HV_VP_INDEX_SELF,
            input_vtl::VTL0,
            assoc.name,
        )?,
    };
    uapi::write_user(at, &assoc)?;
    Ok(0)
}

/// `MSHV_SET_VP_REGISTERS`: sets one of VTL0's registers on this CPU.
fn set_register(arg: usize) -> Result<isize> {
    let (_, assoc) = read_register(arg)?;
    if let Some(register) = shared(assoc.name) {
        // SAFETY: VTL0's memory types are the paravisor's to set (`/dev/mshv`'s opener, root
        // only), as upstream, whose access is the same instruction.
        unsafe { cpu::write_shared(register, assoc.value[0]) }?;
        return Ok(0);
    }
    let mut pages = HvPages::new()?;
    calls::set_vp_registers_in(
        &mut pages,
        HV_PARTITION_ID_SELF,
        HV_VP_INDEX_SELF,
        input_vtl::VTL0,
        [(assoc.name, assoc.value)].into_iter(),
    )?;
    Ok(0)
}
