/*
 * avr-vboard: a virtual AVR board built on Debian's libsimavr.
 *
 * Runs an ELF firmware on a simulated MCU (ATmega2560 at 16 MHz by default)
 * and connects its UART0 to the host, either to stdin/stdout (default: used by
 * the on-target test runner) or to a pseudo-terminal (--pty: used by the host
 * tool, which then talks to it exactly as to a real board's serial port).
 *
 * Exit status: 0 when the firmware stops itself (sleep with interrupts off) or
 * when an ADC recording has played to its end (plus its tail), 2 when the
 * simulated MCU crashed, 3 on timeout, 1 on a usage or load error.
 *
 * Analog input (--adc-file): the file holds one sample per little-endian
 * uint16: the pin voltage in whole millivolts, or 0xFFFF for "lead-off" (the
 * AD8232's LO+ and LO- outputs go high and the pin keeps its last voltage).
 * Playback starts with the firmware's first ADC conversion (sample 0 is on the
 * pin from that cycle on) and sample k is applied at that cycle +
 * floor(k * F_CPU / rate), by simavr cycle timers, i.e. in simulated time.
 * While the recording plays the simulation runs as fast as it can (no
 * wall-clock pacing; --adc-realtime paces it too, so a host's requests meet
 * the stream as on a real board); before it and during the tail it is paced
 * to real time so a host can talk to the firmware.
 *
 * Host input and simulated time: bytes from the host go into the simulated
 * UART (at its baud rate, through simavr's 64-byte input FIFO, which says when
 * it is full) from a cycle timer every HOST_POLL_US of simulated time, so a
 * sleeping MCU never skips past waiting input (simavr advances the clock to
 * the next timer event at once: a firmware asleep until its 2-s watchdog used
 * to jump 2 s for every request, and a long request exchange ran the simulated
 * clock into --timeout). Pacing is cumulative: simulated time is kept within a
 * millisecond of wall-clock time since the anchor (start, or the end of a fast
 * recording); a host that fell far behind (a loaded machine) re-anchors it
 * instead of letting the simulation race to catch up. --adc-tail-s seconds after the last
 * sample the board stops with exit status 0.
 *
 * CPU load (--load-report FILE.json): simavr adds 1 + n cycles for each
 * sleeping step of n cycles (through the sleep callback); every other cycle is
 * awake. Cycles are binned into 1-second windows of simulated time that start
 * at the first sample of the recording (or at reset without one).
 * A timeout is counted both in simulated seconds and in wall-clock seconds, so
 * a firmware that hangs fails instead of blocking.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <simavr/avr_adc.h>
#include <simavr/avr_ioport.h>
#include <simavr/avr_uart.h>
#include <simavr/sim_avr.h>
#include <simavr/sim_elf.h>
#include <simavr/sim_irq.h>

/* ---- analog input and CPU load ---- */
#define ADC_LEAD_OFF 0xFFFFu
#define LOAD_MAX_WINDOWS 100000u
#define HOST_POLL_US 1000u      /* simulated microseconds between host-input polls */
#define PACE_BEHIND_S 0.2       /* re-anchor pacing when wall clock leads by more than this */

typedef struct adc_play {
	uint16_t *mv;            /* samples: mV, or ADC_LEAD_OFF */
	size_t n;                /* number of samples */
	size_t next;             /* index of the next sample to apply */
	unsigned long rate;      /* samples per second */
	int channel;             /* ADC channel (0 = A0) */
	double tail_s;           /* run this long after the last sample */
	avr_cycle_count_t start; /* cycle of sample 0 (first conversion), 0 = not started */
	int started, finished, done;
	int realtime;            /* --adc-realtime: pace the recording to the wall clock too */
	uint32_t last_mv;
	avr_irq_t *adc_irq;
	avr_irq_t *lo_irq[2];    /* LO+ and LO- input pins */
} adc_play_t;

typedef struct load_meter {
	avr_cycle_count_t origin;             /* cycle where window 0 starts */
	uint64_t sleep[LOAD_MAX_WINDOWS];     /* sleeping cycles per window */
	uint64_t boot_sleep;                  /* sleeping cycles before the origin */
	size_t n_windows;                     /* windows touched so far */
} load_meter_t;

