// SPDX-License-Identifier: GPL-2.0

//! The one way the driver reaches the hypervisor.
//!
//! A [`Hypervisor`] takes a hypercall exactly as the hypercall instruction does: a control
//! word and an input and an output page (or, for a fast call, register values), and returns
//! the 64-bit result. Two implementations exist:
//!
//! - [`real`]: the kernel's own hypercall path, on a Hyper-V root partition;
//! - `sim` (with `CONFIG_MSHV_RUST_SIMULATOR`): a simulated Microsoft hypervisor that decodes
//!   the same pages.
//!
//! One is chosen when the module loads ([`select`]); everything above asks [`hv`] for it and
//! never knows which it got.

use core::ptr::NonNull;

use kernel::{
    ffi::c_void,
    prelude::*,
    sync::SetOnce,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

use crate::{
    env::{
        HvEnvironment,
        PartitionType, //
    },
    hv::{
        abi::SynicRegister,
        control::Control,
        status::HvResult,
        HV_HYP_PAGE_SIZE, //
    },
};

pub(crate) mod real;
#[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
pub(crate) mod sim;
pub(crate) mod synic;

/// One hypervisor page: the input or output of a hypercall.
///
/// A call's input is written in full for what the call sends (its header and each rep
/// element, structs with explicit padding), and the hypervisor reads no more: the page is
/// not zeroed between calls. (Zeroing all of it for each call was a third of an
/// `MSHV_RUN_VP` round trip under QEMU's TCG, which clears memory a byte at a time.)
#[repr(C, align(4096))]
pub(crate) struct HvPage(pub(crate) [u8; HV_HYP_PAGE_SIZE]);

// SAFETY: An array of bytes is valid when all zeroes.
unsafe impl pin_init::Zeroable for HvPage {}

impl HvPage {
    /// Copies `value` into the page at byte `offset`.
    pub(crate) fn write<T: AsBytes>(&mut self, offset: usize, value: &T) -> Result {
        let bytes = value.as_bytes();
        let end = offset.checked_add(bytes.len()).ok_or(EINVAL)?;
        self.0
            .get_mut(offset..end)
            .ok_or(EINVAL)?
            .copy_from_slice(bytes);
        Ok(())
    }

    /// Reads a `T` from the page at byte `offset`.
    pub(crate) fn read<T: FromBytes>(&self, offset: usize) -> Result<T> {
        let end = offset.checked_add(size_of::<T>()).ok_or(EINVAL)?;
        T::from_bytes_copy(self.0.get(offset..end).ok_or(EINVAL)?).ok_or(EINVAL)
    }

    /// Reads the `index`th `u64` after a header of `header` bytes (a rep list element).
    pub(crate) fn read_u64(&self, header: usize, index: usize) -> Result<u64> {
        self.read(
            header
                .checked_add(index.checked_mul(8).ok_or(EINVAL)?)
                .ok_or(EINVAL)?,
        )
    }

    /// Writes the `index`th `u64` after a header of `header` bytes.
    pub(crate) fn write_u64(&mut self, header: usize, index: usize, value: u64) -> Result {
        self.write(
            header
                .checked_add(index.checked_mul(8).ok_or(EINVAL)?)
                .ok_or(EINVAL)?,
            &value,
        )
    }
}

/// A pair of pages for a caller's hypercalls. Allocating per caller (rather than per CPU, as
/// the kernel's own pages are) lets a call sleep and run with interrupts on.
pub(crate) struct HvPages {
    /// The input page.
    pub(crate) input: KBox<HvPage>,
    /// The output page.
    pub(crate) output: KBox<HvPage>,
}

impl HvPages {
    /// Allocates two zeroed pages.
    pub(crate) fn new() -> Result<Self> {
        // A power-of-two kmalloc is naturally aligned, as `HvPage`'s alignment asks: each page
        // is one page of the linear map, as the hypervisor needs.
        Ok(Self {
            input: KBox::init(pin_init::init_zeroed(), GFP_KERNEL)?,
            output: KBox::init(pin_init::init_zeroed(), GFP_KERNEL)?,
        })
    }
}

/// What issues hypercalls: the hypervisor, as seen from its hypercall instruction.
pub(crate) trait Hypervisor: Sync {
    /// A short name for the kernel log.
    fn name(&self) -> &'static str;

    /// Issues a call whose input and output are in memory.
    ///
    /// # Safety
    ///
    /// The hypervisor acts on every host page frame the input names: pages deposited into a
    /// pool, pages mapped into a guest, buffers a VP's state is read into or written from. Each
    /// such frame must be memory the caller holds for that use (pages it allocated and hands
    /// over, or user pages it keeps pinned, or faulted in and watched, or device memory) for as
    /// long as the hypervisor may use it. An input that names no host frame has nothing to
    /// promise.
    unsafe fn hypercall(&self, control: Control, input: &HvPage, output: &mut HvPage) -> HvResult;

    /// Issues a fast call of `code` with up to two 64-bit inputs in registers. No call that
    /// names a host page frame can be made fast, so this is safe.
    fn fast_hypercall(&self, code: u16, input1: u64, input2: u64) -> HvResult;

    /// The VP assist page the hypervisor overlays for CPU `cpu` (`struct hv_vp_assist_page`), or
    /// null where it has none. The hypervisor writes it (a VTL's entry reason and intercept
    /// message) and reads it (VTL0's rax and rcx, the return actions) at each VTL switch.
    /// (The VTL personality's, as the next.)
    #[allow(dead_code)]
    fn vp_assist_page(&self, cpu: u32) -> *mut c_void;

    /// The hypervisor's VTL-return entry (the hypercall page's sequence at `offset`, from
    /// `HV_REGISTER_VSM_CODE_PAGE_OFFSETS`), or `None` where it has none.
    #[allow(dead_code)]
    fn vtl_return_entry(&self, offset: u64) -> Option<VtlReturnEntry>;

    /// Whether an SMCCC call by `HVC #0` reaches this hypervisor (arm64: where it is there
    /// at all, as the Hyper-V core found it); which functions it offers, the caller asks it
    /// (the vendor service's UID and features). False where no such call may be made.
    #[allow(dead_code)] // The VTL personality's (arm64).
    fn smccc_by_hvc(&self) -> bool;

    /// Writes SynIC register `register` of the calling CPU. Any context; it does not sleep.
    ///
    /// # Safety
    ///
    /// A value that enables a SynIC page (`Simp`, `Siefp`, `Sirbp`) names a page frame the
    /// hypervisor writes from then on: it must be a page the caller holds for that (or the
    /// one the hypervisor provided, which the register names already) until the register is
    /// written again (with another page, or disabled).
    unsafe fn write_synic(&self, register: SynicRegister, value: u64);

    /// Reads SynIC register `register` of the calling CPU. Any context; it does not sleep.
    fn read_synic(&self, register: SynicRegister) -> u64;

    /// The SynIC message and event flags pages VMBus set up for CPU `cpu` with this
    /// hypervisor, if it did (the VTL personality reads them; it sets pages of its own up
    /// where VMBus did not).
    #[allow(dead_code)] // The VTL personality's.
    fn vmbus_synic_pages(&self, cpu: u32) -> Option<(NonNull<c_void>, NonNull<c_void>)>;

    /// The hypervisor's version (x86: CPUID leaf `0x40000002`; arm64: its version register).
    #[allow(dead_code)] // The root personality's.
    fn version(&self) -> Result<HvVersion>;

    /// Whether VMBus runs with this hypervisor: it then owns SCONTROL, SIMP and SIEFP, which
    /// the root personality reads but leaves as they are.
    #[allow(dead_code)] // The root personality's.
    fn vmbus_active(&self) -> bool;

    /// Has `handler` run at each SynIC interrupt (in hard interrupt context, on the CPU
    /// interrupted; it reads the SynIC pages itself), or no more (`None`: not once this has
    /// returned). The root's is upstream's `mshv_isr` (x86: `hv_setup_mshv_handler()`), the
    /// VTL personality's runs before VMBus's. Fails where this hypervisor's interrupt cannot
    /// be had.
    fn set_synic_handler(&self, handler: Option<SynicHandler>) -> Result;
}

/// Where the hypervisor's VTL-return sequence is, as long as this lives.
///
/// # Invariants
///
/// `addr` is the entry's address; `mapping`, when not null, is the mapping of the hypercall
/// page that holds it, made for this and undone on drop.
pub(crate) struct VtlReturnEntry {
    addr: *mut c_void,
    mapping: *mut c_void,
}

// SAFETY: The addresses are code's, called from any CPU; the mapping is undone once, on drop.
unsafe impl Send for VtlReturnEntry {}
// SAFETY: As above: nothing is written through them.
unsafe impl Sync for VtlReturnEntry {}

impl VtlReturnEntry {
    /// An entry in the module's own code (the simulated hypervisor's), none if null.
    #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
    fn of_code(addr: *mut c_void) -> Option<Self> {
        // INVARIANT: No mapping was made for it.
        (!addr.is_null()).then_some(Self {
            addr,
            mapping: core::ptr::null_mut(),
        })
    }

    /// The entry's address.
    #[allow(dead_code)]
    pub(crate) fn addr(&self) -> *mut c_void {
        self.addr
    }
}

impl Drop for VtlReturnEntry {
    fn drop(&mut self) {
        if !self.mapping.is_null() {
            // SAFETY: By the invariants, the mapping was made for this entry alone.
            unsafe { crate::ffi::mshv_shim_hypercall_page_unmap(self.mapping) };
        }
    }
}

/// A hypervisor's version (`union hv_hypervisor_version_info`, the parts the driver reads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HvVersion {
    pub(crate) major: u16,
    pub(crate) minor: u16,
    pub(crate) build: u32,
}

