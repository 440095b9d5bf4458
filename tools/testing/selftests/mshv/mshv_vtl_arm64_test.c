// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 VTL switch over SMCCC (Documentation/mshv-rs/arm64-vtl-switch.rst), against the
 * simulated hypervisor's EL2: MSHV_RETURN_TO_LOWER_VTL makes a real HVC #0, taken at EL2,
 * which runs VTL0's code at EL1 and comes back at VTL0's exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/mshv.h>
#ifdef __aarch64__
#include <asm/hwcap.h>
#else
#define HWCAP2_SME 0
#endif

#include "kselftest_harness.h"
#include "mshv_sim.h"
#include "mshv_vtl.h"

/* This driver's capability (no upstream header has it). */
#define MSHV_CAP_SMCCC_VTL_SWITCH	16
/* The message the simulator's VTL0 intercept leaves on SINT0. */
#define HVMSG_HYPERCALL_INTERCEPT	0x80000050
/* SMCCC's answers, as the simulated EL2 can be made to give them. */
#define SMCCC_NOT_SUPPORTED		"0xffffffffffffffff"
#define SMCCC_INVALID_PARAMETER		"0xfffffffffffffffd"
#define HVC_STUB_ERR			"0xbadca11"
/* The simulator's VTL0 programs (vtl0.rs) and the TLFS's entry reasons. */
#define PROGRAM_INTERCEPT		0
#define PROGRAM_SPIN			2
#define PROGRAM_REASON			3
#define VTL_ENTRY_INTERRUPT		2
#define VTL_ENTRY_INTERCEPT		3

/*
 * The message's payload (at 16): struct hv_arm64_intercept_message_header, then the
 * simulator's own words.
 */
#define MSG_VP_INDEX			16
#define MSG_INSTRUCTION_LENGTH		20
#define MSG_ACCESS_TYPE			21
#define MSG_EXECUTION_STATE		22
#define MSG_PC				24
#define MSG_CPSR			32
#define MSG_RETURNS			40
#define MSG_X0				48

/* The run page, with layout 1 of the arm64 context block. */
struct vtl_run {
	__u32 cancel;
	__u32 vtl_ret_action_size;
	__u32 pad[2];
	__u8 exit_message[256];
	union {
		struct {
			__u64 x[31];
			__u64 reserved;
			__u64 q[32][2];
		} ctx;
		__u8 context[1024];
	};
	__u8 vtl_ret_actions[256];
};

static long el2(int cpu, const char *word)
{
	return sim_cpu_count("el2", cpu, word);
}

static int el2_steer(const char *line)
{
	return sim_write("el2", line);
}

FIXTURE(el2) {
	int mshv;
	int vtl;
	struct vtl_run *run;
	int cpu;
};

FIXTURE_SETUP(el2)
{
	char buf[64];

	self->mshv = -1;
	self->vtl = -1;
	self->run = MAP_FAILED;
	self->cpu = 0;
#ifndef __aarch64__
	SKIP(return, "the SMCCC VTL switch is arm64's");
#endif
	if (!vtl_personality())
		SKIP(return, "mshv_vtl is not loaded (no /dev/mshv_hvcall)");
	if (access(SIM_DIR "el2", R_OK))
		SKIP(return, "needs the simulated hypervisor (its EL2 is known)");
	/* First: the simulator owns EL2 (else an HVC #0 would reach the kernel's hyp stub). */
	ASSERT_TRUE(sim_read("el2", buf, sizeof(buf)));
	ASSERT_EQ(0, strncmp(buf, "installed 1", 11)) TH_LOG("el2: %s", buf);
	self->vtl = open_vtl(&self->mshv);
	ASSERT_LE(0, self->vtl);
	ASSERT_EQ(0, pin(self->cpu));
	self->run = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->vtl,
			 self->cpu * 4096);
	ASSERT_NE(MAP_FAILED, self->run);
	ASSERT_EQ(0, sim_vtl0_program("all", PROGRAM_INTERCEPT, 0));
	ASSERT_EQ(0, el2_steer("answer 0"));
	self->run->cancel = 0;
}

