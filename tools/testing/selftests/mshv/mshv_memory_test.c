// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_SET_GUEST_MEMORY: mapping user memory into a partition's guest physical address space
 * and unmapping it, with upstream's errnos. What the hypervisor mapped is read back from the
 * simulated hypervisor's debugfs (/sys/kernel/debug/mshv_sim/mapped, and the frames it was
 * given from `last`); without it those checks are skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"

#define NO_SIM "no simulated hypervisor: the test reads its debugfs"
#define MIB (1024UL * 1024)

/* The uapi names bit numbers. */
static const __u8 WRITABLE = 1 << MSHV_SET_MEM_BIT_WRITABLE;
static const __u8 EXECUTABLE = 1 << MSHV_SET_MEM_BIT_EXECUTABLE;
static const __u8 UNMAP = 1 << MSHV_SET_MEM_BIT_UNMAP;

/* The ranges of the newest partition in the simulator's `mapped`, as "gfn pages flags;..." */
static void sim_mapped(char *out, size_t size)
{
	char buf[65536], *line, *rest;
	long id, newest = -1;

	out[0] = 0;
	if (!sim_newest_partition(buf, sizeof(buf), &newest))
		return;
	if (!sim_read("mapped", buf, sizeof(buf)))
		return;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		id = strtol(line, &rest, 10);
		if (id == newest && strlen(out) + strlen(rest) + 2 < size) {
			strcat(out, rest + 1);
			strcat(out, ";");
		}
	}
}

static bool have_sim(void)
{
	return access(SIM_DIR "mapped", R_OK) == 0;
}

static void *anon(size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int set_memory(int pt, __u64 gfn, void *addr, __u64 size, __u8 flags)
{
	struct mshv_user_mem_region r = {
		.size = size, .guest_pfn = gfn, .userspace_addr = (__u64)(uintptr_t)addr,
		.flags = flags,
	};

	return ioctl(pt, MSHV_SET_GUEST_MEMORY, &r);
}

FIXTURE(memory) {
	int mshv;
	int pt;
	void *mem;
};

FIXTURE_SETUP(memory)
{
	struct mshv_create_partition args = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };

	self->mshv = open("/dev/mshv", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->mshv);
	self->pt = ioctl(self->mshv, MSHV_CREATE_PARTITION, &args);
	ASSERT_LE(0, self->pt);
	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	self->mem = anon(4 * MIB, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->mem);
}

FIXTURE_TEARDOWN(memory)
{
	close(self->pt);
	close(self->mshv);
	munmap(self->mem, 4 * MIB);
}

TEST_F(memory, map_and_unmap)
{
	char mapped[4096];

	ASSERT_EQ(0, set_memory(self->pt, 0x100, self->mem, 2 * MIB, WRITABLE));
	ASSERT_EQ(0, set_memory(self->pt, 0x1000, (char *)self->mem + 2 * MIB, 4096,
				EXECUTABLE));
	if (have_sim()) {
		sim_mapped(mapped, sizeof(mapped));
		/* Movable: mapped with no access until the guest touches them. */
		EXPECT_STREQ("0x100 512 0x10;0x1000 1 0x10;", mapped);
	}
	EXPECT_EQ(0, set_memory(self->pt, 0x100, self->mem, 2 * MIB, UNMAP));
	if (have_sim()) {
		sim_mapped(mapped, sizeof(mapped));
		EXPECT_STREQ("0x1000 1 0x10;", mapped);
	}
	/* The range is free again. */
	EXPECT_EQ(0, set_memory(self->pt, 0x100, self->mem, 4096, 0));
}

TEST_F(memory, overlaps_are_eexist)
{
	char *mem = self->mem;

	ASSERT_EQ(0, set_memory(self->pt, 0x100, mem, 2 * MIB, 0));
	EXPECT_EQ(-1, set_memory(self->pt, 0x2ff, mem + 2 * MIB, 4096, 0));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, set_memory(self->pt, 0x80, mem + 2 * MIB, MIB, 0));
	EXPECT_EQ(EEXIST, errno);
	/* The same user memory at another guest address is allowed. */
	EXPECT_EQ(0, set_memory(self->pt, 0x300, mem, 4096, 0));
}

TEST_F(memory, unmap_needs_the_exact_region)
{
	char *mem = self->mem;

	ASSERT_EQ(0, set_memory(self->pt, 0x100, mem, 2 * MIB, 0));
	EXPECT_EQ(-1, set_memory(self->pt, 0x5000, mem, 4096, UNMAP));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, set_memory(self->pt, 0x100, mem, MIB, UNMAP));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_memory(self->pt, 0x101, mem + 4096, 4096, UNMAP));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_memory(self->pt, 0x100, mem + 4096, 2 * MIB, UNMAP));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, set_memory(self->pt, 0x100, mem, 2 * MIB, UNMAP));
}

