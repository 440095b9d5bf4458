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

#ifdef MSHV_SHIM_VTL
#include <asm/extable_fixup_types.h>
#include <asm/nospec-branch.h>
#include "vtl_context.h"

/*
 * mshv_vtl_return_trampoline: where the VTL switch's call goes, on to the hypervisor's
 * VTL-return entry (mshv_vtl_return_target, set at load), which may be anywhere: the module's
 * own mapping of the hypercall page is in the vmalloc area, beyond a direct call's reach. rax
 * is free here: the hypervisor loads VTL0's from the VP assist page.
 */
SYM_FUNC_START(mshv_vtl_return_trampoline)
	mov	mshv_vtl_return_target(%rip), %rax
	JMP_NOSPEC rax
SYM_FUNC_END(mshv_vtl_return_trampoline)

/*
 * int mshv_vtl_fxrstor(struct fxregs_state *fx)
 *
 * Loads VTL0's legacy x87/SSE state from @fx, which user space wrote: 0, or the trap number
 * when the processor refuses it (a reserved MXCSR bit is a #GP), which the exception table
 * turns into a return instead of an oops.
 */
SYM_FUNC_START(mshv_vtl_fxrstor)
	xor	%eax, %eax
1:	fxrstorq (%rdi)
2:	RET
	_ASM_EXTABLE_TYPE(1b, 2b, EX_TYPE_FAULT)
SYM_FUNC_END(mshv_vtl_fxrstor)

/* void mshv_vtl_fxsave(struct fxregs_state *fx): stores VTL0's legacy x87/SSE state. */
SYM_FUNC_START(mshv_vtl_fxsave)
	fxsaveq	(%rdi)
	RET
SYM_FUNC_END(mshv_vtl_fxsave)

/*
 * void mshv_vtl_switch(struct mshv_vtl_cpu_context *ctx)
 *
 * Runs VTL0 until its next exit to VTL2, through the hypervisor's VTL-return entry (the
 * hypercall page's VTL-return sequence, by way of mshv_vtl_return_trampoline). Called with
 * interrupts off; the caller has put VTL0's rax and rcx in the VP assist page and VTL0's FP
 * state in the registers, and takes both back after.
 *
 * The VTLs share the general-purpose registers and CR2: everything in @ctx but rax and rcx is
 * loaded into the registers themselves before the call, and what VTL0 left in them is stored
 * back into @ctx after it. The call itself preserves nothing but rsp, rip and rflags (the
 * hypervisor keeps those per VTL); rcx = 0 asks for a plain return. VTL2's callee-saved
 * registers are kept on its stack across it. CR2 is safe to load early: an NMI in between saves
 * and restores it.
 */
SYM_FUNC_START(mshv_vtl_switch)
	push	%rbp
	mov	%rsp, %rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rbx

	/* From here rax holds the context: it is the one register not VTL0's until the call. */
	mov	%rdi, %rax
	mov	MSHV_CTX_RBX(%rax), %rbx
	mov	MSHV_CTX_RBP(%rax), %rbp
	mov	MSHV_CTX_RSI(%rax), %rsi
	mov	MSHV_CTX_RDI(%rax), %rdi
	mov	MSHV_CTX_R8(%rax), %r8
	mov	MSHV_CTX_R9(%rax), %r9
	mov	MSHV_CTX_R10(%rax), %r10
	mov	MSHV_CTX_R11(%rax), %r11
	mov	MSHV_CTX_R12(%rax), %r12
	mov	MSHV_CTX_R13(%rax), %r13
	mov	MSHV_CTX_R14(%rax), %r14
	mov	MSHV_CTX_R15(%rax), %r15
	mov	MSHV_CTX_CR2(%rax), %rdx
	mov	%rdx, %cr2
	mov	MSHV_CTX_RDX(%rax), %rdx

	/* The context and VTL2's rcx, for after the call. */
	push	%rax
	push	%rcx
	xor	%ecx, %ecx
	call	mshv_vtl_return_trampoline

	/* VTL0's rax and rcx on the stack, the context back in rax, VTL2's rcx in rcx. */
	push	%rax
	push	%rcx
	mov	16(%rsp), %rcx
	mov	24(%rsp), %rax
	mov	%rdx, MSHV_CTX_RDX(%rax)
	mov	%cr2, %rdx
	mov	%rdx, MSHV_CTX_CR2(%rax)
	pop	MSHV_CTX_RCX(%rax)
	pop	MSHV_CTX_RAX(%rax)
	add	$16, %rsp
	mov	%rbx, MSHV_CTX_RBX(%rax)
	mov	%rbp, MSHV_CTX_RBP(%rax)
	mov	%rsi, MSHV_CTX_RSI(%rax)
	mov	%rdi, MSHV_CTX_RDI(%rax)
	mov	%r8, MSHV_CTX_R8(%rax)
	mov	%r9, MSHV_CTX_R9(%rax)
	mov	%r10, MSHV_CTX_R10(%rax)
	mov	%r11, MSHV_CTX_R11(%rax)
	mov	%r12, MSHV_CTX_R12(%rax)
	mov	%r13, MSHV_CTX_R13(%rax)
	mov	%r14, MSHV_CTX_R14(%rax)
	mov	%r15, MSHV_CTX_R15(%rax)

	pop	%rbx
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	RET
SYM_FUNC_END(mshv_vtl_switch)

#endif /* MSHV_SHIM_VTL */
