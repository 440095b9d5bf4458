// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/mshv as a character device: the node, open and close, and commands it does not know.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define MSHV_DEV "/dev/mshv"
#define MISC_MAJOR 10

/* Not /dev/mshv commands: another driver's type, or none at all. */
static const unsigned long foreign_cmds[] = {
	0,
	_IO(0xB9, 0x7f),
	_IOR(0xAB, 0x01, uint64_t),
	_IOWR('|', 0x81, int),
	0xffffffffUL,
};

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open(MSHV_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0) TH_LOG("open %s: %s", MSHV_DEV, strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST(node_is_a_misc_char_device)
{
	struct stat st;

	ASSERT_EQ(0, stat(MSHV_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));
}

TEST(module_is_mshv_rs)
{
	EXPECT_EQ(0, access("/sys/module/mshv_rs", F_OK));
	/* The upstream C drivers are not what answers here. */
	EXPECT_NE(0, access("/sys/module/mshv_root", F_OK));
	EXPECT_NE(0, access("/sys/module/mshv_vtl", F_OK));
}

TEST_F(dev, unknown_commands_are_enotty)
{
	for (size_t i = 0; i < ARRAY_SIZE(foreign_cmds); i++) {
		unsigned long cmd = foreign_cmds[i];
		uint64_t buf[8] = { 0 };

		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, cmd, buf)) TH_LOG("cmd %#lx", cmd);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx", cmd);
	}
}

TEST_F(dev, unknown_commands_with_bad_pointers_are_enotty)
{
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(0xB8, 0x7f, uint64_t), (void *)1));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dev, read_and_write_are_not_supported)
{
	char c = 0;

	EXPECT_EQ(-1, read(self->fd, &c, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(self->fd, &c, 1));
	EXPECT_EQ(EINVAL, errno);
}

TEST(many_opens_and_closes)
{
	int fds[64];

	for (int i = 0; i < 64; i++) {
		fds[i] = open(MSHV_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_GE(fds[i], 0);
	}
	for (int i = 63; i >= 0; i--)
		EXPECT_EQ(0, close(fds[i]));
}

TEST_HARNESS_MAIN
