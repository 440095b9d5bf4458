// SPDX-License-Identifier: GPL-2.0
/*
 * The VTL personality (mshv_vtl.ko) through its devices, as a paravisor at VTL2 uses them:
 * /dev/mshv's capability probes and MSHV_CREATE_VTL, VTL0's registers through a VTL file, and
 * /dev/mshv_hvcall's allow-list. Run in a VM where mshv_vtl is loaded (with the simulated
 * hypervisor hosting the kernel at VTL2); the root personality's tests run in another.
 */
#ifdef __x86_64__
#include <cpuid.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/mshv.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"
#include "mshv_vtl.h"

/* The hypervisor's ABI, as include/hyperv/hvgdk_mini.h has it (not a uapi header). */
#define HVCALL_CREATE_PARTITION		0x0040
#define HVCALL_GET_VP_REGISTERS		0x0050
#define HVCALL_POST_MESSAGE		0x005c
#define HV_PARTITION_ID_SELF		((__u64)-1)
#define HV_VP_INDEX_SELF		((__u32)-2)
#define HV_REGISTER_VSM_CAPABILITIES	0x000D0006
#define HV_STATUS_INVALID_PARAMETER	5
#define HV_STATUS_ACCESS_DENIED		6
/* A general-purpose register name (x64 RAX, arm64 X0). */
#define REGISTER			0x00020000

static bool simulated(void)
{
	return access(SIM_DIR "calls", R_OK) == 0;
}

/* This driver's capability: the arm64 VTL switch over SMCCC is there. */
#define MSHV_CAP_SMCCC_VTL_SWITCH	16

/* Whether MSHV_RETURN_TO_LOWER_VTL can switch: always on x86_64, on arm64 where it says so. */
static bool switch_there(int mshv)
{
#ifdef __x86_64__
	(void)mshv;
	return true;
#else
	return ioctl(mshv, MSHV_CHECK_EXTENSION, &(__u32){ MSHV_CAP_SMCCC_VTL_SWITCH }) == 1;
#endif
}

/* Whether a test of x86_64's run page layout or VP assist page applies (arm64's have theirs). */
#ifdef __x86_64__
#define X86_64 1
#else
#define X86_64 0
#endif

static int set_register(int vtl, __u32 name, __u64 lo, __u64 hi)
{
	struct hv_register_assoc assoc = { .name = name, .value = { lo, hi } };
	struct mshv_vp_registers args = { .count = 1, .regs_ptr = (uintptr_t)&assoc };

	return ioctl(vtl, MSHV_SET_VP_REGISTERS, &args);
}

static int get_register(int vtl, __u32 name, __u64 value[2])
{
	struct hv_register_assoc assoc = { .name = name };
	struct mshv_vp_registers args = { .count = 1, .regs_ptr = (uintptr_t)&assoc };
	int ret = ioctl(vtl, MSHV_GET_VP_REGISTERS, &args);

	value[0] = assoc.value[0];
	value[1] = assoc.value[1];
	return ret;
}

FIXTURE(vtl) {
	int mshv;
	int vtl;
};

FIXTURE_SETUP(vtl)
{
	self->mshv = -1;
	self->vtl = -1;
	if (!vtl_personality())
		SKIP(return, "mshv_vtl is not loaded (no /dev/mshv_hvcall)");
	self->vtl = open_vtl(&self->mshv);
	ASSERT_LE(0, self->vtl);
}

FIXTURE_TEARDOWN(vtl)
{
	close_vtl(self->mshv, self->vtl);
}

