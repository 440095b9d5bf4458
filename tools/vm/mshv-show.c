// SPDX-License-Identifier: GPL-2.0
/*
 * Shows the driver from inside the VM: the /dev/mshv node and the driver's kernel log.
 * Exits 0 when /dev/mshv is a character device, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int main(void)
{
	char rec[1024];
	struct stat st;
	ssize_t n;
	int fd;

	printf("--- kernel log of the driver (mshv_rs)\n");
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	while (fd >= 0 && ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || errno == EPIPE)) {
		char *text;

		if (n <= 0)
			continue;
		rec[n] = '\0';
		/* A record is "prio,seq,time,flags;text\n". */
		text = strchr(rec, ';');
		if (text && !strncmp(text + 1, "mshv_rs:", 8))
			fputs(text + 1, stdout);
	}
	if (fd >= 0)
		close(fd);

	printf("--- /dev/mshv\n");
	if (stat("/dev/mshv", &st) != 0) {
		printf("/dev/mshv: %s\n", strerror(errno));
		return 1;
	}
	printf("/dev/mshv: %s, major %u minor %u, mode %04o\n",
	       S_ISCHR(st.st_mode) ? "character device" : "not a character device",
	       major(st.st_rdev), minor(st.st_rdev), st.st_mode & 07777);
	return S_ISCHR(st.st_mode) ? 0 : 1;
}
