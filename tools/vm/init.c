// SPDX-License-Identifier: GPL-2.0
/*
 * PID 1 of the test VM. Mounts the pseudo file systems, then carries out /job, one command a
 * line, and powers the machine off. Everything it reports is a console line starting with
 * "MSHV-VM: ", which tools/vm/vmrun.py reads:
 *
 *   insmod PATH [PARAM=VALUE ...]  load a module (finit_module)
 *   rmmod NAME                     unload a module
 *   run NAME PATH [ARG ...]        run a program, its output on the console
 *   kunit                          print the results of every KUnit suite that ran
 *   kmemleak-clear                 forget the leaks suspected so far
 *   kmemleak-scan                  wait until new objects are old enough, scan, print the report
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

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "MSHV-VM: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line, so a line is never split by our own output. */
	if (write(STDOUT_FILENO, buf, n) < 0)
		return;
}

static void copy_file(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(STDOUT_FILENO, buf, n) < 0)
			break;
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

static void do_run(char **argv, int argc)
{
	int status;
	pid_t pid;

	if (argc < 3) {
		say("error run needs a name and a path");
		return;
	}
	say("run %s", argv[1]);
	pid = fork();
	if (pid == 0) {
		execv(argv[2], argv + 2);
		fprintf(stderr, "exec %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		say("exit %s error %d", argv[1], errno);
		return;
	}
	if (WIFEXITED(status))
		say("exit %s status %d", argv[1], WEXITSTATUS(status));
	else
		say("exit %s signal %d", argv[1], WTERMSIG(status));
}

static void do_kunit(void)
{
	const char *base = "/sys/kernel/debug/kunit";
	struct dirent *de;
	char path[512];
	DIR *dir = opendir(base);

	if (!dir) {
		say("kunit-none %s: %s", base, strerror(errno));
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/results", base, de->d_name);
		say("kunit-begin %s", de->d_name);
		copy_file(path);
		say("kunit-end %s", de->d_name);
	}
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
	/* kmemleak only reports objects older than five seconds. */
	sleep(6);
	ret = write_file(path, "scan");
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
		else if (!strcmp(argv[0], "rmmod"))
			do_rmmod(argv, argc);
		else if (!strcmp(argv[0], "run"))
			do_run(argv, argc);
		else if (!strcmp(argv[0], "kunit"))
			do_kunit();
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

	/* The console is our stdout and stderr, and the programs' too. */
	int fd = open("/dev/console", O_RDWR);

	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
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
