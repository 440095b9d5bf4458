// SPDX-License-Identifier: GPL-2.0
/*
 * C side of the driver: what the kernel offers only as macros or static inline functions,
 * behind small functions with plain C types that the Rust crate declares in ffi.rs.
 */

#include <linux/kernel.h>
#include <linux/stddef.h>
#include <linux/types.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/gfp.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/irq_work.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/reboot.h>
#include <linux/namei.h>
#include <linux/preempt.h>
#include <linux/spinlock.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/delay.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/hyperv.h>
#include <linux/io.h>
#include <linux/acpi.h>
#include <linux/interrupt.h>
#include <uapi/linux/mshv.h>
#include <asm/mshyperv.h>
#include <hyperv/hvhdk.h>
#ifdef CONFIG_X86_64
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <asm/mtrr.h>
#endif

#include "shim.h"
#include "hv/smccc.h"

int mshv_shim_hv_partition_type(void)
{
	if (!hv_is_hyperv_initialized())
		return MSHV_SHIM_HV_NONE;

	switch (hv_curr_partition_type) {
	case HV_PARTITION_TYPE_ROOT:
		return MSHV_SHIM_HV_ROOT;
	case HV_PARTITION_TYPE_L1VH:
		return MSHV_SHIM_HV_L1VH;
	default:
		return MSHV_SHIM_HV_GUEST;
	}
}

u8 mshv_shim_hv_vtl(void)
{
	return hv_is_hyperv_initialized() ? ms_hyperv.vtl : 0;
}

u64 mshv_shim_hypercall(u64 control, void *input, void *output)
{
	return hv_do_hypercall(control, input, output);
}

u64 mshv_shim_fast_hypercall(u16 code, u64 input1, u64 input2)
{
	return hv_do_fast_hypercall16(code, input1, input2);
}

u64 mshv_shim_pages_alloc(u32 order)
{
	gfp_t gfp = GFP_KERNEL | __GFP_ZERO;
	struct page *page;

	/* The caller falls back to smaller chunks: a failure is no news for the log. */
	if (order)
		gfp |= __GFP_NOWARN;
	page = alloc_pages(gfp, order);
	if (!page)
		return 0;
	if (order)
		split_page(page, order);
	return page_to_pfn(page);
}

void mshv_shim_page_free(u64 pfn)
{
	__free_page(pfn_to_page(pfn));
}

void *mshv_shim_page_address(u64 pfn)
{
	return page_address(pfn_to_page(pfn));
}

unsigned int mshv_shim_pfn_order(u64 pfn)
{
	return pfn_valid(pfn) ? folio_order(page_folio(pfn_to_page(pfn))) : 0;
}

u64 mshv_shim_page_to_pfn(const void *page)
{
	return page_to_pfn((const struct page *)page);
}

int mshv_shim_user_vma(u64 addr, u64 *end)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	int ret;

	if (!mm)
		return -EINVAL;
	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (!vma) {
		ret = -EINVAL;
	} else {
		ret = !!(vma->vm_flags & (VM_IO | VM_PFNMAP));
		*end = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return ret;
}

/*
 * The frame of each page is read from the page tables (follow_pfnmap_start()), not worked
 * out from vm_pgoff: what vm_pgoff holds is the driver's business (a PCI sysfs resource file
 * puts the BAR's first frame plus the file offset there, VFIO its region index and offset),
 * and a driver that fills its mapping on fault has mapped nothing yet, so a page not there is
 * faulted in first, as KVM and VFIO's type1 IOMMU do. The mmap lock is held throughout:
 * fixup_user_fault() without "unlocked" does not drop it, so vma stays valid.
 */
int mshv_shim_user_io_pfns(u64 addr, u64 npages, u64 *pfns)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned int fault;
	int ret = 0;
	u64 i;

	if (!mm)
		return -EINVAL;
	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (!vma || !(vma->vm_flags & (VM_IO | VM_PFNMAP)) ||
	    npages > (vma->vm_end - addr) >> PAGE_SHIFT) {
		ret = -EINVAL;
		goto out;
	}
	fault = vma->vm_flags & VM_WRITE ? FAULT_FLAG_WRITE : 0;
	for (i = 0; i < npages; i++) {
		struct follow_pfnmap_args args = {
			.vma = vma,
			.address = addr + i * PAGE_SIZE,
		};

		if (follow_pfnmap_start(&args)) {
			if (fixup_user_fault(mm, args.address, fault, NULL) ||
			    follow_pfnmap_start(&args)) {
				ret = -EFAULT;
				goto out;
			}
		}
		pfns[i] = args.pfn;
		follow_pfnmap_end(&args);
		cond_resched();
	}
out:
	mmap_read_unlock(mm);
	return ret;
}

bool mshv_shim_pfn_is_ram(u64 pfn)
{
	return page_is_ram(pfn);
}

/*
 * A range of the current task's address space watched for the driver (movable guest memory):
 * invalidate(data, r, start, end, blockable, seq) runs before the kernel changes what backs any
 * part of it, and must record seq with mshv_shim_range_set_seq() under the lock that the
 * fault path's mshv_shim_range_retry() check is made under.
 */
struct mshv_shim_range {
	struct mmu_interval_notifier mni;
	bool (*invalidate)(void *data, struct mshv_shim_range *r, u64 start, u64 end,
			   bool blockable, unsigned long seq);
	void *data;
};

static bool shim_range_invalidate(struct mmu_interval_notifier *mni,
				  const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct mshv_shim_range *r = container_of(mni, struct mshv_shim_range, mni);

	return r->invalidate(r->data, r, range->start, range->end,
			     mmu_notifier_range_blockable(range), cur_seq);
}

static const struct mmu_interval_notifier_ops shim_range_ops = {
	.invalidate = shim_range_invalidate,
};

struct mshv_shim_range *mshv_shim_range_insert(u64 start, u64 length,
					       bool (*invalidate)(void *, struct mshv_shim_range *,
								  u64, u64, bool, unsigned long),
					       void *data)
{
	struct mshv_shim_range *r;
	int ret;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	r = kzalloc_obj(*r, GFP_KERNEL);
	if (!r)
		return ERR_PTR(-ENOMEM);
	r->invalidate = invalidate;
	r->data = data;
	ret = mmu_interval_notifier_insert(&r->mni, current->mm, start, length, &shim_range_ops);
	if (ret) {
		kfree(r);
		return ERR_PTR(ret);
	}
	return r;
}

void mshv_shim_range_remove(struct mshv_shim_range *r)
{
	mmu_interval_notifier_remove(&r->mni);
	kfree(r);
}

void mshv_shim_range_set_seq(struct mshv_shim_range *r, unsigned long seq)
{
	mmu_interval_set_seq(&r->mni, seq);
}

bool mshv_shim_range_retry(struct mshv_shim_range *r, unsigned long seq)
{
	return mmu_interval_read_retry(&r->mni, seq);
}

/*
 * Faults in npages pages from user address start (for writing if write) and stores their page
 * frames in pfns; the sequence to check with mshv_shim_range_retry() in *seq. 0 or -errno.
 */
int mshv_shim_range_fault(struct mshv_shim_range *r, u64 start, u64 npages, bool write,
			  u64 *pfns, unsigned long *seq)
{
	struct mm_struct *mm = r->mni.mm;
	unsigned long *hmm_pfns;
	struct hmm_range range = {
		.notifier = &r->mni,
		.start = start,
		.end = start + npages * PAGE_SIZE,
		.default_flags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0),
	};
	u64 i;
	int ret;

	hmm_pfns = kvcalloc(npages, sizeof(*hmm_pfns), GFP_KERNEL);
	if (!hmm_pfns)
		return -ENOMEM;
	range.hmm_pfns = hmm_pfns;
	if (!mmget_not_zero(mm)) {
		kvfree(hmm_pfns);
		return -EFAULT;
	}
	ret = hmm_range_fault_unlocked_timeout(&range,
					       msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT));
	mmput(mm);
	if (!ret) {
		for (i = 0; i < npages; i++)
			pfns[i] = page_to_pfn(hmm_pfn_to_page(hmm_pfns[i]));
		*seq = range.notifier_seq;
	}
	kvfree(hmm_pfns);
	return ret;
}

bool mshv_shim_access_ok(u64 addr, u64 size)
{
	return access_ok((void __user *)addr, size);
}

void *mshv_shim_pfn_to_page(u64 pfn)
{
	return pfn_to_page(pfn);
}

/*
 * An eventfd watched for the driver: when it is signalled (in the waker's context, with the
 * wait queue's lock held), its count is consumed and a work item runs `signal(data)` in process
 * context. Detaching stops the watch and waits for a running signal to finish.
 */
struct mshv_shim_irqfd {
	struct eventfd_ctx *ctx;
	wait_queue_entry_t wait;
	poll_table pt;
	struct work_struct work;
	void (*signal)(void *data, bool closed);
	void *data;
	bool pending;	/* a signal was consumed and not yet passed on */
	bool closed;
};

static int irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode, int sync, void *key)
{
	struct mshv_shim_irqfd *irqfd = container_of(wait, struct mshv_shim_irqfd, wait);
	__poll_t flags = key_to_poll(key);
	u64 count;

	if (flags & EPOLLIN) {
		eventfd_ctx_do_read(irqfd->ctx, &count);
		WRITE_ONCE(irqfd->pending, true);
		schedule_work(&irqfd->work);
	}
	/* The eventfd's file is being released: the irqfd goes too. */
	if (flags & EPOLLHUP) {
		WRITE_ONCE(irqfd->closed, true);
		schedule_work(&irqfd->work);
	}
	return 0;
}

static void irqfd_queue(struct file *file, wait_queue_head_t *wqh, poll_table *pt)
{
	struct mshv_shim_irqfd *irqfd = container_of(pt, struct mshv_shim_irqfd, pt);

	add_wait_queue_priority(wqh, &irqfd->wait);
}

