/*
 * Board wiring: the only board-specific part of the firmware.
 * A new AVR board needs an entry here and an env in platformio.ini.
 */
#ifndef BOARD_H
#define BOARD_H

#include <avr/io.h>

#if defined(__AVR_ATmega2560__)
/* Arduino Mega 2560: pin 13 (on-board "L" LED) = PB7, pin 12 = PB6 */
#define BOARD_LED_DDR DDRB
#define BOARD_LED_PORT PORTB
#define BOARD_LED_NORMAL _BV(PB7)
#define BOARD_LED_ABNORMAL _BV(PB6)
#elif defined(__AVR_ATmega328P__)
/* Arduino Uno: pin 13 (on-board "L" LED) = PB5, pin 12 = PB4 */
#define BOARD_LED_DDR DDRB
#define BOARD_LED_PORT PORTB
#define BOARD_LED_NORMAL _BV(PB5)
#define BOARD_LED_ABNORMAL _BV(PB4)
#else
#error "unknown board: add its LED pins to src/board.h"
#endif

#define BOARD_UART_BAUD 115200UL

#endif /* BOARD_H */