/// Runs at a SynIC interrupt, in hard interrupt context: it must not sleep.
pub(crate) type SynicHandler = extern "C" fn();

/// The hypervisor chosen at load.
static HYPERVISOR: SetOnce<&'static dyn Hypervisor> = SetOnce::new();

/// How to choose the hypervisor (module parameter `hypervisor`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Choice {
    /// The real one in a root partition (or an L1 virtual host); else, where there is no
    /// Microsoft hypervisor at all, the simulated one if built in; else none (see [`pick`]).
    Auto,
    /// The kernel's own hypercall path, whatever the environment.
    Real,
    /// The simulated hypervisor.
    Simulated,
    /// The simulated hypervisor as the other kind of host it can be: for VTL2, one that offers
    /// no intercept page (intercepts come as SINT0 messages); for the root, one whose scheduler
    /// is the root's (`HV_SCHEDULER_TYPE_ROOT`).
    SimulatedAlternate,
}

impl Choice {
    /// Reads the module parameter's value.
    pub(crate) fn from_param(value: u32) -> Result<Self> {
        match value {
            0 => Ok(Self::Auto),
            1 => Ok(Self::Real),
            2 => Ok(Self::Simulated),
            3 => Ok(Self::SimulatedAlternate),
            _ => Err(EINVAL),
        }
    }
}

