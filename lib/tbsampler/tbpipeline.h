/*
 * tbpipeline: what happens to every ECG sample, the one copy used by the bare
 * firmware's stream mode (src/avr/stream.c, samples from the ADC or from the
 * host) and the Arduino library's sensor (TinyBeatSensor.cpp).
 *
 * A sample goes through the front end (lib/tbfront); a complete beat with
 * rhythm context (no TBF_BEAT_NO_PRE flag) is classified by the model when it
 * takes the front end's 193 inputs or its 187-byte beat window. Lead-off
 * samples reach the front end as code 0 with the flag (as the Python
 * reference). CPU cycles per sample are measured with tbs_span_* (front end +
 * classifier). One pipeline per program: its state (about 1.3 KB: the front
 * end's state and the beat, aligned for the tree kernels where
 * TB_INPUT_ALIGN says so) is static here, so a program that never calls
 * tbpl_start links none of it. The front end writes the beat only when it
 * completes one, so between pushes the buffer can serve as scratch.
 */
#ifndef TBPIPELINE_H
#define TBPIPELINE_H

#include <stdint.h>

#include "tbfront.h"
#include "tinybeat.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why a beat has no verdict (tbpl_verdict_t.reason); TinyBeatArduino's TINYBEAT_* reasons. */
enum {
	TBPL_CLASSIFIED = 0,
	TBPL_NO_RHYTHM = 1,    /* the first beat after the start or after the signal came back */
	TBPL_MODEL_INPUTS = 2, /* the model takes neither the 193 inputs nor the 187-byte window */
	TBPL_ENGINE_ERROR = 3  /* the engine refused the beat: status says why */
};

/* The last beat (valid after tbpl_push returned TBF_EV_BEAT, until the next push). */
typedef struct {
	const tbf_beat_t *beat; /* positions, RR, flags and the 193 inputs */
	uint8_t klass;          /* the model's class, TB_CLASS_NONE without a verdict */
	uint8_t reason;         /* TBPL_CLASSIFIED or why there is no verdict */
	uint8_t status;         /* tb_status_t: TB_OK unless reason is TBPL_ENGINE_ERROR */
	int32_t score;          /* the model's score, 0 without a verdict */
} tbpl_verdict_t;

/* Counts since tbpl_start. */
typedef struct {
	uint32_t samples;       /* samples pushed */
	uint32_t beats;         /* beats reported (with or without a verdict) */
	uint32_t cycles;        /* CPU cycles of the last push: front end + classifier */
	uint32_t max_cycles;    /* the most one push took */
	uint16_t engine_errors; /* beats the engine refused (saturates) */
} tbpl_counts_t;

/* (Re)start at fs Hz (TBF_FS_MIN..TBF_FS_MAX) with model (NULL: beats without verdicts).
 * 0 on success, 1 if the front end refuses fs. */
uint8_t tbpl_start(uint16_t fs, const tb_model_t *model);
/* One sample: a 10-bit ADC code (larger values are clamped) and the lead-off flag.
 * TBF_EV_BEAT: tbpl_last() holds the beat; TBF_EV_SIGNAL: tbpl_signal() changed. */
tbf_event_t tbpl_push(uint16_t code, uint8_t lead_off);
const tbpl_verdict_t *tbpl_last(void);
const tbpl_counts_t *tbpl_counts(void);
tbf_signal_t tbpl_signal(void);
/* Beats the front end dropped since tbpl_start (tbf_dropped). */
uint16_t tbpl_dropped(void);
/* The beat buffer (TBPL_SCRATCH_SIZE bytes, aligned as TB_INPUT_ALIGN) for a caller's own use
 * between pushes, e.g. an aligned copy of a classifier input: it ends tbpl_last()'s beat. */
#define TBPL_SCRATCH_SIZE (sizeof(tbf_beat_t))
uint8_t *tbpl_scratch(void);

#ifdef __cplusplus
}
#endif

#endif /* TBPIPELINE_H */