TEST_F(vtl, extensions)
{
	__u32 cap;

	cap = MSHV_CAP_CORE_API_STABLE;
	EXPECT_EQ(0, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
	cap = MSHV_CAP_REGISTER_PAGE;
	EXPECT_LE(0, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
	if (simulated()) {
		/* Register pages where the intercept page is (x86_64), as upstream. */
		cap = MSHV_CAP_REGISTER_PAGE;
#ifdef __x86_64__
		ASSERT_LE(0, vtl_intercept_page());
		EXPECT_EQ(vtl_intercept_page(), ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
#else
		EXPECT_EQ(0, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
#endif
		/*
		 * What the simulated hypervisor offers VTL2: return actions (x86_64's VP assist
		 * page), DR6 not shared; on arm64 the SMCCC switch, which x86_64 has not.
		 */
		cap = MSHV_CAP_VTL_RETURN_ACTION;
		EXPECT_EQ(X86_64, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
		cap = MSHV_CAP_DR6_SHARED;
		EXPECT_EQ(0, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
		cap = MSHV_CAP_SMCCC_VTL_SWITCH;
		EXPECT_EQ(!X86_64, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
	}
	for (cap = MSHV_CAP_DR6_SHARED + 1; cap < 64; cap++) {
		if (cap == MSHV_CAP_SMCCC_VTL_SWITCH)
			continue;
		EXPECT_EQ(-1, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
		EXPECT_EQ(EOPNOTSUPP, errno);
	}
	EXPECT_EQ(-1, ioctl(self->mshv, MSHV_CHECK_EXTENSION, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(vtl, vtl_files)
{
	char link[64], target[64];
	int other;

	/* Close-on-exec, named as upstream's, and as many as asked for. */
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->vtl, F_GETFD) & FD_CLOEXEC);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", self->vtl);
	ASSERT_LT(0, readlink(link, target, sizeof(target) - 1));
	target[sizeof(target) - 1] = 0;
	EXPECT_EQ(0, strncmp(target, "anon_inode:mshv_vtl", 19));
	other = ioctl(self->mshv, MSHV_CREATE_VTL, NULL);
	ASSERT_LE(0, other);
	EXPECT_NE(self->vtl, other);
	close(other);
}

TEST_F(vtl, unknown_commands_are_enotty)
{
	struct mshv_create_partition args = { 0 };

	/* The root personality's commands are not this one's. */
	EXPECT_EQ(-1, ioctl(self->mshv, MSHV_CREATE_PARTITION, &args));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->mshv, MSHV_CREATE_VTL + 1, NULL));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_INITIALIZE_PARTITION));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_CREATE_VTL, NULL));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(vtl, registers_round_trip_per_cpu)
{
	long nr = sysconf(_SC_NPROCESSORS_ONLN);
	__u64 value[2];
	int cpu;

	if (nr < 2)
		SKIP(return, "needs two CPUs");
	/* VTL0's registers are the calling CPU's. */
	for (cpu = 0; cpu < 2; cpu++) {
		ASSERT_EQ(0, pin(cpu));
		ASSERT_EQ(0, set_register(self->vtl, REGISTER, 0x1000 + cpu, 0x2000 + cpu));
	}
	for (cpu = 0; cpu < 2; cpu++) {
		ASSERT_EQ(0, pin(cpu));
		ASSERT_EQ(0, get_register(self->vtl, REGISTER, value));
		EXPECT_EQ(0x1000 + cpu, value[0]);
		EXPECT_EQ(0x2000 + cpu, value[1]);
	}
	/* Another VTL file reaches the same state. */
	{
		int other = ioctl(self->mshv, MSHV_CREATE_VTL, NULL);

		ASSERT_LE(0, other);
		ASSERT_EQ(0, get_register(other, REGISTER, value));
		EXPECT_EQ(0x1001, value[0]);
		close(other);
	}
}

TEST_F(vtl, without_a_switch_the_return_is_eopnotsupp)
{
	char *run;

	if (switch_there(self->mshv))
		SKIP(return, "the VTL switch is there");
	/* Everything else works: the run page maps, only the switch is missing. */
	run = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->vtl, 0);
	ASSERT_NE(MAP_FAILED, run);
	EXPECT_EQ(0, run[0]);
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(EOPNOTSUPP, errno);
	munmap(run, 4096);
}

TEST_F(vtl, register_arguments)
{
	struct hv_register_assoc assoc = { .name = REGISTER };
	struct mshv_vp_registers args = { .count = 1, .regs_ptr = (uintptr_t)&assoc };

	args.count = 0;
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_GET_VP_REGISTERS, &args));
	EXPECT_EQ(EINVAL, errno);
	args.count = 2;
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_SET_VP_REGISTERS, &args));
	EXPECT_EQ(EINVAL, errno);
	args.count = 1;
	args.regs_ptr = 8;
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_GET_VP_REGISTERS, &args));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_SET_VP_REGISTERS, &args));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_GET_VP_REGISTERS, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	if (simulated()) {
		/* The hypervisor's refusal comes back as its errno. */
		EXPECT_EQ(-1, set_register(self->vtl, HV_REGISTER_VSM_CAPABILITIES, 1, 0));
		EXPECT_EQ(EACCES, errno);
	}
}

FIXTURE(hvcall) {
	int fd;
};

