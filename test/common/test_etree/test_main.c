/*
 * tb_etree: hand-made trees with hand-computed scores, and a scikit-learn-made fixture
 * (sk_fixture.h, written by tests/test_early_exit.py from the Python reference), on both
 * layouts and leaf sizes; the optimised kernel equals the reference for page-aligned and
 * unaligned inputs; tb_etree_check rejects broken descriptors. Runs on the host and on the
 * (simulated) ATmega2560.
 */
#include <string.h>

#include "microtest.h"
#include "tb_etree.h"
#include "tb_model.h"
#include "sk_fixture.h"

/* ---- complete layout, depth 2, 4 inputs: two trees (tree B's left child is a padded leaf) ---- */
/* tree A: x0 <= 100 ? (x1 <= 50 ? -3 : 5) : (x2 <= 200 ? 7 : -9) */
/* tree B: x3 <= 10 ? 20 : (x1 <= 0 ? -50 : 60) */
static const tb_etree_byte_t c8_data[] TB_ETREE_DATA = {
	0, 100, 1, 50, 128 - 3, 128 + 5, 2, 200, 128 + 7, 128 - 9,
	3, 10, 0, 255, 128 + 20, 128 + 20, 1, 0, 128 - 50, 128 + 60};
static const tb_etree_chunk_t c8_chunks[] = {{c8_data, sizeof c8_data, 2}};
static const tb_etree_t c8 = {c8_chunks, 1, 2, TB_ETREE_COMPLETE, 2, 8, 4, 1000, TB_ETREE_FAST(8, 2)};

/* the same bytes at an odd flash address: tb_etree_check flags it, the kernels still score right */
static const tb_etree_byte_t c8_odd_data[] TB_ETREE_DATA = {
	0xEE, 0, 100, 1, 50, 128 - 3, 128 + 5, 2, 200, 128 + 7, 128 - 9,
	3, 10, 0, 255, 128 + 20, 128 + 20, 1, 0, 128 - 50, 128 + 60};
static const tb_etree_chunk_t c8_odd_chunks[] = {{c8_odd_data + 1, sizeof c8_odd_data - 1, 2}};
static const tb_etree_t c8_odd = {c8_odd_chunks, 1, 2, TB_ETREE_COMPLETE, 2, 8, 4, 1000, TB_ETREE_FAST(8, 2)};

#define U16(v) (uint8_t)((v) + 32768L), (uint8_t)(((v) + 32768L) >> 8)
/* the same trees with leaves x 1000 */
static const tb_etree_byte_t c16_data[] TB_ETREE_DATA = {
	0, 100, 1, 50, U16(-3000), U16(5000), 2, 200, U16(7000), U16(-9000),
	3, 10, 0, 255, U16(20000), U16(20000), 1, 0, U16(-32767), U16(32767)};
static const tb_etree_chunk_t c16_chunks[] = {{c16_data, sizeof c16_data, 2}};
static const tb_etree_t c16 = {c16_chunks, 1, 2, TB_ETREE_COMPLETE, 2, 16, 4, -100000L, TB_ETREE_FAST(16, 2)};

/* ---- sparse layout: x0 <= 100 ? -3 : (x1 <= 50 ? (x2 <= 200 ? 7 : -9) : 5), then a lone leaf 10 ---- */
static const tb_etree_byte_t s8_data[] TB_ETREE_DATA = {
	20, 0,                       /* tree 1: 20 bytes */
	0, 101, 2, 0,                /* x0 >= 101 ? right (+2) : left */
	128 - 3, 0,                  /* leaf -3 */
	1, 51, 8, 0,                 /* x1 >= 51 ? right (+8) : left */
	2, 201, 2, 0, 128 + 7, 0, 128 - 9, 0,
	128 + 5, 0,                  /* leaf 5 */
	2, 0, 128 + 10, 0};          /* tree 2: a single leaf, 10 */
static const tb_etree_chunk_t s8_chunks[] = {{s8_data, sizeof s8_data, 2}};
static const tb_etree_t s8 = {s8_chunks, 1, 2, TB_ETREE_SPARSE, 3, 8, 3, -5, TB_ETREE_FAST_SPARSE(8)};

#define L16(v) (uint8_t)((v) + 32768L), 0, (uint8_t)(((v) + 32768L) >> 8)
static const tb_etree_byte_t s16_data[] TB_ETREE_DATA = {
	24, 0, 0, 101, 3, 0, L16(-300), 1, 51, 10, 0, 2, 201, 3, 0, L16(700), L16(-900), L16(500),
	3, 0, L16(1000)};