TEST_F(memory, bad_arguments)
{
	struct mshv_user_mem_region r = {
		.size = 4096, .guest_pfn = 0, .userspace_addr = (__u64)(uintptr_t)self->mem,
	};
	char *ro = anon(4096, PROT_READ), *gone = anon(4096, PROT_READ | PROT_WRITE);
	unsigned int i;

	ASSERT_NE(NULL, ro);
	ASSERT_NE(NULL, gone);
	ASSERT_EQ(0, munmap(gone, 4096));
	EXPECT_EQ(-1, set_memory(self->pt, 0, self->mem, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_memory(self->pt, 0, self->mem, 4095, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_memory(self->pt, 0, (char *)self->mem + 1, 4096, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_memory(self->pt, 0, self->mem, 4096, 1 << 3));
	EXPECT_EQ(EINVAL, errno);
	for (i = 0; i < sizeof(r.rsvd); i++) {
		struct mshv_user_mem_region bad = r;

		bad.rsvd[i] = 1;
		EXPECT_EQ(-1, ioctl(self->pt, MSHV_SET_GUEST_MEMORY, &bad));
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_SET_GUEST_MEMORY, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* No mapping at the address; a kernel address. */
	EXPECT_EQ(-1, set_memory(self->pt, 0, gone, 4096, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_memory(self->pt, 0, (void *)0xffff800000000000UL, 4096, 0));
	EXPECT_EQ(EINVAL, errno);
	/*
	 * Read-only memory, and a region that runs past the end of the mapping, are mapped
	 * (movable, as upstream): what cannot be faulted in when the guest touches it goes to the
	 * VMM.
	 */
	EXPECT_EQ(0, set_memory(self->pt, 0, ro, 4096, 0));
	EXPECT_EQ(0, set_memory(self->pt, 0, ro, 4096, UNMAP));
	EXPECT_EQ(0, set_memory(self->pt, 0, (char *)self->mem + 3 * MIB, 2 * MIB, 0));
	EXPECT_EQ(0, set_memory(self->pt, 0, (char *)self->mem + 3 * MIB, 2 * MIB, UNMAP));
	munmap(ro, 4096);
	/* Nothing was left mapped by the failures. */
	EXPECT_EQ(0, set_memory(self->pt, 0, self->mem, 4 * MIB, 0));
}

TEST_F(memory, mapping_asks_for_memory_and_gets_it)
{
	size_t size = 64 * MIB;
	char *big = anon(size, PROT_READ | PROT_WRITE);
	long deposits;
	char buf[65536];

	if (!have_sim())
		SKIP(return, NO_SIM);
	ASSERT_NE(NULL, big);
	deposits = sim_calls(0x48);
	/* 32 tables of 2 MiB: more than the pool has after initialisation. */
	ASSERT_EQ(0, set_memory(self->pt, 0x40000, big, size, WRITABLE));
	EXPECT_LT(deposits, sim_calls(0x48));
	sim_mapped(buf, sizeof(buf));
	EXPECT_STREQ("0x40000 16384 0x10;", buf);
	EXPECT_EQ(0, set_memory(self->pt, 0x40000, big, size, UNMAP));
	munmap(big, size);
}

static int bitmap(int pt, __u8 type, __u8 op, __u64 gfn, __u64 count, void *out)
{
	struct mshv_gpap_access_bitmap b = {
		.access_type = type, .access_op = op, .page_count = count, .gpap_base = gfn,
		.bitmap_ptr = (__u64)(uintptr_t)out,
	};

	return ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &b);
}

TEST_F(memory, access_bitmap)
{
	__u8 bits[16], ones[8], zeros[16] = { 0 };
	struct mshv_gpap_access_bitmap bad;

	memset(ones, 0xff, sizeof(ones));
	ASSERT_EQ(0, set_memory(self->pt, 0x100, self->mem, 64 * 4096, WRITABLE));
	/* Dirty: clear (reads the state first), set (reads the cleared state), read again. */
	EXPECT_EQ(0, bitmap(self->pt, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_CLEAR,
			    0x100, 64, bits));
	EXPECT_EQ(0, bitmap(self->pt, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_SET,
			    0x100, 64, bits));
	EXPECT_EQ(0, memcmp(bits, zeros, 8));
	memset(bits, 0, sizeof(bits));
	EXPECT_EQ(0, bitmap(self->pt, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_NOOP,
			    0x100, 64, bits));
	EXPECT_EQ(0, memcmp(bits, ones, 8));
	/* Setting dirty set accessed too; clearing accessed clears both. */
	EXPECT_EQ(0, bitmap(self->pt, MSHV_GPAP_ACCESS_TYPE_ACCESSED, MSHV_GPAP_ACCESS_OP_CLEAR,
			    0x100, 64, bits));
	EXPECT_EQ(0, memcmp(bits, ones, 8));
	EXPECT_EQ(0, bitmap(self->pt, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_CLEAR,
			    0x100, 64, bits));
	EXPECT_EQ(0, memcmp(bits, zeros, 8));
	/* Pages past the region read as never touched; bits past the count are zero. */
	memset(bits, 0xff, sizeof(bits));
	EXPECT_EQ(0, bitmap(self->pt, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_SET,
			    0x100 + 60, 10, bits));
	EXPECT_EQ(0, bits[0]);
	EXPECT_EQ(0, bits[1]);
	EXPECT_EQ(0xff, bits[2]);

	memset(&bad, 0, sizeof(bad));
	bad.page_count = 8;
	bad.bitmap_ptr = (__u64)(uintptr_t)bits;
	bad.access_type = 2;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_GET_GPAP_ACCESS_BITMAP, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad.access_type = 0;
	bad.access_op = 3;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_GET_GPAP_ACCESS_BITMAP, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad.access_op = 0;
	bad.rsvd[5] = 1;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_GET_GPAP_ACCESS_BITMAP, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad.rsvd[5] = 0;
	bad.page_count = 0;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_GET_GPAP_ACCESS_BITMAP, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad.page_count = 8;
	bad.bitmap_ptr = 0;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_GET_GPAP_ACCESS_BITMAP, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad.bitmap_ptr = 1;
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_GET_GPAP_ACCESS_BITMAP, &bad));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->pt, MSHV_GET_GPAP_ACCESS_BITMAP, NULL));
	EXPECT_EQ(EFAULT, errno);
}