FIXTURE_SETUP(hvcall)
{
	if (!vtl_personality())
		SKIP(return, "mshv_vtl is not loaded (no /dev/mshv_hvcall)");
	self->fd = open("/dev/mshv_hvcall", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(hvcall)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Allows the codes in `codes` (zero-terminated) on `fd`. */
static int allow(int fd, const __u16 *codes)
{
	static __u8 bitmap[8192];
	struct mshv_vtl_hvcall_setup setup = {
		.bitmap_array_size = sizeof(bitmap), .allow_bitmap_ptr = (uintptr_t)bitmap,
	};

	memset(bitmap, 0, sizeof(bitmap));
	for (; *codes; codes++)
		bitmap[*codes / 8] |= 1 << (*codes % 8);
	return ioctl(fd, MSHV_HVCALL_SETUP, &setup);
}

TEST_F(hvcall, opening_needs_cap_sys_admin)
{
	EXPECT_EQ(EPERM, open_without_sys_admin("/dev/mshv_hvcall"));
}

TEST_F(hvcall, setup_is_once_and_checked)
{
	__u8 bitmap[8193] = { 0 };
	struct mshv_vtl_hvcall_setup setup = {
		.bitmap_array_size = sizeof(bitmap), .allow_bitmap_ptr = (uintptr_t)bitmap,
	};
	const __u16 codes[] = { HVCALL_GET_VP_REGISTERS, 0 };

	EXPECT_EQ(-1, ioctl(self->fd, MSHV_HVCALL_SETUP, &setup));
	EXPECT_EQ(EINVAL, errno);
	setup.bitmap_array_size = 16;
	setup.allow_bitmap_ptr = 8;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_HVCALL_SETUP, &setup));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_HVCALL_SETUP, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* A setup that failed can be made again; one that worked cannot. */
	ASSERT_EQ(0, allow(self->fd, codes));
	EXPECT_EQ(-1, allow(self->fd, codes));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_HVCALL_SETUP, (void *)8));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(hvcall, only_allowed_codes_reach_the_hypervisor)
{
	struct get_vp_registers_in in = {
		.partition_id = HV_PARTITION_ID_SELF, .vp_index = HV_VP_INDEX_SELF,
		.input_vtl = 0x10, .name = REGISTER,
	};
	__u64 out[2] = { 0 };
	struct mshv_vtl_hvcall call = {
		.control = HVCALL_GET_VP_REGISTERS | 1ULL << 32,
		.input_size = sizeof(in), .input_ptr = (uintptr_t)&in,
		.output_size = sizeof(out), .output_ptr = (uintptr_t)out,
	};
	const __u16 codes[] = { HVCALL_GET_VP_REGISTERS, HVCALL_POST_MESSAGE,
				HVCALL_CREATE_PARTITION, 0 };
	long before = sim_calls(HVCALL_GET_VP_REGISTERS), sets = sim_calls(0x0051);
	int mshv, vtl;

	/* Before setup nothing is allowed, and nothing reaches the hypervisor. */
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_HVCALL, &call));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(before, sim_calls(HVCALL_GET_VP_REGISTERS));
	ASSERT_EQ(0, allow(self->fd, codes));
	call.control = 0x0051 | 1ULL << 32;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_HVCALL, &call));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(before, sim_calls(HVCALL_GET_VP_REGISTERS));
	EXPECT_EQ(sets, sim_calls(0x0051));

	/* An allowed call: VTL0's register, as MSHV_SET_VP_REGISTERS left it on this CPU. */
	ASSERT_EQ(0, pin(0));
	mshv = open("/dev/mshv", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mshv);
	vtl = ioctl(mshv, MSHV_CREATE_VTL, NULL);
	ASSERT_LE(0, vtl);
	ASSERT_EQ(0, set_register(vtl, REGISTER, 0xabcd, 0xef01));
	call.control = HVCALL_GET_VP_REGISTERS | 1ULL << 32;
	call.status = 0xdead;
	ASSERT_EQ(0, ioctl(self->fd, MSHV_HVCALL, &call));
	/* Success, with one rep completed (bits 32-43), written back whole. */
	EXPECT_EQ(1ULL << 32, call.status);
	EXPECT_EQ(0xabcd, out[0]);
	EXPECT_EQ(0xef01, out[1]);
	if (before >= 0)
		EXPECT_EQ(before + 1, sim_calls(HVCALL_GET_VP_REGISTERS));
	close(vtl);
	close(mshv);

	/* Sizes above a page are refused before anything is read. */
	call.input_size = 4097;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_HVCALL, &call));
	EXPECT_EQ(EINVAL, errno);
	call.input_size = sizeof(in);
	call.output_size = 4097;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_HVCALL, &call));
	EXPECT_EQ(EINVAL, errno);
	call.output_size = sizeof(out);
	call.input_ptr = 8;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_HVCALL, &call));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(hvcall, the_hypervisors_status_is_in_the_argument)
{
	struct {
		__u32 connection_id, reserved, message_type, payload_size;
		__u8 payload[240];
	} in = { .connection_id = 1, .message_type = 1, .payload_size = 241 };
	__u8 out[16];
	struct mshv_vtl_hvcall call = {
		.control = HVCALL_POST_MESSAGE,
		.input_size = sizeof(in), .input_ptr = (uintptr_t)&in,
		.output_size = sizeof(out), .output_ptr = (uintptr_t)out,
	};
	const __u16 codes[] = { HVCALL_POST_MESSAGE, HVCALL_CREATE_PARTITION, 0 };

	if (!simulated())
		SKIP(return, "needs the simulated hypervisor (its answers are known)");
	ASSERT_EQ(0, allow(self->fd, codes));
	/* A call the hypervisor refuses still returns 0: the status says why. */
	ASSERT_EQ(0, ioctl(self->fd, MSHV_HVCALL, &call));
	EXPECT_EQ(HV_STATUS_INVALID_PARAMETER, call.status & 0xffff);
	in.payload_size = 16;
	ASSERT_EQ(0, ioctl(self->fd, MSHV_HVCALL, &call));
	EXPECT_EQ(0, call.status & 0xffff);
	/* A VTL2 partition is not the root. */
	call.control = HVCALL_CREATE_PARTITION;
	memset(out, 0x5a, sizeof(out));
	ASSERT_EQ(0, ioctl(self->fd, MSHV_HVCALL, &call));
	EXPECT_EQ(HV_STATUS_ACCESS_DENIED, call.status & 0xffff);
	/* The output page was zeroed and copied back, whatever the result. */
	EXPECT_EQ(0, out[0]);
}

/*
 * The run page (drivers/hv/mshv_vtl.h: ABI through mmap, in no uapi header), with x86_64's
 * VTL0 register block.
 */
struct vtl_run {
	__u32 cancel;
	__u32 vtl_ret_action_size;
	__u32 pad[2];
	__u8 exit_message[256];
	union {
		struct {
			__u64 rax, rcx, rdx, rbx, cr2, rbp, rsi, rdi;
			__u64 r8, r9, r10, r11, r12, r13, r14, r15;
			__u8 fx[512];
		} ctx;
		__u8 reserved[1024];
	};
	__u8 vtl_ret_actions[256];
};

#define HVMSG_X64_HALT		0x80010007
#define FX_FCW			0
#define FX_MXCSR		24
#define FX_XMM(n)		(160 + 16 * (n))

FIXTURE(run) {
	int mshv;
	int vtl;
	struct vtl_run *run[2];
	void *map;
};

FIXTURE_SETUP(run)
{
	self->map = MAP_FAILED;
	self->mshv = -1;
	self->vtl = -1;
	if (!vtl_personality())
		SKIP(return, "mshv_vtl is not loaded (no /dev/mshv_hvcall)");
	self->vtl = open_vtl(&self->mshv);
	ASSERT_LE(0, self->vtl);
	/* One mapping at offset 0: CPU 0's run page, then CPU 1's. */
	self->map = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->vtl, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	self->run[0] = self->map;
	self->run[1] = (void *)((char *)self->map + 4096);
	ASSERT_EQ(0, pin(0));
	if (!switch_there(self->mshv))
		SKIP(return, "no VTL switch here");
	if (!simulated())
		SKIP(return, "needs the simulated hypervisor (its VTL0 is known)");
	ASSERT_EQ(0, sim_vtl0_program("all", 0, 0));
}

FIXTURE_TEARDOWN(run)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, 2 * 4096);
	close_vtl(self->mshv, self->vtl);
	sim_vtl0_program("all", 0, 0);
}

