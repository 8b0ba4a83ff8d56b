/*
 * tbproto on the host and on the ATmega2560: CRC, byte order, encoding, the parser
 * (round trips, every single-bit corruption, truncation, bad lengths, garbage,
 * doubled preamble, back-to-back frames) and the sequence rule.
 * RAM: one parser and one frame buffer (~400 bytes); payloads are a pattern built in place.
 * On AVR every assertion's expression text sits in RAM too, so assertions test short
 * local names.
 */
#include <string.h>

#include "microtest.h"
#include "tbproto.h"

static tbp_parser_t g_p;
static uint8_t g_buf[TBP_FRAME_MAX];

/* What feeding a run of bytes produced. */
typedef struct {
	uint16_t frames, bad_crc, bad_length;
	int16_t first_frame_at; /* index of the byte that completed the first frame, -1 if none */
	uint8_t frame_differs;  /* a reported frame differed from the expected one */
} feed_result_t;

/* The frame a feed is expected to deliver (compared field by field). */
static uint8_t g_exp_type, g_exp_seq, g_exp_error, g_exp_size, g_salt;

/* Payload pattern: byte i is i * 7 + salt. */
static void fill_payload(uint8_t size, uint8_t salt)
{
	uint8_t i;
	(void)size;
	g_salt = salt;
	for (i = 0; i < TBP_MAX_PAYLOAD; i++)
		g_buf[TBP_HEADER_SIZE + i] = (uint8_t)(i * 7u + salt);
}

static uint8_t pattern_ok(const uint8_t *p, uint8_t size)
{
	uint8_t i;
	for (i = 0; i < size; i++)
		if (p[i] != (uint8_t)(i * 7u + g_salt))
			return 0;
	return 1;
}

/* Encodes the pattern (built in place in g_buf) and records it as the expected frame. */
static size_t make_frame(uint8_t type, uint8_t seq, uint8_t error, uint8_t size)
{
	fill_payload(size, g_salt);
	g_exp_type = type;
	g_exp_seq = seq;
	g_exp_error = error;
	g_exp_size = size;
	return tbp_encode(g_buf, sizeof(g_buf), type, seq, error, g_buf + TBP_HEADER_SIZE, size);
}

static uint8_t frame_is_expected(const tbp_frame_t *f)
{
	return f->type == g_exp_type && f->seq == g_exp_seq && f->error == g_exp_error &&
	       f->size == g_exp_size && pattern_ok(f->payload, g_exp_size);
}

static feed_result_t feed(const uint8_t *data, size_t n)
{
	feed_result_t r = {0, 0, 0, -1, 0};
	size_t i;
	for (i = 0; i < n; i++) {
		tbp_event_t ev = tbp_parser_feed(&g_p, data[i]);
		if (ev == TBP_EV_FRAME) {
			if (r.frames == 0)
				r.first_frame_at = (int16_t)i;
			r.frames++;
			if (!frame_is_expected(&g_p.frame))
				r.frame_differs = 1;
		} else if (ev == TBP_EV_BAD_CRC) {
			r.bad_crc++;
		} else if (ev == TBP_EV_BAD_LENGTH) {
			r.bad_length++;
		}
	}
	return r;
}

/* Feeds g_buf[0..n) and checks that exactly one, intact frame completes on the last byte. */
static uint8_t feed_expect_one(size_t n)
{
	feed_result_t r = feed(g_buf, n);
	return r.frames == 1 && !r.frame_differs && r.bad_crc == 0 && r.bad_length == 0 &&
	       r.first_frame_at == (int16_t)(n - 1) && !tbp_parser_busy(&g_p);
}

static uint16_t crc_bitwise(uint16_t crc, uint8_t byte)
{
	uint8_t b;
	crc ^= (uint16_t)((uint16_t)byte << 8);
	for (b = 0; b < 8; b++)
		crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
	return crc;
}

static void test_crc_check_value(void)
{
	static const uint8_t check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
	uint16_t crc = tbp_crc16(check, sizeof(check));
	MT_ASSERT_EQ_UINT(0x29B1u, crc);
	crc = tbp_crc16(check, 0);
	MT_ASSERT_EQ_UINT(0xFFFFu, crc);
}

