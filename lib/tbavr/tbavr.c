/* tbavr: Timer1 cycle counter and stack paint (see tbavr.h). */
#ifdef __AVR__
#include "tbavr.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <util/atomic.h>

#define TBAVR_PAINT 0xC5u

extern uint8_t __data_start;
extern uint8_t _end;   /* end of .bss/.noinit: first free byte */

static volatile uint16_t g_overflows;

ISR(TIMER1_OVF_vect) { g_overflows++; }

void tbavr_cycles_init(void)
{
	TCCR1A = 0;
	TCCR1B = 0;
	TCNT1 = 0;
	g_overflows = 0;
	TIFR1 = _BV(TOV1);
	TIMSK1 = _BV(TOIE1);
	TCCR1B = _BV(CS10); /* clk/1 */
}

void tbavr_cycles_off(void)
{
	TCCR1B = 0;
	TIMSK1 = 0;
}

uint32_t tbavr_cycles_now(void)
{
	uint16_t hi, lo;
	ATOMIC_BLOCK(ATOMIC_RESTORESTATE)
	{
		lo = TCNT1;
		hi = g_overflows;
		/* an overflow pending but not yet serviced belongs to this reading */
		if ((TIFR1 & _BV(TOV1)) && lo < 0x8000u)
			hi++;
	}
	return ((uint32_t)hi << 16) | lo;
}

uint32_t tbavr_cycles_overhead(void)
{
	const uint32_t a = tbavr_cycles_now();
	const uint32_t b = tbavr_cycles_now();
	return b - a;
}

/* Paint the free RAM between static data and the stack before main() runs. */
void tbavr_paint_stack(void) __attribute__((naked, used, section(".init1")));
void tbavr_paint_stack(void)
{
	__asm__ volatile(
		"    ldi r30, lo8(_end)\n"
		"    ldi r31, hi8(_end)\n"
		"    ldi r24, %0\n"
		"    ldi r25, hi8(%1)\n"
		"1:  cpi r30, lo8(%1)\n"
		"    cpc r31, r25\n"
		"    brsh 2f\n"
		"    st Z+, r24\n"
		"    rjmp 1b\n"
		"2:\n"
		:
		: "i"(TBAVR_PAINT), "i"(RAMEND + 1)
		: "r24", "r25", "r30", "r31", "memory");
}

uint16_t tbavr_stack_max_used(void)
{
	const uint8_t *p = &_end;
	while (p <= (const uint8_t *)RAMEND && *p == TBAVR_PAINT)
		p++;
	return (uint16_t)((const uint8_t *)RAMEND + 1 - p);
}

uint16_t tbavr_free_ram_now(void)
{
	uint8_t here;
	return (uint16_t)(&here - &_end);
}

uint16_t tbavr_static_ram(void)
{
	return (uint16_t)(&_end - &__data_start);
}
#endif /* __AVR__ */