FIXTURE_TEARDOWN(el2)
{
	if (self->run != MAP_FAILED)
		munmap(self->run, 4096);
	close_vtl(self->mshv, self->vtl);
	sim_vtl0_program("all", PROGRAM_INTERCEPT, 0);
	el2_steer("answer 0");
	el2_steer("features 1");
}

TEST_F(el2, the_switch_is_there_and_says_so)
{
	__u32 cap = MSHV_CAP_SMCCC_VTL_SWITCH;

	EXPECT_EQ(1, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
	/* Each online CPU has the simulator's EL2 and registered its block at online. */
	for (int cpu = 0; cpu < sysconf(_SC_NPROCESSORS_ONLN); cpu++) {
		EXPECT_LE(1, el2(cpu, "registers "));
		EXPECT_NE(0, el2(cpu, "block "));
		EXPECT_EQ(0, el2(cpu, "faults "));
	}
}

static void q_fill(__u64 q[2], int n, __u64 seed)
{
	q[0] = seed * 0x0101010101010101ULL + n;
	q[1] = ~q[0] ^ ((__u64)n << 32);
}

TEST_F(el2, an_intercept_comes_back_with_vtl0s_registers)
{
	struct vtl_run *run = self->run;
	long entered = el2(self->cpu, "entered "), exits = el2(self->cpu, "hvc_exits ");
	__u64 got, pc, q[2];
	__u32 type;
	int n;

	for (n = 0; n < 31; n++)
		run->ctx.x[n] = 0x1000000000ULL * (n + 1) + n;
	for (n = 0; n < 32; n++)
		q_fill(run->ctx.q[n], n, 0x5a);
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	/* VTL0 computed x[n] += n + 1 and q[n] = ~q[n]: on the values it was given. */
	for (n = 0; n < 31; n++)
		EXPECT_EQ(0x1000000000ULL * (n + 1) + n + n + 1, run->ctx.x[n]) TH_LOG("x%d", n);
	for (n = 0; n < 32; n++) {
		q_fill(q, n, 0x5a);
		EXPECT_EQ(~q[0], run->ctx.q[n][0]) TH_LOG("q%d", n);
		EXPECT_EQ(~q[1], run->ctx.q[n][1]) TH_LOG("q%d", n);
	}
	/*
	 * Its intercept came on SINT0, with the arm64 intercept header (this VP, a 4-byte
	 * instruction executed at EL1 of VTL0, its PC, PSTATE EL1h with DAIF masked); then the
	 * simulator's words: the VTL0 entries so far (a tick may have stopped VTL0 first: it
	 * went on where it was), and x0 as VTL0's program got it.
	 */
	memcpy(&type, run->exit_message, sizeof(type));
	EXPECT_EQ(HVMSG_HYPERCALL_INTERCEPT, type);
	EXPECT_EQ(48, run->exit_message[4]);
	EXPECT_EQ(self->cpu, *(__u32 *)(run->exit_message + MSG_VP_INDEX));
	EXPECT_EQ(4, run->exit_message[MSG_INSTRUCTION_LENGTH]);
	EXPECT_EQ(2, run->exit_message[MSG_ACCESS_TYPE]);
	EXPECT_EQ(1, *(__u16 *)(run->exit_message + MSG_EXECUTION_STATE));
	memcpy(&pc, run->exit_message + MSG_PC, sizeof(pc));
	EXPECT_EQ(0, pc & 3);
	EXPECT_NE(0, pc);
	memcpy(&got, run->exit_message + MSG_CPSR, sizeof(got));
	EXPECT_EQ(0x3c5, got);
	memcpy(&got, run->exit_message + MSG_RETURNS, sizeof(got));
	EXPECT_EQ(el2(self->cpu, "entered "), got);
	EXPECT_LE(entered + 1, got);
	memcpy(&got, run->exit_message + MSG_X0, sizeof(got));
	EXPECT_EQ(0x1000000000ULL, got);
	EXPECT_EQ(exits + 1, el2(self->cpu, "hvc_exits "));
	EXPECT_EQ(0, el2(self->cpu, "faults "));
	/* Again: the registers as VTL0 left them go in once more. */
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(0x1000000000ULL + 2, run->ctx.x[0]);
	EXPECT_EQ(0x1f000000000ULL + 30 + 62, run->ctx.x[30]);
	q_fill(q, 31, 0x5a);
	EXPECT_EQ(q[0], run->ctx.q[31][0]);
	memcpy(&got, run->exit_message + MSG_X0, sizeof(got));
	EXPECT_EQ(0x1000000000ULL + 1, got);
	/* The same HVC intercepted. */
	memcpy(&got, run->exit_message + MSG_PC, sizeof(got));
	EXPECT_EQ(pc, got);
	EXPECT_EQ(exits + 2, el2(self->cpu, "hvc_exits "));
}

/*
 * A task's live FP/SIMD state, x18-x28, SP and NZCV across the ioctl, made with SVC itself
 * (the compiler keeps nothing of its own in those registers meanwhile).
 */
struct user_state {
	__u64 x[11];	/* x18-x28 */
	__u64 fpcr, fpsr, nzcv, sp;
	long ret;
	__u64 q[32][2];
};

static void ioctl_with_state(int fd, const struct user_state *in, struct user_state *out)
{
#ifdef __aarch64__
	register long x0 asm("x0") = fd;
	register long x1 asm("x1") = MSHV_RETURN_TO_LOWER_VTL;
	register long x2 asm("x2") = 0;
	register long x8 asm("x8") = __NR_ioctl;
	register const struct user_state *pin asm("x9") = in;
	register struct user_state *pout asm("x10") = out;

	asm volatile("ldp q0, q1, [x9, #128]\n\tldp q2, q3, [x9, #160]\n\t"
		"ldp q4, q5, [x9, #192]\n\tldp q6, q7, [x9, #224]\n\t"
		"ldp q8, q9, [x9, #256]\n\tldp q10, q11, [x9, #288]\n\t"
		"ldp q12, q13, [x9, #320]\n\tldp q14, q15, [x9, #352]\n\t"
		"ldp q16, q17, [x9, #384]\n\tldp q18, q19, [x9, #416]\n\t"
		"ldp q20, q21, [x9, #448]\n\tldp q22, q23, [x9, #480]\n\t"
		"ldp q24, q25, [x9, #512]\n\tldp q26, q27, [x9, #544]\n\t"
		"ldp q28, q29, [x9, #576]\n\tldp q30, q31, [x9, #608]\n\t"
		"ldp x18, x19, [x9, #0]\n\tldp x20, x21, [x9, #16]\n\t"
		"ldp x22, x23, [x9, #32]\n\tldp x24, x25, [x9, #48]\n\t"
		"ldp x26, x27, [x9, #64]\n\tldr x28, [x9, #80]\n\t"
		"ldr x11, [x9, #88]\n\tmsr fpcr, x11\n\t"
		"ldr x11, [x9, #96]\n\tmsr fpsr, x11\n\t"
		"ldr x11, [x9, #104]\n\tmsr nzcv, x11\n\t"
		"mov x12, sp\n\t"
		"svc #0\n\t"
		"mrs x11, nzcv\n\tstr x11, [x10, #104]\n\t"
		"mov x11, sp\n\tstr x11, [x10, #112]\n\t"
		"sub x11, x11, x12\n\tstr x11, [x10, #112]\n\t"
		"str x0, [x10, #120]\n\t"
		"mrs x11, fpcr\n\tstr x11, [x10, #88]\n\t"
		"mrs x11, fpsr\n\tstr x11, [x10, #96]\n\t"
		"stp q0, q1, [x10, #128]\n\tstp q2, q3, [x10, #160]\n\t"
		"stp q4, q5, [x10, #192]\n\tstp q6, q7, [x10, #224]\n\t"
		"stp q8, q9, [x10, #256]\n\tstp q10, q11, [x10, #288]\n\t"
		"stp q12, q13, [x10, #320]\n\tstp q14, q15, [x10, #352]\n\t"
		"stp q16, q17, [x10, #384]\n\tstp q18, q19, [x10, #416]\n\t"
		"stp q20, q21, [x10, #448]\n\tstp q22, q23, [x10, #480]\n\t"
		"stp q24, q25, [x10, #512]\n\tstp q26, q27, [x10, #544]\n\t"
		"stp q28, q29, [x10, #576]\n\tstp q30, q31, [x10, #608]\n\t"
		"stp x18, x19, [x10, #0]\n\tstp x20, x21, [x10, #16]\n\t"
		"stp x22, x23, [x10, #32]\n\tstp x24, x25, [x10, #48]\n\t"
		"stp x26, x27, [x10, #64]\n\tstr x28, [x10, #80]\n\t"
		: "+r" (x0)
		: "r" (x1), "r" (x2), "r" (x8), "r" (pin), "r" (pout)
		: "x11", "x12", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
		  "x27", "x28", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9",
		  "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20",
		  "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31",
		  "memory", "cc");
#else
	(void)fd;
	(void)in;
	out->ret = -1;
#endif
}

TEST_F(el2, the_callers_state_survives_the_switch)
{
	struct user_state in = { 0 }, out;
	int n;

	_Static_assert(offsetof(struct user_state, fpcr) == 88, "fpcr");
	_Static_assert(offsetof(struct user_state, sp) == 112, "sp");
	_Static_assert(offsetof(struct user_state, ret) == 120, "ret");
	_Static_assert(offsetof(struct user_state, q) == 128, "q");
	for (n = 0; n < 32; n++)
		q_fill(in.q[n], n, 0xc3);
	for (n = 0; n < 11; n++)
		in.x[n] = 0xabc0000000000000ULL | (n + 18);
	/* Round towards minus infinity, flush to zero; a sticky cumulative-saturation flag. */
	in.fpcr = (2ULL << 22) | (1ULL << 24);
	in.fpsr = 1ULL << 27;
	/* N and C set, Z and V clear. */
	in.nzcv = (1ULL << 31) | (1ULL << 29);
	memset(&out, 0xee, sizeof(out));
	ioctl_with_state(self->vtl, &in, &out);
	ASSERT_EQ(0, out.ret);
	for (n = 0; n < 32; n++) {
		EXPECT_EQ(in.q[n][0], out.q[n][0]) TH_LOG("q%d", n);
		EXPECT_EQ(in.q[n][1], out.q[n][1]) TH_LOG("q%d", n);
	}
	for (n = 0; n < 11; n++)
		EXPECT_EQ(in.x[n], out.x[n]) TH_LOG("x%d", n + 18);
	EXPECT_EQ(in.fpcr, out.fpcr);
	EXPECT_EQ(in.fpsr, out.fpsr);
	EXPECT_EQ(in.nzcv, out.nzcv);
	/* SP moved by nothing. */
	EXPECT_EQ(0, out.sp);
	/* And VTL0 did run. */
	EXPECT_EQ(HVMSG_HYPERCALL_INTERCEPT, *(__u32 *)self->run->exit_message);
}

/*
 * SME's ZA array, live in the task (SVCR.ZA set) across the ioctl: written row by row with
 * `LDR ZA[w12, 0]`, read back with `STR`, SVCR read after the call. Encoded with .inst, for
 * assemblers without SME.
 */
static long ioctl_with_za(int fd, const __u8 *in, __u8 *out, long svl, __u64 *svcr)
{
#ifdef __aarch64__
	register long x0 asm("x0") = fd;
	register long x1 asm("x1") = MSHV_RETURN_TO_LOWER_VTL;
	register long x2 asm("x2") = 0;
	register long x8 asm("x8") = __NR_ioctl;
	register const __u8 *pin asm("x9") = in;
	register __u8 *pout asm("x10") = out;
	register __u64 *psvcr asm("x11") = svcr;
	register long x13 asm("x13") = svl;

	asm volatile(".inst 0xd503457f\n\t"		/* smstart za */
		     "mov w12, #0\n"
		     "1:\t.inst 0xe1000120\n\t"	/* ldr za[w12, 0], [x9] */
		     "add x9, x9, x13\n\tadd w12, w12, #1\n\t"
		     "cmp w12, w13\n\tb.lo 1b\n\t"
		     "svc #0\n\t"
		     "mrs x14, S3_3_C4_C2_2\n\tstr x14, [x11]\n\t"	/* SVCR */
		     "mov w12, #0\n"
		     "2:\t.inst 0xe1200140\n\t"	/* str za[w12, 0], [x10] */
		     "add x10, x10, x13\n\tadd w12, w12, #1\n\t"
		     "cmp w12, w13\n\tb.lo 2b\n\t"
		     ".inst 0xd503447f\n\t"		/* smstop za */
		     : "+r" (x0), "+r" (pin), "+r" (pout)
		     : "r" (x1), "r" (x2), "r" (x8), "r" (psvcr), "r" (x13)
		     : "x12", "x14", "memory", "cc");
	return x0;
#else
	(void)fd;
	(void)in;
	(void)out;
	(void)svl;
	(void)svcr;
	return -1;
#endif
}

TEST_F(el2, a_tasks_sme_za_state_survives_the_switch)
{
	long svl = prctl(PR_SME_GET_VL);
	__u64 svcr = 0;
	__u8 *in, *out;

	if (!(getauxval(AT_HWCAP2) & HWCAP2_SME) || svl < 0)
		SKIP(return, "the CPU has no SME");
	svl &= PR_SME_VL_LEN_MASK;
	in = malloc(svl * svl);
	out = calloc(svl, svl);
	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, out);
	for (long i = 0; i < svl * svl; i++)
		in[i] = (__u8)(i * 7 + i / svl + 1);
	ASSERT_EQ(0, ioctl_with_za(self->vtl, in, out, svl, &svcr));
	/* ZA still on, not streaming; every row as the task left it. */
	EXPECT_EQ(2, svcr);
	EXPECT_EQ(0, memcmp(in, out, svl * svl));
	EXPECT_EQ(HVMSG_HYPERCALL_INTERCEPT, *(__u32 *)self->run->exit_message);
	free(in);
	free(out);
}