static void test_crc_update_matches_bitwise(void)
{
	static const uint16_t starts[] = {0xFFFFu, 0x0000u, 0x8000u, 0x1234u, 0xA55Au, 0x0001u};
	uint8_t s;
	uint16_t b;
	uint16_t bad = 0;
	for (s = 0; s < sizeof(starts) / sizeof(starts[0]); s++)
		for (b = 0; b < 256; b++)
			if (tbp_crc16_update(starts[s], (uint8_t)b) != crc_bitwise(starts[s], (uint8_t)b))
				bad++;
	MT_ASSERT_EQ_UINT(0, bad);
}

static void test_little_endian_helpers(void)
{
	uint8_t b[4];
	static const uint8_t e32[4] = {0x78, 0x56, 0x34, 0x12};
	static const uint8_t e16[2] = {0xCD, 0xAB};
	uint32_t v;
	tbp_put_u32(b, 0x12345678ul);
	MT_ASSERT_EQ_MEM(e32, b, 4);
	v = tbp_get_u32(b);
	MT_ASSERT_EQ_UINT(0x12345678ul, v);
	tbp_put_u16(b, 0xABCDu);
	MT_ASSERT_EQ_MEM(e16, b, 2);
	v = tbp_get_u16(b);
	MT_ASSERT_EQ_UINT(0xABCDu, v);
	tbp_put_u32(b, 0xFFFFFFFFul);
	v = tbp_get_u32(b);
	MT_ASSERT_EQ_UINT(0xFFFFFFFFul, v);
}

static void test_encode_known_bytes(void)
{
	static const uint8_t info_req[] = {0xA5, 0x5A, 0x00, 0x01, 0x00, 0x00, 0xF0, 0xB3};
	static const uint8_t small[] = {0xA5, 0x5A, 0x03, 0x82, 0x07, 0x00, 0x01, 0x02, 0x03, 0xC9, 0x70};
	static const uint8_t pl[] = {1, 2, 3};
	size_t n = tbp_encode(g_buf, sizeof(g_buf), TBP_INFO, 0, 0, NULL, 0);
	MT_ASSERT_EQ_UINT(8, n);
	MT_ASSERT_EQ_MEM(info_req, g_buf, sizeof(info_req));
	n = tbp_encode(g_buf, sizeof(g_buf), TBP_INFER | TBP_REPLY, 7, 0, pl, 3);
	MT_ASSERT_EQ_UINT(11, n);
	MT_ASSERT_EQ_MEM(small, g_buf, sizeof(small));
	/* payload built in place at out + TBP_HEADER_SIZE */
	memset(g_buf, 0, sizeof(g_buf));
	memcpy(g_buf + TBP_HEADER_SIZE, pl, 3);
	n = tbp_encode(g_buf, 11, TBP_INFER | TBP_REPLY, 7, 0, g_buf + TBP_HEADER_SIZE, 3);
	MT_ASSERT_EQ_UINT(11, n);
	MT_ASSERT_EQ_MEM(small, g_buf, sizeof(small));
}

static void test_encode_refuses(void)
{
	const uint8_t *pl = g_buf + TBP_HEADER_SIZE;
	size_t n = tbp_encode(g_buf, sizeof(g_buf), TBP_INFER, 1, 0, pl, TBP_MAX_PAYLOAD + 1);
	MT_ASSERT_EQ_UINT(0, n);
	n = tbp_encode(g_buf, sizeof(g_buf), TBP_INFER, 1, 0, pl, 255);
	MT_ASSERT_EQ_UINT(0, n);
	n = tbp_encode(g_buf, 10, TBP_INFER, 1, 0, pl, 3); /* needs 11 */
	MT_ASSERT_EQ_UINT(0, n);
	n = tbp_encode(g_buf, 7, TBP_INFO, 1, 0, NULL, 0); /* needs 8 */
	MT_ASSERT_EQ_UINT(0, n);
	n = tbp_encode(g_buf, sizeof(g_buf), TBP_INFER, 1, 0, NULL, 3); /* no payload */
	MT_ASSERT_EQ_UINT(0, n);
	n = tbp_encode(g_buf, TBP_FRAME_MAX, TBP_INFER, 1, 0, pl, TBP_MAX_PAYLOAD); /* exact fit */
	MT_ASSERT_EQ_UINT(TBP_FRAME_MAX, n);
}