static const tb_etree_chunk_t s16_chunks[] = {{s16_data, sizeof s16_data, 2}};
static const tb_etree_t s16 = {s16_chunks, 1, 2, TB_ETREE_SPARSE, 3, 16, 3, 0, TB_ETREE_FAST_SPARSE(16)};

/* inputs at a 256-byte boundary (the complete layout's fast path on AVR) and one byte after it */
static uint8_t g_page[TB_SK_N_INPUTS + 1] __attribute__((aligned(256)));

static int32_t both(const tb_etree_t *m, const uint8_t *x4)
{
	int32_t ref = 0;
	for (uint8_t off = 0; off < 2; off++) {
		uint8_t *x = g_page + off;
		memcpy(x, x4, 4);
		const int32_t r = tb_etree_score_ref(m, x);
		/* a value-returning helper: record failures without the MT_ASSERT early return */
		mt_check_int(__FILE__, __LINE__, r, tb_etree_score(m, x), "tb_etree_score(m, x)");
		if (off)
			mt_check_int(__FILE__, __LINE__, ref, r, "aligned == unaligned");
		ref = r;
	}
	return ref;
}

static void test_hand_made_models_pass_the_check(void)
{
	MT_ASSERT_EQ_INT(TB_ETREE_OK, tb_etree_check(&c8, 4));
	MT_ASSERT_EQ_INT(TB_ETREE_OK, tb_etree_check(&c16, 4));
	MT_ASSERT_EQ_INT(TB_ETREE_OK, tb_etree_check(&s8, 3));
	MT_ASSERT_EQ_INT(TB_ETREE_OK, tb_etree_check(&s16, 3));
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_ALIGN, tb_etree_check(&c8_odd, 4));
}

static void test_complete_hand_computed(void)
{
	static const uint8_t xs[4][4] = {{0, 0, 0, 0}, {255, 255, 255, 255}, {100, 51, 201, 11}, {101, 0, 200, 10}};
	static const int32_t want8[4] = {1000 - 3 + 20, 1000 - 9 + 60, 1000 + 5 + 60, 1000 + 7 + 20};
	static const int32_t want16[4] = {-100000L - 3000 + 20000, -100000L - 9000 + 32767, -100000L + 5000 + 32767,
	                                  -100000L + 7000 + 20000};
	for (uint8_t k = 0; k < 4; k++) {
		MT_ASSERT_EQ_INT(want8[k], both(&c8, xs[k]));
		MT_ASSERT_EQ_INT(want8[k], both(&c8_odd, xs[k]));
		MT_ASSERT_EQ_INT(want16[k], both(&c16, xs[k]));
	}
}

static void test_sparse_hand_computed(void)
{
	static const uint8_t xs[5][4] = {{0, 0, 0, 0}, {100, 255, 255, 0}, {101, 50, 200, 0}, {101, 50, 201, 0},
	                                 {255, 51, 0, 0}};
	static const int32_t leaf[5] = {-3, -3, 7, -9, 5};
	for (uint8_t k = 0; k < 5; k++) {
		MT_ASSERT_EQ_INT(-5 + leaf[k] + 10, both(&s8, xs[k]));
		MT_ASSERT_EQ_INT(leaf[k] * 100 + 1000, both(&s16, xs[k]));
	}
}

/* xorshift inputs: every byte value reaches every threshold sooner or later */
static uint8_t next_byte(uint16_t *s)
{
	*s ^= (uint16_t)(*s << 7);
	*s ^= (uint16_t)(*s >> 9);
	*s ^= (uint16_t)(*s << 8);
	return (uint8_t)*s;
}

static void test_fast_equals_reference_on_random_inputs(void)
{
	const tb_etree_t *models[5] = {&c8, &c16, &s8, &s16, &c8_odd};
	uint16_t seed = 0xACE1u;
	for (uint16_t k = 0; k < 300; k++) {
		uint8_t x4[4];
		for (uint8_t i = 0; i < 4; i++)
			x4[i] = next_byte(&seed);
		for (uint8_t m = 0; m < 5; m++)
			both(models[m], x4);
	}
}

static void test_sklearn_fixture_bit_exact(void)
{
	const tb_etree_t *models[TB_SK_N_MODELS] = TB_SK_MODELS;
	for (uint8_t m = 0; m < TB_SK_N_MODELS; m++) {
		MT_ASSERT_EQ_INT(TB_ETREE_OK, tb_etree_check(models[m], TB_SK_N_INPUTS));
		for (uint16_t k = 0; k < TB_SK_N_ROWS; k++) {
			for (uint8_t off = 0; off < 2; off++) {
				uint8_t *x = g_page + off;
				for (uint16_t i = 0; i < TB_SK_N_INPUTS; i++)
					x[i] = tb_sk_inputs[(uint32_t)k * TB_SK_N_INPUTS + i];
				const int32_t want = tb_flash_i32(&tb_sk_scores[m][k]);
				MT_ASSERT_EQ_INT(want, tb_etree_score_ref(models[m], x));
				MT_ASSERT_EQ_INT(want, tb_etree_score(models[m], x));
			}
		}
	}
}