/* The type of the message MSHV_RUN_VP returned from VP file fd, or 0. */
static __u32 run_vp(int fd)
{
	__u32 msg[64] = { 0 };

	return ioctl(fd, MSHV_RUN_VP, msg) ? 0 : msg[0];
}

#define HVCALL_MAP_GPA_PAGES 0x4b
#define HV_STATUS_INVALID_PARAMETER 0x5
#define HVMSG_UNMAPPED_GPA 0x80000000
#define HVMSG_GPA_INTERCEPT 0x80000001
#define HVMSG_X64_HALT 0x80010007

/*
 * Movable memory: pages come in (2 MiB around the fault) when the guest touches them, and have
 * no access again when the kernel takes them back; a write to a read-only region is the VMM's.
 */
TEST_F(memory, movable_pages_come_on_the_guests_touch)
{
	struct mshv_create_vp vp = { .vp_index = 0 };
	__u32 *word = (__u32 *)((char *)self->mem + 4 * 4096 + 0x10);
	char buf[65536], mapped[4096];
	__u8 bits[8] = { 0 };
	long id = -1;
	int fd;

	if (!have_sim())
		SKIP(return, NO_SIM);
	ASSERT_EQ(0, set_memory(self->pt, 0x100, self->mem, 3 * MIB, WRITABLE));
	ASSERT_EQ(0, set_memory(self->pt, 0x1000, (char *)self->mem + 3 * MIB, 4096, 0));
	fd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, sim_newest_partition(buf, sizeof(buf), &id));

	/* The guest writes into the fifth page, then halts: the write lands in our memory. */
	ASSERT_EQ(0, sim_inject(id, 0, "write 0x104010 4 0xfeedf00d"));
	ASSERT_EQ(0, sim_inject(id, 0, "halt"));
	EXPECT_EQ(HVMSG_X64_HALT, run_vp(fd));
	EXPECT_EQ(0xfeedf00d, *word);
	sim_mapped(mapped, sizeof(mapped));
	EXPECT_STREQ("0x100 512 0x43;0x300 256 0x10;0x1000 1 0x10;", mapped);
	/* The page's dirty bit is the guest's write. */
	EXPECT_EQ(0, bitmap(self->pt, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_NOOP,
			    0x100, 8, bits));
	EXPECT_EQ(0x10, bits[0]);

	/* New pages replace them: no access again; the next write brings them in. */
	ASSERT_EQ(self->mem, mmap(self->mem, 2 * MIB, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	sim_mapped(mapped, sizeof(mapped));
	EXPECT_STREQ("0x100 768 0x10;0x1000 1 0x10;", mapped);
	EXPECT_EQ(0, *word);
	ASSERT_EQ(0, sim_inject(id, 0, "write 0x104010 4 0x1234"));
	ASSERT_EQ(0, sim_inject(id, 0, "halt"));
	EXPECT_EQ(HVMSG_X64_HALT, run_vp(fd));
	EXPECT_EQ(0x1234, *word);

	/* A read of the read-only region is taken; a write there goes to the VMM. */
	ASSERT_EQ(0, sim_inject(id, 0, "read 0x1000000"));
	ASSERT_EQ(0, sim_inject(id, 0, "write 0x1000000 1 1"));
	EXPECT_EQ(HVMSG_GPA_INTERCEPT, run_vp(fd));
	sim_mapped(mapped, sizeof(mapped));
	EXPECT_STREQ("0x100 512 0x43;0x300 256 0x10;0x1000 1 0x41;", mapped);
	close(fd);
}

#define HVCALL_SET_VP_REGISTERS 0x51
#define HVCALL_TRANSLATE_VIRTUAL_ADDRESS 0x52
#define HV_STATUS_INVALID_VP_INDEX 0xe
#define TRANSLATE_READ 0x1
#define TRANSLATE_WRITE 0x2
#define TRANSLATE_SET_BITS 0x10

/* Sets VP vp's registers names[i] to values[i]. */
static int set_regs(int pt, __u32 vp, const __u32 *names, const __u64 (*values)[2],
		    unsigned int n)
{
	struct {
		__u64 pt; __u32 vp; __u8 vtl, r8; __u16 r16;
		struct { __u32 name, r1; __u64 r2; __u64 value[2]; } reg[8];
	} in = { .vp = vp };
	struct mshv_root_hvcall args = {
		.code = HVCALL_SET_VP_REGISTERS, .reps = n, .in_sz = 16 + 32 * n,
		.in_ptr = (__u64)(uintptr_t)&in,
	};
	unsigned int i;

	for (i = 0; i < n && i < 8; i++) {
		in.reg[i].name = names[i];
		in.reg[i].value[0] = values[i][0];
		in.reg[i].value[1] = values[i][1];
	}
	return ioctl(pt, MSHV_ROOT_HVCALL, &args);
}

/*
 * HVCALL_TRANSLATE_VIRTUAL_ADDRESS for VP vp: the call's status (or -1), the translation's
 * result code and guest physical address in *result and *gpa.
 */
static int translate(int pt, __u32 vp, __u64 gva, __u64 flags, __u32 *result, __u64 *gpa)
{
	struct { __u64 pt; __u32 vp, pad; __u64 flags, gva_page; } in = {
		.vp = vp, .flags = flags, .gva_page = gva >> 12,
	};
	struct { __u64 result, gpa_page; } out = { ~0ULL, ~0ULL };
	struct mshv_root_hvcall args = {
		.code = HVCALL_TRANSLATE_VIRTUAL_ADDRESS, .in_sz = sizeof(in),
		.out_sz = sizeof(out), .in_ptr = (__u64)(uintptr_t)&in,
		.out_ptr = (__u64)(uintptr_t)&out,
	};

	if (ioctl(pt, MSHV_ROOT_HVCALL, &args))
		return args.status ? args.status : -1;
	*result = (__u32)out.result;
	*gpa = out.gpa_page << 12 | (gva & 0xfff);
	return 0;
}

/*
 * The hypervisor walks the guest's page tables for the root (what a VMM emulating an access
 * to device memory asks, as QEMU does): paging off, an address is its own; with 4-level
 * paging, through the tables in the guest's memory (ours, mapped into it), checking rights
 * and setting the accessed and dirty bits in place when asked. Tables the guest has not
 * touched yet (movable memory, mapped with no access) cannot be read.
 */
TEST_F(memory, the_hypervisor_walks_the_guests_page_tables)
{
	static const __u32 names[] = { 0x40000, 0x40002, 0x40003, 0x80001, 0x60002 };
	/* CR0 PE|WP|PG, CR3, CR4 PAE, EFER LME|LMA|NXE; SS (its attributes in bits 48-63). */
	__u64 values[][2] = { { 0x80010001 }, { 0x100000 }, { 0x20 }, { 0xd00 }, { 0 } };
	struct mshv_create_vp vp = { .vp_index = 0 };
	__u64 *table = self->mem, gpa;
	char buf[65536];
	__u32 result;
	long id = -1;
	int fd;

#ifndef __x86_64__
	SKIP(return, "the simulator walks x86's page tables only");
#endif
	if (!have_sim())
		SKIP(return, NO_SIM);
	/*
	 * PML4 at 0x100000, PDPT at 0x101000, PD at 0x102000, PT at 0x103000: 0x40201234 is in
	 * frame 0x105000 (supervisor, writable).
	 */
	table[0] = 0x101000 | 7;
	table[512 + 1] = 0x102000 | 7;
	table[1024 + 1] = 0x103000 | 7;
	table[1536 + 1] = 0x105000 | 3;
	ASSERT_EQ(0, set_memory(self->pt, 0x100, self->mem, 2 * MIB, WRITABLE));
	fd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, sim_newest_partition(buf, sizeof(buf), &id));

	ASSERT_EQ(0, translate(self->pt, 0, 0xfed00123, TRANSLATE_READ, &result, &gpa));
	EXPECT_EQ(0, result);
	EXPECT_EQ(0xfed00123, gpa);
	ASSERT_EQ(0, set_regs(self->pt, 0, names, values, 5));
	/* Never touched: HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS. */
	ASSERT_EQ(0, translate(self->pt, 0, 0x40201234, TRANSLATE_READ, &result, &gpa));
	EXPECT_EQ(5, result);
	/* The guest reads its PML4 (its 2 MiB come in), then halts. */
	ASSERT_EQ(0, sim_inject(id, 0, "read 0x100000"));
	ASSERT_EQ(0, sim_inject(id, 0, "halt"));
	EXPECT_EQ(HVMSG_X64_HALT, run_vp(fd));
	ASSERT_EQ(0, translate(self->pt, 0, 0x40201234, TRANSLATE_READ, &result, &gpa));
	EXPECT_EQ(0, result);
	EXPECT_EQ(0x105234, gpa);
	EXPECT_EQ(0, table[1536 + 1] & 0x60);
	ASSERT_EQ(0, translate(self->pt, 0, 0x40201234, TRANSLATE_WRITE | TRANSLATE_SET_BITS,
			       &result, &gpa));
	EXPECT_EQ(0, result);
	/* Accessed (0x20) all the way down; dirty (0x40) on the last. */
	EXPECT_EQ(0x20, table[0] & 0x60);
	EXPECT_EQ(0x20, table[512 + 1] & 0x60);
	EXPECT_EQ(0x20, table[1024 + 1] & 0x60);
	EXPECT_EQ(0x60, table[1536 + 1] & 0x60);
	/* Not present: HV_TRANSLATE_GVA_PAGE_NOT_PRESENT. */
	ASSERT_EQ(0, translate(self->pt, 0, 0x40202000, TRANSLATE_READ, &result, &gpa));
	EXPECT_EQ(1, result);
	/* At CPL 3 (SS's DPL), a supervisor page: HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION. */
	values[4][1] = (__u64)(0x93 | 3 << 5) << 48;
	ASSERT_EQ(0, set_regs(self->pt, 0, &names[4], &values[4], 1));
	ASSERT_EQ(0, translate(self->pt, 0, 0x40201234, TRANSLATE_READ, &result, &gpa));
	EXPECT_EQ(2, result);
	/* Unknown flags, a VP the partition does not have. */
	EXPECT_EQ(HV_STATUS_INVALID_PARAMETER,
		  translate(self->pt, 0, 0x40201234, 0x800, &result, &gpa));
	EXPECT_EQ(HV_STATUS_INVALID_VP_INDEX,
		  translate(self->pt, 1, 0x40201234, TRANSLATE_READ, &result, &gpa));
	close(fd);
}