static void test_round_trip_all_types_and_sizes(void)
{
	static const uint8_t types[] = {
		TBP_INFO, TBP_INFER, TBP_STATS, TBP_RESET_STATS,
		TBP_INFO | TBP_REPLY, TBP_INFER | TBP_REPLY, TBP_STATS | TBP_REPLY,
		TBP_RESET_STATS | TBP_REPLY, TBP_ERROR,
		TBP_STREAM_START, TBP_STREAM_STOP, TBP_SAMPLES, TBP_STREAM_STATS,
		TBP_STREAM_START | TBP_REPLY, TBP_STREAM_STOP | TBP_REPLY, TBP_SAMPLES | TBP_REPLY,
		TBP_STREAM_STATS | TBP_REPLY, TBP_EV_BEAT_FRAME, TBP_EV_SIGNAL_FRAME, TBP_EV_STATUS_FRAME};
	static const uint8_t sizes[] = {0, 1, TBP_SIGNAL_SIZE, TBP_STREAM_STATS_SIZE, TBP_BEAT_SIZE, 187, 193,
	                                2 * TBP_SAMPLES_MAX, TBP_MAX_PAYLOAD};
	uint8_t t, s;
	tbp_parser_init(&g_p);
	for (t = 0; t < sizeof(types); t++) {
		for (s = 0; s < sizeof(sizes); s++) {
			size_t n;
			uint8_t seq = (uint8_t)(t * 31u + s * 77u);
			fill_payload(sizes[s], (uint8_t)(t + s));
			n = make_frame(types[t], seq, (uint8_t)(types[t] == TBP_ERROR ? TBP_E_TYPE : 0), sizes[s]);
			MT_ASSERT_EQ_UINT(TBP_HEADER_SIZE + sizes[s] + TBP_CRC_SIZE, n);
			MT_ASSERT_TRUE(feed_expect_one(n));
		}
	}
}

static void test_busy_tracks_frame(void)
{
	size_t n, i;
	tbp_event_t ev;
	uint8_t busy;
	fill_payload(5, 1);
	n = make_frame(TBP_STATS, 3, 0, 5);
	tbp_parser_init(&g_p);
	ev = TBP_EV_NONE;
	busy = tbp_parser_busy(&g_p);
	MT_ASSERT_EQ_UINT(0, busy);
	for (i = 0; i + 1 < n; i++) {
		ev = tbp_parser_feed(&g_p, g_buf[i]);
		MT_ASSERT_EQ_INT(TBP_EV_NONE, ev);
		busy = tbp_parser_busy(&g_p);
		MT_ASSERT_EQ_UINT(i >= 1 ? 1 : 0, busy); /* busy once A5 5A is in */
	}
	ev = tbp_parser_feed(&g_p, g_buf[n - 1]);
	MT_ASSERT_EQ_INT(TBP_EV_FRAME, ev);
	busy = tbp_parser_busy(&g_p);
	MT_ASSERT_EQ_UINT(0, busy);
}

/* Flips every bit of a valid frame: no flip may produce a frame; then a reset and the
 * original frame must be received intact. */
static void flip_every_bit(uint8_t size)
{
	size_t n, i;
	uint8_t bit;
	uint16_t frames = 0, recovered = 0, flips = 0, accounted = 0;
	fill_payload(size, 0x3C);
	n = make_frame(TBP_INFER | TBP_REPLY, 0x42, 0, size);
	for (i = 0; i < n; i++) {
		for (bit = 0; bit < 8; bit++) {
			feed_result_t r;
			flips++;
			tbp_parser_init(&g_p);
			g_buf[i] ^= (uint8_t)(1u << bit);
			r = feed(g_buf, n);
			g_buf[i] ^= (uint8_t)(1u << bit);
			frames += r.frames;
			/* rejected: a CRC or length error, a frame still waiting for bytes, or no sync */
			if (r.bad_crc + r.bad_length > 0 || tbp_parser_busy(&g_p) || i < 2)
				accounted++;
			tbp_parser_reset(&g_p);
			if (feed_expect_one(n))
				recovered++;
		}
	}
	MT_ASSERT_EQ_UINT(0, frames);
	MT_ASSERT_EQ_UINT(flips, accounted);
	MT_ASSERT_EQ_UINT(flips, recovered);
}

