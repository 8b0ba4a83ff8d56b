/*
 * tbfront.c: streaming R-peak detector and beat former (integer only, no heap).
 *
 * The Python reference python/tinybeat/frontend computes the same integers;
 * README.md describes the algorithm. Sample counts wrap after 2^32 input
 * samples (~138 days at 360 Hz): out of scope.
 *
 * Right shifts of negative int32 values are arithmetic (floor) on gcc and
 * avr-gcc, as in Python; the typedef below refuses other compilers' behaviour.
 */
#include "tbfront.h"

typedef char tbf_arith_shift_check[((-7 >> 1) == -4) ? 1 : -1];

/* 125 Hz timing constants */
#define LEARN 250u      /* 2 s learning after every (re)start */
#define REFRACT 25      /* 200 ms */
#define TWAVE 45        /* 360 ms */
#define PAUSE 250u      /* 2 s without a next R: the beat is reported with TBF_BEAT_PAUSE */
#define QUIET 375u      /* 3 s without a QRS: thresholds halve */
#define HOLD 25u        /* pre-blanking, 200 ms */
#define TH_NUM 3        /* threshold: noise + TH_NUM/16 (qrs - noise) */
#define SB_NUM 53u      /* search-back after SB_NUM/32 (1.66) x the mean RR */
#define MWI_N 19u       /* 152 ms moving-window integration */
#define R_SEARCH 25u    /* band-pass samples searched for the R peak */
#define BP_DELAY 14u    /* band-pass delay, 125 Hz samples */
#define WIN_DELAY 0u    /* beat-window signal (y4) delay */
#define RR_CAP125 1000u /* RR kept in the history, at most 8 s */
#define RR_CAPIN 6000u
/* signal check */
#define FLAT_TOL 2u
#define FLAT_BLOCKS 8u
#define RAIL_LO 1u
#define RAIL_HI 1022u

#define Q_POST 0x80u    /* internal: rr_post is known */

#define HM (TBF_HIST - 1u)
#define RM (TBF_RING - 1u)

static uint16_t min_u32_16(uint32_t v, uint16_t cap)
{
	return (v > cap) ? cap : (uint16_t)v;
}

static uint8_t sat8(uint32_t v)
{
	return (v > 255u) ? 255u : (uint8_t)v;
}

static void reset_detector(tbf_state_t *s)
{
	uint8_t i;
	s->n_seg = 0;
	s->due = 125;
	s->k = 0;
	s->mwi = s->mwi1 = s->mwi2 = 0;
	for (i = 0; i < 8u; i++)
		s->qbuf[i] = s->nbuf[i] = 0;
	s->qpos = s->npos = 0;
	s->lmax = 0;
	s->hold_h = s->hold_r = s->hold_until = 0;
	s->hold_slope = 0;
	s->hold_valid = 0;
	s->last_r = s->last_conf = s->quiet_ref = s->sb_r = 0;
	s->sb_h = 0;
	s->last_slope = s->sb_slope = 0;
	s->sb_lim = (uint16_t)((125u * SB_NUM) >> 5);
	s->have_last = s->sb_valid = 0;
	s->rr_count = s->rr_head = 0;
	s->last_r_in = 0;
	s->amp_count = s->amp_head = 0;
	for (i = 0; i < TBF_AMP_N; i++)
		s->amp[i] = 0;
	s->q_head = s->q_count = 0;
}

tbf_status_t tbf_init(tbf_state_t *s, uint16_t fs_hz)
{
	uint8_t m0;
	if (!s)
		return TBF_E_ARG;
	if (fs_hz < TBF_FS_MIN || fs_hz > TBF_FS_MAX)
		return TBF_E_RATE;
	s->fs = fs_hz;
	s->l0 = (uint8_t)((fs_hz + 62u) / 125u);
	m0 = (uint8_t)(12u / s->l0);
	s->gain = (uint16_t)(((uint32_t)m0 * 65536u + 187u) / 375u);
	s->pre125 = (uint8_t)(((uint16_t)(s->l0 - 1u) * 125u) / 2u);
	s->block_len = (uint8_t)((fs_hz + 2u) / 4u);
	s->state = TBF_SIG_OK;
	s->active = 0;
	s->b_count = 0;
	s->b_lead_off = 0;
	s->flat_blocks = 0;
	s->b_min = 0xFFFFu;
	s->b_max = 0;
	s->n_in = 0;
	s->seg_start = 0;
	s->dropped = 0;
	reset_detector(s);
	return TBF_OK;
}

