/* Stream mode (see stream.h): samples through lib/tbsampler's pipeline, frames out. */
#include "stream.h"

#include <string.h>

#include "board.h"
#include "tbavr.h"
#include "tbpipeline.h"
#include "tbsampler.h"
#include "uart.h"

#define SRC_OFF 0xFFu

#if TB_CLASS_NONE != TBP_CLASS_NONE
#error "the engine's no-verdict class must be the protocol's"
#endif

static struct {
	uint8_t source;   /* TBP_SRC_ADC, TBP_SRC_HOST or SRC_OFF */
	uint8_t signal;   /* last tbf_signal() */
	uint8_t event_seq;
	uint16_t rate;
	uint16_t to_status; /* samples until the next STATUS event */
	uint8_t engine_status; /* the last status other than TB_OK since it was reported, else TB_OK */
	uint16_t rx_lost0, tx_waits0;    /* the UART's counters at STREAM_START */
} g_st = { SRC_OFF, 0, 0, 0, 0, TB_OK, 0, 0 };

uint8_t stream_owns(uint8_t type)
{
	return type == TBP_STREAM_START || type == TBP_STREAM_STOP || type == TBP_SAMPLES ||
	       type == TBP_STREAM_STATS;
}

static void send_event(uint8_t type, const uint8_t *payload, uint8_t size)
{
	send_frame(type, g_st.event_seq++, TBP_OK, payload, size);
}

static void put_stats(uint8_t *out, uint16_t stack)
{
	const tbpl_counts_t *c = tbpl_counts();
	out[0] = g_st.source;
	out[1] = g_st.signal;
	tbp_put_u16(out + 2, g_st.rate);
	tbp_put_u32(out + 4, c->samples);
	tbp_put_u32(out + 8, g_st.source == TBP_SRC_ADC ? tbs_missed() : 0);
	tbp_put_u32(out + 12, c->beats);
	tbp_put_u32(out + 16, c->max_cycles);
	out[20] = g_st.source == TBP_SRC_ADC ? tbs_ring_max() : 0;
	tbp_put_u16(out + 21, stack);
	/* what was lost or refused since STREAM_START, and the serial margins (README "Serial protocol") */
	tbp_put_u16(out + 23, (uint16_t)(uart_overruns() - g_st.rx_lost0));
	tbp_put_u16(out + 25, tbpl_dropped());
	tbp_put_u16(out + 27, c->engine_errors);
	tbp_put_u16(out + 29, (uint16_t)(uart_tx_waits() - g_st.tx_waits0));
	out[31] = uart_rx_max();
	out[32] = (uint8_t)(uart_tx_max() > 255u ? 255u : uart_tx_max());
}

/* Fletcher-16 of the classifier inputs: the host checks all 193 bytes against its reference. */
static uint16_t fletcher16(const uint8_t *x, uint8_t n)
{
	uint16_t s1 = 0;
	uint32_t s2 = 0;
	for (uint8_t i = 0; i < n; i++) {
		s1 += x[i]; /* <= 193 * 255: no overflow */
		s2 += s1;
	}
	return (uint16_t)(((s2 % 255u) << 8) | (s1 % 255u));
}

/* The frame senders are kept out of process()'s stack frame (noinline): their buffers are on the
 * stack only while they run, not under the classifier's deepest call (the Uno has ~260 B of stack). */
#define OWN_FRAME __attribute__((noinline))

static OWN_FRAME void send_beat(uint8_t klass, int32_t score, uint32_t cycles)
{
	const tbf_beat_t *b = tbpl_last()->beat;
	uint8_t out[TBP_BEAT_SIZE];
	tbp_put_u32(out + 0, b->r_sample);
	tbp_put_u16(out + 4, b->rr_pre);
	tbp_put_u16(out + 6, b->rr_post);
	tbp_put_u16(out + 8, b->rr_avg);
	tbp_put_u16(out + 10, b->hr_x10);
	out[12] = b->flags;
	out[13] = klass;
	tbp_put_u32(out + 14, (uint32_t)score);
	tbp_put_u32(out + 18, cycles);
	memcpy(out + 22, b->x + TBF_BEAT_LEN, TBF_N_FEATURES);
	tbp_put_u16(out + 28, fletcher16(b->x, TBF_N_INPUTS));
	send_event(TBP_EV_BEAT_FRAME, out, sizeof(out));
}

static OWN_FRAME void send_signal(uint32_t sample)
{
	uint8_t out[TBP_SIGNAL_SIZE];
	tbp_put_u32(out, sample);
	out[4] = g_st.signal;
	send_event(TBP_EV_SIGNAL_FRAME, out, sizeof(out));
}

static void stream_stop(void);

/* A STATUS event, or a STREAM_STATS / STREAM_STOP reply (type, seq); stack 0 in STATUS events.
 * then_stop: the stats of the stream that ends here, then the stream stopped (source SRC_OFF). */
static OWN_FRAME void send_stats(uint8_t type, uint8_t seq, uint16_t stack, uint8_t then_stop)
{
	uint8_t out[TBP_STREAM_STATS_SIZE];
	put_stats(out, stack);
	if (then_stop) {
		stream_stop();
		out[0] = SRC_OFF;
	}
	send_frame(type, seq, TBP_OK, out, sizeof(out));
}

