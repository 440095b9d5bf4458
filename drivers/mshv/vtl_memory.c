// SPDX-License-Identifier: GPL-2.0
/*
 * VTL0's memory, for the VTL module (vtl/memory.rs has the policy): MSHV_ADD_VTL0_MEMORY
 * gives a range of VTL0's physical memory struct pages (ZONE_DEVICE), and /dev/mshv_vtl_low
 * maps it by physical address, in PMD and PUD pieces where address and offset allow.
 *
 * Only what the kernel crate has no abstraction for is here: the device page map, its
 * resource, the mapping's fault handlers.
 */
#include <linux/mm.h>
#include <linux/ioport.h>
#include <linux/memory_hotplug.h>
#include <linux/memremap.h>
#include <linux/math64.h>
#include <linux/slab.h>

#include "shim.h"

/* What marks the page maps made here: only their pages are mapped. */
static const char vtl0_owner[] = "mshv_vtl VTL0 memory";

struct mshv_shim_vtl0_memory {
	struct resource *resource;
	struct dev_pagemap pgmap;
};

void mshv_shim_vtl0_memory_limits(u64 *align_pages, u64 *first_pfn, u64 *end_pfn,
				  u64 *max_pages)
{
#ifdef CONFIG_ZONE_DEVICE
	struct range pluggable = mhp_get_pluggable_range(true);

	*align_pages = PAGES_PER_SUBSECTION;
	*first_pfn = PHYS_PFN(pluggable.start);
	*end_pfn = PHYS_PFN(pluggable.end) + 1;
	/*
	 * The struct pages of a range come out of the kernel's memory: at most a quarter of what
	 * is available now, which a failed add (whose memory map the page map code does not
	 * always give back) could not exhaust either.
	 */
	*max_pages = div_u64((u64)si_mem_available() * PAGE_SIZE / 4, sizeof(struct page));
#else
	*align_pages = 1;
	*first_pfn = 0;
	*end_pfn = 0;
	*max_pages = 0;
#endif
}

struct mshv_shim_vtl0_memory *mshv_shim_vtl0_memory_add(u64 start_pfn, u64 end_pfn, int *err)
{
#ifdef CONFIG_ZONE_DEVICE
	resource_size_t start = PFN_PHYS(start_pfn), size = PFN_PHYS(end_pfn - start_pfn);
	struct mshv_shim_vtl0_memory *mem;
	void *added;

	mem = kzalloc_obj(*mem, GFP_KERNEL);
	if (!mem) {
		*err = -ENOMEM;
		return NULL;
	}
	/*
	 * Claimed first: no RAM of the kernel's, no device's region (claimed or not: a PCI
	 * window, reserved memory), no range added before. The page map's own checks of the same
	 * would warn, not just fail, and it would take over a page map it overlaps in the middle.
	 */
	if (region_intersects(start, size, IORESOURCE_MEM, IORES_DESC_NONE) != REGION_DISJOINT) {
		kfree(mem);
		*err = -EBUSY;
		return NULL;
	}
	mem->resource = request_mem_region(start, size, vtl0_owner);
	if (!mem->resource) {
		kfree(mem);
		*err = -EBUSY;
		return NULL;
	}
	mem->pgmap.type = MEMORY_DEVICE_GENERIC;
	mem->pgmap.nr_range = 1;
	mem->pgmap.range.start = start;
	mem->pgmap.range.end = start + size - 1;
	/* As upstream: struct pages as compound as the range's alignment allows. */
	mem->pgmap.vmemmap_shift = min_t(unsigned long, __ffs64(start_pfn | end_pfn),
					 MAX_FOLIO_ORDER);
	added = memremap_pages(&mem->pgmap, NUMA_NO_NODE);
	if (IS_ERR(added)) {
		release_mem_region(start, size);
		kfree(mem);
		*err = PTR_ERR(added);
		return NULL;
	}
	/* Mapped from now on (a fault in the meantime found it not ours). */
	smp_store_release(&mem->pgmap.owner, (void *)vtl0_owner);
	return mem;
#else
	*err = -EOPNOTSUPP;
	return NULL;
#endif
}

void mshv_shim_vtl0_memory_remove(struct mshv_shim_vtl0_memory *mem)
{
#ifdef CONFIG_ZONE_DEVICE
	memunmap_pages(&mem->pgmap);
	release_mem_region(mem->pgmap.range.start, range_len(&mem->pgmap.range));
	kfree(mem);
#endif
}

/*
 * Whether pfns [pfn, pfn + count) are in one range of added VTL0 memory (a page map has one
 * range: its pieces are contiguous). Ranges stay added while the module is loaded, which
 * each mapping keeps it.
 */
static bool vtl0_memory(unsigned long pfn, unsigned long count)
{
#ifdef CONFIG_ZONE_DEVICE
	struct dev_pagemap *first = get_dev_pagemap(pfn);
	struct dev_pagemap *last;
	bool ours;

	if (!first)
		return false;
	last = get_dev_pagemap(pfn + count - 1);
	/* Paired with the release in mshv_shim_vtl0_memory_add(): a range added in full. */
	ours = first == last && smp_load_acquire(&first->owner) == vtl0_owner;
	if (last)
		put_dev_pagemap(last);
	put_dev_pagemap(first);
	return ours;
#else
	return false;
#endif
}

static vm_fault_t vtl_low_fault(struct vm_fault *vmf)
{
	/* The file offset is the physical address: the page offset is the pfn. */
	if (!vtl0_memory(vmf->pgoff, 1))
		return VM_FAULT_SIGBUS;
	return vmf_insert_mixed(vmf->vma, vmf->address, vmf->pgoff);
}

#ifdef CONFIG_TRANSPARENT_HUGEPAGE
/*
 * The first pfn of the piece of 1 << order pages that holds the faulting address, where the
 * mapping can take one: the address and the offset alike aligned within it, the whole piece
 * in the mapping and in one range of VTL0 memory.
 */
static bool vtl_low_piece(struct vm_fault *vmf, unsigned int order, unsigned long *pfn)
{
	unsigned long size = PAGE_SIZE << order, start = ALIGN_DOWN(vmf->address, size);

	if ((vmf->address ^ (vmf->pgoff << PAGE_SHIFT)) & (size - 1))
		return false;
	if (start < vmf->vma->vm_start || start + size > vmf->vma->vm_end)
		return false;
	*pfn = ALIGN_DOWN(vmf->pgoff, 1UL << order);
	return vtl0_memory(*pfn, 1UL << order);
}

static vm_fault_t vtl_low_huge_fault(struct vm_fault *vmf, unsigned int order)
{
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	unsigned long pfn;

	if (order == 0)
		return vtl_low_fault(vmf);
	/* A private mapping's pages are copied on write: a huge piece would be written through. */
	if (!(vmf->vma->vm_flags & VM_SHARED))
		return VM_FAULT_FALLBACK;
	if ((order != PMD_ORDER && order != PUD_ORDER) || !vtl_low_piece(vmf, order, &pfn))
		return VM_FAULT_FALLBACK;
	if (order == PMD_ORDER)
		return vmf_insert_pfn_pmd(vmf, pfn, write);
#ifdef CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD
	return vmf_insert_pfn_pud(vmf, pfn, write);
#else
	return VM_FAULT_FALLBACK;
#endif
}
#endif

static const struct vm_operations_struct vtl_low_vm_ops = {
	.fault = vtl_low_fault,
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	.huge_fault = vtl_low_huge_fault,
#endif
};

void mshv_shim_vtl_low_mmap(struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_HUGEPAGE | VM_MIXEDMAP);
	vma->vm_ops = &vtl_low_vm_ops;
}
