/*
 * tbproto fuzz run (host only; the native env builds it with ASan + UBSan).
 *
 * A fixed-seed xorshift32 drives more than a million "frames" through the parser:
 * valid frames (each after a reset, sometimes behind garbage), mutated valid frames
 * (bit flips, byte insertions and deletions, truncations, random size bytes, doubled
 * preambles) and random byte streams.  Every byte also goes through a small reference
 * parser written straight from the protocol description; both must report the same
 * events.  Every reported frame is checked against the bytes actually fed (preamble,
 * header, payload and CRC recomputed bit by bit).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "microtest.h"
#include "tbproto.h"

#define N_ITERATIONS 1200000ul
#define SEED 0x7B3A11C5ul

static uint32_t g_rng = SEED;

static uint32_t rnd(void)
{
	uint32_t x = g_rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return g_rng = x;
}

static uint32_t rnd_below(uint32_t n) { return rnd() % n; }

static uint16_t crc_bitwise(const uint8_t *d, size_t n)
{
	uint16_t crc = 0xFFFFu;
	size_t i;
	uint8_t b;
	for (i = 0; i < n; i++) {
		crc ^= (uint16_t)((uint16_t)d[i] << 8);
		for (b = 0; b < 8; b++)
			crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
	}
	return crc;
}

/* ---- reference parser: a buffer and the rules of the protocol, nothing clever ---- */
typedef struct {
	uint8_t buf[TBP_FRAME_MAX];
	size_t have;
} ref_parser_t;

static tbp_event_t ref_feed(ref_parser_t *r, uint8_t b)
{
	if (r->have == 0) {
		if (b == TBP_PREAMBLE0)
			r->buf[r->have++] = b;
		return TBP_EV_NONE;
	}
	if (r->have == 1) {
		if (b == TBP_PREAMBLE1)
			r->buf[r->have++] = b;
		else if (b != TBP_PREAMBLE0)
			r->have = 0;
		return TBP_EV_NONE;
	}
	if (r->have == 2 && b > TBP_MAX_PAYLOAD) {
		r->have = 0;
		return TBP_EV_BAD_LENGTH;
	}
	r->buf[r->have++] = b;
	if (r->have >= TBP_HEADER_SIZE && r->have == (size_t)TBP_HEADER_SIZE + r->buf[2] + TBP_CRC_SIZE) {
		size_t n = r->have;
		uint16_t got = (uint16_t)(r->buf[n - 2] | (r->buf[n - 1] << 8));
		r->have = 0;
		return got == crc_bitwise(r->buf + 2, n - 4) ? TBP_EV_FRAME : TBP_EV_BAD_CRC;
	}
	return TBP_EV_NONE;
}

/* ---- the harness: both parsers, a history of fed bytes, counters ---- */
static tbp_parser_t g_p;
static ref_parser_t g_ref;
static uint8_t g_hist[256]; /* last 256 bytes fed (> TBP_FRAME_MAX) */
static uint8_t g_hist_pos;
static size_t g_since_reset;

static struct {
	unsigned long valid, mutated, random, tampered; /* iterations by kind */
	unsigned long bytes, ev_frame, ev_crc, ev_len, valid_received;
	unsigned long ref_frame, ref_crc, ref_len; /* the same events from the reference parser */
	unsigned long mismatch;   /* events differing from the reference parser */
	unsigned long bad_report; /* a reported frame not matching the bytes fed */
	unsigned long valid_lost; /* a valid frame not received exactly once, intact */
} g;

static void reset_both(void)
{
	tbp_parser_reset(&g_p);
	g_ref.have = 0;
	g_since_reset = 0;
}

/* Checks a reported frame against the last bytes fed. */
static void check_report(void)
{
	const tbp_frame_t *f = &g_p.frame;
	size_t n = (size_t)TBP_HEADER_SIZE + f->size + TBP_CRC_SIZE;
	uint8_t img[TBP_FRAME_MAX];
	size_t k;
	if (f->size > TBP_MAX_PAYLOAD || n > g_since_reset) {
		g.bad_report++;
		return;
	}
	for (k = 0; k < n; k++)
		img[k] = g_hist[(uint8_t)(g_hist_pos - n + k)];
	if (img[0] != TBP_PREAMBLE0 || img[1] != TBP_PREAMBLE1 || img[2] != f->size || img[3] != f->type ||
	    img[4] != f->seq || img[5] != f->error || memcmp(img + 6, f->payload, f->size) != 0 ||
	    crc_bitwise(img + 2, n - 4) != (uint16_t)(img[n - 2] | (img[n - 1] << 8)))
		g.bad_report++;
}