/*
 * Large pages: where the guest's fault finds 2 MiB of a huge page of the VMM's at a 2 MiB
 * guest frame, they are mapped as one large page (HV_MAP_GPA_LARGE_PAGE, one call for the
 * whole 2 MiB; the simulator shows it as flag 0x80); once the kernel splits the huge page
 * (a page of it replaced), the 2 MiB have no access again, and the next fault maps what is
 * there now, 4 KiB pages.
 */
/* The kB of this process's anonymous memory in huge pages (smaps_rollup), or -1. */
static long anon_huge_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

TEST_F(memory, a_huge_page_is_mapped_large)
{
	struct mshv_create_vp vp = { .vp_index = 0 };
	char buf[65536], mapped[4096];
	long id = -1, maps;
	char *raw, *mem;
	int fd;

	if (!have_sim())
		SKIP(return, NO_SIM);
	raw = anon(8 * MIB, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, raw);
	mem = (char *)(((uintptr_t)raw + 2 * MIB - 1) & ~(2 * MIB - 1));
	madvise(mem, 4 * MIB, MADV_HUGEPAGE);
	memset(mem, 1, 4 * MIB);
	if (anon_huge_kb() < 2048)
		SKIP(goto out_unmap, "the kernel gave no huge page (THP)");
	ASSERT_EQ(0, set_memory(self->pt, 0x200, mem, 4 * MIB, WRITABLE));
	fd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, sim_newest_partition(buf, sizeof(buf), &id));
	maps = sim_calls(HVCALL_MAP_GPA_PAGES);
	ASSERT_EQ(0, sim_inject(id, 0, "write 0x200010 4 0xabcd"));
	ASSERT_EQ(0, sim_inject(id, 0, "halt"));
	EXPECT_EQ(HVMSG_X64_HALT, run_vp(fd));
	EXPECT_EQ(0xabcd, *(__u32 *)(mem + 0x10));
	sim_mapped(mapped, sizeof(mapped));
	EXPECT_STREQ("0x200 512 0xc3;0x400 512 0x10;", mapped);
	EXPECT_EQ(maps + 1, sim_calls(HVCALL_MAP_GPA_PAGES));

	/* A page of it replaced: the huge page is split, the 2 MiB have no access. */
	ASSERT_EQ(mem + 4096, mmap(mem + 4096, 4096, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	sim_mapped(mapped, sizeof(mapped));
	EXPECT_STREQ("0x200 1024 0x10;", mapped);
	ASSERT_EQ(0, sim_inject(id, 0, "write 0x200010 4 0x1234"));
	ASSERT_EQ(0, sim_inject(id, 0, "halt"));
	EXPECT_EQ(HVMSG_X64_HALT, run_vp(fd));
	EXPECT_EQ(0x1234, *(__u32 *)(mem + 0x10));
	sim_mapped(mapped, sizeof(mapped));
	EXPECT_STREQ("0x200 512 0x43;0x400 512 0x10;", mapped);
	close(fd);
out_unmap:
	munmap(raw, 8 * MIB);
}

/*
 * `pages` pages of a PCI memory BAR mapped through its sysfs resource file (VM_IO |
 * VM_PFNMAP), from page `offset` of the BAR; the BAR's first page frame, as the device's
 * `resource` file gives its physical address, in *bar_pfn. NULL if the machine has no memory
 * BAR that big that can be mapped.
 */
static void *pci_bar_map(size_t pages, size_t offset, unsigned long long *bar_pfn)
{
	char path[512], line[256];
	unsigned long long start, end, flags;
	struct dirent *d;
	void *p = NULL;
	DIR *dir = opendir("/sys/bus/pci/devices");
	FILE *f;
	int bar, fd;

	for (; dir && !p && (d = readdir(dir));) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", d->d_name);
		f = fopen(path, "r");
		for (bar = 0; f && !p && bar < 6 && fgets(line, sizeof(line), f); bar++) {
			if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3 ||
			    !(flags & 0x200) || !start || start % 4096 ||
			    end - start + 1 < (offset + pages) * 4096)
				continue;
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%d",
				 d->d_name, bar);
			fd = open(path, O_RDWR);
			if (fd < 0)
				continue;
			p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
				 offset * 4096);
			if (p == MAP_FAILED)
				p = NULL;
			else
				*bar_pfn = start / 4096;
			close(fd);
		}
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	return p;
}

