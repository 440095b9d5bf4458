// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_RUN_VP: a VP runs until it stops on an intercept, whose 256-byte message comes back to
 * user space; a signal interrupts a VP that has not stopped. The intercepts are made by the
 * simulated hypervisor (its debugfs `inject` file), as a guest would make them; without it the
 * tests are skipped (guest code is never executed here).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"

#define HVCALL_GET_VP_REGISTERS		0x50
#define HVCALL_SET_VP_REGISTERS		0x51
/* x86's RAX, arm64's X0: the same number. */
#define HV_REGISTER_RAX_X0		0x00020000
#define HV_X64_REGISTER_RIP		0x00020010
#define HV_ARM64_REGISTER_PC		0x00020022
#define HVMSG_UNMAPPED_GPA		0x80000000
#define HVMSG_UNRECOVERABLE_EXCEPTION	0x80000021
#define HVMSG_X64_IO_PORT_INTERCEPT	0x80010000
#define HVMSG_X64_HALT			0x80010007

/* struct hv_message, with the x64 and arm64 intercept fields the tests read. */
struct message {
	__u32 type;
	__u8 payload_size, flags, rsvd[2];
	__u64 sender;
	union {
		__u64 payload[30];
		struct {
			__u32 vp_index;
			__u8 instruction_length, access_type;
			__u16 execution_state;
			__u8 cs[16];
			__u64 rip, rflags;
			union {
				struct {
					__u16 port;
					__u8 access_info, byte_count;
					__u32 r;
					__u64 rax;
				} io;
				struct {
					__u32 cache;
					__u8 byte_count, access_info, tpr, r;
					__u64 gva, gpa;
					__u8 bytes[16];
				} mem;
			};
		} x64;
		/* struct hv_arm64_intercept_message_header, then the memory intercept's fields. */
		struct {
			__u32 vp_index;
			__u8 instruction_length, access_type;
			__u16 execution_state;
			__u64 pc, cpsr;
			struct {
				__u32 cache;
				__u8 byte_count, access_info;
				__u16 r1;
				__u8 bytes[4];
				__u32 r2;
				__u64 gva, gpa, syndrome;
			} mem;
		} arm64;
	};
};

static bool have_sim(void)
{
	return access(SIM_DIR "inject", W_OK) == 0;
}

/* Sets the guest's instruction pointer (x86 RIP, arm64 PC). */
static int set_ip(int vp_fd, int vp, __u64 ip)
{
#ifdef __x86_64__
	const __u32 name = HV_X64_REGISTER_RIP;
#else
	const __u32 name = HV_ARM64_REGISTER_PC;
#endif
	struct {
		__u64 pt; __u32 vp; __u8 vtl, r8; __u16 r16;
		struct { __u32 name, r1; __u64 r2; __u64 value[2]; } reg;
	} in = { .vp = vp, .reg = { .name = name, .value = { ip } } };
	struct mshv_root_hvcall args = {
		.code = HVCALL_SET_VP_REGISTERS, .reps = 1, .in_sz = sizeof(in),
		.in_ptr = (__u64)(uintptr_t)&in,
	};

	return ioctl(vp_fd, MSHV_ROOT_HVCALL, &args);
}

/* The low 64 bits of VP vp's register `name`, or -1 with errno. */
static long long get_reg(int vp_fd, int vp, __u32 name)
{
	struct { __u64 pt; __u32 vp; __u8 vtl, r8; __u16 r16; __u32 name; } in = {
		.vp = vp, .name = name,
	};
	__u64 value[2] = { 0 };
	struct mshv_root_hvcall args = {
		.code = HVCALL_GET_VP_REGISTERS, .reps = 1, .in_sz = sizeof(in),
		.out_sz = sizeof(value), .in_ptr = (__u64)(uintptr_t)&in,
		.out_ptr = (__u64)(uintptr_t)value,
	};

	return ioctl(vp_fd, MSHV_ROOT_HVCALL, &args) ? -1 : (long long)value[0];
}

/* The scheduler type the simulated hypervisor reports (4: the root's), or -1. */
static int sim_scheduler(void)
{
	char buf[32];

	return sim_read("scheduler", buf, sizeof(buf)) ? atoi(buf) : -1;
}