static void test_single_bit_flips_size0(void) { flip_every_bit(0); }
static void test_single_bit_flips_size9(void) { flip_every_bit(TBP_INFER_REPLY_SIZE); }
static void test_single_bit_flips_size187(void) { flip_every_bit(187); }

static void test_bad_crc_reports_header(void)
{
	size_t n;
	feed_result_t r;
	tbp_event_t ev;
	uint8_t busy;
	fill_payload(9, 5);
	n = make_frame(TBP_INFER, 0x99, 0, 9);
	g_buf[n - 1] ^= 0x01;
	tbp_parser_init(&g_p);
	r = feed(g_buf, n - 1);
	MT_ASSERT_EQ_UINT(0, r.frames + r.bad_crc + r.bad_length);
	ev = tbp_parser_feed(&g_p, g_buf[n - 1]);
	MT_ASSERT_EQ_INT(TBP_EV_BAD_CRC, ev);
	MT_ASSERT_EQ_UINT(TBP_INFER, g_p.frame.type);
	MT_ASSERT_EQ_UINT(0x99, g_p.frame.seq);
	busy = tbp_parser_busy(&g_p);
	MT_ASSERT_EQ_UINT(0, busy);
	g_buf[n - 1] ^= 0x01;
	MT_ASSERT_TRUE(feed_expect_one(n)); /* back to hunting, no reset needed */
}

static void test_truncated_then_valid(void)
{
	size_t n, k;
	uint16_t found = 0, busy_ok = 0;
	fill_payload(20, 9);
	n = make_frame(TBP_INFER, 5, 0, 20);
	for (k = 1; k < n; k++) {
		feed_result_t r;
		tbp_parser_init(&g_p);
		r = feed(g_buf, k);
		if (r.frames == 0 && tbp_parser_busy(&g_p) == (k >= 2))
			busy_ok++;
		tbp_parser_reset(&g_p); /* inter-byte timeout */
		if (!tbp_parser_busy(&g_p) && feed_expect_one(n))
			found++;
	}
	MT_ASSERT_EQ_UINT(n - 1, busy_ok);
	MT_ASSERT_EQ_UINT(n - 1, found);
}

static void test_bad_length_then_resync(void)
{
	uint16_t size, ok = 0;
	size_t n;
	/* the rest of the bogus frame: a 5A that must not count as a preamble, a plausible
	 * empty INFO header and CRC, then a stray A5 right before the next frame */
	static const uint8_t rest[] = {0x5A, 0x00, 0x01, 0x00, 0x00, 0x11, 0x22, 0xA5};
	fill_payload(9, 77);
	n = make_frame(TBP_INFER | TBP_REPLY, 12, 0, 9);
	tbp_parser_init(&g_p);
	for (size = TBP_MAX_PAYLOAD + 1; size <= 255; size++) {
		feed_result_t r;
		tbp_event_t e0 = tbp_parser_feed(&g_p, TBP_PREAMBLE0);
		tbp_event_t e1 = tbp_parser_feed(&g_p, TBP_PREAMBLE1);
		tbp_event_t e2 = tbp_parser_feed(&g_p, (uint8_t)size);
		r = feed(rest, sizeof(rest));
		if (e0 == TBP_EV_NONE && e1 == TBP_EV_NONE && e2 == TBP_EV_BAD_LENGTH &&
		    r.frames + r.bad_crc + r.bad_length == 0 &&
		    feed_expect_one(n))
			ok++;
	}
	MT_ASSERT_EQ_UINT(255 - TBP_MAX_PAYLOAD, ok);
}

static void test_garbage_prefix(void)
{
	static const uint8_t garbage[] = {0x00, 0xFF, 0x5A, 0xA5, 0x00, 0x5A, 0x5A, 0xA5, 0x13,
	                                  0x37, 0xA5, 0xFF, 0x01, 0x02, 0x5A, 0xA5};
	feed_result_t r;
	size_t n;
	fill_payload(187, 1);
	n = make_frame(TBP_INFER, 1, 0, 187);
	tbp_parser_init(&g_p);
	r = feed(garbage, sizeof(garbage));
	MT_ASSERT_EQ_UINT(0, r.frames + r.bad_crc + r.bad_length);
	MT_ASSERT_TRUE(feed_expect_one(n));
}