static void test_check_rejects_broken_descriptors(void)
{
	tb_etree_t bad = c8;
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_NULL, tb_etree_check(0, 4));
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_PARAM, tb_etree_check(&c8, 3)); /* the model reads 4 inputs */
	bad.n_inputs = 3;                                             /* a feature index 3 >= 3 */
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_FEATURE, tb_etree_check(&bad, 4));
	bad = c8;
	bad.layout = 3;
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_PARAM, tb_etree_check(&bad, 4));
	bad = c8;
	bad.depth = 9;
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_PARAM, tb_etree_check(&bad, 4));
	bad = c8;
	bad.leaf_bits = 12;
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_PARAM, tb_etree_check(&bad, 4));
	bad = c8;
	bad.n_trees = 3;
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_SIZE, tb_etree_check(&bad, 4));
	bad = s8;
	bad.leaf_bits = 16; /* the 8-bit leaves no longer parse as a tree */
	MT_ASSERT_TRUE(tb_etree_check(&bad, 3) != TB_ETREE_OK);
#ifdef __AVR__
	bad = c8;
	bad.fast = TB_ETREE_FAST(8, 3); /* an unrolled kernel for another depth */
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_PARAM, tb_etree_check(&bad, 4));
	bad.fast = TB_ETREE_FAST_SPARSE(8); /* the sparse kernel on a complete model */
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_PARAM, tb_etree_check(&bad, 4));
	bad = s8;
	bad.fast = TB_ETREE_FAST_SPARSE(16); /* the wrong leaf size */
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_PARAM, tb_etree_check(&bad, 3));
#endif
	/* a right-child offset one byte short */
	static const tb_etree_byte_t off_data[] TB_ETREE_DATA = {8, 0, 0, 101, 1, 0, 125, 0, 133, 0};
	static const tb_etree_chunk_t off_chunks[] = {{off_data, sizeof off_data, 1}};
	const tb_etree_t off = {off_chunks, 1, 1, TB_ETREE_SPARSE, 1, 8, 1, 0, 0};
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_OFFSET, tb_etree_check(&off, 1));
}

/* The checked kernel (tb_model_predict's path) refuses the descriptors whose ranges tb_etree_check
 * refuses: the bias bound and an unrolled kernel made for another shape. */
static tb_status_t checked(const tb_etree_t *trees, uint16_t n_inputs)
{
	const tb_model_t model = {tb_etree_score_checked, trees, 0, n_inputs, TB_FAMILY_ETREE};
	int32_t score;
	return tb_etree_score_checked(&model, g_page, &score);
}

static void test_checked_kernel_checks_the_same_ranges(void)
{
	tb_etree_t bad = c8;
	MT_ASSERT_EQ_INT(TB_OK, checked(&bad, 4));
	bad.bias = 1L << 30;
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_PARAM, tb_etree_check(&bad, 4));
	MT_ASSERT_EQ_INT(TB_ERR_PARAM, checked(&bad, 4));
	bad.bias = -(1L << 30);
	MT_ASSERT_EQ_INT(TB_ETREE_ERR_PARAM, tb_etree_check(&bad, 4));
	MT_ASSERT_EQ_INT(TB_ERR_PARAM, checked(&bad, 4));
	bad.bias = (1L << 30) - 1;
	MT_ASSERT_EQ_INT(TB_OK, checked(&bad, 4));
#ifdef __AVR__
	bad = c8;
	bad.fast = TB_ETREE_FAST(8, 3);
	MT_ASSERT_EQ_INT(TB_ERR_PARAM, checked(&bad, 4));
	bad = s8;
	bad.fast = TB_ETREE_FAST_SPARSE(16);
	MT_ASSERT_EQ_INT(TB_ERR_PARAM, checked(&bad, 3));
#endif
}

int main(void)
{
	mt_begin();
	MT_RUN(test_hand_made_models_pass_the_check);
	MT_RUN(test_complete_hand_computed);
	MT_RUN(test_sparse_hand_computed);
	MT_RUN(test_fast_equals_reference_on_random_inputs);
	MT_RUN(test_sklearn_fixture_bit_exact);
	MT_RUN(test_check_rejects_broken_descriptors);
	MT_RUN(test_checked_kernel_checks_the_same_ranges);
	return mt_end();
}
