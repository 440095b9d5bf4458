// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input of any kind gets an errno: every ioctl of /dev/mshv, a partition file and a VP file,
 * and unknown commands, with arguments of random bytes (small numbers, our own eventfd and
 * buffers among them), random pointers and NULL, from a fixed seed, for a fixed time. A timer
 * interrupts MSHV_RUN_VP (EINTR) when no intercept comes. The test passes if the process lives;
 * the VM runner fails the run on any oops, WARN, KASAN, lockdep or kmemleak report in the
 * kernel log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"

#define SEED 20261122
#define ROUNDS 4000
#define SECONDS 15

static const unsigned long commands[] = {
	MSHV_CREATE_PARTITION, MSHV_ROOT_HVCALL, MSHV_INITIALIZE_PARTITION, MSHV_CREATE_VP,
	MSHV_SET_GUEST_MEMORY, MSHV_IRQFD, MSHV_IOEVENTFD, MSHV_SET_MSI_ROUTING,
	MSHV_GET_GPAP_ACCESS_BITMAP, MSHV_RUN_VP, MSHV_GET_VP_STATE, MSHV_SET_VP_STATE,
};

/* Random words, many of them small or one of the values given, as a fuzzer's would be. */
static void fill(__u64 *words, size_t n, const __u64 *values, size_t nvalues)
{
	size_t i;

	for (i = 0; i < n; i++) {
		__u64 r = ((__u64)rand() << 32) ^ (__u64)rand();

		switch (rand() % 6) {
		case 0:
			words[i] = r;
			break;
		case 1:
			words[i] = r & 0xff;
			break;
		case 2:
			words[i] = values[rand() % nvalues];
			break;
		case 3:
			words[i] = r & 0xffffffff;
			break;
		default:
			words[i] = rand() % 4;
			break;
		}
	}
}

static void on_alarm(int sig)
{
}

/* SECONDS stays well within the harness's timeout (30 s). */
TEST(random_arguments_get_errnos)
{
	struct mshv_create_partition args = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };
	struct mshv_create_vp vp_args = { 0 };
	int mshv = open("/dev/mshv", O_RDWR), pt, vp, efd = eventfd(0, EFD_NONBLOCK);
	char *mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			 0);
	__u64 *buf = aligned_alloc(4096, 4 * 4096);
	struct itimerval tick = { { 0, 20000 }, { 0, 20000 } }, off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	long round, errors = 0;
	time_t end = time(NULL) + SECONDS;

	ASSERT_LE(0, mshv);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_NE(NULL, buf);
	/* No SA_RESTART: a blocked MSHV_RUN_VP returns EINTR at the next tick. */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &tick, NULL));
	pt = ioctl(mshv, MSHV_CREATE_PARTITION, &args);
	ASSERT_LE(0, pt);
	ASSERT_EQ(0, ioctl(pt, MSHV_INITIALIZE_PARTITION));
	vp = ioctl(pt, MSHV_CREATE_VP, &vp_args);
	ASSERT_LE(0, vp);

	srand(SEED);
	for (round = 0; round < ROUNDS && time(NULL) < end; round++) {
		const __u64 values[] = {
			efd, pt, vp, mshv, (uintptr_t)mem, (uintptr_t)buf, 1 << 20, 4096, 0x1000,
			~0ULL, 0x51, 0x50, 0x44, 0x94, 0x4d,
		};
		int fds[] = { mshv, pt, vp };
		int fd = fds[rand() % 3];
		unsigned long cmd;
		void *arg;
		int ret;

		cmd = rand() % 8 ? commands[rand() % ARRAY_SIZE(commands)] : (unsigned long)rand();
		fill(buf, 4 * 4096 / 8, values, ARRAY_SIZE(values));
		switch (rand() % 8) {
		case 0:
			arg = NULL;
			break;
		case 1:
			arg = (void *)(uintptr_t)(((__u64)rand() << 32) ^ rand());
			break;
		default:
			arg = buf;
			break;
		}
		ret = ioctl(fd, cmd, arg);
		if (ret > 2 && ret != efd && ret != pt && ret != vp && ret != mshv)
			close(ret);	/* a partition or VP made by chance */
		if (ret < 0)
			errors++;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	TH_LOG("%ld calls, %ld refused", round, errors);
	/* Most calls must have been refused; the point is that the kernel took them all. */
	EXPECT_LT(round / 2, errors);
	close(vp);
	close(pt);
	close(efd);
	close(mshv);
	munmap(mem, 1 << 20);
	free(buf);
}

TEST_HARNESS_MAIN
