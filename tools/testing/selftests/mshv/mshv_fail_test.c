// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercalls the hypervisor refuses, made to fail through the simulated hypervisor's fail
 * file (/sys/kernel/debug/mshv_sim/fail): a request for contiguous memory, a call that never
 * stops asking for memory, the errno each family of ioctls reports for a refusal, and that
 * nothing stays behind in the hypervisor once everything is closed. Without the simulator the
 * tests are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"

#define HVCALL_CREATE_PARTITION		0x40
#define HVCALL_INITIALIZE_PARTITION	0x41
#define HVCALL_GET_PARTITION_PROPERTY	0x44
#define HVCALL_DEPOSIT_MEMORY		0x48
#define HVCALL_MAP_GPA_PAGES		0x4b
#define HVCALL_CREATE_VP		0x4e
#define HVCALL_GET_VP_STATE		0xe3
#define HVCALL_SET_VP_STATE		0xe4

#define HV_STATUS_INVALID_PARAMETER			0x5
#define HV_STATUS_ACCESS_DENIED				0x6
#define HV_STATUS_INVALID_PARTITION_STATE		0x7
#define HV_STATUS_INSUFFICIENT_MEMORY			0xb
#define HV_STATUS_INSUFFICIENT_CONTIGUOUS_MEMORY	0x75
#define HV_STATUS_TIME_OUT				0x78

/* The most pages the driver deposits for one call that still asks for more. */
#define MAX_DEPOSIT_PAGES_PER_CALL	2048
/* What the driver deposits for an INSUFFICIENT_CONTIGUOUS_MEMORY, in one chunk. */
#define CONTIGUOUS_PAGES		8
/* What it deposits each time a map call asks for memory. */
#define MAP_GPA_DEPOSIT_PAGES		256

#define PROPERTY_PRIVILEGE_FLAGS	0x00010000
#define PAGE				4096
#define MIB				(1024 * 1024)

#define NO_SIM "no simulated hypervisor: the test steers it through its debugfs"

static bool have_sim(void)
{
	return access(SIM_DIR "fail", W_OK) == 0;
}

static int create(int mshv)
{
	struct mshv_create_partition args = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };

	return ioctl(mshv, MSHV_CREATE_PARTITION, &args);
}

static int create_vp(int pt, __u32 index)
{
	struct mshv_create_vp args = { .vp_index = index };

	return ioctl(pt, MSHV_CREATE_VP, &args);
}

static int set_memory(int pt, __u64 gfn, void *addr, __u64 size)
{
	struct mshv_user_mem_region r = {
		.size = size, .guest_pfn = gfn, .userspace_addr = (__u64)(uintptr_t)addr,
	};

	return ioctl(pt, MSHV_SET_GUEST_MEMORY, &r);
}

static int vp_state(int vp, unsigned long cmd, void *buf)
{
	struct mshv_get_set_vp_state s = {
		.type = MSHV_VP_STATE_LAPIC, .buf_sz = PAGE, .buf_ptr = (__u64)(uintptr_t)buf,
	};

	return ioctl(vp, cmd, &s);
}

/* MSHV_ROOT_HVCALL of a get-property on /dev/mshv; the status it got in *status. */
static int get_property(int mshv, __u16 *status)
{
	struct { __u64 pt; __u32 code; __u32 pad; } in = { 0, PROPERTY_PRIVILEGE_FLAGS, 0 };
	__u64 out;
	struct mshv_root_hvcall args = {
		.code = HVCALL_GET_PARTITION_PROPERTY, .in_sz = sizeof(in), .out_sz = sizeof(out),
		.in_ptr = (__u64)(uintptr_t)&in, .out_ptr = (__u64)(uintptr_t)&out,
	};
	int ret = ioctl(mshv, MSHV_ROOT_HVCALL, &args);

	*status = args.status;
	return ret;
}

/* How many failures the simulator's rules injected, all together. */
static long sim_injected(void)
{
	static const char key[] = "injected=";
	char buf[4096], *p;
	long total = 0;

	if (!sim_read("fail", buf, sizeof(buf)))
		return -1;
	for (p = strstr(buf, key); p; p = strstr(p + 1, key))
		total += strtol(p + strlen(key), NULL, 10);
	return total;
}

/* Whether the simulator's line for the newest partition holds `what`. */
static bool newest_has(const char *what)
{
	char buf[65536];
	const char *line = sim_newest_partition(buf, sizeof(buf), NULL);

	return line && strstr(line, what);
}

