/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading and steering the simulated hypervisor through its debugfs files
 * (/sys/kernel/debug/mshv_sim/, Documentation/mshv-rs/simulator.rst), for the tests and the
 * benchmark. Every helper fails (false or -1) where the simulator is not there.
 */
#ifndef MSHV_SIM_H
#define MSHV_SIM_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIM_DIR "/sys/kernel/debug/mshv_sim/"

/* Reads the simulator's file `name` into buf (NUL-terminated). */
static inline bool sim_read(const char *name, char *buf, size_t size)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SIM_DIR "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = 0;
	return true;
}

/* Writes text to the simulator's file `name`, in one write. */
static inline int sim_write(const char *name, const char *text)
{
	char path[128];
	int fd, ret;

	snprintf(path, sizeof(path), SIM_DIR "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ret = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	close(fd);
	return ret;
}

/* Makes VP vp of partition `partition`'s guest do `what` (see the simulator's inject file). */
static inline int sim_inject(long partition, int vp, const char *what)
{
	char line[256];

	if (snprintf(line, sizeof(line), "%ld %d %s", partition, vp, what) >= (int)sizeof(line)) {
		errno = E2BIG;
		return -1;
	}
	return sim_write("inject", line);
}

/* How many calls of hypercall `code` the simulator has taken. */
static inline long sim_calls(unsigned int code)
{
	char buf[8192], want[16], *line;
	long count = 0;

	if (!sim_read("calls", buf, sizeof(buf)))
		return -1;
	snprintf(want, sizeof(want), "%#x ", code);
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, want, strlen(want)))
			count = strtol(line + strlen(want), NULL, 10);
	return count;
}

/*
 * The simulator's line for the newest partition (the one the caller just created) in buf, or
 * NULL; its id in *id if id is not NULL.
 */
static inline const char *sim_newest_partition(char *buf, size_t size, long *id)
{
	char *last = NULL, *line;

	if (!sim_read("partitions", buf, size))
		return NULL;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		last = line;
	if (last && id)
		*id = strtol(last, NULL, 10);
	return last;
}

/*
 * The first n (at most 128) bytes of the input page of the simulator's last call of hypercall
 * `code` into in; false if it took none.
 */
static inline bool sim_last_input(unsigned int code, void *in, size_t n)
{
	char buf[65536], want[16], *line, *hex;
	unsigned char *bytes = in;
	size_t i;

	if (!sim_read("last", buf, sizeof(buf)))
		return false;
	snprintf(want, sizeof(want), "%#x ", code);
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, want, strlen(want)))
			continue;
		/* <code> <control word> <input bytes in hex> */
		hex = strchr(line + strlen(want), ' ');
		if (!hex || strlen(hex + 1) < 2 * n)
			return false;
		for (i = 0; i < n; i++)
			if (sscanf(hex + 1 + 2 * i, "%2hhx", &bytes[i]) != 1)
				return false;
		return true;
	}
	return false;
}

/*
 * Makes the nth call of hypercall `code` from now fail with HV status `status`, once (see the
 * simulator's fail file for the other rules).
 */
static inline int sim_fail(unsigned int code, unsigned long nth, unsigned int status)
{
	char line[64];

	snprintf(line, sizeof(line), "%#x %lu %#x", code, nth, status);
	return sim_write("fail", line);
}

/* Removes every failure rule. */
static inline int sim_fail_clear(void)
{
	return sim_write("fail", "clear");
}

/*
 * The messages the simulator has handed to the driver's handler since it loaded, and those of
 * them in hard interrupt context; false where the simulator is not there.
 */
static inline bool sim_deliveries(long *delivered, long *hardirq)
{
	char buf[128];
	int n;

	if (!sim_read("deliveries", buf, sizeof(buf)))
		return false;
	n = sscanf(buf, "delivered %ld hardirq %ld", delivered, hardirq);
	return n == 2;
}

/* The simulator's live partitions (lines of `partitions`), or -1. */
static inline int sim_partition_count(void)
{
	char buf[65536];
	int count = 0;
	char *p;

	if (!sim_read("partitions", buf, sizeof(buf)))
		return -1;
	for (p = buf; *p; p++)
		count += *p == '\n';
	return count;
}

