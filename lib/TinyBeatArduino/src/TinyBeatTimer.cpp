/* Timer1 state shared by the sensor and classify() (TinyBeatTimer.h). */
#include "TinyBeatTimer.h"

#include <avr/io.h>
#include <util/atomic.h>

volatile uint32_t tinybeat_timer_base;
volatile uint16_t tinybeat_timer_period;
uint8_t tinybeat_timer_on;
uint8_t tinybeat_timer_prescale = 1;

uint32_t tinybeat_timer_cycles(void)
{
	uint32_t base;
	uint16_t count;
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE)
	{
		count = TCNT1;
		base = tinybeat_timer_base;
		/* a period that ended but whose interrupt has not run yet belongs to this reading */
		if ((TIFR1 & _BV(OCF1A)) && count < tinybeat_timer_period / 2u)
			base += tinybeat_timer_period;
	}
	return (base + count) * tinybeat_timer_prescale;
}