/* What the hypervisor holds when no test partition is open. */
struct baseline {
	int partitions;
	long root_free, root_used;
};

static void take_baseline(struct __test_metadata *_metadata, int mshv, struct baseline *b)
{
	int pt;

	ASSERT_EQ(0, sim_fail_clear());
	/* A partition takes a page of the root's pool, which is deposited the first time. */
	pt = create(mshv);
	ASSERT_LE(0, pt);
	close(pt);
	b->partitions = sim_partition_count();
	b->root_free = sim_pages("root_free");
	b->root_used = sim_pages("root_used");
	ASSERT_LE(0, b->partitions);
}

static void expect_baseline(struct __test_metadata *_metadata, const struct baseline *b)
{
	EXPECT_EQ(b->partitions, sim_partition_count());
	EXPECT_EQ(b->root_free, sim_pages("root_free"));
	EXPECT_EQ(b->root_used, sim_pages("root_used"));
}

/* /dev/mshv, opened once the simulator's baseline is taken in *before. */
static int open_with_baseline(struct __test_metadata *_metadata, struct baseline *before)
{
	int mshv = open("/dev/mshv", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, mshv);
	take_baseline(_metadata, mshv, before);
	return mshv;
}

FIXTURE(fail) {
	int mshv;
	struct baseline before;
};

FIXTURE_SETUP(fail)
{
	if (!have_sim())
		SKIP(return, NO_SIM);
	self->mshv = open_with_baseline(_metadata, &self->before);
}

FIXTURE_TEARDOWN(fail)
{
	sim_fail_clear();
	close(self->mshv);
}

TEST_F(fail, rules_are_parsed_and_listed)
{
	static const char *const bad[] = {
		"0x4e", "0x4e 1", "0x4e 0 0x5", "0x4e 1 0", "0x10000 1 0x5", "0x4e 1 0x10000",
		"0x4e every 0 0x5", "0x4e every 2", "0x4e fraction 1001 0x5 1",
		"0x4e fraction 500 0x5", "0x4e 1 0x5 1", "0x4e sometimes 0x5", "4e 1 5",
		"clear all",
	};
	unsigned int i, taken = 0;
	char buf[4096];

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (sim_write("fail", bad[i]) == 0) {
			TH_LOG("\"%s\" was taken", bad[i]);
			taken++;
		}
	}
	EXPECT_EQ(0, taken);
	ASSERT_TRUE(sim_read("fail", buf, sizeof(buf)));
	EXPECT_STREQ("\n", buf);
	ASSERT_EQ(0, sim_fail(HVCALL_CREATE_VP, 3, HV_STATUS_INVALID_PARAMETER));
	ASSERT_EQ(0, sim_write("fail", "78 every 2 6"));
	ASSERT_EQ(0, sim_write("fail", "0x44 fraction 250 0x78 7"));
	ASSERT_TRUE(sim_read("fail", buf, sizeof(buf)));
	EXPECT_STREQ("0x4e 3 0x5 calls=0 injected=0\n"
		     "0x4e every 2 0x6 calls=0 injected=0\n"
		     "0x44 fraction 250 0x78 7 calls=0 injected=0\n", buf);
	/* Sixteen rules at most. */
	for (i = 3; i < 16; i++)
		ASSERT_EQ(0, sim_fail(HVCALL_CREATE_VP, 1000 + i, HV_STATUS_ACCESS_DENIED));
	EXPECT_EQ(-1, sim_fail(HVCALL_CREATE_VP, 1, HV_STATUS_ACCESS_DENIED));
	EXPECT_EQ(ENOSPC, errno);
	ASSERT_EQ(0, sim_fail_clear());
	ASSERT_TRUE(sim_read("fail", buf, sizeof(buf)));
	EXPECT_STREQ("\n", buf);
}

