// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input of any kind gets an errno, from the VTL personality too: every ioctl of its
 * /dev/mshv, a VTL file and /dev/mshv_hvcall (set up to allow every call code), and unknown
 * commands, with arguments of random bytes (small numbers, our own buffers and eventfd among
 * them), random pointers and NULL, from a fixed seed, for a fixed time; VTL returns with a run
 * page full of random bytes (registers, FP state, return actions), against the simulated
 * hypervisor's VTL0. A timer interrupts a return that spins. The test passes if the process
 * lives; the VM runner fails the run on any oops, WARN, KASAN, lockdep or kmemleak report.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"
#include "mshv_vtl.h"

#ifndef SEED
#define SEED 20261202
#endif
#define SECONDS 15

static const unsigned long commands[] = {
	MSHV_CHECK_EXTENSION, MSHV_CREATE_VTL, MSHV_ADD_VTL0_MEMORY, MSHV_SET_POLL_FILE,
	MSHV_RETURN_TO_LOWER_VTL, MSHV_GET_VP_REGISTERS, MSHV_SET_VP_REGISTERS,
	MSHV_HVCALL_SETUP, MSHV_HVCALL, MSHV_SINT_SIGNAL_EVENT, MSHV_SINT_POST_MESSAGE,
	MSHV_SINT_SET_EVENTFD, MSHV_SINT_PAUSE_MESSAGE_STREAM, MSHV_CREATE_PARTITION,
};

static __u64 word(const __u64 *values, size_t nvalues)
{
	__u64 r = ((__u64)rand() << 32) ^ (__u64)rand();

	switch (rand() % 5) {
	case 0:
		return r;
	case 1:
		return r & 0xff;
	case 2:
		return values[rand() % nvalues];
	case 3:
		return r & 0xfff;
	default:
		return 1;
	}
}

/* The random words of a call's argument. */
#define ARGS 8

static void on_alarm(int sig)
{
	(void)sig;
}