/* Sets VTL0's FP state in a run page to something fxrstor takes, with xmm7 = `pattern`. */
static void set_fx(struct vtl_run *run, __u64 pattern)
{
	__u16 fcw = 0x37f;
	__u32 mxcsr = 0x1f80;

	memset(run->ctx.fx, 0, sizeof(run->ctx.fx));
	memcpy(run->ctx.fx + FX_FCW, &fcw, sizeof(fcw));
	memcpy(run->ctx.fx + FX_MXCSR, &mxcsr, sizeof(mxcsr));
	memcpy(run->ctx.fx + FX_XMM(7), &pattern, sizeof(pattern));
}

TEST_F(run, an_intercept_comes_back_with_vtl0s_registers)
{
	struct vtl_run *run = self->run[0];
	__u64 returns = sim_vtl0_count(0, "returns "), got;
	__u32 type;

	if (!X86_64)
		SKIP(return, "x86_64's VTL0 registers");
	run->cancel = 0;
	run->ctx.rax = 1;
	run->ctx.rbx = 2;
	run->ctx.rcx = 0xf0;
	run->ctx.rdx = 0x0f;
	run->ctx.cr2 = 0xdead000;
	run->ctx.rbp = 10;
	run->ctx.rsi = 0x55;
	run->ctx.rdi = 0x0102030405060708ULL;
	run->ctx.r8 = 100;
	run->ctx.r9 = 200;
	run->ctx.r15 = 700;
	set_fx(run, 0x1122334455667788ULL);
#ifdef __x86_64__
	/* VTL2's own FP registers must survive the return: xmm7 holds another value. */
	__u64 xmm7 = 0, pattern = 0xa5a5a5a5deadbeefULL;

	asm volatile("movq %0, %%xmm7" : : "r" (pattern) : "xmm7");
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	asm volatile("movq %%xmm7, %0" : "=r" (xmm7));
	EXPECT_EQ(pattern, xmm7);
#endif
	/* The message VTL0's intercept left: its type, the CPU's returns, rax as VTL0 got it. */
	memcpy(&type, run->exit_message, sizeof(type));
	EXPECT_EQ(HVMSG_X64_HALT, type);
	memcpy(&got, run->exit_message + 16, sizeof(got));
	EXPECT_EQ(returns + 1, got);
	memcpy(&got, run->exit_message + 24, sizeof(got));
	EXPECT_EQ(1, got);
	/* What VTL0 computed is what came back; CR2 and the FP state went there and back. */
	EXPECT_EQ(3, run->ctx.rax);
	EXPECT_EQ(2, run->ctx.rbx);
	EXPECT_EQ(0xff, run->ctx.rcx);
	EXPECT_EQ(0x10, run->ctx.rdx);
	EXPECT_EQ(11, run->ctx.rbp);
	EXPECT_EQ(~0x55ULL, run->ctx.rsi);
	EXPECT_EQ(0x0203040506070801ULL, run->ctx.rdi);
	EXPECT_EQ(101, run->ctx.r8);
	EXPECT_EQ(202, run->ctx.r9);
	EXPECT_EQ(708, run->ctx.r15);
	EXPECT_EQ(0xdead000, run->ctx.cr2);
	memcpy(&got, run->ctx.fx + FX_XMM(7), sizeof(got));
	EXPECT_EQ(0x1122334455667788ULL, got);
	EXPECT_EQ(returns + 1, sim_vtl0_count(0, "returns "));
}

static void on_alarm(int sig);

TEST_F(run, without_the_intercept_page_intercepts_come_on_sint0)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval timer = { .it_value = { .tv_sec = 5 } }, off = { 0 };
	struct vtl_run *run = self->run[0];
	long delivered = sim_synic_count(-1, "delivered ");
	__u64 returns, got;
	__u32 type;
	int i;

	if (!X86_64)
		SKIP(return, "x86_64's message and VTL0 program 1");
	ASSERT_LE(0, vtl_intercept_page());
	if (vtl_intercept_page())
		SKIP(return, "the hypervisor has the intercept page (hypervisor=3 loads without)");
	/* A loop that never finds the message would spin: a timer ends it (EINTR), failing. */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	set_fx(run, 0);
	run->cancel = 0;
	/*
	 * The intercept is a message in SINT0's slot, which the loop takes and frees: each one
	 * is this return's (the CPU's count of returns in it), not one left over. The third
	 * return's VTL0 first raises an interrupt that brings no message: it runs again.
	 */
	for (i = 1; i <= 3; i++) {
		if (i == 3)
			ASSERT_EQ(0, sim_vtl0_program("0", 1, 0));
		returns = sim_vtl0_count(0, "returns ");
		memset(run->exit_message, 0, sizeof(run->exit_message));
		ASSERT_EQ(0, setitimer(ITIMER_REAL, &timer, NULL));
		ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
		setitimer(ITIMER_REAL, &off, NULL);
		memcpy(&type, run->exit_message, sizeof(type));
		EXPECT_EQ(HVMSG_X64_HALT, type);
		memcpy(&got, run->exit_message + 16, sizeof(got));
		EXPECT_EQ(returns + (i == 3 ? 2 : 1), got);
		EXPECT_EQ(delivered + i, sim_synic_count(-1, "delivered "));
	}
}

TEST_F(run, the_cancel_flag_ends_it_and_stays)
{
	struct vtl_run *run = self->run[0];
	long returns = sim_vtl0_count(0, "returns ");

	set_fx(run, 0);
	run->cancel = 1;
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(EINTR, errno);
	/* Only user space clears it. */
	EXPECT_EQ(1, run->cancel);
	EXPECT_EQ(returns, sim_vtl0_count(0, "returns "));
	run->cancel = 0;
	EXPECT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
}