typedef struct vboard {
	avr_t *avr;
	int in_fd;          /* bytes from the host to UART0 RX, -1 when closed */
	int out_fd;         /* bytes from UART0 TX to the host */
	int rx_ready;       /* the simulated UART can take another byte */
	avr_irq_t *rx_irq;  /* UART0 input */
	unsigned char in_buf[256]; /* read from the host, not yet in the UART */
	size_t in_len, in_pos;
	int paced;          /* pacing anchored: wall_0 <-> cycle_0 */
	double wall_0;
	avr_cycle_count_t cycle_0;
	unsigned char out_buf[4096];
	size_t out_len;
	int fast;           /* 1 while a recording plays: no wall-clock pacing */
	adc_play_t *adc;    /* NULL without --adc-file */
	load_meter_t *load; /* NULL without --load-report */
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

/* Move the host's waiting bytes into the simulated UART until its input FIFO is full. */
static void feed_input(vboard_t *vb, avr_irq_t *rx_irq)
{
	while (vb->rx_ready) {
		if (vb->in_pos == vb->in_len) {
			if (vb->in_fd < 0)
				return;
			ssize_t n = read(vb->in_fd, vb->in_buf, sizeof(vb->in_buf));
			if (n > 0) {
				vb->in_len = (size_t)n;
				vb->in_pos = 0;
			} else {
				if (n == 0) {
					if (!isatty(vb->in_fd) && vb->in_fd == STDIN_FILENO)
						vb->in_fd = -1; /* end of input */
				} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != EIO) {
					vb->in_fd = -1;
				}
				return;
			}
		}
		avr_raise_irq(rx_irq, vb->in_buf[vb->in_pos++]); /* may raise XOFF: rx_ready = 0 */
	}
}

static vboard_t *g_vb; /* for the sleep callback */

/* Every HOST_POLL_US of simulated time: take the host's bytes (caps every sleep at that). */
static avr_cycle_count_t host_poll_timer(avr_t *avr, avr_cycle_count_t when, void *param)
{
	vboard_t *vb = (vboard_t *)param;
	feed_input(vb, vb->rx_irq);
	return when + (avr_cycle_count_t)((unsigned long long)HOST_POLL_US * avr->frequency / 1000000ULL);
}

static double wall_seconds(void);

/*
 * The MCU sleeps until its next timer event: wait for it in real time, but wake
 * as soon as the host sends a byte (simavr's own callback would sleep blindly,
 * up to a watchdog period, before a waiting request is even read).
 */
static void load_add_sleep(load_meter_t *m, avr_cycle_count_t from, avr_cycle_count_t n, uint64_t per_window)
{
	if (from < m->origin) {
		const avr_cycle_count_t before = m->origin - from < n ? m->origin - from : n;
		m->boot_sleep += before;
		from += before;
		n -= before;
	}
	while (n > 0) {
		const uint64_t w = (from - m->origin) / per_window;
		if (w >= LOAD_MAX_WINDOWS)
			return;
		const avr_cycle_count_t end = m->origin + (w + 1) * per_window;
		const avr_cycle_count_t take = end - from < n ? end - from : n;
		m->sleep[w] += take;
		if (w + 1 > m->n_windows)
			m->n_windows = w + 1;
		from += take;
		n -= take;
	}
}

static void vboard_sleep(avr_t *avr, avr_cycle_count_t how_long)
{
	vboard_t *vb = g_vb;
	if (vb->load)
		load_add_sleep(vb->load, avr->cycle, 1 + how_long, avr->frequency);
	if (vb->fast) {
		vb->paced = 0; /* a recording is playing: simulated time only; re-anchor after it */
		return;
	}
	flush_out(vb);
	const double now = wall_seconds();
	if (!vb->paced) {
		vb->paced = 1;
		vb->wall_0 = now;
		vb->cycle_0 = avr->cycle;
	}
	/* where simulated time will be after this sleep, against the wall clock */
	const double sim_s = (double)(avr->cycle + 1 + how_long - vb->cycle_0) / (double)avr->frequency;
	const double ahead = sim_s - (now - vb->wall_0);
	if (ahead < -PACE_BEHIND_S) { /* the host fell behind: do not race to catch up */
		vb->wall_0 = now - sim_s;
		return;
	}
	if (ahead < 0.001)
		return; /* shorter than poll's resolution */
	int ms = (int)(ahead * 1000.0);
	if (ms > 100)
		ms = 100;
	/* wake early when the host sends (and the UART can take it); input waits for host_poll_timer */
	struct pollfd p = { .fd = vb->in_fd >= 0 && vb->rx_ready && vb->in_pos == vb->in_len ? vb->in_fd : -1,
	                    .events = POLLIN };
	poll(&p, 1, ms);
}