TEST_F(el2, vtl2s_frame_records_are_valid_at_the_call)
{
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	/* Walked at EL2 from x29 at the HVC: the ioctl's frames up to the final record. */
	EXPECT_EQ(1, el2(self->cpu, "frames_ok "));
	EXPECT_LE(4, el2(self->cpu, "frames "));
}

static void *cancel_later(void *arg)
{
	struct vtl_run *run = arg;

	usleep(100 * 1000);
	__atomic_store_n(&run->cancel, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F(el2, an_interrupt_ends_vtl0s_run_and_vtl2_takes_it)
{
	long irq_exits = el2(self->cpu, "irq_exits "), calls = el2(self->cpu, "calls ");
	pthread_t thread;

	ASSERT_EQ(0, sim_vtl0_program("all", PROGRAM_SPIN, 0));
	/* VTL0 spins at EL1 until an interrupt comes (the tick): VTL2 takes it and goes on. */
	ASSERT_EQ(0, pthread_create(&thread, NULL, cancel_later, self->run));
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(EINTR, errno);
	pthread_join(thread, NULL);
	EXPECT_LT(irq_exits + 2, el2(self->cpu, "irq_exits "));
	EXPECT_LT(calls + 2, el2(self->cpu, "calls "));
	EXPECT_EQ(0, el2(self->cpu, "faults "));
	EXPECT_EQ(0, el2(self->cpu, "state "));
}

TEST_F(el2, the_hypervisors_errors_are_errnos_with_no_switch)
{
	static const struct {
		const char *answer;
		int err;
	} cases[] = {
		{ SMCCC_NOT_SUPPORTED, EOPNOTSUPP },
		{ SMCCC_INVALID_PARAMETER, EINVAL },
		{ HVC_STUB_ERR, EIO },
		{ "0x1", EIO },
	};
	long entered = el2(self->cpu, "entered "), irq_exits;
	char line[64];

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(line, sizeof(line), "answer %s", cases[i].answer);
		ASSERT_EQ(0, el2_steer(line));
		EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
		EXPECT_EQ(cases[i].err, errno) TH_LOG("answer %s", cases[i].answer);
	}
	ASSERT_EQ(0, el2_steer("answer 0"));
	/* Without the feature the hypervisor says NOT_SUPPORTED. */
	ASSERT_EQ(0, el2_steer("features 0"));
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(0, el2_steer("features 1"));
	EXPECT_EQ(entered, el2(self->cpu, "entered "));
	irq_exits = el2(self->cpu, "irq_exits ");
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	/* Entered once, and once more after each tick that stopped VTL0 before its call. */
	irq_exits = el2(self->cpu, "irq_exits ") - irq_exits;
	EXPECT_EQ(entered + 1 + irq_exits, el2(self->cpu, "entered "));
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST_F(el2, entry_reasons_it_does_not_know_are_eio)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval t = { .it_value = { .tv_usec = 100000 } };

	/* An intercept without the intercept page, a VTL call, a number: EIO, never a panic. */
	for (unsigned int reason = 0; reason < 8; reason++) {
		if (reason == VTL_ENTRY_INTERRUPT)
			continue;
		ASSERT_EQ(0, sim_vtl0_program("all", PROGRAM_REASON, reason));
		EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL)) TH_LOG("%u", reason);
		EXPECT_EQ(EIO, errno) TH_LOG("reason %u", reason);
	}
	/* An interrupt with no intercept behind it: VTL0 runs again, until a signal. */
	ASSERT_EQ(0, sim_vtl0_program("all", PROGRAM_REASON, VTL_ENTRY_INTERRUPT));
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &t, NULL));
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(0, el2(self->cpu, "faults "));
}

