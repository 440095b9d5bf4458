/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The simulated hypervisor at EL2 on arm64 (el2.rs installs it): the SMCCC side of the VTL
 * switch, served with a real exception-level switch.
 *
 * mshv_sim_el2_start..mshv_sim_el2_end is copied into a physically contiguous, 2 KiB-aligned
 * allocation and runs from there at EL2 with the EL2 MMU off: it is position independent, and
 * it reaches memory by physical address only, as Device-nGnRnE memory (aligned accesses, no
 * exclusives, no DC ZVA). Memory that EL1 reaches through its cacheable mappings (the context
 * block, the SIMP page, the kernel stack it walks) is cleaned and invalidated to the point of
 * coherency around each access. SP_EL2 and TPIDR_EL2 hold the CPU's state (el2_arm64.h):
 * mshv_sim_el2_init sets them together with VBAR_EL2, reached through the stub's
 * HVC_SOFT_RESTART, so that the vectors are never live without them. Nothing VTL0 can reach
 * changes them (VTL2 can, with the stub's own calls, as it can under the stub).
 *
 * Besides Hyper-V's functions it answers the kernel hyp stub's own calls exactly as the stub
 * does (HVC_SET_VECTORS, HVC_SOFT_RESTART, HVC_RESET_VECTORS, which puts the stub's vectors
 * back, HVC_GET_ICH_VTR_EL2), so that kexec, hibernation and unloading keep working.
 *
 * VTL0 runs at EL1 in VTL2's translation regime (its code is the simulator's, in the module's
 * text: mshv_sim_vtl0_* below), with its own VBAR_EL1, SP_EL1, FPCR/FPSR and registers, and
 * with HCR_EL2.IMO set: an interrupt ends its run at EL2 and stays pending for VTL2.
 */
#include <linux/linkage.h>
#include <asm/assembler.h>
#include <asm/esr.h>
#include <asm/sysreg.h>
#include <asm/virt.h>

#include "el2_arm64.h"
#include "../../hv/smccc.h"

#define HCR_IMO_BIT	(1 << 4)
/* EL1h with D, A, I and F masked. */
#define VTL0_SPSR	0x3c5
/* ISR_EL1: an SError, IRQ or FIQ pending. */
#define ISR_PENDING	0x1c0
/*
 * The intercept header's second word's bits 32-63 (instruction length 4, access type
 * HV_INTERCEPT_ACCESS_EXECUTE, execution state: EL1 of VTL0), and the payload's size.
 */
#define MSG_HEADER_WORD	(4 | (2 << 8) | (1 << 16))
#define MSG_PAYLOAD	48
/* EL2_STATE: VTL2 runs; a VTL-return call is in progress; VTL0 runs. */
#define STATE_VTL2	0
#define STATE_CALL	2
#define STATE_VTL0	1

