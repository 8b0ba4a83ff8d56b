/*
 * tb_dense.h: an MLP with one hidden ReLU layer, or a linear model; int8 weights
 * in flash, uint8 inputs, int32 sums.
 */
#ifndef TB_DENSE_H
#define TB_DENSE_H

#include <stdint.h>

#include "tb_model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TB_FAMILY_MLP 2u    /* one hidden ReLU layer: n_hidden >= 1 */
#define TB_FAMILY_LINEAR 3u /* the output layer alone: n_hidden == 0 */

/*
 * Fully connected layers with int8 weights (row-major, one row per neuron; arrays in flash).
 * hidden[j] = clamp((relu(dot(w1[j], x) + b1[j]) * m1 + 2^(s1-1)) >> s1, 0, 255)
 * score     = dot(w2, hidden) + b2
 * The linear family is the output layer alone (n_hidden = 0, w2 over x).
 * Ranges: every dot product, dot * m1 and the score fit int32 (the generator checks).
 */
typedef struct {
	uint16_t n_hidden; /* MLP: 1..65535; linear: 0 */
	const int8_t *w1;  /* MLP: n_hidden * n_inputs weights, not NULL; linear: unused */
	const int32_t *b1; /* MLP: n_hidden biases, not NULL; linear: unused */
	uint8_t m1;        /* requantisation multiplier, 0..255 */
	uint8_t s1;        /* requantisation shift: MLP 1..31; linear: unused */
	const int8_t *w2;  /* MLP: n_hidden weights; linear: n_inputs weights; not NULL */
	int32_t b2;        /* any int32 */
} tb_dense_t;

/* Dot product of n int8 weights (in flash) with n uint8 inputs. */
int32_t tb_dot_i8_u8(const int8_t *w, const uint8_t *x, uint16_t n);

/* Score of an MLP (n_hidden > 0) or linear model (n_hidden == 0) for x[n_inputs]. */
int32_t tb_dense_score(const tb_dense_t *dense, const uint8_t *x, uint16_t n_inputs);

/* The checked kernel (tb_kernel_fn): family TB_FAMILY_MLP or TB_FAMILY_LINEAR, params in range. */
tb_status_t tb_dense_score_checked(const tb_model_t *model, const uint8_t *x, int32_t *score);

#ifdef __cplusplus
}
#endif

#endif /* TB_DENSE_H */
