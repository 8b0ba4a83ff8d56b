/*
 * tbfront: the streaming ECG front end (integer-only, no heap, one sample in at a time).
 *
 * CONTRACT between the firmware, the Python reference (python/tinybeat/frontend)
 * and the tests. The Python reference computes the same integers, beat for beat.
 *
 * Input: one 10-bit ADC sample (0..1023) at a time, at the rate given to
 * tbf_init (125..360 Hz; 125, 250 and 360 Hz are tested). Larger values are
 * hostile input: they are clamped to 1023 and count as saturated.
 *
 * Output: a tbf_beat_t for every detected beat once it is complete (beats still
 * waiting when the signal is lost are dropped and counted: tbf_dropped). A beat is
 * complete when the next R peak has been detected (it gives rr_post) and its window
 * is full, so a beat is reported about one RR interval plus ~0.4 s later; at most
 * 2 s after its R peak (then with TBF_BEAT_PAUSE). At most one beat per tbf_push.
 * The first 2 s after tbf_init and after the signal comes back are learning: no beats.
 *
 * Classifier input x[] (TBF_N_INPUTS bytes), identical to training:
 *   x[0..186]   the beat window: the input resampled to 125 Hz (linear
 *               interpolation after a round(fs/125)-sample moving average),
 *               starting at the R peak (located on the band-passed signal, 8 ms
 *               grid), round(1.2 * T) samples long (T = lower median of the last
 *               up to 8 RR intervals, post-RR included, in 125 Hz samples), capped
 *               at 187 and zero-padded to 187; min-max scaled to 0..255 over the
 *               window's own samples (the padding stays 0; a flat window is all 0).
 *   x[187]      pre-RR  in 8 ms units (125 Hz samples), clamped to 255 (0 without pre-RR)
 *   x[188]      post-RR in 8 ms units, clamped to 255
 *   x[189]      average RR (mean of the last up to 10 RR intervals, pre-RR included), 8 ms units
 *               (without pre-RR: the post-RR)
 *   x[190]      64 * pre-RR / average RR, rounded, clamped to 255 (0 without pre-RR)
 *   x[191]      64 * post-RR / average RR, rounded, clamped to 255
 *   x[192]      64 * this beat's peak-to-peak amplitude / mean of the last up to 8
 *               beats' (this one included), rounded, clamped to 255
 *   RR values in the averages are clamped to 8 s. lib/tbfront/README.md has the details.
 *
 * Signal state: lead-off (from the caller's lead-off input), flat or saturated
 * signal are reported as a state change (TBF_EV_SIGNAL), never as beats; the
 * detector relearns after the signal comes back. The state is decided once per
 * quarter second (block of (fs + 2) / 4 samples): LEAD_OFF if any sample of the
 * block had lead-off, FLAT / SATURATED after 8 blocks in a row spanning at most
 * 2 codes (SATURATED when at a rail: <= 1 or >= 1022), else OK.
 *
 * Sample indices wrap after 2^32 input samples (138 days at 360 Hz): out of scope.
 */
#ifndef TBFRONT_H
#define TBFRONT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TBF_WINDOW_HZ 125u
#define TBF_BEAT_LEN 187u
#define TBF_N_FEATURES 6u
#define TBF_N_INPUTS (TBF_BEAT_LEN + TBF_N_FEATURES) /* 193 */
/* Whether a model of n inputs can classify the front end's beats: it takes all TBF_N_INPUTS bytes,
 * or the TBF_BEAT_LEN-byte window alone (the first bytes of x). The one rule, used by every firmware
 * (python/tinybeat/frontend/params.py takes_beats is its twin). */
#define TBF_MODEL_TAKES_BEATS(n) ((n) == TBF_N_INPUTS || (n) == TBF_BEAT_LEN)
#define TBF_ADC_MAX 1023u
#define TBF_FS_MIN 125u
#define TBF_FS_MAX 360u

typedef enum {
	TBF_OK = 0,
	TBF_E_RATE = 1, /* sample rate outside TBF_FS_MIN..TBF_FS_MAX */
	TBF_E_ARG = 2   /* a NULL pointer */
} tbf_status_t;

typedef enum {
	TBF_EV_NONE = 0,   /* nothing to report */
	TBF_EV_BEAT = 1,   /* *beat holds a complete beat */
	TBF_EV_SIGNAL = 2  /* the signal state changed: see tbf_signal() */
} tbf_event_t;

typedef enum {
	TBF_SIG_OK = 0,        /* beats are being detected */
	TBF_SIG_LEAD_OFF = 1,  /* the caller reported lead-off */
	TBF_SIG_FLAT = 2,      /* no variation: no signal */
	TBF_SIG_SATURATED = 3  /* stuck at a rail of the ADC */
} tbf_signal_t;

/* tbf_beat_t.flags. A NO_PRE beat has no rhythm context: it is reported, not classified. A PAUSE
 * beat is classified (the training data holds such beats too, with the same post-RR rule). */
#define TBF_BEAT_NO_PRE 0x01u  /* first beat after init or after the signal came back: no pre-RR */
#define TBF_BEAT_PAUSE 0x02u   /* no next R within 2 s: rr_post is the time waited (2 s), not an RR */

typedef struct {
	uint8_t x[TBF_N_INPUTS]; /* the classifier's inputs (first: a caller may align the struct for x) */
	uint32_t r_sample;  /* index of the R peak, in input samples since tbf_init */
	uint16_t rr_pre;    /* RR interval before the beat, input samples */
	uint16_t rr_post;   /* RR interval after the beat, input samples */
	uint16_t rr_avg;    /* mean of the last up to 10 RR intervals (rr_pre included), input samples */
	uint16_t hr_x10;    /* heart rate from rr_avg, beats per minute x 10 */
	uint8_t flags;      /* TBF_BEAT_*: 0 for a beat with full rhythm context */
} tbf_beat_t;

/* The state is the implementation's (lib/tbfront/tbfront_state.h); the caller allocates it. */
#include "tbfront_state.h"

/* Reset the state for a sample rate of fs_hz (TBF_FS_MIN..TBF_FS_MAX). */
tbf_status_t tbf_init(tbf_state_t *s, uint16_t fs_hz);

/*
 * Push one sample. lead_off != 0 means the analog front end reports lead-off
 * (AD8232 LO+ / LO-). Returns TBF_EV_BEAT when *beat was filled, TBF_EV_SIGNAL
 * when the signal state changed, else TBF_EV_NONE. Never fails for any input.
 */
tbf_event_t tbf_push(tbf_state_t *s, uint16_t adc, uint8_t lead_off, tbf_beat_t *beat);

/* Current signal state. */
tbf_signal_t tbf_signal(const tbf_state_t *s);

/* Beats detected but never reported (signal lost, or more than 6 waiting), saturating at 65535. */
uint16_t tbf_dropped(const tbf_state_t *s);

#ifdef __cplusplus
}
#endif

#endif /* TBFRONT_H */