static void irqfd_work(struct work_struct *work)
{
	struct mshv_shim_irqfd *irqfd = container_of(work, struct mshv_shim_irqfd, work);

	/* A signal consumed before the close is passed on first. */
	if (xchg(&irqfd->pending, false))
		irqfd->signal(irqfd->data, false);
	if (READ_ONCE(irqfd->closed))
		irqfd->signal(irqfd->data, true);
}

struct mshv_shim_irqfd *mshv_shim_irqfd_attach(int fd, void (*signal)(void *, bool),
					       void *data)
{
	struct mshv_shim_irqfd *irqfd;
	struct eventfd_ctx *ctx;
	__poll_t events;

	CLASS(fd, f)(fd);
	if (fd_empty(f))
		return ERR_PTR(-EBADF);
	ctx = eventfd_ctx_fileget(fd_file(f));
	if (IS_ERR(ctx))
		return ERR_CAST(ctx);
	irqfd = kzalloc_obj(*irqfd, GFP_KERNEL);
	if (!irqfd) {
		eventfd_ctx_put(ctx);
		return ERR_PTR(-ENOMEM);
	}
	irqfd->ctx = ctx;
	irqfd->signal = signal;
	irqfd->data = data;
	INIT_WORK(&irqfd->work, irqfd_work);
	init_waitqueue_func_entry(&irqfd->wait, irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, irqfd_queue);
	events = vfs_poll(fd_file(f), &irqfd->pt);
	if (events & EPOLLIN) {
		WRITE_ONCE(irqfd->pending, true);
		schedule_work(&irqfd->work);
	}
	return irqfd;
}

void mshv_shim_irqfd_detach(struct mshv_shim_irqfd *irqfd)
{
	u64 count;

	eventfd_ctx_remove_wait_queue(irqfd->ctx, &irqfd->wait, &count);
	cancel_work_sync(&irqfd->work);
	eventfd_ctx_put(irqfd->ctx);
	kfree(irqfd);
}

const void *mshv_shim_eventfd_get(int fd)
{
	return eventfd_ctx_fdget(fd);
}

void mshv_shim_eventfd_put(const void *ctx)
{
	eventfd_ctx_put((struct eventfd_ctx *)ctx);
}

void mshv_shim_eventfd_signal(const void *ctx)
{
	eventfd_signal((struct eventfd_ctx *)ctx);
}

/*
 * The uapi header's facts, computed by the compiler from the header this module is built
 * against. Names must match the Rust side's (uapi.rs), which compares the two tables.
 */
#define FACT_SIZE(s)		{ "sizeof:" #s, sizeof(struct s) }
#define FACT_OFF(s, f)		{ "offsetof:" #s "." #f, offsetof(struct s, f) }
#define FACT_IOCTL(c)		{ "ioctl:" #c, c }
#define FACT_CONST(n, c)	{ "const:" n, c }

#ifdef __x86_64__
#define FACT_V2_LAST FACT_OFF(mshv_create_partition_v2, pt_disabled_xsave)
#else
/* The same field, reserved on arm64; the Rust side names it as on x86_64. */
#define FACT_V2_LAST { "offsetof:mshv_create_partition_v2.pt_disabled_xsave", \
		       offsetof(struct mshv_create_partition_v2, pt_rsvd2) }
#endif

static const struct mshv_shim_fact uapi_facts[] = {
	FACT_SIZE(mshv_create_partition),
	FACT_SIZE(mshv_create_partition_v2),
	FACT_OFF(mshv_create_partition_v2, pt_num_cpu_fbanks),
	FACT_OFF(mshv_create_partition_v2, pt_rsvd),
	FACT_OFF(mshv_create_partition_v2, pt_cpu_fbanks),
	FACT_OFF(mshv_create_partition_v2, pt_rsvd1),
	FACT_V2_LAST,
	FACT_SIZE(mshv_create_vp),
	FACT_SIZE(mshv_user_mem_region),
	FACT_OFF(mshv_user_mem_region, flags),
	FACT_OFF(mshv_user_mem_region, rsvd),
	FACT_SIZE(mshv_user_irqfd),
	FACT_OFF(mshv_user_irqfd, gsi),
	FACT_OFF(mshv_user_irqfd, flags),
	FACT_SIZE(mshv_user_ioeventfd),
	FACT_OFF(mshv_user_ioeventfd, len),
	FACT_OFF(mshv_user_ioeventfd, fd),
	FACT_OFF(mshv_user_ioeventfd, flags),
	FACT_OFF(mshv_user_ioeventfd, rsvd),
	FACT_SIZE(mshv_user_irq_entry),
	FACT_SIZE(mshv_user_irq_table),
	FACT_SIZE(mshv_gpap_access_bitmap),
	FACT_OFF(mshv_gpap_access_bitmap, page_count),
	FACT_OFF(mshv_gpap_access_bitmap, bitmap_ptr),
	FACT_SIZE(mshv_root_hvcall),
	FACT_OFF(mshv_root_hvcall, status),
	FACT_OFF(mshv_root_hvcall, rsvd),
	FACT_OFF(mshv_root_hvcall, in_ptr),
	FACT_OFF(mshv_root_hvcall, out_ptr),
	FACT_SIZE(mshv_run_vp),
	FACT_SIZE(mshv_get_set_vp_state),
	FACT_OFF(mshv_get_set_vp_state, buf_sz),
	FACT_OFF(mshv_get_set_vp_state, buf_ptr),
	FACT_IOCTL(MSHV_CREATE_PARTITION),
	FACT_IOCTL(MSHV_ROOT_HVCALL),
	FACT_IOCTL(MSHV_INITIALIZE_PARTITION),
	FACT_IOCTL(MSHV_CREATE_VP),
	FACT_IOCTL(MSHV_SET_GUEST_MEMORY),
	FACT_IOCTL(MSHV_IRQFD),
	FACT_IOCTL(MSHV_IOEVENTFD),
	FACT_IOCTL(MSHV_SET_MSI_ROUTING),
	FACT_IOCTL(MSHV_GET_GPAP_ACCESS_BITMAP),
	FACT_IOCTL(MSHV_RUN_VP),
	FACT_IOCTL(MSHV_GET_VP_STATE),
	FACT_IOCTL(MSHV_SET_VP_STATE),
	FACT_SIZE(mshv_vp_registers),
	FACT_OFF(mshv_vp_registers, regs_ptr),
	FACT_SIZE(mshv_vtl_set_eventfd),
	FACT_OFF(mshv_vtl_set_eventfd, flag),
	FACT_SIZE(mshv_vtl_signal_event),
	FACT_OFF(mshv_vtl_signal_event, flag),
	FACT_SIZE(mshv_vtl_sint_post_msg),
	FACT_OFF(mshv_vtl_sint_post_msg, connection_id),
	FACT_OFF(mshv_vtl_sint_post_msg, payload_size),
	FACT_OFF(mshv_vtl_sint_post_msg, payload_ptr),
	FACT_SIZE(mshv_vtl_ram_disposition),
	FACT_OFF(mshv_vtl_ram_disposition, last_pfn),
	FACT_SIZE(mshv_vtl_set_poll_file),
	FACT_OFF(mshv_vtl_set_poll_file, fd),
	FACT_SIZE(mshv_vtl_hvcall_setup),
	FACT_OFF(mshv_vtl_hvcall_setup, allow_bitmap_ptr),
	FACT_SIZE(mshv_vtl_hvcall),
	FACT_OFF(mshv_vtl_hvcall, input_size),
	FACT_OFF(mshv_vtl_hvcall, input_ptr),
	FACT_OFF(mshv_vtl_hvcall, status),
	FACT_OFF(mshv_vtl_hvcall, output_size),
	FACT_OFF(mshv_vtl_hvcall, output_ptr),
	FACT_SIZE(mshv_sint_mask),
	FACT_OFF(mshv_sint_mask, reserved),
	FACT_CONST("MSHV_MAX_RUN_MSG_SIZE", MSHV_MAX_RUN_MSG_SIZE),
	FACT_CONST("MSHV_CAP_CORE_API_STABLE", MSHV_CAP_CORE_API_STABLE),
	FACT_CONST("MSHV_CAP_REGISTER_PAGE", MSHV_CAP_REGISTER_PAGE),
	FACT_CONST("MSHV_CAP_VTL_RETURN_ACTION", MSHV_CAP_VTL_RETURN_ACTION),
	FACT_CONST("MSHV_CAP_DR6_SHARED", MSHV_CAP_DR6_SHARED),
	FACT_IOCTL(MSHV_CHECK_EXTENSION),
	FACT_IOCTL(MSHV_CREATE_VTL),
	FACT_IOCTL(MSHV_ADD_VTL0_MEMORY),
	FACT_IOCTL(MSHV_SET_POLL_FILE),
	FACT_IOCTL(MSHV_RETURN_TO_LOWER_VTL),
	FACT_IOCTL(MSHV_GET_VP_REGISTERS),
	FACT_IOCTL(MSHV_SET_VP_REGISTERS),
	FACT_IOCTL(MSHV_SINT_SIGNAL_EVENT),
	FACT_IOCTL(MSHV_SINT_POST_MESSAGE),
	FACT_IOCTL(MSHV_SINT_SET_EVENTFD),
	FACT_IOCTL(MSHV_SINT_PAUSE_MESSAGE_STREAM),
	FACT_IOCTL(MSHV_HVCALL_SETUP),
	FACT_IOCTL(MSHV_HVCALL),
};

const struct mshv_shim_fact *mshv_shim_uapi_facts(size_t *len)
{
	*len = ARRAY_SIZE(uapi_facts);
	return uapi_facts;
}

/*
 * union hv_interrupt_control's bits above the interrupt type are bit-fields, which have no
 * offsetof: their values are spelled out here and checked against the header at build time
 * (mshv_shim_hv_facts()).
 */
