// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/mshv_sint: the host's VMBus messages and event flags for VTL2, relayed to user space,
 * as OpenHCL's VMBus relay uses them. The simulated hypervisor plays the host (its synic file):
 * it writes messages into the SINT's slot of CPU 0's SynIC message page and sets event flags in
 * a CPU's event flags page, then interrupts that CPU, as the hypervisor does.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/mshv.h>

#include "kselftest_harness.h"
#include "mshv_sim.h"
#include "mshv_vtl.h"

#define VMBUS_SINT		7
#define HVCALL_POST_MESSAGE	0x005c
#define HVCALL_SIGNAL_EVENT	0x005d
#define HV_STATUS_INVALID_CONNECTION_ID	0x12

struct message {
	__u32 type;
	__u8 payload_size;
	__u8 flags;
	__u8 reserved[2];
	__u64 sender;
	__u64 payload[30];
};

static int pause_stream(int fd, int mask)
{
	struct mshv_sint_mask m = { .mask = mask };

	return ioctl(fd, MSHV_SINT_PAUSE_MESSAGE_STREAM, &m);
}

static int set_eventfd(int fd, int efd, __u32 flag)
{
	struct mshv_vtl_set_eventfd args = { .fd = efd, .flag = flag };

	return ioctl(fd, MSHV_SINT_SET_EVENTFD, &args);
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

FIXTURE(sint) {
	int fd;
};

FIXTURE_SETUP(sint)
{
	char buf[256];

	self->fd = -1;
	if (!vtl_personality())
		SKIP(return, "mshv_vtl is not loaded (no /dev/mshv_hvcall)");
	if (access(SIM_DIR "synic", F_OK))
		SKIP(return, "needs the simulated hypervisor to play the host");
	self->fd = open("/dev/mshv_sint", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, self->fd);
	/*
	 * Whatever an earlier case or program left is gone (the host forgets, the slot is read);
	 * each case starts paused, as the device does.
	 */
	ASSERT_EQ(0, sim_write("synic", "clear"));
	ASSERT_EQ(0, pause_stream(self->fd, 0));
	while (readable(self->fd, 100) && read(self->fd, buf, sizeof(buf)) > 0)
		;
	ASSERT_EQ(0, pause_stream(self->fd, 1));
	ASSERT_EQ(0, sim_synic_count(0, "queued "));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, 0));
}

FIXTURE_TEARDOWN(sint)
{
	if (self->fd >= 0) {
		pause_stream(self->fd, 1);
		close(self->fd);
	}
}

TEST_F(sint, paused_the_stream_is_at_its_end)
{
	struct message m;

	EXPECT_EQ(0, read(self->fd, &m, sizeof(m)));
	EXPECT_TRUE(readable(self->fd, 0));
	/* A buffer too small for a message. */
	EXPECT_EQ(-1, read(self->fd, &m, sizeof(m) - 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, pause_stream(self->fd, 0));
	EXPECT_FALSE(readable(self->fd, 0));
}

/* The SINT register of CPU `cpu`: VMBus's SINT's. */
static long sint_register(int cpu)
{
	return sim_synic_sint(cpu, VMBUS_SINT);
}

TEST_F(sint, pausing_masks_the_sint_on_every_cpu)
{
	int cpus = sysconf(_SC_NPROCESSORS_ONLN), cpu;

	for (cpu = 0; cpu < cpus; cpu++)
		EXPECT_NE(0, sint_register(cpu) & (1 << 16));
	ASSERT_EQ(0, pause_stream(self->fd, 0));
	for (cpu = 0; cpu < cpus; cpu++) {
		EXPECT_EQ(0, sint_register(cpu) & (1 << 16));
		/* Enabled, with the module's own pages (there is no VMBus here). */
		EXPECT_EQ(1, sim_synic_count(cpu, "scontrol "));
		EXPECT_EQ(1, sim_synic_count(cpu, "simp ") & 1);
		EXPECT_EQ(1, sim_synic_count(cpu, "siefp ") & 1);
	}
	ASSERT_EQ(0, pause_stream(self->fd, 1));
	for (cpu = 0; cpu < cpus; cpu++)
		EXPECT_NE(0, sint_register(cpu) & (1 << 16));
}

TEST_F(sint, a_cpu_that_comes_back_has_the_synic_again)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (access("/sys/devices/system/cpu/cpu1/online", W_OK))
		SKIP(return, "CPU 1 cannot go offline here");
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, pause_stream(self->fd, 0));
	ASSERT_EQ(0, set_cpu_online(1, 0));
	/* Gone: its SynIC disabled, its pages no longer the hypervisor's to write. */
	EXPECT_EQ(0, sim_synic_count(1, "scontrol "));
	EXPECT_EQ(0, sim_synic_count(1, "simp ") & 1);
	EXPECT_EQ(0, sim_synic_count(1, "siefp ") & 1);
	EXPECT_NE(0, sint_register(1) & (1 << 16));
	ASSERT_EQ(0, set_cpu_online(1, 1));
	/* Back: enabled again, unmasked as the other CPUs are, and its flags signal. */
	EXPECT_EQ(1, sim_synic_count(1, "scontrol "));
	EXPECT_EQ(1, sim_synic_count(1, "simp ") & 1);
	EXPECT_EQ(0, sint_register(1) & (1 << 16));
	ASSERT_EQ(0, set_eventfd(self->fd, efd, 3));
	ASSERT_EQ(0, sim_synic_event(1, VMBUS_SINT, 3));
	EXPECT_TRUE(readable(efd, 1000));
	ASSERT_EQ(0, set_eventfd(self->fd, -1, 3));
	close(efd);
}