#define HV_SCHEDULER_TYPE_ROOT 4
#define HVCALL_DISPATCH_VP 0xc2

FIXTURE(run) {
	int mshv, pt, vp[2];
	long id;
};

FIXTURE_SETUP(run)
{
	struct mshv_create_partition args = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };
	struct mshv_create_vp vp = { 0 };
	char buf[4096];
	int i;

	if (!have_sim())
		SKIP(return, "no simulated hypervisor: nothing can make a VP stop");
	self->mshv = open("/dev/mshv", O_RDWR);
	ASSERT_LE(0, self->mshv);
	self->pt = ioctl(self->mshv, MSHV_CREATE_PARTITION, &args);
	ASSERT_LE(0, self->pt);
	self->id = -1;
	sim_newest_partition(buf, sizeof(buf), &self->id);
	ASSERT_LT(0, self->id);
	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	for (i = 0; i < 2; i++) {
		vp.vp_index = i;
		self->vp[i] = ioctl(self->pt, MSHV_CREATE_VP, &vp);
		ASSERT_LE(0, self->vp[i]);
	}
}

FIXTURE_TEARDOWN(run)
{
	if (!have_sim())
		return;
	/* Back online, should a test that took it offline have stopped half way. */
	set_cpu_online(1, 1);
	close(self->vp[0]);
	close(self->vp[1]);
	close(self->pt);
	close(self->mshv);
}

/*
 * Every intercept message starts with the architecture's header: hvhdk.h's
 * struct hv_x64_intercept_message_header (40 bytes, RIP at byte 24) or
 * struct hv_arm64_intercept_message_header (24 bytes, PC at byte 8).
 */
TEST_F(run, the_header_is_the_architectures)
{
	struct message m;

	ASSERT_EQ(0, set_ip(self->vp[1], 1, 0x2000));
	ASSERT_EQ(0, sim_inject(self->id, 1, "halt"));
	ASSERT_EQ(0, ioctl(self->vp[1], MSHV_RUN_VP, &m));
	EXPECT_EQ(HVMSG_X64_HALT, m.type);
	EXPECT_EQ(self->id, m.sender);
#ifdef __x86_64__
	EXPECT_EQ(40, m.payload_size);
	EXPECT_EQ(1, m.x64.vp_index);
	EXPECT_EQ(1, m.x64.instruction_length & 0xf);
	EXPECT_EQ(0x2000, m.x64.rip);
#else
	EXPECT_EQ(24, m.payload_size);
	EXPECT_EQ(1, m.arm64.vp_index);
	EXPECT_EQ(4, m.arm64.instruction_length);
	EXPECT_EQ(0x2000, m.arm64.pc);
	EXPECT_EQ(0, m.payload[3]);
#endif

	/* A memory intercept: hv_x64_ or hv_arm64_memory_intercept_message. */
	ASSERT_EQ(0, sim_inject(self->id, 1, "write 0xfee00000 4 1"));
	ASSERT_EQ(0, ioctl(self->vp[1], MSHV_RUN_VP, &m));
	EXPECT_EQ(HVMSG_UNMAPPED_GPA, m.type);
#ifdef __x86_64__
	EXPECT_EQ(80, m.payload_size);
	EXPECT_EQ(1, m.x64.access_type);
	EXPECT_EQ(0x2000, m.x64.rip);
	EXPECT_EQ(0xfee00000, m.x64.mem.gpa);
#else
	EXPECT_EQ(64, m.payload_size);
	EXPECT_EQ(1, m.arm64.access_type);
	EXPECT_EQ(0x2000, m.arm64.pc);
	EXPECT_EQ(0xfee00000, m.arm64.mem.gpa);
#endif
}

TEST_F(run, io_port_intercept)
{
	struct message m;

#ifndef __x86_64__
	SKIP(return, "I/O port intercepts are x86's");
#endif
	ASSERT_EQ(0, set_ip(self->vp[0], 0, 0x1000));
	ASSERT_EQ(0, sim_inject(self->id, 0, "io 0x3f8 0x41"));
	ASSERT_EQ(0, ioctl(self->vp[0], MSHV_RUN_VP, &m));
	EXPECT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, m.type);
	EXPECT_EQ(self->id, m.sender);
	EXPECT_EQ(0, m.x64.vp_index);
	EXPECT_EQ(1, m.x64.access_type);
	EXPECT_EQ(0x1000, m.x64.rip);
	EXPECT_EQ(0x3f8, m.x64.io.port);
	EXPECT_EQ(0x41, m.x64.io.rax);
}

