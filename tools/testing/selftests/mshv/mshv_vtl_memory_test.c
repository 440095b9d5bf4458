// SPDX-License-Identifier: GPL-2.0
/*
 * VTL0's memory through the VTL personality: MSHV_ADD_VTL0_MEMORY gives a range of it struct
 * pages, /dev/mshv_vtl_low maps it by physical address. The VTL VM boots with mem= below its
 * RAM; the RAM past the kernel's is the VTL0 memory added here (mshv_vtl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_vtl.h"

#define PAGE		4096UL
#define MIB		(1024UL * 1024)

/* MSHV_ADD_VTL0_MEMORY of physical addresses [start, end): 0 or -1 (errno). */
static int add(int vtl, unsigned long start, unsigned long end)
{
	struct mshv_vtl_ram_disposition range = {
		.start_pfn = start / PAGE,
		.last_pfn = end / PAGE,
	};

	return ioctl(vtl, MSHV_ADD_VTL0_MEMORY, &range);
}

static bool iomem_has(const char *name)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/iomem", "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, name);
	if (f)
		fclose(f);
	return found;
}

FIXTURE(memory) {
	int mshv;
	int vtl;
	int low;
	unsigned long ram;
};

FIXTURE_SETUP(memory)
{
	self->mshv = -1;
	self->vtl = -1;
	self->low = -1;
	if (!vtl_personality())
		SKIP(return, "mshv_vtl is not loaded (no /dev/mshv_hvcall)");
	self->ram = vtl0_ram(0);
	if (!self->ram)
		SKIP(return, "booted without mem=: no RAM kept from the kernel for VTL0");
	self->vtl = open_vtl(&self->mshv);
	ASSERT_LE(0, self->vtl);
	self->low = open("/dev/mshv_vtl_low", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->low);
	/* The mapping tests' half of the window (the first test may have added it). */
	if (add(self->vtl, self->ram + 32 * MIB, self->ram + 64 * MIB))
		ASSERT_EQ(EBUSY, errno);
}

FIXTURE_TEARDOWN(memory)
{
	if (self->low >= 0)
		close(self->low);
	close_vtl(self->mshv, self->vtl);
}

TEST_F(memory, a_range_is_added_once)
{
	unsigned long ram = self->ram;

	ASSERT_EQ(0, add(self->vtl, ram, ram + 16 * MIB));
	EXPECT_TRUE(iomem_has(": mshv_vtl VTL0 memory"));
	/* Again, in part or whole: the region is taken. */
	EXPECT_EQ(-1, add(self->vtl, ram, ram + 16 * MIB));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, add(self->vtl, ram + 8 * MIB, ram + 24 * MIB));
	EXPECT_EQ(EBUSY, errno);
	/* Next to it, another. */
	EXPECT_EQ(0, add(self->vtl, ram + 16 * MIB, ram + 32 * MIB));
}

TEST_F(memory, bad_ranges_are_errnos)
{
	unsigned long ram = self->ram;

	EXPECT_EQ(-1, ioctl(self->vtl, MSHV_ADD_VTL0_MEMORY, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* Empty, reversed (upstream: EFAULT), misaligned, beyond any physical address. */
	EXPECT_EQ(-1, add(self->vtl, ram + 40 * MIB, ram + 40 * MIB));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, add(self->vtl, ram + 42 * MIB, ram + 40 * MIB));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, add(self->vtl, ram + 200 * MIB + PAGE, ram + 202 * MIB));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, add(self->vtl, ram + 200 * MIB, ram + 202 * MIB - PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, add(self->vtl, 1UL << 62, (1UL << 62) + 2 * MIB));
	EXPECT_EQ(EINVAL, errno);
	/* The kernel's own RAM, and where RAM and not RAM meet: taken. */
	EXPECT_EQ(-1, add(self->vtl, ram - 2 * MIB, ram));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, add(self->vtl, ram - 2 * MIB, ram + 2 * MIB));
	EXPECT_EQ(EBUSY, errno);
}

TEST_F(memory, opening_low_needs_cap_sys_admin)
{
	EXPECT_EQ(EPERM, open_without_sys_admin("/dev/mshv_vtl_low"));
}

