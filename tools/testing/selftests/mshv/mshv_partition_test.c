// SPDX-License-Identifier: GPL-2.0
/*
 * The root device's partition and VP files: MSHV_CREATE_PARTITION (v1 and v2), the partition
 * file's MSHV_INITIALIZE_PARTITION and MSHV_CREATE_VP, the VP file's mmap, MSHV_ROOT_HVCALL on
 * all three kinds of file, and the partition's lifetime.
 *
 * What reached the hypervisor is read back from the simulated hypervisor's debugfs files
 * (/sys/kernel/debug/mshv_sim/); without them (a real hypervisor) those tests are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"

/* Not in the uapi header: the driver's limit on VP indexes. */
#define MSHV_MAX_VPS 256

#define HVCALL_GET_PARTITION_PROPERTY	0x44
#define HVCALL_SET_PARTITION_PROPERTY	0x45
#define HVCALL_GET_VP_REGISTERS		0x50
#define HVCALL_SET_VP_REGISTERS		0x51
#define HVCALL_DEPOSIT_MEMORY		0x48
#define HVCALL_ASSERT_VIRTUAL_INTERRUPT	0x94
#define HVCALL_REGISTER_INTERCEPT_RESULT	0x91
#define HVCALL_GET_VP_CPUID_VALUES	0xf4

#define HV_STATUS_UNKNOWN_PROPERTY	0x9
#define PROPERTY_PRIVILEGE_FLAGS	0x00010000
#define PROPERTY_SYNTHETIC_PROC_FEATURES 0x00010001
#define PROPERTY_PROCESSOR_FEATURES0	0x0006000a

static const __u64 bank0 = 0x1122334455667788ULL, bank1 = 0x8000000000000001ULL;

static int open_mshv(void)
{
	return open("/dev/mshv", O_RDWR | O_CLOEXEC);
}

static int create(int mshv, __u64 flags)
{
	struct mshv_create_partition_v2 args = {
		.pt_flags = flags,
		.pt_num_cpu_fbanks = MSHV_NUM_CPU_FEATURES_BANKS,
		.pt_cpu_fbanks = { bank0, bank1 },
	};

	return ioctl(mshv, MSHV_CREATE_PARTITION, &args);
}

static int create_v2(int mshv)
{
	return create(mshv, 1 << MSHV_PT_BIT_LAPIC | 1 << MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES);
}

/* The simulator's line for the newest partition, or "". */
static const char *newest(char *buf, size_t size)
{
	const char *line = sim_newest_partition(buf, size, NULL);

	return line ? line : "";
}

static bool have_sim(void)
{
	return access(SIM_DIR "partitions", R_OK) == 0;
}

#define NO_SIM "no simulated hypervisor: the test reads its debugfs"

static int hvcall(int fd, __u16 code, __u16 reps, void *in, __u16 in_sz, void *out, __u16 out_sz,
		  struct mshv_root_hvcall *args)
{
	*args = (struct mshv_root_hvcall) {
		.code = code, .reps = reps, .in_sz = in_sz, .out_sz = out_sz,
		.in_ptr = (__u64)(uintptr_t)in, .out_ptr = (__u64)(uintptr_t)out,
	};
	return ioctl(fd, MSHV_ROOT_HVCALL, args);
}

TEST(create_v1_and_v2)
{
	int mshv = open_mshv(), pt;

	ASSERT_LE(0, mshv);
	pt = create(mshv, 1 << MSHV_PT_BIT_LAPIC);
	ASSERT_LE(0, pt);
	/* Close-on-exec, and lseek does nothing, as upstream. */
	EXPECT_EQ(FD_CLOEXEC, fcntl(pt, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, lseek(pt, 100, SEEK_SET));
	EXPECT_EQ(0, close(pt));
	pt = create_v2(mshv);
	ASSERT_LE(0, pt);
	EXPECT_EQ(0, close(pt));
	EXPECT_EQ(0, close(mshv));
}

TEST(v2_banks_reach_the_hypervisor_unchanged)
{
	struct mshv_create_partition_v2 args = {
		.pt_flags = 1 << MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES | 1 << MSHV_PT_BIT_X2APIC,
		.pt_num_cpu_fbanks = 2,
		.pt_cpu_fbanks = { bank0, bank1 },
#ifdef __x86_64__
		.pt_disabled_xsave = 0x5,
#endif
	};
	char buf[65536], want[256];
	int mshv, pt;

	if (!have_sim())
		SKIP(return, NO_SIM);
	mshv = open_mshv();
	pt = ioctl(mshv, MSHV_CREATE_PARTITION, &args);
	ASSERT_LE(0, pt);
	snprintf(want, sizeof(want), "disabled_features=%#llx,%#llx disabled_xsave=%#x",
		 (unsigned long long)bank0, (unsigned long long)bank1,
#ifdef __x86_64__
		 0x5
#else
		 0
#endif
		 );
	EXPECT_NE(NULL, strstr(newest(buf, sizeof(buf)), want)) {
		TH_LOG("want \"%s\" in \"%s\"", want, buf);
	}
	/* EXO | INTERCEPT_MESSAGE_PAGE | X2APIC; compatibility 21H2. */
	EXPECT_NE(NULL, strstr(buf, "flags=0x480100 isolation=0x0 compatibility=0x609"));
	close(pt);
	close(mshv);
}

/* v1 with LAPIC: EXO | INTERCEPT_MESSAGE_PAGE | LAPIC, nothing disabled. */
static const char v1_flags[] = "flags=0x82100 isolation=0x0 compatibility=0x609 ";
static const char v1_features[] = " disabled_features=0x0,0x0 disabled_xsave=0x0 ";

TEST(v1_disables_nothing)
{
	struct mshv_create_partition args = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };
	char buf[65536];
	int mshv, pt;

	if (!have_sim())
		SKIP(return, NO_SIM);
	mshv = open_mshv();
	pt = ioctl(mshv, MSHV_CREATE_PARTITION, &args);
	ASSERT_LE(0, pt);
	EXPECT_NE(NULL, strstr(newest(buf, sizeof(buf)), v1_flags));
	EXPECT_NE(NULL, strstr(buf, v1_features));
	close(pt);
	close(mshv);
}

