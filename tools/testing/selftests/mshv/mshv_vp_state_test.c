// SPDX-License-Identifier: GPL-2.0
/*
 * MSHV_GET_VP_STATE and MSHV_SET_VP_STATE: the size written back before it is checked, the
 * buffer rules, and states that round-trip through the hypervisor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"

#define PAGE 4096

FIXTURE(state) {
	int mshv, pt, vp;
	__u8 *buf;
};

FIXTURE_SETUP(state)
{
	struct mshv_create_partition args = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };
	struct mshv_create_vp vp = { .vp_index = 3 };

	self->mshv = open("/dev/mshv", O_RDWR);
	ASSERT_LE(0, self->mshv);
	self->pt = ioctl(self->mshv, MSHV_CREATE_PARTITION, &args);
	ASSERT_LE(0, self->pt);
	ASSERT_EQ(0, ioctl(self->pt, MSHV_INITIALIZE_PARTITION));
	self->vp = ioctl(self->pt, MSHV_CREATE_VP, &vp);
	ASSERT_LE(0, self->vp);
	self->buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(state)
{
	munmap(self->buf, 2 * PAGE);
	close(self->vp);
	close(self->pt);
	close(self->mshv);
}

static int get_set(int vp, unsigned long cmd, __u8 type, void *buf, __u32 *size)
{
	struct mshv_get_set_vp_state s = {
		.type = type, .buf_sz = *size, .buf_ptr = (__u64)(uintptr_t)buf,
	};
	int ret = ioctl(vp, cmd, &s);

	*size = s.buf_sz;
	return ret;
}

TEST_F(state, sizes_are_written_back)
{
	__u32 size;
	__u8 type;

	for (type = 0; type < MSHV_VP_STATE_COUNT; type++) {
		size = PAGE;
		EXPECT_EQ(0, get_set(self->vp, MSHV_GET_VP_STATE, type, self->buf, &size));
		EXPECT_EQ(type == MSHV_VP_STATE_SYNTHETIC_TIMERS ? 200 : PAGE, size);
	}
}

TEST_F(state, lapic_starts_with_the_vp_index)
{
	__u32 size = PAGE;

	memset(self->buf, 0xff, PAGE);
	ASSERT_EQ(0, get_set(self->vp, MSHV_GET_VP_STATE, MSHV_VP_STATE_LAPIC, self->buf, &size));
	/* apic_id, then the version. */
	EXPECT_EQ(3, *(__u32 *)self->buf);
	EXPECT_EQ(0x50014, *(__u32 *)(self->buf + 4));
	EXPECT_EQ(0, self->buf[8]);
}

TEST_F(state, states_round_trip)
{
	__u8 types[] = { MSHV_VP_STATE_LAPIC, MSHV_VP_STATE_XSAVE, MSHV_VP_STATE_SIMP,
			 MSHV_VP_STATE_SIEFP, MSHV_VP_STATE_SYNTHETIC_TIMERS };
	unsigned int i, j;
	__u32 size;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		for (j = 0; j < PAGE; j++)
			self->buf[j] = (__u8)(j * 7 + i);
		size = PAGE;
		ASSERT_EQ(0, get_set(self->vp, MSHV_SET_VP_STATE, types[i], self->buf, &size));
		memset(self->buf, 0, PAGE);
		size = PAGE;
		ASSERT_EQ(0, get_set(self->vp, MSHV_GET_VP_STATE, types[i], self->buf, &size));
		for (j = 0; j < size; j++)
			if (self->buf[j] != (__u8)(j * 7 + i))
				break;
		EXPECT_EQ(size, j) {
			TH_LOG("type %u differs at byte %u", types[i], j);
		}
	}
}

TEST_F(state, bad_arguments)
{
	struct mshv_get_set_vp_state s = {
		.type = MSHV_VP_STATE_LAPIC, .buf_sz = PAGE, .buf_ptr = (__u64)(uintptr_t)self->buf,
	}, bad;
	__u8 *gone = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned int i;

	ASSERT_NE(MAP_FAILED, gone);
	ASSERT_EQ(0, munmap(gone, PAGE));
	bad = s; bad.type = MSHV_VP_STATE_COUNT;
	EXPECT_EQ(-1, ioctl(self->vp, MSHV_GET_VP_STATE, &bad));
	EXPECT_EQ(EINVAL, errno);
	for (i = 0; i < sizeof(s.rsvd); i++) {
		bad = s; bad.rsvd[i] = 1;
		EXPECT_EQ(-1, ioctl(self->vp, MSHV_SET_VP_STATE, &bad));
		EXPECT_EQ(EINVAL, errno);
	}
	bad = s; bad.buf_sz = 0;
	EXPECT_EQ(-1, ioctl(self->vp, MSHV_GET_VP_STATE, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = s; bad.buf_sz = 200;
	EXPECT_EQ(-1, ioctl(self->vp, MSHV_GET_VP_STATE, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = s; bad.buf_ptr += 8;
	EXPECT_EQ(-1, ioctl(self->vp, MSHV_GET_VP_STATE, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = s; bad.buf_ptr = (__u64)(uintptr_t)gone;
	EXPECT_EQ(-1, ioctl(self->vp, MSHV_GET_VP_STATE, &bad));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->vp, MSHV_GET_VP_STATE, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* The timers' 200 bytes from an unmapped buffer. */
	bad = s; bad.type = MSHV_VP_STATE_SYNTHETIC_TIMERS; bad.buf_ptr = (__u64)(uintptr_t)gone;
	EXPECT_EQ(-1, ioctl(self->vp, MSHV_SET_VP_STATE, &bad));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(200, bad.buf_sz);
}

TEST_HARNESS_MAIN
