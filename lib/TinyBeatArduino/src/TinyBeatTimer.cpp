/* Timer1 state shared by the sensor and classify() (TinyBeatTimer.h). */
#include "TinyBeatTimer.h"

#include <avr/io.h>
#include <util/atomic.h>

volatile uint32_t tinybeat_timer_ticks;
uint8_t tinybeat_timer_on;
uint16_t tinybeat_timer_top;
uint8_t tinybeat_timer_prescale = 1;

uint32_t tinybeat_timer_cycles(void)
{
	uint32_t ticks;
	uint16_t count;
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE)
	{
		count = TCNT1;
		ticks = tinybeat_timer_ticks;
		/* a compare match not yet serviced belongs to this reading */
		if ((TIFR1 & _BV(OCF1A)) && count < tinybeat_timer_top / 2u)
			ticks++;
	}
	return (ticks * ((uint32_t)tinybeat_timer_top + 1u) + count) * tinybeat_timer_prescale;
}
