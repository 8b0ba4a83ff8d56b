/*
 * Bit-exactness of the inference engine against the Python integer reference:
 * golden inputs, scores and classes come from include/tinybeat_golden.h, which
 * the pre-build hook generates beside the model header. Runs on the host and on
 * the (simulated) AVR.
 */
#include <string.h>

#include "microtest.h"
#include "tinybeat.h"
#include "tinybeat_golden.h"
#include "tinybeat_model.h"

static uint8_t g_x[TB_MODEL_N_INPUTS];

static void load_golden(uint16_t k)
{
	const uint8_t *src = tb_golden_inputs + (uint32_t)k * TB_GOLDEN_N_INPUTS;
	for (uint16_t i = 0; i < TB_GOLDEN_N_INPUTS; i++)
		g_x[i] = tb_flash_u8(src + i);
}

static void test_golden_matches_model(void)
{
	MT_ASSERT_EQ_INT(TB_MODEL_N_INPUTS, TB_GOLDEN_N_INPUTS);
	MT_ASSERT_TRUE(strcmp(TB_MODEL_FINGERPRINT, TB_GOLDEN_FINGERPRINT) == 0);
	MT_ASSERT_TRUE(TB_GOLDEN_COUNT >= 2);
}

static void test_scores_bit_exact(void)
{
	for (uint16_t k = 0; k < TB_GOLDEN_COUNT; k++) {
		load_golden(k);
		MT_ASSERT_EQ_INT(tb_flash_i32(tb_golden_scores + k), tb_model_score(&tb_model, g_x));
	}
}

static void test_classes_bit_exact(void)
{
	for (uint16_t k = 0; k < TB_GOLDEN_COUNT; k++) {
		int32_t score = 0;
		load_golden(k);
		MT_ASSERT_EQ_INT(tb_flash_u8(tb_golden_classes + k), tb_model_predict(&tb_model, g_x, &score));
		MT_ASSERT_EQ_INT(tb_flash_i32(tb_golden_scores + k), score);
	}
}

static void test_both_classes_present(void)
{
	uint16_t abnormal = 0;
	for (uint16_t k = 0; k < TB_GOLDEN_COUNT; k++)
		abnormal += tb_flash_u8(tb_golden_classes + k);
	MT_ASSERT_TRUE(abnormal > 0);
	MT_ASSERT_TRUE(abnormal < TB_GOLDEN_COUNT);
}

static void test_fast_tree_kernel_matches_reference(void)
{
	if (tb_model.family != TB_FAMILY_TREES)
		return; /* only tree ensembles have two kernels */
	for (uint16_t k = 0; k < TB_GOLDEN_COUNT; k++) {
		load_golden(k);
		MT_ASSERT_EQ_INT(tb_trees_score_ref(&tb_model.u.trees, g_x), tb_trees_score(&tb_model.u.trees, g_x));
	}
}

static void test_unknown_family_is_rejected(void)
{
	tb_model_t bad = tb_model;
	bad.family = 0;
	MT_ASSERT_EQ_INT(INT32_MIN, tb_model_score(&bad, g_x));
}

int main(void)
{
	mt_begin();
	MT_RUN(test_golden_matches_model);
	MT_RUN(test_scores_bit_exact);
	MT_RUN(test_classes_bit_exact);
	MT_RUN(test_both_classes_present);
	MT_RUN(test_fast_tree_kernel_matches_reference);
	MT_RUN(test_unknown_family_is_rejected);
	return mt_end();
}
