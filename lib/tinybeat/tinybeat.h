/*
 * tinybeat: integer-only inference for the generated heartbeat models.
 * No heap, no floating point; model arrays are read from flash.
 *
 *   #include "tinybeat.h"
 *   #include "tinybeat_model.h"          // generated: tb_model, TB_MODEL_N_INPUTS
 *   int32_t score; uint8_t cls;
 *   if (tb_model_predict(&tb_model, x, n_x, &score, &cls) != TB_OK) { ... no verdict ... }
 */
#ifndef TINYBEAT_H
#define TINYBEAT_H

#include <stdint.h>

#include "tb_dense.h"
#include "tb_etree.h"
#include "tb_model.h"
#include "tb_trees.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Score of one input vector with the model's own kernel.
 *   model: a descriptor (not NULL), e.g. &tb_model from the generated header
 *   x:     n_x input bytes, 0..255 each (not NULL)
 *   n_x:   must equal model->n_inputs (1..65535), else TB_ERR_INPUT_LENGTH
 *   score: out (not NULL): the score on TB_OK, 0 on any other status
 * Returns TB_OK, TB_ERR_NULL, TB_ERR_INPUT_LENGTH, TB_ERR_FAMILY or TB_ERR_PARAM.
 */
tb_status_t tb_model_score(const tb_model_t *model, const uint8_t *x, uint16_t n_x, int32_t *score);

/*
 * Score and class (1 abnormal when score > model->decision_threshold, else 0 normal).
 *   score: out, may be NULL; as tb_model_score
 *   cls:   out (not NULL): 0 or 1 on TB_OK, TB_CLASS_NONE on any other status
 * Returns the status of tb_model_score (TB_ERR_NULL when cls is NULL).
 */
tb_status_t tb_model_predict(const tb_model_t *model, const uint8_t *x, uint16_t n_x, int32_t *score,
                             uint8_t *cls);

#ifdef __cplusplus
}
#endif

#endif /* TINYBEAT_H */
