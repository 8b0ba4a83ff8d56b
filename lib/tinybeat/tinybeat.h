/*
 * tinybeat: integer-only inference for the generated heartbeat models.
 * No heap, no floating point; model arrays are read from flash.
 */
#ifndef TINYBEAT_H
#define TINYBEAT_H

#include <stdint.h>

#include "tb_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Score of a tree ensemble for one input vector x[n_inputs] (optimised). */
int32_t tb_trees_score(const tb_trees_t *trees, const uint8_t *x);
/* The plain-C reference of tb_trees_score; both must agree bit for bit. */
int32_t tb_trees_score_ref(const tb_trees_t *trees, const uint8_t *x);

/* Dot product of n int8 weights (in flash) with n uint8 inputs. */
int32_t tb_dot_i8_u8(const int8_t *w, const uint8_t *x, uint16_t n);

/* Score of an MLP (n_hidden > 0) or linear model (n_hidden == 0). */
int32_t tb_dense_score(const tb_dense_t *dense, const uint8_t *x, uint16_t n_inputs);

/* Score of any model family; returns INT32_MIN for an unknown family. */
int32_t tb_model_score(const tb_model_t *model, const uint8_t *x);

/* Class 1 (abnormal) when the score is above the model's decision threshold. */
uint8_t tb_model_predict(const tb_model_t *model, const uint8_t *x, int32_t *score);

#ifdef __cplusplus
}
#endif

#endif /* TINYBEAT_H */