TEST_F(memory, low_has_no_ioctl_and_no_read)
{
	char buf[8];

	EXPECT_EQ(-1, ioctl(self->low, MSHV_ADD_VTL0_MEMORY, NULL));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, read(self->low, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(memory, writes_through_low_reach_the_memory)
{
	unsigned long base = self->ram + 32 * MIB, size = 32 * MIB, i;
	__u64 *map, *other;

	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, self->low, base);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < size / PAGE; i++)
		map[i * PAGE / 8] = base + i * PAGE;
	/* Another mapping of a part of it, and a new one of all of it, see the same. */
	other = mmap(NULL, 2 * MIB, PROT_READ, MAP_SHARED, self->low, base + 6 * MIB);
	ASSERT_NE(MAP_FAILED, other);
	EXPECT_EQ(base + 6 * MIB, other[0]);
	EXPECT_EQ(base + 8 * MIB - PAGE, other[(2 * MIB - PAGE) / 8]);
	munmap(other, 2 * MIB);
	munmap(map, size);
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, self->low, base);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < size / PAGE; i++)
		if (map[i * PAGE / 8] != base + i * PAGE)
			break;
	EXPECT_EQ(size / PAGE, i);
	munmap(map, size);
}

/* Minor faults taken touching every page of [p, p + size). */
static long faults_touching(char *p, unsigned long size)
{
	struct rusage before, after;
	unsigned long i;

	getrusage(RUSAGE_SELF, &before);
	for (i = 0; i < size; i += PAGE)
		__atomic_store_n(p + i, 1, __ATOMIC_RELAXED);
	getrusage(RUSAGE_SELF, &after);
	return after.ru_minflt - before.ru_minflt;
}

/* A shared mapping of `size` bytes of /dev/mshv_vtl_low at `offset`, at a 2 MiB boundary. */
static char *map_aligned(int low, unsigned long size, unsigned long offset)
{
	char *area = mmap(NULL, size + VTL0_ALIGN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *at;

	if (area == MAP_FAILED)
		return MAP_FAILED;
	at = (char *)(((uintptr_t)area + VTL0_ALIGN - 1) & ~(VTL0_ALIGN - 1));
	return mmap(at, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, low, offset);
}

static bool thp_never(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	return !f || strstr(buf, "[never]");
}

TEST_F(memory, aligned_pieces_map_in_one_fault)
{
	unsigned long base = self->ram + 32 * MIB;
	long faults;
	char *map;

	if (thp_never())
		SKIP(return, "transparent huge pages are off: every fault maps a page");
	/* Address and offset aligned alike: one fault per 2 MiB (4 KiB pages). */
	map = map_aligned(self->low, 8 * MIB, base);
	ASSERT_NE(MAP_FAILED, map);
	faults = faults_touching(map, 8 * MIB);
	EXPECT_LE(1, faults);
	EXPECT_GE(4, faults);
	munmap(map, 8 * MIB);
	/* Offset a page off: a fault per page. */
	map = map_aligned(self->low, 2 * MIB, base + PAGE);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_LE(2 * MIB / PAGE, faults_touching(map, 2 * MIB));
	munmap(map, 2 * MIB);
}

TEST_F(memory, a_private_mapping_copies_on_write)
{
	unsigned long base = self->ram + 40 * MIB;
	__u64 *shared, *private;

	shared = (__u64 *)map_aligned(self->low, 2 * MIB, base);
	ASSERT_NE(MAP_FAILED, shared);
	__atomic_store_n(shared, 0x1111, __ATOMIC_RELAXED);
	/* A first write, 2 MiB aligned: the private copy's, not VTL0's. */
	private = mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->low, base);
	ASSERT_NE(MAP_FAILED, private);
	__atomic_store_n(private, 0x2222, __ATOMIC_RELAXED);
	EXPECT_EQ(0x1111, __atomic_load_n(shared, __ATOMIC_RELAXED));
	EXPECT_EQ(0x2222, __atomic_load_n(private, __ATOMIC_RELAXED));
	munmap(private, 2 * MIB);
	munmap(shared, 2 * MIB);
}

TEST_F(memory, only_added_memory_maps)
{
	char *mine, *kernel, *unadded;

	/* The kernel's own RAM (upstream maps any frame), memory no one added. */
	kernel = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->low, self->ram - VTL0_ALIGN);
	unadded = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->low, self->ram + 200 * MIB);
	mine = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->low, self->ram + 32 * MIB);
	ASSERT_NE(MAP_FAILED, kernel);
	ASSERT_NE(MAP_FAILED, unadded);
	ASSERT_NE(MAP_FAILED, mine);
	EXPECT_TRUE(touching_is_sigbus(kernel));
	EXPECT_TRUE(touching_is_sigbus(unadded));
	EXPECT_FALSE(touching_is_sigbus(mine));
	munmap(kernel, PAGE);
	munmap(unadded, PAGE);
	munmap(mine, PAGE);
}

TEST_HARNESS_MAIN