TEST_F(run, intercepts_come_in_order)
{
	struct message m;

	ASSERT_EQ(0, sim_inject(self->id, 1, "mmio 0xfee00000"));
	ASSERT_EQ(0, sim_inject(self->id, 1, "halt"));
	ASSERT_EQ(0, sim_inject(self->id, 1, "exception"));
	ASSERT_EQ(0, ioctl(self->vp[1], MSHV_RUN_VP, &m));
	EXPECT_EQ(HVMSG_UNMAPPED_GPA, m.type);
	EXPECT_EQ(1, m.x64.vp_index);
#ifdef __x86_64__
	EXPECT_EQ(0xfee00000, m.x64.mem.gpa);
#else
	/* struct hv_arm64_memory_intercept_message: the address at payload byte 48. */
	EXPECT_EQ(0xfee00000, m.payload[6]);
	EXPECT_EQ(1, m.arm64.vp_index);
#endif
	ASSERT_EQ(0, ioctl(self->vp[1], MSHV_RUN_VP, &m));
	EXPECT_EQ(HVMSG_X64_HALT, m.type);
	ASSERT_EQ(0, ioctl(self->vp[1], MSHV_RUN_VP, &m));
	EXPECT_EQ(HVMSG_UNRECOVERABLE_EXCEPTION, m.type);
}

/*
 * An access's message carries what the hypervisor knows of it: the instruction's address, its
 * bytes (as many as fetched: up to 16 on x86, the A64 instruction) and the virtual address it
 * used (gva_valid); the guest's value register holds the value it writes. Without them, none.
 */
TEST_F(run, an_access_carries_its_instruction_and_address)
{
#ifdef __x86_64__
	/* mov [dword 0xfed00108], eax (16-bit code) */
	static const char what[] =
		"write 0xfed00108 4 0x12345678 insn 6667a30801d0fe at 0x1000 gva 0xfed00108";
	static const __u8 bytes[] = { 0x66, 0x67, 0xa3, 0x08, 0x01, 0xd0, 0xfe };
#else
	/* str w0, [x1] */
	static const char what[] =
		"write 0xfed00108 4 0x12345678 at 0x1000 gva 0xfed00108 insn 200000b9";
	static const __u8 bytes[] = { 0x20, 0x00, 0x00, 0xb9 };
#endif
	static const char *const bad[] = {
		"read 0x1000 insn 0", "read 0x1000 insn zz", "read 0x1000 insn",
		"read 0x1000 at 1 at 2", "read 0x1000 gva", "read 0x1000 jump 1",
		"read 0x1000 insn +f",
#ifdef __x86_64__
		"read 0x1000 insn 00112233445566778899aabbccddeeff00",
#else
		"read 0x1000 insn 0011223344",
#endif
	};
	struct message m;
	unsigned int i;

	ASSERT_EQ(0, sim_inject(self->id, 0, what));
	ASSERT_EQ(0, ioctl(self->vp[0], MSHV_RUN_VP, &m));
	EXPECT_EQ(HVMSG_UNMAPPED_GPA, m.type);
#ifdef __x86_64__
	EXPECT_EQ(1, m.x64.access_type);
	EXPECT_EQ(0x1000, m.x64.rip);
	EXPECT_EQ(sizeof(bytes), m.x64.mem.byte_count);
	EXPECT_EQ(1, m.x64.mem.access_info);
	EXPECT_EQ(0xfed00108, m.x64.mem.gva);
	EXPECT_EQ(0xfed00108, m.x64.mem.gpa);
	EXPECT_EQ(0, memcmp(bytes, m.x64.mem.bytes, sizeof(bytes)));
#else
	EXPECT_EQ(1, m.arm64.access_type);
	EXPECT_EQ(0x1000, m.arm64.pc);
	EXPECT_EQ(sizeof(bytes), m.arm64.mem.byte_count);
	EXPECT_EQ(1, m.arm64.mem.access_info);
	EXPECT_EQ(0xfed00108, m.arm64.mem.gva);
	EXPECT_EQ(0xfed00108, m.arm64.mem.gpa);
	EXPECT_EQ(0, memcmp(bytes, m.arm64.mem.bytes, sizeof(bytes)));
#endif
	EXPECT_EQ(0x12345678, get_reg(self->vp[0], 0, HV_REGISTER_RAX_X0) & 0xffffffff);

	ASSERT_EQ(0, sim_inject(self->id, 0, "read 0xfed00000"));
	ASSERT_EQ(0, ioctl(self->vp[0], MSHV_RUN_VP, &m));
#ifdef __x86_64__
	EXPECT_EQ(0, m.x64.mem.byte_count);
	EXPECT_EQ(0, m.x64.mem.access_info);
	EXPECT_EQ(0, m.x64.mem.gva);
	EXPECT_EQ(0xfed00000, m.x64.mem.gpa);
#else
	EXPECT_EQ(0, m.arm64.mem.byte_count);
	EXPECT_EQ(0, m.arm64.mem.access_info);
	EXPECT_EQ(0, m.arm64.mem.gva);
	EXPECT_EQ(0xfed00000, m.arm64.mem.gpa);
#endif
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_EQ(-1, sim_inject(self->id, 0, bad[i])) TH_LOG("bad case %u", i);
}