TEST(v1_reads_only_16_bytes)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mshv_create_partition_v2 *end;
	int mshv = open_mshv(), pt;

	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + page, page));
	/* The last 16 bytes of the mapping: a v2 read would fault. */
	end = (void *)(map + page - 16);
	end->pt_flags = 1 << MSHV_PT_BIT_LAPIC;
	end->pt_isolation = 0;
	pt = ioctl(mshv, MSHV_CREATE_PARTITION, end);
	EXPECT_LE(0, pt);
	close(pt);
	end->pt_flags |= 1 << MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES;
	EXPECT_EQ(-1, ioctl(mshv, MSHV_CREATE_PARTITION, end));
	EXPECT_EQ(EFAULT, errno);
	munmap(map, page);
	close(mshv);
}

TEST(bad_create_arguments)
{
	struct mshv_create_partition_v2 good = {
		.pt_flags = 1 << MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES,
		.pt_num_cpu_fbanks = 2,
	}, bad;
	__u16 banks[] = { 0, 1, 3, 0xffff };
	int mshv = open_mshv();
	unsigned int i;

	ASSERT_LE(0, mshv);
	for (i = 0; i < ARRAY_SIZE(banks); i++) {
		bad = good;
		bad.pt_num_cpu_fbanks = banks[i];
		EXPECT_EQ(-1, ioctl(mshv, MSHV_CREATE_PARTITION, &bad));
		EXPECT_EQ(EINVAL, errno);
	}
	for (i = 0; i < sizeof(bad.pt_rsvd); i++) {
		bad = good;
		bad.pt_rsvd[i] = 1;
		EXPECT_EQ(-1, ioctl(mshv, MSHV_CREATE_PARTITION, &bad));
		EXPECT_EQ(EINVAL, errno);
	}
	for (i = 0; i < 2; i++) {
		bad = good;
		bad.pt_rsvd1[i] = 1ULL << 63;
		EXPECT_EQ(-1, ioctl(mshv, MSHV_CREATE_PARTITION, &bad));
		EXPECT_EQ(EINVAL, errno);
	}
#ifndef __x86_64__
	bad = good;
	bad.pt_rsvd2 = 1;
	EXPECT_EQ(-1, ioctl(mshv, MSHV_CREATE_PARTITION, &bad));
	EXPECT_EQ(EINVAL, errno);
#endif
	/* Unknown flags and isolation types, in v1 and v2. */
	for (i = 0; i < 2; i++) {
		bad = good;
		bad.pt_flags = (i ? bad.pt_flags : 0) | 1 << MSHV_PT_BIT_COUNT;
		EXPECT_EQ(-1, ioctl(mshv, MSHV_CREATE_PARTITION, &bad));
		EXPECT_EQ(EINVAL, errno);
		bad = good;
		bad.pt_flags = i ? bad.pt_flags : 0;
		bad.pt_isolation = MSHV_PT_ISOLATION_COUNT;
		EXPECT_EQ(-1, ioctl(mshv, MSHV_CREATE_PARTITION, &bad));
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(-1, ioctl(mshv, MSHV_CREATE_PARTITION, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(mshv, MSHV_CREATE_PARTITION, (void *)1));
	EXPECT_EQ(EFAULT, errno);
	close(mshv);
}

FIXTURE(partition) {
	int mshv;
	int pt;
};

FIXTURE_SETUP(partition)
{
	self->mshv = open_mshv();
	ASSERT_LE(0, self->mshv);
	self->pt = create_v2(self->mshv);
	ASSERT_LE(0, self->pt);
}

FIXTURE_TEARDOWN(partition)
{
	close(self->pt);
	close(self->mshv);
}

TEST_F(partition, initialize_is_idempotent)
{
	EXPECT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	EXPECT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
}

TEST_F(partition, create_vp)
{
	struct mshv_create_vp vp = { .vp_index = 0 };
	int fd, again;

	/* The hypervisor refuses VPs before the partition is initialised. */
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_CREATE_VP, &vp));
	EXPECT_EQ(EIO, errno);
	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	fd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_CREATE_VP, &vp));
	EXPECT_EQ(EEXIST, errno);
	/* The index stays taken after the VP file is closed. */
	close(fd);
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_CREATE_VP, &vp));
	EXPECT_EQ(EEXIST, errno);
	vp.vp_index = MSHV_MAX_VPS;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_CREATE_VP, &vp));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_CREATE_VP, NULL));
	EXPECT_EQ(EFAULT, errno);
	vp.vp_index = MSHV_MAX_VPS - 1;
	again = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	EXPECT_LE(0, again);
	close(again);
}

TEST_F(partition, unknown_commands_are_enotty)
{
	struct mshv_create_vp vp = { .vp_index = 1 };
	unsigned long cmds[] = { 0, MSHV_CREATE_PARTITION, _IO(MSHV_IOCTL, 0x08),
				 _IOWR(MSHV_IOCTL, 0x0f, __u64), 0xdeadbeef };
	unsigned int i;
	int fd;

	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	fd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		EXPECT_EQ(-1, ioctl(self->pt, cmds[i], NULL));
		EXPECT_EQ(ENOTTY, errno);
		EXPECT_EQ(-1, ioctl(fd, cmds[i], NULL));
		EXPECT_EQ(ENOTTY, errno);
	}
	/* Partition commands are unknown on a VP file. */
	EXPECT_EQ(-1, ioctl(fd, MSHV_CREATE_VP, &vp));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST_F(partition, vp_state_pages_map)
{
	struct mshv_create_vp vp = { .vp_index = 2 };
	long page = sysconf(_SC_PAGESIZE);
	__u8 *regs, *msg;
	int fd, i;

	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	fd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, fd);
	regs = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    MSHV_VP_MMAP_OFFSET_REGISTERS * page);
	ASSERT_NE(MAP_FAILED, regs);
	msg = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd,
		   MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE * page);
	ASSERT_NE(MAP_FAILED, msg);
	/* No intercept yet: the message page is all zeroes, in both pages of the mapping. */
	for (i = 0; i < 2 * page; i++)
		if (msg[i])
			break;
	EXPECT_EQ(2 * page, i);
	regs[0] = 0x5a;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page, PROT_READ, MAP_SHARED, fd,
				   MSHV_VP_MMAP_OFFSET_GHCB * page));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page, PROT_READ, MAP_SHARED, fd,
				   MSHV_VP_MMAP_OFFSET_COUNT * page));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	/* The mappings outlive the files and the partition's teardown. */
	close(self->pt);
	self->pt = -1;
	EXPECT_EQ(0x5a, regs[0]);
	munmap(regs, page);
	munmap(msg, 2 * page);
}

