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
#include <pthread.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"

#ifndef SEED
#define SEED 20261122
#endif
#ifndef ROUNDS
#define ROUNDS 4000
#endif
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

/* What the racing threads share. */
struct race {
	int mshv, pt, vp, efd;
	char *mem;
	long id;
	time_t end;
	unsigned int seed;
	atomic_int done;
};

/*
 * One racing thread: random calls as above, the partition's guest doing random things
 * (intercepts, memory accesses, EOIs) and the guest memory's pages replaced under it.
 */
static void *racer(void *data)
{
	struct race *r = data;
	unsigned int seed = r->seed;
	__u64 words[512];
	int i;

	while (time(NULL) < r->end) {
		const __u64 values[] = { r->efd, (uintptr_t)r->mem, 1 << 20, 4096, 0, 1, 0x51 };
		int fds[] = { r->pt, r->vp };
		unsigned long cmd = commands[rand_r(&seed) % ARRAY_SIZE(commands)];
		int ret;

		for (i = 0; i < 512; i++)
			words[i] = rand_r(&seed) % 3 ? values[rand_r(&seed) % ARRAY_SIZE(values)]
						     : rand_r(&seed);
		switch (rand_r(&seed) % 4) {
		case 0: {
			static const char *const what[] = {
				"halt", "io 0x80 1", "read 0x1000", "write 0x2010 4 7", "eoi",
				"read 0x100000", "write 0x3000 8 9",
			};

			sim_inject(r->id, 0, what[rand_r(&seed) % ARRAY_SIZE(what)]);
			break;
		}
		case 1:
			/* New pages for the first half of guest memory: an invalidation. */
			mmap(r->mem, 1 << 19, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			break;
		default:
			ret = ioctl(fds[rand_r(&seed) % 2], cmd, words);
			if (ret > 2 && ret != r->efd && ret != r->pt && ret != r->vp &&
			    ret != r->mshv)
				close(ret);
			break;
		}
	}
	atomic_store(&r->done, 1);
	return NULL;
}

/* Two threads race random calls, guest events and page replacements on one partition. */
TEST(racing_threads_get_errnos)
{
	struct mshv_create_partition args = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };
	struct mshv_create_vp vp_args = { 0 };
	struct mshv_user_mem_region region = { .size = 1 << 20 };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct race r[2];
	pthread_t threads[2];
	char buf[65536];
	int i;

	if (access(SIM_DIR "inject", W_OK))
		SKIP(return, "needs the simulated hypervisor (the guest's events come through it)");
	r[0].mshv = open("/dev/mshv", O_RDWR);
	ASSERT_LE(0, r[0].mshv);
	r[0].pt = ioctl(r[0].mshv, MSHV_CREATE_PARTITION, &args);
	ASSERT_LE(0, r[0].pt);
	ASSERT_EQ(0, ioctl(r[0].pt, MSHV_INITIALIZE_PARTITION));
	r[0].vp = ioctl(r[0].pt, MSHV_CREATE_VP, &vp_args);
	ASSERT_LE(0, r[0].vp);
	ASSERT_NE(NULL, sim_newest_partition(buf, sizeof(buf), &r[0].id));
	r[0].efd = eventfd(0, EFD_NONBLOCK);
	r[0].mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			0);
	ASSERT_NE(MAP_FAILED, r[0].mem);
	region.userspace_addr = (uintptr_t)r[0].mem;
	region.flags = 1 << MSHV_SET_MEM_BIT_WRITABLE;
	ASSERT_EQ(0, ioctl(r[0].pt, MSHV_SET_GUEST_MEMORY, &region));
	r[0].end = time(NULL) + 10;
	r[0].seed = SEED;
	atomic_init(&r[0].done, 0);
	r[1] = r[0];
	r[1].seed = SEED + 1;
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, racer, &r[i]));
	/*
	 * Each racer itself is signalled every 20 ms (a process-directed signal would mostly land
	 * on this thread), so that its calls are interrupted where they wait. A racer stuck in the
	 * kernel keeps this loop going until the harness's timeout fails the test.
	 */
	while (!atomic_load(&r[0].done) || !atomic_load(&r[1].done)) {
		usleep(20000);
		for (i = 0; i < 2; i++)
			if (!atomic_load(&r[i].done))
				pthread_kill(threads[i], SIGALRM);
	}
	for (i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	close(r[0].vp);
	close(r[0].pt);
	close(r[0].efd);
	close(r[0].mshv);
	munmap(r[0].mem, 1 << 20);
}

TEST_HARNESS_MAIN
