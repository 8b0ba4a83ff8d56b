/*
 * tb_model.h: plain structs describing every model family the pipeline emits.
 *
 * All arithmetic is integer. Inputs are n_inputs uint8 samples (0..255 for the
 * declared input range). Every family computes an int32 score; the predicted
 * class is 1 (abnormal) when score > decision_threshold, else 0 (normal).
 * Array pointers point into flash (TB_FLASH); the structs themselves are small.
 */
#ifndef TB_MODEL_H
#define TB_MODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
	TB_FAMILY_TREES = 1,  /* gradient-boosted trees or random forest */
	TB_FAMILY_MLP = 2,    /* one hidden ReLU layer, int8 weights */
	TB_FAMILY_LINEAR = 3  /* int8 weights, one dot product */
} tb_family_t;

/*
 * Complete binary trees of equal depth, stored breadth-first.
 * nodes: n_trees * (2^depth - 1) pairs {feature, threshold}: at node i go to
 *   child 2i+1 when x[feature] <= threshold, else to 2i+2.
 * leaves: n_trees * 2^depth int16 values; score = bias + sum of one leaf per tree.
 */
typedef struct {
	uint8_t n_trees;
	uint8_t depth; /* 1..7 */
	const uint8_t *nodes;
	const int16_t *leaves;
	int32_t bias;
} tb_trees_t;

/*
 * Fully connected layers with int8 weights (row-major, one row per neuron).
 * hidden[j] = clamp((relu(dot(w1[j], x) + b1[j]) * m1 + 2^(s1-1)) >> s1, 0, 255)
 * score     = dot(w2, hidden) + b2
 * The linear family is the output layer alone (n_hidden = 0, w2 over x).
 */
typedef struct {
	uint16_t n_hidden;
	const int8_t *w1;
	const int32_t *b1;
	uint8_t m1;  /* requantisation multiplier */
	uint8_t s1;  /* requantisation shift, 1..31 */
	const int8_t *w2;
	int32_t b2;
} tb_dense_t;

typedef struct {
	uint8_t family; /* tb_family_t */
	uint16_t n_inputs;
	int32_t decision_threshold;
	union {
		tb_trees_t trees;
		tb_dense_t dense;
	} u;
} tb_model_t;

#ifdef __cplusplus
}
#endif

#endif /* TB_MODEL_H */
