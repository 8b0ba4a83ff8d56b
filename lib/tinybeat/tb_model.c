/* The checked engine entry points: argument checks, the model's own kernel, the decision rule. */
#include <stddef.h>

#include "tinybeat.h"

/* The checks both entry points share, then the model's kernel (writes *score on TB_OK only). */
static inline __attribute__((always_inline)) tb_status_t run_kernel(const tb_model_t *model, const uint8_t *x, uint16_t n_x, int32_t *score)
{
	if (model == NULL || x == NULL)
		return TB_ERR_NULL;
	if (model->kernel == NULL)
		return TB_ERR_FAMILY;
	if (n_x != model->n_inputs || n_x == 0u)
		return TB_ERR_INPUT_LENGTH;
	return model->kernel(model, x, score);
}

tb_status_t tb_model_score(const tb_model_t *model, const uint8_t *x, uint16_t n_x, int32_t *score)
{
	if (score == NULL)
		return TB_ERR_NULL;
	*score = 0;
	return run_kernel(model, x, n_x, score);
}

tb_status_t tb_model_predict(const tb_model_t *model, const uint8_t *x, uint16_t n_x, int32_t *score,
                             uint8_t *cls)
{
	int32_t local;
	int32_t *out = score != NULL ? score : &local; /* the kernel writes the score here */
	*out = 0;
	if (cls == NULL)
		return TB_ERR_NULL;
	*cls = TB_CLASS_NONE;
	const tb_status_t status = run_kernel(model, x, n_x, out);
	if (status == TB_OK)
		*cls = *out > model->decision_threshold ? 1u : 0u;
	return status;
}