/* One sample through the pipeline (front end + classifier); a beat or a signal change is reported. */
static void process(uint16_t sample)
{
	/* lead-off: the pipeline gets it as a flag (and code 0), from either source */
	const uint8_t lead_off = g_st.source == TBP_SRC_ADC ? (sample & TBS_LEAD_OFF) != 0
	                                                    : sample == TBP_SAMPLE_LEAD_OFF;
	const tbf_event_t ev = tbpl_push(sample, lead_off);
	const tbpl_counts_t *c = tbpl_counts();

	if (ev == TBF_EV_BEAT) {
		const tbpl_verdict_t *v = tbpl_last();
		if (v->reason == TBPL_ENGINE_ERROR)
			g_st.engine_status = v->status; /* klass is TB_CLASS_NONE (== TBP_CLASS_NONE): no verdict */
		if (v->klass != TBP_CLASS_NONE)
			leds_show(v->klass);
		send_beat(v->klass, v->score, c->cycles);
	} else if (ev == TBF_EV_SIGNAL) {
		g_st.signal = (uint8_t)tbpl_signal();
		send_signal(c->samples - 1u);
	}
	/* once a second, but never with a BEAT: on the Uno's 32-byte transmit ring the two frames
	 * (79 B) kept the main loop waiting ~4 ms, and with the beat's computation a request arriving
	 * then could overflow the 64-byte receive ring; the next sample sends it instead */
	if (g_st.to_status > 1u) {
		g_st.to_status--;
	} else if (ev != TBF_EV_BEAT) {
		g_st.to_status = g_st.rate;
		send_stats(TBP_EV_STATUS_FRAME, g_st.event_seq++, 0, 0);
	}
}

static void stream_stop(void)
{
	if (g_st.source == TBP_SRC_ADC)
		tbs_stop();
	g_st.source = SRC_OFF;
}

uint8_t stream_start(uint8_t source, uint8_t channel, uint16_t rate_hz)
{
	if (source > TBP_SRC_HOST || channel >= BOARD_ADC_CHANNELS || rate_hz < TBF_FS_MIN || rate_hz > TBF_FS_MAX)
		return TBP_E_ARG;
	stream_stop();
	if (tbpl_start(rate_hz, firmware_model()))
		return TBP_E_ARG;
	g_st.rate = g_st.to_status = rate_hz;
	g_st.rx_lost0 = uart_overruns();
	g_st.tx_waits0 = uart_tx_waits();
	g_st.signal = (uint8_t)tbpl_signal();
	g_st.event_seq = 0;
	if (source == TBP_SRC_ADC) {
		/* the AD8232's LO+ / LO- outputs: inputs without pull-ups (the module drives them) */
		BOARD_LO_DDR &= (uint8_t)~(BOARD_LO_PLUS | BOARD_LO_MINUS);
		BOARD_LO_PORT &= (uint8_t)~(BOARD_LO_PLUS | BOARD_LO_MINUS);
		if (tbs_start(channel, rate_hz, (tbs_pin_t){ &BOARD_LO_PIN, BOARD_LO_PLUS },
		              (tbs_pin_t){ &BOARD_LO_PIN, BOARD_LO_MINUS }) != TBS_OK)
			return TBP_E_ARG;
	}
	g_st.source = source;
	return TBP_OK;
}

void stream_poll(void)
{
	uint16_t sample;
	if (g_st.source != TBP_SRC_ADC)
		return;
	while (tbs_read(&sample))
		process(sample);
}

uint8_t stream_pending(void) { return g_st.source == TBP_SRC_ADC && tbs_available(); }

static OWN_FRAME void send_samples_reply(uint8_t seq)
{
	uint8_t out[TBP_SAMPLES_REPLY_SIZE];
	tbp_put_u32(out, tbpl_counts()->samples);
	send_frame(TBP_SAMPLES | TBP_REPLY, seq, TBP_OK, out, sizeof(out));
}

void stream_request(const tbp_frame_t *f)
{
	switch (f->type) {
	case TBP_STREAM_START: {
		if (f->size != TBP_STREAM_START_SIZE) {
			send_error(f->seq, TBP_E_PAYLOAD, f->type);
			return;
		}
		const uint8_t err = stream_start(f->payload[0], f->payload[1], tbp_get_u16(f->payload + 2));
		if (err != TBP_OK) {
			send_error(f->seq, err, f->type);
			return;
		}
		send_frame(TBP_STREAM_START | TBP_REPLY, f->seq, TBP_OK, 0, 0);
		return;
	}
	case TBP_SAMPLES: {
		if (f->size == 0 || (f->size & 1u) || f->size > 2u * TBP_SAMPLES_MAX) {
			send_error(f->seq, TBP_E_PAYLOAD, f->type);
			return;
		}
		if (g_st.source != TBP_SRC_HOST) {
			send_error(f->seq, TBP_E_STATE, f->type);
			return;
		}
		g_st.engine_status = TB_OK;
		for (uint8_t i = 0; i < f->size; i += 2u)
			process(tbp_get_u16(f->payload + i));
		if (g_st.engine_status != TB_OK) { /* a beat of these samples got no verdict: say why */
			send_engine_error(f->seq, f->type, g_st.engine_status);
			g_st.engine_status = TB_OK;
			return;
		}
		send_samples_reply(f->seq);
		return;
	}
	default: /* STREAM_STOP, STREAM_STATS */
		if (f->size != 0) {
			send_error(f->seq, TBP_E_PAYLOAD, f->type);
			return;
		}
		if (f->type == TBP_STREAM_STOP)
			stream_poll(); /* the samples already taken still count */
		send_stats(f->type | TBP_REPLY, f->seq, tbavr_stack_max_used(), f->type == TBP_STREAM_STOP);
		return;
	}
}
