// SPDX-License-Identifier: GPL-2.0
/*
 * C side of the driver: what the kernel offers only as macros or static inline functions,
 * behind small functions with plain C types that the Rust crate declares in ffi.rs.
 */

#include <linux/kernel.h>
#include <linux/stddef.h>
#include <linux/types.h>
#include <uapi/linux/mshv.h>
#include <asm/mshyperv.h>

#include "shim.h"

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

/*
 * The uapi header's facts, computed by the compiler from the header this module is built
 * against. Names must match the Rust side's (uapi.rs), which compares the two tables.
 */
#define FACT_SIZE(s)		{ "sizeof:" #s, sizeof(struct s) }
#define FACT_OFF(s, f)		{ "offsetof:" #s "." #f, offsetof(struct s, f) }
#define FACT_IOCTL(c)		{ "ioctl:" #c, c }

#ifdef __x86_64__
#define FACT_V2_LAST FACT_OFF(mshv_create_partition_v2, pt_disabled_xsave)
#else
/* The same field, reserved on arm64; the Rust side names it as on x86_64. */
#define FACT_V2_LAST { "offsetof:mshv_create_partition_v2.pt_disabled_xsave", \
		       offsetof(struct mshv_create_partition_v2, pt_rsvd2) }
#endif

static const struct mshv_shim_uapi_fact uapi_facts[] = {
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
};

const struct mshv_shim_uapi_fact *mshv_shim_uapi_facts(size_t *len)
{
	*len = ARRAY_SIZE(uapi_facts);
	return uapi_facts;
}
