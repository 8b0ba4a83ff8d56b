/* Stream mode (see stream.h): front end + classifier per sample, frames out. */
#include "stream.h"

#include <string.h>

#include "adc.h"
#include "board.h"
#include "tbavr.h"
#include "tbfront.h"
#include "tinybeat.h"
#include "tinybeat_model.h"

#define SRC_OFF 0xFFu

#if TB_CLASS_NONE != TBP_CLASS_NONE
#error "the engine's no-verdict class must be the protocol's"
#endif

/* The model's inputs: all TBF_N_INPUTS (193), the beat window only (187), or none. */
#if TBF_MODEL_TAKES_BEATS(TB_MODEL_N_INPUTS)
#define STREAM_CLASSIFY 1
#else
#define STREAM_CLASSIFY 0
#endif

static tbf_state_t g_front;
static tbf_beat_t g_beat TB_INPUT_ALIGN; /* x first in tbf_beat_t: aligned for the kernels */
static struct {
	uint8_t source;   /* TBP_SRC_ADC, TBP_SRC_HOST or SRC_OFF */
	uint8_t signal;   /* last tbf_signal() */
	uint8_t event_seq;
	uint16_t rate;
	uint16_t to_status; /* samples until the next STATUS event */
	uint32_t samples, beats, max_cycles;
	uint8_t engine_status; /* the last status other than TB_OK since it was reported, else TB_OK */
} g_st = { SRC_OFF, 0, 0, 0, 0, 0, 0, 0, TB_OK };

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
	out[0] = g_st.source;
	out[1] = g_st.signal;
	tbp_put_u16(out + 2, g_st.rate);
	tbp_put_u32(out + 4, g_st.samples);
	tbp_put_u32(out + 8, g_st.source == TBP_SRC_ADC ? adc_stream_missed() : 0);
	tbp_put_u32(out + 12, g_st.beats);
	tbp_put_u32(out + 16, g_st.max_cycles);
	out[20] = g_st.source == TBP_SRC_ADC ? adc_stream_ring_max() : 0;
	tbp_put_u16(out + 21, stack);
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

static void send_beat(uint8_t klass, int32_t score, uint32_t cycles)
{
	uint8_t out[TBP_BEAT_SIZE];
	tbp_put_u32(out + 0, g_beat.r_sample);
	tbp_put_u16(out + 4, g_beat.rr_pre);
	tbp_put_u16(out + 6, g_beat.rr_post);
	tbp_put_u16(out + 8, g_beat.rr_avg);
	tbp_put_u16(out + 10, g_beat.hr_x10);
	out[12] = g_beat.flags;
	out[13] = klass;
	tbp_put_u32(out + 14, (uint32_t)score);
	tbp_put_u32(out + 18, cycles);
	memcpy(out + 22, g_beat.x + TBF_BEAT_LEN, TBF_N_FEATURES);
	tbp_put_u16(out + 28, fletcher16(g_beat.x, TBF_N_INPUTS));
	send_event(TBP_EV_BEAT_FRAME, out, sizeof(out));
}

/* One sample through the front end; a complete beat is classified and reported. */
static void process(uint16_t sample)
{
	/* lead-off: the front end gets code 0 with the flag, from either source */
	const uint8_t lead_off = g_st.source == TBP_SRC_ADC ? (sample & ADC_SAMPLE_LEAD_OFF) != 0
	                                                    : sample == TBP_SAMPLE_LEAD_OFF;
	const uint16_t code = lead_off ? 0u : sample;
	uint8_t klass = TBP_CLASS_NONE;
	int32_t score = 0;

	tbavr_cycles_init();
	const uint32_t overhead = tbavr_cycles_overhead();
	const uint32_t t0 = tbavr_cycles_now();
	const tbf_event_t ev = tbf_push(&g_front, code, lead_off, &g_beat);
#if STREAM_CLASSIFY
	if (ev == TBF_EV_BEAT && !(g_beat.flags & TBF_BEAT_NO_PRE)) {
		/* on any status but TB_OK klass is TB_CLASS_NONE (== TBP_CLASS_NONE): no verdict */
		const tb_status_t status = tb_model_predict(&tb_model, g_beat.x, TB_MODEL_N_INPUTS, &score, &klass);
		if (status != TB_OK)
			g_st.engine_status = (uint8_t)status;
	}
#endif
	const uint32_t cycles = tbavr_cycles_now() - t0 - overhead;
	tbavr_cycles_off();

	g_st.samples++;
	if (cycles > g_st.max_cycles)
		g_st.max_cycles = cycles;
	if (ev == TBF_EV_BEAT) {
		g_st.beats++;
		if (klass != TBP_CLASS_NONE)
			leds_show(klass);
		send_beat(klass, score, cycles);
	} else if (ev == TBF_EV_SIGNAL) {
		uint8_t out[TBP_SIGNAL_SIZE];
		g_st.signal = (uint8_t)tbf_signal(&g_front);
		tbp_put_u32(out, g_st.samples - 1u);
		out[4] = g_st.signal;
		send_event(TBP_EV_SIGNAL_FRAME, out, sizeof(out));
	}
	if (--g_st.to_status == 0) {
		uint8_t out[TBP_STREAM_STATS_SIZE];
		g_st.to_status = g_st.rate;
		put_stats(out, 0);
		send_event(TBP_EV_STATUS_FRAME, out, sizeof(out));
	}
}

static void stream_stop(void)
{
	if (g_st.source == TBP_SRC_ADC)
		adc_stream_stop();
	g_st.source = SRC_OFF;
}

uint8_t stream_start(uint8_t source, uint8_t channel, uint16_t rate_hz)
{
	if (source > TBP_SRC_HOST || channel >= BOARD_ADC_CHANNELS || rate_hz < TBF_FS_MIN || rate_hz > TBF_FS_MAX)
		return TBP_E_ARG;
	stream_stop();
	if (tbf_init(&g_front, rate_hz) != TBF_OK)
		return TBP_E_ARG;
	g_st.rate = g_st.to_status = rate_hz;
	g_st.samples = g_st.beats = g_st.max_cycles = 0;
	g_st.signal = (uint8_t)tbf_signal(&g_front);
	g_st.event_seq = 0;
	if (source == TBP_SRC_ADC && adc_stream_start(channel, rate_hz))
		return TBP_E_ARG;
	g_st.source = source;
	return TBP_OK;
}

void stream_poll(void)
{
	uint16_t sample;
	if (g_st.source != TBP_SRC_ADC)
		return;
	while (adc_stream_read(&sample))
		process(sample);
}

uint8_t stream_pending(void) { return g_st.source == TBP_SRC_ADC && adc_stream_available(); }

void stream_request(const tbp_frame_t *f)
{
	uint8_t out[TBP_STREAM_STATS_SIZE];
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
		tbp_put_u32(out, g_st.samples);
		send_frame(TBP_SAMPLES | TBP_REPLY, f->seq, TBP_OK, out, TBP_SAMPLES_REPLY_SIZE);
		return;
	}
	default: /* STREAM_STOP, STREAM_STATS */
		if (f->size != 0) {
			send_error(f->seq, TBP_E_PAYLOAD, f->type);
			return;
		}
		if (f->type == TBP_STREAM_STOP)
			stream_poll(); /* the samples already taken still count */
		put_stats(out, tbavr_stack_max_used());
		if (f->type == TBP_STREAM_STOP) {
			stream_stop();
			out[0] = SRC_OFF;
		}
		send_frame(f->type | TBP_REPLY, f->seq, TBP_OK, out, sizeof(out));
		return;
	}
}
