/* tbsampler: CPU cycle spans on the sampler's Timer1, or on tbavr's counter (see tbsampler.h). */
#include <avr/io.h>
#include <util/atomic.h>

#include "tbavr.h"
#include "tbs_clock.h"
#include "tbsampler.h"

volatile uint32_t tbs_clock_base;
volatile uint16_t tbs_clock_period;
uint8_t tbs_clock_prescale = 1;
uint8_t tbs_clock_on;
uint32_t tbs_clock_overhead;
static uint32_t g_tbavr_overhead;

uint32_t tbs_clock_cycles(void)
{
	uint32_t base;
	uint16_t count;
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE)
	{
		count = TCNT1;
		base = tbs_clock_base;
		/* a period that ended but whose interrupt has not run yet belongs to this reading */
		if ((TIFR1 & _BV(OCF1A)) && count < tbs_clock_period / 2u)
			base += tbs_clock_period;
	}
	return (base + count) * tbs_clock_prescale;
}

uint8_t tbs_running(void) { return tbs_clock_on; }

uint32_t tbs_span_begin(void)
{
	if (tbs_clock_on)
		return tbs_clock_cycles();
	tbavr_cycles_init();
	g_tbavr_overhead = tbavr_cycles_overhead();
	return tbavr_cycles_now();
}

uint32_t tbs_span_end(uint32_t t0)
{
	if (tbs_clock_on)
		return tbs_clock_cycles() - t0 - tbs_clock_overhead;
	const uint32_t n = tbavr_cycles_now() - t0 - g_tbavr_overhead;
	tbavr_cycles_off();
	return n;
}