/*
 * Entry i of the frame list of the last HVCALL_MAP_GPA_PAGES the simulator took (its input
 * after the 24-byte header, from the `last` file: the first 13 entries), or -1.
 */
static long long sim_last_map_pfn(int i)
{
	char buf[65536], *line, *hex;
	unsigned long long pfn = 0;
	unsigned int byte;
	int b;

	if (i < 0 || 24 + 8 * (i + 1) > 128 || !sim_read("last", buf, sizeof(buf)))
		return -1;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "0x4b ", 5))
			continue;
		hex = strrchr(line, ' ') + 1;
		if (strlen(hex) < 2 * 128)
			return -1;
		/* Little-endian: the last byte is the most significant. */
		for (b = 7; b >= 0; b--) {
			if (sscanf(hex + 2 * (24 + 8 * i + b), "%2x", &byte) != 1)
				return -1;
			pfn = pfn << 8 | byte;
		}
		return pfn;
	}
	return -1;
}

/* Device memory is mapped whole, readable, writable and uncached, whatever the flags. */
TEST_F(memory, device_memory)
{
	char mapped[4096];
	unsigned long long bar_pfn;
	void *bar = pci_bar_map(1, 0, &bar_pfn);

	if (!bar)
		SKIP(return, "no PCI memory BAR to map through sysfs (no PCI on this machine)");
	/* More than the device mapping holds. */
	EXPECT_EQ(-1, set_memory(self->pt, 0x2000, bar, 2 * 4096, 0));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, set_memory(self->pt, 0x2000, bar, 4096, EXECUTABLE));
	if (have_sim()) {
		sim_mapped(mapped, sizeof(mapped));
		EXPECT_STREQ("0x2000 1 0x23;", mapped);
		/* The BAR's own frame. */
		EXPECT_EQ((long long)bar_pfn, sim_last_map_pfn(0));
	}
	EXPECT_EQ(-1, set_memory(self->pt, 0x2000, bar, 4096, 0));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(0, set_memory(self->pt, 0x2000, bar, 4096, UNMAP));
	if (have_sim()) {
		sim_mapped(mapped, sizeof(mapped));
		EXPECT_STREQ("", mapped);
	}
	munmap(bar, 4096);
}

