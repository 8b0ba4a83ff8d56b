/*
 * Timer1 while TinyBeat samples the ECG: CTC mode, one compare interrupt per
 * sample. Shared by the sensor (TinyBeatSensor.cpp, which owns the interrupt)
 * and classify(), which counts cycles on the running timer instead of
 * reprogramming it. Internal to the library.
 */
#ifndef TINYBEAT_TIMER_H
#define TINYBEAT_TIMER_H

#include <stdint.h>

extern volatile uint32_t tinybeat_timer_ticks; /* compare matches since the timer started */
extern uint8_t tinybeat_timer_on;              /* 1 while the sensor owns Timer1 */
extern uint16_t tinybeat_timer_top;            /* OCR1A: period - 1, in timer counts */
extern uint8_t tinybeat_timer_prescale;        /* CPU cycles per timer count: 1 or 8 */

static inline uint8_t tinybeat_timer_running(void) { return tinybeat_timer_on; }

/* CPU cycles since the timer started (wraps after 2^32 cycles, 268 s at 16 MHz). */
uint32_t tinybeat_timer_cycles(void);

#endif /* TINYBEAT_TIMER_H */
