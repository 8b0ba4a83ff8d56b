/*
 * Bit-exactness of the inference engine against the Python integer reference:
 * golden inputs, scores and classes come from include/tinybeat_golden.h, which
 * the pre-build hook generates beside the model header. And the checked API:
 * every bad argument is an error status with no verdict. Runs on the host and
 * on the (simulated) AVR.
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
		int32_t score = 0;
		load_golden(k);
		MT_ASSERT_EQ_INT(TB_OK, tb_model_score(&tb_model, g_x, TB_MODEL_N_INPUTS, &score));
		MT_ASSERT_EQ_INT(tb_flash_i32(tb_golden_scores + k), score);
	}
}

static void test_classes_bit_exact(void)
{
	for (uint16_t k = 0; k < TB_GOLDEN_COUNT; k++) {
		int32_t score = 0;
		uint8_t cls = TB_CLASS_NONE;
		load_golden(k);
		MT_ASSERT_EQ_INT(TB_OK, tb_model_predict(&tb_model, g_x, TB_MODEL_N_INPUTS, &score, &cls));
		MT_ASSERT_EQ_INT(tb_flash_u8(tb_golden_classes + k), cls);
		MT_ASSERT_EQ_INT(tb_flash_i32(tb_golden_scores + k), score);
		cls = TB_CLASS_NONE;
		MT_ASSERT_EQ_INT(TB_OK, tb_model_predict(&tb_model, g_x, TB_MODEL_N_INPUTS, NULL, &cls));
		MT_ASSERT_EQ_INT(tb_flash_u8(tb_golden_classes + k), cls);
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

#if TB_MODEL_FAMILY == TB_FAMILY_TREES
static void test_fast_tree_kernel_matches_reference(void)
{
	/* only tree ensembles have two kernels; only the model's own kernel is built in */
	const tb_trees_t *trees = (const tb_trees_t *)tb_model.params;
	for (uint16_t k = 0; k < TB_GOLDEN_COUNT; k++) {
		load_golden(k);
		MT_ASSERT_EQ_INT(tb_trees_score_ref(trees, g_x), tb_trees_score(trees, g_x));
	}
}
#elif TB_MODEL_FAMILY == TB_FAMILY_ETREE
static void test_etree_model_checks_and_kernel_matches_reference(void)
{
	const tb_etree_t *trees = (const tb_etree_t *)tb_model.params;
	MT_ASSERT_EQ_UINT(TB_ETREE_OK, tb_etree_check(trees, TB_MODEL_N_INPUTS)); /* every byte of the trees */
	for (uint16_t k = 0; k < TB_GOLDEN_COUNT; k++) {
		load_golden(k);
		MT_ASSERT_EQ_INT(tb_etree_score_ref(trees, g_x), tb_etree_score(trees, g_x));
	}
}
#endif

static void test_descriptor_is_the_models(void)
{
	MT_ASSERT_EQ_UINT(TB_MODEL_FAMILY, tb_model.family);
	MT_ASSERT_EQ_UINT(TB_MODEL_N_INPUTS, tb_model.n_inputs);
	MT_ASSERT_TRUE(tb_model.kernel != NULL);
	MT_ASSERT_TRUE(tb_model.params != NULL);
}

/* A refused call: this status, score 0 and class TB_CLASS_NONE (never a verdict). */
static int refused(tb_status_t expected, const tb_model_t *model, const uint8_t *x, uint16_t n_x)
{
	int32_t score = 12345;
	uint8_t cls = 0;
	if (!mt_check_int(__FILE__, __LINE__, expected, tb_model_predict(model, x, n_x, &score, &cls), "status"))
		return 0;
	if (!mt_check_int(__FILE__, __LINE__, 0, score, "score") ||
	    !mt_check_uint(__FILE__, __LINE__, TB_CLASS_NONE, cls, "cls"))
		return 0;
	score = 12345;
	if (!mt_check_int(__FILE__, __LINE__, expected, tb_model_score(model, x, n_x, &score), "score status"))
		return 0;
	return mt_check_int(__FILE__, __LINE__, 0, score, "score");
}

static void test_wrong_input_length_is_an_error(void)
{
	load_golden(0);
	MT_ASSERT_TRUE(refused(TB_ERR_INPUT_LENGTH, &tb_model, g_x, TB_MODEL_N_INPUTS - 1));
	MT_ASSERT_TRUE(refused(TB_ERR_INPUT_LENGTH, &tb_model, g_x, TB_MODEL_N_INPUTS + 1));
	MT_ASSERT_TRUE(refused(TB_ERR_INPUT_LENGTH, &tb_model, g_x, 0));
	MT_ASSERT_TRUE(refused(TB_ERR_INPUT_LENGTH, &tb_model, g_x, 0xFFFFu));
}

