/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Byte offsets in struct mshv_vtl_cpu_context (arch/x86/include/asm/mshyperv.h), the VTL0
 * register block of a run page, for the VTL switch in entry.S. The shim checks each against the
 * struct at build time.
 */
#ifndef MSHV_RS_X86_VTL_CONTEXT_H
#define MSHV_RS_X86_VTL_CONTEXT_H

#define MSHV_CTX_RAX	0
#define MSHV_CTX_RCX	8
#define MSHV_CTX_RDX	16
#define MSHV_CTX_RBX	24
#define MSHV_CTX_CR2	32
#define MSHV_CTX_RBP	40
#define MSHV_CTX_RSI	48
#define MSHV_CTX_RDI	56
#define MSHV_CTX_R8	64
#define MSHV_CTX_R9	72
#define MSHV_CTX_R10	80
#define MSHV_CTX_R11	88
#define MSHV_CTX_R12	96
#define MSHV_CTX_R13	104
#define MSHV_CTX_R14	112
#define MSHV_CTX_R15	120
#define MSHV_CTX_FX	128

#endif
