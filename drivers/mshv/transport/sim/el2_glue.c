// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated hypervisor at EL2 on arm64 (el2.rs, el2_arm64.S): what it needs of the kernel
 * that the kernel crate does not offer (cache maintenance to the point of coherency, a
 * non-cacheable mapping, the CPU PM notifier) and its layout facts.
 */
#include <linux/cpu_pm.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <asm/cpufeature.h>
#include <asm/sysreg.h>
#include <asm/virt.h>

#include "../../shim.h"
#include "el2_arm64.h"

/* Cleans and invalidates [va, va + len) to the point of coherency. */
static void el2_poc(void *va, size_t len)
{
	unsigned long line = 4UL << ((read_sysreg(ctr_el0) >> 16) & 0xf);
	unsigned long p = (unsigned long)va & ~(line - 1);
	unsigned long end = (unsigned long)va + len;

	dsb(sy);
	for (; p < end; p += line)
		asm volatile("dc civac, %0" : : "r"(p) : "memory");
	dsb(sy);
}

bool mshv_sim_el2_possible(void)
{
	u64 pfr0 = read_sysreg_s(SYS_ID_AA64PFR0_EL1);

	/* KVM may own EL2 (its own hypervisor answers HVC_SET_VECTORS with an error). */
	if (IS_ENABLED(CONFIG_KVM))
		return false;
	/* With VHE the kernel itself runs at EL2. */
	if (is_kernel_in_hyp_mode())
		return false;
	return cpuid_feature_extract_unsigned_field(pfr0, ID_AA64PFR0_EL1_EL2_SHIFT) != 0;
}

u64 mshv_sim_el2_code_alloc(const void *code, size_t len, void **handle)
{
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_ZERO, get_order(len));

	if (!page)
		return 0;
	memcpy(page_address(page), code, len);
	/* EL2 fetches it with its MMU off and SCTLR_EL2.I clear: from memory. */
	el2_poc(page_address(page), len);
	asm volatile("ic ialluis" : : : "memory");
	dsb(ish);
	isb();
	*handle = page;
	return page_to_phys(page);
}

void mshv_sim_el2_code_free(void *handle, size_t len)
{
	__free_pages(handle, get_order(len));
}

void *mshv_sim_el2_state_alloc(size_t len, u64 *pa, void **handle)
{
	unsigned int order = get_order(len), i, n = 1U << order;
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);
	struct page **pages;
	void *va = NULL;

	if (!page)
		return NULL;
	/* No dirty line of the cacheable linear alias may later land on what EL2 wrote. */
	el2_poc(page_address(page), PAGE_SIZE << order);
	pages = kmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (pages) {
		for (i = 0; i < n; i++)
			pages[i] = page + i;
		/* Normal non-cacheable, as EL2's accesses with its MMU off: coherent with them. */
		va = vmap(pages, n, VM_MAP, pgprot_writecombine(PAGE_KERNEL));
		kfree(pages);
	}
	if (!va) {
		__free_pages(page, order);
		return NULL;
	}
	*pa = page_to_phys(page);
	*handle = page;
	return va;
}

void mshv_sim_el2_state_free(void *va, void *handle, size_t len)
{
	vunmap(va);
	__free_pages(handle, get_order(len));
}

static void (*el2_pm_resumed)(void);

/* A CPU back from a low-power state came up through the hyp stub again. */
static int el2_pm_notify(struct notifier_block *nb, unsigned long action, void *data)
{
	if (action == CPU_PM_EXIT || action == CPU_PM_ENTER_FAILED)
		el2_pm_resumed();
	return NOTIFY_OK;
}

static struct notifier_block el2_pm_nb = {
	.notifier_call = el2_pm_notify,
};

int mshv_sim_el2_pm_register(void (*resumed)(void))
{
	el2_pm_resumed = resumed;
	return cpu_pm_register_notifier(&el2_pm_nb);
}

void mshv_sim_el2_pm_unregister(void)
{
	cpu_pm_unregister_notifier(&el2_pm_nb);
	/* cpu_pm_notify() walks the chain under RCU: no walk may still be in this module. */
	synchronize_rcu();
}

#define EL2_FACT(c)	{ "const:" #c, c }

static const struct mshv_shim_fact el2_facts[] = {
	EL2_FACT(EL2_SCRATCH), EL2_FACT(EL2_BLOCK), EL2_FACT(EL2_BLOCK_SIZE),
	EL2_FACT(EL2_STATE), EL2_FACT(EL2_PROGRAM), EL2_FACT(EL2_VTL0_VBAR),
	EL2_FACT(EL2_VTL0_SP), EL2_FACT(EL2_ANSWER), EL2_FACT(EL2_REASON_ARG),
	EL2_FACT(EL2_SIMP), EL2_FACT(EL2_MSG_TYPE), EL2_FACT(EL2_PENDING),
	EL2_FACT(EL2_COUNTS), EL2_FACT(EL2_FAULT_ESR), EL2_FACT(EL2_FAULT_ELR),
	EL2_FACT(EL2_FAULT_FAR), EL2_FACT(EL2_FRAMES), EL2_FACT(EL2_FRAMES_OK),
	EL2_FACT(EL2_STUB_VBAR), EL2_FACT(EL2_FEATURES), EL2_FACT(EL2_EXIT),
	EL2_FACT(EL2_ENTRY_X0), EL2_FACT(EL2_CPU_SIZE), EL2_FACT(EL2_N_COUNTS),
	EL2_FACT(EL2_N_ENTERED), EL2_FACT(EL2_VTL0_PC), EL2_FACT(EL2_RUN_BLOCK),
	EL2_FACT(EL2_VP_INDEX),
};

const struct mshv_shim_fact *mshv_sim_el2_facts(size_t *len)
{
	*len = ARRAY_SIZE(el2_facts);
	return el2_facts;
}