TEST_F(run, bad_injections_are_refused)
{
	EXPECT_EQ(-1, sim_inject(self->id, 7, "halt"));
	EXPECT_EQ(-1, sim_inject(self->id + 1000, 0, "halt"));
	EXPECT_EQ(-1, sim_inject(self->id, 0, "jump"));
	EXPECT_EQ(-1, sim_inject(self->id, 0, "io 0x10000 1"));
#ifndef __x86_64__
	/* No I/O ports on arm64. */
	EXPECT_EQ(-1, sim_inject(self->id, 0, "io 0x3f8 0x41"));
#endif
}

struct runner {
	int fd;
	int ret, err;
	struct message m;
};

static void *run_vp(void *arg)
{
	struct runner *r = arg;

	r->ret = ioctl(r->fd, MSHV_RUN_VP, &r->m);
	r->err = errno;
	return NULL;
}

static void on_signal(int sig)
{
}

TEST_F(run, a_running_vp_stops_when_the_guest_does)
{
	struct runner r = { .fd = self->vp[0] };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, run_vp, &r));
	usleep(100 * 1000);
#ifdef __x86_64__
	ASSERT_EQ(0, sim_inject(self->id, 0, "io 0x80 0x7"));
#else
	ASSERT_EQ(0, sim_inject(self->id, 0, "halt"));
#endif
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, r.ret);
#ifdef __x86_64__
	EXPECT_EQ(HVMSG_X64_IO_PORT_INTERCEPT, r.m.type);
	EXPECT_EQ(0x80, r.m.x64.io.port);
#else
	EXPECT_EQ(HVMSG_X64_HALT, r.m.type);
#endif
}

TEST_F(run, a_signal_interrupts_a_running_vp)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct runner r = { .fd = self->vp[1] };
	struct message m;
	pthread_t t;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, run_vp, &r));
	usleep(100 * 1000);
	ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-1, r.ret);
	EXPECT_EQ(EINTR, r.err);
	/* The VP stays suspended until run again: an intercept now waits for that. */
	ASSERT_EQ(0, sim_inject(self->id, 1, "halt"));
	ASSERT_EQ(0, ioctl(self->vp[1], MSHV_RUN_VP, &m));
	EXPECT_EQ(HVMSG_X64_HALT, m.type);
}

TEST_F(run, other_vps_do_not_wake_it)
{
	struct runner r = { .fd = self->vp[0] };
	struct message m;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, run_vp, &r));
	ASSERT_EQ(0, sim_inject(self->id, 1, "halt"));
	ASSERT_EQ(0, ioctl(self->vp[1], MSHV_RUN_VP, &m));
	EXPECT_EQ(1, m.x64.vp_index);
	usleep(100 * 1000);
	EXPECT_EQ(0, pthread_tryjoin_np(t, NULL) == 0);
	ASSERT_EQ(0, sim_inject(self->id, 0, "halt"));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, r.ret);
	EXPECT_EQ(0, r.m.x64.vp_index);
}

