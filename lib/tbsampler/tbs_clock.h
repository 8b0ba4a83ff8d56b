/*
 * Internal to tbsampler: Timer1's count while the sampler owns it, shared by
 * the sampler's interrupt (tbsampler.c) and the cycle spans (tbs_clock.c).
 * Kept apart so a program that only measures cycles (TinyBeatArduino's
 * classify() in a sketch that never samples) links no interrupt and no ring.
 */
#ifndef TBS_CLOCK_H
#define TBS_CLOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

extern volatile uint32_t tbs_clock_base;   /* timer counts before the current period */
extern volatile uint16_t tbs_clock_period; /* timer counts of the current period */
extern uint8_t tbs_clock_prescale;         /* CPU cycles per timer count: 1 or 8 */
extern uint8_t tbs_clock_on;               /* 1 while the sampler owns Timer1 */
extern uint32_t tbs_clock_overhead;        /* cycles of a back-to-back tbs_clock_cycles pair */

/* CPU cycles since the sampler started (wraps after 2^32 timer counts: 268 s at 16 MHz). */
uint32_t tbs_clock_cycles(void);

#ifdef __cplusplus
}
#endif

#endif /* TBS_CLOCK_H */