static tbp_event_t feed1(uint8_t b)
{
	tbp_event_t ev = tbp_parser_feed(&g_p, b);
	tbp_event_t ev_ref = ref_feed(&g_ref, b);
	g_hist[g_hist_pos++] = b;
	g_since_reset++;
	g.bytes++;
	g.ref_frame += ev_ref == TBP_EV_FRAME;
	g.ref_crc += ev_ref == TBP_EV_BAD_CRC;
	g.ref_len += ev_ref == TBP_EV_BAD_LENGTH;
	if (ev != ev_ref || tbp_parser_busy(&g_p) != (g_ref.have >= 2))
		g.mismatch++;
	switch (ev) {
	case TBP_EV_FRAME:
		g.ev_frame++;
		check_report();
		if (ev_ref == TBP_EV_FRAME && memcmp(g_ref.buf + 6, g_p.frame.payload, g_p.frame.size) != 0)
			g.mismatch++;
		break;
	case TBP_EV_BAD_CRC:
		g.ev_crc++;
		if (g_p.frame.type != g_ref.buf[3] || g_p.frame.seq != g_ref.buf[4])
			g.mismatch++;
		break;
	case TBP_EV_BAD_LENGTH:
		g.ev_len++;
		break;
	default:
		break;
	}
	return ev;
}

static unsigned long feed_n(const uint8_t *d, size_t n)
{
	unsigned long frames = 0;
	size_t i;
	for (i = 0; i < n; i++)
		frames += feed1(d[i]) == TBP_EV_FRAME;
	return frames;
}

/* Payload sizes: mostly small, sometimes any, sometimes the extremes. */
static uint8_t random_size(void)
{
	uint32_t r = rnd_below(16);
	if (r < 9)
		return (uint8_t)rnd_below(24);
	if (r < 14)
		return (uint8_t)rnd_below(TBP_MAX_PAYLOAD + 1);
	return r == 14 ? 0 : TBP_MAX_PAYLOAD;
}