TEST(root_hvcall_on_dev_mshv)
{
	struct { __u64 pt; __u32 code; __u32 pad; } in = { 0, PROPERTY_PRIVILEGE_FLAGS };
	struct mshv_root_hvcall args;
	__u64 out = 0;
	int mshv = open_mshv();

	ASSERT_LE(0, mshv);
	ASSERT_EQ(0, hvcall(mshv, HVCALL_GET_PARTITION_PROPERTY, 0, &in, sizeof(in), &out,
			    sizeof(out), &args));
	EXPECT_EQ(0, args.status);
	EXPECT_EQ(0, args.reps);
	/* Only the two get-property calls are allowed on /dev/mshv. */
	EXPECT_EQ(-1, hvcall(mshv, HVCALL_SET_PARTITION_PROPERTY, 0, &in, sizeof(in), NULL, 0,
			     &args));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, hvcall(mshv, HVCALL_DEPOSIT_MEMORY, 1, &in, sizeof(in), NULL, 0, &args));
	EXPECT_EQ(EINVAL, errno);
	/* A failure of the hypervisor: errno, and its status written back; no output. */
	in.code = 0xdead;
	out = 0x1234;
	EXPECT_EQ(-1, hvcall(mshv, HVCALL_GET_PARTITION_PROPERTY, 0, &in, sizeof(in), &out,
			     sizeof(out), &args));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(HV_STATUS_UNKNOWN_PROPERTY, args.status);
	EXPECT_EQ(0x1234, out);
	close(mshv);
}

/* MSHV_ROOT_HVCALL with `args` fails with `err`. */
static void expect_errno(struct __test_metadata *_metadata, int fd,
			 struct mshv_root_hvcall *args, int err)
{
	EXPECT_EQ(-1, ioctl(fd, MSHV_ROOT_HVCALL, args));
	EXPECT_EQ(err, errno);
}

