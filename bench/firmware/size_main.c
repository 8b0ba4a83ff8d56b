/*
 * Size probe: the smallest useful application around one model, so that flash
 * and static RAM can be compared between engines with the same harness.
 *
 * It reads BENCH_N_INPUTS bytes from UART0 (the beat, as the device's input
 * bytes), calls the model, and writes back one byte (the class), forever.
 * bench_model.h provides `static uint8_t bench_app_predict(const uint8_t *raw)`;
 * for the empty baseline it just returns raw[0]. Built by bench/run_bench.py with
 * -DBENCH_SIZE_PROBE -DBENCH_N_INPUTS=<n> and the firmware's avr-gcc flags; it is
 * only linked and measured (avr-size, avr-nm), never run.
 */
#include <avr/io.h>
#include <stdint.h>

#include "bench_model.h"

#define PROBE_BAUD 115200UL
#define PROBE_UBRR ((F_CPU + 4UL * PROBE_BAUD) / (8UL * PROBE_BAUD) - 1UL)

static uint8_t g_raw[BENCH_N_INPUTS];

static uint8_t uart_getc(void)
{
	loop_until_bit_is_set(UCSR0A, RXC0);
	return UDR0;
}

static void uart_putc(uint8_t c)
{
	loop_until_bit_is_set(UCSR0A, UDRE0);
	UDR0 = c;
}

int main(void)
{
	UBRR0H = (uint8_t)(PROBE_UBRR >> 8);
	UBRR0L = (uint8_t)PROBE_UBRR;
	UCSR0A = (uint8_t)_BV(U2X0);
	UCSR0B = (uint8_t)(_BV(RXEN0) | _BV(TXEN0));
	UCSR0C = (uint8_t)(_BV(UCSZ01) | _BV(UCSZ00));
	for (;;) {
		for (uint16_t i = 0; i < BENCH_N_INPUTS; i++)
			g_raw[i] = uart_getc();
		uart_putc(bench_app_predict(g_raw));
	}
}
