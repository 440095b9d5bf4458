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

#ifdef MSHV_SHIM_VTL
/*
 * struct mshv_smccc_ret mshv_vtl_smccc_call(u64 fid, u64 a1, u64 a2, u64 a3)
 *
 * One SMCCC call by HVC #0: the function and its arguments in x0-x3, x0 and x1 back as the
 * result (AAPCS64 returns a 16-byte struct in x0:x1). The VTL switch itself (fid
 * MSHV_SMCCC_VTL_RETURN) is one such call: the hypervisor saves, switches and restores every
 * piece of state, so nothing here touches another register, the stack or a SIMD register.
 * The results are x0 and x1, x2 and x3 come back unknown, and SMCCC has the callee keep
 * x4-x17; being an AAPCS64 function, the stub lets its callers assume x0-x17 changed either
 * way. x18-x30, SP and PSTATE come back as they were, which keeps x29's frame record chain
 * valid throughout.
 */
SYM_FUNC_START(mshv_vtl_smccc_call)
	hvc	#0
	ret
SYM_FUNC_END(mshv_vtl_smccc_call)
#endif /* MSHV_SHIM_VTL */
