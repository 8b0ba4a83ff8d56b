/*
 * microtest ports: UART0 on AVR (115200 8N1), stdout on the host.
 * On AVR the run ends with interrupts off and the CPU asleep: a simulator
 * stops there, a real board simply halts.
 */
#include "microtest.h"

#ifdef __AVR__
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>

#define MT_BAUD 115200UL
#define MT_UBRR ((F_CPU + 4UL * MT_BAUD) / (8UL * MT_BAUD) - 1UL)

/*
 * 1 until the first byte is written: right after the transmitter is enabled its
 * data register is empty, so that byte goes out without polling UDRE0. (simavr
 * 1.6 leaves UDRE0 cleared until the first write when UCSR0B was written with
 * TXEN0 off before, as the Arduino core's init() does; a real AVR reads 1.)
 */
static uint8_t g_tx_fresh;

void mt_port_begin(void)
{
	MCUSR = 0;
	wdt_disable();
	UBRR0H = (uint8_t)(MT_UBRR >> 8);
	UBRR0L = (uint8_t)MT_UBRR;
	UCSR0A = (uint8_t)_BV(U2X0);
	UCSR0B = (uint8_t)_BV(TXEN0);
	UCSR0C = (uint8_t)(_BV(UCSZ01) | _BV(UCSZ00));
	g_tx_fresh = 1;
}

void mt_port_putc(char c)
{
	if (c == '\n')
		mt_port_putc('\r');
	if (!g_tx_fresh)
		loop_until_bit_is_set(UCSR0A, UDRE0);
	g_tx_fresh = 0;
	UCSR0A |= _BV(TXC0);
	UDR0 = (uint8_t)c;
}

void mt_port_end(void)
{
	loop_until_bit_is_set(UCSR0A, TXC0);
	cli();
	set_sleep_mode(SLEEP_MODE_PWR_DOWN);
	sleep_enable();
	for (;;)
		sleep_cpu();
}

#else
#include <stdio.h>

void mt_port_begin(void) {}

void mt_port_putc(char c) { putchar(c); }

void mt_port_end(void) { fflush(stdout); }
#endif