static int load_adc_file(const char *path, adc_play_t *p)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "avr-vboard: cannot open ADC file '%s': %s\n", path, strerror(errno));
		return -1;
	}
	fseek(f, 0, SEEK_END);
	const long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (size <= 0 || size % 2) {
		fprintf(stderr, "avr-vboard: ADC file '%s' has %ld bytes: expected a non-zero even number "
		        "(little-endian uint16 mV per sample)\n", path, size);
		fclose(f);
		return -1;
	}
	p->n = (size_t)size / 2;
	p->mv = malloc(p->n * sizeof(uint16_t));
	unsigned char *raw = malloc((size_t)size);
	if (!p->mv || !raw || fread(raw, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "avr-vboard: cannot read ADC file '%s'\n", path);
		fclose(f);
		free(raw);
		return -1;
	}
	fclose(f);
	for (size_t i = 0; i < p->n; i++)
		p->mv[i] = (uint16_t)(raw[2 * i] | (raw[2 * i + 1] << 8));
	free(raw);
	return 0;
}

static void adc_apply(adc_play_t *p, size_t k)
{
	const uint16_t v = p->mv[k];
	const int lead_off = v == ADC_LEAD_OFF;
	if (!lead_off)
		p->last_mv = v;
	avr_raise_irq(p->adc_irq, p->last_mv);
	for (int i = 0; i < 2; i++)
		if (p->lo_irq[i])
			avr_raise_irq(p->lo_irq[i], lead_off);
}

static avr_cycle_count_t adc_cycle_of(const adc_play_t *p, avr_t *avr, size_t k)
{
	return p->start + (avr_cycle_count_t)((unsigned __int128)k * avr->frequency / p->rate);
}

static avr_cycle_count_t adc_end_timer(avr_t *avr, avr_cycle_count_t when, void *param)
{
	(void)avr; (void)when;
	((adc_play_t *)param)->done = 1;
	return 0;
}

static avr_cycle_count_t adc_timer(avr_t *avr, avr_cycle_count_t when, void *param)
{
	(void)when;
	adc_play_t *p = (adc_play_t *)param;
	adc_apply(p, p->next);
	p->next++;
	if (p->next < p->n)
		return adc_cycle_of(p, avr, p->next);
	/* last sample applied: pace the tail in real time, then stop */
	p->finished = 1;
	g_vb->fast = 0;
	avr_cycle_timer_register(avr, (avr_cycle_count_t)(p->tail_s * (double)avr->frequency) + 1,
	                         adc_end_timer, p);
	return 0;
}

/* The firmware started a conversion: the first one starts the recording. */
static void adc_trigger_hook(struct avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq; (void)value;
	adc_play_t *p = (adc_play_t *)param;
	if (p->started)
		return;
	p->started = 1;
	p->start = g_vb->avr->cycle;
	if (g_vb->load) {
		/* the load of the recording is measured from its first sample on */
		for (size_t i = 0; i < g_vb->load->n_windows && i < LOAD_MAX_WINDOWS; i++) {
			g_vb->load->boot_sleep += g_vb->load->sleep[i];
			g_vb->load->sleep[i] = 0;
		}
		g_vb->load->origin = p->start;
		g_vb->load->n_windows = 0;
	}
	adc_apply(p, 0);
	p->next = 1;
	if (p->n > 1) {
		g_vb->fast = !p->realtime;
		avr_cycle_timer_register(g_vb->avr, adc_cycle_of(p, g_vb->avr, 1) - p->start, adc_timer, p);
	} else {
		p->finished = 1;
		avr_cycle_timer_register(g_vb->avr, (avr_cycle_count_t)(p->tail_s * (double)g_vb->avr->frequency) + 1,
		                         adc_end_timer, p);
	}
}