TEST(random_arguments_and_run_pages_get_errnos)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval timer = { .it_value = { .tv_usec = 20000 } };
	/*
	 * Whatever a call is pointed at may be written as far as the call's sizes say (a count of
	 * registers, say): every buffer offered is static and large, so that no call can reach
	 * the test's stack. The first ARGS words of `args` are the random ones.
	 */
	static __u8 bitmap[8192], buf[8192];
	static __u64 args[8192 / 8];
	struct mshv_vtl_hvcall_setup setup = {
		.bitmap_array_size = sizeof(bitmap), .allow_bitmap_ptr = (uintptr_t)bitmap,
	};
	int mshv, vtl, hvcall, sint, efd, fds[4], calls = 0;
	char text[96];
	__u64 values[6];
	time_t end = time(NULL) + SECONDS;
	unsigned long window = vtl0_ram(1);
	cpu_set_t set;
	__u8 *run;
	size_t i;

	if (access("/dev/mshv_hvcall", F_OK))
		SKIP(return, "mshv_vtl is not loaded (no /dev/mshv_hvcall)");
	if (sim_vtl0_program("all", 0, 0))
		SKIP(return, "needs the simulated hypervisor (the real one would run these calls)");
	srand(SEED);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	mshv = open("/dev/mshv", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mshv);
	vtl = ioctl(mshv, MSHV_CREATE_VTL, NULL);
	ASSERT_LE(0, vtl);
	hvcall = open("/dev/mshv_hvcall", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, hvcall);
	/* Non-blocking: a read takes a message or is EAGAIN (or 0, paused). */
	sint = open("/dev/mshv_sint", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, sint);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	memset(bitmap, 0xff, sizeof(bitmap));
	ASSERT_EQ(0, ioctl(hvcall, MSHV_HVCALL_SETUP, &setup));
	run = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vtl, 0);
	ASSERT_NE(MAP_FAILED, run);
	fds[0] = mshv;
	fds[1] = vtl;
	fds[2] = hvcall;
	fds[3] = sint;
	values[0] = (uintptr_t)buf;
	values[1] = (uintptr_t)args;
	values[2] = efd;
	values[3] = 0;
	values[4] = 4096;
	values[5] = (uintptr_t)-1;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	while (time(NULL) < end) {
		int fd = fds[rand() % 4];
		unsigned long cmd = rand() % 8 ? commands[rand() % ARRAY_SIZE(commands)] :
				    (unsigned long)rand();

		for (i = 0; i < ARGS; i++)
			args[i] = word(values, ARRAY_SIZE(values));
		for (i = 0; i < sizeof(buf); i += 8)
			*(__u64 *)(buf + i) = word(values, ARRAY_SIZE(values));
		if (cmd == MSHV_RETURN_TO_LOWER_VTL) {
			/* A run page of random bytes, not cancelled; VTL0 runs any program. */
			for (i = 4; i < 4096; i++)
				run[i] = rand();
			*(__u32 *)run = 0;
			sim_vtl0_program("0", rand() % 4, rand() % 5);
			setitimer(ITIMER_REAL, &timer, NULL);
		}
		if (rand() % 16 == 0) {
			/* The host: a message or an event flag for a random CPU and SINT. */
			snprintf(text, sizeof(text), rand() % 2 ? "message %d %d %#x %#x" :
				 "event %d %d %u", rand() % 3, rand() % 17, rand() % 4096, rand());
			sim_write("synic", text);
			if (read(sint, buf, rand() % 2 ? 256 : rand() % 512) < 0)
				ASSERT_TRUE(errno == EAGAIN || errno == EINVAL);
			calls++;
			continue;
		}
		if (cmd == MSHV_ADD_VTL0_MEMORY) {
			/*
			 * Ranges in the fuzz's window of the VM's VTL0 memory only: one added stays
			 * for the module's life, and outside the VM's RAM an unclaimed range (the
			 * flash of arm64's virt machine, say) is taken on trust.
			 */
			if (!window)
				continue;
			args[0] = window / 4096 + (args[0] & 0x3fff);
			args[1] = window / 4096 + (args[1] & 0x3fff);
			if (ioctl(fd, cmd, args) < 0 && fd == vtl)
				ASSERT_TRUE(errno == EINVAL || errno == EBUSY || errno == ENOMEM);
			calls++;
			continue;
		}
		if ((cmd == MSHV_GET_VP_REGISTERS || cmd == MSHV_SET_VP_REGISTERS) && rand() % 2) {
			/*
			 * Near a register the VTLs share (x86_64: the hardware's): the debug
			 * registers with any value (set back below), the MTRRs read only (they
			 * are the VM's memory types).
			 */
			static const __u32 names[] = {
				0x50000, 0x8000d, 0x80010, 0x80040, 0x80070,
			};
			int n = rand() % ARRAY_SIZE(names);

			args[0] = 1;
			args[1] = (uintptr_t)buf;
			*(__u32 *)buf = names[n] + rand() % 17;
			if (n) {
				if (ioctl(vtl, MSHV_GET_VP_REGISTERS, args) < 0)
					ASSERT_NE(0, errno);
				calls++;
				continue;
			}
		}
		if (cmd == MSHV_CREATE_VTL) {
			int extra = ioctl(fd, cmd, args);

			if (extra >= 0)
				close(extra);
			continue;
		}
		if (ioctl(fd, cmd, rand() % 4 ? (void *)args : (void *)args[0]) < 0)
			ASSERT_NE(0, errno);
		calls++;
	}
	TH_LOG("%d calls", calls);
	/* The debug registers VTL0 shares, as they were (no breakpoint uses them). */
	for (i = 0; i < 4; i++) {
		__u64 assoc[4] = { 0x50000 + i, 0, 0, 0 };

		args[0] = 1;
		args[1] = (uintptr_t)assoc;
		ioctl(vtl, MSHV_SET_VP_REGISTERS, args);
	}
	sim_vtl0_program("all", 0, 0);
	munmap(run, 4096);
	/* What the host sent SINTs that stay masked would wait for ever. */
	sim_write("synic", "clear");
	close(efd);
	close(sint);
	close(hvcall);
	close(vtl);
	close(mshv);
}

TEST_HARNESS_MAIN
