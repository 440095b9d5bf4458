// SPDX-License-Identifier: GPL-2.0
/*
 * `make bench`, run in the test VM against the simulated hypervisor:
 *
 * 1. MSHV_RUN_VP round trip (the simulator makes the VP halt at once: debugfs auto_halt)
 *    against a null ioctl (an unknown command on the same VP file), as a ratio; and where it
 *    goes, by the simulator's clocks (debugfs time_ns): its own time, the interrupt's time to
 *    come, the driver's handler and the rest; and a plain hypercall's round trip
 *    (MSHV_ROOT_HVCALL);
 * 2. MSHV_SET_GUEST_MEMORY of 1 GiB: its time against touching the same memory from user
 *    space, and the map hypercalls it took against the fewest possible with large pages (one
 *    full input page of 2 MiB entries each: ceil(512 / 509) = 2; with 4 KiB entries it would
 *    be ceil(pages / 509)).
 * 3. The guest faulting in 1 GiB of movable memory (a write every 2 MiB: 512 GPA intercepts,
 *    each taken in the kernel, which faults in and maps the 2 MiB around it, a large page
 *    where the kernel gave a huge page) in one MSHV_RUN_VP, against touching the same amount
 *    of memory from user space.
 * 4. The MSHV_RUN_VP round trip of the last VP of a partition with 1, 8 and 64 VPs, and of a
 *    partition with 1, 64 and 1024 memory regions, against the first (it must stay flat).
 *
 * `mshv_bench --profile [N [hvcall]]` prints the function graph of N MSHV_RUN_VP (or
 * MSHV_ROOT_HVCALL) round trips instead (see profile()): tools/bench.sh runs it when
 * MSHV_BENCH_PROFILE is set.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "mshv_sim.h"
#include "bench.h"

#define GIB (1024UL * 1024 * 1024)
#define PAGE 4096UL
#define LARGE (2UL << 20)
#define MAP_BATCH 509	/* (4096 - 24-byte header) / 8 */
#define HVCALL_MAP_GPA_PAGES 0x4b
#define HVCALL_DEPOSIT_MEMORY 0x48
#define HVCALL_GET_VP_REGISTERS 0x50

#define MAX_VPS 64
#define BLOCKS 10
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Whether the simulator maps some guest memory with a large entry (its `mapped` flag 0x80). */
static int mapped_large(char *buf, size_t size)
{
	unsigned long flags;
	char *line;

	if (!sim_read("mapped", buf, size))
		return 0;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (sscanf(line, "%*s %*s %*s %lx", &flags) == 1 && (flags & 0x80))
			return 1;
	return 0;
}

/*
 * The simulator's clocks so far, in ns (debugfs time_ns): [0] its own time on calls, [1] its
 * interrupts' time to come, [2] the driver's interrupt handler's. Zeros if unknown.
 */
static void sim_times(double t[3])
{
	long machine = 0, latency = 0, handler = 0;
	char buf[128];

	if (sim_read("time_ns", buf, sizeof(buf)))
		sscanf(buf, "machine %ld latency %ld handler %ld", &machine, &latency, &handler);
	t[0] = machine / 1e9;
	t[1] = latency / 1e9;
	t[2] = handler / 1e9;
}

/* A partition of `vps` VPs (at most MAX_VPS) and `regions` 4 KiB regions, for round trips. */
struct setup {
	int vps, regions;
	int pt, made, fds[MAX_VPS];
	double best, hv;
};

