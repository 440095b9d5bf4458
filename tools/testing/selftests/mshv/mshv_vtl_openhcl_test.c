// SPDX-License-Identifier: GPL-2.0
/*
 * OpenHCL's view of the VTL personality: its `hcl` crate's start-up and run sequence
 * (openhcl/hcl/src/ioctl.rs: Hcl::new, HclVp::new, ProcessorRunner::run), followed step by
 * step against mshv_vtl with the simulated hypervisor hosting the kernel at VTL2.
 *
 *  1. /dev/mshv: MSHV_CHECK_EXTENSION of every capability it probes (an unknown one, 4, is
 *     EOPNOTSUPP and accepted), then MSHV_CREATE_VTL;
 *  2. /dev/mshv_hvcall: MSHV_HVCALL_SETUP with the calls it makes;
 *  3. a SIGRTMIN handler that does nothing (its cancel signal);
 *  4. per VP, a thread pinned to the VP's CPU; its run page mapped at vp * PAGE_SIZE, the
 *     register page at (1 << 16 | vp) * PAGE_SIZE only if MSHV_CAP_REGISTER_PAGE;
 *  5. the run loop: deferred actions written into the run page if MSHV_CAP_VTL_RETURN_ACTION,
 *     MSHV_RETURN_TO_LOWER_VTL, then the exit message read; until another thread cancels it
 *     (cancel = 1 and SIGRTMIN): EINTR, then clear_cancel.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"

#define PAGE			4096L
#define HCL_CAP_LOWER_VTL_TIMER_VIRT	4
#define HVCALL_GET_VP_REGISTERS	0x0050
#define HVCALL_SET_VP_REGISTERS	0x0051
#define HVCALL_POST_MESSAGE	0x005c
#define HVCALL_SIGNAL_EVENT_DIRECT 0x00c0
/* The simulator's VTL0 intercept: x86_64's HALT; arm64's, taken at EL2, a hypercall's. */
#ifdef __x86_64__
#define HVMSG_INTERCEPT		0x80010007
#else
#define HVMSG_INTERCEPT		0x80000050
#endif
/* The run page (drivers/hv/mshv_vtl.h), as hcl's protocol.rs has it. */
#define RUN_CANCEL		0
#define RUN_ACTION_SIZE		4
#define RUN_EXIT_MESSAGE	16
#define RUN_CONTEXT		272
#define RUN_ACTIONS		1296
#define CONTEXT_FX		128

struct vp {
	int index, vtl, intercepts, cancelled, failed;
	bool actions;
	char *run;
	pthread_t thread;
};

/* Return actions the simulated hypervisor ran, on CPUs 0 and 1. */
static long vtl0_count_actions(void)
{
	return sim_vtl0_count(0, "actions ") + sim_vtl0_count(1, "actions ");
}

static void on_rtmin(int sig)
{
	(void)sig;
}

static __u32 *cancel_of(char *run)
{
	return (__u32 *)(run + RUN_CANCEL);
}

/* ProcessorRunner::run, until cancelled: each exit's message read, as the VMM would. */
static void *run_vp(void *arg)
{
	struct vp *vp = arg;
	__u16 fcw = 0x37f;
	__u32 mxcsr = 0x1f80, type;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(vp->index, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		vp->failed = 1;
		return NULL;
	}
#ifdef __x86_64__
	/* hcl_cpu_context_x64's FP state, as fxrstor takes it (arm64's q registers take any). */
	memcpy(vp->run + RUN_CONTEXT + CONTEXT_FX, &fcw, sizeof(fcw));
	memcpy(vp->run + RUN_CONTEXT + CONTEXT_FX + 24, &mxcsr, sizeof(mxcsr));
#else
	(void)fcw;
	(void)mxcsr;
#endif
	for (;;) {
		if (vp->actions && vp->intercepts % 4 == 0) {
			/* A deferred signal-event-direct, as hcl queues them. */
			memset(vp->run + RUN_ACTIONS, 0, 32);
			vp->run[RUN_ACTIONS] = 1;
			*(__u32 *)(vp->run + RUN_ACTION_SIZE) = 32;
		}
		if (ioctl(vp->vtl, MSHV_RETURN_TO_LOWER_VTL)) {
			bool cancelled = __atomic_load_n(cancel_of(vp->run), __ATOMIC_ACQUIRE);

			if (errno == EINTR && cancelled) {
				/* clear_cancel */
				__atomic_store_n(cancel_of(vp->run), 0, __ATOMIC_RELEASE);
				vp->cancelled = 1;
				return NULL;
			}
			if (errno == EINTR)
				continue;
			vp->failed = errno;
			return NULL;
		}
		memcpy(&type, vp->run + RUN_EXIT_MESSAGE, sizeof(type));
		if (type != HVMSG_INTERCEPT) {
			vp->failed = -1;
			return NULL;
		}
		vp->intercepts++;
	}
}

