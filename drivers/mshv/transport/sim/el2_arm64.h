/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The simulated hypervisor's EL2 on arm64 (el2_arm64.S, el2.rs): the layout of its per-CPU
 * state, its own calls and VTL0's exits. el2.rs states the same offsets and asserts them.
 */
#ifndef MSHV_SIM_EL2_ARM64_H
#define MSHV_SIM_EL2_ARM64_H

/* Per-CPU state, 2 KiB each: EL2 reaches it by physical address (SP_EL2, TPIDR_EL2). */
#define EL2_SCRATCH		0x000	/* x0-x3 at an exception's entry */
#define EL2_VTL2_X18		0x020	/* VTL2's x18-x30 during a VTL0 run */
#define EL2_VTL2_SP_EL1		0x088
#define EL2_VTL2_ELR		0x090	/* ELR_EL2 and SPSR_EL2 of VTL2's call */
#define EL2_VTL2_SPSR		0x098
#define EL2_VTL2_VBAR		0x0a0
#define EL2_VTL2_ELR_EL1	0x0a8
#define EL2_VTL2_SPSR_EL1	0x0b0
#define EL2_VTL2_ESR_EL1	0x0b8
#define EL2_VTL2_FAR_EL1	0x0c0
#define EL2_VTL2_FPCR		0x0c8
#define EL2_VTL2_FPSR		0x0d0
#define EL2_VTL2_SP_EL0		0x0d8
#define EL2_VTL2_Q		0x0e0	/* q0-q31, 512 bytes */
#define EL2_BLOCK		0x2e0	/* VTL0's context block (PA), 0: none registered */
#define EL2_BLOCK_SIZE		0x2e8
#define EL2_STATE		0x2f0	/* 0: VTL2 runs; 2: in a VTL-return call; 1: VTL0 runs */
#define EL2_PROGRAM		0x2f8	/* VTL0's code (EL1 VA) */
#define EL2_VTL0_VBAR		0x300
#define EL2_VTL0_SP		0x308
#define EL2_VTL0_FPCR		0x310
#define EL2_VTL0_FPSR		0x318
#define EL2_ANSWER		0x320	/* x0 every VTL-return call answers (no switch); 0: none */
#define EL2_REASON_ARG		0x328	/* the entry reason of VTL0's EXIT_REASON */
#define EL2_SIMP		0x330	/* SINT0's message slot (PA); 0: no SIMP page */
#define EL2_MSG_TYPE		0x338	/* the intercept message's type */
#define EL2_PENDING		0x340	/* 1: an intercept message SINT0's slot did not take yet */
#define EL2_PEND_RETURNS	0x348	/* its words after the header: VTL0 entries so far, */
#define EL2_PEND_X0		0x350	/* and x0 as VTL0 got it */
#define EL2_HCR			0x358	/* HCR_EL2 while VTL2 runs */
#define EL2_COUNTS		0x360	/* counters, 8 bytes each (EL2_N_*) */
#define EL2_FAULT_ESR		0x3a0	/* the last fault taken at EL2 */
#define EL2_FAULT_ELR		0x3a8
#define EL2_FAULT_FAR		0x3b0
#define EL2_FRAMES		0x3b8	/* frame records walked from VTL2's x29 at the last call */
#define EL2_FRAMES_OK		0x3c0	/* 1: the walk ended at the final record */
#define EL2_STUB_VBAR		0x3c8	/* the kernel hyp stub's vectors (PA) */
#define EL2_FEATURES		0x3d0	/* what the features call answers */
#define EL2_EXIT		0x3d8	/* how VTL0's last run ended (VTL0_EXIT_*) */
#define EL2_ENTRY_X0		0x3e0	/* x0 as VTL0's program got it, at its start */
#define EL2_VTL0_PC		0x3e8	/* where an interrupt stopped VTL0; 0: at its program */
#define EL2_VTL0_SPSR		0x3f0	/* and its PSTATE */
#define EL2_VTL2_X4		0x400	/* VTL2's x4-x17 during a VTL-return call */
#define EL2_RUN_BLOCK		0x470	/* the block (and its size) this call uses, read once */
#define EL2_RUN_SIZE		0x478
#define EL2_VTL2_PAR		0x480	/* VTL2's PAR_EL1, which the frame walk uses */
#define EL2_PEND_PC		0x488	/* the pending intercept's header: VTL0's PC and PSTATE */
#define EL2_PEND_CPSR		0x490
#define EL2_VP_INDEX		0x498	/* this CPU's VP index */
#define EL2_CPU_SIZE		0x800

/* The counters. */
#define EL2_N_CALLS		0	/* VTL-return calls */
#define EL2_N_ENTERED		1	/* VTL0 entered */
#define EL2_N_AT_ONCE		2	/* VTL2's interrupt pending at the call: not entered */
#define EL2_N_IRQ_EXITS		3	/* VTL0 run ended by an interrupt */
#define EL2_N_HVC_EXITS		4	/* VTL0 run ended by VTL0's hvc */
#define EL2_N_REFUSED		5	/* calls answered with an error */
#define EL2_N_FAULTS		6	/* exceptions taken at EL2 itself */
#define EL2_N_REGISTERS		7	/* context block registrations */
#define EL2_N_COUNTS		8

/* How a VTL0 run ends: VTL0's hvc immediate, or an interrupt. */
#define VTL0_EXIT_INTERCEPT	1
#define VTL0_EXIT_REASON	2
#define VTL0_EXIT_EXCEPTION	3
#define VTL0_EXIT_IRQ		0x100

/* The entry reasons (TLFS), and what the simulator answers for a VTL0 exception. */
#define VTL_ENTRY_INTERRUPT	2
#define VTL_ENTRY_UNKNOWN	0xff

#ifndef __ASSEMBLY__
/*
 * el2_glue.c, for el2.rs: whether the kernel hyp stub owns EL2 to lend; a physically contiguous
 * copy of the EL2 code, cleaned to the point of coherency (its PA, 0 on failure); zeroed state
 * mapped non-cacheable (the mapping, its PA in *pa); the CPU PM notifier; the layout facts.
 */
struct mshv_shim_fact;
bool mshv_sim_el2_possible(void);
u64 mshv_sim_el2_code_alloc(const void *code, size_t len, void **handle);
void mshv_sim_el2_code_free(void *handle, size_t len);
void *mshv_sim_el2_state_alloc(size_t len, u64 *pa, void **handle);
void mshv_sim_el2_state_free(void *va, void *handle, size_t len);
int mshv_sim_el2_pm_register(void (*resumed)(void));
void mshv_sim_el2_pm_unregister(void);
const struct mshv_shim_fact *mshv_sim_el2_facts(size_t *len);
#endif

#endif