TEST(root_hvcall_argument_checks)
{
	__u64 in[2] = { 0, PROPERTY_PRIVILEGE_FLAGS }, out;
	struct mshv_root_hvcall args, bad;
	int mshv = open_mshv();

	ASSERT_LE(0, mshv);
	hvcall(mshv, HVCALL_GET_PARTITION_PROPERTY, 0, in, sizeof(in), &out, sizeof(out), &args);
	bad = args; bad.status = 1;
	expect_errno(_metadata, mshv, &bad, EINVAL);
	bad = args; bad.in_ptr = 0;
	expect_errno(_metadata, mshv, &bad, EINVAL);
	bad = args; bad.in_sz = 7;
	expect_errno(_metadata, mshv, &bad, EINVAL);
	bad = args; bad.in_sz = 4097;
	expect_errno(_metadata, mshv, &bad, EINVAL);
	bad = args; bad.rsvd[5] = 1;
	expect_errno(_metadata, mshv, &bad, EINVAL);
	bad = args; bad.out_sz = 0;
	expect_errno(_metadata, mshv, &bad, EINVAL);
	bad = args; bad.out_sz = 4097;
	expect_errno(_metadata, mshv, &bad, EINVAL);
	bad = args; bad.in_ptr = 1;
	expect_errno(_metadata, mshv, &bad, EFAULT);
	bad = args; bad.out_ptr = 1;
	expect_errno(_metadata, mshv, &bad, EFAULT);
	EXPECT_EQ(-1, ioctl(mshv, MSHV_ROOT_HVCALL, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* out_sz without out_ptr is let through, as upstream. */
	bad = args; bad.out_ptr = 0;
	EXPECT_EQ(0, ioctl(mshv, MSHV_ROOT_HVCALL, &bad));
	close(mshv);
}

TEST_F(partition, root_hvcall_properties)
{
	struct { __u64 pt; __u32 code; __u32 pad; __u64 value; } set = {
		/* Whatever user space puts here, the call is for this partition. */
		.pt = 0x1234, .code = PROPERTY_SYNTHETIC_PROC_FEATURES, .value = 0xabc,
	};
	struct { __u64 pt; __u32 code; __u32 pad; } get = {
		~0ULL, PROPERTY_SYNTHETIC_PROC_FEATURES
	};
	struct mshv_create_vp vp = { .vp_index = 3 };
	struct mshv_root_hvcall args;
	__u64 out = 0;
	int fd;

	ASSERT_EQ(0, hvcall(self->pt, HVCALL_SET_PARTITION_PROPERTY, 0, &set, sizeof(set), NULL, 0,
			    &args));
	ASSERT_EQ(0, hvcall(self->pt, HVCALL_GET_PARTITION_PROPERTY, 0, &get, sizeof(get), &out,
			    sizeof(out), &args));
	EXPECT_EQ(0xabc, out);
	/* The processor features the hypervisor reports are what the banks left enabled. */
	get.code = PROPERTY_PROCESSOR_FEATURES0;
	ASSERT_EQ(0, hvcall(self->pt, HVCALL_GET_PARTITION_PROPERTY, 0, &get, sizeof(get), &out,
			    sizeof(out), &args));
	EXPECT_EQ(~bank0, out);

	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	fd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, fd);
	/* The asynchronous set-property only from the partition file. */
	EXPECT_EQ(-1, hvcall(fd, HVCALL_SET_PARTITION_PROPERTY, 0, &set, sizeof(set), NULL, 0,
			     &args));
	EXPECT_EQ(EINVAL, errno);
	get.code = PROPERTY_SYNTHETIC_PROC_FEATURES;
	EXPECT_EQ(0, hvcall(fd, HVCALL_GET_PARTITION_PROPERTY, 0, &get, sizeof(get), &out,
			    sizeof(out), &args));
	EXPECT_EQ(0xabc, out);
	close(fd);
}

/*
 * A hypervisor may complete SET_PARTITION_PROPERTY asynchronously (HV_STATUS_CALL_PENDING,
 * then a completion message with the call's status): the ioctl waits for the message and
 * answers with its status, as if the call had completed at once. The simulator does so with
 * its async_calls switch on.
 */
TEST_F(partition, root_hvcall_set_property_completes_asynchronously)
{
	struct { __u64 pt; __u32 code; __u32 pad; __u64 value; } set = {
		.code = PROPERTY_SYNTHETIC_PROC_FEATURES, .value = 0x5a5,
	};
	struct { __u64 pt; __u32 code; __u32 pad; } get = { 0, PROPERTY_SYNTHETIC_PROC_FEATURES };
	struct mshv_root_hvcall args;
	long delivered, hardirq, before;
	__u64 out = 0;

	if (!have_sim())
		SKIP(return, "needs the simulated hypervisor (its async_calls switch)");
	ASSERT_TRUE(sim_deliveries(&before, &hardirq));
	ASSERT_EQ(0, sim_write("async_calls", "1"));
	EXPECT_EQ(0, hvcall(self->pt, HVCALL_SET_PARTITION_PROPERTY, 0, &set, sizeof(set), NULL, 0,
			    &args));
	EXPECT_EQ(0, args.status);
	/* A failure comes in the completion too: an unknown property. */
	set.code = 0x7fffffff;
	EXPECT_EQ(-1, hvcall(self->pt, HVCALL_SET_PARTITION_PROPERTY, 0, &set, sizeof(set), NULL,
			     0, &args));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(HV_STATUS_UNKNOWN_PROPERTY, args.status);
	ASSERT_EQ(0, sim_write("async_calls", "0"));
	/* Each completion came through the SynIC's interrupt. */
	ASSERT_TRUE(sim_deliveries(&delivered, &hardirq));
	EXPECT_LE(before + 2, delivered);
	ASSERT_EQ(0, hvcall(self->pt, HVCALL_GET_PARTITION_PROPERTY, 0, &get, sizeof(get), &out,
			    sizeof(out), &args));
	EXPECT_EQ(0x5a5, out);
}

TEST_F(partition, root_hvcall_rep_vp_registers)
{
	struct {
		__u64 pt; __u32 vp; __u8 vtl, r8; __u16 r16;
		struct { __u32 name, r1; __u64 r2; __u64 value[2]; } regs[3];
	} set = { .vp = 4 };
	struct { __u64 pt; __u32 vp; __u8 vtl, r8; __u16 r16; __u32 names[3]; } get = { .vp = 4 };
	struct mshv_create_vp vp = { .vp_index = 4 };
	struct mshv_root_hvcall args;
	__u64 out[3][2];
	int fd, i;

	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	fd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		get.names[i] = 0x20000 + i;
		set.regs[i].name = get.names[i];
		set.regs[i].value[0] = 0x1000 + i;
		set.regs[i].value[1] = i;
	}
	ASSERT_EQ(0, hvcall(fd, HVCALL_SET_VP_REGISTERS, 3, &set, sizeof(set), NULL, 0, &args));
	EXPECT_EQ(3, args.reps);
	ASSERT_EQ(0, hvcall(fd, HVCALL_GET_VP_REGISTERS, 3, &get, sizeof(get), out, sizeof(out),
			    &args));
	EXPECT_EQ(3, args.reps);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0x1000 + i, out[i][0]);
		EXPECT_EQ(i, out[i][1]);
	}
	/* A rep that fails: the reps done before it are written back with the status. */
	set.regs[1].r1 = 1;
	EXPECT_EQ(-1, hvcall(fd, HVCALL_SET_VP_REGISTERS, 3, &set, sizeof(set), NULL, 0, &args));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, args.reps);
	EXPECT_EQ(0x5, args.status);
	close(fd);
}

/* struct hv_input_register_intercept_result with CPUID parameters (60 bytes, and tail padding). */
struct cpuid_result_in {
	__u64 pt;
	__u32 vp, type;
	__u32 leaf, subleaf;
	__u8 subleaf_specific, always_override;
	__u16 padding;
	__u32 eax, eax_mask, ebx, ebx_mask, ecx, ecx_mask, edx, edx_mask;
};

#ifdef __x86_64__
/* hv_get_vp_cpuid_values_flags: the results registered apply. */
#define APPLY_REGISTERED_VALUES 0x2

/*
 * The values GET_VP_CPUID_VALUES gives VP `vp` for (leaf, subleaf) with the registered results
 * applied: eax, ebx, ecx, edx.
 */
static int cpuid_values_flags(int fd, __u32 vp, __u32 flags, __u32 leaf, __u32 subleaf,
			      __u32 out[4])
{
	struct {
		__u64 pt; __u32 vp, flags, r0, r1;
		struct { __u32 eax, ecx; __u64 xfem, xss; } leaf;
	} in = { .vp = vp, .flags = flags, .leaf = { .eax = leaf, .ecx = subleaf } };
	struct mshv_root_hvcall args;

	return hvcall(fd, HVCALL_GET_VP_CPUID_VALUES, 1, &in, sizeof(in), out, 16, &args);
}

static int cpuid_values(int fd, __u32 vp, __u32 leaf, __u32 subleaf, __u32 out[4])
{
	return cpuid_values_flags(fd, vp, APPLY_REGISTERED_VALUES, leaf, subleaf, out);
}
#endif

/*
 * A VP's CPUID results registered with the hypervisor (what QEMU's -accel mshv does for every
 * leaf) override the bits of their masks, for a subleaf alone or for every subleaf; bad input is
 * the hypervisor's INVALID_PARAMETER or INVALID_VP_INDEX.
 */
