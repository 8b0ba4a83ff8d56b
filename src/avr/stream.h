/*
 * Stream mode: raw ECG samples (from the ADC or from SAMPLES frames) through
 * the front end (lib/tbfront), every complete beat classified with the model,
 * one BEAT event frame per beat, SIGNAL event frames on signal state changes,
 * a STATUS event frame per second of samples (README "Serial protocol").
 *
 * Boot default: off (TB_STREAM_AT_BOOT=0) so a host always starts a stream
 * itself, at sample 0; build with -D TB_STREAM_AT_BOOT=1 for a standalone
 * device that samples A0 at 360 Hz from power-up and shows verdicts on the LEDs.
 */
#ifndef STREAM_H
#define STREAM_H

#include <stdint.h>

#include "tbproto.h"
#include "tinybeat.h"

#ifndef TB_STREAM_AT_BOOT
#define TB_STREAM_AT_BOOT 0
#endif

/* Provided by main.c. */
void send_frame(uint8_t type, uint8_t seq, uint8_t error, const uint8_t *payload, uint8_t size);
void send_error(uint8_t seq, uint8_t error, uint8_t request_type);
/* ERROR frame TBP_E_ENGINE: payload {request_type, status} (a tb_status_t other than TB_OK). */
void send_engine_error(uint8_t seq, uint8_t request_type, uint8_t status);
void leds_show(uint8_t abnormal);
/* The generated model (one copy: tinybeat_model.h defines it static, so only main.c includes it). */
const tb_model_t *firmware_model(void);

/* 1 for the frame types stream.c answers (STREAM_START/STOP, SAMPLES, STREAM_STATS). */
uint8_t stream_owns(uint8_t type);
/* Answer one of those requests (its seq already accepted). */
void stream_request(const tbp_frame_t *f);
/* Start streaming from the ADC (source TBP_SRC_ADC) or the host; 0 = ok, else a TBP_E_* code. */
uint8_t stream_start(uint8_t source, uint8_t channel, uint16_t rate_hz);
/* Main loop: process the samples the ADC has stored. */
void stream_poll(void);
/* 1 when ADC samples are waiting (call with interrupts disabled, before sleeping). */
uint8_t stream_pending(void);

#endif /* STREAM_H */