TEST_F(run, bad_buffer_is_efault)
{
	ASSERT_EQ(0, sim_inject(self->id, 0, "halt"));
	EXPECT_EQ(-1, ioctl(self->vp[0], MSHV_RUN_VP, NULL));
	EXPECT_EQ(EFAULT, errno);
}

/*
 * The simulator delivers its messages as a real hypervisor does: in the SINT's interrupt, in
 * hard interrupt context, not in the thread that made the hypercall. Its deliveries file
 * counts the messages handed to the driver since it loaded, and those of them in hard
 * interrupt context: all of them.
 */
TEST_F(run, messages_arrive_in_hard_interrupt_context)
{
	long before = -1, delivered = -1, hardirq = -1;
	struct message m;

	ASSERT_TRUE(sim_deliveries(&before, &hardirq));
	ASSERT_EQ(0, sim_inject(self->id, 0, "halt"));
	ASSERT_EQ(0, ioctl(self->vp[0], MSHV_RUN_VP, &m));
	EXPECT_EQ(HVMSG_X64_HALT, m.type);
	ASSERT_TRUE(sim_deliveries(&delivered, &hardirq));
	EXPECT_LT(before, delivered);
	EXPECT_EQ(delivered, hardirq);
}

#define SINT_MASKED		0x10000ULL	/* bit 16 */
#define SINT_AS_INTERCEPT	0x80000ULL	/* bit 19 */

/* Whether CPU `cpu`'s SynIC is set up as the root sets it up. */
static bool synic_taken(int cpu)
{
	return (sim_synic_count(cpu, "scontrol ") & 1) && (sim_synic_count(cpu, "simp ") & 1) &&
	       (sim_synic_count(cpu, "siefp ") & 1) && (sim_synic_count(cpu, "sirbp ") & 1) &&
	       !(sim_synic_sint(cpu, 0) & SINT_MASKED) &&
	       !(sim_synic_sint(cpu, 5) & SINT_MASKED) &&
	       (sim_synic_sint(cpu, 5) & SINT_AS_INTERCEPT) &&
	       (sim_synic_sint(cpu, 1) & SINT_MASKED);
}

/* Whether CPU `cpu`'s SynIC is as the hypervisor provided it: off, SINT0 and SINT5 masked. */
static bool synic_left(int cpu)
{
	return !(sim_synic_count(cpu, "scontrol ") & 1) && !(sim_synic_count(cpu, "simp ") & 1) &&
	       !(sim_synic_count(cpu, "siefp ") & 1) && !(sim_synic_count(cpu, "sirbp ") & 1) &&
	       (sim_synic_count(cpu, "simp ") >> 12) && (sim_synic_count(cpu, "sirbp ") >> 12) &&
	       (sim_synic_sint(cpu, 0) & SINT_MASKED) && (sim_synic_sint(cpu, 5) & SINT_MASKED);
}

/*
 * Runs VP vp from CPU `cpu` to the halt injected: whether it came, through a SynIC interrupt
 * (under the root scheduler, a VP dispatched before returns the intercept from its dispatch,
 * with no interrupt).
 */
static bool halts_from(struct __test_metadata *_metadata, int id, int vp, int fd, int cpu)
{
	long before = sim_synic_count(-1, "interrupts ");
	struct message m;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) || sim_inject(id, vp, "halt"))
		return false;
	m.type = 0;
	if (ioctl(fd, MSHV_RUN_VP, &m))
		return false;
	return m.type == HVMSG_X64_HALT && (sim_scheduler() == HV_SCHEDULER_TYPE_ROOT ||
					    sim_synic_count(-1, "interrupts ") > before);
}

/*
 * The root's SynIC, as the hypervisor sees it: on each CPU online the message, event flags and
 * event ring pages the hypervisor provided are enabled, SINT0 and the doorbell SINT (5,
 * as_intercept) unmasked, the SynIC on, and a VP's intercept comes through them to a thread
 * on that CPU. A CPU that goes offline has all of it undone (the pages stay the
 * hypervisor's); one that comes back has it again.
 */