TEST_F(partition, root_hvcall_cpuid_results_override_the_values)
{
	struct cpuid_result_in in = {
		.vp = 2, .type = 2, .leaf = 0, .always_override = 1,
		.eax = 0x1f, .eax_mask = 0xff, .ebx = 0x12345678, .ebx_mask = 0xffffffff,
	};
	struct mshv_create_vp vp = { .vp_index = 2 };
	struct mshv_root_hvcall args;
	__u32 before[4], after[4];
	int fd;

	if (!have_sim())
		SKIP(return, NO_SIM);
	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	fd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, fd);
#ifdef __x86_64__
	ASSERT_EQ(0, cpuid_values(fd, 2, 0, 0, before));
	ASSERT_EQ(0, hvcall(fd, HVCALL_REGISTER_INTERCEPT_RESULT, 0, &in, sizeof(in), NULL, 0,
			    &args));
	ASSERT_EQ(0, cpuid_values(fd, 2, 0, 5, after));
	EXPECT_EQ((before[0] & ~0xffu) | 0x1f, after[0]);
	EXPECT_EQ(0x12345678, after[1]);
	EXPECT_EQ(before[2], after[2]);
	EXPECT_EQ(before[3], after[3]);
	/* Unless the call asks for them, the registered results do not apply; reserved flags. */
	ASSERT_EQ(0, cpuid_values_flags(fd, 2, 0, 0, 5, after));
	EXPECT_EQ(0, memcmp(before, after, sizeof(before)));
	EXPECT_EQ(-1, cpuid_values_flags(fd, 2, 4, 0, 5, after));
	EXPECT_EQ(EINVAL, errno);
	/* Registered again for subleaf 1 alone: subleaf 0 keeps the first result. */
	in.subleaf_specific = 1;
	in.subleaf = 1;
	in.ebx = 0xabcd;
	ASSERT_EQ(0, hvcall(fd, HVCALL_REGISTER_INTERCEPT_RESULT, 0, &in, sizeof(in), NULL, 0,
			    &args));
	ASSERT_EQ(0, cpuid_values(fd, 2, 0, 1, after));
	EXPECT_EQ(0xabcd, after[1]);
	ASSERT_EQ(0, cpuid_values(fd, 2, 0, 0, after));
	EXPECT_EQ(0x12345678, after[1]);
	/* A VP the partition does not have; a flag that is not 0 or 1; padding. */
	in.vp = 3;
	EXPECT_EQ(-1, hvcall(fd, HVCALL_REGISTER_INTERCEPT_RESULT, 0, &in, sizeof(in), NULL, 0,
			     &args));
	EXPECT_EQ(0xe, args.status);
	in.vp = 2;
	in.always_override = 2;
	EXPECT_EQ(-1, hvcall(fd, HVCALL_REGISTER_INTERCEPT_RESULT, 0, &in, sizeof(in), NULL, 0,
			     &args));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0x5, args.status);
	in.always_override = 1;
	in.padding = 1;
	EXPECT_EQ(-1, hvcall(fd, HVCALL_REGISTER_INTERCEPT_RESULT, 0, &in, sizeof(in), NULL, 0,
			     &args));
	EXPECT_EQ(0x5, args.status);
	in.padding = 0;
#else
	(void)before;
	(void)after;
#endif
	/* An intercept type with no results (arm64: none has them). */
	in.type = 5;
	EXPECT_EQ(-1, hvcall(fd, HVCALL_REGISTER_INTERCEPT_RESULT, 0, &in, sizeof(in), NULL, 0,
			     &args));
	EXPECT_EQ(0x5, args.status);
	close(fd);
}

/* The hypervisor refuses NMI deliverability notifications and reserved bits. */
TEST_F(partition, deliverability_notifications)
{
	struct {
		__u64 pt; __u32 vp; __u8 vtl, r8; __u16 r16;
		struct { __u32 name, r1; __u64 r2; __u64 value[2]; } reg;
	} set = { .reg = { .name = 0x10006 } };
	struct mshv_create_vp vp = { .vp_index = 0 };
	struct mshv_root_hvcall args;
	const __u64 ok[] = { 0, 2, 2 | 0xf << 2 | 1ULL << 53 }, bad[] = { 1, 1ULL << 6 };
	unsigned int i;
	int fd;

	if (!have_sim())
		SKIP(return, NO_SIM);
	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	fd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		set.reg.value[0] = ok[i];
		/* The upper half of a 64-bit register's value is not looked at. */
		set.reg.value[1] = 0x5a5a5a5a;
		EXPECT_EQ(0, hvcall(self->pt, HVCALL_SET_VP_REGISTERS, 1, &set, sizeof(set), NULL,
				    0, &args));
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		set.reg.value[0] = bad[i];
		EXPECT_EQ(-1, hvcall(self->pt, HVCALL_SET_VP_REGISTERS, 1, &set, sizeof(set), NULL,
				     0, &args));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(0x5, args.status);
	}
	close(fd);
}

TEST_F(partition, msi_routing)
{
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e[3];
	} table = {
		.t = { .nr = 2 },
		.e = { { .gsi = 5, .address_lo = 0xfee00000, .data = 0x31 },
		       { .gsi = 4095, .address_lo = 0xfee01000, .data = 0x8032 } },
	}, bad;

	EXPECT_EQ(0, ioctl(self->pt, MSHV_SET_MSI_ROUTING, &table));
	bad = table; bad.t.nr = 0;
	EXPECT_EQ(0, ioctl(self->pt, MSHV_SET_MSI_ROUTING, &bad));
	bad = table; bad.t.nr = 4097;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_SET_MSI_ROUTING, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = table; bad.t.rsvd = 1;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_SET_MSI_ROUTING, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = table; bad.e[1].gsi = 4096;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_SET_MSI_ROUTING, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = table; bad.e[0].address_hi = 1;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_SET_MSI_ROUTING, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = table; bad.e[1].gsi = 5;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_SET_MSI_ROUTING, &bad));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_SET_MSI_ROUTING, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* More entries than the memory holds. */
	bad = table; bad.t.nr = 4096;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_SET_MSI_ROUTING, &bad));
	EXPECT_EQ(EFAULT, errno);
}

/* A number of the simulator's line for the newest partition ("interrupts=", ...), or -1. */
static long sim_field(const char *key)
{
	char buf[65536];
	const char *line = sim_newest_partition(buf, sizeof(buf), NULL), *n;

	n = line ? strstr(line, key) : NULL;
	return n ? strtol(n + strlen(key), NULL, 10) : -1;
}