static void test_doubled_preamble(void)
{
	size_t n;
	uint8_t extra;
	fill_payload(4, 2);
	n = make_frame(TBP_STATS, 9, 0, 4);
	for (extra = 1; extra <= 3; extra++) {
		uint8_t i;
		tbp_parser_init(&g_p);
		for (i = 0; i < extra; i++) { /* A5 A5 5A, A5 A5 A5 5A, ... */
			tbp_event_t ev = tbp_parser_feed(&g_p, TBP_PREAMBLE0);
			MT_ASSERT_EQ_INT(TBP_EV_NONE, ev);
		}
		MT_ASSERT_TRUE(feed_expect_one(n));
	}
}

static void test_back_to_back(void)
{
	/* Two frames in one buffer, fed without a pause or a reset. */
	size_t n1, n2, i;
	uint8_t seen = 0;
	fill_payload(60, 3);
	n1 = tbp_encode(g_buf, sizeof(g_buf), TBP_INFER, 1, 0, g_buf + TBP_HEADER_SIZE, 60);
	memcpy(g_buf + n1 + TBP_HEADER_SIZE, g_buf + TBP_HEADER_SIZE, 60);
	n2 = tbp_encode(g_buf + n1, sizeof(g_buf) - n1, TBP_INFER, 2, 0, g_buf + n1 + TBP_HEADER_SIZE, 60);
	MT_ASSERT_EQ_UINT(68, n1);
	MT_ASSERT_EQ_UINT(68, n2);
	tbp_parser_init(&g_p);
	for (i = 0; i < n1 + n2; i++) {
		tbp_event_t ev = tbp_parser_feed(&g_p, g_buf[i]);
		if (ev == TBP_EV_FRAME) {
			MT_ASSERT_EQ_UINT(seen == 0 ? n1 - 1 : n1 + n2 - 1, i);
			MT_ASSERT_EQ_UINT(seen + 1, g_p.frame.seq);
			MT_ASSERT_EQ_UINT(60, g_p.frame.size);
			MT_ASSERT_TRUE(pattern_ok(g_p.frame.payload, 60));
			seen++;
		} else {
			MT_ASSERT_EQ_INT(TBP_EV_NONE, ev);
		}
	}
	MT_ASSERT_EQ_UINT(2, seen);
}

static uint8_t g_next; /* the receiver's expected next seq */

static uint8_t sq(uint8_t seq) { return tbp_check_sequence(&g_next, seq); }

static void test_sequence_rule(void)
{
	uint16_t s, ok = 0;
	g_next = 0;
	MT_ASSERT_EQ_UINT(1, sq(0));
	MT_ASSERT_EQ_UINT(1, sq(1));
	MT_ASSERT_EQ_UINT(1, sq(2));
	MT_ASSERT_EQ_UINT(0, sq(2)); /* repeated */
	MT_ASSERT_EQ_UINT(3, g_next);
	MT_ASSERT_EQ_UINT(0, sq(5)); /* skipped: rejected, resync to 5 */
	MT_ASSERT_EQ_UINT(6, g_next);
	MT_ASSERT_EQ_UINT(1, sq(6));
	MT_ASSERT_EQ_UINT(1, sq(0)); /* 0 always restarts */
	MT_ASSERT_EQ_UINT(1, g_next);
	g_next = 200;
	MT_ASSERT_EQ_UINT(1, sq(0));
	g_next = 0; /* after boot: a first request with seq 7 is rejected, 8 follows */
	MT_ASSERT_EQ_UINT(0, sq(7));
	MT_ASSERT_EQ_UINT(1, sq(8));
	g_next = 0; /* two full laps wrap 255 -> 0 */
	for (s = 0; s < 512; s++)
		ok += sq((uint8_t)s);
	MT_ASSERT_EQ_UINT(512, ok);
	g_next = 255;
	MT_ASSERT_EQ_UINT(1, sq(255));
	MT_ASSERT_EQ_UINT(0, g_next);
	MT_ASSERT_EQ_UINT(0, sq(1)); /* after 255 only 0 is next */
	MT_ASSERT_EQ_UINT(2, g_next);
}