TEST_F(sint, a_message_is_read_once)
{
	long irqs = sim_synic_count(-1, "interrupts "), hard = sim_synic_count(-1, "hardirq ");
	struct message m, more[2];

	ASSERT_EQ(0, pause_stream(self->fd, 0));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(-1, read(self->fd, &m, sizeof(m)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, sim_synic_message(0, VMBUS_SINT, 0x1234, 0xabcd, 0x5678));
	EXPECT_TRUE(readable(self->fd, 1000));
	/* A bigger buffer takes one message. */
	ASSERT_EQ(sizeof(m), read(self->fd, more, sizeof(more)));
	m = more[0];
	EXPECT_EQ(0x1234, m.type);
	EXPECT_EQ(16, m.payload_size);
	EXPECT_EQ(0xabcd, m.payload[0]);
	EXPECT_EQ(0x5678, m.payload[1]);
	EXPECT_EQ(-1, read(self->fd, &m, sizeof(m)));
	EXPECT_EQ(EAGAIN, errno);
	/* Delivered through the interrupt, in hard interrupt context. */
	EXPECT_LT(irqs, sim_synic_count(-1, "interrupts "));
	EXPECT_LT(hard, sim_synic_count(-1, "hardirq "));
}

TEST_F(sint, messages_queued_behind_one_come_in_order)
{
	struct message m;
	int i;

	ASSERT_EQ(0, pause_stream(self->fd, 0));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	/* The slot takes one; the others wait for its end of message. */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, sim_synic_message(0, VMBUS_SINT, 0x100 + i, i, 0));
	for (i = 0; i < 3; i++) {
		EXPECT_TRUE(readable(self->fd, 1000));
		ASSERT_EQ(sizeof(m), read(self->fd, &m, sizeof(m)));
		EXPECT_EQ(0x100 + i, m.type);
		EXPECT_EQ(i, m.payload[0]);
	}
	EXPECT_EQ(-1, read(self->fd, &m, sizeof(m)));
	EXPECT_EQ(0, sim_synic_count(0, "queued "));
}

TEST_F(sint, a_message_while_paused_waits_for_the_stream)
{
	struct message m;

	ASSERT_EQ(0, sim_synic_message(0, VMBUS_SINT, 0x42, 1, 2));
	/* Masked: it waits in the hypervisor, and the stream reads at its end. */
	EXPECT_EQ(1, sim_synic_count(0, "queued "));
	EXPECT_EQ(0, read(self->fd, &m, sizeof(m)));
	ASSERT_EQ(0, pause_stream(self->fd, 0));
	EXPECT_TRUE(readable(self->fd, 1000));
	ASSERT_EQ(sizeof(m), read(self->fd, &m, sizeof(m)));
	EXPECT_EQ(0x42, m.type);
}

