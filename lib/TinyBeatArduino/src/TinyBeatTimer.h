/*
 * Timer1 while TinyBeat samples the ECG: CTC mode, one compare interrupt per
 * sample. The period is q or q + 1 timer counts (an accumulator spreads the
 * remainder of F_CPU / rate), so the average rate is exact, e.g. 360.000 Hz
 * from 16 MHz. Shared by the sensor (TinyBeatSensor.cpp, which owns the
 * interrupt) and classify(), which counts cycles on the running timer instead
 * of reprogramming it. Internal to the library.
 */
#ifndef TINYBEAT_TIMER_H
#define TINYBEAT_TIMER_H

#include <stdint.h>

extern volatile uint32_t tinybeat_timer_base;   /* timer counts before the current period */
extern volatile uint16_t tinybeat_timer_period; /* timer counts of the current period */
extern uint8_t tinybeat_timer_on;               /* 1 while the sensor owns Timer1 */
extern uint8_t tinybeat_timer_prescale;         /* CPU cycles per timer count: 1 or 8 */

static inline uint8_t tinybeat_timer_running(void) { return tinybeat_timer_on; }

/* CPU cycles since the timer started (wraps after 2^32 timer counts: 268 s at 16 MHz). */
uint32_t tinybeat_timer_cycles(void);

#endif /* TINYBEAT_TIMER_H */
