/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86_64 entry code of the driver. Everything here runs in .noinstr.text: no tracing, no
 * instrumentation, as the VTL switch will need.
 */
#include <linux/linkage.h>
#include <asm/asm.h>

.section .noinstr.text, "ax"

/*
 * u64 mshv_arch_abi_check(u64 value)
 *
 * Returns the bitwise complement of @value. Lets the driver's self-test show that this object
 * is built, linked into the module and callable from Rust with the C calling convention.
 */
SYM_FUNC_START(mshv_arch_abi_check)
	mov	%rdi, %rax
	not	%rax
	RET
SYM_FUNC_END(mshv_arch_abi_check)
