/* UART0 driver (see uart.h). 8N1, double speed for an accurate 115200 at 16 MHz. */
#include "uart.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/pgmspace.h>

#ifndef USART0_RX_vect
#define USART0_RX_vect USART_RX_vect /* ATmega328P names its only USART without a number */
#define USART0_UDRE_vect USART_UDRE_vect
#endif

#if (UART_RX_SIZE & (UART_RX_SIZE - 1u)) || UART_RX_SIZE > 256u
#error "UART_RX_SIZE must be a power of two <= 256"
#endif
#if (UART_TX_SIZE & (UART_TX_SIZE - 1u)) || UART_TX_SIZE > 256u || UART_TX_SIZE < 2u
#error "UART_TX_SIZE must be a power of two, 2..256"
#endif

/* UCSR0B with and without the data-register-empty interrupt: always written whole */
#define CTRL_IDLE (_BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0))
#define CTRL_SENDING (CTRL_IDLE | _BV(UDRIE0))
/* UCSR0A: double speed, and TXC0 cleared by writing it as 1. A plain write, never `|=`:
 * reading UCSR0A back would write FE0/DOR0/UPE0 as read (they must be written 0). */
#define STATUS_CLEAR_TXC (_BV(U2X0) | _BV(TXC0))

static volatile uint8_t g_rx[UART_RX_SIZE];
static volatile uint8_t g_rx_head, g_rx_tail; /* free-running; the index is & (size - 1) */
static volatile uint8_t g_rx_max;
static volatile uint16_t g_overruns;
static volatile uint8_t g_tx[UART_TX_SIZE];
static volatile uint8_t g_tx_head, g_tx_tail;
static uint16_t g_tx_max, g_tx_waits;
static volatile uint8_t g_sent; /* TXC0 means something only after a first byte */


static inline void count_overrun(void)
{
	if (g_overruns != 0xFFFFu)
		g_overruns++;
}

ISR(USART0_RX_vect)
{
	const uint8_t status = UCSR0A;
	const uint8_t byte = UDR0;
	const uint8_t head = g_rx_head;
	const uint8_t used = (uint8_t)(head - g_rx_tail);
	if (status & (_BV(DOR0) | _BV(FE0)))
		count_overrun(); /* a byte before this one was lost (DOR0), or this one is broken (FE0) */
	if (used >= (uint8_t)(UART_RX_SIZE - 1u)) { /* full (one slot stays free: 256 fits a uint8_t) */
		count_overrun();
		return;
	}
	g_rx[head & (UART_RX_SIZE - 1u)] = byte;
	g_rx_head = (uint8_t)(head + 1u);
	if ((uint8_t)(used + 1u) > g_rx_max)
		g_rx_max = (uint8_t)(used + 1u);
}

ISR(USART0_UDRE_vect)
{
	const uint8_t tail = g_tx_tail;
	if (tail == g_tx_head) {
		UCSR0B = CTRL_IDLE; /* nothing left: stop this interrupt until uart_write */
		return;
	}
	UCSR0A = STATUS_CLEAR_TXC;
	UDR0 = g_tx[tail & (UART_TX_SIZE - 1u)];
	g_tx_tail = (uint8_t)(tail + 1u);
	g_sent = 1;
}

void uart_init(uint32_t baud)
{
	const uint16_t ubrr = (uint16_t)((F_CPU + 4UL * baud) / (8UL * baud) - 1UL);
	UBRR0H = (uint8_t)(ubrr >> 8);
	UBRR0L = (uint8_t)ubrr;
	UCSR0A = _BV(U2X0);
	UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);
	UCSR0B = CTRL_IDLE;
}

uint8_t uart_available(void) { return g_rx_head != g_rx_tail; }

uint8_t uart_read(uint8_t *byte)
{
	const uint8_t tail = g_rx_tail;
	if (g_rx_head == tail)
		return 0;
	*byte = g_rx[tail & (UART_RX_SIZE - 1u)];
	g_rx_tail = (uint8_t)(tail + 1u);
	return 1;
}

uint16_t uart_overruns(void)
{
	uint16_t v;
	const uint8_t sreg = SREG;
	cli();
	v = g_overruns;
	SREG = sreg;
	return v;
}

uint8_t uart_rx_max(void) { return g_rx_max; }
uint16_t uart_tx_max(void) { return g_tx_max; }
uint16_t uart_tx_waits(void) { return g_tx_waits; }

/* Bytes queued for transmission (0..UART_TX_SIZE - 1). */
static uint16_t tx_used(void)
{
	return (uint8_t)(g_tx_head - g_tx_tail) & (UART_TX_SIZE - 1u);
}

void uart_write(uint8_t byte)
{
	const uint8_t head = g_tx_head;
	if (tx_used() >= UART_TX_SIZE - 1u) { /* full: wait for the interrupt to make room */
		if (g_tx_waits != 0xFFFFu)
			g_tx_waits++;
		while (tx_used() >= UART_TX_SIZE - 1u) {
			if (!(SREG & _BV(SREG_I)) && (UCSR0A & _BV(UDRE0))) {
				/* called with interrupts off: move a byte ourselves instead of waiting forever */
				UCSR0A = STATUS_CLEAR_TXC;
				UDR0 = g_tx[g_tx_tail & (UART_TX_SIZE - 1u)];
				g_tx_tail = (uint8_t)(g_tx_tail + 1u);
				g_sent = 1;
			}
		}
	}
	g_tx[head & (UART_TX_SIZE - 1u)] = byte;
	g_tx_head = (uint8_t)(head + 1u);
	const uint16_t used = tx_used();
	if (used > g_tx_max)
		g_tx_max = used;
	UCSR0B = CTRL_SENDING; /* the interrupt sends it (a plain write: the ISR may clear UDRIE0) */
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
	while (g_tx_head != g_tx_tail)
		;
	if (g_sent)
		loop_until_bit_is_set(UCSR0A, TXC0);
}