/* "B4" -> port 'B', bit 4 */
static int parse_pin(const char *s, char *port, int *bit)
{
	if (!s || strlen(s) != 2 || s[0] < 'A' || s[0] > 'L' || s[1] < '0' || s[1] > '7')
		return -1;
	*port = s[0];
	*bit = s[1] - '0';
	return 0;
}

static int write_load_report(const char *path, const vboard_t *vb, avr_cycle_count_t end_cycle)
{
	const load_meter_t *m = vb->load;
	const uint64_t per = vb->avr->frequency;
	/* only whole windows count, and only those the run reached */
	size_t full = 0;
	if (end_cycle > m->origin)
		full = (size_t)((end_cycle - m->origin) / per);
	if (full > LOAD_MAX_WINDOWS)
		full = LOAD_MAX_WINDOWS;
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "avr-vboard: cannot write load report '%s': %s\n", path, strerror(errno));
		return -1;
	}
	double worst = 0, sum = 0;
	size_t worst_i = 0;
	fprintf(f, "{\n \"f_cpu\": %lu,\n \"window_cycles\": %llu,\n \"origin_cycle\": %llu,\n"
	        " \"end_cycle\": %llu,\n \"recording\": %s,\n \"awake_per_window\": [",
	        (unsigned long)vb->avr->frequency, (unsigned long long)per, (unsigned long long)m->origin,
	        (unsigned long long)end_cycle, vb->adc && vb->adc->started ? "true" : "false");
	for (size_t i = 0; i < full; i++) {
		const double awake = (double)(per - m->sleep[i]) / (double)per;
		sum += awake;
		if (awake > worst) {
			worst = awake;
			worst_i = i;
		}
		fprintf(f, "%s%.6f", i ? ", " : "", awake);
	}
	fprintf(f, "],\n \"windows\": %zu,\n \"worst_awake\": %.6f,\n \"worst_window\": %zu,\n"
	        " \"mean_awake\": %.6f\n}\n", full, worst, worst_i, full ? sum / (double)full : 0.0);
	return fclose(f);
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
	        "  --pty-link PATH      also make PATH a symlink to that pseudo-terminal\n"
	        "  --adc-file FILE      play FILE (little-endian uint16 mV per sample, 0xFFFF = lead-off)\n"
	        "                       on an ADC pin, starting at the firmware's first conversion\n"
	        "  --adc-rate HZ        samples per second of FILE (required with --adc-file)\n"
	        "  --adc-channel N      ADC channel (default 0 = A0)\n"
	        "  --adc-tail-s SEC     stop (exit 0) SEC seconds after the last sample (default 3)\n"
	        "  --adc-realtime       play FILE in real time (default: as fast as the simulation runs)\n"
	        "  --lo-pins P,P        LO+ and LO- input pins driven high on lead-off\n"
	        "                       (default B4,B5 = D10,D11 on atmega2560; B2,B3 = D10,D11 on atmega328p)\n"
	        "  --avcc MV            AVcc and AREF in mV (default 5000)\n"
	        "  --load-report FILE   write awake/sleep cycles per 1-s window of simulated time as JSON\n");
}