/* The interrupts the simulator saw asserted on the newest partition, or -1. */
static long sim_interrupts(void)
{
	return sim_field(" interrupts=");
}

/* Makes VP 0 of the newest partition's guest do what `what` says (see sim_inject()). */
static int sim_guest(const char *what)
{
	char buf[65536];
	long id = -1;

	if (!sim_newest_partition(buf, sizeof(buf), &id))
		return -1;
	return sim_inject(id, 0, what);
}

/* An eventfd's count (reading resets it), or 0 when not signalled (non-blocking fd). */
static __u64 eventfd_count(int fd)
{
	__u64 count = 0;

	return read(fd, &count, sizeof(count)) == sizeof(count) ? count : 0;
}

/* Waits up to a second for the simulator's interrupt count to reach want. */
static long wait_interrupts(long want)
{
	long seen = -1;
	int i;

	for (i = 0; i < 100; i++) {
		seen = sim_interrupts();
		if (seen >= want)
			break;
		usleep(10 * 1000);
	}
	return seen;
}

static int irqfd(int pt, int fd, int resamplefd, __u32 gsi, __u32 flags)
{
	struct mshv_user_irqfd args = {
		.fd = fd, .resamplefd = resamplefd, .gsi = gsi, .flags = flags,
	};

	return ioctl(pt, MSHV_IRQFD, &args);
}

TEST_F(partition, irqfd)
{
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e[2];
	} table = {
		.t = { .nr = 2 },
		.e = { { .gsi = 30, .address_lo = 0xfee00000, .data = 0x31 },
		       { .gsi = 31, .address_lo = 0xfee00000, .data = 0x8032 } },
	};
	int efd = eventfd(0, EFD_NONBLOCK), other = eventfd(0, EFD_NONBLOCK), third = eventfd(0, 0);
	__u64 one = 1;

	if (!have_sim())
		SKIP(return, NO_SIM);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	ASSERT_EQ(0, ioctl(self->pt, MSHV_SET_MSI_ROUTING, &table));
	EXPECT_EQ(0, sim_interrupts());

	ASSERT_EQ(0, irqfd(self->pt, efd, -1, 30, 0));
	EXPECT_EQ(-1, irqfd(self->pt, efd, -1, 31, 0));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(8, write(efd, &one, sizeof(one)));
	EXPECT_EQ(1, wait_interrupts(1));
	ASSERT_EQ(8, write(efd, &one, sizeof(one)));
	EXPECT_EQ(2, wait_interrupts(2));

	/* Deassigned: no more interrupts; deassigning again is no error. */
	EXPECT_EQ(0, irqfd(self->pt, efd, -1, 30, 1 << MSHV_IRQFD_BIT_DEASSIGN));
	EXPECT_EQ(0, irqfd(self->pt, efd, -1, 30, 1 << MSHV_IRQFD_BIT_DEASSIGN));
	ASSERT_EQ(8, write(efd, &one, sizeof(one)));
	usleep(100 * 1000);
	EXPECT_EQ(2, sim_interrupts());

	/* An eventfd already signalled asserts at once. */
	ASSERT_EQ(0, irqfd(self->pt, efd, -1, 30, 0));
	EXPECT_EQ(3, wait_interrupts(3));

	/* A GSI without a route asserts nothing; a new table gives it one. */
	ASSERT_EQ(0, irqfd(self->pt, other, -1, 40, 0));
	ASSERT_EQ(8, write(other, &one, sizeof(one)));
	usleep(100 * 1000);
	EXPECT_EQ(3, sim_interrupts());
	table.e[1].gsi = 40;
	ASSERT_EQ(0, ioctl(self->pt, MSHV_SET_MSI_ROUTING, &table));
	ASSERT_EQ(8, write(other, &one, sizeof(one)));
	EXPECT_EQ(4, wait_interrupts(4));

	/* Errors. */
	EXPECT_EQ(-1, irqfd(self->pt, efd, -1, 30, 1 << 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, irqfd(self->pt, 999, -1, 30, 0));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, irqfd(self->pt, self->mshv, -1, 30, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_IRQFD, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* Resampling needs a resample eventfd and (x86) a level-triggered route. */
	EXPECT_EQ(-1, irqfd(self->pt, third, 999, 31, 1 << MSHV_IRQFD_BIT_RESAMPLE));
	EXPECT_EQ(EBADF, errno);
#ifdef __x86_64__
	EXPECT_EQ(-1, irqfd(self->pt, third, other, 30, 1 << MSHV_IRQFD_BIT_RESAMPLE));
	EXPECT_EQ(EINVAL, errno);
#endif
	close(third);
	/* The partition file's release detaches what is left. */
	close(efd);
	close(other);
}

/*
 * The interrupt an MSI route asserts, in the architecture's layout of
 * struct hv_input_assert_virtual_interrupt (hvhdk.h): on x86 the control word has the trigger
 * and destination modes (bits 32, 33) and the destination is the APIC id; on arm64 the control
 * word has `asserted` (bit 34) and there is no destination.
 */
TEST_F(partition, irqfd_asserts_in_the_arch_layout)
{
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e[1];
	} table = {
		.t = { .nr = 1 },
		/* APIC id 3, logical; level-triggered, lowest priority (1), vector 0x31. */
		.e = { { .gsi = 30, .address_lo = 0xfee03004, .data = 0x8131 } },
	};
	struct {
		__u64 partition_id, control, dest_addr;
		__u32 vector;
		__u8 target_vtl, rsvd_z0;
		__u16 rsvd_z1;
	} in;
	int efd = eventfd(0, EFD_NONBLOCK);
	char buf[65536];
	__u64 one = 1;
	long id = -1;

	if (!have_sim())
		SKIP(return, NO_SIM);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	ASSERT_NE(NULL, sim_newest_partition(buf, sizeof(buf), &id));
	ASSERT_EQ(0, ioctl(self->pt, MSHV_SET_MSI_ROUTING, &table));
	ASSERT_EQ(0, irqfd(self->pt, efd, -1, 30, 0));
	ASSERT_EQ(8, write(efd, &one, sizeof(one)));
	/* The simulator takes it (it refuses reserved control bits). */
	ASSERT_EQ(1, wait_interrupts(1));
	ASSERT_TRUE(sim_last_input(HVCALL_ASSERT_VIRTUAL_INTERRUPT, &in, sizeof(in)));
	EXPECT_EQ(id, in.partition_id);
#ifdef __x86_64__
	EXPECT_EQ(1 | 1ULL << 32 | 1ULL << 33, in.control);
	EXPECT_EQ(3, in.dest_addr);
#else
	EXPECT_EQ(1 | 1ULL << 34, in.control);
	EXPECT_EQ(0, in.dest_addr);
#endif
	EXPECT_EQ(0x31, in.vector);
	EXPECT_EQ(0, in.target_vtl);
	EXPECT_EQ(0, in.rsvd_z0);
	EXPECT_EQ(0, in.rsvd_z1);
	close(efd);
}

