/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The arm64 VTL switch's SMCCC functions (Documentation/mshv-rs/arm64-vtl-switch.rst): fast
 * SMC64 calls of the vendor hypervisor service. The numbers are placeholders until the owner
 * of the Hyper-V UID allocates them. hv/abi.rs states them too; the module checks both agree.
 */
#ifndef MSHV_HV_SMCCC_H
#define MSHV_HV_SMCCC_H

/* The standard queries of the vendor hypervisor service (SMC32). */
#define MSHV_SMCCC_CALL_UID		0x8600ff01
#define MSHV_SMCCC_CALL_REVISION	0x8600ff03
/* x1 = the features bitmap (MSHV_SMCCC_FEATURE_*). */
#define MSHV_SMCCC_FEATURES		0xc6000011
/* x1 = flags (0): runs VTL0; x1 back = the entry reason. */
#define MSHV_SMCCC_VTL_RETURN		0xc6000012
/* x1 = the context block's IPA, x2 = its size (0: unregister), x3 = its layout. */
#define MSHV_SMCCC_VTL_REGISTER		0xc6000013

/* MSHV_SMCCC_FEATURES: the VTL switch with a registered context block of layout 1. */
#define MSHV_SMCCC_FEATURE_VTL_RETURN	0x1
#define MSHV_SMCCC_CONTEXT_LAYOUT	1
/* Layout 1: x0-x30 at 0, a reserved word at 248, q0-q31 at 256. */
#define MSHV_SMCCC_CONTEXT_Q		256
#define MSHV_SMCCC_CONTEXT_USED		768

/* The SVE hint of SMCCC 1.3, which the hypervisor masks before decoding. */
#define MSHV_SMCCC_SVE_HINT		0x10000

/* SMCCC's return codes. */
#define MSHV_SMCCC_NOT_SUPPORTED	-1
#define MSHV_SMCCC_INVALID_PARAMETER	-3

/* The Hyper-V UID (hyperv_detect_via_smccc()), as the four result registers hold it. */
#define MSHV_SMCCC_HYPERV_UID_0		0x4d32ba58
#define MSHV_SMCCC_HYPERV_UID_1		0xcd244764
#define MSHV_SMCCC_HYPERV_UID_2		0x8eef6c75
#define MSHV_SMCCC_HYPERV_UID_3		0x16597024

#endif
