// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU's own mshv accelerator (-accel mshv, Debian's qemu-system-x86_64 11.1, carried into the
 * test VM by tools/setup/setup.sh qemu) as the VMM of /dev/mshv, over the simulated hypervisor.
 *
 * The guest is a 64 KiB firmware image of the test's own (-bios): at the reset vector a jump to
 * straight-line real-mode code that writes a string to the serial port, one `out dx, al` a
 * character, then its status to isa-debug-exit, and halts. The simulator runs no guest code:
 * the test plays that code's I/O port writes as the intercepts the hypervisor would send for
 * them (each at its instruction's address, `al` holding the character), and QEMU's own device
 * models act on them: the string comes out of QEMU's serial port (its stdout), and QEMU exits
 * with the status isa-debug-exit makes of the guest's byte, (byte << 1) | 1. A second program
 * in the image reads and writes the HPET's registers (device memory): QEMU decodes those
 * instructions from the bytes the hypervisor's message carries. The monitor's stop/cont, info
 * registers, system_reset and quit are driven through FIFOs.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"

#define QEMU "/usr/bin/qemu-system-x86_64"
#define BIOS "/tmp/mshv-qemu-test.bios"
/* The human monitor's pipes: QEMU reads MONITOR.in and writes MONITOR.out. */
#define MONITOR "/tmp/mshv-qemu-test.monitor"

#define BIOS_SIZE 0x10000
/* Where the code starts, as an offset in the 64 KiB segment the reset vector runs in. */
#define CODE 0xe000
#define RESET 0xfff0
#define SERIAL 0x3f8
#define DEBUG_EXIT 0x501
/* The second program, and the HPET registers it uses: capabilities and timer 0's comparator. */
#define MMIO_CODE 0xd000
#define HPET_ID 0xfed00000
#define HPET_CMP 0xfed00108
#define CMP_VALUE 0x12345678

/* What the guest writes; the debug exit's byte. */
static const char message[] = "Hello from the guest, through QEMU's 16550\n";
#define GUEST_STATUS 0x2a

/*
 * The guest's code, and where each character's `out dx, al` is (its RIP: CS keeps the reset
 * vector's base, 0xffff0000, as the jump is near):
 *   CODE:        mov dx, 0x3f8         ba f8 03
 *   then each:   mov al, <c>           b0 <c>
 *                out dx, al            ee          <- RIP = CODE + 3 + 3 * i + 2
 *   then:        mov dx, 0x501         ba 01 05
 *                mov al, GUEST_STATUS  b0 2a
 *                out dx, al            ee          <- RIP = exit_rip()
 *                hlt                   f4
 *   RESET:       jmp near CODE         e9 <rel16>
 */
static unsigned long char_rip(unsigned int i)
{
	return CODE + 3 + 3 * i + 2;
}

static unsigned long exit_rip(void)
{
	return char_rip(strlen(message) - 1) + 1 + 5;
}

/*
 * The second program, which the reset vector jumps to instead where a test asks:
 *   MMIO_CODE:       mov eax, CMP_VALUE               66 b8 <imm32>
 *   MMIO_CODE + 6:   mov [dword HPET_CMP], eax        66 67 a3 <moffs32>
 *   MMIO_CODE + 13:  mov eax, [dword HPET_ID]         66 67 a1 <moffs32>
 *   MMIO_CODE + 20:  mov eax, [dword HPET_CMP]        66 67 a1 <moffs32>
 *   MMIO_CODE + 27:  hlt                              f4
 */
static unsigned char image[BIOS_SIZE];

static void put32(unsigned int at, __u32 value)
{
	memcpy(&image[at], &value, 4);
}

static void write_mmio_code(void)
{
	static const unsigned char moffs_eax[] = { 0x66, 0x67, 0xa3 }, eax_moffs[] = {
		0x66, 0x67, 0xa1 };

	image[MMIO_CODE] = 0x66;
	image[MMIO_CODE + 1] = 0xb8;
	put32(MMIO_CODE + 2, CMP_VALUE);
	memcpy(&image[MMIO_CODE + 6], moffs_eax, 3);
	put32(MMIO_CODE + 9, HPET_CMP);
	memcpy(&image[MMIO_CODE + 13], eax_moffs, 3);
	put32(MMIO_CODE + 16, HPET_ID);
	memcpy(&image[MMIO_CODE + 20], eax_moffs, 3);
	put32(MMIO_CODE + 23, HPET_CMP);
}

/* The hex of the image's `len` bytes at `at`, for the simulator's `insn`. */
static const char *code_hex(unsigned int at, unsigned int len)
{
	static char hex[64];
	unsigned int i;

	for (i = 0; i < len && 2 * i + 2 < sizeof(hex); i++)
		snprintf(hex + 2 * i, 3, "%02x", image[at + i]);
	return hex;
}

/* Writes the firmware image, its reset vector jumping to `entry`. */
static int write_bios(unsigned int entry)
{
	unsigned int i, at = CODE;
	int fd, ok;

	memset(image, 0xf4, sizeof(image));
	image[at++] = 0xba;
	image[at++] = SERIAL & 0xff;
	image[at++] = SERIAL >> 8;
	for (i = 0; i < strlen(message); i++) {
		image[at++] = 0xb0;
		image[at++] = message[i];
		image[at++] = 0xee;
	}
	image[at++] = 0xba;
	image[at++] = DEBUG_EXIT & 0xff;
	image[at++] = DEBUG_EXIT >> 8;
	image[at++] = 0xb0;
	image[at++] = GUEST_STATUS;
	image[at++] = 0xee;
	image[at++] = 0xf4;
	write_mmio_code();
	image[RESET] = 0xe9;
	image[RESET + 1] = (entry - (RESET + 3)) & 0xff;
	image[RESET + 2] = ((entry - (RESET + 3)) >> 8) & 0xff;
	fd = open(BIOS, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ok = write(fd, image, sizeof(image)) == sizeof(image);
	close(fd);
	return ok ? 0 : -1;
}

struct qemu {
	pid_t pid;
	int out;		/* QEMU's stdout: the guest's serial port */
	int err;		/* QEMU's stderr */
	int monitor;		/* the human monitor's input */
	int answers;		/* and its output */
	long partition;
	bool paused;		/* stopped at the monitor: no VP thread runs */
	char serial[4096];
	size_t serial_len;
	char errors[4096];
	size_t errors_len;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Whether QEMU has ended (it is not reaped: qemu_wait() takes its status). */
static bool qemu_ended(struct qemu *q)
{
	siginfo_t si = { 0 };

	return q->pid > 0 && !waitid(P_PID, q->pid, &si, WEXITED | WNOHANG | WNOWAIT) &&
	       si.si_pid == q->pid;
}

/* Appends what fd has to buf (of size `size`, holding *len bytes); once full, drops the rest. */
static void take(int fd, char *buf, size_t size, size_t *len)
{
	char spill[512];
	ssize_t n;

	if (*len + 1 >= size) {
		n = read(fd, spill, sizeof(spill));
		return;
	}
	n = read(fd, buf + *len, size - 1 - *len);
	if (n > 0)
		*len += n;
	buf[*len] = 0;
}

/* Takes what QEMU printed so far, waiting up to ms for some. */
static void drain(struct qemu *q, int ms)
{
	struct pollfd fds[2] = {
		{ .fd = q->out, .events = POLLIN },
		{ .fd = q->err, .events = POLLIN },
	};

	if (poll(fds, 2, ms) <= 0)
		return;
	if (fds[0].revents & (POLLIN | POLLHUP))
		take(q->out, q->serial, sizeof(q->serial), &q->serial_len);
	if (fds[1].revents & (POLLIN | POLLHUP))
		take(q->err, q->errors, sizeof(q->errors), &q->errors_len);
}

/* Waits up to ms for the serial output to hold `text`. */
static bool serial_has(struct qemu *q, const char *text, int ms)
{
	long long end = now_ms() + ms;

	while (!strstr(q->serial, text) && now_ms() < end && !qemu_ended(q))
		drain(q, 50);
	drain(q, 0);
	return strstr(q->serial, text);
}

/* Reads the monitor up to its next prompt into buf. */
static bool monitor_read(struct qemu *q, char *buf, size_t size, int ms)
{
	long long end = now_ms() + ms;
	size_t used = 0;

	buf[0] = 0;
	while (!strstr(buf, "(qemu) ") && now_ms() < end && !qemu_ended(q)) {
		struct pollfd fd = { .fd = q->answers, .events = POLLIN };
		ssize_t n;

		drain(q, 0);
		if (poll(&fd, 1, 50) <= 0)
			continue;
		n = read(q->answers, buf + used, size - 1 - used);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			return false;
		used += n;
		buf[used] = 0;
	}
	return strstr(buf, "(qemu) ");
}

/* Every hypercall the simulator has taken so far. */
static long calls_total(void)
{
	char buf[8192], *line, *sp;
	long total = 0;

	if (!sim_read("calls", buf, sizeof(buf)))
		return -1;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		sp = strchr(line, ' ');
		if (sp)
			total += strtol(sp + 1, NULL, 10);
	}
	return total;
}

static void qemu_threads(struct qemu *q);

/*
 * How many of QEMU's threads are blocked in ioctl(MSHV_RUN_VP) (their /proc syscall file).
 */
static int threads_in_run_vp(struct qemu *q)
{
	char path[512], buf[256];
	struct dirent *de;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", q->pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((de = readdir(dir)) != NULL) {
		unsigned long nr, fd, request;
		ssize_t len;
		int f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", q->pid, de->d_name);
		f = open(path, O_RDONLY);
		len = f < 0 ? -1 : read(f, buf, sizeof(buf) - 1);
		if (f >= 0)
			close(f);
		buf[len > 0 ? len : 0] = 0;
		if (sscanf(buf, "%lu 0x%lx 0x%lx", &nr, &fd, &request) == 3 && nr == SYS_ioctl &&
		    request == (unsigned long)MSHV_RUN_VP)
			n++;
	}
	closedir(dir);
	return n;
}

/*
 * Waits until QEMU's VP threads are back in MSHV_RUN_VP: no hypercall for half a second, and
 * the guest's VP thread blocked in the ioctl.
 *
 * QEMU kicks a VP thread out of MSHV_RUN_VP with a signal (SIGUSR1) that it does not block
 * between runs (mshv has no KVM_SET_SIGNAL_MASK or immediate_exit): a kick that lands while the
 * thread is outside the ioctl, storing the VP's registers with a hundred hypercalls after a
 * monitor command read them, is lost, and the thread then sleeps in MSHV_RUN_VP until the
 * guest next exits. On a host the window is microseconds; in this VM (TCG, a debug kernel) it
 * is a fraction of a second. So, as a person at the monitor would, the test lets QEMU settle
 * before a command that pauses the VPs. False if it did not within 30 s.
 */
static bool settle(struct qemu *q)
{
	long long end = now_ms() + 30000, quiet = now_ms();
	long last = calls_total();

	while (now_ms() < end) {
		long now;

		drain(q, 50);
		now = calls_total();
		if (now != last) {
			last = now;
			quiet = now_ms();
		} else if (now_ms() - quiet >= 500 && (q->paused || threads_in_run_vp(q) > 0)) {
			return true;
		}
	}
	fprintf(stderr, "# QEMU never quiet: %d in MSHV_RUN_VP\n", threads_in_run_vp(q));
	return false;
}

/* Runs a monitor command, once QEMU has settled; its answer in buf. */
static bool monitor(struct qemu *q, const char *command, char *buf, size_t size)
{
	char line[128];

	if (!settle(q)) {
		fprintf(stderr, "# before '%s': QEMU's stderr: '%s'\n", command, q->errors);
		qemu_threads(q);
		return false;
	}
	snprintf(line, sizeof(line), "%s\n", command);
	if (write(q->monitor, line, strlen(line)) != (ssize_t)strlen(line))
		return false;
	if (!monitor_read(q, buf, size, 20000))
		return false;
	if (!strcmp(command, "stop"))
		q->paused = true;
	else if (!strcmp(command, "cont") || !strcmp(command, "system_reset"))
		q->paused = false;
	return true;
}

/*
 * The value of a register in `info registers`, named without its size prefix ("IP", "AX"):
 * QEMU shows RIP=... in long mode, EIP=... otherwise. -1 if not there.
 */
static long long info_register(const char *info, const char *name)
{
	char want[16];
	const char *p;

	snprintf(want, sizeof(want), "R%s=", name);
	p = strstr(info, want);
	if (!p) {
		want[0] = 'E';
		p = strstr(info, want);
	}
	return p ? strtoll(p + strlen(want), NULL, 16) : -1;
}

/* Starts QEMU on the test's firmware; waits for its partition's two VPs and the monitor. */
static bool qemu_start(struct qemu *q)
{
	static char *const argv[] = {
		QEMU, "-accel", "mshv", "-machine", "q35", "-nodefaults", "-nographic",
		"-m", "64", "-smp", "2", "-bios", BIOS, "-serial", "stdio",
		"-monitor", "pipe:" MONITOR,
		"-device", "isa-debug-exit,iobase=0x501,iosize=2", NULL,
	};
	int out[2], err[2];
	char buf[65536];
	long long end;

	memset(q, 0, sizeof(*q));
	q->monitor = -1;
	q->answers = -1;
	unlink(MONITOR ".in");
	unlink(MONITOR ".out");
	if (mkfifo(MONITOR ".in", 0600) || mkfifo(MONITOR ".out", 0600))
		return false;
	/* Read-write: neither open waits for QEMU's. */
	q->monitor = open(MONITOR ".in", O_RDWR | O_CLOEXEC);
	q->answers = open(MONITOR ".out", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (q->monitor < 0 || q->answers < 0)
		return false;
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return false;
	q->pid = fork();
	if (q->pid == 0) {
		/* QEMU ends with the test, however the test ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(QEMU, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	q->out = out[0];
	q->err = err[0];
	if (q->pid < 0 || !monitor_read(q, buf, sizeof(buf), 60000))
		return false;
	/* The partition is the newest, with two VPs, once QEMU has made them. */
	end = now_ms() + 60000;
	while (now_ms() < end && !qemu_ended(q)) {
		const char *line = sim_newest_partition(buf, sizeof(buf), &q->partition);

		if (line && strstr(line, " vps=2 ") && strstr(line, " initialized "))
			return true;
		drain(q, 100);
	}
	return false;
}

/* The guest writes character i of the message. */
static int play_char(struct qemu *q, unsigned int i)
{
	char what[64];

	snprintf(what, sizeof(what), "io %#x %#x at %#lx", SERIAL, (unsigned char)message[i],
		 char_rip(i));
	return sim_inject(q->partition, 0, what);
}

/* Prints where each of QEMU's threads is (for a QEMU that does not end). */
static void qemu_threads(struct qemu *q)
{
	char path[512], buf[4096];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", q->pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)) != NULL) {
		static const char *const files[] = { "comm", "wchan", "stack" };

		if (de->d_name[0] == '.')
			continue;
		for (unsigned int i = 0; i < ARRAY_SIZE(files); i++) {
			snprintf(path, sizeof(path), "/proc/%d/task/%s/%s", q->pid, de->d_name,
				 files[i]);
			int fd = open(path, O_RDONLY);
			ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

			if (fd >= 0)
				close(fd);
			buf[n > 0 ? n : 0] = 0;
			fprintf(stderr, "# QEMU thread %s %s: %s\n", de->d_name, files[i], buf);
		}
	}
	closedir(dir);
}

/* Waits for QEMU to end: its exit status, or -1. */
static int qemu_wait(struct qemu *q, int ms)
{
	long long end = now_ms() + ms;
	int status;

	while (now_ms() < end) {
		pid_t pid = waitpid(q->pid, &status, WNOHANG);

		if (pid == q->pid) {
			q->pid = 0;
			drain(q, 0);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		drain(q, 50);
	}
	qemu_threads(q);
	return -1;
}

/* The monitor's quit, once QEMU has settled: QEMU's exit status, or -1. */
static int qemu_quit(struct qemu *q)
{
	if (!settle(q) || write(q->monitor, "quit\n", 5) != 5)
		return -1;
	return qemu_wait(q, 30000);
}

static void qemu_stop(struct qemu *q)
{
	if (q->pid > 0) {
		kill(q->pid, SIGKILL);
		waitpid(q->pid, NULL, 0);
		q->pid = 0;
	}
	if (q->monitor >= 0)
		close(q->monitor);
	if (q->answers >= 0)
		close(q->answers);
	close(q->out);
	close(q->err);
}

FIXTURE(qemu) {
	struct qemu q;
	int partitions;
	long root_used;
};

FIXTURE_SETUP(qemu)
{
	if (access("/dev/mshv", F_OK))
		SKIP(return, "no /dev/mshv");
	if (access(QEMU, X_OK))
		SKIP(return, "no QEMU in this VM (tools/setup/setup.sh qemu, vmrun.py --tree)");
	if (sim_partition_count() < 0)
		SKIP(return, "no simulator: the test plays the guest's intercepts through it");
	self->partitions = sim_partition_count();
	self->root_used = sim_pages("root_used ");
	ASSERT_EQ(0, write_bios(CODE));
	ASSERT_TRUE(qemu_start(&self->q)) TH_LOG("QEMU did not start: %s", self->q.errors);
}

FIXTURE_TEARDOWN(qemu)
{
	if (self->q.pid)
		qemu_stop(&self->q);
	/* QEMU gone, its partition is: the simulator is back where it was. */
	EXPECT_EQ(self->partitions, sim_partition_count());
	EXPECT_EQ(self->root_used, sim_pages("root_used "));
}

TEST_F_TIMEOUT(qemu, the_guests_string_and_exit_status_come_from_qemus_devices, 300)
{
	struct qemu *q = &self->q;

	unsigned int i;

	for (i = 0; i < strlen(message); i++)
		ASSERT_EQ(0, play_char(q, i)) TH_LOG("character %u", i);
	EXPECT_TRUE(serial_has(q, message, 20000))
		TH_LOG("serial: '%s' stderr: '%s'", q->serial, q->errors);
	{
		char what[64];

		snprintf(what, sizeof(what), "io %#x %#x at %#lx", DEBUG_EXIT, GUEST_STATUS,
			 exit_rip());
		ASSERT_EQ(0, sim_inject(q->partition, 0, what));
	}
	EXPECT_EQ((GUEST_STATUS << 1) | 1, qemu_wait(q, 30000)) TH_LOG("stderr: '%s'", q->errors);
	qemu_stop(q);
}

TEST_F_TIMEOUT(qemu, the_monitors_registers_stop_cont_and_quit, 300)
{
	struct qemu *q = &self->q;
	static char info[65536];

	ASSERT_EQ(0, play_char(q, 0));
	ASSERT_TRUE(serial_has(q, "H", 20000)) TH_LOG("stderr: '%s'", q->errors);
	/* QEMU moved the guest past its `out`: the VP's state says so. */
	ASSERT_TRUE(monitor(q, "info registers", info, sizeof(info)));
	EXPECT_EQ(char_rip(0) + 1, info_register(info, "IP")) TH_LOG("%s", info);
	EXPECT_EQ('H', info_register(info, "AX") & 0xff) TH_LOG("%s", info);
	/*
	 * stop pauses the VPs: their threads are kicked out of MSHV_RUN_VP (EINTR), or stop
	 * would not return. Stopped, the guest runs no more: what it does waits for cont.
	 */
	ASSERT_TRUE(monitor(q, "stop", info, sizeof(info)));
	ASSERT_TRUE(monitor(q, "info status", info, sizeof(info)));
	EXPECT_NE(NULL, strstr(info, "paused")) TH_LOG("%s", info);
	ASSERT_EQ(0, play_char(q, 1));
	EXPECT_FALSE(serial_has(q, "He", 1000));
	ASSERT_TRUE(monitor(q, "cont", info, sizeof(info)));
	EXPECT_TRUE(serial_has(q, "He", 20000)) TH_LOG("stderr: '%s'", q->errors);
	ASSERT_TRUE(monitor(q, "info status", info, sizeof(info)));
	EXPECT_NE(NULL, strstr(info, "running")) TH_LOG("%s", info);
	ASSERT_TRUE(monitor(q, "info registers", info, sizeof(info)));
	EXPECT_EQ(char_rip(1) + 1, info_register(info, "IP")) TH_LOG("%s", info);
	EXPECT_EQ(0, qemu_quit(q)) TH_LOG("stderr: '%s'", q->errors);
	qemu_stop(q);
}

/*
 * system_reset: QEMU resets its devices and its copy of the VPs' state (the accelerator says
 * it cannot reset them itself), which goes to the hypervisor before they run again: the guest
 * starts over from the reset vector.
 */
TEST_F_TIMEOUT(qemu, system_reset_starts_the_guest_over, 300)
{
	struct qemu *q = &self->q;
	static char info[65536];

	ASSERT_EQ(0, play_char(q, 0));
	ASSERT_TRUE(serial_has(q, "H", 20000)) TH_LOG("stderr: '%s'", q->errors);
	ASSERT_TRUE(monitor(q, "system_reset", info, sizeof(info)));
	ASSERT_TRUE(monitor(q, "info registers", info, sizeof(info)));
	EXPECT_EQ(RESET, info_register(info, "IP")) TH_LOG("%s", info);
	ASSERT_EQ(0, play_char(q, 0));
	EXPECT_TRUE(serial_has(q, "HH", 20000)) TH_LOG("stderr: '%s'", q->errors);
	ASSERT_TRUE(monitor(q, "info registers", info, sizeof(info)));
	EXPECT_EQ(char_rip(0) + 1, info_register(info, "IP")) TH_LOG("%s", info);
	EXPECT_EQ(0, qemu_quit(q)) TH_LOG("stderr: '%s'", q->errors);
	qemu_stop(q);
}

/*
 * DS as real-mode firmware leaves it to reach device memory ("unreal mode": lgdt, CR0.PE on,
 * a flat data selector loaded, CR0.PE off; no instruction takes an intercept): base 0, a
 * 4 GiB limit (hv_x64_segment_register: limit, selector 0, attributes 0x8093 in the upper
 * word). Without it QEMU's decoder refuses the 32-bit offsets, as the processor would.
 */
#define HV_X64_REGISTER_DS 0x60003
#define UNREAL_DS "0 0x80930000ffffffff"

/*
 * Device memory: the guest's accesses to the HPET's registers are unmapped-GPA intercepts whose
 * messages carry the instruction's bytes; QEMU decodes them and its HPET model does the access:
 * the comparator written reads back, the capabilities are QEMU's (vendor 0x8086, revision 1),
 * each in the guest's eax, its instruction pointer past the instruction. Given a message without
 * the bytes (the last read), QEMU fetches the instruction from guest memory itself (with paging
 * off, QEMU 11.1.3 asks no HVCALL_TRANSLATE_VIRTUAL_ADDRESS for it).
 */
TEST_F_TIMEOUT(qemu, device_memory_accesses_reach_qemus_hpet, 360)
{
	static const struct {
		unsigned int at; const char *kind; __u32 gpa; bool insn;
	} steps[] = {
		{ MMIO_CODE + 6, "write", HPET_CMP, true },
		{ MMIO_CODE + 13, "read", HPET_ID, true },
		/* A message without the instruction. */
		{ MMIO_CODE + 20, "read", HPET_CMP, false },
	};
	struct qemu *q = &self->q;
	static char info[65536];
	unsigned int i;

	/* This guest starts at its second program. */
	qemu_stop(q);
	ASSERT_EQ(0, write_bios(MMIO_CODE));
	ASSERT_TRUE(qemu_start(q)) TH_LOG("QEMU did not start: %s", q->errors);
	{
		char what[64];

		/* Once QEMU stored the VP's registers and runs it: QEMU would store its own. */
		ASSERT_TRUE(settle(q));
		snprintf(what, sizeof(what), "set %#x %s", HV_X64_REGISTER_DS, UNREAL_DS);
		ASSERT_EQ(0, sim_inject(q->partition, 0, what));
	}
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		char what[200], value[32] = "", insn[96] = "";

		if (!strcmp(steps[i].kind, "write"))
			snprintf(value, sizeof(value), " 4 %#x", CMP_VALUE);
		if (steps[i].insn)
			snprintf(insn, sizeof(insn), " insn %s gva %#x", code_hex(steps[i].at, 7),
				 steps[i].gpa);
		snprintf(what, sizeof(what), "%s %#x%s at %#x%s", steps[i].kind, steps[i].gpa,
			 value, steps[i].at, insn);
		ASSERT_EQ(0, sim_inject(q->partition, 0, what)) TH_LOG("%s", what);
		ASSERT_TRUE(monitor(q, "info registers", info, sizeof(info)))
			TH_LOG("stderr: '%s'", q->errors);
		EXPECT_EQ(steps[i].at + 7, info_register(info, "IP")) TH_LOG("%s", info);
		/* (The write's eax is the simulator's: the read back shows what QEMU did.) */
		if (i == 1) {
			EXPECT_EQ(0x80860001, info_register(info, "AX") & 0xffff00ff)
				TH_LOG("%s", info);
		} else if (i == 2) {
			EXPECT_EQ(CMP_VALUE, info_register(info, "AX")) TH_LOG("%s", info);
		}
	}
	EXPECT_EQ(0, qemu_quit(q)) TH_LOG("stderr: '%s'", q->errors);
	qemu_stop(q);
}

TEST_HARNESS_MAIN
