/* Family dispatch and the decision rule. */
#include "tinybeat.h"

int32_t tb_model_score(const tb_model_t *model, const uint8_t *x)
{
	switch (model->family) {
	case TB_FAMILY_TREES:
		return tb_trees_score(&model->u.trees, x);
	case TB_FAMILY_MLP:
	case TB_FAMILY_LINEAR:
		return tb_dense_score(&model->u.dense, x, model->n_inputs);
	default:
		return INT32_MIN;
	}
}

uint8_t tb_model_predict(const tb_model_t *model, const uint8_t *x, int32_t *score)
{
	const int32_t s = tb_model_score(model, x);
	if (score)
		*score = s;
	return s > model->decision_threshold ? 1u : 0u;
}
