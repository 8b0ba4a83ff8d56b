/*
 * avr-vboard: a virtual AVR board built on Debian's libsimavr.
 *
 * Runs an ELF firmware on a simulated MCU (ATmega2560 at 16 MHz by default)
 * and connects its UART0 to the host, either to stdin/stdout (default: used by
 * the on-target test runner) or to a pseudo-terminal (--pty: used by the host
 * tool, which then talks to it exactly as to a real board's serial port).
 *
 * Exit status: 0 when the firmware stops itself (sleep with interrupts off),
 * 2 when the simulated MCU crashed, 3 on timeout, 1 on a usage or load error.
 * A timeout is counted both in simulated seconds and in wall-clock seconds, so
 * a firmware that hangs fails instead of blocking.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <simavr/avr_uart.h>
#include <simavr/sim_avr.h>
#include <simavr/sim_elf.h>
#include <simavr/sim_irq.h>

typedef struct vboard {
	avr_t *avr;
	int in_fd;          /* bytes from the host to UART0 RX, -1 when closed */
	int out_fd;         /* bytes from UART0 TX to the host */
	int rx_ready;       /* the simulated UART can take another byte */
	unsigned char out_buf[4096];
	size_t out_len;
} vboard_t;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) { (void)sig; g_stop = 1; }

static void flush_out(vboard_t *vb)
{
	size_t off = 0;
	while (off < vb->out_len) {
		ssize_t n = write(vb->out_fd, vb->out_buf + off, vb->out_len - off);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				struct pollfd p = { .fd = vb->out_fd, .events = POLLOUT };
				poll(&p, 1, 10);
				continue;
			}
			break; /* the host went away: drop output */
		}
		off += (size_t)n;
	}
	vb->out_len = 0;
}

static void uart_tx_hook(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	vboard_t *vb = (vboard_t *)param;
	vb->out_buf[vb->out_len++] = (unsigned char)value;
	if (vb->out_len == sizeof(vb->out_buf) || value == '\n')
		flush_out(vb);
}

static void uart_xon_hook(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq; (void)value;
	((vboard_t *)param)->rx_ready = 1;
}

static void uart_xoff_hook(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq; (void)value;
	((vboard_t *)param)->rx_ready = 0;
}

/* Move at most one byte from the host into the simulated UART. */
static void feed_input(vboard_t *vb, avr_irq_t *rx_irq)
{
	if (vb->in_fd < 0 || !vb->rx_ready)
		return;
	unsigned char byte;
	ssize_t n = read(vb->in_fd, &byte, 1);
	if (n == 1) {
		avr_raise_irq(rx_irq, byte);
	} else if (n == 0) {
		if (!isatty(vb->in_fd) && vb->in_fd == STDIN_FILENO)
			vb->in_fd = -1; /* end of input */
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != EIO) {
		vb->in_fd = -1;
	}
}

static vboard_t *g_vb; /* for the sleep callback */

/*
 * The MCU sleeps until its next timer event: wait for it in real time, but wake
 * as soon as the host sends a byte (simavr's own callback would sleep blindly,
 * up to a watchdog period, before a waiting request is even read).
 */
static void vboard_sleep(avr_t *avr, avr_cycle_count_t how_long)
{
	vboard_t *vb = g_vb;
	flush_out(vb);
	const unsigned long long usec = (unsigned long long)how_long * 1000000ULL / avr->frequency;
	if (usec < 1000)
		return; /* shorter than poll's resolution: let simulated time run ahead */
	if (vb->in_fd >= 0) {
		struct pollfd p = { .fd = vb->in_fd, .events = POLLIN };
		poll(&p, 1, (int)(usec / 1000ULL));
	} else {
		usleep(usec > 100000ULL ? 100000U : (useconds_t)usec);
	}
}

static double wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_pty(const char *link_path)
{
	int fd = posix_openpt(O_RDWR | O_NOCTTY);
	if (fd < 0 || grantpt(fd) || unlockpt(fd)) {
		perror("avr-vboard: pty");
		return -1;
	}
	const char *name = ptsname(fd);
	if (link_path) {
		unlink(link_path);
		if (symlink(name, link_path)) {
			perror("avr-vboard: symlink");
			return -1;
		}
	}
	fprintf(stderr, "avr-vboard: UART0 on %s%s%s\n", name,
	        link_path ? " -> " : "", link_path ? link_path : "");
	return fd;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: avr-vboard [-m MCU] [-f HZ] [-t SECONDS] [--pty [--pty-link PATH]] firmware.elf\n"
	        "  -m, --mcu MCU        simulated MCU (default atmega2560)\n"
	        "  -f, --freq HZ        clock in Hz (default 16000000)\n"
	        "  -t, --timeout SEC    give up after SEC simulated or wall-clock seconds (default 60, 0 = never)\n"
	        "  --pty                connect UART0 to a new pseudo-terminal instead of stdin/stdout\n"
	        "  --pty-link PATH      also make PATH a symlink to that pseudo-terminal\n");
}