TEST_F(fail, nth_every_and_a_seeded_fraction)
{
	char first[200], again[200];
	int i, failed = 0;
	__u16 status;

	/* The second call from now, once. */
	ASSERT_EQ(0, sim_fail(HVCALL_GET_PARTITION_PROPERTY, 2, HV_STATUS_INVALID_PARAMETER));
	EXPECT_EQ(0, get_property(self->mshv, &status));
	EXPECT_EQ(-1, get_property(self->mshv, &status));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(HV_STATUS_INVALID_PARAMETER, status);
	EXPECT_EQ(0, get_property(self->mshv, &status));
	EXPECT_EQ(0, status);
	ASSERT_EQ(0, sim_fail_clear());

	/* Every third. */
	ASSERT_EQ(0, sim_write("fail", "0x44 every 3 0x6"));
	for (i = 1; i <= 9; i++) {
		EXPECT_EQ(i % 3 ? 0 : -1, get_property(self->mshv, &status));
		if (i % 3 == 0)
			EXPECT_EQ(EACCES, errno);
	}
	EXPECT_EQ(3, sim_injected());
	ASSERT_EQ(0, sim_fail_clear());

	/* A quarter, the same calls for the same seed. */
	ASSERT_EQ(0, sim_write("fail", "0x44 fraction 250 0x78 7"));
	for (i = 0; i < 200; i++) {
		first[i] = get_property(self->mshv, &status) ? status : 0;
		failed += first[i] != 0;
	}
	EXPECT_EQ(failed, sim_injected());
	EXPECT_LT(20, failed);
	EXPECT_GT(80, failed);
	ASSERT_EQ(0, sim_fail_clear());
	ASSERT_EQ(0, sim_write("fail", "0x44 fraction 250 0x78 7"));
	for (i = 0; i < 200; i++)
		again[i] = get_property(self->mshv, &status) ? status : 0;
	EXPECT_EQ(0, memcmp(first, again, sizeof(first)));
	for (i = 0; i < 200; i++)
		EXPECT_TRUE(!first[i] || first[i] == HV_STATUS_TIME_OUT);
}

/*
 * Refused once for want of contiguous memory, the VP is created after the driver deposits 8
 * pages in one physically contiguous chunk; closing gives everything back.
 */
TEST_F(fail, contiguous_memory_for_a_vp)
{
	__u64 deposit[1 + CONTIGUOUS_PAGES];
	long creates, deposits;
	int pt, vp, i, apart = 0;

	pt = create(self->mshv);
	ASSERT_LE(0, pt);
	ASSERT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	creates = sim_calls(HVCALL_CREATE_VP);
	deposits = sim_calls(HVCALL_DEPOSIT_MEMORY);
	ASSERT_EQ(0, sim_fail(HVCALL_CREATE_VP, 1, HV_STATUS_INSUFFICIENT_CONTIGUOUS_MEMORY));
	vp = create_vp(pt, 0);
	ASSERT_LE(0, vp);
	EXPECT_EQ(creates + 2, sim_calls(HVCALL_CREATE_VP));
	EXPECT_EQ(1, sim_injected());
	/* The 90 pages before the call, then the 8 it asked for. */
	EXPECT_EQ(deposits + 2, sim_calls(HVCALL_DEPOSIT_MEMORY));
	ASSERT_TRUE(sim_last_input(HVCALL_DEPOSIT_MEMORY, deposit, sizeof(deposit)));
	EXPECT_NE(0ULL, deposit[1]);
	for (i = 2; i <= CONTIGUOUS_PAGES; i++)
		apart += deposit[i] != deposit[1] + i - 1;
	EXPECT_EQ(0, apart) {
		TH_LOG("deposited frames: %#llx %#llx ... %#llx",
		       (unsigned long long)deposit[1], (unsigned long long)deposit[2],
		       (unsigned long long)deposit[CONTIGUOUS_PAGES]);
	}
	/* 208 + 90 + 8 deposited; 200 to initialise, 62 for the VP. */
	EXPECT_TRUE(newest_has(" pool_free=44 pool_used=262 vps=1 "));
	close(vp);
	close(pt);
	expect_baseline(_metadata, &self->before);
}

