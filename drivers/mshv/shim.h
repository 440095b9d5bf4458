/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between the Rust crate and the C shim and assembly. Every declaration here has
 * a hand-written twin in ffi.rs; keep the two in step.
 */
#ifndef MSHV_RS_SHIM_H
#define MSHV_RS_SHIM_H

#include <linux/types.h>

/* What kind of partition the kernel runs in, as far as Hyper-V is concerned. */
#define MSHV_SHIM_HV_NONE	0	/* No Microsoft hypervisor found. */
#define MSHV_SHIM_HV_GUEST	1	/* An ordinary guest partition. */
#define MSHV_SHIM_HV_ROOT	2	/* The root partition. */
#define MSHV_SHIM_HV_L1VH	3	/* A level-1 virtual host. */

int mshv_shim_hv_partition_type(void);
u8 mshv_shim_hv_vtl(void);

/*
 * The hypervisor's entry points as the kernel provides them: hv_do_hypercall() and
 * hv_do_fast_hypercall16(). Both return the 64-bit hypercall result (U64_MAX when the
 * kernel has no hypercall page).
 */
u64 mshv_shim_hypercall(u64 control, void *input, void *output);
u64 mshv_shim_fast_hypercall(u16 code, u64 input1, u64 input2);

/* Pages handed to and taken back from the hypervisor, named by page frame number. */
/*
 * 1 << order zeroed, physically contiguous pages, split so that each is freed alone with
 * mshv_shim_page_free(): the first one's frame number, or 0.
 */
u64 mshv_shim_pages_alloc(u32 order);
void mshv_shim_page_free(u64 pfn);
void *mshv_shim_page_address(u64 pfn);
/* The order of the folio page frame @pfn is in (0 for a frame with no struct page). */
unsigned int mshv_shim_pfn_order(u64 pfn);
void *mshv_shim_pfn_to_page(u64 pfn);	/* a struct page * */
u64 mshv_shim_page_to_pfn(const void *page);

/*
 * Whether the current task's mapping at addr is device memory (VM_IO or VM_PFNMAP): 1 or 0,
 * or -EINVAL if nothing is mapped there; the mapping's end in *end.
 */
int mshv_shim_user_vma(u64 addr, u64 *end);
/*
 * The page frames behind npages pages of the current task's device memory from addr, in
 * pfns[0..npages), read from its page tables (pages not yet there are faulted in): 0, or
 * -EINVAL if the range is not all within one VM_IO or VM_PFNMAP mapping, -EFAULT if a page
 * cannot be faulted in.
 */
int mshv_shim_user_io_pfns(u64 addr, u64 npages, u64 *pfns);
/* page_is_ram(). */
bool mshv_shim_pfn_is_ram(u64 pfn);

/* Movable guest memory: an MMU interval notifier and HMM faults (see shim.c). */
struct mshv_shim_range;
struct mshv_shim_range *mshv_shim_range_insert(u64 start, u64 length,
					       bool (*invalidate)(void *, struct mshv_shim_range *,
								  u64, u64, bool, unsigned long),
					       void *data);
void mshv_shim_range_remove(struct mshv_shim_range *r);
void mshv_shim_range_set_seq(struct mshv_shim_range *r, unsigned long seq);
bool mshv_shim_range_retry(struct mshv_shim_range *r, unsigned long seq);
int mshv_shim_range_fault(struct mshv_shim_range *r, u64 start, u64 npages, bool write,
			  u64 *pfns, unsigned long *seq);

/* access_ok() on the current task's address space. */
bool mshv_shim_access_ok(u64 addr, u64 size);

/*
 * Eventfds watched for irqfds: attach returns the watch or an ERR_PTR; signal(data, false)
 * runs in process context (a work item) each time the eventfd is signalled, signal(data, true)
 * once its file is released (and every time after). Detach stops it and waits
 * for a running signal. The eventfd helpers return an ERR_PTR or a reference to put.
 */
struct mshv_shim_irqfd;
struct mshv_shim_irqfd *mshv_shim_irqfd_attach(int fd, void (*signal)(void *, bool),
					       void *data);