static uint8_t owns_0x30(uint8_t type) { return type == 0x30u; }

static uint8_t check(uint8_t type, uint8_t seq, uint8_t size, uint8_t (*owned)(uint8_t), uint8_t *rule)
{
	tbp_frame_t f;
	f.type = type;
	f.seq = seq;
	f.size = size;
	return tbp_check_request(&f, &g_next, owned, rule);
}

static void test_request_rules(void)
{
	uint8_t rule = 0x55;
	g_next = 0;
	MT_ASSERT_EQ_UINT(TBP_OK, check(TBP_INFO, 0, 0, 0, &rule));
	MT_ASSERT_EQ_UINT(0, rule);
	MT_ASSERT_EQ_UINT(TBP_E_PAYLOAD, check(TBP_STATS, 1, 3, 0, &rule)); /* STATS takes no payload */
	MT_ASSERT_EQ_UINT(TBP_OK, check(TBP_INFER, 2, 187, 0, &rule));      /* any size: the engine checks */
	MT_ASSERT_EQ_UINT(TBP_SIZE_ANY, rule);
	MT_ASSERT_EQ_UINT(TBP_E_SEQUENCE, check(TBP_RESET_STATS, 9, 0, 0, &rule));
	MT_ASSERT_EQ_UINT(TBP_E_TYPE, check(0x30u, 10, 4, 0, &rule));        /* nobody owns it */
	MT_ASSERT_EQ_UINT(TBP_OK, check(0x30u, 10, 4, owns_0x30, &rule));    /* the owner takes it, any size */
	MT_ASSERT_EQ_UINT(TBP_SIZE_OWNER, rule);
	MT_ASSERT_EQ_UINT(TBP_E_TYPE, check(0x31u, 11, 0, owns_0x30, &rule));
	MT_ASSERT_EQ_UINT(11, g_next); /* an unknown type does not consume a sequence number */
}

static void test_stats_encode(void)
{
	tbp_stats_t st;
	uint8_t out[TBP_STATS_REPLY_SIZE];
	tbp_stats_reset(&st);
	tbp_stats_encode(&st, 7, 9, out);
	MT_ASSERT_EQ_UINT(0, tbp_get_u32(out + 8)); /* no division by zero */
	tbp_stats_add(&st, 500);
	tbp_stats_add(&st, 300);
	tbp_stats_add(&st, 701);
	tbp_stats_encode(&st, 80, 6000, out);
	MT_ASSERT_EQ_UINT(3, tbp_get_u32(out + 0));
	MT_ASSERT_EQ_UINT(300, tbp_get_u32(out + 4));
	MT_ASSERT_EQ_UINT(500, tbp_get_u32(out + 8));
	MT_ASSERT_EQ_UINT(701, tbp_get_u32(out + 12));
	MT_ASSERT_EQ_UINT(80, tbp_get_u16(out + 16));
	MT_ASSERT_EQ_UINT(6000, tbp_get_u16(out + 18));
}

int main(void)
{
	mt_begin();
	MT_RUN(test_crc_check_value);
	MT_RUN(test_crc_update_matches_bitwise);
	MT_RUN(test_little_endian_helpers);
	MT_RUN(test_encode_known_bytes);
	MT_RUN(test_encode_refuses);
	MT_RUN(test_round_trip_all_types_and_sizes);
	MT_RUN(test_busy_tracks_frame);
	MT_RUN(test_single_bit_flips_size0);
	MT_RUN(test_single_bit_flips_size9);
	MT_RUN(test_single_bit_flips_size187);
	MT_RUN(test_bad_crc_reports_header);
	MT_RUN(test_truncated_then_valid);
	MT_RUN(test_bad_length_then_resync);
	MT_RUN(test_garbage_prefix);
	MT_RUN(test_doubled_preamble);
	MT_RUN(test_back_to_back);
	MT_RUN(test_sequence_rule);
	MT_RUN(test_request_rules);
	MT_RUN(test_stats_encode);
	return mt_end();
}