/* Initialising a partition that asks for memory however much it is given. */
TEST_F(fail, initialize_that_keeps_asking_for_memory)
{
	long calls;
	int pt;

	pt = create(self->mshv);
	ASSERT_LE(0, pt);
	calls = sim_calls(HVCALL_INITIALIZE_PARTITION);
	ASSERT_EQ(0, sim_write("fail", "0x41 every 1 0xb"));
	EXPECT_EQ(-1, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	EXPECT_EQ(ENOMEM, errno);
	/* One page deposited before each call but the first. */
	EXPECT_EQ(calls + 1 + MAX_DEPOSIT_PAGES_PER_CALL, sim_calls(HVCALL_INITIALIZE_PARTITION));
	/* Everything deposited was withdrawn, and initialising may be tried again. */
	EXPECT_TRUE(newest_has(" created "));
	EXPECT_TRUE(newest_has(" pool_free=0 pool_used=0 "));
	ASSERT_EQ(0, sim_fail_clear());
	EXPECT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	close(pt);
	expect_baseline(_metadata, &self->before);
}

/* Creating a VP that asks for memory, or for contiguous memory, however much it is given. */
TEST_F(fail, create_vp_that_keeps_asking_for_memory)
{
	static const struct { const char *rule; int per_deposit; } asks[] = {
		{ "0x4e every 1 0xb", 1 },
		{ "0x4e every 1 0x75", CONTIGUOUS_PAGES },
	};
	long calls, deposits, retries;
	unsigned int i;
	int pt, vp;

	pt = create(self->mshv);
	ASSERT_LE(0, pt);
	ASSERT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	for (i = 0; i < ARRAY_SIZE(asks); i++) {
		calls = sim_calls(HVCALL_CREATE_VP);
		deposits = sim_calls(HVCALL_DEPOSIT_MEMORY);
		ASSERT_EQ(0, sim_write("fail", asks[i].rule));
		EXPECT_EQ(-1, create_vp(pt, 0));
		EXPECT_EQ(ENOMEM, errno);
		retries = MAX_DEPOSIT_PAGES_PER_CALL / asks[i].per_deposit;
		EXPECT_EQ(calls + 1 + retries, sim_calls(HVCALL_CREATE_VP));
		/* The 90 pages first, then one deposit before each retry. */
		EXPECT_EQ(deposits + 1 + retries, sim_calls(HVCALL_DEPOSIT_MEMORY));
		ASSERT_EQ(0, sim_fail_clear());
	}
	/* The index was not taken. */
	vp = create_vp(pt, 0);
	ASSERT_LE(0, vp);
	close(vp);
	close(pt);
	expect_baseline(_metadata, &self->before);
}

/* Mapping guest memory with a hypervisor that asks for memory and maps nothing. */
TEST_F(fail, map_that_keeps_asking_for_memory)
{
	long calls, deposits, retries = MAX_DEPOSIT_PAGES_PER_CALL / MAP_GPA_DEPOSIT_PAGES;
	void *mem;
	int pt;

	mem = mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	pt = create(self->mshv);
	ASSERT_LE(0, pt);
	ASSERT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	calls = sim_calls(HVCALL_MAP_GPA_PAGES);
	deposits = sim_calls(HVCALL_DEPOSIT_MEMORY);
	ASSERT_EQ(0, sim_write("fail", "0x4b every 1 0xb"));
	EXPECT_EQ(-1, set_memory(pt, 0x100, mem, 2 * MIB));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(calls + 1 + retries, sim_calls(HVCALL_MAP_GPA_PAGES));
	EXPECT_EQ(deposits + retries, sim_calls(HVCALL_DEPOSIT_MEMORY));
	ASSERT_EQ(0, sim_fail_clear());
	EXPECT_EQ(0, set_memory(pt, 0x100, mem, 2 * MIB));
	close(pt);
	munmap(mem, 2 * MIB);
	expect_baseline(_metadata, &self->before);
}

/* One call of each family of ioctls refused with the variant's status. */
FIXTURE(refused) {
	int mshv;
	struct baseline before;
};

FIXTURE_VARIANT(refused) {
	unsigned int status;
	/* The errno upstream's hv_result_to_errno() gives the status. */
	int err;
};

FIXTURE_VARIANT_ADD(refused, invalid_parameter) {
	.status = HV_STATUS_INVALID_PARAMETER, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(refused, access_denied) {
	.status = HV_STATUS_ACCESS_DENIED, .err = EACCES,
};

FIXTURE_VARIANT_ADD(refused, invalid_partition_state) {
	.status = HV_STATUS_INVALID_PARTITION_STATE, .err = EIO,
};

FIXTURE_VARIANT_ADD(refused, time_out) {
	.status = HV_STATUS_TIME_OUT, .err = EIO,
};

FIXTURE_SETUP(refused)
{
	if (!have_sim())
		SKIP(return, NO_SIM);
	self->mshv = open_with_baseline(_metadata, &self->before);
}

FIXTURE_TEARDOWN(refused)
{
	sim_fail_clear();
	close(self->mshv);
}

TEST_F(refused, create_partition)
{
	int pt;

	ASSERT_EQ(0, sim_fail(HVCALL_CREATE_PARTITION, 1, variant->status));
	EXPECT_EQ(-1, create(self->mshv));
	EXPECT_EQ(variant->err, errno);
	EXPECT_EQ(1, sim_injected());
	EXPECT_EQ(self->before.partitions, sim_partition_count());
	pt = create(self->mshv);
	EXPECT_LE(0, pt);
	close(pt);
	expect_baseline(_metadata, &self->before);
}

TEST_F(refused, initialize_partition)
{
	int pt;

	pt = create(self->mshv);
	ASSERT_LE(0, pt);
	ASSERT_EQ(0, sim_fail(HVCALL_INITIALIZE_PARTITION, 1, variant->status));
	EXPECT_EQ(-1, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	EXPECT_EQ(variant->err, errno);
	EXPECT_EQ(1, sim_injected());
	/* The 208 pages deposited first were withdrawn. */
	EXPECT_TRUE(newest_has(" pool_free=0 pool_used=0 "));
	EXPECT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	close(pt);
	expect_baseline(_metadata, &self->before);
}

TEST_F(refused, create_vp)
{
	int pt, vp;

	pt = create(self->mshv);
	ASSERT_LE(0, pt);
	ASSERT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	ASSERT_EQ(0, sim_fail(HVCALL_CREATE_VP, 1, variant->status));
	EXPECT_EQ(-1, create_vp(pt, 1));
	EXPECT_EQ(variant->err, errno);
	EXPECT_EQ(1, sim_injected());
	EXPECT_TRUE(newest_has(" vps=0 "));
	vp = create_vp(pt, 1);
	EXPECT_LE(0, vp);
	close(vp);
	close(pt);
	expect_baseline(_metadata, &self->before);
}

TEST_F(refused, set_guest_memory)
{
	char buf[65536], mapped[65536], mine[32];
	void *mem;
	long id;
	int pt;

	mem = mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	pt = create(self->mshv);
	ASSERT_LE(0, pt);
	ASSERT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	ASSERT_NE(NULL, sim_newest_partition(buf, sizeof(buf), &id));
	ASSERT_EQ(0, sim_fail(HVCALL_MAP_GPA_PAGES, 1, variant->status));
	EXPECT_EQ(-1, set_memory(pt, 0x100, mem, 2 * MIB));
	EXPECT_EQ(variant->err, errno);
	EXPECT_EQ(1, sim_injected());
	/* Nothing of the partition is mapped. */
	snprintf(mine, sizeof(mine), "\n%ld ", id);
	mapped[0] = '\n';
	ASSERT_TRUE(sim_read("mapped", mapped + 1, sizeof(mapped) - 1));
	EXPECT_EQ(NULL, strstr(mapped, mine));
	EXPECT_EQ(0, set_memory(pt, 0x100, mem, 2 * MIB));
	ASSERT_TRUE(sim_read("mapped", mapped + 1, sizeof(mapped) - 1));
	EXPECT_NE(NULL, strstr(mapped, mine));
	close(pt);
	munmap(mem, 2 * MIB);
	expect_baseline(_metadata, &self->before);
}

TEST_F(refused, get_and_set_vp_state)
{
	void *buf;
	int pt, vp;

	buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	pt = create(self->mshv);
	ASSERT_LE(0, pt);
	ASSERT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	vp = create_vp(pt, 0);
	ASSERT_LE(0, vp);
	ASSERT_EQ(0, sim_fail(HVCALL_GET_VP_STATE, 1, variant->status));
	EXPECT_EQ(-1, vp_state(vp, MSHV_GET_VP_STATE, buf));
	EXPECT_EQ(variant->err, errno);
	EXPECT_EQ(0, vp_state(vp, MSHV_GET_VP_STATE, buf));
	ASSERT_EQ(0, sim_fail(HVCALL_SET_VP_STATE, 1, variant->status));
	EXPECT_EQ(-1, vp_state(vp, MSHV_SET_VP_STATE, buf));
	EXPECT_EQ(variant->err, errno);
	EXPECT_EQ(0, vp_state(vp, MSHV_SET_VP_STATE, buf));
	EXPECT_EQ(2, sim_injected());
	close(vp);
	close(pt);
	munmap(buf, PAGE);
	expect_baseline(_metadata, &self->before);
}

TEST_HARNESS_MAIN