void mshv_shim_irqfd_detach(struct mshv_shim_irqfd *irqfd);
const void *mshv_shim_eventfd_get(int fd);
void mshv_shim_eventfd_put(const void *ctx);
void mshv_shim_eventfd_signal(const void *ctx);

/* One size, offset or number of a C header, for the driver's self-test. */
struct mshv_shim_fact {
	const char *name;
	u64 value;
};

const struct mshv_shim_fact *mshv_shim_uapi_facts(size_t *len);
const struct mshv_shim_fact *mshv_shim_hv_facts(size_t *len);

/* arch/<arch>/entry.S */
u64 mshv_arch_abi_check(u64 value);

/* mutex_lock_killable() (a macro with lockdep): 0, or -EINTR on a fatal signal. */
int mshv_shim_mutex_lock_killable(void *mutex);
/* mutex_lock_interruptible(): 0, or -EINTR on any signal. */
int mshv_shim_mutex_lock_interruptible(void *mutex);

/*
 * A reference on the page of a frame the caller knows to be in use (false if it has none left,
 * or no struct page), and its release.
 */
bool mshv_shim_pfn_hold(u64 pfn);
void mshv_shim_pfn_release(u64 pfn);

/* cond_resched(), then false if the current task has a fatal signal pending. */
bool mshv_shim_yield_killable(void);

/*
 * An irq_work: func(data) runs in hard interrupt context on the CPU that queued it (hard: even
 * under PREEMPT_RT). new returns NULL without memory; queue returns false if it was already
 * pending; free waits for a run in progress (process context).
 */
struct mshv_shim_irq_work;
struct mshv_shim_irq_work *mshv_shim_irq_work_new(void (*func)(void *), void *data, bool hard);
bool mshv_shim_irq_work_queue(struct mshv_shim_irq_work *w);
bool mshv_shim_irq_work_queue_on(struct mshv_shim_irq_work *w, u32 cpu);
void mshv_shim_irq_work_sync(struct mshv_shim_irq_work *w);
void mshv_shim_irq_work_free(struct mshv_shim_irq_work *w);
/* in_hardirq(). */
bool mshv_shim_in_hardirq(void);

/*
 * The simulated hypervisor's SynIC lock, a raw spinlock: lock disables interrupts and returns
 * the flags that unlock restores.
 */
unsigned long mshv_shim_sim_synic_lock(void);
void mshv_shim_sim_synic_unlock(unsigned long flags);

/* Whether frame pfn is a page of RAM the kernel has freed (its folio's count is zero). */
bool mshv_shim_pfn_is_free(u64 pfn);

/*
 * The kernel's fault injection aimed at the current task (failslab, fail_page_alloc with
 * task-filter) paused, and resumed with what pause returned: the simulated hypervisor takes
 * nothing from the kernel a real one would not, so a test's injected failures are the driver's.
 */
bool mshv_shim_fault_injection_pause(void);
void mshv_shim_fault_injection_resume(bool was);

/*
 * The VTL personality: the calling VP's VP assist page (hv_vp_assist_page[cpu] on x86_64; NULL
 * where there is none); a mapping of the hypercall page the kernel registered (x86_64; NULL
 * where there is none), undone with the second; a busy wait.
 */
void *mshv_shim_vp_assist_page(u32 cpu);
void *mshv_shim_hypercall_page_map(void);
void mshv_shim_hypercall_page_unmap(void *addr);
void mshv_shim_udelay(u32 us);
void mshv_shim_preempt_disable(void);
void mshv_shim_preempt_enable(void);
void mshv_shim_cond_resched(void);
/*
 * Takes the task's pending work before it lets a guest run (a VP dispatched, a lower VTL
 * entered): 0, or -EINTR for a signal. May sleep.
 */
int mshv_shim_guest_work(void);
/* After a guest ran in the task, before it returns to user space: the rseq update it owes. */
void mshv_shim_guest_exit(void);

/*
 * The VTL personality's switch (x86_64, mshv_vtl only): points the VTL switch at the
 * hypervisor's VTL-return entry; whether an entry can be used (else why not); takes the task's
 * pending work (a signal: -EINTR); runs VTL0 once from a run page (struct mshv_vtl_run) with
 * interrupts off (handing over the return actions if the hypervisor runs them), 0 when it ran
 * (the entry reason is in the VP assist page), -EINTR when the run page's cancel flag was set,
 * -EAGAIN when work came meanwhile, -EINVAL when VTL0's FP state does not load; the run page's
 * layout facts.
 */