/* x4-x17, x18-x29 at [\base, #0] (\op: ldp or stp). */
.macro x4_x17 op, base
	\op	x4, x5, [\base, #0]
	\op	x6, x7, [\base, #16]
	\op	x8, x9, [\base, #32]
	\op	x10, x11, [\base, #48]
	\op	x12, x13, [\base, #64]
	\op	x14, x15, [\base, #80]
	\op	x16, x17, [\base, #96]
.endm

.macro x18_x29 op, base
	\op	x18, x19, [\base, #0]
	\op	x20, x21, [\base, #16]
	\op	x22, x23, [\base, #32]
	\op	x24, x25, [\base, #48]
	\op	x26, x27, [\base, #64]
	\op	x28, x29, [\base, #80]
.endm

/* q0-q31 at [\base, #0] (\op: ldp or stp): 512 bytes, 16-byte aligned. */
.macro q_pairs op, base
	\op	q0, q1, [\base, #0]
	\op	q2, q3, [\base, #32]
	\op	q4, q5, [\base, #64]
	\op	q6, q7, [\base, #96]
	\op	q8, q9, [\base, #128]
	\op	q10, q11, [\base, #160]
	\op	q12, q13, [\base, #192]
	\op	q14, q15, [\base, #224]
	\op	q16, q17, [\base, #256]
	\op	q18, q19, [\base, #288]
	\op	q20, q21, [\base, #320]
	\op	q22, q23, [\base, #352]
	\op	q24, q25, [\base, #384]
	\op	q26, q27, [\base, #416]
	\op	q28, q29, [\base, #448]
	\op	q30, q31, [\base, #480]
.endm

/* x\tmp = the physical address of EL2 state field \off. */
.macro state_addr tmp, off
	add	\tmp, sp, #\off
.endm

/* Adds one to counter \n; clobbers \t1, \t2. */
.macro el2_count n, t1, t2
	add	\t1, sp, #(EL2_COUNTS + 8 * \n)
	ldr	\t2, [\t1]
	add	\t2, \t2, #1
	str	\t2, [\t1]
.endm

/*
 * Cleans and invalidates [\base, \base + \size) to the point of coherency, in lines of the
 * smallest D-cache line; clobbers \t1-\t3.
 */
.macro poc_range base, size, t1, t2, t3
	dsb	sy
	mrs	\t1, ctr_el0
	ubfx	\t1, \t1, #16, #4
	mov	\t2, #4
	lsl	\t2, \t2, \t1
	sub	\t3, \t2, #1
	bic	\t1, \base, \t3
	add	\t3, \base, \size
9990:	dc	civac, \t1
	add	\t1, \t1, \t2
	cmp	\t1, \t3
	b.lo	9990b
	dsb	sy
.endm

/*
 * Puts the pending intercept message in SINT0's slot of the SIMP page if the slot is free (it
 * then stops being pending); without a SIMP page it is lost, as the hypervisor would lose it.
 * Clobbers x2-x6.
 */
.macro deliver
	ldr	x2, [sp, #EL2_SIMP]
	cbz	x2, 9994f
	mov	x3, #256
	poc_range x2, x3, x4, x5, x6
	ldr	w3, [x2]
	cbnz	w3, 9991f
	/*
	 * struct hv_arm64_intercept_message_header: the VP, a 4-byte instruction, executed, at
	 * EL1 of VTL0; VTL0's PC and PSTATE. Then the simulator's own words.
	 */
	ldr	x3, [sp, #EL2_VP_INDEX]
	mov_q	x4, MSG_HEADER_WORD
	orr	x3, x3, x4, lsl #32
	str	x3, [x2, #16]
	ldr	x3, [sp, #EL2_PEND_PC]
	ldr	x4, [sp, #EL2_PEND_CPSR]
	stp	x3, x4, [x2, #24]
	ldr	x3, [sp, #EL2_PEND_RETURNS]
	ldr	x4, [sp, #EL2_PEND_X0]
	stp	x3, x4, [x2, #40]
	str	xzr, [x2, #56]
	add	x3, x2, #64
	add	x4, x2, #256
9992:	stp	xzr, xzr, [x3], #16
	cmp	x3, x4
	b.lo	9992b
	str	xzr, [x2, #8]
	ldr	w3, [sp, #EL2_MSG_TYPE]
	mov	x4, #MSG_PAYLOAD
	orr	x3, x3, x4, lsl #32
	str	x3, [x2]
	mov	x3, #256
	poc_range x2, x3, x4, x5, x6
9994:	str	xzr, [sp, #EL2_PENDING]
9991:
.endm

/*
 * Walks VTL2's frame records from x29, translating each address with VTL2's own stage 1
 * (AT S1E1R; VTL2's PAR_EL1 is kept): how many, and whether the chain ended at the final
 * record (a frame pointer of 0) with each record 8-byte aligned (as the kernel's unwinder
 * wants it) and above the one before.
 * Clobbers x2-x7.
 */
.macro frame_walk
	mrs	x7, par_el1
	mov	x2, x29
	mov	x3, xzr
	mov	x6, xzr
9993:	cbz	x2, 9995f
	tst	x2, #0x7
	b.ne	9996f
	cmp	x3, #64
	b.hs	9996f
	at	s1e1r, x2
	isb
	mrs	x4, par_el1
	tbnz	x4, #0, 9996f
	ubfx	x4, x4, #12, #40
	lsl	x4, x4, #12
	bfxil	x4, x2, #0, #12
	dc	civac, x4
	dsb	sy
	ldr	x5, [x4]
	add	x3, x3, #1
	cbz	x5, 9995f
	cmp	x5, x2
	b.ls	9996f
	mov	x2, x5
	b	9993b
9995:	mov	x6, #1
9996:	str	x3, [sp, #EL2_FRAMES]
	str	x6, [sp, #EL2_FRAMES_OK]
	msr	par_el1, x7
.endm

/* VTL2's x4-x17 back, as the call found them; clobbers x2. */
.macro restore_vtl2_x4
	state_addr x2, EL2_VTL2_X4
	x4_x17	ldp, x2
.endm

/* Puts all of VTL2's state back (x4-x30 last) and ends the switch; clobbers x2, x3. */
.macro restore_vtl2
	ldr	x2, [sp, #EL2_HCR]
	msr	hcr_el2, x2
	ldr	x2, [sp, #EL2_VTL2_VBAR]
	msr	vbar_el1, x2
	ldr	x2, [sp, #EL2_VTL2_SP_EL1]
	msr	sp_el1, x2
	ldr	x2, [sp, #EL2_VTL2_ELR_EL1]
	msr	elr_el1, x2
	ldr	x2, [sp, #EL2_VTL2_SPSR_EL1]
	msr	spsr_el1, x2
	ldr	x2, [sp, #EL2_VTL2_ESR_EL1]
	msr	esr_el1, x2
	ldr	x2, [sp, #EL2_VTL2_FAR_EL1]
	msr	far_el1, x2
	ldr	x2, [sp, #EL2_VTL2_SP_EL0]
	msr	sp_el0, x2
	ldr	x2, [sp, #EL2_VTL2_FPCR]
	msr	fpcr, x2
	ldr	x2, [sp, #EL2_VTL2_FPSR]
	msr	fpsr, x2
	state_addr x2, EL2_VTL2_Q
	q_pairs	ldp, x2
	ldp	x2, x3, [sp, #EL2_VTL2_ELR]
	msr	elr_el2, x2
	msr	spsr_el2, x3
	isb
	restore_vtl2_x4
	state_addr x2, EL2_VTL2_X18
	x18_x29	ldp, x2
	ldr	x30, [x2, #96]
	/* Only now: a fault from here on finds nothing of VTL0's left in a register. */
	str	xzr, [sp, #EL2_STATE]
.endm

/* The vector table (assembler.h's ventry: 16 entries of 128 bytes), at the copy's start. */

	.pushsection .rodata, "a"
	.balign	2048
SYM_DATA_START(mshv_sim_el2_start)
	ventry	el2_fault		/* EL2t */
	ventry	el2_fault
	ventry	el2_fault
	ventry	el2_fault
	ventry	el2_fault		/* EL2h: a fault of this code's */
	ventry	el2_fault
	ventry	el2_fault
	ventry	el2_fault
	ventry	lower_sync		/* from EL1, AArch64 */
	ventry	lower_irq
	ventry	lower_irq		/* FIQ */
	ventry	el2_fault		/* SError: not routed here */
	ventry	el2_fault		/* AArch32 */
	ventry	el2_fault
	ventry	el2_fault
	ventry	el2_fault
	.balign	128

lower_sync:
	stp	x0, x1, [sp, #EL2_SCRATCH]
	stp	x2, x3, [sp, #EL2_SCRATCH + 16]
	ldr	x0, [sp, #EL2_STATE]
	cmp	x0, #STATE_VTL0
	b.eq	vtl0_sync
	mrs	x0, elr_el2
	mrs	x1, spsr_el2
	stp	x0, x1, [sp, #EL2_VTL2_ELR]
	mrs	x0, esr_el2
	lsr	x1, x0, #ESR_ELx_EC_SHIFT
	cmp	x1, #ESR_ELx_EC_HVC64
	b.ne	el2_fault
	ldp	x0, x1, [sp, #EL2_SCRATCH]

	/* The hyp stub's calls, answered as it answers them. */
	cmp	x0, #HVC_SET_VECTORS
	b.ne	1f
	msr	vbar_el2, x1
	b	stub_done
1:	cmp	x0, #HVC_SOFT_RESTART
	b.ne	2f
	mov	x0, x2
	mov	x2, x4
	mov	x4, x1
	mov	x1, x3
	br	x4
2:	cmp	x0, #HVC_RESET_VECTORS
	b.ne	3f
	ldr	x0, [sp, #EL2_STUB_VBAR]
	msr	vbar_el2, x0
	b	stub_done
3:	cmp	x0, #HVC_GET_ICH_VTR_EL2
	b.ne	4f
	mrs_s	x1, SYS_ICH_VTR_EL2
	b	stub_done

	/* SMCCC: the SVE hint is masked before decoding. */
4:	bic	x0, x0, #MSHV_SMCCC_SVE_HINT
	mov_q	x2, MSHV_SMCCC_VTL_RETURN
	cmp	x0, x2
	b.eq	vtl_return
	mov_q	x2, MSHV_SMCCC_CALL_UID
	cmp	x0, x2
	b.eq	call_uid
	mov_q	x2, MSHV_SMCCC_CALL_REVISION
	cmp	x0, x2
	b.eq	call_revision
	mov_q	x2, MSHV_SMCCC_FEATURES
	cmp	x0, x2
	b.eq	features
	mov_q	x2, MSHV_SMCCC_VTL_REGISTER
	cmp	x0, x2
	b.eq	vtl_register
	/* Another SMCCC function (bit 31 set): not supported; anything else: as the stub. */
	tbnz	x0, #31, not_supported
	mov_q	x0, HVC_STUB_ERR
	b	stub_restore

stub_done:
	mov	x0, xzr
stub_restore:
	ldp	x2, x3, [sp, #EL2_SCRATCH + 16]
	eret

not_supported:
	mov	x0, #MSHV_SMCCC_NOT_SUPPORTED
	eret

invalid_parameter:
	el2_count EL2_N_REFUSED, x2, x3
	mov	x0, #MSHV_SMCCC_INVALID_PARAMETER
	eret

call_uid:
	mov_q	x0, MSHV_SMCCC_HYPERV_UID_0
	mov_q	x1, MSHV_SMCCC_HYPERV_UID_1
	mov_q	x2, MSHV_SMCCC_HYPERV_UID_2
	mov_q	x3, MSHV_SMCCC_HYPERV_UID_3
	eret

call_revision:
	mov	x0, #1
	mov	x1, xzr
	eret

features:
	ldr	x1, [sp, #EL2_FEATURES]
	mov	x0, xzr
	eret

	/* x1 = the block (16-byte aligned, within a page), x2 = its size (0: none), x3 = 1. */
vtl_register:
	ldp	x2, x3, [sp, #EL2_SCRATCH + 16]
	/* Unregistering always works, whatever the features say now. */
	cbz	x2, 1f
	ldr	x0, [sp, #EL2_FEATURES]
	tbz	x0, #0, not_supported
	cmp	x3, #MSHV_SMCCC_CONTEXT_LAYOUT
	b.ne	invalid_parameter
	cbz	x1, invalid_parameter
	tst	x1, #0xf
	b.ne	invalid_parameter
	cmp	x2, #MSHV_SMCCC_CONTEXT_USED
	b.lo	invalid_parameter
	and	x0, x1, #0xfff
	add	x0, x0, x2
	cmp	x0, #0x1000
	b.hi	invalid_parameter
	str	x1, [sp, #EL2_BLOCK]
	str	x2, [sp, #EL2_BLOCK_SIZE]
	el2_count EL2_N_REGISTERS, x2, x3
	mov	x0, xzr
	eret
1:	str	xzr, [sp, #EL2_BLOCK]
	str	xzr, [sp, #EL2_BLOCK_SIZE]
	mov	x0, xzr
	eret

	/*
	 * x1 = flags. SMCCC has the callee keep x4-x17 (the results are x0 and x1; x2 and x3 come
	 * back unknown): they are saved first and put back on every way out (call_done, or
	 * restore_vtl2 after a switch).
	 */
vtl_return:
	state_addr x2, EL2_VTL2_X4
	x4_x17	stp, x2
	mrs	x2, par_el1
	str	x2, [sp, #EL2_VTL2_PAR]
	mov	x2, #STATE_CALL
	str	x2, [sp, #EL2_STATE]
	el2_count EL2_N_CALLS, x2, x3
	frame_walk
	mov	x0, #MSHV_SMCCC_NOT_SUPPORTED
	ldr	x2, [sp, #EL2_FEATURES]
	tbz	x2, #0, refused
	mov	x0, #MSHV_SMCCC_INVALID_PARAMETER
	cbnz	x1, refused
	/* The block, read once: what EL1 changes meanwhile is for the next call. */
	ldr	x2, [sp, #EL2_BLOCK]
	ldr	x3, [sp, #EL2_BLOCK_SIZE]
	cbz	x2, refused
	cmp	x3, #MSHV_SMCCC_CONTEXT_USED
	b.lo	refused
	str	x2, [sp, #EL2_RUN_BLOCK]
	str	x3, [sp, #EL2_RUN_SIZE]
	ldr	x0, [sp, #EL2_ANSWER]
	cbnz	x0, refused
	/* An intercept that SINT0's slot could not take: now, if it can, and VTL0 stays out. */
	ldr	x2, [sp, #EL2_PENDING]
	cbz	x2, 2f
	deliver
	b	at_once
	/* An interrupt pending for VTL2, however VTL2 masks it: VTL0 is not entered. */
2:	mrs	x2, isr_el1
	tst	x2, #ISR_PENDING
	b.ne	at_once
	b	switch

at_once:
	el2_count EL2_N_AT_ONCE, x2, x3
	mov	x0, xzr
	mov	x1, #VTL_ENTRY_INTERRUPT
	b	call_done
refused:
	el2_count EL2_N_REFUSED, x2, x3
	/* x0 (and x1): the answer to a VTL-return call that made no switch. */
call_done:
	restore_vtl2_x4
	str	xzr, [sp, #EL2_STATE]
	eret

switch:
	/* VTL2's state, which nothing below may change until it is restored. */
	state_addr x2, EL2_VTL2_X18
	x18_x29	stp, x2
	str	x30, [x2, #96]
	mrs	x3, sp_el1
	str	x3, [sp, #EL2_VTL2_SP_EL1]
	mrs	x3, vbar_el1
	str	x3, [sp, #EL2_VTL2_VBAR]
	mrs	x3, elr_el1
	str	x3, [sp, #EL2_VTL2_ELR_EL1]
	mrs	x3, spsr_el1
	str	x3, [sp, #EL2_VTL2_SPSR_EL1]
	mrs	x3, esr_el1
	str	x3, [sp, #EL2_VTL2_ESR_EL1]
	mrs	x3, far_el1
	str	x3, [sp, #EL2_VTL2_FAR_EL1]
	mrs	x3, sp_el0
	str	x3, [sp, #EL2_VTL2_SP_EL0]
	mrs	x3, fpcr
	str	x3, [sp, #EL2_VTL2_FPCR]
	mrs	x3, fpsr
	str	x3, [sp, #EL2_VTL2_FPSR]
	state_addr x2, EL2_VTL2_Q
	q_pairs	stp, x2
	mrs	x3, hcr_el2
	str	x3, [sp, #EL2_HCR]
	mov	x3, #STATE_VTL0
	str	x3, [sp, #EL2_STATE]

	/* VTL0's state: its copy of the block, read once. */
	el2_count EL2_N_ENTERED, x2, x3
	ldr	x2, [sp, #EL2_RUN_BLOCK]
	ldr	x3, [sp, #EL2_RUN_SIZE]
	poc_range x2, x3, x4, x5, x6
	ldr	x3, [sp, #EL2_VTL0_FPCR]
	ldr	x4, [sp, #EL2_VTL0_FPSR]
	msr	fpcr, x3
	msr	fpsr, x4
	add	x3, x2, #MSHV_SMCCC_CONTEXT_Q
	q_pairs	ldp, x3
	ldr	x3, [sp, #EL2_VTL0_VBAR]
	msr	vbar_el1, x3
	ldr	x3, [sp, #EL2_VTL0_SP]
	msr	sp_el1, x3
	/* Where an interrupt stopped VTL0, else its program from the start. */
	ldr	x3, [sp, #EL2_VTL0_PC]
	ldr	x4, [sp, #EL2_VTL0_SPSR]
	/* Z, kept until the end: the program starts (nothing below sets the flags). */
	cmp	x3, #0
	b.ne	1f
	ldr	x3, [sp, #EL2_PROGRAM]
	mov	x4, #VTL0_SPSR
1:	msr	elr_el2, x3
	msr	spsr_el2, x4
	mrs	x3, hcr_el2
	orr	x3, x3, #HCR_IMO_BIT
	msr	hcr_el2, x3
	isb
	ldr	x30, [x2, #240]
	ldp	x28, x29, [x2, #224]
	ldp	x26, x27, [x2, #208]
	ldp	x24, x25, [x2, #192]
	ldp	x22, x23, [x2, #176]
	ldp	x20, x21, [x2, #160]
	ldp	x18, x19, [x2, #144]
	ldp	x16, x17, [x2, #128]
	ldp	x14, x15, [x2, #112]
	ldp	x12, x13, [x2, #96]
	ldp	x10, x11, [x2, #80]
	ldp	x8, x9, [x2, #64]
	ldp	x6, x7, [x2, #48]
	ldp	x4, x5, [x2, #32]
	ldr	x3, [x2, #24]
	ldp	x0, x1, [x2, #0]
	/* x0 as the program got it, from this one read of the block, for the intercept. */
	b.ne	9f
	str	x0, [sp, #EL2_ENTRY_X0]
9:	ldr	x2, [x2, #16]
	eret

	/* From VTL0 (x0-x3 in the scratch words): its hvc ends its run, the immediate says how. */
vtl0_sync:
	mrs	x0, esr_el2
	lsr	x1, x0, #ESR_ELx_EC_SHIFT
	cmp	x1, #ESR_ELx_EC_HVC64
	b.ne	el2_fault
	and	x1, x0, #0xffff
	b	vtl0_exit

lower_irq:
	stp	x0, x1, [sp, #EL2_SCRATCH]
	stp	x2, x3, [sp, #EL2_SCRATCH + 16]
	ldr	x0, [sp, #EL2_STATE]
	cmp	x0, #STATE_VTL0
	b.ne	el2_fault
	mov	x1, #VTL0_EXIT_IRQ

	/* x1 = how VTL0's run ended; every register but x0-x3 is still VTL0's. */
vtl0_exit:
	str	x1, [sp, #EL2_EXIT]
	/* An interrupt stopped VTL0 where it was; its hvc ended its program. */
	mov	x2, xzr
	mov	x3, xzr
	cmp	x1, #VTL0_EXIT_IRQ
	b.ne	1f
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
1:	str	x2, [sp, #EL2_VTL0_PC]
	str	x3, [sp, #EL2_VTL0_SPSR]
	ldr	x0, [sp, #EL2_RUN_BLOCK]
	stp	x4, x5, [x0, #32]
	stp	x6, x7, [x0, #48]
	stp	x8, x9, [x0, #64]
	stp	x10, x11, [x0, #80]
	stp	x12, x13, [x0, #96]
	stp	x14, x15, [x0, #112]
	stp	x16, x17, [x0, #128]
	stp	x18, x19, [x0, #144]
	stp	x20, x21, [x0, #160]
	stp	x22, x23, [x0, #176]
	stp	x24, x25, [x0, #192]
	stp	x26, x27, [x0, #208]
	stp	x28, x29, [x0, #224]
	str	x30, [x0, #240]
	ldp	x2, x3, [sp, #EL2_SCRATCH]
	stp	x2, x3, [x0, #0]
	ldp	x2, x3, [sp, #EL2_SCRATCH + 16]
	stp	x2, x3, [x0, #16]
	add	x2, x0, #MSHV_SMCCC_CONTEXT_Q
	q_pairs	stp, x2
	mrs	x2, fpcr
	mrs	x3, fpsr
	str	x2, [sp, #EL2_VTL0_FPCR]
	str	x3, [sp, #EL2_VTL0_FPSR]
	ldr	x1, [sp, #EL2_RUN_SIZE]
	poc_range x0, x1, x2, x3, x4

	/* The entry reason (in x7), and an intercept's message, while x0-x17 are still free. */
	ldr	x0, [sp, #EL2_EXIT]
	cmp	x0, #VTL0_EXIT_IRQ
	b.eq	3f
	el2_count EL2_N_HVC_EXITS, x2, x3
	cmp	x0, #VTL0_EXIT_INTERCEPT
	b.eq	1f
	cmp	x0, #VTL0_EXIT_REASON
	b.eq	2f
	mov	x7, #VTL_ENTRY_UNKNOWN
	b	4f
	/* An intercept: a message on SINT0, whose interrupt ends the run (no intercept page). */
1:	ldr	x2, [sp, #EL2_COUNTS + 8 * EL2_N_ENTERED]
	ldr	x3, [sp, #EL2_ENTRY_X0]
	str	x2, [sp, #EL2_PEND_RETURNS]
	str	x3, [sp, #EL2_PEND_X0]
	/* The hvc's own address (ELR_EL2 is the next instruction's) and VTL0's PSTATE. */
	mrs	x2, elr_el2
	sub	x2, x2, #4
	mrs	x3, spsr_el2
	str	x2, [sp, #EL2_PEND_PC]
	str	x3, [sp, #EL2_PEND_CPSR]
	mov	x2, #1
	str	x2, [sp, #EL2_PENDING]
	deliver
	mov	x7, #VTL_ENTRY_INTERRUPT
	b	4f
2:	ldr	x7, [sp, #EL2_REASON_ARG]
	b	4f
3:	el2_count EL2_N_IRQ_EXITS, x2, x3
	mov	x7, #VTL_ENTRY_INTERRUPT
4:	mov	x0, xzr
	mov	x1, x7
	/* VTL2's state back, its x4-x30 last: from here on only x0-x3 are used. */
	restore_vtl2
	eret

	/*
	 * An exception this code took, or one it does not expect: recorded, and VTL2's call
	 * answered HVC_STUB_ERR with VTL2's state back, so that the fault is reported, not hung.
	 */
el2_fault:
	mrs	x0, esr_el2
	mrs	x1, elr_el2
	str	x0, [sp, #EL2_FAULT_ESR]
	str	x1, [sp, #EL2_FAULT_ELR]
	mrs	x0, far_el2
	str	x0, [sp, #EL2_FAULT_FAR]
	el2_count EL2_N_FAULTS, x0, x1
	ldr	x0, [sp, #EL2_STATE]
	cmp	x0, #STATE_VTL0
	b.ne	1f
	/* In a switch: all of VTL2 back. */
	restore_vtl2
	b	3f
1:	ldp	x0, x1, [sp, #EL2_VTL2_ELR]
	msr	elr_el2, x0
	msr	spsr_el2, x1
	ldr	x0, [sp, #EL2_STATE]
	cbz	x0, 3f
	/* In a VTL-return call that made no switch: x4-x17 and PAR_EL1 back. */
	ldr	x0, [sp, #EL2_VTL2_PAR]
	msr	par_el1, x0
	restore_vtl2_x4
	str	xzr, [sp, #EL2_STATE]
	/* No SMCCC answer: the caller's -EIO. */
3:	mov_q	x0, HVC_STUB_ERR
	eret

	/* Reached through the stub's HVC_SOFT_RESTART at install: the stub's vectors. */
SYM_INNER_LABEL(mshv_sim_el2_read_vbar, SYM_L_GLOBAL)
	mrs	x0, vbar_el2
	eret

	/*
	 * Reached through HVC_SOFT_RESTART (the stub's, or this code's, which does the same) with
	 * x0 = this CPU's state, x1 = these vectors: both set at once.
	 */
SYM_INNER_LABEL(mshv_sim_el2_init, SYM_L_GLOBAL)
	msr	tpidr_el2, x0
	mov	sp, x0
	msr	vbar_el2, x1
	isb
	mov	x0, xzr
	eret
SYM_INNER_LABEL(mshv_sim_el2_end, SYM_L_GLOBAL)
SYM_DATA_END(mshv_sim_el2_start)
	.popsection

/*
 * VTL0's code, at EL1 (the module's text). Its vectors end the run as an exception; the
 * programs are the debugfs file vtl0's (vtl0.rs).
 */
	.pushsection .text, "ax"
	.balign	2048
SYM_CODE_START(mshv_sim_vtl0_vectors)
	.rept	16
	.balign	128
	hvc	#VTL0_EXIT_EXCEPTION
	.endr
SYM_CODE_END(mshv_sim_vtl0_vectors)

/* Computes on every register (x[n] += n + 1, q[n] = ~q[n]), then intercepts. */
SYM_CODE_START(mshv_sim_vtl0_intercept)
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	add	x\n, x\n, #(\n + 1)
	.endr
	.irp	n, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30
	add	x\n, x\n, #(\n + 1)
	.endr
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	not	v\n\().16b, v\n\().16b
	.endr
	.irp	n, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	not	v\n\().16b, v\n\().16b
	.endr
1:	hvc	#VTL0_EXIT_INTERCEPT
	b	1b
SYM_CODE_END(mshv_sim_vtl0_intercept)

/* Runs until an interrupt ends the run. */
SYM_CODE_START(mshv_sim_vtl0_spin)
1:	b	1b
SYM_CODE_END(mshv_sim_vtl0_spin)

/* Exits at once with the entry reason the file gives. */
SYM_CODE_START(mshv_sim_vtl0_reason)
1:	hvc	#VTL0_EXIT_REASON
	b	1b
SYM_CODE_END(mshv_sim_vtl0_reason)

/*
 * struct { u64 x0, x1; } mshv_sim_el2_call(u64 x0, u64 x1, u64 x2, u64 x3): an HVC #0 of
 * the simulator's own (installing, the stub's calls); x0-x17 are the callee's, as SMCCC's.
 */
SYM_FUNC_START(mshv_sim_el2_call)
	hvc	#0
	ret
SYM_FUNC_END(mshv_sim_el2_call)
	.popsection