#define INTERRUPT_CONTROL(...) (((union hv_interrupt_control){ __VA_ARGS__ }).as_uint64)
#define VSM_CAPABILITY(...) (((union hv_register_vsm_capabilities){ __VA_ARGS__ }).as_uint64)
#define VSM_CAPABILITY_DR6_SHARED		BIT_ULL(0)
#define VSM_CAPABILITY_INTERCEPT_PAGE_AVAILABLE	BIT_ULL(27)
#define VSM_CAPABILITY_RETURN_ACTION_AVAILABLE	BIT_ULL(28)
#define VSM_CONFIG(...) (((union hv_register_vsm_partition_config){ __VA_ARGS__ }).as_uint64)
#define VSM_CONFIG_ENABLE_VTL_PROTECTION	BIT_ULL(0)
#define VSM_CONFIG_DEFAULT_MASK_ALL		(0xfULL << 1)
#define VSM_CONFIG_ZERO_MEMORY_ON_RESET		BIT_ULL(5)
#define VSM_CONFIG_INTERCEPT_VP_STARTUP		BIT_ULL(9)
#define VSM_CONFIG_INTERCEPT_CPUID_UNIMPLEMENTED BIT_ULL(10)
#define VSM_CONFIG_INTERCEPT_PAGE		BIT_ULL(12)
#ifdef CONFIG_X86_64
#define INTERRUPT_CONTROL_LEVEL_TRIGGERED	BIT_ULL(32)
#define INTERRUPT_CONTROL_LOGICAL_DEST_MODE	BIT_ULL(33)
#else
#define INTERRUPT_CONTROL_ASSERTED		BIT_ULL(34)
#endif

