// SPDX-License-Identifier: GPL-2.0

//! Declarations of the module's own C shim (`shim.c`) and assembly (`arch/<arch>/entry.S`).
//!
//! Each item has a twin in `shim.h`; keep the two in step. Safe wrappers live next to their
//! users: nothing outside this crate's wrappers calls these directly.

use kernel::ffi::{
    c_char,
    c_int,
    c_uint,
    c_ulong,
    c_void, //
};

/// No Microsoft hypervisor found (`MSHV_SHIM_HV_NONE`).
pub(crate) const MSHV_SHIM_HV_NONE: c_int = 0;
/// An ordinary guest partition (`MSHV_SHIM_HV_GUEST`): what any other value is taken for.
#[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
pub(crate) const MSHV_SHIM_HV_GUEST: c_int = 1;
/// The root partition (`MSHV_SHIM_HV_ROOT`).
pub(crate) const MSHV_SHIM_HV_ROOT: c_int = 2;
/// A level-1 virtual host (`MSHV_SHIM_HV_L1VH`).
pub(crate) const MSHV_SHIM_HV_L1VH: c_int = 3;

/// `struct mshv_shim_fact`: one size, offset or number of a kernel header.
#[repr(C)]
pub(crate) struct MshvShimFact {
    /// A static NUL-terminated name, as in [`crate::abi::Fact::name`].
    pub(crate) name: *const c_char,
    /// Its value in the C header.
    pub(crate) value: u64,
}

/// `struct mshv_smccc_ret`: x0 and x1 after an SMCCC call (AAPCS64 returns it in x0:x1).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // arm64's.
pub(crate) struct SmcccRet {
    pub(crate) a0: u64,
    pub(crate) a1: u64,
}

