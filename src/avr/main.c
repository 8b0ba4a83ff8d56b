/*
 * tinybeat firmware: classifies heartbeats streamed over UART0 with the
 * generated integer model (tinybeat_model.h, in .pio/build/<env>/tinybeat/).
 *
 * Framed protocol (lib/tbproto, README "Serial protocol"): INFO, INFER, STATS,
 * RESET_STATS, and the stream mode's requests (stream.c); every byte from the
 * UART is treated as hostile. Between frames
 * the MCU sleeps (idle, woken by UART receive); the watchdog stays on and only
 * the main loop feeds it. LEDs: normal / abnormal for the last beat.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/pgmspace.h>
#include <avr/sleep.h>
#include <avr/wdt.h>
#include <string.h>
#include <util/atomic.h>

#include "board.h"
#include "stream.h"
#include "tbavr.h"
#include "tbproto.h"
#include "tbpipeline.h"
#include "tbsampler.h"
#include "tinybeat.h"
#include "tinybeat_model.h"
#include "uart.h"

#if TB_MODEL_N_INPUTS > TBP_MAX_PAYLOAD
#error "the model takes more inputs than one INFER frame can carry"
#endif
_Static_assert(TBPL_SCRATCH_SIZE >= TBP_MAX_PAYLOAD, "an INFER payload must fit the aligned beat buffer");

/* one version: the package's __version__, which the generated header carries */
#define FIRMWARE_VERSION TB_MODEL_VERSION
/* A frame whose bytes stop arriving is abandoned after this many Timer2 ticks (16.4 ms each). */
#define FRAME_TIMEOUT_TICKS 8u

static tbp_parser_t g_parser;
static uint8_t g_expected_seq;

static tbp_stats_t g_stats;

static volatile uint8_t g_ticks;      /* Timer2 ticks since the last received byte */
static volatile uint8_t g_wdt_fired;  /* the watchdog interrupt woke us: feed it from the main loop */

/* ---- watchdog: interrupt first (main loop proves it runs), reset on a second timeout ---- */
uint8_t g_reset_cause __attribute__((section(".noinit")));

void wdt_early_off(void) __attribute__((naked, used, section(".init3")));
void wdt_early_off(void)
{
	g_reset_cause = MCUSR;
	MCUSR = 0;
	wdt_disable();
}

ISR(WDT_vect) { g_wdt_fired = 1; }

static void watchdog_arm(void)
{
	/* 2 s, interrupt + system reset mode: the ISR only flags; the main loop re-arms. */
	wdt_reset();
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE)
	{
		WDTCSR = _BV(WDCE) | _BV(WDE);
		WDTCSR = _BV(WDIE) | _BV(WDE) | _BV(WDP2) | _BV(WDP1) | _BV(WDP0);
	}
}

/* ---- frame timeout tick: Timer2 runs only while a frame is half received ---- */
ISR(TIMER2_OVF_vect)
{
	if (g_ticks < 255u)
		g_ticks++;
}

static void frame_timer(uint8_t on)
{
	g_ticks = 0;
	if (on) {
		TCNT2 = 0;
		TIMSK2 = _BV(TOIE2);
		TCCR2B = _BV(CS22) | _BV(CS21) | _BV(CS20); /* clk/1024 */
	} else {
		TCCR2B = 0;
		TIMSK2 = 0;
	}
}

/* ---- replies and events: into the UART's transmit ring, byte by byte with a running CRC ---- */
static void put_byte(uint8_t byte, void *ctx)
{
	(void)ctx;
	uart_write(byte);
}

void send_frame(uint8_t type, uint8_t seq, uint8_t error, const uint8_t *payload, uint8_t size)
{
	tbp_write_frame(put_byte, 0, type, seq, error, payload, size);
}

void send_error(uint8_t seq, uint8_t error, uint8_t request_type)
{
	tbp_write_error(put_byte, 0, seq, error, request_type);
}

void send_engine_error(uint8_t seq, uint8_t request_type, uint8_t status)
{
	const uint8_t out[TBP_ENGINE_ERROR_SIZE] = { request_type, status };
	send_frame(TBP_ERROR, seq, TBP_E_ENGINE, out, sizeof(out));
}

void leds_show(uint8_t abnormal)
{
	BOARD_LED_PORT = (uint8_t)((BOARD_LED_PORT & ~(BOARD_LED_NORMAL | BOARD_LED_ABNORMAL)) |
	                           (abnormal ? BOARD_LED_ABNORMAL : BOARD_LED_NORMAL));
}

const tb_model_t *firmware_model(void) { return &tb_model; }

/* ---- requests ---- */
/* The payload goes to the engine as it came: the engine checks its length (and the
 * model); any status but TB_OK is an ERROR reply (TBP_E_ENGINE), never a verdict. */
#if TB_ALIGNS_INPUT
/* the beat where the kernels read it fastest: the stream pipeline's aligned beat buffer, free
 * between samples (one aligned buffer instead of two saves up to 455 B of SRAM with padding) */
#define INFER_INPUT(f) ((const uint8_t *)memcpy(tbpl_scratch(), (f)->payload, (f)->size))
#else
#define INFER_INPUT(f) ((const uint8_t *)(f)->payload) /* no RAM for an aligned copy */
#endif