TEST_F(run, the_synic_is_set_up_on_each_cpu_online)
{
	cpu_set_t all;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	if (CPU_COUNT(&all) < 2 || !CPU_ISSET(1, &all))
		SKIP(return, "needs CPUs 0 and 1");
	EXPECT_TRUE(synic_taken(0));
	EXPECT_TRUE(synic_taken(1));
	EXPECT_TRUE(halts_from(_metadata, self->id, 0, self->vp[0], 0));
	EXPECT_TRUE(halts_from(_metadata, self->id, 1, self->vp[1], 1));
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
	if (set_cpu_online(1, 0))
		SKIP(return, "CPU 1 cannot go offline (%s)", strerror(errno));
	EXPECT_TRUE(synic_left(1));
	EXPECT_TRUE(synic_taken(0));
	EXPECT_TRUE(halts_from(_metadata, self->id, 0, self->vp[0], 0));
	ASSERT_EQ(0, set_cpu_online(1, 1));
	EXPECT_TRUE(synic_taken(1));
	EXPECT_TRUE(halts_from(_metadata, self->id, 1, self->vp[1], 1));
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
}

/* A child that makes one ioctl on fd and exits; its pid. */
static pid_t child_ioctl(int fd, unsigned long cmd)
{
	char *buf = aligned_alloc(4096, 4096);
	struct mshv_get_set_vp_state state = {
		.type = MSHV_VP_STATE_LAPIC, .buf_sz = 4096, .buf_ptr = (uintptr_t)buf,
	};
	pid_t pid;

	if (!buf)
		return -1;
	pid = fork();
	if (pid == 0) {
		ioctl(fd, cmd, cmd == MSHV_RUN_VP ? (void *)buf : (void *)&state);
		_exit(0);
	}
	free(buf);
	return pid;
}

/* Whether child pid ends within ms milliseconds (it is reaped). */
static bool ends_within(pid_t pid, int ms)
{
	int status, i;

	for (i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/*
 * A VP's ioctls serialise on the VP (MSHV_RUN_VP for its whole run), and the wait for the VP
 * ends on a fatal signal: a killed VMM never stays blocked in the kernel.
 */
TEST_F(run, a_kill_ends_the_wait_for_a_running_vp)
{
	pid_t runner, waiter;

	runner = child_ioctl(self->vp[0], MSHV_RUN_VP);
	ASSERT_LT(0, runner);
	usleep(200 * 1000);
	waiter = child_ioctl(self->vp[0], MSHV_GET_VP_STATE);
	ASSERT_LT(0, waiter);
	/* It waits for the run to end. */
	EXPECT_FALSE(ends_within(waiter, 300));
	ASSERT_EQ(0, kill(waiter, SIGKILL));
	EXPECT_TRUE(ends_within(waiter, 2000));
	ASSERT_EQ(0, kill(runner, SIGKILL));
	EXPECT_TRUE(ends_within(runner, 2000));
	/* Reaped either way, so the next test starts clean. */
	waitpid(waiter, NULL, 0);
	waitpid(runner, NULL, 0);
}

/*
 * Under the root scheduler MSHV_RUN_VP dispatches the VP itself (HVCALL_DISPATCH_VP): the
 * first dispatch finds a new VP explicitly suspended and clears that, the next finds it with
 * nothing to do (blocked) and waits for the hypervisor's signal, which the intercept brings;
 * the dispatch after it returns the intercept. Under the hypervisor's schedulers no dispatch
 * is made. make check runs every test here under both (hypervisor=3: the root scheduler).
 */
TEST_F(run, the_root_scheduler_has_the_vp_dispatched)
{
	long before = sim_calls(HVCALL_DISPATCH_VP);
	pid_t child;
	int status;
	struct message m;

	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		usleep(200 * 1000);
		_exit(sim_inject(self->id, 0, "halt") ? 1 : 0);
	}
	ASSERT_EQ(0, ioctl(self->vp[0], MSHV_RUN_VP, &m));
	EXPECT_EQ(HVMSG_X64_HALT, m.type);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, status);
	if (sim_scheduler() == HV_SCHEDULER_TYPE_ROOT) {
		/* Suspended, then the halt (after the signal the intercept brought). */
		EXPECT_LE(before + 2, sim_calls(HVCALL_DISPATCH_VP));
	} else {
		EXPECT_EQ(before, sim_calls(HVCALL_DISPATCH_VP));
	}
}

TEST_HARNESS_MAIN
