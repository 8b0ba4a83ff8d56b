/*
 * tbfront on the host and on the (simulated) ATmega2560: a synthetic ECG at
 * 125, 250 and 360 Hz gives beats at the right places with the right RR and
 * heart rate; flat, saturated and lead-off input give signal events and no
 * beats; the state fits the RAM budget; on AVR, cycles per sample and per
 * beat are measured with Timer1 and checked against the CPU budget
 * (<= 1,500 cycles per sample on average, <= 60,000 for a sample that completes a beat).
 */
#include <stdint.h>

#include "microtest.h"
#include "tbfront.h"
#ifdef __AVR__
#include <avr/interrupt.h>

#include "tbavr.h"
#endif

#define STATE_BUDGET 1100u

static tbf_state_t g_s;
static tbf_beat_t g_b;
static uint16_t g_lfsr = 0xACE1u;

/* One sample of a synthetic ECG: RR 0.8 s, R peak (130 codes) at the middle of each period. */
static uint16_t ecg(uint32_t n, uint16_t fs)
{
	const uint16_t period = (uint16_t)(fs * 4u / 5u);
	const int16_t hw = (int16_t)(fs * 3u / 100u);   /* QRS half width, ~30 ms */
	const int16_t tw = (int16_t)(fs / 12u);          /* T half width, ~83 ms */
	const int16_t ph = (int16_t)(n % period);
	const int16_t dr = (int16_t)(ph - (int16_t)(period / 2u));
	const int16_t dt = (int16_t)(dr - (int16_t)(fs / 4u));
	const uint16_t wander_ph = (uint16_t)(n % (4u * fs));
	int16_t v = 350;
	v = (int16_t)(v + (int16_t)((wander_ph < 2u * fs ? wander_ph : 4u * fs - wander_ph) * 10u / fs));
	if (dr > -hw && dr < hw)
		v = (int16_t)(v + 130 * (hw - (dr < 0 ? -dr : dr)) / hw);
	if (dt > -tw && dt < tw)
		v = (int16_t)(v + 25 * (tw - (dt < 0 ? -dt : dt)) / tw);
	g_lfsr = (uint16_t)((g_lfsr >> 1) ^ (-(g_lfsr & 1u) & 0xB400u));
	return (uint16_t)(v + (int16_t)(g_lfsr & 3u) - 1);
}

static void check_rate(uint16_t fs)
{
	const uint16_t period = (uint16_t)(fs * 4u / 5u);
	const uint32_t n_total = 30uL * fs;
	uint16_t beats = 0, signal_events = 0;
	MT_ASSERT_EQ_INT(TBF_OK, tbf_init(&g_s, fs));
	for (uint32_t n = 0; n < n_total; n++) {
		const tbf_event_t ev = tbf_push(&g_s, ecg(n, fs), 0, &g_b);
		if (ev == TBF_EV_SIGNAL)
			signal_events++;
		if (ev != TBF_EV_BEAT)
			continue;
		beats++;
		/* R within 20 ms of the true peak */
		const int32_t off = (int32_t)(g_b.r_sample % period) - (int32_t)(period / 2u);
		MT_ASSERT_IN_RANGE(-(int32_t)fs / 50, (int32_t)fs / 50, off);
		MT_ASSERT_TRUE(g_b.r_sample < n);
		if (!(g_b.flags & TBF_BEAT_NO_PRE)) {
			MT_ASSERT_IN_RANGE(period - 2, period + 2, g_b.rr_pre);
			MT_ASSERT_IN_RANGE(740, 760, g_b.hr_x10); /* 75 bpm */
			MT_ASSERT_IN_RANGE(62, 66, g_b.x[TBF_BEAT_LEN + 3]); /* pre-RR / mean = 1 */
		}
		MT_ASSERT_EQ_INT(0, g_b.flags & TBF_BEAT_PAUSE);
		MT_ASSERT_IN_RANGE(period - 2, period + 2, g_b.rr_post);
		MT_ASSERT_IN_RANGE(99, 101, g_b.x[TBF_BEAT_LEN + 1]); /* 0.8 s in 8 ms units */
		MT_ASSERT_EQ_INT(0, g_b.x[TBF_BEAT_LEN - 1]);   /* the window (1.2 x 0.8 s) is padded */
	}
	MT_ASSERT_EQ_INT(0, signal_events);
	MT_ASSERT_IN_RANGE(33, 37, beats); /* 37 R peaks; the first (learning) and the last are not reported */
	MT_ASSERT_EQ_INT(0, tbf_dropped(&g_s));
}

static void test_beats_at_125_hz(void) { check_rate(125); }
static void test_beats_at_250_hz(void) { check_rate(250); }
static void test_beats_at_360_hz(void) { check_rate(360); }

static void test_init_checks_arguments(void)
{
	MT_ASSERT_EQ_INT(TBF_E_RATE, tbf_init(&g_s, 124));
	MT_ASSERT_EQ_INT(TBF_E_RATE, tbf_init(&g_s, 361));
	MT_ASSERT_EQ_INT(TBF_E_ARG, tbf_init(0, 360));
	MT_ASSERT_EQ_INT(TBF_EV_NONE, tbf_push(0, 500, 0, &g_b));
	MT_ASSERT_EQ_INT(TBF_OK, tbf_init(&g_s, 360));
	MT_ASSERT_EQ_INT(TBF_EV_NONE, tbf_push(&g_s, 500, 0, 0));
}