TEST(start_up_and_run_as_hcl_does)
{
	const __u16 calls[] = { HVCALL_GET_VP_REGISTERS, HVCALL_SET_VP_REGISTERS,
				HVCALL_POST_MESSAGE, HVCALL_SIGNAL_EVENT_DIRECT };
	struct sigaction sa = { .sa_handler = on_rtmin };
	static __u8 bitmap[8192];
	struct mshv_vtl_hvcall_setup setup = {
		.bitmap_array_size = sizeof(bitmap), .allow_bitmap_ptr = (uintptr_t)bitmap,
	};
	struct vp vps[2] = { { .index = 0 }, { .index = 1 } };
	int mshv, vtl, hvcall, register_page, return_action, dr6, i, nvps;
	long actions_before;
	__u32 cap;
	void *reg;

	if (access("/dev/mshv_hvcall", F_OK))
		SKIP(return, "mshv_vtl is not loaded (no /dev/mshv_hvcall)");
	if (sim_vtl0_program("all", 0, 0))
		SKIP(return, "needs the simulated hypervisor (its VTL0)");
	nvps = sysconf(_SC_NPROCESSORS_ONLN) < 2 ? 1 : 2;

	/* 1. Hcl::new */
	mshv = open("/dev/mshv", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mshv);
	cap = MSHV_CAP_CORE_API_STABLE;
	ASSERT_LE(0, ioctl(mshv, MSHV_CHECK_EXTENSION, &cap));
	cap = MSHV_CAP_REGISTER_PAGE;
	register_page = ioctl(mshv, MSHV_CHECK_EXTENSION, &cap);
	ASSERT_LE(0, register_page);
	cap = MSHV_CAP_VTL_RETURN_ACTION;
	return_action = ioctl(mshv, MSHV_CHECK_EXTENSION, &cap);
	ASSERT_LE(0, return_action);
	cap = MSHV_CAP_DR6_SHARED;
	dr6 = ioctl(mshv, MSHV_CHECK_EXTENSION, &cap);
	ASSERT_LE(0, dr6);
	cap = HCL_CAP_LOWER_VTL_TIMER_VIRT;
	EXPECT_EQ(-1, ioctl(mshv, MSHV_CHECK_EXTENSION, &cap));
	EXPECT_EQ(EOPNOTSUPP, errno);
	vtl = ioctl(mshv, MSHV_CREATE_VTL, NULL);
	ASSERT_LE(0, vtl);

	/* 2. MshvHvcall::set_allowed_hypercalls */
	hvcall = open("/dev/mshv_hvcall", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, hvcall);
	for (i = 0; i < (int)ARRAY_SIZE(calls); i++)
		bitmap[calls[i] / 8] |= 1 << (calls[i] % 8);
	ASSERT_EQ(0, ioctl(hvcall, MSHV_HVCALL_SETUP, &setup));

	/* 3. The cancel signal's handler. */
	ASSERT_EQ(0, sigaction(SIGRTMIN, &sa, NULL));

	/* 4. HclVp::new, per VP. */
	for (i = 0; i < nvps; i++) {
		vps[i].vtl = vtl;
		vps[i].actions = return_action == 1;
		vps[i].run = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, vtl, i * PAGE);
		ASSERT_NE(MAP_FAILED, vps[i].run);
		if (register_page == 1) {
			reg = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, vtl,
				   ((1L << 16) | i) * PAGE);
			ASSERT_NE(MAP_FAILED, reg);
		}
	}

	/* 5. The run loops, cancelled from here after a while. */
	actions_before = vtl0_count_actions();
	for (i = 0; i < nvps; i++)
		ASSERT_EQ(0, pthread_create(&vps[i].thread, NULL, run_vp, &vps[i]));
	usleep(300 * 1000);
	for (i = 0; i < nvps; i++) {
		__atomic_store_n(cancel_of(vps[i].run), 1, __ATOMIC_RELEASE);
		pthread_kill(vps[i].thread, SIGRTMIN);
	}
	for (i = 0; i < nvps; i++) {
		pthread_join(vps[i].thread, NULL);
		EXPECT_EQ(0, vps[i].failed);
		EXPECT_EQ(1, vps[i].cancelled);
		EXPECT_LT(0, vps[i].intercepts);
		EXPECT_EQ(0, *cancel_of(vps[i].run));
		TH_LOG("VP%d: %d intercepts before the cancel", i, vps[i].intercepts);
	}
	/* The deferred actions reached the hypervisor. */
	if (return_action == 1)
		EXPECT_LT(actions_before, vtl0_count_actions());
	for (i = 0; i < nvps; i++)
		munmap(vps[i].run, PAGE);
	close(hvcall);
	close(vtl);
	close(mshv);
}

TEST_HARNESS_MAIN