/* A masked SINT holds its messages whatever else is written to the SynIC meanwhile. */
TEST_F(sint, messages_while_paused_outlast_other_register_writes)
{
	struct message m;

	ASSERT_EQ(0, sim_synic_message(0, VMBUS_SINT, 0x43, 1, 2));
	ASSERT_EQ(0, sim_synic_message(0, VMBUS_SINT, 0x44, 3, 4));
	EXPECT_EQ(2, sim_synic_count(0, "queued "));
	/* Paused again: the SINT's register written once more, on every CPU. */
	ASSERT_EQ(0, pause_stream(self->fd, 1));
	EXPECT_EQ(2, sim_synic_count(0, "queued "));
	ASSERT_EQ(0, pause_stream(self->fd, 0));
	EXPECT_TRUE(readable(self->fd, 1000));
	ASSERT_EQ(sizeof(m), read(self->fd, &m, sizeof(m)));
	EXPECT_EQ(0x43, m.type);
	EXPECT_TRUE(readable(self->fd, 1000));
	ASSERT_EQ(sizeof(m), read(self->fd, &m, sizeof(m)));
	EXPECT_EQ(0x44, m.type);
}

static void *send_later(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	sim_synic_message(0, VMBUS_SINT, 0x77, 7, 0);
	return NULL;
}

static void *pause_later(void *arg)
{
	usleep(100 * 1000);
	pause_stream(*(int *)arg, 1);
	return NULL;
}

TEST_F(sint, a_blocked_reader_wakes_for_a_message_or_a_pause)
{
	struct message m;
	pthread_t t;

	ASSERT_EQ(0, pause_stream(self->fd, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, send_later, NULL));
	ASSERT_EQ(sizeof(m), read(self->fd, &m, sizeof(m)));
	EXPECT_EQ(0x77, m.type);
	pthread_join(t, NULL);
	ASSERT_EQ(0, pthread_create(&t, NULL, pause_later, &self->fd));
	EXPECT_EQ(0, read(self->fd, &m, sizeof(m)));
	pthread_join(t, NULL);
}

TEST_F(sint, a_blocked_poll_wakes_for_a_message)
{
	struct message m;
	pthread_t t;

	ASSERT_EQ(0, pause_stream(self->fd, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, send_later, NULL));
	EXPECT_TRUE(readable(self->fd, 5000));
	pthread_join(t, NULL);
	ASSERT_EQ(sizeof(m), read(self->fd, &m, sizeof(m)));
	EXPECT_EQ(0x77, m.type);
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST_F(sint, a_signal_ends_a_blocked_read)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct message m;

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, pause_stream(self->fd, 0));
	alarm(1);
	EXPECT_EQ(-1, read(self->fd, &m, sizeof(m)));
	EXPECT_EQ(EINTR, errno);
}

TEST_F(sint, each_sint_takes_its_own_messages)
{
	struct message m;

	ASSERT_EQ(0, pause_stream(self->fd, 0));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	/* SINT 3 is masked: its message waits, and SINT 7's behind it does not. */
	ASSERT_EQ(0, sim_synic_message(0, 3, 0x333, 3, 0));
	ASSERT_EQ(0, sim_synic_message(0, VMBUS_SINT, 0x777, 7, 0));
	EXPECT_TRUE(readable(self->fd, 1000));
	ASSERT_EQ(sizeof(m), read(self->fd, &m, sizeof(m)));
	EXPECT_EQ(0x777, m.type);
	EXPECT_EQ(1, sim_synic_count(0, "queued "));
}

