/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The simulated hypervisor's VTL-return entry on x86_64: what the driver's VTL switch calls
 * where a real hypervisor's hypercall page has its VTL-return sequence.
 */
#include <linux/linkage.h>
#include <asm/asm.h>

.section .noinstr.text, "ax"

/*
 * mshv_sim_vtl_return: entered by a call with interrupts off, rcx = 0 (a plain return), every
 * general-purpose register but rax and rcx holding VTL0's values; the return address, rsp and
 * rflags are VTL2's.
 *
 * As the hypervisor does, it keeps VTL2's rsp, rip and rflags (here: on VTL2's stack), puts
 * every general-purpose register in VTL0's register file (a frame on the stack, struct
 * Vtl0Frame in vtl0.rs: rax first, then rcx, rbp, rdi, rsi, rdx, rbx, r8-r15), and runs VTL0
 * (mshv_sim_vtl0_run, which also loads VTL0's rax and rcx from the VP assist page and records
 * the entry reason there). It returns to VTL2 with every general-purpose register holding what
 * VTL0 left in it: none of VTL2's survive, as none do the real switch.
 */
SYM_FUNC_START(mshv_sim_vtl_return)
	pushf
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%r11
	push	%r10
	push	%r9
	push	%r8
	push	%rbx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%rcx
	push	%rax
	/* The kernel keeps the stack 8-byte aligned (-mpreferred-stack-boundary=3): as it is. */
	mov	%rsp, %rdi
	call	mshv_sim_vtl0_run
	pop	%rax
	pop	%rcx
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rbx
	pop	%r8
	pop	%r9
	pop	%r10
	pop	%r11
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	popf
	RET
SYM_FUNC_END(mshv_sim_vtl_return)
