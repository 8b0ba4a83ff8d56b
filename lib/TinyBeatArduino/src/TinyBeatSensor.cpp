/*
 * TinyBeat's ECG sensor: Timer1 interrupt sampling into a ring buffer, the
 * streaming front end (lib/tbfront) and the classifier, run from loop().
 *
 * The interrupts do the least work: the timer's reads the lead-off pins and
 * starts a conversion (evenly spaced: the rate is exact on average, see
 * TinyBeatTimer.h); the ADC's, about 104 us later, queues the sample.
 * Everything else (beat detection, classification) runs in available(), so a
 * slow loop() loses samples (counted in overruns()) instead of blocking
 * interrupts.
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

static volatile uint16_t g_lead_pending; /* LEAD_OFF_BIT when the lead-off pins were high */
static uint16_t g_q, g_r, g_acc; /* period: g_q counts, + 1 when the accumulator passes g_fs */

static inline uint16_t lead_off_now(void)
{
	return ((*g_lo_plus_in & g_lo_plus_mask) || (*g_lo_minus_in & g_lo_minus_mask)) ? LEAD_OFF_BIT : 0u;
}

/* A sample period starts: read the lead-off pins and start the conversion. */
ISR(TIMER1_COMPA_vect)
{
	/* the period that just started: q or q + 1 counts (CTC: OCR1A is not buffered) */
	tinybeat_timer_base += tinybeat_timer_period;
	uint16_t acc = (uint16_t)(g_acc + g_r);
	uint16_t period = g_q;
	if (acc >= g_fs) {
		acc = (uint16_t)(acc - g_fs);
		period++;
	}
	g_acc = acc;
	OCR1A = (uint16_t)(period - 1u);
	tinybeat_timer_period = period;

	if (ADCSRA & _BV(ADSC)) { /* the previous conversion is still running: this sample is lost */
		if (g_overruns < 0xFFFFu)
			g_overruns++;
		return;
	}
	g_lead_pending = lead_off_now();
	ADCSRA |= _BV(ADSC);
}

/* The conversion is done (~104 us later): queue the sample with its lead-off state. */
ISR(ADC_vect)
{
	const uint16_t v = (uint16_t)(ADC | g_lead_pending);
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
	/* Timer counts per sample: q or q + 1 (exact average rate); prescaler 1 when q fits 16 bits, else 8. */
	uint8_t prescale = 1;
	uint32_t counts_per_s = F_CPU;
	if (counts_per_s / sampleHz >= 65535ul) {
		prescale = 8;
		counts_per_s = F_CPU / 8u;
	}
	if (counts_per_s / sampleHz >= 65535ul || counts_per_s / sampleHz < 256ul)
		return TINYBEAT_E_RATE;
	if (tbf_init(&g_front, sampleHz) != TBF_OK)
		return TINYBEAT_E_RATE;

	lead_pin(loPlusPin, &g_lo_plus_in, &g_lo_plus_mask);
	lead_pin(loMinusPin, &g_lo_minus_in, &g_lo_minus_mask);
	/* The channel, with AVcc as reference (analogReference(DEFAULT)); the first conversion
	 * starts with the timer, so every sample, the first included, is on the timer's grid. */
	uint8_t channel = ecgPin >= A0 ? (uint8_t)(ecgPin - A0) : ecgPin;
#if defined(analogPinToChannel)
	channel = analogPinToChannel(channel);
#endif
#if defined(MUX5)
	ADCSRB = (uint8_t)((ADCSRB & ~_BV(MUX5)) | (channel & 8u ? _BV(MUX5) : 0));
#endif
	ADMUX = (uint8_t)(_BV(REFS0) | (channel & 7u));
	/* the core's init() set the prescaler (125 kHz ADC clock at 16 MHz); ADIF is cleared by writing 1 */
	ADCSRA = (uint8_t)((ADCSRA & ~_BV(ADSC)) | _BV(ADEN) | _BV(ADIE) | _BV(ADIF));

	g_fs = sampleHz;
	g_head = g_tail = 0;
	g_overruns = 0;
	g_ready = 0;
	g_signal_changed = 0;
	g_samples = 0;
	g_q = (uint16_t)(counts_per_s / sampleHz);
	g_r = (uint16_t)(counts_per_s % sampleHz);
	g_acc = 0;
	tinybeat_timer_prescale = prescale;
	tinybeat_timer_base = 0;
	tinybeat_timer_period = g_q;
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE)
	{
		TCCR1B = 0;
		TCCR1A = 0; /* the core's PWM setup of Timer1 is replaced by CTC mode */
		TCNT1 = 0;
		OCR1A = (uint16_t)(g_q - 1u);
		TIFR1 = _BV(OCF1A);
		TIMSK1 = _BV(OCIE1A);
		TCCR1B = (uint8_t)(_BV(WGM12) | (prescale == 1 ? _BV(CS10) : _BV(CS11)));
		g_lead_pending = lead_off_now();
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
			ADCSRA &= (uint8_t)~_BV(ADIE);
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
			/* a NO_PRE beat has no rhythm context; a PAUSE beat is classified, as in training */
			if (g_beat.flags & TBF_BEAT_NO_PRE) {
				r->verdict = TINYBEAT_UNCLASSIFIED;
				r->reason = TINYBEAT_NO_RHYTHM;
			} else if (!TBF_MODEL_TAKES_BEATS(inputs())) {
				r->verdict = TINYBEAT_UNCLASSIFIED;
				r->reason = TINYBEAT_MODEL_INPUTS;
			} else {
				r->verdict = classify(g_beat.x, &r->score);
				r->reason = r->verdict == TINYBEAT_UNCLASSIFIED ? TINYBEAT_ENGINE_ERROR : TINYBEAT_CLASSIFIED;
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