/* The hypervisor ABI's facts, from include/hyperv; names as in hv/abi.rs. */
static const struct mshv_shim_fact hv_facts[] = {
	FACT_SIZE(hv_input_create_partition),
	FACT_OFF(hv_input_create_partition, compatibility_version),
	FACT_OFF(hv_input_create_partition, partition_creation_properties),
	FACT_OFF(hv_input_create_partition, isolation_properties),
	FACT_SIZE(hv_output_create_partition),
	FACT_SIZE(hv_deposit_memory),
	FACT_SIZE(hv_input_withdraw_memory),
	FACT_SIZE(hv_create_vp),
	FACT_OFF(hv_create_vp, subnode_type),
	FACT_OFF(hv_create_vp, flags),
	FACT_SIZE(hv_input_map_vp_state_page),
	FACT_OFF(hv_input_map_vp_state_page, type),
	FACT_OFF(hv_input_map_vp_state_page, requested_map_location),
	FACT_SIZE(hv_output_map_vp_state_page),
	FACT_SIZE(hv_input_unmap_vp_state_page),
	FACT_SIZE(hv_input_get_vp_state),
	FACT_SIZE(hv_input_assert_virtual_interrupt),
	FACT_SIZE(hv_input_create_port),
	FACT_OFF(hv_input_create_port, port_info),
	FACT_SIZE(hv_input_connect_port),
	FACT_OFF(hv_input_connect_port, connection_info),
	FACT_CONST("CREATE_PORT", HVCALL_CREATE_PORT),
	FACT_CONST("CONNECT_PORT", HVCALL_CONNECT_PORT),
	FACT_CONST("DELETE_PORT", HVCALL_DELETE_PORT),
	FACT_CONST("DISCONNECT_PORT", HVCALL_DISCONNECT_PORT),
	FACT_CONST("HV_PORT_TYPE_DOORBELL", HV_PORT_TYPE_DOORBELL),
	FACT_SIZE(hv_input_set_vp_state),
	FACT_OFF(hv_input_get_vp_state, state_data),
	FACT_CONST("LAPIC_STATE", HV_GET_SET_VP_STATE_LAPIC_STATE),
	FACT_CONST("XSAVE", HV_GET_SET_VP_STATE_XSAVE),
	FACT_CONST("SIM_PAGE", HV_GET_SET_VP_STATE_SIM_PAGE),
	FACT_CONST("SIEF_PAGE", HV_GET_SET_VP_STATE_SIEF_PAGE),
	FACT_CONST("SYNTHETIC_TIMERS", HV_GET_SET_VP_STATE_SYNTHETIC_TIMERS),
	FACT_CONST("SYNTHETIC_TIMERS_SIZE", sizeof(struct hv_synthetic_timers_state)),
	FACT_CONST("XSAVE_STATES", HV_PARTITION_PROPERTY_XSAVE_STATES),
	FACT_CONST("MAX_XSAVE_DATA_SIZE", HV_PARTITION_PROPERTY_MAX_XSAVE_DATA_SIZE),
	FACT_CONST("INTEGRATED_SCHEDULER_ENABLED",
		   HV_PARTITION_PROPERTY_INTEGRATED_SCHEDULER_ENABLED),
	FACT_CONST("VMM_CAPABILITIES", HV_PARTITION_PROPERTY_VMM_CAPABILITIES),
	FACT_SIZE(hv_partition_property_vmm_capabilities),
	FACT_SIZE(hv_input_get_partition_property),
	FACT_SIZE(hv_input_get_partition_property_ex),
	FACT_SIZE(hv_input_get_system_property),
	FACT_CONST("SYSTEM_PROPERTY_SCHEDULER_TYPE", HV_SYSTEM_PROPERTY_SCHEDULER_TYPE),
	FACT_CONST("LP", HV_SCHEDULER_TYPE_LP),
	FACT_CONST("LP_SMT", HV_SCHEDULER_TYPE_LP_SMT),
	FACT_CONST("CORE_SMT", HV_SCHEDULER_TYPE_CORE_SMT),
	FACT_CONST("ROOT", HV_SCHEDULER_TYPE_ROOT),
	FACT_SIZE(hv_input_dispatch_vp),
	FACT_OFF(hv_input_dispatch_vp, flags),
	FACT_SIZE(hv_output_dispatch_vp),
	FACT_CONST("DISPATCH_VP", HVCALL_DISPATCH_VP),
	FACT_CONST("SCHEDULER_VP_SIGNAL_BITSET", HVMSG_SCHEDULER_VP_SIGNAL_BITSET),
	FACT_CONST("SCHEDULER_VP_SIGNAL_PAIR", HVMSG_SCHEDULER_VP_SIGNAL_PAIR),
	FACT_CONST("ASYNC_CALL_COMPLETION", HVMSG_ASYNC_CALL_COMPLETION),
	FACT_SIZE(hv_async_completion_message_payload),
	FACT_OFF(hv_async_completion_message_payload, status),
	FACT_CONST("FLAG_CLEAR_INTERCEPT_SUSPEND", HV_DISPATCH_VP_FLAG_CLEAR_INTERCEPT_SUSPEND),
	FACT_CONST("FLAG_SCAN_INTERRUPT_INJECTION", HV_DISPATCH_VP_FLAG_SCAN_INTERRUPT_INJECTION),
	FACT_CONST("STATE_BLOCKED", HV_VP_DISPATCH_STATE_BLOCKED),
	FACT_CONST("STATE_READY", HV_VP_DISPATCH_STATE_READY),
	FACT_CONST("EVENT_SUSPEND", HV_VP_DISPATCH_EVENT_SUSPEND),
	FACT_CONST("EVENT_INTERCEPT", HV_VP_DISPATCH_EVENT_INTERCEPT),
	FACT_CONST("VP_SET_SPARSE_4K", HV_GENERIC_SET_SPARSE_4K),
	FACT_CONST("MAX_PAIRS", HV_MESSAGE_MAX_PARTITION_VP_PAIR_COUNT),
	FACT_SIZE(hv_vp_signal_pair_scheduler_message),
	FACT_OFF(hv_vp_signal_pair_scheduler_message, partition_ids),
	FACT_OFF(hv_vp_signal_pair_scheduler_message, vp_indexes),
	FACT_SIZE(hv_vp_signal_bitset_scheduler_message),
	FACT_OFF(hv_vp_signal_bitset_scheduler_message, vp_bitset),
	FACT_SIZE(hv_input_set_partition_property),
	FACT_SIZE(hv_input_get_vp_registers),
	FACT_SIZE(hv_input_set_vp_registers),
	FACT_SIZE(hv_register_assoc),
	FACT_OFF(hv_register_assoc, value),
	FACT_SIZE(hv_input_map_gpa_pages),
	FACT_SIZE(hv_input_unmap_gpa_pages),
	FACT_SIZE(hv_message),
	FACT_OFF(hv_message, u),
	FACT_SIZE(hv_synic_event_ring),
	FACT_OFF(hv_synic_event_ring, data),
	FACT_CONST("HV_SYNIC_DOORBELL_SINT_INDEX", HV_SYNIC_DOORBELL_SINT_INDEX),
	FACT_CONST("HV_SYNIC_INTERCEPTION_SINT_INDEX", HV_SYNIC_INTERCEPTION_SINT_INDEX),
	FACT_CONST("HV_SYNIC_SINT_COUNT", HV_SYNIC_SINT_COUNT),
	FACT_CONST("HV_SYNIC_EVENT_RING_MESSAGE_COUNT", HV_SYNIC_EVENT_RING_MESSAGE_COUNT),
	FACT_CONST("HV_EVENT_FLAGS_COUNT", HV_EVENT_FLAGS_COUNT),
	FACT_CONST("HV_X64_INTERRUPT_TYPE_EXTINT", HV_X64_INTERRUPT_TYPE_EXTINT),
	FACT_CONST("NOTIFY_PORT_RING_EMPTY", HVCALL_NOTIFY_PORT_RING_EMPTY),
	FACT_CONST("SYNIC_SINT_INTERCEPT", HVMSG_SYNIC_SINT_INTERCEPT),
	FACT_CONST("X64_APIC_EOI", HVMSG_X64_APIC_EOI),
	FACT_CONST("GPA_INTERCEPT", HVMSG_GPA_INTERCEPT),
#ifdef CONFIG_X86_64
	FACT_OFF(hv_vp_register_page, isvalid),
	FACT_OFF(hv_vp_register_page, gp_registers),
	FACT_CONST("HV_VP_REGISTER_PAGE_VERSION_1", HV_VP_REGISTER_PAGE_VERSION_1),
	FACT_OFF(hv_vp_register_page, dirty),
	FACT_OFF(hv_vp_register_page, rip),
	FACT_OFF(hv_vp_register_page, rflags),
	FACT_OFF(hv_vp_register_page, interrupt_vectors),
	FACT_CONST("HV_X64_REGISTER_CLASS_IP", HV_X64_REGISTER_CLASS_IP),
	FACT_CONST("HV_X64_REGISTER_CLASS_FLAGS", HV_X64_REGISTER_CLASS_FLAGS),
	FACT_CONST("HV_X64_REGISTER_REG_PAGE", HV_X64_REGISTER_REG_PAGE),
	FACT_CONST("HV_X64_REGISTER_DR0", HV_X64_REGISTER_DR0),
	FACT_CONST("HV_X64_REGISTER_DR3", HV_X64_REGISTER_DR3),
	FACT_CONST("HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF", HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF),
	FACT_CONST("HV_X64_REGISTER_MSR_MTRR_PHYS_MASKF", HV_X64_REGISTER_MSR_MTRR_PHYS_MASKF),
	FACT_CONST("HV_X64_REGISTER_MSR_MTRR_FIX4KF8000", HV_X64_REGISTER_MSR_MTRR_FIX4KF8000),
	FACT_CONST("MTRRphysMask_MSR(15)", MTRRphysMask_MSR(15)),
	FACT_CONST("MSR_MTRRfix4K_F8000", MSR_MTRRfix4K_F8000),
	FACT_CONST("HV_X64_REGISTER_DR6", HV_X64_REGISTER_DR6),
	FACT_CONST("HV_X64_REGISTER_MSR_MTRR_CAP", HV_X64_REGISTER_MSR_MTRR_CAP),
	FACT_CONST("HV_X64_REGISTER_MSR_MTRR_DEF_TYPE", HV_X64_REGISTER_MSR_MTRR_DEF_TYPE),
	FACT_CONST("HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0", HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0),
	FACT_CONST("HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0", HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0),
	FACT_CONST("HV_X64_REGISTER_MSR_MTRR_FIX64K00000", HV_X64_REGISTER_MSR_MTRR_FIX64K00000),
	FACT_CONST("MSR_MTRRcap", MSR_MTRRcap),
	FACT_CONST("MSR_MTRRdefType", MSR_MTRRdefType),
	FACT_CONST("MTRRphysBase_MSR(0)", MTRRphysBase_MSR(0)),
	FACT_CONST("MSR_MTRRfix64K_00000", MSR_MTRRfix64K_00000),
	FACT_CONST("MSR_MTRRfix16K_80000", MSR_MTRRfix16K_80000),
	FACT_CONST("MSR_MTRRfix16K_A0000", MSR_MTRRfix16K_A0000),
	FACT_CONST("MSR_MTRRfix4K_C0000", MSR_MTRRfix4K_C0000),
	FACT_CONST("MEMORY_INTERCEPT_GPA_OFFSET",
		   offsetof(struct hv_x64_memory_intercept_message, guest_physical_address)),
	FACT_CONST("MEMORY_INTERCEPT_INSTRUCTION_COUNT_OFFSET",
		   offsetof(struct hv_x64_memory_intercept_message, instruction_byte_count)),
	FACT_CONST("MEMORY_INTERCEPT_GVA_OFFSET",
		   offsetof(struct hv_x64_memory_intercept_message, guest_virtual_address)),
	FACT_CONST("MEMORY_INTERCEPT_INSTRUCTION_OFFSET",
		   offsetof(struct hv_x64_memory_intercept_message, instruction_bytes)),
	FACT_CONST("MEMORY_INTERCEPT_INSTRUCTION_BYTES",
		   sizeof_field(struct hv_x64_memory_intercept_message, instruction_bytes)),
	FACT_CONST("MEMORY_INTERCEPT_SIZE", sizeof(struct hv_x64_memory_intercept_message)),
	FACT_CONST("INTERCEPT_HEADER_SIZE", sizeof(struct hv_x64_intercept_message_header)),
	FACT_CONST("INTERCEPT_HEADER_IP_OFFSET",
		   offsetof(struct hv_x64_intercept_message_header, rip)),
	FACT_CONST("LEVEL_TRIGGERED", INTERRUPT_CONTROL_LEVEL_TRIGGERED),
	FACT_CONST("LOGICAL_DEST_MODE", INTERRUPT_CONTROL_LOGICAL_DEST_MODE),
#else
	FACT_CONST("MEMORY_INTERCEPT_GPA_OFFSET",
		   offsetof(struct hv_arm64_memory_intercept_message, guest_physical_address)),
	FACT_CONST("MEMORY_INTERCEPT_INSTRUCTION_COUNT_OFFSET",
		   offsetof(struct hv_arm64_memory_intercept_message, instruction_byte_count)),
	FACT_CONST("MEMORY_INTERCEPT_GVA_OFFSET",
		   offsetof(struct hv_arm64_memory_intercept_message, guest_virtual_address)),
	FACT_CONST("MEMORY_INTERCEPT_INSTRUCTION_OFFSET",
		   offsetof(struct hv_arm64_memory_intercept_message, instruction_bytes)),
	FACT_CONST("MEMORY_INTERCEPT_INSTRUCTION_BYTES",
		   sizeof_field(struct hv_arm64_memory_intercept_message, instruction_bytes)),
	FACT_CONST("MEMORY_INTERCEPT_SIZE", sizeof(struct hv_arm64_memory_intercept_message)),
	FACT_CONST("INTERCEPT_HEADER_SIZE", sizeof(struct hv_arm64_intercept_message_header)),
	FACT_CONST("INTERCEPT_HEADER_IP_OFFSET",
		   offsetof(struct hv_arm64_intercept_message_header, pc)),
	FACT_CONST("ASSERTED", INTERRUPT_CONTROL_ASSERTED),
	FACT_CONST("HV_ARM64_REGISTER_SINT_RESERVED_INTERRUPT_ID",
		   HV_ARM64_REGISTER_SINT_RESERVED_INTERRUPT_ID),
#endif
	FACT_CONST("HV_COMPATIBILITY_21_H2", HV_COMPATIBILITY_21_H2),
	FACT_CONST("HV_PARTITION_PROCESSOR_FEATURES_BANKS", HV_PARTITION_PROCESSOR_FEATURES_BANKS),
	FACT_CONST("CREATE_PARTITION", HVCALL_CREATE_PARTITION),
	FACT_CONST("INITIALIZE_PARTITION", HVCALL_INITIALIZE_PARTITION),
	FACT_CONST("FINALIZE_PARTITION", HVCALL_FINALIZE_PARTITION),
	FACT_CONST("DELETE_PARTITION", HVCALL_DELETE_PARTITION),
	FACT_CONST("GET_PARTITION_PROPERTY", HVCALL_GET_PARTITION_PROPERTY),
	FACT_CONST("SET_PARTITION_PROPERTY", HVCALL_SET_PARTITION_PROPERTY),
	FACT_CONST("DEPOSIT_MEMORY", HVCALL_DEPOSIT_MEMORY),
	FACT_CONST("WITHDRAW_MEMORY", HVCALL_WITHDRAW_MEMORY),
	FACT_CONST("MAP_GPA_PAGES", HVCALL_MAP_GPA_PAGES),
	FACT_CONST("UNMAP_GPA_PAGES", HVCALL_UNMAP_GPA_PAGES),
	FACT_CONST("INSTALL_INTERCEPT", HVCALL_INSTALL_INTERCEPT),
	FACT_CONST("CREATE_VP", HVCALL_CREATE_VP),
	FACT_CONST("DELETE_VP", HVCALL_DELETE_VP),
	FACT_CONST("GET_VP_REGISTERS", HVCALL_GET_VP_REGISTERS),
	FACT_CONST("SET_VP_REGISTERS", HVCALL_SET_VP_REGISTERS),
	FACT_CONST("TRANSLATE_VIRTUAL_ADDRESS", HVCALL_TRANSLATE_VIRTUAL_ADDRESS),
	FACT_CONST("CLEAR_VIRTUAL_INTERRUPT", HVCALL_CLEAR_VIRTUAL_INTERRUPT),
	FACT_CONST("REGISTER_INTERCEPT_RESULT", HVCALL_REGISTER_INTERCEPT_RESULT),
	FACT_CONST("ASSERT_VIRTUAL_INTERRUPT", HVCALL_ASSERT_VIRTUAL_INTERRUPT),
	FACT_CONST("SIGNAL_EVENT_DIRECT", HVCALL_SIGNAL_EVENT_DIRECT),
	FACT_CONST("POST_MESSAGE_DIRECT", HVCALL_POST_MESSAGE_DIRECT),
	FACT_CONST("GET_GPA_PAGES_ACCESS_STATES", HVCALL_GET_GPA_PAGES_ACCESS_STATES),
	FACT_CONST("MAP_VP_STATE_PAGE", HVCALL_MAP_VP_STATE_PAGE),
	FACT_CONST("UNMAP_VP_STATE_PAGE", HVCALL_UNMAP_VP_STATE_PAGE),
	FACT_CONST("GET_VP_STATE", HVCALL_GET_VP_STATE),
	FACT_CONST("SET_VP_STATE", HVCALL_SET_VP_STATE),
	FACT_CONST("GET_VP_CPUID_VALUES", HVCALL_GET_VP_CPUID_VALUES),
	FACT_CONST("GET_PARTITION_PROPERTY_EX", HVCALL_GET_PARTITION_PROPERTY_EX),
	FACT_CONST("GET_SYSTEM_PROPERTY", HVCALL_GET_SYSTEM_PROPERTY),
	FACT_CONST("OPAQUE_INTERCEPT", HVMSG_OPAQUE_INTERCEPT),
	FACT_CONST("X64_IO_PORT_INTERCEPT", HVMSG_X64_IO_PORT_INTERCEPT),
	FACT_CONST("X64_HALT", HVMSG_X64_HALT),
	FACT_CONST("HYPERCALL_INTERCEPT", HVMSG_HYPERCALL_INTERCEPT),
	FACT_CONST("SMCCC_CALL_UID", MSHV_SMCCC_CALL_UID),
	FACT_CONST("SMCCC_CALL_REVISION", MSHV_SMCCC_CALL_REVISION),
	FACT_CONST("SMCCC_FEATURES", MSHV_SMCCC_FEATURES),
	FACT_CONST("SMCCC_VTL_RETURN", MSHV_SMCCC_VTL_RETURN),
	FACT_CONST("SMCCC_VTL_REGISTER", MSHV_SMCCC_VTL_REGISTER),
	FACT_CONST("SMCCC_FEATURE_VTL_RETURN", MSHV_SMCCC_FEATURE_VTL_RETURN),
	FACT_CONST("SMCCC_CONTEXT_LAYOUT", MSHV_SMCCC_CONTEXT_LAYOUT),
	FACT_CONST("SMCCC_CONTEXT_Q", MSHV_SMCCC_CONTEXT_Q),
	FACT_CONST("SMCCC_CONTEXT_USED", MSHV_SMCCC_CONTEXT_USED),
	FACT_CONST("SMCCC_NOT_SUPPORTED", (u64)MSHV_SMCCC_NOT_SUPPORTED),
	FACT_CONST("SMCCC_INVALID_PARAMETER", (u64)MSHV_SMCCC_INVALID_PARAMETER),
	FACT_CONST("UNRECOVERABLE_EXCEPTION", HVMSG_UNRECOVERABLE_EXCEPTION),
	FACT_CONST("UNMAPPED_GPA", HVMSG_UNMAPPED_GPA),
	FACT_CONST("EXPLICIT_SUSPEND", HV_REGISTER_EXPLICIT_SUSPEND),
	FACT_CONST("HV_VP_INDEX_SELF", HV_VP_INDEX_SELF),
	FACT_CONST("POST_MESSAGE", HVCALL_POST_MESSAGE),
	FACT_CONST("SIGNAL_EVENT", HVCALL_SIGNAL_EVENT),
	FACT_CONST("VSM_CODE_PAGE_OFFSETS", HV_REGISTER_VSM_CODE_PAGE_OFFSETS),
	FACT_CONST("VSM_CAPABILITIES", HV_REGISTER_VSM_CAPABILITIES),
	FACT_CONST("VSM_PARTITION_CONFIG", HV_REGISTER_VSM_PARTITION_CONFIG),
	FACT_CONST("ENABLE_VTL_PROTECTION", VSM_CONFIG_ENABLE_VTL_PROTECTION),
	FACT_CONST("DEFAULT_VTL_PROTECTION_MASK_ALL", VSM_CONFIG_DEFAULT_MASK_ALL),
	FACT_CONST("ZERO_MEMORY_ON_RESET", VSM_CONFIG_ZERO_MEMORY_ON_RESET),
	FACT_CONST("INTERCEPT_VP_STARTUP", VSM_CONFIG_INTERCEPT_VP_STARTUP),
	FACT_CONST("INTERCEPT_CPUID_UNIMPLEMENTED", VSM_CONFIG_INTERCEPT_CPUID_UNIMPLEMENTED),
	FACT_CONST("INTERCEPT_PAGE", VSM_CONFIG_INTERCEPT_PAGE),
	FACT_SIZE(hv_vp_assist_page),
	FACT_OFF(hv_vp_assist_page, vtl_entry_reason),
	FACT_OFF(hv_vp_assist_page, vtl_ret_x64rax),
	FACT_OFF(hv_vp_assist_page, vtl_ret_x64rcx),
	FACT_OFF(hv_vp_assist_page, current_nested_vmcs),
	FACT_OFF(hv_vp_assist_page, intercept_message),
	FACT_OFF(hv_vp_assist_page, vtl_ret_actions),
	FACT_CONST("DR6_SHARED", VSM_CAPABILITY_DR6_SHARED),
	FACT_CONST("INTERCEPT_PAGE_AVAILABLE", VSM_CAPABILITY_INTERCEPT_PAGE_AVAILABLE),
	FACT_CONST("RETURN_ACTION_AVAILABLE", VSM_CAPABILITY_RETURN_ACTION_AVAILABLE),
	FACT_CONST("INTERCEPT_SUSPEND", HV_REGISTER_INTERCEPT_SUSPEND),
};