TEST_F(run, an_interrupt_for_vtl2_is_taken_and_vtl0_runs_again)
{
	long returns = sim_vtl0_count(0, "returns "), taken = sim_vtl0_count(0, "irqs ");

	if (!X86_64)
		SKIP(return, "VTL0 program 1 raises VTL2's interrupt on x86_64 only");
	set_fx(self->run[0], 0);
	self->run[0]->cancel = 0;
	ASSERT_EQ(0, sim_vtl0_program("0", 1, 0));
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	/* One exit for the interrupt, one for the intercept. */
	EXPECT_EQ(returns + 2, sim_vtl0_count(0, "returns "));
	EXPECT_LT(taken, sim_vtl0_count(0, "irqs "));
}

TEST_F(run, return_actions_reach_the_hypervisor_once)
{
	struct vtl_run *run = self->run[0];
	long actions = sim_vtl0_count(0, "actions ");

	if (!X86_64)
		SKIP(return, "return actions are x86_64's (the VP assist page)");
	set_fx(run, 0);
	run->cancel = 0;
	memset(run->vtl_ret_actions, 0x5a, 16);
	run->vtl_ret_action_size = 16;
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(0, run->vtl_ret_action_size);
	EXPECT_EQ(actions + 1, sim_vtl0_count(0, "actions "));
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(actions + 1, sim_vtl0_count(0, "actions "));
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST_F(run, a_signal_ends_a_spinning_vtl0)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval timer = { .it_value = { .tv_usec = 50000 } };

	set_fx(self->run[0], 0);
	self->run[0]->cancel = 0;
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, sim_vtl0_program("0", 2, 0));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &timer, NULL));
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(EINTR, errno);
	EXPECT_LT(1, sim_vtl0_count(0, "returns "));
}

struct canceller {
	__u32 *cancel;
	int delay_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;

	pin(1);
	usleep(c->delay_ms * 1000);
	__atomic_store_n(c->cancel, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

TEST_F(run, another_thread_cancels_a_running_return)
{
	struct canceller c = { .cancel = &self->run[0]->cancel, .delay_ms = 50 };
	pthread_t thread;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	set_fx(self->run[0], 0);
	self->run[0]->cancel = 0;
	ASSERT_EQ(0, sim_vtl0_program("0", 2, 0));
	ASSERT_EQ(0, pthread_create(&thread, NULL, cancel_later, &c));
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(EINTR, errno);
	pthread_join(thread, NULL);
	self->run[0]->cancel = 0;
}

struct looper {
	int cpu, vtl, rounds, ok;
	struct vtl_run *run;
};

static void *loop_on(void *arg)
{
	struct looper *l = arg;
	int i;

	if (pin(l->cpu))
		return NULL;
	for (i = 0; i < l->rounds; i++) {
		l->run->ctx.rax = i;
		l->run->ctx.rbx = l->cpu;
		if (ioctl(l->vtl, MSHV_RETURN_TO_LOWER_VTL))
			return NULL;
#ifdef __x86_64__
		if (l->run->ctx.rax != (__u64)(i + l->cpu))
			return NULL;
#else
		/* arm64's VTL0: x0 += 1 (rax is where x0 is). */
		if (l->run->ctx.rax != (__u64)(i + 1))
			return NULL;
#endif
		l->ok++;
	}
	return NULL;
}

TEST_F(run, two_cpus_in_the_loop_at_once)
{
	struct looper l[2] = {
		{ .cpu = 0, .vtl = self->vtl, .rounds = 200, .run = self->run[0] },
		{ .cpu = 1, .vtl = self->vtl, .rounds = 200, .run = self->run[1] },
	};
	pthread_t t[2];
	int i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	for (i = 0; i < 2; i++) {
		set_fx(l[i].run, 0);
		l[i].run->cancel = 0;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, loop_on, &l[i]));
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(200, l[i].ok);
	}
}

TEST_F(run, bad_vtl0_state_and_reasons_are_errnos)
{
	struct vtl_run *run = self->run[0];
	__u32 mxcsr = 0xffffffff;

	run->cancel = 0;
	/*
	 * A reserved MXCSR bit: a processor refuses to load the FP state (#GP), and the return
	 * fails with EINVAL, not an oops. QEMU's TCG does not check the bits and loads it: then
	 * the return works. Either way the kernel log stays clean (the runner checks it).
	 */
	set_fx(run, 0);
	memcpy(run->ctx.fx + FX_MXCSR, &mxcsr, sizeof(mxcsr));
	if (ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL))
		EXPECT_EQ(EINVAL, errno);
	set_fx(run, 0);
	/* A hypervisor that gives an entry reason nobody knows. */
	ASSERT_EQ(0, sim_vtl0_program("0", 3, 7));
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(EIO, errno);
	ASSERT_EQ(0, sim_vtl0_program("0", 3, 1));
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(EIO, errno);
}

TEST_F(run, only_run_pages_map)
{
	long page = 4096;
	char *reg, *other, *far;

	/* A register page of a CPU that is not; an unknown kind; a run page of one that is not. */
	reg = mmap(NULL, page, PROT_READ, MAP_SHARED, self->vtl, ((1L << 16) | 0xfff0) * page);
	other = mmap(NULL, page, PROT_READ, MAP_SHARED, self->vtl, (2L << 16) * page);
	far = mmap(NULL, page, PROT_READ, MAP_SHARED, self->vtl, 0xfff0L * page);
	ASSERT_NE(MAP_FAILED, reg);
	ASSERT_NE(MAP_FAILED, other);
	ASSERT_NE(MAP_FAILED, far);
	EXPECT_TRUE(touching_is_sigbus(reg));
	EXPECT_TRUE(touching_is_sigbus(other));
	EXPECT_TRUE(touching_is_sigbus(far));
	munmap(reg, page);
	munmap(other, page);
	munmap(far, page);
}

