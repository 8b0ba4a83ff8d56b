/* Dense kernels: int8 weights in flash times uint8 activations, int32 sums. */
#include <stddef.h>

#include "tb_flash.h"
#include "tinybeat.h"

int32_t tb_dot_i8_u8(const int8_t *w, const uint8_t *x, uint16_t n)
{
	int32_t acc = 0;
	while (n--)
		acc += (int16_t)tb_flash_i8(w++) * (int16_t)*x++;
	return acc;
}

int32_t tb_dense_score(const tb_dense_t *dense, const uint8_t *x, uint16_t n_inputs)
{
	if (dense->n_hidden == 0)
		return tb_dot_i8_u8(dense->w2, x, n_inputs) + dense->b2;

	/* Each hidden neuron feeds the output as soon as it is computed: no buffer. */
	int32_t score = dense->b2;
	const int8_t *w1 = dense->w1;
	const uint8_t s1 = dense->s1;
	const int32_t round = (int32_t)1 << (s1 - 1u);
	for (uint16_t j = 0; j < dense->n_hidden; j++) {
		int32_t acc = tb_dot_i8_u8(w1, x, n_inputs) + tb_flash_i32(dense->b1 + j);
		w1 += n_inputs;
		if (acc <= 0)
			continue; /* ReLU: this neuron adds nothing */
		int32_t h = (acc * (int32_t)dense->m1 + round) >> s1;
		if (h > 255)
			h = 255;
		score += (int32_t)tb_flash_i8(dense->w2 + j) * h;
	}
	return score;
}

tb_status_t tb_dense_score_checked(const tb_model_t *model, const uint8_t *x, int32_t *score)
{
	const tb_dense_t *dense = (const tb_dense_t *)model->params;
	if (model->family != TB_FAMILY_MLP && model->family != TB_FAMILY_LINEAR)
		return TB_ERR_FAMILY;
	if (dense == NULL || dense->w2 == NULL)
		return TB_ERR_NULL;
	if (model->family == TB_FAMILY_LINEAR) {
		if (dense->n_hidden != 0u)
			return TB_ERR_PARAM;
	} else {
		if (dense->w1 == NULL || dense->b1 == NULL)
			return TB_ERR_NULL;
		if (dense->n_hidden == 0u || dense->s1 < 1u || dense->s1 > 31u)
			return TB_ERR_PARAM;
	}
	if (!tb_flash_near_ok()) /* 16-bit flash reads: the arrays must end below 64 KB (tb_flash.h) */
		return TB_ERR_FLASH;
	*score = tb_dense_score(dense, x, model->n_inputs);
	return TB_OK;
}
