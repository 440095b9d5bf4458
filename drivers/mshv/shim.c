// SPDX-License-Identifier: GPL-2.0
/*
 * C side of the driver: what the kernel offers only as macros or static inline functions,
 * behind small functions with plain C types that the Rust crate declares in ffi.rs.
 */

#include <linux/types.h>
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
