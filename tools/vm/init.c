// SPDX-License-Identifier: GPL-2.0
/*
 * PID 1 of the test VM. Mounts the pseudo file systems, then carries out /job, one command a
 * line, and powers the machine off. Its reports are lines starting with "MSHV-VM: ", which
 * tools/vm/vmrun.py reads on the console.
 *
 * Every line init prints, its reports and the programs' output alike, is written as one record
 * to /dev/kmsg: the kernel orders it with its own messages, so no line on the console is ever
 * split by another.
 *
 *
 *   insmod PATH [PARAM=VALUE ...]  load a module (finit_module)
 *   insmod-refused PATH            load a module that must refuse to: reports the errno
 *   rmmod NAME                     unload a module
 *   run NAME PATH [ARG ...]        run a program, its output on the console
 *   kunit [SUITE ...]              print the results of these KUnit suites (default: all)
 *   kmemleak-clear                 forget the leaks suspected so far
 *   kmemleak-scan                  wait until new objects are old enough, scan twice, print the
 *                                  report
 *
 * Static, libc only, the same source for every arch.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 64
/* Longer lines are cut into records of this size; /dev/kmsg takes up to 1 KiB. */
#define MAX_RECORD 900

static int kmsg = -1;

/* Prints one line (no newline in it) as one kernel log record, or on the console. */
static void emit(const char *line, size_t len)
{
	char rec[MAX_RECORD + 8];

	do {
		size_t part = len > MAX_RECORD ? MAX_RECORD : len;
		int n = snprintf(rec, sizeof(rec), "<5>%.*s", (int)part, line);

		if (kmsg < 0 || write(kmsg, rec, n) < 0) {
			rec[n] = '\n';
			if (write(STDOUT_FILENO, rec + 3, n - 2) < 0)
				return;
		}
		line += part;
		len -= part;
	} while (len > 0);
}

static void say(const char *fmt, ...);

/* Emits a line of a program's shown output (job command "show"): marked, for the host. */
static void emit_shown(const char *line, size_t len)
{
	do {
		size_t part = len > 400 ? 400 : len;

		say("out %.*s", (int)part, line);
		line += part;
		len -= part;
	} while (len > 0);
}

/* Splits a stream into lines and emits each. Returns when the stream ends. */
static void emit_stream(int fd, void (*emit)(const char *line, size_t len))
{
	char buf[4096];
	size_t used = 0;
	ssize_t n;

	while ((n = read(fd, buf + used, sizeof(buf) - used)) > 0 || (n < 0 && errno == EINTR)) {
		char *start = buf, *nl;

		if (n < 0)
			continue;
		used += n;
		while ((nl = memchr(start, '\n', used - (start - buf))) != NULL) {
			emit(start, nl - start);
			start = nl + 1;
		}
		used -= start - buf;
		memmove(buf, start, used);
		if (used == sizeof(buf)) {
			emit(buf, used);
			used = 0;
		}
	}
	if (used)
		emit(buf, used);
}

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "MSHV-VM: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	emit(buf, n);
}