static __attribute__((noinline)) void handle_infer(const tbp_frame_t *f)
{
	int32_t score;
	uint8_t klass;
	uint8_t out[TBP_INFER_REPLY_SIZE];
	const uint8_t *x = INFER_INPUT(f);
	const uint32_t t0 = tbs_span_begin(); /* on the sampler's Timer1 during an ADC stream */
	const tb_status_t status = tb_model_predict(&tb_model, x, f->size, &score, &klass);
	const uint32_t cycles = tbs_span_end(t0);
	if (status != TB_OK) {
		send_engine_error(f->seq, TBP_INFER, (uint8_t)status);
		return;
	}

	tbp_stats_add(&g_stats, cycles);
	leds_show(klass);

	out[0] = klass;
	tbp_put_u32(out + 1, (uint32_t)score);
	tbp_put_u32(out + 5, cycles);
	send_frame(TBP_INFER | TBP_REPLY, f->seq, TBP_OK, out, sizeof(out));
}

static uint16_t ram_total(void) { return (uint16_t)(RAMEND + 1 - RAMSTART); }

static __attribute__((noinline)) void handle_stats(const tbp_frame_t *f)
{
	uint8_t out[TBP_STATS_REPLY_SIZE];
	const uint16_t stack = tbavr_stack_max_used();
	tbp_stats_encode(&g_stats, stack, (uint16_t)(ram_total() - tbavr_static_ram() - stack), out);
	send_frame(TBP_STATS | TBP_REPLY, f->seq, TBP_OK, out, sizeof(out));
}

static const char k_name[] PROGMEM = TB_MODEL_NAME;
static const char k_version[] PROGMEM = FIRMWARE_VERSION "/" TB_MODEL_VERSION;

static __attribute__((noinline)) void handle_info(const tbp_frame_t *f)
{
	const tbp_info_t info = TBP_INFO_OF_MODEL(tbavr_static_ram());
	uint8_t out[TBP_INFO_REPLY_MAX];
	send_frame(TBP_INFO | TBP_REPLY, f->seq, TBP_OK, out, tbp_info_encode(&info, k_name, k_version, tbp_flash_byte, out));
}

static void handle_frame(const tbp_frame_t *f)
{
	uint8_t size_rule;
	const uint8_t error = tbp_check_request(f, &g_expected_seq, stream_owns, &size_rule);
	if (error != TBP_OK) {
		send_error(f->seq, error, f->type);
		return;
	}
	if (size_rule == TBP_SIZE_OWNER) { /* stream.c checks its own payloads */
		stream_request(f);
		return;
	}
	switch (f->type) {
	case TBP_INFO:
		handle_info(f);
		break;
	case TBP_INFER:
		handle_infer(f);
		break;
	case TBP_STATS:
		handle_stats(f);
		break;
	default: /* TBP_RESET_STATS */
		tbp_stats_reset(&g_stats);
		send_frame(TBP_RESET_STATS | TBP_REPLY, f->seq, TBP_OK, 0, 0);
		break;
	}
}

static void on_byte(uint8_t byte)
{
	const uint8_t was_busy = tbp_parser_busy(&g_parser);
	if (tbp_receive(&g_parser, byte, put_byte, 0))
		handle_frame(&g_parser.frame);
	const uint8_t busy = tbp_parser_busy(&g_parser);
	if (busy)
		g_ticks = 0;
	if (busy != was_busy)
		frame_timer(busy);
}

static void banner(void)
{
	uart_print_P(PSTR("\r\ntinybeat " FIRMWARE_VERSION ": heartbeat classifier, model " TB_MODEL_NAME
	                  " (" TB_MODEL_FINGERPRINT "), "));
	uart_print_uint(TB_MODEL_N_INPUTS);
	uart_print_P(PSTR(" inputs, "));
	uart_print_uint(TB_MODEL_FLASH_BYTES);
	uart_print_P(PSTR(" B model flash, "));
	uart_print_uint(tbavr_static_ram());
	uart_print_P(PSTR(" B static RAM"));
	if (g_reset_cause & _BV(WDRF))
		uart_print_P(PSTR(", restarted by the watchdog"));
	uart_print_P(PSTR(".\r\nSend framed requests (A5 5A ...), see README 'Serial protocol'.\r\n"));
}

int main(void)
{
	BOARD_LED_DDR |= BOARD_LED_NORMAL | BOARD_LED_ABNORMAL;
	uart_init(BOARD_UART_BAUD);
	tbp_parser_init(&g_parser);
	watchdog_arm();
	sei();
	banner();
	set_sleep_mode(SLEEP_MODE_IDLE);
#if TB_STREAM_AT_BOOT
	stream_start(TBP_SRC_ADC, BOARD_ECG_CHANNEL, BOARD_ECG_RATE_HZ);
#endif

	for (;;) {
		uint8_t byte;
		while (uart_read(&byte))
			on_byte(byte);
		stream_poll();
		if (g_wdt_fired) {
			g_wdt_fired = 0;
			watchdog_arm();
		}
		if (g_ticks >= FRAME_TIMEOUT_TICKS && tbp_parser_busy(&g_parser)) {
			tbp_parser_reset(&g_parser);
			frame_timer(0);
			send_error(0, TBP_E_TIMEOUT, 0);
		}
		wdt_reset();
		cli();
		if (!uart_available() && !g_wdt_fired && !stream_pending()) {
			sleep_enable();
			sei();
			sleep_cpu(); /* an interrupt (UART, Timer2, watchdog, ADC) wakes us */
			sleep_disable();
		}
		sei();
	}
}
