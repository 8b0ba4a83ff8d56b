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
/* AD8232 module (SparkFun hookup): OUTPUT -> A0, LO+ -> D10 = PB4, LO- -> D11 = PB5 */
#define BOARD_LO_DDR DDRB
#define BOARD_LO_PORT PORTB
#define BOARD_LO_PIN PINB
#define BOARD_LO_PLUS _BV(PB4)
#define BOARD_LO_MINUS _BV(PB5)
#define BOARD_ADC_CHANNELS 16u /* A0..A15 */
#elif defined(__AVR_ATmega328P__)
/* Arduino Uno: pin 13 (on-board "L" LED) = PB5, pin 12 = PB4 */
#define BOARD_LED_DDR DDRB
#define BOARD_LED_PORT PORTB
#define BOARD_LED_NORMAL _BV(PB5)
#define BOARD_LED_ABNORMAL _BV(PB4)
/* AD8232 module (SparkFun hookup): OUTPUT -> A0, LO+ -> D10 = PB2, LO- -> D11 = PB3 */
#define BOARD_LO_DDR DDRB
#define BOARD_LO_PORT PORTB
#define BOARD_LO_PIN PINB
#define BOARD_LO_PLUS _BV(PB2)
#define BOARD_LO_MINUS _BV(PB3)
#define BOARD_ADC_CHANNELS 6u /* A0..A5 */
#else
#error "unknown board: add its LED pins to src/board.h"
#endif

#define BOARD_UART_BAUD 115200UL
#define BOARD_ECG_CHANNEL 0u   /* A0: the default ECG input */
#define BOARD_ECG_RATE_HZ 360u /* the default sample rate */

#endif /* BOARD_H */