/*
 * A region that starts inside a device mapping, itself made from inside the BAR: the
 * hypervisor is given the frames behind the region's own pages (here the BAR's pages 2 and 3),
 * not the mapping's first frame.
 */
TEST_F(memory, device_memory_at_an_offset)
{
	char mapped[4096];
	unsigned long long bar_pfn;
	/* Pages 1 to 3 of the BAR. */
	char *bar = pci_bar_map(3, 1, &bar_pfn);

	if (!bar)
		SKIP(return, "no PCI memory BAR of 4 pages or more to map through sysfs");
	/* Past the end of the mapping, from inside it. */
	EXPECT_EQ(-1, set_memory(self->pt, 0x2000, bar + 4096, 3 * 4096, 0));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, set_memory(self->pt, 0x2000, bar + 4096, 2 * 4096, WRITABLE));
	if (have_sim()) {
		sim_mapped(mapped, sizeof(mapped));
		EXPECT_STREQ("0x2000 2 0x23;", mapped);
		EXPECT_EQ((long long)bar_pfn + 2, sim_last_map_pfn(0));
		EXPECT_EQ((long long)bar_pfn + 3, sim_last_map_pfn(1));
	}
	EXPECT_EQ(0, set_memory(self->pt, 0x2000, bar + 4096, 2 * 4096, UNMAP));
	if (have_sim()) {
		sim_mapped(mapped, sizeof(mapped));
		EXPECT_STREQ("", mapped);
	}
	munmap(bar, 3 * 4096);
}