static void test_unknown_family_is_an_error(void)
{
	tb_model_t bad = tb_model;
	load_golden(0);
	bad.family = 0; /* never a family */
	MT_ASSERT_TRUE(refused(TB_ERR_FAMILY, &bad, g_x, TB_MODEL_N_INPUTS));
	bad.family = 200; /* no such family */
	MT_ASSERT_TRUE(refused(TB_ERR_FAMILY, &bad, g_x, TB_MODEL_N_INPUTS));
	/* a code of another family: the kernel serves its own codes only */
	bad.family = TB_MODEL_FAMILY == TB_FAMILY_TREES ? TB_FAMILY_MLP : TB_FAMILY_TREES;
	MT_ASSERT_TRUE(refused(TB_ERR_FAMILY, &bad, g_x, TB_MODEL_N_INPUTS));
	bad = tb_model;
	bad.kernel = NULL; /* no kernel */
	MT_ASSERT_TRUE(refused(TB_ERR_FAMILY, &bad, g_x, TB_MODEL_N_INPUTS));
}

static void test_null_arguments_are_errors(void)
{
	int32_t score = 1;
	tb_model_t bad = tb_model;
	load_golden(0);
	MT_ASSERT_TRUE(refused(TB_ERR_NULL, NULL, g_x, TB_MODEL_N_INPUTS));
	MT_ASSERT_TRUE(refused(TB_ERR_NULL, &tb_model, NULL, TB_MODEL_N_INPUTS));
	bad.params = NULL;
	MT_ASSERT_TRUE(refused(TB_ERR_NULL, &bad, g_x, TB_MODEL_N_INPUTS));
	MT_ASSERT_EQ_INT(TB_ERR_NULL, tb_model_score(&tb_model, g_x, TB_MODEL_N_INPUTS, NULL));
	MT_ASSERT_EQ_INT(TB_ERR_NULL, tb_model_predict(&tb_model, g_x, TB_MODEL_N_INPUTS, &score, NULL));
	MT_ASSERT_EQ_INT(0, score);
}

#if TB_MODEL_FAMILY == TB_FAMILY_TREES
static void test_tree_parameters_out_of_range_are_errors(void)
{
	tb_trees_t params = *(const tb_trees_t *)tb_model.params;
	tb_model_t bad = tb_model;
	bad.params = &params;
	load_golden(0);
	params.depth = 0;
	MT_ASSERT_TRUE(refused(TB_ERR_PARAM, &bad, g_x, TB_MODEL_N_INPUTS));
	params.depth = 8;
	MT_ASSERT_TRUE(refused(TB_ERR_PARAM, &bad, g_x, TB_MODEL_N_INPUTS));
}
#elif TB_MODEL_FAMILY == TB_FAMILY_ETREE
static void test_etree_parameters_out_of_range_are_errors(void)
{
	tb_etree_t params = *(const tb_etree_t *)tb_model.params;
	tb_model_t bad = tb_model;
	bad.params = &params;
	load_golden(0);
	params.leaf_bits = 12;
	MT_ASSERT_TRUE(refused(TB_ERR_PARAM, &bad, g_x, TB_MODEL_N_INPUTS));
	params = *(const tb_etree_t *)tb_model.params;
	params.n_chunks = 0;
	MT_ASSERT_TRUE(refused(TB_ERR_PARAM, &bad, g_x, TB_MODEL_N_INPUTS));
	params = *(const tb_etree_t *)tb_model.params;
	params.chunks = NULL;
	MT_ASSERT_TRUE(refused(TB_ERR_NULL, &bad, g_x, TB_MODEL_N_INPUTS));
}
#else
static void test_dense_parameters_out_of_range_are_errors(void)
{
	tb_dense_t params = *(const tb_dense_t *)tb_model.params;
	tb_model_t bad = tb_model;
	bad.params = &params;
	load_golden(0);
	/* a linear model with a hidden layer, or an MLP without one */
	params.n_hidden = TB_MODEL_FAMILY == TB_FAMILY_LINEAR ? 1u : 0u;
	MT_ASSERT_TRUE(refused(TB_ERR_PARAM, &bad, g_x, TB_MODEL_N_INPUTS));
	if (TB_MODEL_FAMILY == TB_FAMILY_MLP) {
		params = *(const tb_dense_t *)tb_model.params;
		params.s1 = 32;
		MT_ASSERT_TRUE(refused(TB_ERR_PARAM, &bad, g_x, TB_MODEL_N_INPUTS));
	}
}
#endif

int main(void)
{
	mt_begin();
	MT_RUN(test_golden_matches_model);
	MT_RUN(test_scores_bit_exact);
	MT_RUN(test_classes_bit_exact);
	MT_RUN(test_both_classes_present);
	MT_RUN(test_descriptor_is_the_models);
	MT_RUN(test_wrong_input_length_is_an_error);
	MT_RUN(test_unknown_family_is_an_error);
	MT_RUN(test_null_arguments_are_errors);
#if TB_MODEL_FAMILY == TB_FAMILY_TREES
	MT_RUN(test_fast_tree_kernel_matches_reference);
	MT_RUN(test_tree_parameters_out_of_range_are_errors);
#elif TB_MODEL_FAMILY == TB_FAMILY_ETREE
	MT_RUN(test_etree_model_checks_and_kernel_matches_reference);
	MT_RUN(test_etree_parameters_out_of_range_are_errors);
#else
	MT_RUN(test_dense_parameters_out_of_range_are_errors);
#endif
	return mt_end();
}