int main(int argc, char **argv)
{
	const char *mcu = "atmega2560";
	unsigned long freq = 16000000UL;
	double timeout = 60.0;
	int use_pty = 0;
	const char *pty_link = NULL;
	static const struct option opts[] = {
		{ "mcu", required_argument, 0, 'm' },
		{ "freq", required_argument, 0, 'f' },
		{ "timeout", required_argument, 0, 't' },
		{ "pty", no_argument, 0, 'p' },
		{ "pty-link", required_argument, 0, 'l' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "m:f:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mcu = optarg; break;
		case 'f': freq = strtoul(optarg, NULL, 10); break;
		case 't': timeout = atof(optarg); break;
		case 'p': use_pty = 1; break;
		case 'l': pty_link = optarg; break;
		default: usage(); return c == 'h' ? 0 : 1;
		}
	}
	if (optind != argc - 1 || freq == 0) {
		usage();
		return 1;
	}
	const char *elf = argv[optind];

	elf_firmware_t fw;
	memset(&fw, 0, sizeof(fw));
	if (elf_read_firmware(elf, &fw) != 0) {
		fprintf(stderr, "avr-vboard: cannot read firmware '%s'\n", elf);
		return 1;
	}
	fw.frequency = (uint32_t)freq;
	strncpy(fw.mmcu, mcu, sizeof(fw.mmcu) - 1);

	avr_t *avr = avr_make_mcu_by_name(mcu);
	if (!avr) {
		fprintf(stderr, "avr-vboard: unknown MCU '%s'\n", mcu);
		return 1;
	}
	avr_init(avr);
	avr->log = LOG_ERROR;
	avr_load_firmware(avr, &fw);

	vboard_t vb = { .avr = avr, .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .rx_ready = 1 };
	g_vb = &vb;
	avr->sleep = vboard_sleep;
	if (use_pty) {
		int fd = open_pty(pty_link);
		if (fd < 0)
			return 1;
		vb.in_fd = vb.out_fd = fd;
	}
	fcntl(vb.in_fd, F_SETFL, fcntl(vb.in_fd, F_GETFL) | O_NONBLOCK);

	/* No console echo and no host sleeping while the firmware polls the UART. */
	uint32_t flags = 0;
	avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
	flags &= ~(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
	avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);

	avr_irq_t *rx_irq = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT),
	                        uart_tx_hook, &vb);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON),
	                        uart_xon_hook, &vb);
	avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF),
	                        uart_xoff_hook, &vb);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	const avr_cycle_count_t cycle_limit =
		timeout > 0 ? (avr_cycle_count_t)(timeout * (double)freq) : 0;
	const double wall_start = wall_seconds();
	int status = 0;
	unsigned long steps = 0;
	for (;;) {
		int state = avr_run(avr);
		if (state == cpu_Done) {
			status = 0;
			break;
		}
		if (state == cpu_Crashed) {
			flush_out(&vb);
			fprintf(stderr, "\navr-vboard: the simulated %s crashed at pc=0x%05x after %llu cycles\n",
			        mcu, (unsigned)avr->pc, (unsigned long long)avr->cycle);
			status = 2;
			break;
		}
		if ((++steps & 0x3ff) == 0) {
			if (vb.out_len)
				flush_out(&vb); /* binary replies carry no newline */
			feed_input(&vb, rx_irq);
			if (g_stop) {
				status = 1;
				break;
			}
			if (cycle_limit && (avr->cycle > cycle_limit ||
			                    wall_seconds() - wall_start > timeout)) {
				flush_out(&vb);
				fprintf(stderr,
				        "\navr-vboard: TIMEOUT: firmware did not finish within %.0f s "
				        "(%llu simulated cycles, %.1f s wall clock); it may hang\n",
				        timeout, (unsigned long long)avr->cycle, wall_seconds() - wall_start);
				status = 3;
				break;
			}
		} else if (state == cpu_Sleeping) {
			if (vb.out_len)
				flush_out(&vb);
			feed_input(&vb, rx_irq);
		}
	}
	flush_out(&vb);
	avr_terminate(avr);
	if (pty_link)
		unlink(pty_link);
	return status;
}