static size_t random_frame(uint8_t *out, uint8_t *payload, uint8_t *size)
{
	uint8_t i;
	*size = random_size();
	for (i = 0; i < *size; i++)
		payload[i] = (uint8_t)rnd();
	return tbp_encode(out, TBP_FRAME_MAX, (uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd(), payload, *size);
}

/* Random bytes with a bias towards the bytes that move the state machine. */
static uint8_t random_byte(void)
{
	uint32_t r = rnd_below(8);
	if (r == 0)
		return TBP_PREAMBLE0;
	if (r == 1)
		return TBP_PREAMBLE1;
	if (r == 2)
		return (uint8_t)rnd_below(32);
	return (uint8_t)rnd();
}

static void garbage(size_t n, uint8_t allow_preamble0)
{
	size_t i;
	for (i = 0; i < n; i++) {
		uint8_t b = random_byte();
		if (!allow_preamble0 && b == TBP_PREAMBLE0)
			b = 0x00;
		feed1(b);
	}
}

/* A valid frame after a reset (sometimes behind garbage): received exactly once, intact,
 * on its last byte. */
static void run_valid(void)
{
	uint8_t frame[TBP_FRAME_MAX], payload[TBP_MAX_PAYLOAD], size;
	size_t n = random_frame(frame, payload, &size), i;
	unsigned long frames = 0, at_end = 0;
	uint32_t how = rnd_below(4);
	if (how == 1) { /* garbage, a timeout, then the frame */
		garbage(rnd_below(64), 1);
		reset_both();
	} else if (how == 2) { /* a partial frame, a timeout, then the frame */
		uint8_t other[TBP_FRAME_MAX], opl[TBP_MAX_PAYLOAD], osize;
		size_t on = random_frame(other, opl, &osize);
		feed_n(other, rnd_below((uint32_t)on));
		reset_both();
	} else if (how == 3) { /* garbage with no A5 after a reset: skipped without another */
		reset_both();
		garbage(rnd_below(64), 0);
	} else {
		reset_both();
	}
	for (i = 0; i < n; i++) {
		if (feed1(frame[i]) == TBP_EV_FRAME) {
			frames++;
			if (i == n - 1 && g_p.frame.size == size && memcmp(g_p.frame.payload, payload, size) == 0 &&
			    g_p.frame.type == frame[3] && g_p.frame.seq == frame[4] && g_p.frame.error == frame[5])
				at_end++;
		}
	}
	if (frames == 1 && at_end == 1 && !tbp_parser_busy(&g_p))
		g.valid_received++;
	else
		g.valid_lost++;
	g.valid++;
}

/* A valid frame with 1..4 mutations; whatever the parser makes of it must agree with the
 * reference and with the bytes. */
static void run_mutated(void)
{
	uint8_t buf[2 * TBP_FRAME_MAX], payload[TBP_MAX_PAYLOAD], size;
	size_t n = random_frame(buf, payload, &size);
	uint32_t m, n_mut = 1 + rnd_below(4);
	for (m = 0; m < n_mut && n > 0; m++) {
		size_t at = rnd_below((uint32_t)n);
		switch (rnd_below(6)) {
		case 0: /* bit flip */
			buf[at] ^= (uint8_t)(1u << rnd_below(8));
			break;
		case 1: /* insertion */
			if (n < sizeof(buf)) {
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = random_byte();
				n++;
			}
			break;
		case 2: /* deletion */
			memmove(buf + at, buf + at + 1, n - at - 1);
			n--;
			break;
		case 3: /* truncation */
			n = at;
			break;
		case 4: /* random size byte */
			if (n > 2)
				buf[2] = (uint8_t)rnd();
			break;
		default: /* doubled preamble */
			if (n < sizeof(buf)) {
				memmove(buf + 1, buf, n);
				n++;
			}
			break;
		}
	}
	if (rnd_below(2))
		reset_both();
	feed_n(buf, n);
	g.mutated++;
}

/* Random bytes, continuing whatever state the parser is in. */
static void run_random(void)
{
	garbage(1 + rnd_below(200), 1);
	g.random++;
}

/* Scrambled private state: the parser must stay inside its struct and recover on reset. */
static void run_tampered(void)
{
	uint8_t i;
	g_p.state = (uint8_t)rnd();
	g_p.len = (uint8_t)rnd();
	g_p.index = (uint8_t)rnd();
	g_p.crc = (uint16_t)rnd();
	for (i = 0; i < 255; i++)
		(void)tbp_parser_feed(&g_p, (uint8_t)rnd());
	reset_both();
	g.tampered++;
}

static void test_fuzz_parser(void)
{
	unsigned long it, frames;
	clock_t t0 = clock();
	double secs;
	tbp_parser_init(&g_p);
	memset(&g_ref, 0, sizeof(g_ref));
	for (it = 0; it < N_ITERATIONS; it++) {
		uint32_t kind = rnd_below(10);
		if (kind < 4)
			run_valid();
		else if (kind < 8)
			run_mutated();
		else
			run_random();
	}
	for (it = 0; it < 2000; it++)
		run_tampered();
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	frames = g.valid + g.mutated + g.random;
	printf("fuzz: %lu frames (%lu valid, %lu mutated, %lu random streams, %lu tampered states), "
	       "%lu bytes, events: %lu frame / %lu bad crc / %lu bad length, %.2f s\n",
	       frames, g.valid, g.mutated, g.random, g.tampered, g.bytes, g.ev_frame, g.ev_crc, g.ev_len,
	       secs);
	MT_ASSERT_TRUE(frames >= 1000000ul);
	MT_ASSERT_EQ_UINT(0, g.mismatch);
	MT_ASSERT_EQ_UINT(0, g.bad_report);
	MT_ASSERT_EQ_UINT(0, g.valid_lost);
	MT_ASSERT_EQ_UINT(g.valid, g.valid_received);
	MT_ASSERT_TRUE(frames == N_ITERATIONS);
	MT_ASSERT_TRUE(g.ev_frame == g.ref_frame && g.ev_crc == g.ref_crc && g.ev_len == g.ref_len);
	/* every valid frame is a frame event; the rest came from mutated or random bytes */
	MT_ASSERT_TRUE(g.ev_frame >= g.valid_received);
	MT_ASSERT_TRUE(g.ev_frame + g.ev_crc + g.ev_len <= g.bytes);
	/* the mix really exercised every outcome */
	MT_ASSERT_TRUE(g.ev_crc > 1000 && g.ev_len > 1000 && g.ev_frame - g.valid_received > 1000);
}

/* The byte-wise CRC against the bit-wise definition on random data and lengths. */
static void test_fuzz_crc(void)
{
	uint8_t d[256];
	unsigned long bad = 0;
	uint32_t it;
	size_t i, n;
	for (it = 0; it < 20000; it++) {
		n = rnd_below(sizeof(d) + 1);
		for (i = 0; i < n; i++)
			d[i] = (uint8_t)rnd();
		if (tbp_crc16(d, n) != crc_bitwise(d, n))
			bad++;
	}
	MT_ASSERT_EQ_UINT(0, bad);
}

int main(void)
{
	mt_begin();
	MT_RUN(test_fuzz_crc);
	MT_RUN(test_fuzz_parser);
	return mt_end();
}