TEST_F(sint, event_flags_signal_their_eventfds)
{
	int cpus = sysconf(_SC_NPROCESSORS_ONLN), cpu;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	__u64 count;

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_eventfd(self->fd, efd, 2047));
	ASSERT_EQ(0, pause_stream(self->fd, 0));
	/* From any CPU. */
	for (cpu = 0; cpu < cpus; cpu++) {
		ASSERT_EQ(0, sim_synic_event(cpu, VMBUS_SINT, 2047));
		EXPECT_TRUE(readable(efd, 1000));
		ASSERT_EQ(sizeof(count), read(efd, &count, sizeof(count)));
		EXPECT_EQ(1, count);
	}
	/* Another flag, no eventfd: nothing; cleared, the flag signals no more. */
	ASSERT_EQ(0, sim_synic_event(0, VMBUS_SINT, 5));
	ASSERT_EQ(0, set_eventfd(self->fd, -1, 2047));
	ASSERT_EQ(0, sim_synic_event(0, VMBUS_SINT, 2047));
	EXPECT_FALSE(readable(efd, 100));
	close(efd);
}

TEST_F(sint, a_flag_set_while_masked_signals_at_unmask)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_eventfd(self->fd, efd, 9));
	ASSERT_EQ(0, sim_synic_event(0, VMBUS_SINT, 9));
	EXPECT_FALSE(readable(efd, 100));
	ASSERT_EQ(0, pause_stream(self->fd, 0));
	EXPECT_TRUE(readable(efd, 1000));
	ASSERT_EQ(0, set_eventfd(self->fd, -1, 9));
	close(efd);
}

TEST_F(sint, set_eventfd_arguments)
{
	int efd = eventfd(0, EFD_CLOEXEC);

	EXPECT_EQ(-1, set_eventfd(self->fd, efd, 2048));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_eventfd(self->fd, 1000, 1));
	EXPECT_EQ(EBADF, errno);
	/* A file that is no eventfd. */
	EXPECT_EQ(-1, set_eventfd(self->fd, self->fd, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_SINT_SET_EVENTFD, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* Set twice, cleared twice. */
	EXPECT_EQ(0, set_eventfd(self->fd, efd, 1));
	EXPECT_EQ(0, set_eventfd(self->fd, efd, 1));
	EXPECT_EQ(0, set_eventfd(self->fd, -1, 1));
	EXPECT_EQ(0, set_eventfd(self->fd, -1, 1));
	close(efd);
}

TEST_F(sint, posted_messages_and_signalled_events_reach_the_hypervisor)
{
	__u8 payload[256] = { 1, 2, 3 };
	struct mshv_vtl_sint_post_msg msg = {
		.message_type = 0x100000001ULL, .connection_id = 4, .payload_size = 240,
		.payload_ptr = (uintptr_t)payload,
	};
	struct mshv_vtl_signal_event event = { .connection_id = 5, .flag = 2047 };
	long posts = sim_calls(HVCALL_POST_MESSAGE), signals = sim_calls(HVCALL_SIGNAL_EVENT);

	EXPECT_EQ(0, ioctl(self->fd, MSHV_SINT_POST_MESSAGE, &msg));
	EXPECT_EQ(posts + 1, sim_calls(HVCALL_POST_MESSAGE));
	EXPECT_EQ(0, ioctl(self->fd, MSHV_SINT_SIGNAL_EVENT, &event));
	EXPECT_EQ(signals + 1, sim_calls(HVCALL_SIGNAL_EVENT));
	/* The hypervisor's refusal is an errno (upstream returns the positive status). */
	event.flag = 2048;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_SINT_SIGNAL_EVENT, &event));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, sim_fail(HVCALL_POST_MESSAGE, 1, HV_STATUS_INVALID_CONNECTION_ID));
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_SINT_POST_MESSAGE, &msg));
	EXPECT_EQ(EINVAL, errno);
	sim_fail_clear();
	/* Ours to check: too big a payload, one that cannot be read, an argument that cannot. */
	msg.payload_size = 241;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_SINT_POST_MESSAGE, &msg));
	EXPECT_EQ(EINVAL, errno);
	msg.payload_size = 16;
	msg.payload_ptr = 8;
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_SINT_POST_MESSAGE, &msg));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_SINT_POST_MESSAGE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_SINT_SIGNAL_EVENT, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_SINT_PAUSE_MESSAGE_STREAM, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MSHV_CREATE_VTL, NULL));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_HARNESS_MAIN
