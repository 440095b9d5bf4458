// SPDX-License-Identifier: GPL-2.0
/*
 * The driver under the kernel's own fault injection: with failslab, then fail_page_alloc,
 * failing a fraction of this thread's allocations (task-filter), every ioctl family is called
 * over and over; each call succeeds or returns an errno, and once everything is closed the
 * simulated hypervisor holds no partition and the root's pool uses what it used before (the
 * VM runner checks the kernel log and kmemleak after the run).
 *
 * Only calls that do not wait for a guest are made (no MSHV_RUN_VP). The simulator pauses the
 * injection while it takes a hypercall: the failures are the driver's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"

#define FAULT_DIR "/sys/kernel/debug/"
/* Large enough that the region's bookkeeping comes from the page allocator. */
#define MEM_SIZE (64UL << 20)

/* Writes text to a file; false if it cannot be written. */
static bool put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

/* Sets attribute `name` of fault injector `what` (failslab, fail_page_alloc). */
static bool attr(const char *what, const char *name, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), FAULT_DIR "%s/%s", what, name);
	return put(path, value);
}

/*
 * Arms injector `what` for this thread: `percent` of its allocations fail, at most `times`,
 * whether or not they may sleep, without a report in the log.
 */
static bool arm(const char *what, const char *percent, const char *times)
{
	if (!attr(what, "probability", percent) || !attr(what, "interval", "1") ||
	    !attr(what, "times", times) || !attr(what, "space", "0") ||
	    !attr(what, "verbose", "0") || !attr(what, "task-filter", "Y") ||
	    !attr(what, "ignore-gfp-wait", "N"))
		return false;
	if (!strcmp(what, "fail_page_alloc") &&
	    (!attr(what, "min-order", "0") || !attr(what, "ignore-gfp-highmem", "N")))
		return false;
	return put("/proc/thread-self/make-it-fail", "1");
}

/*
 * Stops the injection. The writes that do so are this thread's system calls, under the
 * injection themselves (opening a file allocates): each is tried until it goes through, the
 * probability first, since once it is 0 nothing more fails. False if they never do.
 */
static bool disarm(const char *what)
{
	int tries;

	for (tries = 0; tries < 1000; tries++)
		if (attr(what, "probability", "0"))
			break;
	return tries < 1000 && put("/proc/thread-self/make-it-fail", "0");
}

/* Calls that failed, in all rounds so far. */
static int failed_calls;

/* One round of every ioctl family on a new partition; whatever fails, fails with an errno. */
static void round_trip(struct __test_metadata *_metadata, int mshv, char *mem, int efd)
{
	struct mshv_create_partition args = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };
	struct mshv_user_mem_region region = {
		.size = MEM_SIZE, .guest_pfn = 0x100, .userspace_addr = (uintptr_t)mem,
		.flags = 1 << MSHV_SET_MEM_BIT_WRITABLE,
	};
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e[1];
	} table = {
		.t = { .nr = 1 },
		.e = { { .gsi = 3, .address_lo = 0xfee00000, .data = 0x31 } },
	};
	struct mshv_user_irqfd irqfd = { .fd = efd, .gsi = 3 };
	struct mshv_create_vp vp_args = { 0 };
	struct mshv_get_set_vp_state state = {
		.type = MSHV_VP_STATE_LAPIC, .buf_sz = 4096,
		.buf_ptr = (uintptr_t)mem + MEM_SIZE,
	};
	__u8 bitmap[64];
	struct mshv_gpap_access_bitmap bits = {
		.access_type = MSHV_GPAP_ACCESS_TYPE_DIRTY, .page_count = 512,
		.gpap_base = 0x100, .bitmap_ptr = (uintptr_t)bitmap,
	};
	int pt, vp, ret;

	/* Each call either works or says why; `ret` is checked to be an errno. */
#define CALL(expr) do {							\
		ret = (expr);						\
		if (ret < 0) {						\
			ASSERT_NE(0, errno);				\
			failed_calls++;					\
		}							\
	} while (0)

	pt = ioctl(mshv, MSHV_CREATE_PARTITION, &args);
	if (pt < 0) {
		ASSERT_NE(0, errno);
		failed_calls++;
		return;
	}
	CALL(ioctl(pt, MSHV_INITIALIZE_PARTITION));
	vp = ioctl(pt, MSHV_CREATE_VP, &vp_args);
	CALL(vp);
	CALL(ioctl(pt, MSHV_SET_GUEST_MEMORY, &region));
	CALL(ioctl(pt, MSHV_SET_MSI_ROUTING, &table));
	CALL(ioctl(pt, MSHV_IRQFD, &irqfd));
	CALL(ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &bits));
	if (vp >= 0) {
		CALL(ioctl(vp, MSHV_GET_VP_STATE, &state));
		close(vp);
	}
	region.flags = 1 << MSHV_SET_MEM_BIT_UNMAP;
	CALL(ioctl(pt, MSHV_SET_GUEST_MEMORY, &region));
	close(pt);
#undef CALL
}

static void under_injection(struct __test_metadata *_metadata, const char *what,
			    const char *percent, const char *times)
{
	char *mem = mmap(NULL, MEM_SIZE + 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	int mshv = open("/dev/mshv", O_RDWR | O_CLOEXEC), efd = eventfd(0, EFD_NONBLOCK);
	long used = sim_pages("root_used");
	int i, partitions = sim_partition_count();
	char dir[128];

	snprintf(dir, sizeof(dir), FAULT_DIR "%s", what);
	if (access(SIM_DIR "pages", R_OK))
		SKIP(return, "needs the simulated hypervisor (its pools are compared)");
	if (access(dir, F_OK))
		SKIP(return, "no fault injection in this kernel (FAULT_INJECTION_DEBUG_FS)");
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_LE(0, mshv);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, used);
	ASSERT_LE(0, partitions);
	/* A round with nothing failing first, so that lazily made kernel state exists. */
	round_trip(_metadata, mshv, mem, efd);
	used = sim_pages("root_used");
	ASSERT_TRUE(arm(what, percent, times));
	failed_calls = 0;
	for (i = 0; i < 40; i++)
		round_trip(_metadata, mshv, mem, efd);
	ASSERT_TRUE(disarm(what));
	/* The injection reached the driver. */
	EXPECT_LT(0, failed_calls);
	TH_LOG("%s: %d of the calls failed", what, failed_calls);
	EXPECT_EQ(partitions, sim_partition_count());
	EXPECT_EQ(used, sim_pages("root_used"));
	/* And everything works again. */
	round_trip(_metadata, mshv, mem, efd);
	EXPECT_EQ(partitions, sim_partition_count());
	close(efd);
	close(mshv);
	munmap(mem, MEM_SIZE + 4096);
}

TEST(failslab)
{
	under_injection(_metadata, "failslab", "10", "300");
}

TEST(fail_page_alloc)
{
	/* Half: page allocations fall back (smaller chunks, vmalloc), so a tenth rarely shows. */
	under_injection(_metadata, "fail_page_alloc", "50", "300");
}

TEST_HARNESS_MAIN