/* struct hv_vp_register_page (x86), the fields the test uses. */
#define REG_PAGE_VERSION	0
#define REG_PAGE_ISVALID	2
#define REG_PAGE_DIRTY		4
#define REG_PAGE_RIP		136
#define REG_PAGE_RFLAGS		144
#define CLASS_IP		1
#define CLASS_FLAGS		4
#define HV_X64_REGISTER_RIP	0x00020010
#define HV_X64_REGISTER_RFLAGS	0x00020011

TEST_F(run, the_register_page_shows_and_takes_vtl0s_registers)
{
	__u32 cap = MSHV_CAP_REGISTER_PAGE;
	__u64 value[2];
	char *reg;

	ASSERT_LE(0, vtl_intercept_page());
	if (!vtl_intercept_page())
		SKIP(return, "no intercept page, so no register pages (as upstream)");
	ASSERT_EQ(1, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
	reg = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->vtl, (1L << 16) * 4096);
	ASSERT_NE(MAP_FAILED, reg);
	/* Set by hypercall: shown in the page after the next exit. */
	ASSERT_EQ(0, set_register(self->vtl, HV_X64_REGISTER_RIP, 0x1000, 0));
	set_fx(self->run[0], 0);
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(1, *(__u16 *)(reg + REG_PAGE_VERSION));
	EXPECT_EQ(1, *(__u8 *)(reg + REG_PAGE_ISVALID));
	EXPECT_EQ(0x1000, *(__u64 *)(reg + REG_PAGE_RIP));
	EXPECT_EQ(0x2, *(__u64 *)(reg + REG_PAGE_RFLAGS) & 0x2);
	/* VTL0's rax as it left it (the page's first general-purpose register). */
	EXPECT_EQ(self->run[0]->ctx.rax, *(__u64 *)(reg + 8));
	/* The page is the driver's to give: no VTL file sets it. */
	EXPECT_EQ(-1, set_register(self->vtl, 0x0009001C, 0x1001, 0));
	EXPECT_EQ(EINVAL, errno);
	/* Written in the page, dirty: VTL0 runs with them, and the hypercall reads them. */
	*(__u64 *)(reg + REG_PAGE_RIP) = 0x2000;
	*(__u64 *)(reg + REG_PAGE_RFLAGS) = 0x202;
	__atomic_store_n((__u32 *)(reg + REG_PAGE_DIRTY), (1 << CLASS_IP) | (1 << CLASS_FLAGS),
			 __ATOMIC_RELEASE);
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(0, *(__u32 *)(reg + REG_PAGE_DIRTY));
	ASSERT_EQ(0, get_register(self->vtl, HV_X64_REGISTER_RIP, value));
	EXPECT_EQ(0x2000, value[0]);
	ASSERT_EQ(0, get_register(self->vtl, HV_X64_REGISTER_RFLAGS, value));
	EXPECT_EQ(0x202, value[0]);
	/* Not dirty: the page's value is not taken. */
	*(__u64 *)(reg + REG_PAGE_RIP) = 0x3000;
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(0x2000, *(__u64 *)(reg + REG_PAGE_RIP));
	munmap(reg, 4096);
}

TEST_F(run, return_actions_are_at_most_256_bytes)
{
	struct vtl_run *run = self->run[0];
	long actions = sim_vtl0_count(0, "actions ");

	if (!X86_64)
		SKIP(return, "return actions are x86_64's (the VP assist page)");
	set_fx(run, 0);
	run->cancel = 0;
	memset(run->vtl_ret_actions, 0x11, sizeof(run->vtl_ret_actions));
	run->vtl_ret_action_size = 4096;
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(0, run->vtl_ret_action_size);
	EXPECT_EQ(actions + 1, sim_vtl0_count(0, "actions "));
}

TEST_F(run, a_huge_mapping_maps_the_run_pages_only)
{
	/*
	 * 16 TiB of file (2^32 pages): the run pages' part is walked, not every page of it, or
	 * the mmap would take minutes with the mmap lock held.
	 */
	size_t len = 16UL << 40;
	struct timespec t0, t1;
	char *map;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_NORESERVE, self->vtl, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_GT(2, t1.tv_sec - t0.tv_sec);
	/* CPU 0's run page, as the fixture's own mapping of it shows it. */
	EXPECT_EQ(self->run[0]->vtl_ret_action_size, ((struct vtl_run *)map)->vtl_ret_action_size);
	EXPECT_TRUE(touching_is_sigbus(map + (1UL << 30)));
	munmap(map, len);
}

TEST_F(run, a_poll_files_wake_up_cancels)
{
	struct mshv_vtl_set_poll_file args = { .cpu = 0 };
	struct vtl_run *run = self->run[0];
	__u64 one = 1;
	int a = eventfd(0, EFD_CLOEXEC), b = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	set_fx(run, 0);
	run->cancel = 0;
	args.fd = a;
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_SET_POLL_FILE, &args));
	/* A wake-up sets the flag even with no return in progress. */
	ASSERT_EQ(8, write(a, &one, sizeof(one)));
	EXPECT_EQ(1, run->cancel);
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(EINTR, errno);
	run->cancel = 0;
	/* Replaced: the old file no longer cancels, the new one does. */
	args.fd = b;
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_SET_POLL_FILE, &args));
	ASSERT_EQ(8, write(a, &one, sizeof(one)));
	EXPECT_EQ(0, run->cancel);
	ASSERT_EQ(8, write(b, &one, sizeof(one)));
	EXPECT_EQ(1, run->cancel);
	run->cancel = 0;
	/* The file's reference is the driver's: closing ours changes nothing. */
	close(b);
	EXPECT_EQ(0, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	close(a);
}

struct waker {
	int fd, delay_ms;
};

