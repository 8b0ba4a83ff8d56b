/*
 * UART0 driver: interrupt-driven receive and transmit, each through a ring.
 *
 * Why both directions are buffered (numbers at 115200 baud, 86.8 us per byte):
 * in ADC stream mode one beat keeps the main loop busy for up to 2.8 ms of
 * front end + classifier; with a blocking transmit its BEAT frame (38 B,
 * 3.3 ms) and a STATUS frame (42 B, 3.6 ms) added up to ~10 ms, i.e. ~112
 * received bytes, more than the 64-byte receive ring. With the transmit ring
 * the main loop only copies the frame bytes (~0.1 ms) and the longest stretch
 * without draining the receive ring is the computation: ~33 bytes. The
 * receive high-water mark (uart_rx_max) measures that margin on the running
 * board and is reported in the stream statistics.
 *
 * uart_write blocks only while the transmit ring is full (counted in
 * uart_tx_waits): the ring holds the largest burst of one sample's events
 * plus a reply on the Mega (UART_TX_SIZE 256); the Uno's 2 KB leave room for
 * 32 bytes, so a BEAT frame waits ~0.6 ms there (stream.c never sends a STATUS
 * frame in the same sample as a BEAT: together they waited ~4 ms).
 */
#ifndef UART_H
#define UART_H

#include <stdint.h>

#ifndef UART_RX_SIZE
#define UART_RX_SIZE 64u /* bytes, a power of two <= 256 */
#endif
#ifndef UART_TX_SIZE
#if defined(__AVR_ATmega328P__)
#define UART_TX_SIZE 32u /* the Uno: what its 2 KB SRAM leave */
#else
#define UART_TX_SIZE 256u
#endif
#endif

void uart_init(uint32_t baud);
/* 1 and the next received byte in *byte, or 0 when nothing is waiting. */
uint8_t uart_read(uint8_t *byte);
/* 1 when received bytes are waiting (call with interrupts disabled for a race-free sleep). */
uint8_t uart_available(void);
/* Received bytes lost since boot: the receive ring was full, or the USART flagged a data
 * overrun or a framing error (a byte that arrived broken). Saturates at 65535. */
uint16_t uart_overruns(void);
/* Most bytes ever waiting in the receive / transmit ring since boot. */
uint8_t uart_rx_max(void);
uint16_t uart_tx_max(void);
/* Times uart_write found the transmit ring full and waited (saturates at 65535). */
uint16_t uart_tx_waits(void);
void uart_write(uint8_t byte);
void uart_print(const char *s); /* a string in RAM */
void uart_print_P(const char *s); /* a string in flash (PSTR) */
void uart_print_uint(uint32_t v);
/* Waits until every queued byte has left the shift register. */
void uart_flush(void);

#endif /* UART_H */