TEST(teardown_unmaps_and_unpins)
{
	struct mshv_create_partition args = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };
	char *mem = anon(2 * MIB, PROT_READ | PROT_WRITE), mapped[4096], before[4096];
	int mshv = open("/dev/mshv", O_RDWR), pt, init;

	if (!have_sim())
		SKIP(return, NO_SIM);
	ASSERT_NE(NULL, mem);
	sim_read("mapped", before, sizeof(before));
	/* Before and after initialisation. */
	for (init = 0; init < 2; init++) {
		pt = ioctl(mshv, MSHV_CREATE_PARTITION, &args);
		ASSERT_LE(0, pt);
		if (init)
			ASSERT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
		ASSERT_EQ(0, set_memory(pt, 0, mem, 2 * MIB, WRITABLE));
		close(pt);
		sim_read("mapped", mapped, sizeof(mapped));
		EXPECT_STREQ(before, mapped);
	}
	/* Unpinned: the memory can go. */
	EXPECT_EQ(0, munmap(mem, 2 * MIB));
	close(mshv);
}

/* The simulator's count of frames a guest can reach that the kernel has freed, or -1. */
static long sim_freed(void)
{
	char buf[64];

	return sim_read("freed", buf, sizeof(buf)) ? strtol(buf, NULL, 10) : -1;
}

/*
 * The kernel takes movable pages back while the hypervisor refuses to remap them with no
 * access: the guest still reaches them, so they must stay allocated until the region is
 * unmapped (or remapped).
 */