static void *wake_later(void *arg)
{
	struct waker *w = arg;
	__u64 one = 1;

	pin(1);
	usleep(w->delay_ms * 1000);
	if (write(w->fd, &one, sizeof(one)) != sizeof(one))
		return (void *)1;
	return NULL;
}

TEST_F(run, a_poll_file_reaches_a_cpu_in_the_loop)
{
	struct mshv_vtl_set_poll_file args = { .cpu = 0 };
	struct waker w = { .delay_ms = 50 };
	pthread_t thread;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	w.fd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, w.fd);
	args.fd = w.fd;
	set_fx(self->run[0], 0);
	self->run[0]->cancel = 0;
	ASSERT_EQ(0, ioctl(self->vtl, MSHV_SET_POLL_FILE, &args));
	ASSERT_EQ(0, sim_vtl0_program("0", 2, 0));
	ASSERT_EQ(0, pthread_create(&thread, NULL, wake_later, &w));
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_RETURN_TO_LOWER_VTL));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(1, self->run[0]->cancel);
	pthread_join(thread, NULL);
	self->run[0]->cancel = 0;
	close(w.fd);
}

TEST_F(run, poll_file_arguments)
{
	struct mshv_vtl_set_poll_file args = { .cpu = 0, .fd = 0x7fffffff };
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	/* No such file: upstream's EBADFD. */
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_SET_POLL_FILE, &args));
	EXPECT_EQ(EBADFD, errno);
	args.fd = efd;
	args.cpu = 0xffff;
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_SET_POLL_FILE, &args));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_SET_POLL_FILE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	close(efd);
}

TEST_F(hvcall, the_partitions_vsm_was_configured_at_load)
{
	struct get_vp_registers_in in = {
		.partition_id = HV_PARTITION_ID_SELF, .vp_index = HV_VP_INDEX_SELF,
		.input_vtl = 0, .name = 0x000D0007,
	};
	__u64 out[2] = { 0 };
	struct mshv_vtl_hvcall call = {
		.control = HVCALL_GET_VP_REGISTERS | 1ULL << 32,
		.input_size = sizeof(in), .input_ptr = (uintptr_t)&in,
		.output_size = sizeof(out), .output_ptr = (uintptr_t)out,
	};
	const __u16 codes[] = { HVCALL_GET_VP_REGISTERS, 0 };

	if (!simulated())
		SKIP(return, "needs the simulated hypervisor (its configuration is known)");
	ASSERT_LE(0, vtl_intercept_page());
	ASSERT_EQ(0, allow(self->fd, codes));
	ASSERT_EQ(0, ioctl(self->fd, MSHV_HVCALL, &call));
	EXPECT_EQ(1ULL << 32, call.status);
	/* VTL protection with every access, zeroing, VP start-up, CPUID, the intercept page. */
	EXPECT_EQ(0x1 | 0x1e | 0x20 | 0x200 | 0x400 | (vtl_intercept_page() ? 0x1000 : 0), out[0]);
}

/* Registers the VTLs share (x86_64), by their names in include/hyperv/hvgdk_mini.h. */
#define HVCALL_SET_VP_REGISTERS			0x0051
#define HV_X64_REGISTER_DR0			0x00050000
#define HV_X64_REGISTER_DR6			0x00050004
#define HV_X64_REGISTER_MSR_MTRR_CAP		0x0008000D
#define HV_X64_REGISTER_MSR_MTRR_DEF_TYPE	0x0008000E
#define HV_X64_REGISTER_MSR_MTRR_FIX4KF8000	0x0008007A

/*
 * VTL0's register `name` of VP `vp` as the hypervisor has it, read or written through
 * /dev/mshv_hvcall: the call's status (the ioctl's errno if it failed).
 */
static int hv_register(int fd, __u32 vp, __u32 name, bool set, __u64 *value)
{
	/* struct hv_input_get/set_vp_registers with one name or struct hv_register_assoc. */
	struct {
		__u64 partition_id;
		__u32 vp_index;
		__u8 input_vtl, rsvd_z8;
		__u16 rsvd_z16;
		struct hv_register_assoc assoc;
	} in = {
		.partition_id = HV_PARTITION_ID_SELF, .vp_index = vp, .input_vtl = 0x10,
		.assoc = { .name = name, .value = { *value } },
	};
	__u64 out[2] = { 0 };
	struct mshv_vtl_hvcall call = {
		.control = (set ? HVCALL_SET_VP_REGISTERS : HVCALL_GET_VP_REGISTERS) | 1ULL << 32,
		.input_size = set ? sizeof(in) : 20, .input_ptr = (uintptr_t)&in,
		.output_size = sizeof(out), .output_ptr = (uintptr_t)out,
	};

	if (ioctl(fd, MSHV_HVCALL, &call))
		return errno;
	if (!set)
		*value = out[0];
	return call.status == 1ULL << 32 ? 0 : (int)(call.status & 0xffff);
}