/* Pushes n samples of value v (lead-off lo); returns the events seen as a bit set. */
static uint8_t push_const(uint32_t n, uint16_t v, uint8_t lo)
{
	uint8_t seen = 0;
	while (n--)
		seen |= (uint8_t)(1u << tbf_push(&g_s, v, lo, &g_b));
	return seen;
}

static void test_signal_states(void)
{
	uint8_t seen;
	MT_ASSERT_EQ_INT(TBF_OK, tbf_init(&g_s, 250));
	seen = push_const(250u * 3u, 400, 0);
	MT_ASSERT_EQ_INT(TBF_SIG_FLAT, tbf_signal(&g_s));
	MT_ASSERT_EQ_INT(1u << TBF_EV_SIGNAL, seen & (1u << TBF_EV_BEAT | 1u << TBF_EV_SIGNAL));
	push_const(250u * 3u, 60000u, 0); /* hostile: clamped to 1023, stuck at the rail */
	MT_ASSERT_EQ_INT(TBF_SIG_SATURATED, tbf_signal(&g_s));
	push_const(250u, 300, 1);
	MT_ASSERT_EQ_INT(TBF_SIG_LEAD_OFF, tbf_signal(&g_s));
	seen = 0;
	for (uint32_t n = 0; n < 250u * 20u; n++) /* lead-off toggling every sample: stays off */
		seen |= (uint8_t)(1u << tbf_push(&g_s, ecg(n, 250), (uint8_t)(n & 1u), &g_b));
	MT_ASSERT_EQ_INT(TBF_SIG_LEAD_OFF, tbf_signal(&g_s));
	MT_ASSERT_EQ_INT(0, seen & (1u << TBF_EV_BEAT));
	seen = 0;
	for (uint32_t n = 0; n < 250u * 10u; n++) /* back: relearns, then beats again */
		seen |= (uint8_t)(1u << tbf_push(&g_s, ecg(n, 250), 0, &g_b));
	MT_ASSERT_EQ_INT(TBF_SIG_OK, tbf_signal(&g_s));
	MT_ASSERT_TRUE(seen & (1u << TBF_EV_BEAT));
}

static void test_state_size(void)
{
	mt_print("sizeof(tbf_state_t) = ");
	mt_print_uint((uint32_t)sizeof(tbf_state_t));
	mt_print(" B\n");
#ifdef __AVR__
	MT_ASSERT_LE_INT(STATE_BUDGET, sizeof(tbf_state_t));
#else
	MT_ASSERT_LE_INT(STATE_BUDGET + 64u, sizeof(tbf_state_t)); /* host alignment adds a little */
#endif
}

#ifdef __AVR__
static void test_cycles(void)
{
	const uint16_t fs = 360;
	const uint32_t overhead = tbavr_cycles_overhead();
	uint32_t sum = 0, max_plain = 0, max_beat = 0, sum_beat = 0, n_beats = 0;
	const uint32_t n_total = 30uL * fs;
	MT_ASSERT_EQ_INT(TBF_OK, tbf_init(&g_s, fs));
	for (uint32_t n = 0; n < n_total; n++) {
		const uint16_t v = ecg(n, fs);
		const uint32_t t0 = tbavr_cycles_now();
		const tbf_event_t ev = tbf_push(&g_s, v, 0, &g_b);
		const uint32_t dt = tbavr_cycles_now() - t0 - overhead;
		sum += dt;
		if (ev == TBF_EV_BEAT) {
			n_beats++;
			sum_beat += dt;
			if (dt > max_beat)
				max_beat = dt;
		} else if (dt > max_plain) {
			max_plain = dt;
		}
	}
	mt_print("cycles per sample at 360 Hz: avg ");
	mt_print_uint(sum / n_total);
	mt_print(" max (no beat) ");
	mt_print_uint(max_plain);
	mt_print("; per completed beat: avg ");
	mt_print_uint(n_beats ? sum_beat / n_beats : 0);
	mt_print(" max ");
	mt_print_uint(max_beat);
	mt_print("; CPU load x1000: ");
	mt_print_uint((sum / n_total) * 360uL / 16000uL);
	mt_print("\n");
	MT_ASSERT_TRUE(n_beats > 30);
	MT_ASSERT_LE_INT(1500, sum / n_total);
	MT_ASSERT_LE_INT(60000L, max_beat);
}
#endif

int main(void)
{
	mt_begin();
#ifdef __AVR__
	tbavr_cycles_init();
	sei();
#endif
	MT_RUN(test_init_checks_arguments);
	MT_RUN(test_state_size);
	MT_RUN(test_beats_at_125_hz);
	MT_RUN(test_beats_at_250_hz);
	MT_RUN(test_beats_at_360_hz);
	MT_RUN(test_signal_states);
#ifdef __AVR__
	MT_RUN(test_cycles);
#endif
	return mt_end();
}
