/* tbsampler: Timer1-paced ADC sampling into a ring, and cycle spans (see tbsampler.h). */
#include "tbsampler.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <util/atomic.h>

#include "tbs_clock.h"

#if (TBS_RING_SIZE & (TBS_RING_SIZE - 1u)) || TBS_RING_SIZE > 128u || TBS_RING_SIZE < 2u
#error "TBS_RING_SIZE must be a power of two, 2..128"
#endif

/* ADC on, clock F_CPU/128 (125 kHz at 16 MHz: a conversion takes 13 clocks = 104 us), with or
 * without its interrupt. Always written whole: ADIF written 0 leaves a pending flag alone. */
#define ADC_IDLE (_BV(ADEN) | _BV(ADPS2) | _BV(ADPS1) | _BV(ADPS0))
#define ADC_CTRL (ADC_IDLE | _BV(ADIE))

static volatile uint16_t g_ring[TBS_RING_SIZE];
static volatile uint8_t g_head, g_tail; /* free-running; head written by the ADC interrupt */
static volatile uint8_t g_ring_max;
static volatile uint32_t g_missed;
static volatile uint16_t g_lead_pending; /* TBS_LEAD_OFF when the lead-off pins were high */
static tbs_pin_t g_lo[2];
static volatile uint8_t g_no_pin; /* reads as 0: the register of an absent lead-off pin */
static uint16_t g_q, g_r, g_rate, g_acc; /* period: g_q counts, + 1 when the accumulator passes g_rate */
static uint8_t g_channel;

static inline uint16_t lead_off_now(void)
{
	return ((*g_lo[0].pin & g_lo[0].mask) || (*g_lo[1].pin & g_lo[1].mask)) ? TBS_LEAD_OFF : 0u;
}

/* The lead-off state and the conversion belong to the same instant. */
static inline void start_conversion(void)
{
	g_lead_pending = lead_off_now();
	ADCSRA = ADC_CTRL | _BV(ADSC); /* a plain write: `|=` would clear a pending ADIF (tbsampler.h) */
}

/* A sample period starts. */
ISR(TIMER1_COMPA_vect)
{
	/* the period that just started: q or q + 1 counts (CTC: OCR1A is not buffered) */
	tbs_clock_base += tbs_clock_period;
	uint16_t acc = (uint16_t)(g_acc + g_r);
	uint16_t period = g_q;
	if (acc >= g_rate) {
		acc = (uint16_t)(acc - g_rate);
		period++;
	}
	g_acc = acc;
	OCR1A = (uint16_t)(period - 1u);
	tbs_clock_period = period;
	if (ADCSRA & _BV(ADSC)) {
		g_missed++; /* the previous conversion is still running: this sample is lost */
		return;
	}
	start_conversion();
}

/* The conversion is done (~104 us later): queue the code with its lead-off flag. */
ISR(ADC_vect)
{
	const uint16_t v = (uint16_t)(ADC | g_lead_pending);
	const uint8_t head = g_head;
	const uint8_t used = (uint8_t)(head - g_tail);
	if (used >= TBS_RING_SIZE) {
		g_missed++; /* the main loop fell behind: drop the newest sample */
		return;
	}
	g_ring[head & (TBS_RING_SIZE - 1u)] = v;
	g_head = (uint8_t)(head + 1u);
	if ((uint8_t)(used + 1u) > g_ring_max)
		g_ring_max = (uint8_t)(used + 1u);
}

static void digital_input(uint8_t channel, uint8_t off)
{
#if defined(DIDR2)
	if (channel & 8u) {
		DIDR2 = (uint8_t)(off ? DIDR2 | _BV(channel & 7u) : DIDR2 & ~_BV(channel & 7u));
		return;
	}
#endif
	DIDR0 = (uint8_t)(off ? DIDR0 | _BV(channel & 7u) : DIDR0 & ~_BV(channel & 7u));
}

uint8_t tbs_start(uint8_t channel, uint16_t rate_hz, tbs_pin_t lo_plus, tbs_pin_t lo_minus)
{
#if defined(MUX5)
	if (channel > 15u)
#else
	if (channel > 7u)
#endif
		return TBS_E_CHANNEL;
	/* Timer1 counts per sample: q or q + 1; prescaler 1 when q fits 16 bits, else 8 */
	uint32_t counts_per_s = F_CPU;
	uint8_t prescale = 1;
	if (rate_hz == 0)
		return TBS_E_RATE;
	if (counts_per_s / rate_hz > 65535ul) {
		prescale = 8;
		counts_per_s = F_CPU / 8u;
	}
	if (counts_per_s / rate_hz > 65535ul || counts_per_s / rate_hz < 256ul)
		return TBS_E_RATE;
	tbs_stop();
	while (ADCSRA & _BV(ADSC))
		; /* a conversion of the previous run ends within 200 us */
	ADCSRA = ADC_IDLE | _BV(ADIF); /* its flag cleared (ADIF is cleared by writing 1) */

	g_q = (uint16_t)(counts_per_s / rate_hz);
	g_r = (uint16_t)(counts_per_s % rate_hz);
	g_rate = rate_hz;
	g_acc = 0;
	g_head = g_tail = 0;
	g_ring_max = 0;
	g_missed = 0;
	g_lo[0] = lo_plus.mask ? lo_plus : (tbs_pin_t){ &g_no_pin, 0 };
	g_lo[1] = lo_minus.mask ? lo_minus : (tbs_pin_t){ &g_no_pin, 0 };
	g_channel = channel;
	ADMUX = (uint8_t)(_BV(REFS0) | (channel & 7u)); /* AVcc reference, right adjusted */
#if defined(MUX5)
	ADCSRB = channel & 8u ? _BV(MUX5) : 0; /* (ADTS 0: the timer interrupt starts conversions) */
#else
	ADCSRB = 0;
#endif
	digital_input(channel, 1); /* no digital input buffer on the analog pin */

	ATOMIC_BLOCK(ATOMIC_RESTORESTATE)
	{
		TCCR1B = 0;
		TCCR1A = 0; /* CTC mode (an Arduino core's PWM setup of Timer1 is replaced) */
		TCNT1 = 0;
		OCR1A = (uint16_t)(g_q - 1u);
		tbs_clock_base = 0;
		tbs_clock_period = g_q;
		tbs_clock_prescale = prescale;
		TIFR1 = _BV(OCF1A);
		TIMSK1 = _BV(OCIE1A);
		TCCR1B = (uint8_t)(_BV(WGM12) | (prescale == 1 ? _BV(CS10) : _BV(CS11)));
		start_conversion(); /* sample 0, on the timer's grid */
		tbs_clock_on = 1;
	}
	const uint32_t a = tbs_clock_cycles();
	tbs_clock_overhead = tbs_clock_cycles() - a;
	return TBS_OK;
}

void tbs_stop(void)
{
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE)
	{
		if (tbs_clock_on) {
			TIMSK1 = 0;
			TCCR1B = 0;
			ADCSRA = ADC_IDLE; /* no interrupt; analogRead() works again */
			digital_input(g_channel, 0);
		}
		tbs_clock_on = 0;
	}
}

uint8_t tbs_read(uint16_t *sample)
{
	const uint8_t tail = g_tail;
	if (tail == g_head)
		return 0;
	*sample = g_ring[tail & (TBS_RING_SIZE - 1u)];
	g_tail = (uint8_t)(tail + 1u);
	return 1;
}

uint8_t tbs_available(void) { return g_head != g_tail; }

uint32_t tbs_missed(void)
{
	uint32_t m;
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { m = g_missed; }
	return m;
}

uint8_t tbs_ring_max(void) { return g_ring_max; }