/// The hypervisor chosen for the life of the module, and what it keeps running.
pub(crate) struct Selected {
    hv: &'static dyn Hypervisor,
    /// The simulated machine's debugfs files, when it runs.
    #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
    sim: Option<Pin<KBox<sim::Debugfs>>>,
}

impl Selected {
    /// The chosen hypervisor's name.
    pub(crate) fn name(&self) -> &'static str {
        self.hv.name()
    }
}

impl Drop for Selected {
    fn drop(&mut self) {
        #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
        if self.sim.take().is_some() {
            sim::stop();
        }
    }
}

/// The hypervisor a [`Choice`] comes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pick {
    /// The kernel's own hypercall path.
    Real,
    /// The simulated hypervisor.
    Simulated,
}

/// The driver a module is, which decides where the real hypervisor serves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
// Each module makes its own only.
#[allow(dead_code)]
pub(crate) enum Personality {
    /// `mshv_rs`: a virtual machine monitor's, in a root partition or an L1 virtual host.
    Root,
    /// `mshv_vtl`: a paravisor's, at VTL2.
    Vtl,
}

impl Personality {
    /// Whether the kernel runs where this personality's hypercalls are served.
    pub(crate) fn belongs(self, env: &HvEnvironment) -> bool {
        match self {
            Self::Root => env.can_issue_root_hypercalls(),
            Self::Vtl => env.partition != PartitionType::NoHypervisor && env.vtl == 2,
        }
    }

    /// Where that is, for the kernel log.
    fn place(self) -> &'static str {
        match self {
            Self::Root => "a Hyper-V root partition",
            Self::Vtl => "VTL2 of a Hyper-V partition",
        }
    }
}