/*
 * Resampling: the guest's end of a level-triggered interrupt reaches the resample eventfd of
 * the irqfd whose route has that vector; for an EXTINT the pending one is withdrawn first.
 */
TEST_F(partition, irqfd_resample)
{
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e[2];
	} table = {
		.t = { .nr = 2 },
		.e = { { .gsi = 31, .address_lo = 0xfee00000, .data = 0x8032 },
		       { .gsi = 33, .address_lo = 0xfee00000, .data = 0x8733 } },
	};
	struct mshv_create_vp vp = { .vp_index = 0 };
	int efd = eventfd(0, EFD_NONBLOCK), rfd = eventfd(0, EFD_NONBLOCK);
	int e2 = eventfd(0, EFD_NONBLOCK), r2 = eventfd(0, EFD_NONBLOCK), vpfd;
	__u64 one = 1;

#ifndef __x86_64__
	SKIP(return, "end-of-interrupt messages (HVMSG_X64_APIC_EOI) are x86's");
#endif
	if (!have_sim())
		SKIP(return, NO_SIM);
	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	vpfd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, vpfd);
	ASSERT_EQ(0, ioctl(self->pt, MSHV_SET_MSI_ROUTING, &table));
	ASSERT_EQ(0, irqfd(self->pt, efd, rfd, 31, 1 << MSHV_IRQFD_BIT_RESAMPLE));
	ASSERT_EQ(0, irqfd(self->pt, e2, r2, 33, 1 << MSHV_IRQFD_BIT_RESAMPLE));

	ASSERT_EQ(8, write(efd, &one, sizeof(one)));
	ASSERT_EQ(1, wait_interrupts(1));
	ASSERT_EQ(0, sim_guest("eoi"));
	EXPECT_EQ(1, eventfd_count(rfd));
	EXPECT_EQ(0, eventfd_count(r2));
	EXPECT_EQ(0, sim_field(" cleared="));
	/* Nothing in service: the EOI reaches nobody. */
	ASSERT_EQ(0, sim_guest("eoi"));
	EXPECT_EQ(0, eventfd_count(rfd));

	ASSERT_EQ(8, write(e2, &one, sizeof(one)));
	ASSERT_EQ(2, wait_interrupts(2));
	ASSERT_EQ(0, sim_guest("eoi"));
	EXPECT_EQ(1, eventfd_count(r2));
	EXPECT_EQ(0, eventfd_count(rfd));
	EXPECT_EQ(1, sim_field(" cleared="));

	/* Deassigned: asserted once more, its end resamples nothing. */
	ASSERT_EQ(8, write(efd, &one, sizeof(one)));
	ASSERT_EQ(3, wait_interrupts(3));
	EXPECT_EQ(0, irqfd(self->pt, efd, -1, 31, 1 << MSHV_IRQFD_BIT_DEASSIGN));
	ASSERT_EQ(0, sim_guest("eoi"));
	EXPECT_EQ(0, eventfd_count(rfd));

	/*
	 * Its eventfd closed: the irqfd goes (EPOLLHUP), so the end of its last interrupt
	 * resamples nothing, and the GSI takes a new irqfd.
	 */
	ASSERT_EQ(8, write(e2, &one, sizeof(one)));
	ASSERT_EQ(4, wait_interrupts(4));
	close(e2);
	usleep(100 * 1000);
	ASSERT_EQ(0, sim_guest("eoi"));
	EXPECT_EQ(0, eventfd_count(r2));
	e2 = eventfd(0, EFD_NONBLOCK);
	ASSERT_EQ(0, irqfd(self->pt, e2, r2, 33, 1 << MSHV_IRQFD_BIT_RESAMPLE));
	ASSERT_EQ(8, write(e2, &one, sizeof(one)));
	ASSERT_EQ(5, wait_interrupts(5));
	ASSERT_EQ(0, sim_guest("eoi"));
	EXPECT_EQ(1, eventfd_count(r2));
	close(vpfd);
	close(efd);
	close(rfd);
	close(e2);
	close(r2);
}

/* The doorbells connected for the newest partition, or -1. */
static long sim_doorbells(void)
{
	return sim_field(" doorbells=");
}

static int ioeventfd(int pt, int fd, __u64 addr, __u32 len, __u64 datamatch, __u32 flags)
{
	struct mshv_user_ioeventfd args = {
		.datamatch = datamatch, .addr = addr, .len = len, .fd = fd, .flags = flags,
	};

	return ioctl(pt, MSHV_IOEVENTFD, &args);
}