static void copy_file(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	emit_stream(fd, emit);
	close(fd);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void do_insmod(char **argv, int argc)
{
	char params[1024] = "";
	size_t used = 0;
	int fd, i;

	if (argc < 2) {
		say("error insmod needs a path");
		return;
	}
	for (i = 2; i < argc; i++) {
		int n = snprintf(params + used, sizeof(params) - used, "%s%s", i > 2 ? " " : "",
				 argv[i]);

		if (n < 0 || (size_t)n >= sizeof(params) - used) {
			say("error insmod parameters too long");
			return;
		}
		used += n;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_finit_module, fd, params, 0) != 0) {
		say("insmod %s failed %d (%s)", argv[1], errno, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	say("insmod %s ok", argv[1]);
}

/* A module that must refuse to load: "insmod-refused PATH ERRNO", or "insmod-loaded PATH". */
static void do_insmod_refused(char **argv, int argc)
{
	int fd;

	if (argc != 2) {
		say("error insmod-refused needs a path");
		return;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		say("error insmod-refused cannot open %s: %d", argv[1], errno);
		return;
	}
	if (syscall(SYS_finit_module, fd, "", 0) != 0)
		say("insmod-refused %s %d", argv[1], errno);
	else
		say("insmod-loaded %s", argv[1]);
	close(fd);
}

static void do_rmmod(char **argv, int argc)
{
	if (argc < 2) {
		say("error rmmod needs a name");
		return;
	}
	if (syscall(SYS_delete_module, argv[1], O_NONBLOCK) != 0) {
		say("rmmod %s failed %d (%s)", argv[1], errno, strerror(errno));
		return;
	}
	say("rmmod %s ok", argv[1]);
}

/*
 * "run NAME PATH [ARG...]": runs a program, its output (stdout and stderr) emitted line by line
 * as kernel log records between "run NAME" and "exit NAME ..."; "show" the same, each line
 * marked "out" so that the host can tell it from the kernel's.
 */
static void do_run(char **argv, int argc, int shown)
{
	int status, out[2];
	pid_t pid;

	if (argc < 3) {
		say("error run needs a name and a path");
		return;
	}
	if (pipe2(out, O_CLOEXEC) != 0) {
		say("exit %s error %d", argv[1], errno);
		return;
	}
	say("run %s", argv[1]);
	pid = fork();
	if (pid == 0) {
		/* dup2 clears O_CLOEXEC on the copies. */
		dup2(out[1], STDOUT_FILENO);
		dup2(out[1], STDERR_FILENO);
		execv(argv[2], argv + 2);
		fprintf(stderr, "exec %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	if (pid > 0)
		emit_stream(out[0], shown ? emit_shown : emit);
	close(out[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		say("exit %s error %d", argv[1], errno);
		return;
	}
	if (WIFEXITED(status))
		say("exit %s status %d", argv[1], WEXITSTATUS(status));
	else
		say("exit %s signal %d", argv[1], WTERMSIG(status));
}

#define KUNIT_DIR "/sys/kernel/debug/kunit"

static void kunit_suite(const char *suite)
{
	char path[512];

	snprintf(path, sizeof(path), KUNIT_DIR "/%s/results", suite);
	if (access(path, R_OK) != 0) {
		say("kunit-missing %s", suite);
		return;
	}
	say("kunit-begin %s", suite);
	copy_file(path);
	say("kunit-end %s", suite);
}

static void do_kunit(char **argv, int argc)
{
	struct dirent *de;
	DIR *dir;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			kunit_suite(argv[i]);
		return;
	}
	dir = opendir(KUNIT_DIR);
	if (!dir) {
		say("kunit-missing " KUNIT_DIR);
		return;
	}
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			kunit_suite(de->d_name);
	closedir(dir);
}

static void do_kmemleak(int scan)
{
	const char *path = "/sys/kernel/debug/kmemleak";
	int ret;

	if (access(path, F_OK) != 0) {
		say("kmemleak-off");
		return;
	}
	if (!scan) {
		ret = write_file(path, "clear");
		say("kmemleak-clear %d", ret);
		return;
	}
	/*
	 * kmemleak reports an object older than five seconds once two scans in a row found it
	 * unreferenced and unchanged (a first scan always sees a change). A stale copy of a
	 * pointer, on a stack or in an allocator's cache, can make one scan miss it: scan three
	 * times, a second apart.
	 */
	sleep(6);
	ret = write_file(path, "scan");
	for (int i = 0; i < 2 && !ret; i++) {
		sleep(1);
		ret = write_file(path, "scan");
	}
	say("kmemleak-begin %d", ret);
	copy_file(path);
	say("kmemleak-end");
}

static void run_job(const char *path)
{
	char line[2048];
	FILE *job = fopen(path, "r");

	if (!job) {
		say("error no job file %s", path);
		return;
	}
	while (fgets(line, sizeof(line), job)) {
		char *argv[MAX_ARGS + 1];
		char *save = NULL, *tok;
		int argc = 0;

		for (tok = strtok_r(line, " \t\n", &save); tok && argc < MAX_ARGS;
		     tok = strtok_r(NULL, " \t\n", &save))
			argv[argc++] = tok;
		argv[argc] = NULL;
		if (argc == 0 || argv[0][0] == '#')
			continue;
		if (!strcmp(argv[0], "insmod"))
			do_insmod(argv, argc);
		else if (!strcmp(argv[0], "insmod-refused"))
			do_insmod_refused(argv, argc);
		else if (!strcmp(argv[0], "rmmod"))
			do_rmmod(argv, argc);
		else if (!strcmp(argv[0], "run") || !strcmp(argv[0], "show"))
			do_run(argv, argc, argv[0][0] == 's');
		else if (!strcmp(argv[0], "kunit"))
			do_kunit(argv, argc);
		else if (!strcmp(argv[0], "kmemleak-clear"))
			do_kmemleak(0);
		else if (!strcmp(argv[0], "kmemleak-scan"))
			do_kmemleak(1);
		else
			say("error unknown job command %s", argv[0]);
	}
	fclose(job);
}

int main(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);

	/* The console is our stdout and stderr, for when /dev/kmsg cannot be written. */
	int fd = open("/dev/console", O_RDWR);

	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	setenv("PATH", "/bin", 1);
	setenv("HOME", "/tmp", 1);
	setenv("TMPDIR", "/tmp", 1);

	say("start");
	run_job("/job");
	say("done");
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
