/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the VTL personality's selftests share: opening its devices, checks that need a child
 * process, and the VTL0 memory the test VM keeps from the kernel.
 */
#ifndef MSHV_VTL_H
#define MSHV_VTL_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/mshv.h>

static inline bool vtl_personality(void)
{
	return access("/dev/mshv_hvcall", F_OK) == 0;
}

/* The hypervisor's ABI, as include/hyperv/hvgdk_mini.h has it (not a uapi header). */
struct hv_register_assoc {
	__u32 name;
	__u32 reserved1;
	__u64 reserved2;
	__u64 value[2];
};

/* struct hv_input_get_vp_registers with one name. */
struct get_vp_registers_in {
	__u64 partition_id;
	__u32 vp_index;
	__u8 input_vtl;
	__u8 rsvd_z8;
	__u16 rsvd_z16;
	__u32 name;
};

/*
 * Whether the hypervisor offers VTL2 the intercept page (HV_REGISTER_VSM_CAPABILITIES bit 27):
 * 1 or 0, read through /dev/mshv_hvcall, -1 if it cannot be. Without it, intercepts come as
 * SINT0 messages (the simulated hypervisor offers none when mshv_vtl has hypervisor=3).
 */
static inline int vtl_intercept_page(void)
{
	static __u8 bitmap[8192];
	struct mshv_vtl_hvcall_setup setup = {
		.bitmap_array_size = sizeof(bitmap), .allow_bitmap_ptr = (uintptr_t)bitmap,
	};
	struct get_vp_registers_in in = {
		.partition_id = -1ULL, .vp_index = -2U, .name = 0x000D0006,
	};
	__u64 out[2] = { 0 };
	struct mshv_vtl_hvcall call = {
		.control = 0x0050 | 1ULL << 32,
		.input_size = sizeof(in), .input_ptr = (uintptr_t)&in,
		.output_size = sizeof(out), .output_ptr = (uintptr_t)out,
	};
	int fd = open("/dev/mshv_hvcall", O_RDWR | O_CLOEXEC), page = -1;

	bitmap[0x0050 / 8] |= 1 << (0x0050 % 8);
	/* Success, one rep done. */
	if (fd >= 0 && !ioctl(fd, MSHV_HVCALL_SETUP, &setup) && !ioctl(fd, MSHV_HVCALL, &call) &&
	    call.status == 1ULL << 32)
		page = !!(out[0] & (1ULL << 27));
	if (fd >= 0)
		close(fd);
	return page;
}

/* Opens /dev/mshv and makes a VTL file: its descriptor, or -1 (errno) with *mshv set. */
/* Pins the calling thread to CPU `cpu`. */
static inline int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static inline int open_vtl(int *mshv)
{
	*mshv = open("/dev/mshv", O_RDWR | O_CLOEXEC);
	return *mshv < 0 ? -1 : ioctl(*mshv, MSHV_CREATE_VTL, NULL);
}

static inline void close_vtl(int mshv, int vtl)
{
	if (vtl >= 0)
		close(vtl);
	if (mshv >= 0)
		close(mshv);
}

/* Drops CAP_SYS_ADMIN in a child, which then opens `path`: the errno it got, or 0. */
static inline int open_without_sys_admin(const char *path)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct data[2] = { 0 };
		int fd;

		if (syscall(SYS_capget, &header, data))
			_exit(100);
		data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
		if (syscall(SYS_capset, &header, data))
			_exit(101);
		fd = open(path, O_RDWR);
		_exit(fd >= 0 ? 0 : errno);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Whether touching the byte at `p` kills a child with SIGBUS. */
static inline bool touching_is_sigbus(char *p)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		(void)__atomic_load_n(p, __ATOMIC_RELAXED);
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
	       WTERMSIG(status) == SIGBUS;
}

/*
 * VTL0's memory in the test VM: the VTL VM boots with mem= below its RAM, so that the RAM past
 * the kernel's last "System RAM" (2 MiB aligned) is no one's, as VTL0's memory is not a
 * paravisor kernel's. VTL0_RAM_BYTES of it, in two windows: the memory tests' (0) and the
 * fuzz test's (1). The window's first byte, or 0 where the kernel was booted without mem=.
 * tools/check.sh boots the VM with 1024 MiB and mem=768M: 256 MiB past the kernel's RAM.
 */
#define VTL0_RAM_BYTES		(64UL << 20)
#define VTL0_ALIGN		(2UL << 20)

static inline unsigned long vtl0_ram(int window)
{
	unsigned long start, end, top = 0;
	char line[256], cmdline[1024] = "";
	FILE *f = fopen("/proc/cmdline", "r");

	if (f) {
		if (!fgets(cmdline, sizeof(cmdline), f))
			cmdline[0] = 0;
		fclose(f);
	}
	if (!strstr(cmdline, " mem=") && strncmp(cmdline, "mem=", 4))
		return 0;
	f = fopen("/proc/iomem", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		/* Top-level entries only (nested ones are indented). */
		if (line[0] != ' ' && strstr(line, ": System RAM") &&
		    sscanf(line, "%lx-%lx", &start, &end) == 2 && end + 1 > top)
			top = end + 1;
	}
	fclose(f);
	if (!top)
		return 0;
	return ((top + VTL0_ALIGN - 1) & ~(VTL0_ALIGN - 1)) + window * VTL0_RAM_BYTES;
}

#endif /* MSHV_VTL_H */