TEST_F(el2, vtl0s_hvc_only_ends_its_run)
{
	/*
	 * Whatever VTL0 puts in x0 and x1 (user space chooses them, in the run page): the
	 * stub's calls, Hyper-V's functions, the number an earlier install call had. VTL0's
	 * HVC ends its run, nothing else; the hypervisor's EL2 stays as it was.
	 */
	static const __u64 calls[] = { 0, 1, 2, 3, 4, 0x7e5, 0xc6000011, 0xc6000012,
				       0xc6000013, 0x8600ff01, ~0ULL };
	long exits = el2(self->cpu, "hvc_exits ");

	ASSERT_EQ(0, sim_vtl0_program("all", PROGRAM_REASON, VTL_ENTRY_INTERCEPT));
	for (unsigned int i = 0; i < ARRAY_SIZE(calls); i++) {
		self->run->ctx.x[0] = calls[i];
		self->run->ctx.x[1] = 0;
		self->run->ctx.x[2] = 0;
		EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
		EXPECT_EQ(EIO, errno) TH_LOG("x0 %#llx", (unsigned long long)calls[i]);
		/* And VTL0's registers came back as it left them. */
		EXPECT_EQ(calls[i], self->run->ctx.x[0]);
	}
	EXPECT_EQ(exits + ARRAY_SIZE(calls), el2(self->cpu, "hvc_exits "));
	EXPECT_EQ(0, el2(self->cpu, "faults "));
	ASSERT_EQ(0, sim_vtl0_program("all", PROGRAM_INTERCEPT, 0));
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
}

TEST_F(el2, a_cpu_back_online_has_its_el2_and_block_again)
{
	struct vtl_run *run1;
	long registers;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	run1 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->vtl, 4096);
	ASSERT_NE(MAP_FAILED, run1);
	run1->cancel = 0;
	ASSERT_EQ(0, pin(1));
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	/* Unregistered: the hypervisor refuses, no switch. */
	ASSERT_EQ(0, el2_steer("forget 1"));
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(EINVAL, errno);
	/* The CPU goes and comes back through the kernel's hyp stub: all is set up again. */
	registers = el2(1, "registers ");
	ASSERT_EQ(0, pin(0));
	ASSERT_EQ(0, set_cpu_online(1, 0));
	ASSERT_EQ(0, set_cpu_online(1, 1));
	ASSERT_EQ(0, pin(1));
	EXPECT_EQ(registers + 1, el2(1, "registers "));
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(HVMSG_HYPERCALL_INTERCEPT, *(__u32 *)run1->exit_message);
	EXPECT_EQ(0, el2(1, "faults "));
	munmap(run1, 4096);
}

TEST_HARNESS_MAIN