void mshv_shim_vtl_set_return_entry(void *entry);
bool mshv_shim_vtl_entry_usable(void *entry, const char **why);
int mshv_shim_vtl_return(void *run_page, void *vp_assist_page, bool return_actions);
const struct mshv_shim_fact *mshv_shim_vtl_run_facts(size_t *len);

/* The VTL switch and VTL0's FP state (arch/x86/entry.S, mshv_vtl only). */
struct mshv_vtl_cpu_context;
struct fxregs_state;
void mshv_vtl_switch(struct mshv_vtl_cpu_context *ctx);
int mshv_vtl_fxrstor(struct fxregs_state *fx);
void mshv_vtl_fxsave(struct fxregs_state *fx);
extern void *mshv_vtl_return_target;

/*
 * arm64: an SMCCC call by HVC #0 (arch/arm64/entry.S), x0 and x1 back; the callee may change
 * x0-x17, as SMCCC 1.2 lets it and AAPCS64 lets a callee. Whether the UID the vendor
 * hypervisor service answered is Hyper-V's. One VTL return over SMCCC (0, the entry reason
 * in *reason; -EAGAIN, -EINTR as above; -EOPNOTSUPP, -EINVAL for the hypervisor's
 * NOT_SUPPORTED and INVALID_PARAMETER, -EIO for any other answer; -EBUSY where FP/SIMD
 * cannot be had).
 */
struct mshv_smccc_ret {
	u64 a0;
	u64 a1;
};

struct mshv_smccc_ret mshv_vtl_smccc_call(u64 fid, u64 a1, u64 a2, u64 a3);
void mshv_shim_smccc_hvc(u64 fid, u64 *res);
bool mshv_shim_smccc_is_hyperv(u64 r0, u64 r1, u64 r2, u64 r3);
int mshv_shim_vtl_return_smccc(u32 *cancel, u64 *reason);

/*
 * A poll file (MSHV_SET_POLL_FILE): watches file `fd`'s wait queue; each wake-up sets *cancel
 * and, if it was clear, interrupts CPU `cpu` (unless it is the waker's). NULL, and *err, when
 * it cannot (-EBADFD: no such file; -EINVAL: the file polls on more than one queue).
 */
struct mshv_shim_poll_watch;
struct mshv_shim_poll_watch *mshv_shim_poll_watch(int fd, u32 *cancel, u32 cpu, int *err);
void mshv_shim_poll_unwatch(struct mshv_shim_poll_watch *w);
bool mshv_shim_cpu_online(u32 cpu);

/*
 * smp_call_function_single(cpu, func, data, wait = true); on_each_cpu(func, data, true), no
 * CPU coming or going meanwhile; cpu_possible(); a dynamic CPU hotplug state (its number, or an
 * errno) whose callbacks run on each CPU that comes online (and each online now) and goes,
 * and its removal (offline run on each online CPU).
 */
int mshv_shim_call_on_cpu(u32 cpu, void (*func)(void *), void *data);
void mshv_shim_on_each_cpu(void (*func)(void *), void *data);
bool mshv_shim_cpu_possible(u32 cpu);
int mshv_shim_cpuhp_add(const char *name, int (*online)(unsigned int cpu),
			int (*offline)(unsigned int cpu));
void mshv_shim_cpuhp_remove(int state);

/*
 * Whether a misc device named @name is registered (its /sys/class/misc entry exists; false
 * where sysfs is not mounted at /sys, and misc_register() then refuses the name itself).
 */
bool mshv_shim_misc_taken(const char *name);

/*
 * @fn called, in process context, when the kernel reboots, halts or powers off (a reboot
 * notifier of @priority: higher first), until the handle is removed; NULL if it cannot be.
 */
void *mshv_shim_reboot_add(void (*fn)(void), int priority);
void mshv_shim_reboot_remove(void *handle);

/*
 * A register the VTLs share of the calling CPU (hv/shared.rs), read or written: debug register
 * @debug (0-3, 6) if @msr is 0, else that MTRR. -EINVAL for any other, for a value the CPU
 * refuses (a fault) or a register it has not; -EOPNOTSUPP on arm64.
 */
