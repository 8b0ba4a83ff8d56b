/* UART0 driver: interrupt-driven receive into a ring buffer, blocking transmit. */
#ifndef UART_H
#define UART_H

#include <stdint.h>

void uart_init(uint32_t baud);
/* 1 and the next received byte in *byte, or 0 when nothing is waiting. */
uint8_t uart_read(uint8_t *byte);
/* 1 when received bytes are waiting (call with interrupts disabled for a race-free sleep). */
uint8_t uart_available(void);
/* Receive-buffer overruns since boot (bytes lost because the buffer was full). */
uint16_t uart_overruns(void);
void uart_write(uint8_t byte);
void uart_print(const char *s); /* a string in RAM */
void uart_print_P(const char *s); /* a string in flash (PSTR) */
void uart_print_uint(uint32_t v);
void uart_flush(void);

#endif /* UART_H */