const struct mshv_shim_fact *mshv_shim_hv_facts(size_t *len)
{
#ifdef CONFIG_X86_64
	BUILD_BUG_ON(INTERRUPT_CONTROL(.level_triggered = 1) != INTERRUPT_CONTROL_LEVEL_TRIGGERED);
	BUILD_BUG_ON(INTERRUPT_CONTROL(.logical_dest_mode = 1) !=
		     INTERRUPT_CONTROL_LOGICAL_DEST_MODE);
#else
	BUILD_BUG_ON(INTERRUPT_CONTROL(.asserted = 1) != INTERRUPT_CONTROL_ASSERTED);
#endif
	BUILD_BUG_ON(VSM_CAPABILITY(.dr6_shared = 1) != VSM_CAPABILITY_DR6_SHARED);
	BUILD_BUG_ON(VSM_CAPABILITY(.intercept_page_available = 1) !=
		     VSM_CAPABILITY_INTERCEPT_PAGE_AVAILABLE);
	BUILD_BUG_ON(VSM_CAPABILITY(.return_action_available = 1) !=
		     VSM_CAPABILITY_RETURN_ACTION_AVAILABLE);
	BUILD_BUG_ON(VSM_CONFIG(.enable_vtl_protection = 1) != VSM_CONFIG_ENABLE_VTL_PROTECTION);
	BUILD_BUG_ON(VSM_CONFIG(.default_vtl_protection_mask = HV_MAP_GPA_PERMISSIONS_MASK) !=
		     VSM_CONFIG_DEFAULT_MASK_ALL);
	BUILD_BUG_ON(VSM_CONFIG(.zero_memory_on_reset = 1) != VSM_CONFIG_ZERO_MEMORY_ON_RESET);
	BUILD_BUG_ON(VSM_CONFIG(.intercept_vp_startup = 1) != VSM_CONFIG_INTERCEPT_VP_STARTUP);
	BUILD_BUG_ON(VSM_CONFIG(.intercept_cpuid_unimplemented = 1) !=
		     VSM_CONFIG_INTERCEPT_CPUID_UNIMPLEMENTED);
	BUILD_BUG_ON(VSM_CONFIG(.intercept_page = 1) != VSM_CONFIG_INTERCEPT_PAGE);
	*len = ARRAY_SIZE(hv_facts);
	return hv_facts;
}

int mshv_shim_mutex_lock_killable(void *mutex)
{
	return mutex_lock_killable((struct mutex *)mutex);
}

bool mshv_shim_pfn_hold(u64 pfn)
{
	struct folio *folio;
	struct page *page;

	if (!pfn_valid(pfn))
		return false;
	/* A tail page has no count of its own: the reference is on its folio. */
	page = pfn_to_page(pfn);
	folio = page_folio(page);
	if (!folio_try_get(folio))
		return false;
	if (page_folio(page) != folio) {
		folio_put(folio);
		return false;
	}
	return true;
}

void mshv_shim_pfn_release(u64 pfn)
{
	put_page(pfn_to_page(pfn));
}

bool mshv_shim_yield_killable(void)
{
	cond_resched();
	return !fatal_signal_pending(current);
}

/*
 * An irq_work for the driver: func(data) runs in hard interrupt context on the CPU that queued
 * it (with hard, even under PREEMPT_RT, where other irq_works run in a thread). Freeing waits
 * for a run in progress.
 */
struct mshv_shim_irq_work {
	struct irq_work work;
	void (*func)(void *data);
	void *data;
	/* Queued on another CPU: an IPI there queues it (irq_work_queue_on() is not exported). */
	call_single_data_t csd;
	atomic_t kicking;
};

static void shim_irq_work_func(struct irq_work *work)
{
	struct mshv_shim_irq_work *w = container_of(work, struct mshv_shim_irq_work, work);

	w->func(w->data);
}

struct mshv_shim_irq_work *mshv_shim_irq_work_new(void (*func)(void *), void *data, bool hard)
{
	struct mshv_shim_irq_work *w = kzalloc_obj(*w, GFP_KERNEL);

	if (!w)
		return NULL;
	if (hard)
		w->work = IRQ_WORK_INIT_HARD(shim_irq_work_func);
	else
		w->work = IRQ_WORK_INIT(shim_irq_work_func);
	w->func = func;
	w->data = data;
	return w;
}

bool mshv_shim_irq_work_queue(struct mshv_shim_irq_work *w)
{
	return irq_work_queue(&w->work);
}

static void shim_irq_work_kick(void *info)
{
	struct mshv_shim_irq_work *w = info;

	irq_work_queue(&w->work);
	/* The csd is free again (released before this ran); freeing waits for this store. */
	atomic_set_release(&w->kicking, 0);
}

bool mshv_shim_irq_work_queue_on(struct mshv_shim_irq_work *w, u32 cpu)
{
	bool queued = false;

	if (cpu >= nr_cpu_ids || !cpu_online(cpu))
		return false;
	if (cpu == get_cpu()) {
		queued = irq_work_queue(&w->work);
	} else if (!atomic_xchg(&w->kicking, 1)) {
		INIT_CSD(&w->csd, shim_irq_work_kick, w);
		queued = !smp_call_function_single_async(cpu, &w->csd);
		if (!queued)
			atomic_set(&w->kicking, 0);
	}
	put_cpu();
	return queued;
}

void mshv_shim_irq_work_sync(struct mshv_shim_irq_work *w)
{
	/* An IPI on its way queues the work yet: wait for it, then for the work's run. */
	while (atomic_read_acquire(&w->kicking))
		cpu_relax();
	irq_work_sync(&w->work);
}

void mshv_shim_irq_work_free(struct mshv_shim_irq_work *w)
{
	mshv_shim_irq_work_sync(w);
	kfree(w);
}

bool mshv_shim_in_hardirq(void)
{
	return in_hardirq();
}

/*
 * The simulated hypervisor's SynIC (its messages for the root and its event rings), which the
 * root's message handler reaches in hard interrupt context: a raw spinlock, which spins even
 * under PREEMPT_RT.
 */
