/* Timer-driven ADC sampling into a ring buffer (see adc.h). */
#include "adc.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <util/atomic.h>

#include "board.h"

/* ADC on, its interrupt on, clock F_CPU/128 (125 kHz at 16 MHz: a conversion takes 13 clocks = 104 us) */
#define ADC_CTRL (_BV(ADEN) | _BV(ADIE) | _BV(ADPS2) | _BV(ADPS1) | _BV(ADPS0))

static volatile uint16_t g_ring[ADC_RING_SIZE];
static volatile uint8_t g_head, g_tail; /* head: written by the ISR; tail: by the main loop */
static volatile uint8_t g_ring_max;
static volatile uint32_t g_missed;
static uint16_t g_q, g_r, g_rate, g_acc; /* period = g_q ticks, + 1 when the accumulator wraps */

ISR(TIMER0_COMPA_vect)
{
	/* the period after this one: q or q + 1 ticks (CTC: OCR0A is not buffered) */
	uint16_t acc = g_acc + g_r;
	uint8_t extra = 0;
	if (acc >= g_rate) {
		acc -= g_rate;
		extra = 1;
	}
	g_acc = acc;
	OCR0A = (uint8_t)(g_q + extra - 1u);
	if (ADCSRA & _BV(ADSC)) {
		g_missed++; /* the previous conversion is still running: this sample is lost */
		return;
	}
	/* A plain write without ADIF: `|=` would write a pending ADIF back as 1 and clear it,
	 * losing that conversion's interrupt (its result is read by the ADC ISR right after
	 * this one returns, long before the new conversion ends 104 us later). */
	ADCSRA = ADC_CTRL | _BV(ADSC);
}

ISR(ADC_vect)
{
	uint16_t v = ADC;
	if (BOARD_LO_PIN & (BOARD_LO_PLUS | BOARD_LO_MINUS))
		v |= ADC_SAMPLE_LEAD_OFF;
	const uint8_t head = g_head;
	const uint8_t used = (uint8_t)(head - g_tail);
	if (used >= ADC_RING_SIZE) {
		g_missed++; /* the main loop fell behind: drop the newest sample */
		return;
	}
	g_ring[head & (ADC_RING_SIZE - 1u)] = v;
	g_head = (uint8_t)(head + 1u);
	if (used + 1u > g_ring_max)
		g_ring_max = (uint8_t)(used + 1u);
}

uint8_t adc_stream_start(uint8_t channel, uint16_t rate_hz)
{
	/* Timer0 ticks per second: F_CPU/256, or F_CPU/1024 when a period would not fit 8 bits */
	uint32_t tick_hz = F_CPU / 256u;
	uint8_t cs = _BV(CS02);
	if (rate_hz == 0)
		return 1;
	if (tick_hz / rate_hz > 255u) {
		tick_hz = F_CPU / 1024u;
		cs = _BV(CS02) | _BV(CS00);
	}
	if (tick_hz / rate_hz > 255u || tick_hz / rate_hz < 2u)
		return 1;
	adc_stream_stop();
	g_q = (uint16_t)(tick_hz / rate_hz);
	g_r = (uint16_t)(tick_hz % rate_hz);
	g_rate = rate_hz;
	g_acc = 0;
	g_head = g_tail = 0;
	g_ring_max = 0;
	g_missed = 0;

	BOARD_LO_DDR &= (uint8_t)~(BOARD_LO_PLUS | BOARD_LO_MINUS);  /* inputs, */
	BOARD_LO_PORT &= (uint8_t)~(BOARD_LO_PLUS | BOARD_LO_MINUS); /* no pull-ups: the AD8232 drives them */
	ADMUX = (uint8_t)(_BV(REFS0) | (channel & 7u)); /* AVcc reference, right adjusted */
#if defined(MUX5)
	ADCSRB = channel & 8u ? _BV(MUX5) : 0;
#else
	ADCSRB = 0;
#endif
#if defined(DIDR2)
	if (channel & 8u)
		DIDR2 = (uint8_t)_BV(channel & 7u);
	else
#endif
		DIDR0 = (uint8_t)_BV(channel & 7u); /* no digital input buffer on the analog pin */
	ADCSRA = ADC_CTRL;

	TCCR0A = _BV(WGM01); /* CTC */
	TCNT0 = 0;
	OCR0A = (uint8_t)(g_q - 1u);
	TIFR0 = _BV(OCF0A);
	TIMSK0 = _BV(OCIE0A);
	TCCR0B = cs;
	return 0;
}

void adc_stream_stop(void)
{
	TCCR0B = 0;
	TIMSK0 = 0;
	ADCSRA = 0; /* ADC off (also saves power) */
	DIDR0 = 0;
#if defined(DIDR2)
	DIDR2 = 0;
#endif
}

uint8_t adc_stream_read(uint16_t *sample)
{
	const uint8_t tail = g_tail;
	if (tail == g_head)
		return 0;
	*sample = g_ring[tail & (ADC_RING_SIZE - 1u)];
	g_tail = (uint8_t)(tail + 1u);
	return 1;
}

uint8_t adc_stream_available(void) { return g_head != g_tail; }

uint32_t adc_stream_missed(void)
{
	uint32_t m;
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { m = g_missed; }
	return m;
}

uint8_t adc_stream_ring_max(void) { return g_ring_max; }
