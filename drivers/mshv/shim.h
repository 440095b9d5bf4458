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

/* One size, offset or ioctl number of include/uapi/linux/mshv.h, for the driver's self-test. */
struct mshv_shim_uapi_fact {
	const char *name;
	u64 value;
};

const struct mshv_shim_uapi_fact *mshv_shim_uapi_facts(size_t *len);

/* arch/<arch>/entry.S */
u64 mshv_arch_abi_check(u64 value);

#endif /* MSHV_RS_SHIM_H */
