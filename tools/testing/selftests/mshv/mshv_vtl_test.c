// SPDX-License-Identifier: GPL-2.0
/*
 * The VTL personality (mshv_vtl.ko) through its devices, as a paravisor at VTL2 uses them:
 * /dev/mshv's capability probes and MSHV_CREATE_VTL, VTL0's registers through a VTL file, and
 * /dev/mshv_hvcall's allow-list. Run in a VM where mshv_vtl is loaded (with the simulated
 * hypervisor hosting the kernel at VTL2); the root personality's tests run in another.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"

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

struct hv_register_assoc {
	__u32 name;
	__u32 reserved1;
	__u64 reserved2;
	__u64 value[2];
};

struct get_vp_registers_in {
	__u64 partition_id;
	__u32 vp_index;
	__u8 input_vtl;
	__u8 rsvd_z8;
	__u16 rsvd_z16;
	__u32 name;
};

static bool vtl_personality(void)
{
	return access("/dev/mshv_hvcall", F_OK) == 0;
}

static bool simulated(void)
{
	return access(SIM_DIR "calls", R_OK) == 0;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

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
	self->vtl = -1;
	self->mshv = open("/dev/mshv", O_RDWR | O_CLOEXEC);
	if (!vtl_personality())
		SKIP(return, "mshv_vtl is not loaded (no /dev/mshv_hvcall)");
	ASSERT_LE(0, self->mshv);
	self->vtl = ioctl(self->mshv, MSHV_CREATE_VTL, NULL);
	ASSERT_LE(0, self->vtl);
}

FIXTURE_TEARDOWN(vtl)
{
	if (self->vtl >= 0)
		close(self->vtl);
	if (self->mshv >= 0)
		close(self->mshv);
}

TEST_F(vtl, extensions)
{
	__u32 cap;

	cap = MSHV_CAP_CORE_API_STABLE;
	EXPECT_EQ(0, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
	/* No register page is offered (yet). */
	cap = MSHV_CAP_REGISTER_PAGE;
	EXPECT_EQ(0, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
	if (simulated()) {
		/* What the simulated hypervisor offers VTL2: return actions, DR6 not shared. */
		cap = MSHV_CAP_VTL_RETURN_ACTION;
		EXPECT_EQ(1, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
		cap = MSHV_CAP_DR6_SHARED;
		EXPECT_EQ(0, ioctl(self->mshv, MSHV_CHECK_EXTENSION, &cap));
	}
	for (cap = MSHV_CAP_DR6_SHARED + 1; cap < 64; cap++) {
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

/* Drops CAP_SYS_ADMIN in a child, which then opens `path`: the errno it got, or 0. */
static int open_without_sys_admin(const char *path)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct data[2] = { 0 };
		int fd;

		if (syscall(SYS_capget, &header, data))
			_exit(100);
		data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
		if (syscall(SYS_capset, &header, data))
			_exit(101);
		fd = open(path, O_RDWR);
		_exit(fd >= 0 ? 0 : errno);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
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

TEST_HARNESS_MAIN