/* Makes `s`'s partition and warms its last VP up: 0, or -1 after saying what failed. */
static int setup_make(int mshv, struct setup *s, char *mem)
{
	struct mshv_create_partition args = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };
	struct mshv_user_mem_region region = { 0 };
	struct mshv_create_vp vp_args = { 0 };
	struct mshv_run_vp msg;
	int i;

	s->made = 0;
	s->best = -1;
	s->pt = ioctl(mshv, MSHV_CREATE_PARTITION, &args);
	if (s->pt < 0)
		return die("partition"), -1;
	if (ioctl(s->pt, MSHV_INITIALIZE_PARTITION))
		return die("MSHV_INITIALIZE_PARTITION"), -1;
	for (; s->made < s->vps; s->made++) {
		vp_args.vp_index = s->made;
		s->fds[s->made] = ioctl(s->pt, MSHV_CREATE_VP, &vp_args);
		if (s->fds[s->made] < 0)
			return die("VP"), -1;
	}
	region.size = PAGE;
	region.flags = 1 << MSHV_SET_MEM_BIT_WRITABLE;
	for (i = 0; i < s->regions; i++) {
		region.guest_pfn = 0x100000 + 2 * i;
		region.userspace_addr = (__u64)(uintptr_t)(mem + i * PAGE);
		if (ioctl(s->pt, MSHV_SET_GUEST_MEMORY, &region))
			return die("region"), -1;
	}
	for (i = 0; i < 100; i++)
		if (ioctl(s->fds[s->vps - 1], MSHV_RUN_VP, &msg))
			return die("MSHV_RUN_VP (warm-up)"), -1;
	return 0;
}

/*
 * A batch of round trips of `s`'s last VP, the best kept (us), with the simulated hypervisor's
 * own time in it, and the rest (the driver's, the interrupt's): 0, or -1.
 */
static int setup_batch(struct setup *s, int runs)
{
	struct mshv_run_vp msg;
	double before[3], after[3], t0;
	int i;

	sim_times(before);
	t0 = now();
	for (i = 0; i < runs; i++)
		if (ioctl(s->fds[s->vps - 1], MSHV_RUN_VP, &msg))
			return die("MSHV_RUN_VP"), -1;
	t0 = (now() - t0) / runs * 1e6;
	sim_times(after);
	if (s->best < 0 || t0 < s->best) {
		s->best = t0;
		s->hv = (after[0] - before[0]) / runs * 1e6;
	}
	return 0;
}

static void setup_free(struct setup *s)
{
	int i;

	for (i = 0; i < s->made; i++)
		close(s->fds[i]);
	if (s->pt >= 0)
		close(s->pt);
}