int mshv_shim_shared_reg(u32 debug, u32 msr, bool set, u64 *value);

/*
 * The calling CPU's SynIC registers (hv_set_msr()/hv_get_msr(): x86's synthetic MSRs, arm64's
 * VP registers), by number; the value of a SINT as upstream programs its own (x86:
 * HYPERVISOR_CALLBACK_VECTOR, auto-EOI as recommended); the module's SynIC interrupt handler,
 * run in hard interrupt context (mshv_rs: upstream's mshv_isr, by hv_setup_mshv_handler() on
 * x86_64, on arm64 by the per-CPU interrupt of @intid, the INTID the hypervisor reserves, which
 * ACPI maps: -ENODEV without ACPI or INTID, -EBUSY if taken; mshv_vtl: before VMBus's own when
 * VMBus set the SynIC up, x86_64 only; -EOPNOTSUPP elsewhere; @intid is arm64's only), NULL to
 * stop (it runs no more once this returns); that interrupt enabled or disabled on the calling
 * CPU, which the caller is bound to (arm64's, around the SINTs' unmasking: a CPU hotplug
 * callback; nothing elsewhere); VMBus's SynIC
 * pages of a CPU, if it set them up (mshv_vtl only); whether VMBus runs (it then owns
 * SCONTROL, SIMP and SIEFP). A page the hypervisor provides (the root's SynIC pages), mapped
 * write-back by its frame, or NULL; and unmapped.
 */
#define MSHV_SHIM_SYNIC_SCONTROL	0
#define MSHV_SHIM_SYNIC_SIMP		1
#define MSHV_SHIM_SYNIC_SIEFP		2
#define MSHV_SHIM_SYNIC_EOM		3
#define MSHV_SHIM_SYNIC_SIRBP		4
#define MSHV_SHIM_SYNIC_SINT0		16
void mshv_shim_synic_write(u32 reg, u64 value);
u64 mshv_shim_synic_read(u32 reg);
u64 mshv_shim_sint(bool masked);
int mshv_shim_set_synic_handler(void (*handler)(void), u64 intid);
void mshv_shim_synic_irq_percpu(bool enable);
bool mshv_shim_vmbus_synic_pages(u32 cpu, void **message, void **event);
bool mshv_shim_vmbus_exists(void);
int mshv_shim_hv_version(u16 *major, u16 *minor, u32 *build);
void *mshv_shim_memremap_page(u64 pfn);
void mshv_shim_memunmap_page(void *addr);
/*
 * The calling CPU's consumer indices of the root's event rings, one per SINT, which the Hyper-V
 * core keeps on a root partition from the CPU's online to its offline (so that they outlive a
 * module reload), or NULL (mshv_rs only).
 */
u8 *mshv_shim_eventring_tails(void);

/*
 * VTL0's memory (vtl_memory.c, mshv_vtl only). The limits of a range: pfns aligned to
 * *align_pages, within [*first_pfn, *end_pfn) (an empty window without ZONE_DEVICE). Adding
 * pfns [start_pfn, end_pfn) (within the limits) claims them as a memory region and gives them
 * struct pages, or NULL and *err (-EBUSY: the region is the kernel's RAM or a device's,
 * claimed or not, or was added before; -EOPNOTSUPP: no ZONE_DEVICE; the page map's errors).
 * Removing it undoes that once no page of it is in use. A /dev/mshv_vtl_low mapping maps the
 * pages of added ranges by physical address (its file offset); any other page is SIGBUS.
 */
struct mshv_shim_vtl0_memory;
struct vm_area_struct;
void mshv_shim_vtl0_memory_limits(u64 *align_pages, u64 *first_pfn, u64 *end_pfn,
				  u64 *max_pages);
struct mshv_shim_vtl0_memory *mshv_shim_vtl0_memory_add(u64 start_pfn, u64 end_pfn, int *err);
void mshv_shim_vtl0_memory_remove(struct mshv_shim_vtl0_memory *mem);
void mshv_shim_vtl_low_mmap(struct vm_area_struct *vma);

#endif /* MSHV_RS_SHIM_H */
