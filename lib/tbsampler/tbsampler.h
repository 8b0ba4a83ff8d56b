/*
 * tbsampler: ECG sampling on an AVR, the one copy used by the bare firmware
 * (src/avr/stream.c) and the Arduino library (TinyBeatSensor.cpp).
 *
 * Timer1 (CTC) interrupts once per sample period: it reads the lead-off pins
 * and starts a conversion; the ADC interrupt, 13 ADC clocks (104 us at
 * 16 MHz) later, queues the 10-bit code with the lead-off flag in a ring.
 * Nothing else runs in interrupt context. The period is q or q + 1 timer
 * counts (a Bresenham accumulator spreads the remainder of F_CPU / rate), so
 * the average rate is exact, e.g. 360.000 Hz from 16 MHz, and sample 0 is
 * taken at tbs_start.
 *
 * The conversion is started with a plain write of ADCSRA (ADSC set, ADIF
 * written 0). A read-modify-write (`ADCSRA |= _BV(ADSC)`) would write a
 * pending ADIF back as 1, which clears it: that conversion's interrupt, and
 * its sample, would be lost.
 *
 * A sample is lost when the ring is full (the main loop fell behind) or when
 * the timer fires before the previous conversion finished; both are counted
 * (tbs_missed). While sampling, Timer1 and the ADC belong to tbsampler;
 * tbs_span_* measure CPU cycles on the running Timer1 then, and with tbavr's
 * Timer1 counter otherwise.
 */
#ifndef TBSAMPLER_H
#define TBSAMPLER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef TBS_RING_SIZE
#define TBS_RING_SIZE 32u /* samples, a power of two <= 128: 89 ms at 360 Hz */
#endif
#define TBS_LEAD_OFF 0x8000u /* flag in a queued sample: LO+ or LO- was high */

enum {
	TBS_OK = 0,
	TBS_E_RATE = 1,   /* 0 Hz, or a period Timer1 cannot make (32 counts .. 65535 x 8) */
	TBS_E_CHANNEL = 2 /* not an ADC channel of this MCU */
};

/* A lead-off input: the PINx register and the pin's bit mask; mask 0 = no such pin. */
typedef struct {
	volatile uint8_t *pin;
	uint8_t mask;
} tbs_pin_t;

/* Start sampling ADC channel (0..7, or 0..15 on parts with MUX5) at rate_hz against AVcc,
 * the lead-off pins read at each sample. Stops a running sampler first. TBS_OK or an error. */
uint8_t tbs_start(uint8_t channel, uint16_t rate_hz, tbs_pin_t lo_plus, tbs_pin_t lo_minus);
/* Stop the timer and the ADC interrupt (the ADC stays enabled, as the Arduino core leaves it). */
void tbs_stop(void);
uint8_t tbs_running(void);
/* 1 and the oldest sample (code | TBS_LEAD_OFF) in *sample, or 0 when the ring is empty. */
uint8_t tbs_read(uint16_t *sample);
/* 1 when samples are waiting (call with interrupts disabled for a race-free sleep). */
uint8_t tbs_available(void);
/* Samples lost since tbs_start (ring full, or a conversion not finished in time). */
uint32_t tbs_missed(void);
/* Most samples ever waiting in the ring since tbs_start. */
uint8_t tbs_ring_max(void);

/* CPU cycles of a span, whoever owns Timer1: t0 = tbs_span_begin(); ...; n = tbs_span_end(t0).
 * On the sampler's timer (resolution 1 or 8 cycles) while sampling, else on tbavr's counter
 * (started and stopped here). Spans must not nest or cross tbs_start / tbs_stop. */
uint32_t tbs_span_begin(void);
uint32_t tbs_span_end(uint32_t t0);

#ifdef __cplusplus
}
#endif

#endif /* TBSAMPLER_H */