static DEFINE_RAW_SPINLOCK(shim_sim_synic_lock);

unsigned long mshv_shim_sim_synic_lock(void)
	__acquires(&shim_sim_synic_lock)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&shim_sim_synic_lock, flags);
	return flags;
}

void mshv_shim_sim_synic_unlock(unsigned long flags)
	__releases(&shim_sim_synic_lock)
{
	raw_spin_unlock_irqrestore(&shim_sim_synic_lock, flags);
}

bool mshv_shim_pfn_is_free(u64 pfn)
{
	struct page *page = pfn_to_online_page(pfn);

	return page && !folio_ref_count(page_folio(page));
}

bool mshv_shim_fault_injection_pause(void)
{
#ifdef CONFIG_FAULT_INJECTION
	bool was = current->make_it_fail;

	current->make_it_fail = false;
	return was;
#else
	return false;
#endif
}

void mshv_shim_fault_injection_resume(bool was)
{
#ifdef CONFIG_FAULT_INJECTION
	current->make_it_fail = was;
#endif
}

int mshv_shim_mutex_lock_interruptible(void *mutex)
{
	return mutex_lock_interruptible((struct mutex *)mutex);
}

void *mshv_shim_vp_assist_page(u32 cpu)
{
#ifdef CONFIG_X86_64
	return cpu < nr_cpu_ids ? hv_get_vp_assist_page(cpu) : NULL;
#else
	return NULL;
#endif
}

void *mshv_shim_hypercall_page_map(void)
{
#ifdef CONFIG_X86_64
	struct page *page;
	u64 msr;

	/*
	 * The kernel does not export its own mapping (hv_hypercall_pg): map the page it registered
	 * with the hypervisor once more, read-only and executable, as it mapped it.
	 */
	if (!hv_is_hyperv_initialized())
		return NULL;
	rdmsrq(HV_X64_MSR_HYPERCALL, msr);
	if (!(msr & HV_X64_MSR_HYPERCALL_ENABLE) || !pfn_valid(msr >> HV_HYP_PAGE_SHIFT))
		return NULL;
	page = pfn_to_page(msr >> HV_HYP_PAGE_SHIFT);
	return vmap(&page, 1, VM_MAP, PAGE_KERNEL_ROX);
#else
	return NULL;
#endif
}

void mshv_shim_hypercall_page_unmap(void *addr)
{
	vunmap(addr);
}

void mshv_shim_udelay(u32 us)
{
	udelay(us);
}

void mshv_shim_preempt_disable(void)
{
	preempt_disable();
}

void mshv_shim_preempt_enable(void)
{
	preempt_enable();
}

void mshv_shim_cond_resched(void)
{
	cond_resched();
}

#include <linux/entry-virt.h>
#include <linux/rseq.h>

int mshv_shim_guest_work(void)
{
#ifdef CONFIG_VIRT_XFER_TO_GUEST_WORK
	return __xfer_to_guest_mode_work_pending() ? xfer_to_guest_mode_handle_work() : 0;
#else
	if (signal_pending(current))
		return -EINTR;
	cond_resched();
	return 0;
#endif
}

void mshv_shim_guest_exit(void)
{
	rseq_virt_userspace_exit();
}

#ifdef MSHV_SHIM_VTL
/* Whether the task has work to do before entering a lower VTL (a signal, a reschedule). */
static bool vtl_work_pending(void)
{
#ifdef CONFIG_VIRT_XFER_TO_GUEST_WORK
	return xfer_to_guest_mode_work_pending();
#else
	return signal_pending(current) || need_resched();
#endif
}
#endif

#if defined(MSHV_SHIM_VTL) && defined(CONFIG_ARM64)
/* The arm64 VTL switch over SMCCC (arch/arm64/entry.S, vtl/smccc.rs). */
#include <linux/arm-smccc.h>
#include <asm/daifflags.h>
#include <asm/neon.h>
#include <asm/simd.h>
#include <asm/sysreg.h>

/* A query of the vendor hypervisor service by HVC #0 (no argument): x0-x3 in res. */
void mshv_shim_smccc_hvc(u64 fid, u64 *res)
{
	struct arm_smccc_res r;

	arm_smccc_1_1_hvc(fid, &r);
	res[0] = r.a0;
	res[1] = r.a1;
	res[2] = r.a2;
	res[3] = r.a3;
}

/* Whether the Hyper-V UID is what the vendor hypervisor service answered. */
bool mshv_shim_smccc_is_hyperv(u64 r0, u64 r1, u64 r2, u64 r3)
{
	uuid_t hyperv = UUID_INIT(0x58ba324d, 0x6447, 0x24cd,
				  0x75, 0x6c, 0xef, 0x8e, 0x24, 0x70, 0x59, 0x16);
	uuid_t uid;

	/* The header's words (which the simulator answers) are this UUID's. */
	uid = smccc_res_to_uuid(MSHV_SMCCC_HYPERV_UID_0, MSHV_SMCCC_HYPERV_UID_1,
				MSHV_SMCCC_HYPERV_UID_2, MSHV_SMCCC_HYPERV_UID_3);
	if (WARN_ON_ONCE(!uuid_equal(&uid, &hyperv)))
		return false;
	if ((long)r0 == SMCCC_RET_NOT_SUPPORTED)
		return false;
	uid = smccc_res_to_uuid(r0, r1, r2, r3);
	return uuid_equal(&uid, &hyperv);
}

/* What the kernel-mode FP/SIMD state of the task in the loop is kept in (kernel_neon_begin). */
static DEFINE_PER_CPU(struct user_fpsimd_state, vtl_fpsimd);

int mshv_shim_vtl_return_smccc(u32 *cancel, u64 *reason)
{
	struct user_fpsimd_state *fp;
	struct mshv_smccc_ret res;
	unsigned long flags;
	int ret = 0;

	/* The per-CPU buffer is this task's until kernel_neon_end(). */
	lockdep_assert_preemption_disabled();
	fp = this_cpu_ptr(&vtl_fpsimd);
	/* The task's FP/SIMD/SVE/SME state goes to memory; the CPU's registers are free. */
	if (!may_use_simd())
		return -EBUSY;
	kernel_neon_begin(fp);
	/*
	 * PSTATE.I set, with pseudo-NMIs too (local_irq_save() would only raise PMR): the
	 * interrupt that ends VTL0's run must stay pending, and one pending now must show.
	 */
	flags = local_daif_save();
	/* Work that came since the caller looked (a signal's IPI, say) is taken first. */
	if (vtl_work_pending()) {
		ret = -EAGAIN;
		goto out;
	}
	/* User space may set it at any time; it is never cleared here. */
	if (READ_ONCE(*cancel)) {
		ret = -EINTR;
		goto out;
	}
	/* kernel_neon_begin() left streaming mode; the hypervisor refuses it too. */
	if (system_supports_sme() && read_sysreg_s(SYS_SVCR)) {
		ret = -EBUSY;
		goto out;
	}
	res = mshv_vtl_smccc_call(MSHV_SMCCC_VTL_RETURN, 0, 0, 0);
	switch ((long)res.a0) {
	case 0:
		*reason = res.a1;
		break;
	case MSHV_SMCCC_NOT_SUPPORTED:
		ret = -EOPNOTSUPP;
		break;
	case MSHV_SMCCC_INVALID_PARAMETER:
		ret = -EINVAL;
		break;
	default:
		/* Anything else (the hyp stub's HVC_STUB_ERR, say): no switch was made. */
		ret = -EIO;
		break;
	}
out:
	local_daif_restore(flags);
	kernel_neon_end(fp);
	return ret;
}
#endif

#if defined(MSHV_SHIM_VTL) && defined(CONFIG_X86_64)
/* The VTL switch (arch/x86/entry.S) and what it needs. */
#include <asm/fpu/api.h>
#include "mshv_vtl.h"
#include "arch/x86/vtl_context.h"

/*
 * The hypervisor's VTL-return entry, which follows no C convention: only the switch jumps to
 * it, through mshv_vtl_return_trampoline (entry.S).
 */
void *mshv_vtl_return_target;

void mshv_shim_vtl_set_return_entry(void *entry)
{
	WRITE_ONCE(mshv_vtl_return_target, entry);
}

bool mshv_shim_vtl_entry_usable(void *entry, const char **why)
{
	/* The trampoline's jump is indirect: with IBT it would need an ENDBR there. */
	if (cpu_feature_enabled(X86_FEATURE_IBT)) {
		*why = "indirect branch tracking is on (the entry is reached by an indirect jump)";
		return false;
	}
	/* Only the legacy FP state is switched, as upstream: VTL0 would see VTL2's other state. */
	if (boot_cpu_has(X86_FEATURE_XSAVE)) {
		*why = "XSAVE is on (boot with noxsave, as upstream requires)";
		return false;
	}
	if (!entry) {
		*why = "the hypervisor has no VTL-return entry";
		return false;
	}
	return true;
}