extern "C" {
    /// Returns the shim's static table of uapi facts and stores its length in `*len`.
    pub(crate) fn mshv_shim_uapi_facts(len: *mut usize) -> *const MshvShimFact;

    /// Returns the shim's static table of hypervisor ABI facts and stores its length in `*len`.
    pub(crate) fn mshv_shim_hv_facts(len: *mut usize) -> *const MshvShimFact;

    /// Issues a hypercall through the kernel's `hv_do_hypercall()`. `input` and `output` must
    /// each be a page-aligned page of the kernel's linear map (or null when unused).
    pub(crate) fn mshv_shim_hypercall(control: u64, input: *mut c_void, output: *mut c_void)
        -> u64;

    /// Issues a fast hypercall with two input registers (`hv_do_fast_hypercall16()`).
    pub(crate) fn mshv_shim_fast_hypercall(code: u16, input1: u64, input2: u64) -> u64;

    /// Allocates `1 << order` zeroed, physically contiguous pages, split so that each one is
    /// freed alone with [`mshv_shim_page_free`], and returns the first one's frame number, or
    /// 0.
    pub(crate) fn mshv_shim_pages_alloc(order: u32) -> u64;

    /// Frees one page of what [`mshv_shim_pages_alloc`] returned.
    pub(crate) fn mshv_shim_page_free(pfn: u64);

    /// Returns the linear-map address of a page of the kernel's memory.
    pub(crate) fn mshv_shim_page_address(pfn: u64) -> *mut c_void;

    /// The order of the folio frame `pfn` is in (0 for a frame with no `struct page`).
    pub(crate) fn mshv_shim_pfn_order(pfn: u64) -> u32;

    /// Returns the page frame of a `struct page` (passed opaque, as in
    /// [`mshv_shim_pfn_to_page`]).
    pub(crate) fn mshv_shim_page_to_pfn(page: *const c_void) -> u64;

    /// Whether the current task's mapping at `addr` is device memory: 1 or 0, or `-EINVAL`
    /// when nothing is mapped there; the mapping's end in `end`.
    pub(crate) fn mshv_shim_user_vma(addr: u64, end: *mut u64) -> c_int;

    /// Stores in `pfns[0..npages]` the page frames behind `npages` pages of the current task's
    /// device memory from `addr`, read from its page tables (faulting in pages not there yet).
    /// 0, `-EINVAL` if the range is not all in one device mapping, `-EFAULT` if a page cannot
    /// be faulted in.
    pub(crate) fn mshv_shim_user_io_pfns(addr: u64, npages: u64, pfns: *mut u64) -> c_int;

    /// `page_is_ram()`: whether page frame `pfn` is system RAM.
    pub(crate) fn mshv_shim_pfn_is_ram(pfn: u64) -> bool;

    /// `access_ok()`: whether `addr..addr + size` may be a user range of the current task.
    pub(crate) fn mshv_shim_access_ok(addr: u64, size: u64) -> bool;

    /// Returns the `struct page` of a page frame of the kernel's memory (as an opaque
    /// pointer: `bindings::page` is not FFI-safe).
    pub(crate) fn mshv_shim_pfn_to_page(pfn: u64) -> *mut c_void;

    /// Returns one of the `MSHV_SHIM_HV_*` values. Callable in any context.
    pub(crate) fn mshv_shim_hv_partition_type() -> c_int;

    /// Returns the virtual trust level the kernel runs at (0 without Hyper-V).
    pub(crate) fn mshv_shim_hv_vtl() -> u8;

    /// Returns `!value`; touches no memory.
    pub(crate) fn mshv_arch_abi_check(value: u64) -> u64;

    /// Watches eventfd `fd`: `signal(data, false)` runs in process context each time it is
    /// signalled, `signal(data, true)` once its file is released (closed by every holder).
    /// Returns the watch (opaque) or an `ERR_PTR`.
    pub(crate) fn mshv_shim_irqfd_attach(
        fd: c_int,
        signal: unsafe extern "C" fn(*mut c_void, bool),
        data: *mut c_void,
    ) -> *mut c_void;

    /// Stops a watch and waits for a running `signal` to return; frees the watch.
    pub(crate) fn mshv_shim_irqfd_detach(irqfd: *mut c_void);

    /// A reference to eventfd `fd`'s context, or an `ERR_PTR`.
    pub(crate) fn mshv_shim_eventfd_get(fd: c_int) -> *const c_void;

    /// Puts a reference [`mshv_shim_eventfd_get`] returned.
    pub(crate) fn mshv_shim_eventfd_put(ctx: *const c_void);

    /// Adds one to an eventfd's counter and wakes its readers; any context.
    pub(crate) fn mshv_shim_eventfd_signal(ctx: *const c_void);

    /// Watches `start..start + length` of the current task's address space:
    /// `invalidate(data, watch, start, end, blockable, seq)` runs before what backs part of
    /// it changes. Returns the watch (opaque) or an `ERR_PTR`.
    pub(crate) fn mshv_shim_range_insert(
        start: u64,
        length: u64,
        invalidate: unsafe extern "C" fn(*mut c_void, *mut c_void, u64, u64, bool, c_ulong) -> bool,
        data: *mut c_void,
    ) -> *mut c_void;

    /// Stops a watch, waiting for a running `invalidate`; frees it.
    pub(crate) fn mshv_shim_range_remove(range: *mut c_void);

    /// Records an invalidation's sequence (in `invalidate`, under the driver's lock).
    pub(crate) fn mshv_shim_range_set_seq(range: *mut c_void, seq: c_ulong);

    /// Whether an invalidation came since the fault that returned `seq` (under the same lock).
    pub(crate) fn mshv_shim_range_retry(range: *mut c_void, seq: c_ulong) -> bool;

    /// Faults in `npages` pages from user address `start` of the watched range (for writing if
    /// `write`), storing their frames in `pfns` and the sequence to check in `seq`. 0 or
    /// `-errno`.
    pub(crate) fn mshv_shim_range_fault(
        range: *mut c_void,
        start: u64,
        npages: u64,
        write: bool,
        pfns: *mut u64,
        seq: *mut c_ulong,
    ) -> c_int;

    /// `anon_inode_getfile()` (`<linux/anon_inodes.h>`, which bindgen does not see): a new file
    /// of `fops` with `private` as its private data, or an `ERR_PTR`.
    pub(crate) fn anon_inode_getfile(
        name: *const c_char,
        fops: *const c_void,
        private: *mut c_void,
        flags: c_int,
    ) -> *mut c_void;

    /// The kernel's own mapping of a hypercall result to an errno (`drivers/hv/hv_common.c`),
    /// which the driver's mapping is tested against.
    #[cfg(CONFIG_MSHV_RUST_KUNIT_TEST)]
    pub(crate) fn hv_result_to_errno(status: u64) -> c_int;

    /// Locks a `struct mutex` as `mutex_lock_killable()`: 0, or `-EINTR` if a fatal signal
    /// came first.
    pub(crate) fn mshv_shim_mutex_lock_killable(mutex: *mut c_void) -> c_int;

    /// Locks a `struct mutex` as `mutex_lock_interruptible()`: 0, or `-EINTR` if a signal
    /// came first.
    pub(crate) fn mshv_shim_mutex_lock_interruptible(mutex: *mut c_void) -> c_int;

    /// Takes a reference on the page of frame `pfn`, which must be in use (mapped by user
    /// space, say); false if its count already fell to zero or it has no `struct page`.
    pub(crate) fn mshv_shim_pfn_hold(pfn: u64) -> bool;

    /// Drops a reference [`mshv_shim_pfn_hold`] took.
    pub(crate) fn mshv_shim_pfn_release(pfn: u64);

    /// Lets others run (`cond_resched()`); false if the current task was killed meanwhile.
    pub(crate) fn mshv_shim_yield_killable() -> bool;

    /// An irq_work whose runs call `func(data)` in hard interrupt context, on the CPU that
    /// queued it (`hard`: `IRQ_WORK_INIT_HARD`, even under PREEMPT_RT). Returns it (opaque), or
    /// null without memory.
    pub(crate) fn mshv_shim_irq_work_new(
        func: unsafe extern "C" fn(*mut c_void),
        data: *mut c_void,
        hard: bool,
    ) -> *mut c_void;

    /// `irq_work_queue()`: false if it was already pending. Any context.
    pub(crate) fn mshv_shim_irq_work_queue(work: *mut c_void) -> bool;

    /// `irq_work_queue_on()` CPU `cpu`: false if it was already pending or the CPU is not
    /// online. Any context.
    pub(crate) fn mshv_shim_irq_work_queue_on(work: *mut c_void, cpu: u32) -> bool;

    /// Waits for a run queued or in progress to end (`irq_work_sync()`, process context).
    pub(crate) fn mshv_shim_irq_work_sync(work: *mut c_void);

    /// Waits for a run in progress (`irq_work_sync()`, process context), then frees the work.
    pub(crate) fn mshv_shim_irq_work_free(work: *mut c_void);

    /// `in_hardirq()`.
    #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
    pub(crate) fn mshv_shim_in_hardirq() -> bool;

    /// Takes the simulated hypervisor's SynIC lock (a raw spinlock), interrupts off; returns
    /// the flags [`mshv_shim_sim_synic_unlock`] restores.
    #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
    pub(crate) fn mshv_shim_sim_synic_lock() -> c_ulong;

    /// Releases the lock [`mshv_shim_sim_synic_lock`] took.
    #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
    pub(crate) fn mshv_shim_sim_synic_unlock(flags: c_ulong);

    /// Whether frame `pfn` is a page of RAM the kernel has freed (the simulator's check that
    /// no guest reaches one).
    #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
    pub(crate) fn mshv_shim_pfn_is_free(pfn: u64) -> bool;

    /// Stops the kernel's fault injection for the current task; returns what
    /// [`mshv_shim_fault_injection_resume`] restores.
    #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
    pub(crate) fn mshv_shim_fault_injection_pause() -> bool;

    /// Restores the current task's fault injection.
    #[cfg(CONFIG_MSHV_RUST_SIMULATOR)]
    pub(crate) fn mshv_shim_fault_injection_resume(was: bool);

    /// The VP assist page of CPU `cpu` (`hv_vp_assist_page[cpu]` on x86_64), or null where there
    /// is none.
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_shim_vp_assist_page(cpu: u32) -> *mut c_void;

    /// A new executable mapping of the hypercall page the kernel registered (x86_64), or null
    /// where there is none; undone with [`mshv_shim_hypercall_page_unmap`].
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_shim_hypercall_page_map() -> *mut c_void;

    /// Undoes [`mshv_shim_hypercall_page_map`].
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_shim_hypercall_page_unmap(addr: *mut c_void);

    /// `udelay()`.
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_shim_udelay(us: u32);

    /// `preempt_disable()`, `preempt_enable()`, `cond_resched()`.
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_shim_preempt_disable();
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_shim_preempt_enable();
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_shim_cond_resched();

    /// Points the VTL switch at `entry`, the hypervisor's VTL-return entry (x86_64, `mshv_vtl`).
    #[cfg(CONFIG_X86_64)]
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_shim_vtl_set_return_entry(entry: *mut c_void);

    /// Runs VTL0 once from run page `run_page` with interrupts off, handing over the return
    /// actions if `return_actions`: 0 when it ran (the entry reason is in `vp_assist_page`),
    /// `-EINTR` when the run page's cancel flag was set, `-EAGAIN` when work came meanwhile,
    /// `-EINVAL` when VTL0's FP state does not load (x86_64, `mshv_vtl`).
    #[cfg(CONFIG_X86_64)]
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_shim_vtl_return(
        run_page: *mut c_void,
        vp_assist_page: *mut c_void,
        return_actions: bool,
    ) -> c_int;

    /// Whether the switch can call `entry`; else `*why` says why not (x86_64, `mshv_vtl`).
    #[cfg(CONFIG_X86_64)]
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_shim_vtl_entry_usable(entry: *mut c_void, why: *mut *const c_char) -> bool;

    /// Takes the task's pending work before a guest runs (a VP dispatched, a lower VTL
    /// entered): 0, or `-EINTR` for a signal. May sleep.
    pub(crate) fn mshv_shim_guest_work() -> c_int;

    /// After a guest ran in the task (a VP dispatched), before it returns to user space: the
    /// rseq update the task owes (`rseq_virt_userspace_exit()`).
    pub(crate) fn mshv_shim_guest_exit();

    /// The run page's layout facts (x86_64, `mshv_vtl`).
    #[cfg(CONFIG_X86_64)]
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_shim_vtl_run_facts(len: *mut usize) -> *const MshvShimFact;

    /// One SMCCC call by `HVC #0` (`arch/arm64/entry.S`, `mshv_vtl`): x0 and x1 back; the
    /// callee may change x0-x17.
    #[cfg(CONFIG_ARM64)]
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_vtl_smccc_call(fid: u64, a1: u64, a2: u64, a3: u64) -> SmcccRet;

    /// A query `fid` of the vendor hypervisor service by `HVC #0`: x0-x3 in `res[0..4]`
    /// (arm64, `mshv_vtl`).
    #[cfg(CONFIG_ARM64)]
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_smccc_hvc(fid: u64, res: *mut u64);

    /// Whether the vendor hypervisor service's UID (x0-x3 of its UID query) is Hyper-V's
    /// (arm64, `mshv_vtl`).
    #[cfg(CONFIG_ARM64)]
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_smccc_is_hyperv(r0: u64, r1: u64, r2: u64, r3: u64) -> bool;

    /// One VTL return over SMCCC with interrupts off (arm64, `mshv_vtl`): 0 and the entry
    /// reason in `*reason`; `-EAGAIN` when work came meanwhile, `-EINTR` when `*cancel` was
    /// set, `-EOPNOTSUPP`/`-EINVAL` for the hypervisor's `NOT_SUPPORTED`/`INVALID_PARAMETER`,
    /// `-EIO` for any other answer, `-EBUSY` where FP/SIMD cannot be had.
    #[cfg(CONFIG_ARM64)]
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_vtl_return_smccc(cancel: *mut u32, reason: *mut u64) -> c_int;

    /// The simulated hypervisor's EL2 code (`transport/sim/el2_arm64.S`): its start, end and
    /// the routines the stub's `HVC_SOFT_RESTART` reaches at install (labels: only their
    /// addresses are used).
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) static mshv_sim_el2_start: u8;
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) static mshv_sim_el2_end: u8;
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) static mshv_sim_el2_read_vbar: u8;
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) static mshv_sim_el2_init: u8;

    /// The simulated VTL0's vectors and programs, at EL1 (`transport/sim/el2_arm64.S`).
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_vtl0_vectors();
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_vtl0_intercept();
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_vtl0_spin();
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_vtl0_reason();

    /// An `HVC #0` of the simulator's own (`transport/sim/el2_arm64.S`): x0 and x1 back.
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_el2_call(x0: u64, x1: u64, x2: u64, x3: u64) -> SmcccRet;

    /// Whether the kernel hyp stub owns EL2, to lend it (`transport/sim/el2_glue.c`).
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_el2_possible() -> bool;

    /// A physically contiguous copy of `len` bytes of code at `code`, cleaned to the point of
    /// coherency: its physical address (0 on failure), the allocation in `*handle`.
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_el2_code_alloc(
        code: *const u8,
        len: usize,
        handle: *mut *mut c_void,
    ) -> u64;
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_el2_code_free(handle: *mut c_void, len: usize);

    /// `len` zeroed bytes, physically contiguous, mapped non-cacheable: the mapping (null on
    /// failure), the physical address in `*pa`, the allocation in `*handle`.
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_el2_state_alloc(
        len: usize,
        pa: *mut u64,
        handle: *mut *mut c_void,
    ) -> *mut c_void;
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_el2_state_free(va: *mut c_void, handle: *mut c_void, len: usize);

    /// Calls `resumed` on a CPU back from a low-power state (the CPU PM notifier).
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_el2_pm_register(resumed: unsafe extern "C" fn()) -> c_int;
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_el2_pm_unregister();

    /// The EL2 state's layout facts (`transport/sim/el2_arm64.h`).
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_ARM64))]
    pub(crate) fn mshv_sim_el2_facts(len: *mut usize) -> *const MshvShimFact;

    /// The simulated hypervisor's VTL-return entry (`transport/sim/vtl_x86.S`, `mshv_vtl`).
    #[cfg(all(CONFIG_MSHV_RUST_SIMULATOR, CONFIG_X86_64))]
    #[allow(dead_code)] // The VTL module's: the root module makes no VTL switch.
    pub(crate) fn mshv_sim_vtl_return();

    /// Watches file `fd` for `MSHV_SET_POLL_FILE`: each wake-up sets `*cancel` and, if it was
    /// clear, interrupts CPU `cpu`. Returns the watch (opaque), or null with `*err` set.
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_poll_watch(
        fd: c_int,
        cancel: *mut u32,
        cpu: u32,
        err: *mut c_int,
    ) -> *mut c_void;

    /// Ends a watch [`mshv_shim_poll_watch`] made.
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_poll_unwatch(watch: *mut c_void);

    /// `cpu_online(cpu)`, false for a number beyond `nr_cpu_ids`.
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_cpu_online(cpu: u32) -> bool;

    /// `smp_call_function_single(cpu, func, data, true)`: `func(data)` on CPU `cpu`, with
    /// interrupts off, waited for; 0 or `-ENXIO` (the CPU is offline).
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_call_on_cpu(
        cpu: u32,
        func: unsafe extern "C" fn(*mut c_void),
        data: *mut c_void,
    ) -> c_int;

    /// Reads (`set` false) or writes `*value` to a register the VTLs share of the calling CPU:
    /// debug register `debug` (0-3, 6) if `msr` is 0, else MTRR `msr`. 0, or `-EINVAL` for
    /// another register, a value the CPU refuses or a register it has not; `-EOPNOTSUPP` on
    /// arm64.
    #[allow(dead_code)] // The VTL module's and the simulator's.
    pub(crate) fn mshv_shim_shared_reg(debug: u32, msr: u32, set: bool, value: *mut u64) -> c_int;

    /// `on_each_cpu(func, data, true)`, no CPU coming or going meanwhile.
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_on_each_cpu(func: unsafe extern "C" fn(*mut c_void), data: *mut c_void);

    /// `cpu_possible(cpu)`, false for a number beyond `nr_cpu_ids`.
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_cpu_possible(cpu: u32) -> bool;

    /// A dynamic CPU hotplug state, `online(cpu)` run on each CPU online now and each that
    /// comes, `offline(cpu)` on each that goes: its number, or a negative errno.
    pub(crate) fn mshv_shim_cpuhp_add(
        name: *const c_char,
        online: unsafe extern "C" fn(c_uint) -> c_int,
        offline: unsafe extern "C" fn(c_uint) -> c_int,
    ) -> c_int;

    /// Removes a state [`mshv_shim_cpuhp_add`] added, `offline` run on each CPU online.
    pub(crate) fn mshv_shim_cpuhp_remove(state: c_int);

    /// Whether a misc device named `name` is registered (seen in sysfs).
    pub(crate) fn mshv_shim_misc_taken(name: *const c_char) -> bool;

    /// Has `f` called (process context) when the kernel reboots, halts or powers off, as a
    /// reboot notifier of `priority` (higher first), until removed: the handle, or null.
    pub(crate) fn mshv_shim_reboot_add(f: extern "C" fn(), priority: c_int) -> *mut c_void;

    /// Removes a handle of [`mshv_shim_reboot_add`], once a call of it in progress has ended.
    pub(crate) fn mshv_shim_reboot_remove(handle: *mut c_void);

    /// Writes the calling CPU's SynIC register `reg` (`MSHV_SHIM_SYNIC_*`).
    pub(crate) fn mshv_shim_synic_write(reg: u32, value: u64);

    /// Reads the calling CPU's SynIC register `reg`.
    pub(crate) fn mshv_shim_synic_read(reg: u32) -> u64;

    /// A SINT's value as upstream programs its own (the module's vector), masked or not.
    pub(crate) fn mshv_shim_sint(masked: bool) -> u64;

    /// Has `handler` run at each SynIC interrupt (mshv_rs: as upstream's `mshv_isr`, on arm64
    /// through the per-CPU interrupt of `intid`, the INTID the hypervisor reserves, which ACPI
    /// maps; mshv_vtl: before VMBus's own handler, if VMBus set the SynIC up), or no more
    /// (null): 0, or `-ENODEV`/`-EBUSY`/`-EOPNOTSUPP` where the module cannot.
    pub(crate) fn mshv_shim_set_synic_handler(
        handler: Option<extern "C" fn()>,
        intid: u64,
    ) -> c_int;

    /// Enables or disables the SynIC interrupt on the calling CPU, which the caller is bound to
    /// (a CPU hotplug callback): arm64's per-CPU interrupt, once taken; nothing elsewhere.
    pub(crate) fn mshv_shim_synic_irq_percpu(enable: bool);

    /// Whether VMBus runs (and so owns SCONTROL, SIMP and SIEFP).
    pub(crate) fn mshv_shim_vmbus_exists() -> bool;

    /// The hypervisor's version (`hv_get_hypervisor_version()`): 0, or a negative errno.
    pub(crate) fn mshv_shim_hv_version(major: *mut u16, minor: *mut u16, build: *mut u32) -> c_int;

    /// Maps page frame `pfn`, one the hypervisor provides, write-back; null on failure.
    #[allow(dead_code)] // The root module's.
    pub(crate) fn mshv_shim_memremap_page(pfn: u64) -> *mut c_void;

    /// The calling CPU's consumer indices of the root's event rings (one per SINT), kept by
    /// the Hyper-V core on a root partition while the CPU is online; null elsewhere.
    #[allow(dead_code)] // The root module's.
    pub(crate) fn mshv_shim_eventring_tails() -> *mut u8;

    /// Unmaps what [`mshv_shim_memremap_page`] mapped.
    #[allow(dead_code)] // The root module's.
    pub(crate) fn mshv_shim_memunmap_page(addr: *mut c_void);

    /// VMBus's SynIC message and event flags pages of CPU `cpu`, if VMBus set them up.
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_vmbus_synic_pages(
        cpu: u32,
        message: *mut *mut c_void,
        event: *mut *mut c_void,
    ) -> bool;

    /// The limits of a range of VTL0 memory: pfns aligned to `*align_pages`, within
    /// `[*first_pfn, *end_pfn)` (an empty window where the kernel has no ZONE_DEVICE), at most
    /// `*max_pages` of them.
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_vtl0_memory_limits(
        align_pages: *mut u64,
        first_pfn: *mut u64,
        end_pfn: *mut u64,
        max_pages: *mut u64,
    );

    /// Claims pfns `[start_pfn, end_pfn)` (within the limits) as VTL0 memory and gives them
    /// struct pages, or returns null with `*err` (`-EBUSY`: the region is taken).
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_vtl0_memory_add(
        start_pfn: u64,
        end_pfn: u64,
        err: *mut c_int,
    ) -> *mut c_void;

    /// Undoes [`mshv_shim_vtl0_memory_add`], once no page of the range is in use.
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_vtl0_memory_remove(mem: *mut c_void);

    /// Makes a new mapping of `/dev/mshv_vtl_low` map added VTL0 memory by physical address.
    #[allow(dead_code)] // The VTL module's.
    pub(crate) fn mshv_shim_vtl_low_mmap(vma: *mut c_void);
}