/// Why [`pick`] came to no hypervisor: the module does not load (`ENODEV`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `hypervisor=0` where the personality does not belong (see [`Personality::belongs`]),
    /// and the simulated hypervisor may not stand in: it is not built in, or a Microsoft
    /// hypervisor is there.
    NotHere,
    /// `hypervisor=2` in a build without the simulated hypervisor.
    NoSimulator,
}

/// The hypervisor `choice` comes to in `env` for `personality`; `simulator`: whether the
/// simulated one is built in. By default the simulated hypervisor stands in only where there is
/// no Microsoft hypervisor at all: a Hyper-V guest gets no `/dev/mshv` unless `hypervisor=2`
/// asks for it.
pub(crate) fn pick(
    choice: Choice,
    env: &HvEnvironment,
    simulator: bool,
    personality: Personality,
) -> core::result::Result<Pick, Refusal> {
    match choice {
        Choice::Real => Ok(Pick::Real),
        Choice::Simulated | Choice::SimulatedAlternate if simulator => Ok(Pick::Simulated),
        Choice::Simulated | Choice::SimulatedAlternate => Err(Refusal::NoSimulator),
        Choice::Auto if personality.belongs(env) => Ok(Pick::Real),
        Choice::Auto if simulator && env.partition == PartitionType::NoHypervisor => {
            Ok(Pick::Simulated)
        }
        Choice::Auto => Err(Refusal::NotHere),
    }
}

/// What both modules do first when they load: check the module against the kernel's headers,
/// log the environment, and choose the hypervisor for `personality` as module parameter
/// `hypervisor` (`param`) says.
pub(crate) fn start(personality: Personality, param: u32) -> Result<Selected> {
    let checked = crate::abi::check_headers();
    let env = HvEnvironment::probe();
    pr_info!("{}\n", env);
    checked
        .and_then(|()| Choice::from_param(param))
        .and_then(|choice| select(choice, &env, personality))
}

/// Chooses the hypervisor for the life of the module, as [`pick`] says, and logs which (a
/// warning in a build with the simulated hypervisor, whichever it is). Fails with `ENODEV`, and
/// says why, when there is none to choose.
pub(crate) fn select(
    choice: Choice,
    env: &HvEnvironment,
    personality: Personality,
) -> Result<Selected> {
    let simulator = cfg!(CONFIG_MSHV_RUST_SIMULATOR);
    let picked = pick(choice, env, simulator, personality);
    let selected = match picked {
        Ok(Pick::Real) => real(),
        Ok(Pick::Simulated) => simulated(personality, choice == Choice::SimulatedAlternate)?,
        Err(Refusal::NotHere) => {
            pr_err!(
                "not running in {} ({}): not loading\n",
                personality.place(),
                env
            );
            if simulator {
                pr_err!("hypervisor=2 selects the simulated hypervisor\n");
            }
            return Err(ENODEV);
        }
        Err(Refusal::NoSimulator) => {
            pr_err!("hypervisor=2, but this build has no simulated hypervisor: not loading\n");
            return Err(ENODEV);
        }
    };
    if !HYPERVISOR.populate(selected.hv) {
        return Err(EBUSY);
    }
    if picked == Ok(Pick::Real) && !personality.belongs(env) {
        pr_warn!(
            "hypervisor=1 outside {}: its hypercalls will fail\n",
            personality.place()
        );
    }
    match picked {
        _ if !simulator => pr_info!("using the {}\n", selected.name()),
        Ok(Pick::Simulated) => {
            pr_warn!("using the SIMULATED hypervisor: a test build, not for production\n")
        }
        _ => pr_warn!(
            "using the real {} in a test build (with a simulator): not for production\n",
            selected.name()
        ),
    }
    Ok(selected)
}

fn real() -> Selected {
    Selected {
        hv: &real::Real,
        #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
        sim: None,
    }
}

/// The simulated hypervisor, hosting the kernel where `personality` belongs.
#[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
fn simulated(personality: Personality, alternate: bool) -> Result<Selected> {
    let hosted = match personality {
        Personality::Root => sim::Hosted::Root,
        Personality::Vtl => sim::Hosted::Vtl2,
    };
    Ok(Selected {
        hv: &sim::SIMULATOR,
        sim: Some(sim::start(hosted, alternate)?),
    })
}

