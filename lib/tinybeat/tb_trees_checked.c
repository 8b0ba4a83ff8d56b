/* The tree family's checked kernel: the descriptor's family code and tb_trees_t ranges, then tb_trees_score. */
#include <stddef.h>

#include "tb_flash.h"
#include "tinybeat.h"

tb_status_t tb_trees_score_checked(const tb_model_t *model, const uint8_t *x, int32_t *score)
{
	const tb_trees_t *trees = (const tb_trees_t *)model->params;
	if (model->family != TB_FAMILY_TREES)
		return TB_ERR_FAMILY;
	if (trees == NULL || trees->nodes == NULL || trees->leaves == NULL)
		return TB_ERR_NULL;
	if (trees->depth < 1u || trees->depth > 7u)
		return TB_ERR_PARAM;
	if (!tb_flash_near_ok())
		return TB_ERR_FLASH;
	*score = tb_trees_score(trees, x);
	return TB_OK;
}
