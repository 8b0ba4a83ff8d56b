/*
 * tbfront_state.h: the state of the streaming front end (included by tbfront.h).
 * The caller allocates one tbf_state_t (static, never on a small stack) and
 * never touches its fields. Sizes and constants: see README.md.
 */
#ifndef TBFRONT_STATE_H
#define TBFRONT_STATE_H

#include <stdint.h>

#define TBF_RING 256u     /* 125 Hz history of the beat-window signal y4 (2.05 s) */
#define TBF_HIST 32u      /* short 125 Hz histories of the detector filters */
#define TBF_QUEUE 6u      /* beats detected but not yet complete */
#define TBF_RR_N 10u      /* RR intervals remembered */
#define TBF_AMP_N 8u      /* beat amplitudes remembered */

typedef struct {
	uint32_t r;        /* R peak, 125 Hz sample index within the segment */
	uint32_t r_in;     /* R peak, input sample index since tbf_init */
	uint16_t pre125;   /* RR before, 125 Hz samples (0: none) */
	uint16_t pre_in;   /* RR before, input samples */
	uint16_t post125;  /* RR after, 125 Hz samples (valid with TBF_Q_POST) */
	uint16_t post_in;  /* RR after, input samples */
	uint16_t avg_in;   /* mean RR, input samples */
	uint16_t sum125;   /* sum of the RR intervals behind the mean, 125 Hz samples */
	uint8_t n_rr;      /* how many */
	uint8_t len;       /* beat window length, 125 Hz samples (valid with TBF_Q_POST) */
	uint8_t flags;     /* TBF_BEAT_* | TBF_Q_POST */
} tbf_pending_t;

typedef struct {
	/* configuration */
	uint16_t fs;        /* input rate, Hz */
	uint16_t gain;      /* resampler gain: round(m0 * 65536 / 375) */
	uint8_t l0;         /* pre-filter length, input samples (1..3) */
	uint8_t pre125;     /* pre-filter delay, 1/125 input samples */
	uint8_t block_len;  /* signal-check block, input samples (fs / 4) */

	/* signal state */
	uint8_t state;      /* tbf_signal_t */
	uint8_t active;     /* the detector runs (state OK and started) */
	uint8_t b_count;
	uint8_t b_lead_off;
	uint8_t flat_blocks;
	uint16_t b_min, b_max;
	uint32_t n_in;      /* input samples since tbf_init */
	uint32_t seg_start; /* input index of the first sample of the current segment */
	uint16_t dropped;   /* beats dropped (signal lost, queue full), saturating */

	/* resampler (input rate -> 125 Hz) */
	uint32_t n_seg;     /* input samples in the segment */
	int16_t due;
	uint16_t codes[2];
	uint16_t pre_prev;

	/* 125 Hz filters */
	uint32_t k;         /* 125 Hz samples in the segment */
	int16_t lp1h[8];
	int16_t lp1;
	int32_t lp2;
	int32_t s21;
	uint32_t mwi, mwi1, mwi2;
	int16_t ring[TBF_RING];   /* y4 */
	uint16_t lph[TBF_HIST];
	int16_t bph[TBF_HIST];
	uint16_t sqh[TBF_HIST];

	/* detector */
	uint16_t qbuf[8], nbuf[8];  /* last 8 QRS / noise peak heights (saturated) */
	uint8_t qpos, npos;
	uint32_t lmax;
	uint32_t hold_h, hold_r, hold_until; /* pre-blanking: the peak held */
	uint16_t hold_slope;
	uint8_t hold_valid;
	uint32_t last_r, last_conf, quiet_ref, sb_r;
	uint32_t sb_h;
	uint16_t last_slope, sb_slope, sb_lim;
	uint8_t have_last, sb_valid;

	/* rhythm */
	uint16_t rr125[TBF_RR_N];
	uint16_t rrin[TBF_RR_N];
	uint8_t rr_count, rr_head;
	uint32_t last_r_in;
	uint16_t amp[TBF_AMP_N];
	uint8_t amp_count, amp_head;

	/* beats waiting to complete */
	tbf_pending_t q[TBF_QUEUE];
	uint8_t q_head, q_count;
} tbf_state_t;

#endif /* TBFRONT_STATE_H */
