/* The early-exit tree family's checked kernel: the descriptor's family code and tb_etree_t ranges, then
 * tb_etree_score. Family code 4 (TB_FAMILY_ETREE). It checks every field tb_etree_check checks (bias
 * bound and the unrolled kernel's shape included); the byte-by-byte validation of the trees is
 * tb_etree_check (tb_etree.h): the generator's output passes it (tests/test_early_exit.py). */
#include <stddef.h>

#include "tb_etree.h"
#include "tb_model.h"

tb_status_t tb_etree_score_checked(const tb_model_t *model, const uint8_t *x, int32_t *score)
{
	const tb_etree_t *trees = (const tb_etree_t *)model->params;
	if (model->family != TB_FAMILY_ETREE)
		return TB_ERR_FAMILY;
	if (trees == NULL || trees->chunks == NULL)
		return TB_ERR_NULL;
	if (trees->n_chunks == 0u || trees->n_trees == 0u || trees->n_inputs > model->n_inputs ||
	    (trees->leaf_bits != 8u && trees->leaf_bits != 16u) ||
	    (trees->layout != TB_ETREE_COMPLETE && trees->layout != TB_ETREE_SPARSE) ||
	    (trees->layout == TB_ETREE_COMPLETE && (trees->depth < 1u || trees->depth > 8u)) ||
	    trees->bias >= (1L << 30) || trees->bias <= -(1L << 30))
		return TB_ERR_PARAM;
	if (trees->fast && (trees->fast->leaf_bits != trees->leaf_bits ||
	                    trees->fast->depth != (trees->layout == TB_ETREE_COMPLETE ? trees->depth : 0u)))
		return TB_ERR_PARAM; /* an unrolled kernel for another shape: the same ranges as tb_etree_check */
	*score = tb_etree_score(trees, x);
	return TB_OK;
}