TEST_F(memory, a_refused_invalidation_keeps_the_pages)
{
	struct mshv_create_vp vp = { .vp_index = 0 };
	char buf[65536], mapped[4096];
	long id = -1;
	int fd;

	if (!have_sim())
		SKIP(return, NO_SIM);
	ASSERT_EQ(0, set_memory(self->pt, 0x100, self->mem, 2 * MIB, WRITABLE));
	fd = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, sim_newest_partition(buf, sizeof(buf), &id));
	ASSERT_EQ(0, sim_inject(id, 0, "write 0x100010 4 0xfeedf00d"));
	ASSERT_EQ(0, sim_inject(id, 0, "halt"));
	EXPECT_EQ(HVMSG_X64_HALT, run_vp(fd));
	sim_mapped(mapped, sizeof(mapped));
	ASSERT_STREQ("0x100 512 0x43;", mapped);

	/* The next map call (the invalidation's remap) is refused. */
	ASSERT_EQ(0, sim_fail(HVCALL_MAP_GPA_PAGES, 1, HV_STATUS_INVALID_PARAMETER));
	ASSERT_EQ(self->mem, mmap(self->mem, 2 * MIB, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	sim_mapped(mapped, sizeof(mapped));
	EXPECT_STREQ("0x100 512 0x43;", mapped);
	EXPECT_EQ(0, sim_freed());
	/* The guest writes into the old pages, which are still allocated. */
	ASSERT_EQ(0, sim_inject(id, 0, "write 0x100020 4 0x1234"));
	ASSERT_EQ(0, sim_inject(id, 0, "halt"));
	EXPECT_EQ(HVMSG_X64_HALT, run_vp(fd));
	EXPECT_EQ(0, sim_freed());
	ASSERT_EQ(0, sim_fail_clear());

	/* Unmapping lets them go. */
	ASSERT_EQ(0, set_memory(self->pt, 0x100, self->mem, 2 * MIB, UNMAP));
	sim_mapped(mapped, sizeof(mapped));
	EXPECT_STREQ("", mapped);
	EXPECT_EQ(0, sim_freed());
	close(fd);
}

/*
 * A bitmap of 2^40 pages (a writable 128 GiB of address space behind it) would take the walk
 * hours: it must end when its caller is killed, and not hold the CPU meanwhile.
 */
TEST_F(memory, a_kill_ends_a_huge_access_bitmap)
{
	const __u64 pages = 1ULL << 40;
	void *out = mmap(NULL, pages / 8, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int status, i;
	pid_t child;

	if (!have_sim())
		SKIP(return, NO_SIM);
	if (out == MAP_FAILED)
		SKIP(return, "no 128 GiB of address space for the bitmap");
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0)
		_exit(bitmap(self->pt, MSHV_GPAP_ACCESS_TYPE_ACCESSED, MSHV_GPAP_ACCESS_OP_NOOP,
			     0, pages, out) ? 1 : 0);
	/* Still walking after a second. */
	usleep(1000 * 1000);
	EXPECT_EQ(0, waitpid(child, &status, WNOHANG));
	ASSERT_EQ(0, kill(child, SIGKILL));
	for (i = 0; i < 300 && waitpid(child, &status, WNOHANG) != child; i++)
		usleep(10 * 1000);
	EXPECT_LT(i, 300);
	if (i == 300)
		waitpid(child, &status, 0);
	munmap(out, pages / 8);
}

/* The racing guest of unmap_races_the_guests_faults. */
struct toucher {
	int vp;
	long id;
	atomic_int stop;
	int runs;
};

/* The guest writes into the region and halts, again and again, until told to stop. */
static void *touch(void *arg)
{
	struct toucher *t = arg;
	__u32 msg;
	int i;

	while (!atomic_load(&t->stop)) {
		if (sim_inject(t->id, 0, "write 0x100010 4 0x5a5a") ||
		    sim_inject(t->id, 0, "halt"))
			break;
		/* Until the halt: the write may come back as a GPA intercept (no region). */
		for (i = 0; i < 4; i++) {
			msg = run_vp(t->vp);
			if ((msg & ~1u) != HVMSG_UNMAPPED_GPA)
				break;
		}
		t->runs++;
	}
	return NULL;
}

/*
 * A guest's fault on movable memory races the region's unmapping: once MSHV_SET_GUEST_MEMORY
 * has unmapped it, the hypervisor maps none of its pages (a fault that found the region before
 * must not map pages nothing pins or watches any more).
 */
TEST_F(memory, unmap_races_the_guests_faults)
{
	struct mshv_create_vp vp = { .vp_index = 0 };
	struct toucher t = { 0 };
	char buf[65536], mapped[4096];
	int round, stale = 0;
	pthread_t thread;

	if (!have_sim())
		SKIP(return, NO_SIM);
	t.vp = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, t.vp);
	ASSERT_NE(NULL, sim_newest_partition(buf, sizeof(buf), &t.id));
	ASSERT_EQ(0, pthread_create(&thread, NULL, touch, &t));
	for (round = 0; round < 200; round++) {
		ASSERT_EQ(0, set_memory(self->pt, 0x100, self->mem, 2 * MIB, WRITABLE));
		usleep(round % 7 * 100);
		ASSERT_EQ(0, set_memory(self->pt, 0x100, self->mem, 2 * MIB, UNMAP));
		/* A fault in flight has had time to finish: nothing may be mapped. */
		usleep(2000);
		sim_mapped(mapped, sizeof(mapped));
		if (mapped[0]) {
			stale++;
			TH_LOG("round %d: mapped after unmap: %s", round, mapped);
		}
	}
	atomic_store(&t.stop, 1);
	pthread_join(thread, NULL);
	EXPECT_EQ(0, stale);
	EXPECT_LT(0, t.runs);
	TH_LOG("%d rounds, the guest ran %d times", round, t.runs);
	close(t.vp);
}

TEST_HARNESS_MAIN