int mshv_shim_vtl_return(void *run_page, void *vp_assist_page, bool return_actions)
{
	struct mshv_vtl_run *run = run_page;
	struct hv_vp_assist_page *hvp = vp_assist_page;
	struct mshv_vtl_cpu_context *ctx = &run->cpu_context;
	unsigned long flags;
	u32 actions;

	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, rax) != MSHV_CTX_RAX);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, rcx) != MSHV_CTX_RCX);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, rdx) != MSHV_CTX_RDX);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, rbx) != MSHV_CTX_RBX);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, cr2) != MSHV_CTX_CR2);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, rbp) != MSHV_CTX_RBP);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, rsi) != MSHV_CTX_RSI);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, rdi) != MSHV_CTX_RDI);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, r8) != MSHV_CTX_R8);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, r9) != MSHV_CTX_R9);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, r10) != MSHV_CTX_R10);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, r11) != MSHV_CTX_R11);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, r12) != MSHV_CTX_R12);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, r13) != MSHV_CTX_R13);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, r14) != MSHV_CTX_R14);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, r15) != MSHV_CTX_R15);
	BUILD_BUG_ON(offsetof(struct mshv_vtl_cpu_context, fx_state) != MSHV_CTX_FX);

	local_irq_save(flags);
	/* Work that came since the caller looked (a signal's IPI, say) is taken first. */
	if (vtl_work_pending()) {
		local_irq_restore(flags);
		return -EAGAIN;
	}
	/* User space may set it at any time; it is never cleared here. */
	if (READ_ONCE(run->cancel)) {
		local_irq_restore(flags);
		return -EINTR;
	}
	actions = READ_ONCE(run->vtl_ret_action_size);
	if (return_actions && actions) {
		memcpy(hvp->vtl_ret_actions, run->vtl_ret_actions,
		       min_t(u32, actions, sizeof(hvp->vtl_ret_actions)));
		WRITE_ONCE(run->vtl_ret_action_size, 0);
	}
	/* The switch needs rax and rcx itself: the hypervisor loads VTL0's from here. */
	hvp->vtl_ret_x64rax = ctx->rax;
	hvp->vtl_ret_x64rcx = ctx->rcx;
	/* VTL2's FP state is saved for it; VTL0's legacy x87/SSE state goes in and out. */
	kernel_fpu_begin_mask(0);
	if (mshv_vtl_fxrstor(&ctx->fx_state)) {
		kernel_fpu_end();
		local_irq_restore(flags);
		return -EINVAL;
	}
	mshv_vtl_switch(ctx);
	mshv_vtl_fxsave(&ctx->fx_state);
	kernel_fpu_end();
	local_irq_restore(flags);
	return 0;
}

/* The run page's layout, for the Rust side's checks (vtl/run.rs). */
static const struct mshv_shim_fact vtl_run_facts[] = {
	FACT_SIZE(mshv_vtl_run),
	FACT_OFF(mshv_vtl_run, vtl_ret_action_size),
	FACT_OFF(mshv_vtl_run, exit_message),
	FACT_OFF(mshv_vtl_run, cpu_context),
	FACT_OFF(mshv_vtl_run, vtl_ret_actions),
	FACT_SIZE(mshv_vtl_cpu_context),
};

const struct mshv_shim_fact *mshv_shim_vtl_run_facts(size_t *len)
{
	*len = ARRAY_SIZE(vtl_run_facts);
	return vtl_run_facts;
}
#endif

/*
 * Poll files (MSHV_SET_POLL_FILE): a wake-up of the file's wait queue sets a CPU's cancel flag
 * and, if it was clear and the CPU is another, interrupts that CPU, so that a VTL0 it runs
 * exits to VTL2 and the loop sees the flag.
 */
struct mshv_shim_poll_watch {
	wait_queue_entry_t wait;
	wait_queue_head_t *wqh;
	poll_table pt;
	struct file *file;
	u32 *cancel;
	unsigned int cpu;
	int error;
};

static int shim_poll_wake(wait_queue_entry_t *wait, unsigned int mode, int sync, void *key)
{
	struct mshv_shim_poll_watch *w = container_of(wait, struct mshv_shim_poll_watch, wait);
	__poll_t flags = key_to_poll(key);

	if (flags & POLLFREE)
		list_del_init(&wait->entry);
	if (!xchg(w->cancel, 1)) {
		/* Only where there is a VTL switch to interrupt (x86_64, for now). */
#ifdef CONFIG_X86_64
		if (get_cpu() != w->cpu && cpu_online(w->cpu))
			arch_smp_send_reschedule(w->cpu);
		put_cpu();
#endif
	}
	if (flags & POLLFREE) {
		/*
		 * The queue is going away (RCU-delayed): the removal must not touch it. Released
		 * after the entry left it, paired with the acquire in mshv_shim_poll_unwatch().
		 */
		smp_store_release(&w->wqh, NULL);
	}
	return 0;
}

static void shim_poll_queue(struct file *file, wait_queue_head_t *wqh, poll_table *pt)
{
	struct mshv_shim_poll_watch *w = container_of(pt, struct mshv_shim_poll_watch, pt);

	if (w->error)
		return;
	if (w->wqh) {
		/* One queue per file only, as upstream. */
		if (w->wqh != wqh)
			w->error = -EINVAL;
		return;
	}
	w->wqh = wqh;
	add_wait_queue(wqh, &w->wait);
}

void mshv_shim_poll_unwatch(struct mshv_shim_poll_watch *w)
{
	wait_queue_head_t *wqh;

	rcu_read_lock();
	/* Paired with the release in shim_poll_wake(): NULL once the queue went away. */
	wqh = smp_load_acquire(&w->wqh);
	if (wqh)
		remove_wait_queue(wqh, &w->wait);
	rcu_read_unlock();
	/* No wake-up runs any more: each runs under the queue's lock, which the removal took. */
	fput(w->file);
	kfree(w);
}

struct mshv_shim_poll_watch *mshv_shim_poll_watch(int fd, u32 *cancel, u32 cpu, int *err)
{
	struct mshv_shim_poll_watch *w;
	struct file *file = fget(fd);

	if (!file) {
		*err = -EBADFD;
		return NULL;
	}
	w = kzalloc_obj(*w, GFP_KERNEL);
	if (!w) {
		fput(file);
		*err = -ENOMEM;
		return NULL;
	}
	w->file = file;
	w->cancel = cancel;
	w->cpu = cpu;
	init_waitqueue_func_entry(&w->wait, shim_poll_wake);
	init_poll_funcptr(&w->pt, shim_poll_queue);
	vfs_poll(file, &w->pt);
	if (w->error) {
		*err = w->error;
		mshv_shim_poll_unwatch(w);
		return NULL;
	}
	return w;
}

bool mshv_shim_cpu_online(u32 cpu)
{
	return cpu < nr_cpu_ids && cpu_online(cpu);
}

int mshv_shim_call_on_cpu(u32 cpu, void (*func)(void *), void *data)
{
	return smp_call_function_single(cpu, func, data, true);
}

void mshv_shim_on_each_cpu(void (*func)(void *), void *data)
{
	/* No CPU comes or goes meanwhile: one that comes later is its hotplug state's. */
	cpus_read_lock();
	on_each_cpu(func, data, true);
	cpus_read_unlock();
}

bool mshv_shim_cpu_possible(u32 cpu)
{
	return cpu < nr_cpu_ids && cpu_possible(cpu);
}

int mshv_shim_cpuhp_add(const char *name, int (*online)(unsigned int cpu),
			int (*offline)(unsigned int cpu))
{
	return cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, name, online, offline);
}

void mshv_shim_cpuhp_remove(int state)
{
	cpuhp_remove_state(state);
}

bool mshv_shim_misc_taken(const char *name)
{
	char buf[64];
	struct path path;

	snprintf(buf, sizeof(buf), "/sys/class/misc/%s", name);
	if (kern_path(buf, 0, &path))
		return false;
	path_put(&path);
	return true;
}

struct shim_reboot {
	struct notifier_block nb;
	void (*fn)(void);
};

static int shim_reboot_call(struct notifier_block *nb, unsigned long code, void *unused)
{
	container_of(nb, struct shim_reboot, nb)->fn();
	return NOTIFY_DONE;
}

void *mshv_shim_reboot_add(void (*fn)(void), int priority)
{
	struct shim_reboot *r = kzalloc_obj(*r, GFP_KERNEL);

	if (!r)
		return NULL;
	r->fn = fn;
	r->nb.notifier_call = shim_reboot_call;
	r->nb.priority = priority;
	if (register_reboot_notifier(&r->nb)) {
		kfree(r);
		return NULL;
	}
	return r;
}

void mshv_shim_reboot_remove(void *handle)
{
	struct shim_reboot *r = handle;

	/* Waits for a call in progress (the chain's rwsem). */
	unregister_reboot_notifier(&r->nb);
	kfree(r);
}

#ifdef CONFIG_X86_64
/* Whether @msr is one of the MTRRs the register names reach (hv/shared.rs). */
static bool is_mtrr(u32 msr)
{
	switch (msr) {
	case MSR_MTRRcap:
	case MSR_MTRRdefType:
	case MSR_MTRRfix64K_00000:
	case MSR_MTRRfix16K_80000:
	case MSR_MTRRfix16K_A0000:
		return true;
	default:
		return (msr >= MTRRphysBase_MSR(0) && msr <= MTRRphysMask_MSR(15)) ||
		       (msr >= MSR_MTRRfix4K_C0000 && msr <= MSR_MTRRfix4K_F8000);
	}
}

int mshv_shim_shared_reg(u32 debug, u32 msr, bool set, u64 *value)
{
	unsigned long flags;
	int ret = 0;

	if (msr) {
		if (!is_mtrr(msr))
			return -EINVAL;
		/*
		 * Written only in a partition (never on bare metal, where MTRRs change without
		 * the SDM's protocol alias memory types), and not where the kernel keeps MTRR
		 * state of its own, which it writes back at CPU bring-up and resume (upstream's
		 * MSHV_VTL depends on !MTRR).
		 */
		if (set && (!boot_cpu_has(X86_FEATURE_HYPERVISOR) || IS_ENABLED(CONFIG_MTRR)))
			return -EBUSY;
		/* A fault (a register the CPU lacks, a reserved bit) is an errno, not a splat. */
		if (set)
			return wrmsrq_safe(msr, *value) ? -EINVAL : 0;
		return rdmsrq_safe(msr, value) ? -EINVAL : 0;
	}
	if (debug > 3 && debug != 6)
		return -EINVAL;
	if (!set) {
		*value = native_get_debugreg(debug);
		return 0;
	}
	/* Writing a one to DR6's upper half is a #GP. */
	if (debug == 6 && upper_32_bits(*value))
		return -EINVAL;
	/* Not a slot a breakpoint of this kernel's own (perf, ptrace) has enabled here. */
	local_irq_save(flags);
	if (debug < 4 && (__this_cpu_read(cpu_dr7) &
			  ((DR_LOCAL_ENABLE | DR_GLOBAL_ENABLE) << (debug * DR_ENABLE_SIZE))))
		ret = -EBUSY;
	else
		native_set_debugreg(debug, *value);
	local_irq_restore(flags);
	return ret;
}
#else
int mshv_shim_shared_reg(u32 debug, u32 msr, bool set, u64 *value)
{
	return -EOPNOTSUPP;
}
#endif

