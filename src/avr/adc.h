/*
 * Timer-driven ADC sampling for stream mode.
 *
 * Timer0 (CTC) interrupts at the sample rate and starts a conversion; the ADC
 * interrupt stores the 10-bit code and the lead-off pins (AD8232 LO+ / LO-) in
 * a ring buffer. Nothing else happens in interrupt context. The period is
 * F_CPU / rate exactly on average: Timer0 counts F_CPU/256 (or /1024 for low
 * rates) ticks and alternates between floor and ceil periods (a
 * Bresenham-style accumulator), so samples never drift against the crystal.
 *
 * A sample is lost when the ring is full (the main loop fell behind) or when
 * the timer fires before the previous conversion was read; both are counted.
 */
#ifndef ADC_H
#define ADC_H

#include <stdint.h>

#define ADC_RING_SIZE 16u     /* samples; a power of two */
#define ADC_SAMPLE_LEAD_OFF 0x8000u /* flag in a ring entry: LO+ or LO- was high */

/* Start sampling channel (0..BOARD_ADC_CHANNELS-1) at rate_hz (periods of 2..255 Timer0 ticks at
 * F_CPU/256 or F_CPU/1024: 32..31250 Hz at 16 MHz; the front end takes 125..360 Hz).
 * Returns 0 on success, 1 if the rate cannot be made with Timer0. */
uint8_t adc_stream_start(uint8_t channel, uint16_t rate_hz);
void adc_stream_stop(void);
/* 1 and the oldest sample (code | ADC_SAMPLE_LEAD_OFF) in *sample, or 0 when the ring is empty. */
uint8_t adc_stream_read(uint16_t *sample);
/* 1 when samples are waiting (call with interrupts disabled for a race-free sleep). */
uint8_t adc_stream_available(void);
/* Samples lost since adc_stream_start (ring overflow or a conversion not read in time). */
uint32_t adc_stream_missed(void);
/* Most samples ever waiting in the ring since adc_stream_start. */
uint8_t adc_stream_ring_max(void);

#endif /* ADC_H */