#[cfg(not(CONFIG_MSHV_RUST_SIMULATOR))]
fn simulated(_personality: Personality, _alternate: bool) -> Result<Selected> {
    Err(ENODEV)
}

/// The hypervisor [`select`] chose.
pub(crate) fn hv() -> &'static dyn Hypervisor {
    match HYPERVISOR.as_ref() {
        Some(hv) => *hv,
        // `select` runs before any device is registered, so nothing can get here without it.
        None => &real::Real,
    }
}

#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
#[kunit_tests(mshv_rs_transport)]
mod tests {
    use super::*;

    const EVERY_PARTITION: [PartitionType; 4] = [
        PartitionType::NoHypervisor,
        PartitionType::Guest,
        PartitionType::Root,
        PartitionType::L1vh,
    ];

    const BOTH: [Personality; 2] = [Personality::Root, Personality::Vtl];

    fn env(partition: PartitionType, vtl: u8) -> HvEnvironment {
        HvEnvironment { partition, vtl }
    }

    #[test]
    fn auto_is_real_where_the_personality_belongs_and_simulated_only_without_hyperv() {
        let root = Personality::Root;
        let vtl = Personality::Vtl;
        for simulator in [false, true] {
            for partition in [PartitionType::Root, PartitionType::L1vh] {
                assert_eq!(
                    pick(Choice::Auto, &env(partition, 0), simulator, root),
                    Ok(Pick::Real)
                );
                let here = pick(Choice::Auto, &env(partition, 0), simulator, vtl);
                assert_eq!(here, Err(Refusal::NotHere));
            }
            // A guest at VTL2 is a paravisor's place; at VTL0 it is neither's.
            let vtl2 = env(PartitionType::Guest, 2);
            assert_eq!(pick(Choice::Auto, &vtl2, simulator, vtl), Ok(Pick::Real));
            assert_eq!(
                pick(Choice::Auto, &vtl2, simulator, root),
                Err(Refusal::NotHere)
            );
            for personality in BOTH {
                let guest = pick(
                    Choice::Auto,
                    &env(PartitionType::Guest, 0),
                    simulator,
                    personality,
                );
                assert_eq!(guest, Err(Refusal::NotHere));
            }
        }
        for personality in BOTH {
            let none = env(PartitionType::NoHypervisor, 0);
            assert_eq!(
                pick(Choice::Auto, &none, true, personality),
                Ok(Pick::Simulated)
            );
            assert_eq!(
                pick(Choice::Auto, &none, false, personality),
                Err(Refusal::NotHere)
            );
        }
    }

    #[test]
    fn explicit_choices_hold_in_every_environment() {
        for partition in EVERY_PARTITION {
            for personality in BOTH {
                let env = env(partition, 0);
                for simulator in [false, true] {
                    let real = pick(Choice::Real, &env, simulator, personality);
                    assert_eq!(real, Ok(Pick::Real));
                }
                let sim = pick(Choice::Simulated, &env, true, personality);
                assert_eq!(sim, Ok(Pick::Simulated));
                let without = pick(Choice::Simulated, &env, false, personality);
                assert_eq!(without, Err(Refusal::NoSimulator));
                let plain = Choice::SimulatedAlternate;
                assert_eq!(pick(plain, &env, true, personality), Ok(Pick::Simulated));
                let without = pick(plain, &env, false, personality);
                assert_eq!(without, Err(Refusal::NoSimulator));
            }
        }
    }

    #[test]
    fn the_loaded_module_chose_as_its_environment_says() {
        // Wherever the suite runs (a Hyper-V root partition or VTL2, a machine without
        // Hyper-V, a guest with hypervisor=2): the module loaded, so its choice was not
        // refused, and the hypervisor in use is the one `pick` names for this environment,
        // parameter and personality.
        let choice = Choice::from_param(crate::module_parameters::hypervisor.value());
        assert!(choice.is_ok());
        let Ok(choice) = choice else { return };
        let env = HvEnvironment::probe();
        let picked = pick(
            choice,
            &env,
            cfg!(CONFIG_MSHV_RUST_SIMULATOR),
            crate::PERSONALITY,
        );
        assert!(picked.is_ok());
        let real_in_use = hv().name() == real::Real.name();
        assert_eq!(real_in_use, picked == Ok(Pick::Real));
    }
}