/* The SynIC's registers of the calling CPU, by the shim's number (MSHV_SHIM_SYNIC_*). */
static unsigned int synic_msr(u32 reg)
{
	switch (reg) {
	case MSHV_SHIM_SYNIC_SCONTROL:
		return HV_MSR_SCONTROL;
	case MSHV_SHIM_SYNIC_SIMP:
		return HV_MSR_SIMP;
	case MSHV_SHIM_SYNIC_SIEFP:
		return HV_MSR_SIEFP;
	case MSHV_SHIM_SYNIC_EOM:
		return HV_MSR_EOM;
	case MSHV_SHIM_SYNIC_SIRBP:
		return HV_MSR_SIRBP;
	default:
		return HV_MSR_SINT0 + (reg - MSHV_SHIM_SYNIC_SINT0);
	}
}

/* Numbers between the named registers and SINT0 name none. */
static bool synic_reg_valid(u32 reg)
{
	return reg <= MSHV_SHIM_SYNIC_SIRBP ||
	       (reg >= MSHV_SHIM_SYNIC_SINT0 && reg < MSHV_SHIM_SYNIC_SINT0 + HV_SYNIC_SINT_COUNT);
}

/*
 * The root's SynIC is the hypervisor's own, never a nested one's: upstream's mshv_root reaches
 * it with the non-nested accessors (on a nested root hv_set_msr() would reach L0's SynIC,
 * VMBus's). VTL2's is reached as the kernel's own code reaches it.
 */
#ifdef MSHV_SHIM_VTL
#define synic_set_msr hv_set_msr
#define synic_get_msr hv_get_msr
#else
#define synic_set_msr hv_set_non_nested_msr
#define synic_get_msr hv_get_non_nested_msr
#endif

void mshv_shim_synic_write(u32 reg, u64 value)
{
	if (synic_reg_valid(reg))
		synic_set_msr(synic_msr(reg), value);
}

u64 mshv_shim_synic_read(u32 reg)
{
	return synic_reg_valid(reg) ? synic_get_msr(synic_msr(reg)) : 0;
}

#ifdef CONFIG_X86_64
#define SYNIC_VECTOR	HYPERVISOR_CALLBACK_VECTOR
#elif !defined(MSHV_SHIM_VTL) && defined(CONFIG_ARM64) && defined(CONFIG_ACPI)
/* The reserved INTID, once mshv_shim_set_synic_handler() took its interrupt. */
#define SYNIC_VECTOR	root_sint_intid
static u32 root_sint_intid;
#else
#define SYNIC_VECTOR	0
#endif

u64 mshv_shim_sint(bool masked)
{
	union hv_synic_sint sint = { .as_uint64 = 0 };

	sint.vector = SYNIC_VECTOR;
	sint.masked = masked;
	sint.auto_eoi = hv_recommend_using_aeoi();
	return sint.as_uint64;
}

#if defined(MSHV_SHIM_VTL) && defined(CONFIG_X86_64) && IS_REACHABLE(CONFIG_HYPERV_VMBUS)
#include "hyperv_vmbus.h"

/* Whether VMBus set the SynIC up (its pages are the SynIC's, its interrupt handler chained). */
static bool vmbus_synic(void)
{
	return hv_context.cpu_context &&
	       per_cpu_ptr(hv_context.cpu_context, 0)->hyp_synic_message_page;
}

static void (*vtl_synic_handler)(void);
static bool vtl_synic_chains_vmbus;

static void vtl_synic_isr(void)
{
	/* Set before this was installed, and left as it was after. */
	vtl_synic_handler();
	if (vtl_synic_chains_vmbus)
		vmbus_isr();
}

int mshv_shim_set_synic_handler(void (*handler)(void), u64 intid)
{
	/* The Rust side's PostMessageIn (hv/abi.rs), as the kernel's private header has it. */
	BUILD_BUG_ON(sizeof(struct hv_input_post_message) != 256);
	BUILD_BUG_ON(offsetof(struct hv_input_post_message, payload_size) != 12);
	BUILD_BUG_ON(offsetof(struct hv_input_post_message, payload) != 16);
	if (handler) {
		vtl_synic_chains_vmbus = vmbus_synic();
		WRITE_ONCE(vtl_synic_handler, handler);
		hv_setup_vmbus_handler(vtl_synic_isr);
		return 0;
	}
	hv_setup_vmbus_handler(vtl_synic_chains_vmbus ? vmbus_isr : NULL);
	/* A run of the old handler (interrupts off) has ended once a grace period has. */
	synchronize_rcu();
	return 0;
}

bool mshv_shim_vmbus_synic_pages(u32 cpu, void **message, void **event)
{
	struct hv_per_cpu_context *ctx;

	if (!hv_context.cpu_context)
		return false;
	if (cpu >= nr_cpu_ids || !cpu_possible(cpu))
		return false;
	ctx = per_cpu_ptr(hv_context.cpu_context, cpu);
	if (!ctx->hyp_synic_message_page || !ctx->hyp_synic_event_page)
		return false;
	*message = ctx->hyp_synic_message_page;
	*event = ctx->hyp_synic_event_page;
	return true;
}
#elif !defined(MSHV_SHIM_VTL) && defined(CONFIG_X86_64)
int mshv_shim_set_synic_handler(void (*handler)(void), u64 intid)
{
	/* sysvec_hyperv_callback calls it before VMBus's handler, as upstream's mshv_isr. */
	hv_setup_mshv_handler(handler);
	/* A run of the old handler (interrupts off) has ended once a grace period has. */
	if (!handler)
		synchronize_rcu();
	return 0;
}

bool mshv_shim_vmbus_synic_pages(u32 cpu, void **message, void **event)
{
	return false;
}
#elif !defined(MSHV_SHIM_VTL) && defined(CONFIG_ARM64) && defined(CONFIG_ACPI)
/*
 * arm64's SINTs interrupt through a per-CPU interrupt the hypervisor reserves: its INTID (a
 * PPI) is the VP register HV_ARM64_REGISTER_SINT_RESERVED_INTERRUPT_ID, ACPI maps it, and the
 * SINTs name it as their vector. Not when the kernel runs without ACPI (-ENODEV, as upstream).
 */
static void (*root_synic_handler)(void);
static int root_sint_irq = -1;
static DEFINE_PER_CPU(long, root_sint_dev);

static irqreturn_t root_sint_isr(int irq, void *dev)
{
	root_synic_handler();
	return IRQ_HANDLED;
}

int mshv_shim_set_synic_handler(void (*handler)(void), u64 intid)
{
	int irq, ret;

	if (!handler) {
		if (root_sint_irq < 0)
			return 0;
		/* Waits for a run of the handler in progress (synchronize_irq()). */
		free_percpu_irq(root_sint_irq, &root_sint_dev);
		acpi_unregister_gsi(root_sint_intid);
		root_sint_irq = -1;
		root_sint_intid = 0;
		return 0;
	}
	if (root_sint_irq >= 0)
		return -EBUSY;
	/* A SINT's vector is 8 bits wide. */
	if (acpi_disabled || !intid || intid > U8_MAX)
		return -ENODEV;
	irq = acpi_register_gsi(NULL, intid, ACPI_EDGE_SENSITIVE, ACPI_ACTIVE_HIGH);
	if (irq < 0)
		return irq;
	root_synic_handler = handler;
	ret = request_percpu_irq(irq, root_sint_isr, "mshv_rs", &root_sint_dev);
	if (ret) {
		acpi_unregister_gsi(intid);
		return ret;
	}
	root_sint_intid = intid;
	root_sint_irq = irq;
	return 0;
}

void mshv_shim_synic_irq_percpu(bool enable)
{
	if (root_sint_irq < 0)
		return;
	if (enable)
		enable_percpu_irq(root_sint_irq, IRQ_TYPE_NONE);
	else
		disable_percpu_irq(root_sint_irq);
}

bool mshv_shim_vmbus_synic_pages(u32 cpu, void **message, void **event)
{
	return false;
}
#else
int mshv_shim_set_synic_handler(void (*handler)(void), u64 intid)
{
	/* arm64 without ACPI, or VTL2 on arm64: no interrupt the module can take. */
	return handler ? -EOPNOTSUPP : 0;
}

bool mshv_shim_vmbus_synic_pages(u32 cpu, void **message, void **event)
{
	return false;
}
#endif

#if defined(MSHV_SHIM_VTL) || !defined(CONFIG_ARM64) || !defined(CONFIG_ACPI)
void mshv_shim_synic_irq_percpu(bool enable)
{
	/* x86's vector is always on; elsewhere there is no interrupt to enable. */
}
#endif

int mshv_shim_hv_version(u16 *major, u16 *minor, u32 *build)
{
	union hv_hypervisor_version_info info;
	int ret = hv_get_hypervisor_version(&info);

	if (ret)
		return ret;
	*major = info.major_version;
	*minor = info.minor_version;
	*build = info.build_number;
	return 0;
}

bool mshv_shim_vmbus_exists(void)
{
#if IS_REACHABLE(CONFIG_HYPERV_VMBUS)
	return hv_vmbus_exists();
#else
	return false;
#endif
}

void *mshv_shim_memremap_page(u64 pfn)
{
	return memremap(pfn << HV_HYP_PAGE_SHIFT, HV_HYP_PAGE_SIZE, MEMREMAP_WB);
}

void mshv_shim_memunmap_page(void *addr)
{
	memunmap(addr);
}

#ifndef MSHV_SHIM_VTL
/* The Hyper-V core's consumer indices of the root's event rings (drivers/hv/mshv_root.h). */
extern u8 * __percpu *hv_synic_eventring_tail;

u8 *mshv_shim_eventring_tails(void)
{
	return hv_synic_eventring_tail ? *this_cpu_ptr(hv_synic_eventring_tail) : NULL;
}
#endif