TEST_F(partition, ioeventfd)
{
	const __u32 match = 1 << MSHV_IOEVENTFD_BIT_DATAMATCH;
	const __u32 deassign = 1 << MSHV_IOEVENTFD_BIT_DEASSIGN;
	int a = eventfd(0, 0), b = eventfd(0, 0);
	struct mshv_user_ioeventfd bad = { .addr = 0x3000, .len = 4, .fd = a };

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	/* Any value at 0x1000 (4 bytes), then an 8-byte access there: two doorbells. */
	ASSERT_EQ(0, ioeventfd(self->pt, a, 0x1000, 4, 0, 0));
	EXPECT_EQ(-1, ioeventfd(self->pt, b, 0x1000, 4, 5, match));
	EXPECT_EQ(EEXIST, errno);
	ASSERT_EQ(0, ioeventfd(self->pt, b, 0x1000, 8, 0, 0));
	/* Values 1 and 2 at 0x2000; 1 again collides. */
	ASSERT_EQ(0, ioeventfd(self->pt, a, 0x2000, 4, 1, match));
	ASSERT_EQ(0, ioeventfd(self->pt, b, 0x2000, 4, 2, match));
	EXPECT_EQ(-1, ioeventfd(self->pt, b, 0x2000, 4, 1, match));
	EXPECT_EQ(EEXIST, errno);
	if (have_sim())
		EXPECT_EQ(4, sim_doorbells());

	/* Deassign needs the exact doorbell. */
	EXPECT_EQ(-1, ioeventfd(self->pt, b, 0x2000, 4, 1, match | deassign));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, ioeventfd(self->pt, a, 0x2000, 4, 0, deassign));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, ioeventfd(self->pt, a, 0x2000, 4, 1, match | deassign));
	EXPECT_EQ(0, ioeventfd(self->pt, a, 0x1000, 4, 0, deassign));
	if (have_sim())
		EXPECT_EQ(2, sim_doorbells());
	/* The doorbell is free again. */
	EXPECT_EQ(0, ioeventfd(self->pt, a, 0x2000, 4, 1, match));

	EXPECT_EQ(-1, ioeventfd(self->pt, a, 0x3000, 4, 0, 1 << MSHV_IOEVENTFD_BIT_PIO));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, ioeventfd(self->pt, a, 0x3000, 4, 0, 1 << 3));
	EXPECT_EQ(EINVAL, errno);
	bad.rsvd[3] = 1;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_IOEVENTFD, &bad));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioeventfd(self->pt, a, 0x3000, 3, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioeventfd(self->pt, a, ~0ULL - 2, 4, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioeventfd(self->pt, 999, 0x3000, 4, 0, 0));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, ioeventfd(self->pt, self->mshv, 0x3000, 4, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_IOEVENTFD, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* What is left goes with the partition file. */
	close(a);
	close(b);
}

/* Guest writes ring the doorbells they match; the others stop the VP (unmapped GPA). */
TEST_F(partition, ioeventfd_signals)
{
	const __u32 match = 1 << MSHV_IOEVENTFD_BIT_DATAMATCH;
	struct mshv_create_vp vp = { .vp_index = 0 };
	int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK), vpfd, i;

	if (!have_sim())
		SKIP(return, NO_SIM);
	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	vpfd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, vpfd);
	ASSERT_EQ(0, ioeventfd(self->pt, a, 0x1000, 4, 0, 0));
	ASSERT_EQ(0, ioeventfd(self->pt, b, 0x2000, 0, 7, match));

	ASSERT_EQ(0, sim_guest("write 0x1000 4 5"));
	EXPECT_EQ(1, eventfd_count(a));
	/* Any size at 0x2000, but only the value 7. */
	ASSERT_EQ(0, sim_guest("write 0x2000 2 7"));
	ASSERT_EQ(0, sim_guest("write 0x2000 8 7"));
	ASSERT_EQ(0, sim_guest("write 0x2000 4 8"));
	EXPECT_EQ(2, eventfd_count(b));
	/* The wrong size at 0x1000 rings nothing. */
	ASSERT_EQ(0, sim_guest("write 0x1000 8 5"));
	EXPECT_EQ(0, eventfd_count(a));
	/* More rings than the event ring holds, each taken as it comes. */
	for (i = 0; i < 100; i++)
		ASSERT_EQ(0, sim_guest("write 0x1000 4 1"));
	EXPECT_EQ(100, eventfd_count(a));

	/* Deassigned: the write is the VP's again. */
	ASSERT_EQ(0, ioeventfd(self->pt, a, 0x1000, 4, 0, 1 << MSHV_IOEVENTFD_BIT_DEASSIGN));
	ASSERT_EQ(0, sim_guest("write 0x1000 4 5"));
	EXPECT_EQ(0, eventfd_count(a));
	close(vpfd);
	close(a);
	close(b);
}

TEST(vp_files_keep_the_partition)
{
	struct mshv_create_vp vp = { .vp_index = 0 };
	int mshv = open_mshv(), pt, fd, before;
	long used;
	char buf[65536];

	if (!have_sim())
		SKIP(return, NO_SIM);
	before = sim_partition_count();
	used = sim_pages("root_used");
	pt = create_v2(mshv);
	ASSERT_LE(0, pt);
	ASSERT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	fd = ioctl(pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, fd);
	EXPECT_EQ(before + 1, sim_partition_count());
	EXPECT_NE(NULL, strstr(newest(buf, sizeof(buf)), "initialized"));
	close(pt);
	/* The VP file still holds the partition. */
	EXPECT_EQ(before + 1, sim_partition_count());
	close(fd);
	/* Finalised, every page withdrawn, deleted. */
	EXPECT_EQ(before, sim_partition_count());
	EXPECT_EQ(used, sim_pages("root_used"));
	close(mshv);
}

TEST(many_partitions_leave_nothing_behind)
{
	struct mshv_create_vp vp;
	int mshv = open_mshv(), pt, fd, i, j, before;
	long root_free;

	if (!have_sim())
		SKIP(return, NO_SIM);
	before = sim_partition_count();
	for (i = 0; i < 20; i++) {
		pt = create_v2(mshv);
		ASSERT_LE(0, pt);
		ASSERT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
		for (j = 0; j < 4; j++) {
			vp.vp_index = j;
			fd = ioctl(pt, MSHV_CREATE_VP, &vp);
			ASSERT_LE(0, fd);
			close(fd);
		}
		close(pt);
	}
	EXPECT_EQ(before, sim_partition_count());
	/* The root's pool holds one page per partition at most: it grew no further. */
	root_free = sim_pages("root_free");
	pt = create_v2(mshv);
	close(pt);
	EXPECT_EQ(root_free, sim_pages("root_free"));
	close(mshv);
}

TEST_HARNESS_MAIN
