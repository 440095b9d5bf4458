/* SPDX-License-Identifier: GPL-2.0 */
/*
 * arm64 entry code of the driver. Everything here runs in .noinstr.text: no tracing, no
 * instrumentation, as the VTL switch will need.
 */
#include <linux/linkage.h>

.section .noinstr.text, "ax"

/*
 * u64 mshv_arch_abi_check(u64 value)
 *
 * Returns the bitwise complement of @value. Lets the driver's self-test show that this object
 * is built, linked into the module and callable from Rust with the AAPCS64 calling convention.
 */
SYM_FUNC_START(mshv_arch_abi_check)
	mvn	x0, x0
	ret
SYM_FUNC_END(mshv_arch_abi_check)
