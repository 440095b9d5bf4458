// SPDX-License-Identifier: GPL-2.0
/*
 * The uapi header the kernel installs, <linux/mshv.h>, against the root device's ABI: the sizes,
 * offsets and ioctl numbers that user space (rust-vmm mshv-ioctls, QEMU, Cloud Hypervisor) is
 * built with. The driver's Rust side asserts the same values at compile time and compares them
 * with the header it is built against in its KUnit suite mshv_rs_uapi.
 */
#include <stddef.h>
#include <sys/ioctl.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"

TEST(create_partition)
{
	EXPECT_EQ(16, sizeof(struct mshv_create_partition));
	EXPECT_EQ(64, sizeof(struct mshv_create_partition_v2));
	EXPECT_EQ(16, offsetof(struct mshv_create_partition_v2, pt_num_cpu_fbanks));
	EXPECT_EQ(18, offsetof(struct mshv_create_partition_v2, pt_rsvd));
	EXPECT_EQ(24, offsetof(struct mshv_create_partition_v2, pt_cpu_fbanks));
	EXPECT_EQ(40, offsetof(struct mshv_create_partition_v2, pt_rsvd1));
#ifdef __x86_64__
	EXPECT_EQ(56, offsetof(struct mshv_create_partition_v2, pt_disabled_xsave));
#else
	EXPECT_EQ(56, offsetof(struct mshv_create_partition_v2, pt_rsvd2));
#endif
	EXPECT_EQ(2, MSHV_NUM_CPU_FEATURES_BANKS);
	EXPECT_EQ(0x4010B800, MSHV_CREATE_PARTITION);
}

TEST(partition_commands)
{
	EXPECT_EQ(4, sizeof(struct mshv_create_vp));
	EXPECT_EQ(32, sizeof(struct mshv_user_mem_region));
	EXPECT_EQ(24, offsetof(struct mshv_user_mem_region, flags));
	EXPECT_EQ(16, sizeof(struct mshv_user_irqfd));
	EXPECT_EQ(32, sizeof(struct mshv_user_ioeventfd));
	EXPECT_EQ(16, offsetof(struct mshv_user_ioeventfd, len));
	EXPECT_EQ(20, offsetof(struct mshv_user_ioeventfd, fd));
	EXPECT_EQ(24, offsetof(struct mshv_user_ioeventfd, flags));
	EXPECT_EQ(16, sizeof(struct mshv_user_irq_entry));
	EXPECT_EQ(8, sizeof(struct mshv_user_irq_table));
	EXPECT_EQ(32, sizeof(struct mshv_gpap_access_bitmap));

	EXPECT_EQ(0x0000B800, MSHV_INITIALIZE_PARTITION);
	EXPECT_EQ(0x4004B801, MSHV_CREATE_VP);
	EXPECT_EQ(0x4020B802, MSHV_SET_GUEST_MEMORY);
	EXPECT_EQ(0x4010B803, MSHV_IRQFD);
	EXPECT_EQ(0x4020B804, MSHV_IOEVENTFD);
	EXPECT_EQ(0x4008B805, MSHV_SET_MSI_ROUTING);
	EXPECT_EQ(0xC020B806, MSHV_GET_GPAP_ACCESS_BITMAP);
}

TEST(root_hvcall)
{
	EXPECT_EQ(32, sizeof(struct mshv_root_hvcall));
	EXPECT_EQ(8, offsetof(struct mshv_root_hvcall, status));
	EXPECT_EQ(16, offsetof(struct mshv_root_hvcall, in_ptr));
	EXPECT_EQ(24, offsetof(struct mshv_root_hvcall, out_ptr));
	EXPECT_EQ(0xC020B807, MSHV_ROOT_HVCALL);
}

TEST(vp_commands)
{
	EXPECT_EQ(256, sizeof(struct mshv_run_vp));
	EXPECT_EQ(16, sizeof(struct mshv_get_set_vp_state));
	EXPECT_EQ(0x8100B800, MSHV_RUN_VP);
	EXPECT_EQ(0xC010B801, MSHV_GET_VP_STATE);
	EXPECT_EQ(0xC010B802, MSHV_SET_VP_STATE);
}

TEST_HARNESS_MAIN
