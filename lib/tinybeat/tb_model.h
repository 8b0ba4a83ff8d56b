/*
 * tb_model.h: the engine's status codes and the model descriptor every family shares.
 *
 * A model is a small descriptor (this struct, in RAM) that names its family's
 * checked kernel and points at the family's parameter struct (also in RAM);
 * the parameter struct points at the model arrays in flash (TB_FLASH). The
 * generated header (tinybeat_model.h, in .pio/build/<env>/tinybeat/) defines both, so only the model's
 * own kernel is referenced and linked: the engine has no switch over families.
 *
 * All arithmetic is integer. Inputs are n_inputs uint8 samples (0..255 for the
 * declared input range). Every family computes an int32 score; the predicted
 * class is 1 (abnormal) when score > decision_threshold, else 0 (normal).
 *
 * A family plugs in with (README "The engine's C API"):
 *  - a parameter struct tb_<name>_t declared in tb_<name>.h,
 *  - its kernel K (and a plain-C reference K_ref, tested bit-exact) and
 *  - K_checked, a tb_kernel_fn: it returns TB_ERR_FAMILY unless model->family
 *    is one of its own codes, TB_ERR_PARAM for a parameter outside its
 *    documented range, else writes K's score and returns TB_OK.
 */
#ifndef TB_MODEL_H
#define TB_MODEL_H

#include <stdint.h>
#ifdef __AVR__
#include <avr/io.h> /* RAMSTART, RAMEND */
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Result of every engine call. Only TB_OK comes with a score or a class. */
typedef enum {
	TB_OK = 0,
	TB_ERR_NULL = 1,         /* a NULL model, input, output or parameter pointer */
	TB_ERR_INPUT_LENGTH = 2, /* n_x differs from the model's n_inputs */
	TB_ERR_FAMILY = 3,       /* no kernel, or the kernel does not serve the model's family code */
	TB_ERR_PARAM = 4,        /* a family parameter outside its documented range */
	TB_ERR_FLASH = 5         /* the model's data lies where its kernel cannot read it (past 64 KB on AVR) */
} tb_status_t;

/* The class written by tb_model_predict when it returns an error: no verdict. */
#define TB_CLASS_NONE 0xFFu

/*
 * Where a caller should keep its input buffer: `static uint8_t x[N] TB_INPUT_ALIGN;`. The unrolled
 * tree kernels (tb_etree.h) read x[feature] for free when x sits on a 256-byte boundary, which
 * costs up to 255 bytes of padding: done on AVR parts with at least 4 KB of SRAM only (a 2 KB
 * part takes the kernels' general loop). TB_ALIGNS_INPUT says which. The model search assumes
 * the same rule (python/tinybeat/targets/avr.py, ALIGNED_INPUT_MIN_RAM).
 */
#if defined(__AVR__) && (RAMEND - RAMSTART + 1) >= 4096
#define TB_ALIGNS_INPUT 1
#define TB_INPUT_ALIGN __attribute__((aligned(256)))
#else
#define TB_ALIGNS_INPUT 0
#define TB_INPUT_ALIGN
#endif

struct tb_model;

/*
 * A family's checked kernel. Called by tb_model_score with model, x and score
 * not NULL and x holding exactly model->n_inputs bytes. Writes *score only
 * when it returns TB_OK.
 */
typedef tb_status_t (*tb_kernel_fn)(const struct tb_model *model, const uint8_t *x, int32_t *score);

/*
 * The model descriptor: 11 bytes of RAM on AVR (2 + 2 + 4 + 2 + 1), plus the
 * family's parameter struct it points to (tb_trees_t 10 B, tb_dense_t 14 B).
 */
typedef struct tb_model {
	tb_kernel_fn kernel;        /* the family's K_checked; NULL: TB_ERR_FAMILY */
	const void *params;         /* the family's parameter struct, e.g. a const tb_trees_t * */
	int32_t decision_threshold; /* any int32: class 1 when score > decision_threshold */
	uint16_t n_inputs;          /* 1..65535 input bytes (a family may allow fewer, e.g. trees 1..256) */
	uint8_t family;             /* the family code, e.g. TB_FAMILY_TREES (1); 0 is never valid */
} tb_model_t;

#ifdef __cplusplus
}
#endif

#endif /* TB_MODEL_H */