/* A value of the simulator's `pages` file ("root_free" or "root_used"), or -1. */
static inline long sim_pages(const char *what)
{
	char buf[256], *p;

	if (!sim_read("pages", buf, sizeof(buf)))
		return -1;
	p = strstr(buf, what);
	return p ? strtol(p + strlen(what), NULL, 10) : -1;
}

/*
 * The VTL2 partition's VTL0 (the simulator's vtl0 file, with mshv_vtl): sets the program
 * VTL0 runs on `cpu` ("all" for every CPU).
 */
static inline int sim_vtl0_program(const char *cpu, int program, unsigned int arg)
{
	char line[64];

	snprintf(line, sizeof(line), "%s %d %u", cpu, program, arg);
	return sim_write("vtl0", line);
}

/* A number from CPU `cpu`'s line of debugfs file `file`: the one after `word`; -1 without it. */
static inline long sim_cpu_count(const char *file, int cpu, const char *word)
{
	char buf[8192], want[16], *line, *at;

	if (!sim_read(file, buf, sizeof(buf)))
		return -1;
	snprintf(want, sizeof(want), "%d ", cpu);
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, want, strlen(want)))
			continue;
		at = strstr(line, word);
		return at ? strtol(at + strlen(word), NULL, 0) : -1;
	}
	return -1;
}

/* A number from CPU `cpu`'s line of the vtl0 file: the one after `word`; -1 without it. */
static inline long sim_vtl0_count(int cpu, const char *word)
{
	return sim_cpu_count("vtl0", cpu, word);
}

/*
 * The VTL2 partition's SynIC (the simulator's synic file, with mshv_vtl): the host sends CPU
 * `cpu`'s SINT `sint` a message of `type` with up to four payload words, or signals one of its
 * event flags.
 */
static inline int sim_synic_message(int cpu, int sint, unsigned int type, unsigned long w0,
				    unsigned long w1)
{
	char line[128];

	snprintf(line, sizeof(line), "message %d %d %#x %#lx %#lx", cpu, sint, type, w0, w1);
	return sim_write("synic", line);
}

static inline int sim_synic_event(int cpu, int sint, unsigned int flag)
{
	char line[64];

	snprintf(line, sizeof(line), "event %d %d %u", cpu, sint, flag);
	return sim_write("synic", line);
}

/* A number from the synic file: CPU `cpu`'s (or the last line's, for -1), after `word`. */
static inline long sim_synic_count(int cpu, const char *word)
{
	char buf[8192], want[16], *line, *at, *found = NULL;

	if (!sim_read("synic", buf, sizeof(buf)))
		return -1;
	snprintf(want, sizeof(want), "%d ", cpu);
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (cpu < 0 ? !strncmp(line, "interrupts", 10) : !strncmp(line, want, strlen(want)))
			found = line;
	at = found ? strstr(found, word) : NULL;
	return at ? strtol(at + strlen(word), NULL, 0) : -1;
}

/* SINT `sint`'s register on CPU `cpu`, from the synic file, or -1. */
static inline long long sim_synic_sint(int cpu, int sint)
{
	char buf[8192], want[16], *line, *at;
	int i;

	if (!sim_read("synic", buf, sizeof(buf)))
		return -1;
	snprintf(want, sizeof(want), "%d ", cpu);
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, want, strlen(want)))
			continue;
		at = strstr(line, " sint ");
		if (!at)
			return -1;
		at += strlen(" sint ");
		for (i = 0; i < sint; i++)
			strtoll(at, &at, 0);
		return strtoll(at, NULL, 0);
	}
	return -1;
}

/* Takes CPU `cpu` offline (0) or brings it back (1): 0, or -1. */
static inline int set_cpu_online(int cpu, int online)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ret = write(fd, online ? "1" : "0", 1) == 1 ? 0 : -1;
	close(fd);
	return ret;
}

#endif /* MSHV_SIM_H */