/* Writes `value` to the tracefs file `name`; 0, or -1 after saying what failed. */
static int trace_write(const char *name, const char *value)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/tracing/%s", name);
	f = fopen(path, "w");
	if (!f || fputs(value, f) < 0 || fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

/*
 * --profile: the function graph (ftrace's function_graph tracer, every CPU, interrupts
 * included) of `runs` MSHV_RUN_VP round trips on VP file `vp` (or `call`'s MSHV_ROOT_HVCALL),
 * printed from tracefs. The graph
 * shows the kernel's C functions and the module's C shim: the module's Rust functions carry no
 * ftrace entry, so their own time is the gaps between them.
 */
static int profile(int vp, int runs, struct mshv_root_hvcall *call)
{
	struct mshv_run_vp msg;
	char buf[65536];
	size_t n;
	FILE *trace;
	int i;

	mkdir("/sys/kernel/tracing", 0755);
	mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	if (trace_write("tracing_on", "0") || trace_write("current_tracer", "function_graph") ||
	    trace_write("options/funcgraph-abstime", "1") ||
	    trace_write("options/funcgraph-proc", "1") || trace_write("trace", ""))
		return 1;
	for (i = 0; i < 100; i++)
		ioctl(vp, MSHV_RUN_VP, &msg);
	if (trace_write("tracing_on", "1"))
		return 1;
	for (i = 0; i < runs; i++)
		if (call ? ioctl(vp, MSHV_ROOT_HVCALL, call) : ioctl(vp, MSHV_RUN_VP, &msg)) {
			die(call ? "MSHV_ROOT_HVCALL" : "MSHV_RUN_VP");
			trace_write("current_tracer", "nop");
			return 1;
		}
	if (trace_write("tracing_on", "0"))
		return 1;
	trace = fopen("/sys/kernel/tracing/trace", "r");
	if (!trace)
		return die("trace");
	while ((n = fread(buf, 1, sizeof(buf), trace)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(trace);
	return trace_write("current_tracer", "nop") ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct mshv_create_partition args = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };
	struct mshv_create_vp vp_args = { 0 };
	struct mshv_run_vp msg;
	struct mshv_user_mem_region region = { 0 };
	int mshv, pt, vp, i, runs = 20000;
	double t0, run_s, null_s, map_s, touch_s, unmap_s, fault_s;
	double call_s, before[3], after[3], run_hv[3] = { 0 }, call_hv = 0, rest_s;
	int b;
	struct { __u64 pt; __u32 vp; __u8 vtl, r8; __u16 r16; __u32 names[1]; } get = { 0 };
	__u64 get_out[2];
	struct mshv_root_hvcall get_args = {
		.code = HVCALL_GET_VP_REGISTERS, .reps = 1, .in_sz = sizeof(get),
		.out_sz = sizeof(get_out), .in_ptr = (__u64)(uintptr_t)&get,
		.out_ptr = (__u64)(uintptr_t)get_out,
	};
	char buf[65536], line[128];
	long id;
	long maps, deposits, pages = GIB / PAGE, ideal = (pages + MAP_BATCH - 1) / MAP_BATCH;
	long ideal_large = (GIB / LARGE + MAP_BATCH - 1) / MAP_BATCH;
	char *mem;

	if (access(SIM_DIR "auto_halt", W_OK))
		return fprintf(stderr, "needs the simulated hypervisor (debugfs auto_halt)\n"), 4;
	mshv = open("/dev/mshv", O_RDWR);
	if (mshv < 0)
		return die("/dev/mshv");
	pt = ioctl(mshv, MSHV_CREATE_PARTITION, &args);
	if (pt < 0 || ioctl(pt, MSHV_INITIALIZE_PARTITION))
		return die("partition");
	vp = ioctl(pt, MSHV_CREATE_VP, &vp_args);
	if (vp < 0)
		return die("VP");

	/* 1. The run loop. */
	if (sim_write("auto_halt", "1"))
		return die("auto_halt");
	if (argc > 1 && !strcmp(argv[1], "--profile"))
		return profile(vp, argc > 2 ? atoi(argv[2]) : 3,
			       argc > 3 && !strcmp(argv[3], "hvcall") ? &get_args : NULL);
	for (i = 0; i < 100; i++)
		ioctl(vp, MSHV_RUN_VP, &msg);
	/*
	 * Blocks of each, interleaved, the fastest block of each kept: the VM's clock runs in a
	 * shared host's threads, whose noise comes and goes.
	 */
	run_s = 1e9;
	null_s = 1e9;
	call_s = 1e9;
	for (b = 0; b < BLOCKS; b++) {
		double s;

		sim_times(before);
		t0 = now();
		for (i = 0; i < runs / BLOCKS; i++)
			if (ioctl(vp, MSHV_RUN_VP, &msg))
				return die("MSHV_RUN_VP");
		s = (now() - t0) / (runs / BLOCKS);
		sim_times(after);
		if (s < run_s) {
			run_s = s;
			for (i = 0; i < 3; i++)
				run_hv[i] = (after[i] - before[i]) / (runs / BLOCKS);
		}
		t0 = now();
		for (i = 0; i < runs / BLOCKS; i++)
			if (ioctl(vp, _IO(MSHV_IOCTL, 0x3f), NULL) != -1 || errno != ENOTTY)
				return die("null ioctl");
		s = (now() - t0) / (runs / BLOCKS);
		null_s = s < null_s ? s : null_s;
		sim_times(before);
		t0 = now();
		for (i = 0; i < runs / BLOCKS; i++)
			if (ioctl(vp, MSHV_ROOT_HVCALL, &get_args) || get_args.status)
				return die("MSHV_ROOT_HVCALL");
		s = (now() - t0) / (runs / BLOCKS);
		sim_times(after);
		if (s < call_s) {
			call_s = s;
			call_hv = (after[0] - before[0]) / (runs / BLOCKS);
		}
	}
	sim_write("auto_halt", "0");
	printf("MSHV_RUN_VP round trip: %.2f us; null ioctl: %.2f us; ratio %.1f\n",
	       run_s * 1e6, null_s * 1e6, run_s / null_s);
	/*
	 * Where the round trip goes, by the simulator's clocks: its own time (its lock, decoding
	 * and bookkeeping: a real hypervisor's, not the driver's), the SynIC interrupt's time to
	 * come (raising an irq_work: a self-IPI through the emulated APIC), the driver's
	 * handler; the rest is the driver's ioctl path (entry, the VP's lock, the call's input,
	 * the wait and the wake-up, copying the message out) and the message's delivery.
	 */
	rest_s = run_s - run_hv[0] - run_hv[1] - run_hv[2];
	printf("  per round trip: hypervisor %.2f us, interrupt's coming %.2f us\n",
	       run_hv[0] * 1e6, run_hv[1] * 1e6);
	printf("  per round trip: driver's handler %.2f us, the rest %.2f us\n",
	       run_hv[2] * 1e6, rest_s * 1e6);
	printf("  the driver's part (handler and rest) / null ioctl: %.1f\n",
	       (run_hv[2] + rest_s) / null_s);
	/* Its two pages allocated per call, as upstream's. */
	printf("  MSHV_ROOT_HVCALL (HVCALL_GET_VP_REGISTERS, one register): %.2f us\n",
	       call_s * 1e6);
	printf("  MSHV_ROOT_HVCALL: of it the hypervisor's %.2f us\n", call_hv * 1e6);

	/* 2. 1 GiB of guest memory. */
	mem = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return die("mmap");
	t0 = now();
	for (i = 0; i < pages; i++)
		mem[i * PAGE] = 1;
	touch_s = now() - t0;
	region.size = GIB;
	region.guest_pfn = 0x100000;
	region.userspace_addr = (__u64)(uintptr_t)mem;
	region.flags = 1 << MSHV_SET_MEM_BIT_WRITABLE;
	maps = sim_calls(HVCALL_MAP_GPA_PAGES);
	deposits = sim_calls(HVCALL_DEPOSIT_MEMORY);
	t0 = now();
	if (ioctl(pt, MSHV_SET_GUEST_MEMORY, &region))
		return die("MSHV_SET_GUEST_MEMORY");
	map_s = now() - t0;
	maps = sim_calls(HVCALL_MAP_GPA_PAGES) - maps;
	deposits = sim_calls(HVCALL_DEPOSIT_MEMORY) - deposits;
	region.flags = 1 << MSHV_SET_MEM_BIT_UNMAP;
	t0 = now();
	if (ioctl(pt, MSHV_SET_GUEST_MEMORY, &region))
		return die("unmap");
	unmap_s = now() - t0;
	printf("SET_GUEST_MEMORY 1 GiB: map %.3f s, unmap %.3f s; ", map_s, unmap_s);
	printf("touching it from user space %.3f s; map/touch ratio %.2f\n",
	       touch_s, map_s / touch_s);
	printf("map hypercalls: %ld for %ld pages; fewest possible %ld with large pages ",
	       maps, pages, ideal_large);
	printf("(%ld with 4 KiB ones, %d a call); ratio %.3f; deposits on the way %ld\n",
	       ideal, MAP_BATCH, (double)maps / ideal_large, deposits);
	munmap(mem, GIB);

	/* 3. The guest faults fresh memory in. */
	mem = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return die("mmap");
	region.flags = 1 << MSHV_SET_MEM_BIT_WRITABLE;
	region.userspace_addr = (__u64)(uintptr_t)mem;
	if (ioctl(pt, MSHV_SET_GUEST_MEMORY, &region))
		return die("MSHV_SET_GUEST_MEMORY");
	if (!sim_newest_partition(buf, sizeof(buf), &id))
		return die("partition id");
	for (i = 0; i < (long)(GIB / (2 << 20)); i++) {
		snprintf(line, sizeof(line), "write %#lx 1 1",
			 (0x100000UL << 12) + i * (2UL << 20));
		if (sim_inject(id, 0, line))
			return die("inject");
	}
	sim_inject(id, 0, "halt");
	maps = sim_calls(HVCALL_MAP_GPA_PAGES);
	t0 = now();
	if (ioctl(vp, MSHV_RUN_VP, &msg))
		return die("MSHV_RUN_VP");
	fault_s = now() - t0;
	maps = sim_calls(HVCALL_MAP_GPA_PAGES) - maps;
	printf("guest faults in 1 GiB (512 GPA intercepts, %ld map hypercalls, %s): %.3f s; ",
	       maps, mapped_large(buf, sizeof(buf)) ? "large pages" : "4 KiB pages", fault_s);
	printf("touching 1 GiB from user space %.3f s; ratio %.2f\n", touch_s, fault_s / touch_s);
	munmap(mem, GIB);
	close(vp);
	close(pt);

	/* 4. Per-intercept cost against VPs and regions. */
	mem = mmap(NULL, 1024 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return die("mmap");
	if (sim_write("auto_halt", "1"))
		return die("auto_halt");
	{
		/* 1/8/64 VPs with one region, and one VP with 64/1024 regions. */
		static struct setup setups[] = {
			{ .vps = 1, .regions = 1 }, { .vps = 8, .regions = 1 },
			{ .vps = 64, .regions = 1 }, { .vps = 1, .regions = 64 },
			{ .vps = 1, .regions = 1024 },
		};
		int n = ARRAY_SIZE(setups), b, rc = 0;
		struct setup *at = setups;

		for (i = 0; i < n && !rc; i++)
			rc = setup_make(mshv, &setups[i], mem);
		/*
		 * Batches of each in turn, the best of each kept: TCG's timing wanders by tens of
		 * percent over seconds, alike for all when they take turns.
		 */
		for (b = 0; b < 10 && !rc; b++)
			for (i = 0; i < n && !rc; i++)
				rc = setup_batch(&setups[i], 500);
		for (i = 0; i < n; i++)
			setup_free(&setups[i]);
		if (rc)
			return 1;
		printf("RUN_VP per intercept, last of 1/8/64 VPs: %.2f/%.2f/%.2f us; ",
		       at[0].best, at[1].best, at[2].best);
		printf("64/1 ratio %.2f\n", at[2].best / at[0].best);
		printf("  without the simulated hypervisor's own time: %.2f/%.2f/%.2f us; ",
		       at[0].best - at[0].hv, at[1].best - at[1].hv, at[2].best - at[2].hv);
		printf("64/1 ratio %.2f\n", (at[2].best - at[2].hv) / (at[0].best - at[0].hv));
		printf("RUN_VP per intercept, 1/64/1024 regions: %.2f/%.2f/%.2f us; ",
		       at[0].best, at[3].best, at[4].best);
		printf("1024/1 ratio %.2f\n", at[4].best / at[0].best);
		printf("  without the simulated hypervisor's own time: %.2f/%.2f/%.2f us; ",
		       at[0].best - at[0].hv, at[3].best - at[3].hv, at[4].best - at[4].hv);
		printf("1024/1 ratio %.2f\n", (at[4].best - at[4].hv) / (at[0].best - at[0].hv));
	}
	sim_write("auto_halt", "0");
	munmap(mem, 1024 * PAGE);
	close(mshv);
	return 0;
}
