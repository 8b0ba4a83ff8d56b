/* UART0 driver (see uart.h). 8N1, double speed for an accurate 115200 at 16 MHz. */
#include "uart.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/pgmspace.h>

#ifndef USART0_RX_vect
#define USART0_RX_vect USART_RX_vect /* ATmega328P names its only USART without a number */
#endif

#define RX_SIZE 64u /* power of two */

static volatile uint8_t g_rx[RX_SIZE];
static volatile uint8_t g_head, g_tail;
static volatile uint16_t g_overruns;
static uint8_t g_sent; /* TXC0 means something only after a first byte */

ISR(USART0_RX_vect)
{
	const uint8_t status = UCSR0A;
	const uint8_t byte = UDR0;
	const uint8_t next = (uint8_t)((g_head + 1u) & (RX_SIZE - 1u));
	if ((status & (_BV(DOR0) | _BV(FE0))) || next == g_tail) {
		g_overruns++;
		if (next == g_tail)
			return;
	}
	g_rx[g_head] = byte;
	g_head = next;
}

void uart_init(uint32_t baud)
{
	const uint16_t ubrr = (uint16_t)((F_CPU + 4UL * baud) / (8UL * baud) - 1UL);
	UBRR0H = (uint8_t)(ubrr >> 8);
	UBRR0L = (uint8_t)ubrr;
	UCSR0A = _BV(U2X0);
	UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);
	UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
}

uint8_t uart_available(void) { return g_head != g_tail; }

uint8_t uart_read(uint8_t *byte)
{
	if (g_head == g_tail)
		return 0;
	*byte = g_rx[g_tail];
	g_tail = (uint8_t)((g_tail + 1u) & (RX_SIZE - 1u));
	return 1;
}

uint16_t uart_overruns(void)
{
	uint16_t v;
	uint8_t sreg = SREG;
	cli();
	v = g_overruns;
	SREG = sreg;
	return v;
}

void uart_write(uint8_t byte)
{
	loop_until_bit_is_set(UCSR0A, UDRE0);
	UCSR0A |= _BV(TXC0);
	UDR0 = byte;
	g_sent = 1;
}

void uart_print(const char *s)
{
	while (*s)
		uart_write((uint8_t)*s++);
}

void uart_print_P(const char *s)
{
	uint8_t c;
	while ((c = pgm_read_byte(s++)))
		uart_write(c);
}

void uart_print_uint(uint32_t v)
{
	char buf[11];
	uint8_t i = 0;
	do {
		buf[i++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v);
	while (i)
		uart_write((uint8_t)buf[--i]);
}

void uart_flush(void)
{
	if (g_sent)
		loop_until_bit_is_set(UCSR0A, TXC0);
}