TEST_F(hvcall, shared_registers_are_the_hardwares_and_need_no_hypercall)
{
	const __u16 codes[] = { HVCALL_GET_VP_REGISTERS, HVCALL_SET_VP_REGISTERS, 0 };
	__u64 value[2], hv = 0, cap, def;
	long gets, sets;
	int mshv, vtl, n, dr6_shared;
	__u32 probe = MSHV_CAP_DR6_SHARED;

#ifndef __x86_64__
	SKIP(return, "only x86_64 has registers the VTLs share");
#endif
	if (!simulated())
		SKIP(return, "needs the simulated hypervisor (its calls are counted)");
	ASSERT_EQ(0, allow(self->fd, codes));
	ASSERT_EQ(0, pin(0));
	mshv = open("/dev/mshv", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mshv);
	vtl = ioctl(mshv, MSHV_CREATE_VTL, NULL);
	ASSERT_LE(0, vtl);
	gets = sim_calls(HVCALL_GET_VP_REGISTERS);
	sets = sim_calls(HVCALL_SET_VP_REGISTERS);

	/* DR0-DR3 and the MTRRs are read and written in the CPU, without the hypervisor. */
	for (n = 0; n < 4; n++)
		ASSERT_EQ(0, set_register(vtl, HV_X64_REGISTER_DR0 + n, 0x1000 * (n + 1), 0x5a5a));
	for (n = 0; n < 4; n++) {
		ASSERT_EQ(0, get_register(vtl, HV_X64_REGISTER_DR0 + n, value));
		EXPECT_EQ(0x1000 * (n + 1), value[0]);
		EXPECT_EQ(0, value[1]);
	}
	/* The MTRRs where the CPU has them (CPUID 1: EDX bit 12), the fixed ones if it says so. */
#ifdef __x86_64__
	{
		unsigned int eax, ebx, ecx, edx;

		__cpuid(1, eax, ebx, ecx, edx);
		ASSERT_NE(0, edx & (1 << 12));
	}
#endif
	ASSERT_EQ(0, get_register(vtl, HV_X64_REGISTER_MSR_MTRR_CAP, value));
	cap = value[0];
	ASSERT_EQ(0, get_register(vtl, HV_X64_REGISTER_MSR_MTRR_DEF_TYPE, value));
	def = value[0];
	/* Written back as it was: the test kernel has no CONFIG_MTRR (as a VTL2 kernel must). */
	ASSERT_EQ(0, set_register(vtl, HV_X64_REGISTER_MSR_MTRR_DEF_TYPE, def, 0));
	if (cap & (1 << 8))
		EXPECT_EQ(0, get_register(vtl, HV_X64_REGISTER_MSR_MTRR_FIX4KF8000, value));
	EXPECT_EQ(gets, sim_calls(HVCALL_GET_VP_REGISTERS));
	EXPECT_EQ(sets, sim_calls(HVCALL_SET_VP_REGISTERS));

	/* The hypervisor's view of them is the same hardware, both ways. */
	EXPECT_EQ(0, hv_register(self->fd, HV_VP_INDEX_SELF, HV_X64_REGISTER_DR0 + 2, false, &hv));
	EXPECT_EQ(0x3000, hv);
	EXPECT_EQ(0, hv_register(self->fd, HV_VP_INDEX_SELF, HV_X64_REGISTER_MSR_MTRR_CAP, false,
				 &hv));
	EXPECT_EQ(cap, hv);
	hv = 0x7777;
	EXPECT_EQ(0, hv_register(self->fd, HV_VP_INDEX_SELF, HV_X64_REGISTER_DR0 + 1, true, &hv));
	ASSERT_EQ(0, get_register(vtl, HV_X64_REGISTER_DR0 + 1, value));
	EXPECT_EQ(0x7777, value[0]);

	/* Each CPU has its own: CPU 1's DR0 seen from CPU 0 through the hypervisor. */
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
		ASSERT_EQ(0, pin(1));
		ASSERT_EQ(0, set_register(vtl, HV_X64_REGISTER_DR0, 0xc1c1, 0));
		ASSERT_EQ(0, pin(0));
		EXPECT_EQ(0, hv_register(self->fd, 1, HV_X64_REGISTER_DR0, false, &hv));
		EXPECT_EQ(0xc1c1, hv);
		ASSERT_EQ(0, get_register(vtl, HV_X64_REGISTER_DR0, value));
		EXPECT_EQ(0x1000, value[0]);
		hv = 0;
		EXPECT_EQ(0, hv_register(self->fd, 1, HV_X64_REGISTER_DR0, true, &hv));
	}

#ifdef __x86_64__
	/*
	 * A slot a breakpoint of VTL2's own uses (perf's, on this task) is refused; the others
	 * and, once the breakpoint is gone, that one too, are written.
	 */
	{
		static __u64 watched;
		struct perf_event_attr attr = {
			.type = PERF_TYPE_BREAKPOINT, .size = sizeof(attr),
			.bp_type = HW_BREAKPOINT_W, .bp_addr = (uintptr_t)&watched,
			.bp_len = HW_BREAKPOINT_LEN_8, .exclude_kernel = 1,
		};
		int bp = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
		int busy = 0, written = 0;

		ASSERT_LE(0, bp);
		for (n = 0; n < 4; n++) {
			if (!set_register(vtl, HV_X64_REGISTER_DR0 + n, 0, 0))
				written++;
			else
				busy += errno == EBUSY;
		}
		EXPECT_EQ(1, busy);
		EXPECT_EQ(3, written);
		close(bp);
		for (n = 0; n < 4; n++)
			EXPECT_EQ(0, set_register(vtl, HV_X64_REGISTER_DR0 + n, 0, 0));
	}
#endif

	/* DR6 is the hypervisor's unless it says DR6 is shared. */
	dr6_shared = ioctl(mshv, MSHV_CHECK_EXTENSION, &probe);
	ASSERT_LE(0, dr6_shared);
	sets = sim_calls(HVCALL_SET_VP_REGISTERS);
	ASSERT_EQ(0, set_register(vtl, HV_X64_REGISTER_DR6, 0xffff4ff0, 0));
	EXPECT_EQ(sets + !dr6_shared, sim_calls(HVCALL_SET_VP_REGISTERS));
	if (dr6_shared) {
		/* Its upper half is reserved: the CPU would fault. */
		EXPECT_EQ(-1, set_register(vtl, HV_X64_REGISTER_DR6, 1ULL << 32, 0));
		EXPECT_EQ(EINVAL, errno);
	}

	for (n = 0; n < 4; n++)
		EXPECT_EQ(0, set_register(vtl, HV_X64_REGISTER_DR0 + n, 0, 0));
	close(vtl);
	close(mshv);
}

TEST_HARNESS_MAIN