tbf_signal_t tbf_signal(const tbf_state_t *s)
{
	return s ? (tbf_signal_t)s->state : TBF_SIG_LEAD_OFF;
}

uint16_t tbf_dropped(const tbf_state_t *s)
{
	return s ? s->dropped : 0u;
}

static void drop_pending(tbf_state_t *s, uint8_t n)
{
	uint16_t d = (uint16_t)(s->dropped + n);
	s->dropped = (d < s->dropped) ? 0xFFFFu : d;
}

/* ---- rhythm ---------------------------------------------------------------------- */

static void rr_push(tbf_state_t *s, uint16_t rr125, uint16_t rrin)
{
	s->rr125[s->rr_head] = rr125;
	s->rrin[s->rr_head] = rrin;
	s->rr_head = (uint8_t)((s->rr_head + 1u) % TBF_RR_N);
	if (s->rr_count < TBF_RR_N)
		s->rr_count++;
}

/* i-th most recent RR (0 = newest) */
static uint8_t rr_idx(const tbf_state_t *s, uint8_t i)
{
	return (uint8_t)((s->rr_head + TBF_RR_N - 1u - i) % TBF_RR_N);
}

/* median (lower middle) of `extra` (if has_extra) and the newest RR intervals, 8 values at most */
static uint16_t rr_median(const tbf_state_t *s, uint8_t has_extra, uint16_t extra)
{
	uint16_t v[8];
	uint8_t n = 0, i, j;
	if (has_extra)
		v[n++] = extra;
	for (i = 0; i < s->rr_count && n < 8u; i++)
		v[n++] = s->rr125[rr_idx(s, i)];
	for (i = 1; i < n; i++) {
		uint16_t x = v[i];
		j = i;
		while (j > 0 && v[j - 1] > x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
	return n ? v[(n - 1u) / 2u] : 0u;
}

static uint8_t window_len(uint16_t t)
{
	uint32_t len = ((uint32_t)t * 12u + 5u) / 10u;
	if (len > TBF_BEAT_LEN)
		len = TBF_BEAT_LEN;
	if (len < 1u)
		len = 1u;
	return (uint8_t)len;
}

static void update_sb_lim(tbf_state_t *s)
{
	uint32_t sum = 0;
	uint8_t i, n = (s->rr_count < 8u) ? s->rr_count : 8u;
	uint16_t avg = 125u;
	for (i = 0; i < n; i++)
		sum += s->rr125[rr_idx(s, i)];
	if (n)
		avg = (uint16_t)((sum + n / 2u) / n);
	s->sb_lim = (uint16_t)(((uint32_t)avg * SB_NUM) >> 5);
}

/* ---- beats ----------------------------------------------------------------------- */

/*
 * A new R peak at 125 Hz index r (input index r_in), detected at k: completes the
 * previous beat and queues this one, unless its window has left the ring (a
 * search-back found it PAUSE samples or more after the fact): then it only counts as dropped.
 */
static void add_beat(tbf_state_t *s, uint32_t r, uint32_t r_in, uint32_t k)
{
	tbf_pending_t *e;
	uint8_t i;
	uint8_t had = s->have_last;
	uint32_t rr125 = r - s->last_r;
	uint32_t rrin = r_in - s->last_r_in;
	if (had) {
		rr_push(s, min_u32_16(rr125, RR_CAP125), min_u32_16(rrin, RR_CAPIN));
		update_sb_lim(s);
		if (s->q_count) {
			tbf_pending_t *t = &s->q[(s->q_head + s->q_count - 1u) % TBF_QUEUE];
			if (!(t->flags & Q_POST) && t->r == s->last_r) {
				t->post125 = min_u32_16(rr125, 0xFFFFu);
				t->post_in = min_u32_16(rrin, 0xFFFFu);
				t->len = window_len(rr_median(s, 0, 0));
				t->flags |= Q_POST;
				if (t->flags & TBF_BEAT_NO_PRE) {
					t->sum125 = s->rr125[rr_idx(s, 0)];
					t->n_rr = 1;
					t->avg_in = s->rrin[rr_idx(s, 0)];
				}
			}
		}
	}
	s->last_r = r;
	s->last_r_in = r_in;
	s->have_last = 1;
	if (k - r >= PAUSE) {
		drop_pending(s, 1);
		return;
	}
	if (s->q_count == TBF_QUEUE) { /* the oldest waited too long: drop it */
		s->q_head = (uint8_t)((s->q_head + 1u) % TBF_QUEUE);
		s->q_count--;
		drop_pending(s, 1);
	}
	e = &s->q[(s->q_head + s->q_count) % TBF_QUEUE];
	s->q_count++;
	e->r = r;
	e->r_in = r_in;
	e->post125 = e->post_in = 0;
	e->len = 0;
	if (had) {
		uint32_t sum125 = 0, sumin = 0;
		for (i = 0; i < s->rr_count; i++) {
			sum125 += s->rr125[i];
			sumin += s->rrin[i];
		}
		e->pre125 = min_u32_16(rr125, 0xFFFFu);
		e->pre_in = min_u32_16(rrin, 0xFFFFu);
		e->sum125 = (uint16_t)sum125;
		e->n_rr = s->rr_count;
		e->avg_in = (uint16_t)((sumin + s->rr_count / 2u) / s->rr_count);
		e->flags = 0;
	} else {
		e->pre125 = e->pre_in = 0;
		e->sum125 = 0;
		e->n_rr = 0;
		e->avg_in = 0;
		e->flags = TBF_BEAT_NO_PRE;
	}
}

static uint8_t ratio64(uint16_t num, uint8_t n, uint16_t sum)
{
	if (!sum)
		return 0;
	return sat8(((uint32_t)num * 64u * n + sum / 2u) / sum);
}

/* Fill *b from the head of the queue (emitted at 125 Hz index k, input index n_now). */
static void emit(tbf_state_t *s, uint32_t k, uint32_t n_now, tbf_beat_t *b)
{
	tbf_pending_t *e = &s->q[s->q_head];
	uint32_t start, sum, i;
	uint16_t amp, post125c;
	int16_t mx = -0x7FFF - 1;
	int16_t lo;
	uint8_t len, flags = (uint8_t)(e->flags & ~Q_POST);
	if (!(e->flags & Q_POST)) { /* pause: the time waited stands in for rr_post */
		e->post125 = min_u32_16(k - e->r, 0xFFFFu);
		e->post_in = min_u32_16(n_now - e->r_in, 0xFFFFu);
		e->len = window_len(rr_median(s, 1, min_u32_16(e->post125, RR_CAP125)));
		if (flags & TBF_BEAT_NO_PRE) {
			e->sum125 = min_u32_16(e->post125, RR_CAP125);
			e->n_rr = 1;
			e->avg_in = min_u32_16(e->post_in, RR_CAPIN);
		}
		flags |= TBF_BEAT_PAUSE;
	}
	len = e->len;
	start = e->r + WIN_DELAY;
	lo = 0x7FFF;
	for (i = 0; i < len; i++) {
		int16_t v = s->ring[(start + i) & RM];
		if (v < lo)
			lo = v;
		if (v > mx)
			mx = v;
	}
	amp = (uint16_t)(mx - lo);
	if (amp) {
		uint32_t inv = (255uL << 16) / amp;
		for (i = 0; i < len; i++) {
			uint32_t d = (uint16_t)(s->ring[(start + i) & RM] - lo);
			b->x[i] = (uint8_t)((d * inv + 32768uL) >> 16);
		}
	} else {
		for (i = 0; i < len; i++)
			b->x[i] = 0;
	}
	for (i = len; i < TBF_BEAT_LEN; i++)
		b->x[i] = 0;

	s->amp[s->amp_head] = amp;
	s->amp_head = (uint8_t)((s->amp_head + 1u) % TBF_AMP_N);
	if (s->amp_count < TBF_AMP_N)
		s->amp_count++;
	sum = 0;
	for (i = 0; i < s->amp_count; i++)
		sum += s->amp[i];

	post125c = min_u32_16(e->post125, RR_CAP125);
	b->x[TBF_BEAT_LEN + 0] = sat8(e->pre125);
	b->x[TBF_BEAT_LEN + 1] = sat8(e->post125);
	b->x[TBF_BEAT_LEN + 2] = e->n_rr ? sat8((e->sum125 + e->n_rr / 2u) / e->n_rr) : 0u;
	b->x[TBF_BEAT_LEN + 3] = (flags & TBF_BEAT_NO_PRE) ? 0u
		: ratio64(min_u32_16(e->pre125, RR_CAP125), e->n_rr, e->sum125);
	b->x[TBF_BEAT_LEN + 4] = ratio64(post125c, e->n_rr, e->sum125);
	b->x[TBF_BEAT_LEN + 5] = sum ? sat8(((uint32_t)amp * 64u * s->amp_count + sum / 2u) / sum) : 0u;

	b->r_sample = e->r_in;
	b->rr_pre = e->pre_in;
	b->rr_post = e->post_in;
	b->rr_avg = e->avg_in;
	b->hr_x10 = e->avg_in ? min_u32_16(((uint32_t)s->fs * 600u + e->avg_in / 2u) / e->avg_in, 0xFFFFu) : 0u;
	b->flags = flags;

	s->q_head = (uint8_t)((s->q_head + 1u) % TBF_QUEUE);
	s->q_count--;
}

/* ---- detector -------------------------------------------------------------------- */

static uint16_t sat16(uint32_t v)
{
	return (v > 0xFFFFu) ? 0xFFFFu : (uint16_t)v;
}

static void qrs(tbf_state_t *s, uint32_t r, uint32_t h, uint16_t slope, uint32_t k, uint32_t r_in)
{
	s->qbuf[s->qpos] = sat16(h);
	s->qpos = (uint8_t)((s->qpos + 1u) & 7u);
	add_beat(s, r, r_in, k);
	s->last_slope = slope;
	s->last_conf = k;
	s->quiet_ref = k;
	s->sb_valid = 0;
}

static void noise(tbf_state_t *s, uint32_t h)
{
	s->nbuf[s->npos] = sat16(h);
	s->npos = (uint8_t)((s->npos + 1u) & 7u);
}

/* lower median of 8 */
static uint16_t median8(const uint16_t *buf)
{
	uint16_t v[8];
	uint8_t i, j;
	for (i = 0; i < 8u; i++) {
		uint16_t x = buf[i];
		j = i;
		while (j > 0 && v[j - 1] > x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
	return v[3];
}

/* input index (within the segment) of the 125 Hz index r, given the current k, n, f */
static uint32_t r_to_input(const tbf_state_t *s, uint32_t r, uint32_t k, uint32_t n, uint8_t f)
{
	int32_t off = (int32_t)((k - r) * (uint32_t)s->fs) - (int32_t)f + (int32_t)s->pre125;
	uint32_t q = (uint32_t)(off + 62 + 125) / 125u - 1u;
	return n - 1u - q;
}

/* One 125 Hz sample y4 (ADC codes x 4), produced at input n of the segment with fraction f. */
static tbf_event_t step125(tbf_state_t *s, uint16_t y4, uint32_t n, uint8_t f, tbf_beat_t *beat)
{
	const uint32_t k = s->k;
	int16_t lp1, bp;
	uint16_t lp, sq, a;
	int32_t d;
	uint8_t i;

	if (k == 0) { /* start as if the input had always been y4 */
		s->lp1 = (int16_t)(5u * y4);
		for (i = 0; i < 8u; i++) {
			s->ring[(0u - 1u - i) & RM] = (int16_t)y4;
			s->lp1h[i] = s->lp1;
		}
		s->lp2 = 5L * s->lp1;
		for (i = 0; i < TBF_HIST; i++) {
			s->lph[i] = (uint16_t)(s->lp2 >> 3);
			s->bph[i] = 0;
			s->sqh[i] = 0;
		}
		s->s21 = 21L * (int32_t)(s->lp2 >> 3);
	}
	/* low-pass: two 5-sample moving sums (nulls at 25 and 50 Hz) */
	lp1 = (int16_t)(s->lp1 + (int16_t)y4 - s->ring[(k - 5u) & RM]);
	s->ring[k & RM] = (int16_t)y4;
	s->lp1 = lp1;
	s->lp2 += (int32_t)lp1 - s->lp1h[(k - 5u) & 7u];
	s->lp1h[k & 7u] = lp1;
	lp = (uint16_t)(s->lp2 >> 3);
	/* high-pass: centre sample minus the 21-sample mean (x 21) */
	s->s21 += (int32_t)lp - (int32_t)s->lph[(k - 21u) & HM];
	s->lph[k & HM] = lp;
	bp = (int16_t)((21L * (int32_t)s->lph[(k - 10u) & HM] - s->s21) >> 4);
	s->bph[k & HM] = bp;
	/* derivative, squared, integrated */
	d = 2L * bp + s->bph[(k - 1u) & HM] - s->bph[(k - 3u) & HM] - 2L * s->bph[(k - 4u) & HM];
	a = (uint16_t)((d < 0 ? -d : d) >> 3);
	{
		uint32_t q = ((uint32_t)a * a) >> 6;
		sq = (q > 0xFFFFu) ? 0xFFFFu : (uint16_t)q;
	}
	s->mwi += (uint32_t)sq - s->sqh[(k - MWI_N) & HM];
	s->sqh[k & HM] = sq;

	if (k == LEARN) {
		const uint16_t q = sat16(s->lmax >> 1), z = sat16(s->lmax >> 4);
		for (i = 0; i < 8u; i++) {
			s->qbuf[i] = q;
			s->nbuf[i] = z;
		}
		s->last_conf = s->quiet_ref = k;
	}
	/* a peak of the integrated signal at k - 1: held if it is the highest for HOLD samples */
	if (s->mwi1 > s->mwi2 && s->mwi1 >= s->mwi && (!s->hold_valid || s->mwi1 > s->hold_h)) {
		uint16_t best = 0, slope = 0;
		uint32_t j, rb = 0;
		if (k >= R_SEARCH) {
			rb = k - R_SEARCH;
			for (j = k - R_SEARCH; j < k; j++) {
				int16_t v = s->bph[j & HM];
				uint16_t m = (uint16_t)(v < 0 ? -v : v);
				if (m > best) {
					best = m;
					rb = j;
				}
			}
			rb -= BP_DELAY;
			for (j = k - MWI_N; j < k; j++)
				if (s->sqh[j & HM] > slope)
					slope = s->sqh[j & HM];
		}
		s->hold_valid = 1;
		s->hold_h = s->mwi1;
		s->hold_r = rb;
		s->hold_slope = slope;
		s->hold_until = k + HOLD;
	}
	s->mwi2 = s->mwi1;
	s->mwi1 = s->mwi;

	if (s->hold_valid && k == s->hold_until) {
		const uint32_t h = s->hold_h, r = s->hold_r;
		const uint16_t slope = s->hold_slope;
		s->hold_valid = 0;
		if (k < LEARN) {
			if (h > s->lmax)
				s->lmax = h;
		} else {
			const int32_t qm = median8(s->qbuf), nm = median8(s->nbuf);
			const int32_t th = nm + (((qm - nm) * TH_NUM) >> 4);
			if (s->have_last && (int32_t)(r - s->last_r) < REFRACT) {
				/* refractory: ignored */
			} else if ((int32_t)h > th) {
				if (s->have_last && (int32_t)(r - s->last_r) < TWAVE && slope < s->last_slope / 2u)
					noise(s, h); /* a T wave */
				else
					qrs(s, r, h, slope, k, s->seg_start + r_to_input(s, r, k, n, f));
			} else {
				noise(s, h);
				if ((int32_t)h > (th >> 1) && (!s->sb_valid || h > s->sb_h)) {
					s->sb_valid = 1;
					s->sb_h = h;
					s->sb_r = r;
					s->sb_slope = slope;
				}
			}
		}
	}

	if (k >= LEARN) {
		if (s->sb_valid && k - s->last_conf > s->sb_lim) /* search back */
			qrs(s, s->sb_r, s->sb_h, s->sb_slope, k, s->seg_start + r_to_input(s, s->sb_r, k, n, f));
		if (k - s->quiet_ref >= QUIET) {
			for (i = 0; i < 8u; i++) {
				s->qbuf[i] >>= 1;
				s->nbuf[i] >>= 1;
			}
			s->quiet_ref = k;
		}
	}
	s->k = k + 1u;

	if (s->q_count) {
		const tbf_pending_t *e = &s->q[s->q_head];
		uint8_t ready = (e->flags & Q_POST) ? (k >= e->r + WIN_DELAY + e->len - 1u) : (k - e->r >= PAUSE);
		if (ready) {
			emit(s, k, s->seg_start + n, beat);
			return TBF_EV_BEAT;
		}
	}
	return TBF_EV_NONE;
}

static tbf_event_t step_input(tbf_state_t *s, uint16_t v, tbf_beat_t *beat)
{
	uint16_t pre;
	const uint32_t n = s->n_seg;
	tbf_event_t ev = TBF_EV_NONE;
	if (n == 0) {
		s->codes[0] = s->codes[1] = v;
		s->pre_prev = (uint16_t)(s->l0 * v);
	}
	pre = v;
	if (s->l0 > 1u)
		pre = (uint16_t)(pre + s->codes[0]);
	if (s->l0 > 2u)
		pre = (uint16_t)(pre + s->codes[1]);
	s->codes[1] = s->codes[0];
	s->codes[0] = v;
	s->due = (int16_t)(s->due - 125);
	if (s->due <= 0) {
		const uint8_t f = (uint8_t)(s->due + 125);
		const uint32_t num = (uint32_t)s->pre_prev * (125u - f) + (uint32_t)pre * f;
		const uint16_t y4 = (uint16_t)((num * s->gain + 32768uL) >> 16);
		s->due = (int16_t)(s->due + (int16_t)s->fs);
		ev = step125(s, y4, n, f, beat);
	}
	s->pre_prev = pre;
	s->n_seg = n + 1u;
	return ev;
}

tbf_event_t tbf_push(tbf_state_t *s, uint16_t adc, uint8_t lead_off, tbf_beat_t *beat)
{
	uint16_t v = (adc > TBF_ADC_MAX) ? TBF_ADC_MAX : adc;
	if (!s || !beat || s->fs < TBF_FS_MIN)
		return TBF_EV_NONE;
	s->n_in++;
	if (v < s->b_min)
		s->b_min = v;
	if (v > s->b_max)
		s->b_max = v;
	if (lead_off)
		s->b_lead_off = 1;
	if (++s->b_count >= s->block_len) {
		uint8_t st = TBF_SIG_OK;
		if (s->b_lead_off) {
			st = TBF_SIG_LEAD_OFF;
			s->flat_blocks = 0;
		} else if ((uint16_t)(s->b_max - s->b_min) <= FLAT_TOL) {
			if (s->flat_blocks < 255u)
				s->flat_blocks++;
			if (s->flat_blocks >= FLAT_BLOCKS)
				st = (s->b_min <= RAIL_LO || s->b_max >= RAIL_HI) ? TBF_SIG_SATURATED : TBF_SIG_FLAT;
		} else {
			s->flat_blocks = 0;
		}
		s->b_count = 0;
		s->b_lead_off = 0;
		s->b_min = 0xFFFFu;
		s->b_max = 0;
		if (st != s->state) {
			if (s->state == TBF_SIG_OK)
				drop_pending(s, s->q_count);
			s->state = st;
			s->active = 0;
			return TBF_EV_SIGNAL;
		}
	}
	if (s->state != TBF_SIG_OK)
		return TBF_EV_NONE;
	if (!s->active) {
		reset_detector(s);
		s->seg_start = s->n_in - 1u;
		s->active = 1;
	}
	return step_input(s, v, beat);
}
