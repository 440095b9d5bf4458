// SPDX-License-Identifier: GPL-2.0
/*
 * `make bench`, the VTL personality's part, run in the test VM with mshv_vtl.ko against the
 * simulated hypervisor hosting the kernel at VTL2: MSHV_RETURN_TO_LOWER_VTL round trip (VTL0
 * intercepts at once: the simulator's program 0, through the real VTL switch) against a null
 * ioctl (an unknown command on the same VTL file), as a ratio. The thread is pinned to CPU 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "mshv_sim.h"
#include "bench.h"

/* The run page's FP block (drivers/hv/mshv_vtl.h): FCW and MXCSR as fxrstor wants them. */
#define RUN_FX		(272 + 128)

int main(void)
{
	__u16 fcw = 0x37f;
	__u32 mxcsr = 0x1f80;
	int mshv, vtl, i, runs = 20000;
	double t0, ret_s, null_s;
	cpu_set_t set;
	char *run;

	if (sim_write("vtl0", "all 0"))
		return fprintf(stderr, "needs the simulated hypervisor (debugfs vtl0)\n"), 4;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return die("sched_setaffinity");
	mshv = open("/dev/mshv", O_RDWR);
	if (mshv < 0)
		return die("/dev/mshv");
	vtl = ioctl(mshv, MSHV_CREATE_VTL, NULL);
	if (vtl < 0)
		return die("MSHV_CREATE_VTL");
	run = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vtl, 0);
	if (run == MAP_FAILED)
		return die("mmap");
	memcpy(run + RUN_FX, &fcw, sizeof(fcw));
	memcpy(run + RUN_FX + 24, &mxcsr, sizeof(mxcsr));
	for (i = 0; i < 100; i++)
		ioctl(vtl, MSHV_RETURN_TO_LOWER_VTL);
	t0 = now();
	for (i = 0; i < runs; i++)
		if (ioctl(vtl, MSHV_RETURN_TO_LOWER_VTL))
			return die("MSHV_RETURN_TO_LOWER_VTL");
	ret_s = now() - t0;
	t0 = now();
	for (i = 0; i < runs; i++)
		if (ioctl(vtl, _IO(MSHV_IOCTL, 0x3f), NULL) != -1 || errno != ENOTTY)
			return die("null ioctl");
	null_s = now() - t0;
	printf("MSHV_RETURN_TO_LOWER_VTL round trip: %.2f us; null ioctl: %.2f us; ratio %.1f\n",
	       ret_s / runs * 1e6, null_s / runs * 1e6, ret_s / null_s);
	return 0;
}