int main(int argc, char **argv)
{
	const char *mcu = "atmega2560";
	unsigned long freq = 16000000UL;
	double timeout = 60.0;
	int use_pty = 0;
	const char *pty_link = NULL;
	const char *adc_file = NULL, *lo_pins = NULL, *load_path = NULL;
	unsigned long adc_rate = 0, avcc = 5000;
	int adc_channel = 0;
	double adc_tail = 3.0;
	static adc_play_t play;
	static const struct option opts[] = {
		{ "adc-file", required_argument, 0, 'A' },
		{ "adc-rate", required_argument, 0, 'R' },
		{ "adc-channel", required_argument, 0, 'C' },
		{ "adc-tail-s", required_argument, 0, 'T' },
		{ "lo-pins", required_argument, 0, 'L' },
		{ "avcc", required_argument, 0, 'V' },
		{ "load-report", required_argument, 0, 'W' },
		{ "adc-realtime", no_argument, 0, 'P' },
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
		case 'A': adc_file = optarg; break;
		case 'R': adc_rate = strtoul(optarg, NULL, 10); break;
		case 'C': adc_channel = atoi(optarg); break;
		case 'T': adc_tail = atof(optarg); break;
		case 'L': lo_pins = optarg; break;
		case 'V': avcc = strtoul(optarg, NULL, 10); break;
		case 'W': load_path = optarg; break;
		case 'P': play.realtime = 1; break;
		default: usage(); return c == 'h' ? 0 : 1;
		}
	}
	if (optind != argc - 1 || freq == 0) {
		usage();
		return 1;
	}
	if (adc_file && (adc_rate == 0 || adc_rate > freq || adc_channel < 0 || adc_channel > 15 ||
	                 adc_tail < 0 || avcc == 0 || avcc > 6000)) {
		fprintf(stderr, "avr-vboard: --adc-file needs --adc-rate 1..F_CPU, --adc-channel 0..15, "
		        "--adc-tail-s >= 0 and --avcc 1..6000\n");
		return 1;
	}
	const char *elf = argv[optind];

	/* UART0 owns stdout: libsimavr's own messages ("Loaded ... .text") go to stderr */
	const int uart_out = dup(STDOUT_FILENO);
	if (uart_out < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		perror("avr-vboard: dup");
		return 1;
	}

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

	vboard_t vb = { .avr = avr, .in_fd = STDIN_FILENO, .out_fd = uart_out, .rx_ready = 1 };
	g_vb = &vb;
	avr->avcc = avr->aref = avr->vcc = (uint32_t)avcc;
	static load_meter_t load; /* large: not on the stack */
	if (load_path)
		vb.load = &load;
	if (adc_file) {
		if (load_adc_file(adc_file, &play))
			return 1;
		play.rate = adc_rate;
		play.channel = adc_channel;
		play.tail_s = adc_tail;
		play.adc_irq = avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0 + adc_channel);
		if (!lo_pins)
			lo_pins = strcmp(mcu, "atmega328p") == 0 ? "B2,B3" : "B4,B5";
		char pins[2][3] = { { 0 }, { 0 } };
		if (strlen(lo_pins) != 5 || lo_pins[2] != ',') {
			fprintf(stderr, "avr-vboard: --lo-pins wants two pins like B4,B5, got '%s'\n", lo_pins);
			return 1;
		}
		memcpy(pins[0], lo_pins, 2);
		memcpy(pins[1], lo_pins + 3, 2);
		for (int i = 0; i < 2; i++) {
			char port;
			int bit;
			if (parse_pin(pins[i], &port, &bit)) {
				fprintf(stderr, "avr-vboard: bad pin '%s' in --lo-pins\n", pins[i]);
				return 1;
			}
			play.lo_irq[i] = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(port), bit);
			if (!play.lo_irq[i]) {
				fprintf(stderr, "avr-vboard: %s has no pin %s\n", mcu, pins[i]);
				return 1;
			}
			avr_raise_irq(play.lo_irq[i], 0);
		}
		if (!play.adc_irq) {
			fprintf(stderr, "avr-vboard: %s has no ADC channel %d\n", mcu, adc_channel);
			return 1;
		}
		avr_raise_irq(play.adc_irq, 0);
		avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_OUT_TRIGGER),
		                        adc_trigger_hook, &play);
		vb.adc = &play;
	}
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
	vb.rx_irq = rx_irq;
	avr_cycle_timer_register_usec(avr, HOST_POLL_US, host_poll_timer, &vb);
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
		if (state == cpu_Done || (vb.adc && vb.adc->done)) {
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
			if (avr_cycle_timer_status(avr, host_poll_timer, &vb) == 0) /* a reset cancels timers */
				avr_cycle_timer_register_usec(avr, HOST_POLL_US, host_poll_timer, &vb);
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
	if (vb.load && write_load_report(load_path, &vb, avr->cycle))
		status = status ? status : 1;
	avr_terminate(avr);
	if (pty_link)
		unlink(pty_link);
	return status;
}
