/*
 * TinyBeat's ECG sensor: Timer1 interrupt sampling into a ring buffer, the
 * streaming front end (lib/tbfront) and the classifier, run from loop().
 *
 * The interrupt does the least work: it takes the conversion started at the
 * previous tick (finished long ago: ~104 us of a 2.8 ms period), reads the
 * lead-off pins, starts the next conversion and queues the sample. Everything
 * else (beat detection, classification) runs in available(), so a slow
 * loop() loses samples (counted in overruns()) instead of blocking interrupts.
 *
 * Kept in its own file: a sketch that never calls begin() links none of this
 * (no interrupt, no front-end state in RAM).
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <util/atomic.h>

#include "TinyBeatArduino.h"
#include "TinyBeatTimer.h"
#include "tbfront.h"

#define RING_SIZE 32u /* power of two: ~89 ms at 360 Hz */
#define LEAD_OFF_BIT 0x8000u

static volatile uint16_t g_ring[RING_SIZE];
static volatile uint8_t g_head;     /* written by the interrupt */
static volatile uint8_t g_tail;     /* written by available() */
static volatile uint16_t g_overruns;
static volatile uint8_t *g_lo_plus_in, *g_lo_minus_in;
static uint8_t g_lo_plus_mask, g_lo_minus_mask;
static uint8_t g_lo_dummy; /* reads as 0: a lead-off pin of TINYBEAT_NO_PIN */

static tbf_state_t g_front;
static tbf_beat_t g_beat;
static TinyBeatResult g_result;
static uint8_t g_ready;
static uint8_t g_signal_changed;
static uint16_t g_fs;
static uint32_t g_samples;

ISR(TIMER1_COMPA_vect)
{
	uint16_t v = ADC; /* the conversion started one period ago */
	if ((*g_lo_plus_in & g_lo_plus_mask) || (*g_lo_minus_in & g_lo_minus_mask))
		v |= LEAD_OFF_BIT;
	ADCSRA |= _BV(ADSC);
	tinybeat_timer_ticks++;
	const uint8_t next = (uint8_t)((g_head + 1u) & (RING_SIZE - 1u));
	if (next == g_tail) {
		if (g_overruns < 0xFFFFu)
			g_overruns++;
	} else {
		g_ring[g_head] = v;
		g_head = next;
	}
}

static void lead_pin(uint8_t pin, volatile uint8_t **in, uint8_t *mask)
{
	if (pin == TINYBEAT_NO_PIN || digitalPinToPort(pin) == NOT_A_PIN) {
		*in = &g_lo_dummy;
		*mask = 0;
		return;
	}
	pinMode(pin, INPUT);
	*in = portInputRegister(digitalPinToPort(pin));
	*mask = digitalPinToBitMask(pin);
}

uint8_t TinyBeatClass::begin(uint8_t ecgPin, uint8_t loPlusPin, uint8_t loMinusPin, uint16_t sampleHz)
{
	if (!(ecgPin < NUM_ANALOG_INPUTS || (ecgPin >= A0 && ecgPin < A0 + NUM_ANALOG_INPUTS)))
		return TINYBEAT_E_PIN;
	if (sampleHz < TBF_FS_MIN || sampleHz > TBF_FS_MAX)
		return TINYBEAT_E_RATE;
	end();
	/* Timer counts per sample, rounded: prescaler 1 when it fits 16 bits, else 8. */
	uint32_t period = (F_CPU + sampleHz / 2u) / sampleHz;
	uint8_t prescale = 1;
	if (period > 65536ul) {
		prescale = 8;
		period = (F_CPU / 8u + sampleHz / 2u) / sampleHz;
	}
	if (period > 65536ul || period < 256ul)
		return TINYBEAT_E_RATE;
	if (tbf_init(&g_front, sampleHz) != TBF_OK)
		return TINYBEAT_E_RATE;

	lead_pin(loPlusPin, &g_lo_plus_in, &g_lo_plus_mask);
	lead_pin(loMinusPin, &g_lo_minus_in, &g_lo_minus_mask);
	(void)analogRead(ecgPin); /* selects the channel and reference; they stay selected */

	g_fs = sampleHz;
	g_head = g_tail = 0;
	g_overruns = 0;
	g_ready = 0;
	g_signal_changed = 0;
	g_samples = 0;
	tinybeat_timer_top = (uint16_t)(period - 1u);
	tinybeat_timer_prescale = prescale;
	tinybeat_timer_ticks = 0;
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE)
	{
		TCCR1B = 0;
		TCCR1A = 0; /* the core's PWM setup of Timer1 is replaced by CTC mode */
		TCNT1 = 0;
		OCR1A = tinybeat_timer_top;
		TIFR1 = _BV(OCF1A);
		TIMSK1 = _BV(OCIE1A);
		TCCR1B = (uint8_t)(_BV(WGM12) | (prescale == 1 ? _BV(CS10) : _BV(CS11)));
		ADCSRA |= _BV(ADSC); /* the first sample */
		tinybeat_timer_on = 1;
	}
	return TINYBEAT_OK;
}

void TinyBeatClass::end()
{
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE)
	{
		if (tinybeat_timer_on) {
			TIMSK1 = 0;
			TCCR1B = 0;
		}
		tinybeat_timer_on = 0;
	}
}

/* n samples at fs Hz in milliseconds, without 32-bit overflow for any uint32 n. */
static uint32_t samples_to_ms(uint32_t n, uint16_t fs)
{
	return (n / fs) * 1000ul + ((n % fs) * 1000ul + fs / 2u) / fs;
}

uint8_t TinyBeatClass::available()
{
	if (g_ready)
		return 1;
	while (g_tail != g_head) {
		const uint8_t t = g_tail;
		const uint16_t v = g_ring[t];
		g_tail = (uint8_t)((t + 1u) & (RING_SIZE - 1u));
		g_samples++;
		const tbf_event_t ev = tbf_push(&g_front, (uint16_t)(v & 0x3FFu), (uint8_t)(v >> 15), &g_beat);
		if (ev == TBF_EV_SIGNAL) {
			g_signal_changed = 1;
		} else if (ev == TBF_EV_BEAT) {
			TinyBeatResult *r = &g_result;
			r->timeMs = samples_to_ms(g_beat.r_sample, g_fs);
			r->rrMs = (uint16_t)samples_to_ms(g_beat.rr_pre, g_fs);
			r->heartRateX10 = g_beat.hr_x10;
			r->score = 0;
			if (g_beat.flags & TBF_BEAT_NO_PRE) {
				r->verdict = TINYBEAT_UNCLASSIFIED;
				r->reason = TINYBEAT_NO_RHYTHM;
			} else if (inputs() != TBF_N_INPUTS) {
				r->verdict = TINYBEAT_UNCLASSIFIED;
				r->reason = TINYBEAT_MODEL_INPUTS;
			} else {
				r->verdict = classify(g_beat.x, &r->score);
				r->reason = TINYBEAT_CLASSIFIED;
			}
			g_ready = 1;
			return 1;
		}
	}
	return 0;
}

TinyBeatResult TinyBeatClass::read()
{
	g_ready = 0;
	return g_result;
}

uint8_t TinyBeatClass::signal() const { return (uint8_t)tbf_signal(&g_front); }

bool TinyBeatClass::signalChanged()
{
	const bool changed = g_signal_changed != 0;
	g_signal_changed = 0;
	return changed;
}

uint16_t TinyBeatClass::overruns() const
{
	uint16_t n;
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { n = g_overruns; }
	return n;
}

uint32_t TinyBeatClass::samples() const { return g_samples; }
