/* Tree-ensemble kernel: complete trees, one {feature, threshold} pair a node. */
#include "tb_flash.h"
#include "tinybeat.h"

int32_t tb_trees_score(const tb_trees_t *trees, const uint8_t *x)
{
	const uint8_t depth = trees->depth;
	const uint8_t n_internal = (uint8_t)((1u << depth) - 1u);
	const uint8_t *nodes = trees->nodes;
	const int16_t *leaves = trees->leaves;
	int32_t score = trees->bias;

	for (uint8_t t = trees->n_trees; t; t--) {
		uint8_t i = 0;
		for (uint8_t d = depth; d; d--) {
			const uint16_t pair = tb_flash_u16(nodes + 2u * i); /* feature | threshold << 8 */
			i = (uint8_t)(2u * i + 1u);
			if (x[(uint8_t)pair] > (uint8_t)(pair >> 8))
				i++;
		}
		score += tb_flash_i16(leaves + (uint8_t)(i - n_internal));
		nodes += 2u * n_internal;
		leaves += (uint16_t)n_internal + 1u;
	}
	return score;
}
