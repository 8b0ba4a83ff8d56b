/*
 * tb_trees.h: tree ensembles (gradient-boosted trees, random forests) as complete
 * binary trees of equal depth, one {feature, threshold} byte pair a node.
 */
#ifndef TB_TREES_H
#define TB_TREES_H

#include <stdint.h>

#include "tb_model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TB_FAMILY_TREES 1u /* the family code in tb_model_t.family */

/*
 * Complete binary trees of equal depth, stored breadth-first (arrays in flash).
 * nodes: n_trees * (2^depth - 1) pairs {feature, threshold}: at node i go to
 *   child 2i+1 when x[feature] <= threshold, else to 2i+2.
 *   feature: 0..n_inputs-1 (not checked per call: the generator guarantees it).
 * leaves: n_trees * 2^depth int16 values; score = bias + sum of one leaf per tree.
 * On AVR both arrays must lie in the first 64 KB of flash.
 */
typedef struct {
	uint8_t n_trees;       /* 0..255 (0: the score is the bias) */
	uint8_t depth;         /* 1..7 */
	const uint8_t *nodes;  /* not NULL */
	const int16_t *leaves; /* not NULL */
	int32_t bias;          /* |bias| + n_trees * 32767 < 2^31 (no overflow) */
} tb_trees_t;

/* Score of a tree ensemble for one input vector x[n_inputs] (optimised; inline asm on AVR). */
int32_t tb_trees_score(const tb_trees_t *trees, const uint8_t *x);
/* The plain-C reference of tb_trees_score; both must agree bit for bit. */
int32_t tb_trees_score_ref(const tb_trees_t *trees, const uint8_t *x);
/* The checked kernel (tb_kernel_fn): family TB_FAMILY_TREES, params a tb_trees_t in range. */
tb_status_t tb_trees_score_checked(const tb_model_t *model, const uint8_t *x, int32_t *score);

#ifdef __cplusplus
}
#endif

#endif /* TB_TREES_H */
