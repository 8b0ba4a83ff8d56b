/*
 * tb_etree: tree ensembles encoded as preorder byte streams for the AVR's lpm/elpm.
 *
 * Layouts (python/tinybeat/core/families/early_exit.py writes them; its docstring is the spec):
 *
 * TB_ETREE_COMPLETE, depth d = 1..8: every tree padded to d levels, preorder. Internal node
 *   {feature, threshold}: go right when x[feature] > threshold (255: always left). The left
 *   child follows the node; the right child is R(k-1) bytes further, where k is the number of
 *   internal levels from the node down (R(1) = 2 + 2 L, R(k) = 2 + 2 R(k-1), L = leaf bytes).
 *   A node of the last level is followed by its two leaves. Every tree is R(d) bytes.
 * TB_ETREE_SPARSE, any shape: a tree is {size_lo, size_hi} + its root entry. Internal node
 *   {feature, threshold + 1 (1..255), off_lo, off_hi}: go right when x[feature] >= threshold + 1,
 *   left child next, right child off bytes after the node. Leaf {u, 0} (8-bit) or {lo, 0, hi}.
 *
 * Leaves are stored biased: u = v + 128 (8-bit) or v + 32768 (16-bit, little endian).
 * score = bias + sum over trees of the reached leaf v.
 *
 * Model data may lie anywhere in flash: chunk pointers are 24-bit (__memx) on AVR, so data
 * above 64 KB on the ATmega2560 is read with elpm. Each chunk is one C array of whole trees
 * (avr-gcc takes no object over 32767 B).
 */
#ifndef TB_ETREE_H
#define TB_ETREE_H

#include <stdint.h>

#include "tb_flash.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Model bytes: `static TB_ETREE_BYTES(name) = {...};` (flash, 2-byte aligned: the kernel relies on
 * it; the assembler name is the C name, also in C++, for the chunk table to refer to). The chunk table that points at them holds 24-bit flash addresses; write it
 * with TB_ETREE_CHUNK_TABLE(name, TB_ETREE_CHUNK(array, n_bytes, n_trees) TB_ETREE_CHUNK(...)):
 * on AVR it is assembled (.byte lo8/hi8/hh8 of each array, in .data), which C and C++ both accept.
 * In C on AVR a chunk's address is a __memx pointer; C++ has no named address spaces and sees the
 * same three bytes as an opaque field (C++ code can hold and pass models, not read their bytes).
 */
#define TB_ETREE_BYTES(name) const uint8_t name[] __asm__(#name) TB_ETREE_DATA
#ifdef __AVR__
#define TB_ETREE_DATA PROGMEM __attribute__((aligned(2), used))
#define TB_ETREE_CHUNK(array, n_bytes, n_trees) \
	"\t.byte lo8(" #array "), hi8(" #array "), hh8(" #array ")\n\t.word " #n_bytes "\n\t.byte " #n_trees "\n"
#define TB_ETREE_CHUNK_TABLE(name, chunks)                                                   \
	extern const tb_etree_chunk_t name[];                                                    \
	__asm__(".pushsection .data." #name ",\"aw\",@progbits\n\t.type " #name ", @object\n" #name \
	        ":\n" chunks ".popsection\n");
#ifndef __cplusplus
typedef const __memx uint8_t tb_etree_byte_t; /* a byte anywhere in flash */
#define TB_ETREE_FAR_FIELD const tb_etree_byte_t *data
#else
#define TB_ETREE_FAR_FIELD uint8_t data[3]
#endif
#else
typedef const uint8_t tb_etree_byte_t;
#define TB_ETREE_DATA __attribute__((aligned(2)))
#define TB_ETREE_CHUNK(array, n_bytes, n_trees) {array, n_bytes, n_trees},
#define TB_ETREE_CHUNK_TABLE(name, chunks) static const tb_etree_chunk_t name[] = {chunks};
#define TB_ETREE_FAR_FIELD const tb_etree_byte_t *data
#endif

typedef enum {
	TB_ETREE_COMPLETE = 1,
	TB_ETREE_SPARSE = 2
} tb_etree_layout_t;

typedef enum {
	TB_ETREE_OK = 0,
	TB_ETREE_ERR_NULL = 1,     /* a NULL descriptor, chunk table or data pointer */
	TB_ETREE_ERR_PARAM = 2,    /* layout, depth, leaf_bits or tree count out of range */
	TB_ETREE_ERR_SIZE = 3,     /* chunk sizes disagree with the trees they hold */
	TB_ETREE_ERR_FEATURE = 4,  /* a node reads x[f] with f >= n_inputs */
	TB_ETREE_ERR_OFFSET = 5,   /* a sparse child offset leaves its tree */
	TB_ETREE_ERR_ALIGN = 6     /* chunk data not 2-byte aligned */
} tb_etree_status_t;

typedef struct {
	TB_ETREE_FAR_FIELD; /* whole trees, back to back (24-bit flash address on AVR) */
	uint16_t n_bytes;   /* 2..32767 */
	uint8_t n_trees;    /* 1..255 */
} tb_etree_chunk_t;

/*
 * An unrolled kernel for one (leaf bits, depth) of the complete layout, or for the sparse layout
 * (depth 0), used when the input is 256-byte aligned. Name one with TB_ETREE_FAST(bits, depth) or
 * TB_ETREE_FAST_SPARSE(bits) in the descriptor: only the kernels a firmware names are linked
 * (about 100 + 56 x depth bytes each: four trees unrolled). NULL means the general loops; a
 * kernel for another layout, depth or leaf size fails tb_etree_check.
 */
struct tb_etree_s;
typedef struct {
#ifdef __AVR__
	int32_t (*fn)(const struct tb_etree_s *model, const uint8_t *x); /* the score, or score_chunks' */
#else
	int32_t (*fn)(void); /* unused off AVR */
#endif
	uint8_t leaf_bits;
	uint8_t depth;
} tb_etree_fast_t;

#ifdef __AVR__
#define TB_ETREE_FAST(bits, depth) (&tb_etree_fast##bits##_##depth)
#define TB_ETREE_FAST_SPARSE(bits) (&tb_etree_sparse##bits)
#define TB_ETREE_DECLARE_FAST(bits, depth) extern const tb_etree_fast_t tb_etree_fast##bits##_##depth;
extern const tb_etree_fast_t tb_etree_sparse8, tb_etree_sparse16;
TB_ETREE_DECLARE_FAST(8, 1) TB_ETREE_DECLARE_FAST(8, 2) TB_ETREE_DECLARE_FAST(8, 3) TB_ETREE_DECLARE_FAST(8, 4)
TB_ETREE_DECLARE_FAST(8, 5) TB_ETREE_DECLARE_FAST(8, 6) TB_ETREE_DECLARE_FAST(8, 7) TB_ETREE_DECLARE_FAST(8, 8)
TB_ETREE_DECLARE_FAST(16, 1) TB_ETREE_DECLARE_FAST(16, 2) TB_ETREE_DECLARE_FAST(16, 3) TB_ETREE_DECLARE_FAST(16, 4)
TB_ETREE_DECLARE_FAST(16, 5) TB_ETREE_DECLARE_FAST(16, 6) TB_ETREE_DECLARE_FAST(16, 7) TB_ETREE_DECLARE_FAST(16, 8)
#else
#define TB_ETREE_FAST(bits, depth) ((const tb_etree_fast_t *)0)
#define TB_ETREE_FAST_SPARSE(bits) ((const tb_etree_fast_t *)0)
#endif

typedef struct tb_etree_s {
	const tb_etree_chunk_t *chunks; /* in RAM: n_chunks entries */
	uint8_t n_chunks;               /* 1..255 */
	uint8_t n_trees;                /* sum over the chunks, 1..255 */
	uint8_t layout;                 /* tb_etree_layout_t */
	uint8_t depth;                  /* complete: 1..8; sparse: deepest path (informational) */
	uint8_t leaf_bits;              /* 8 or 16 */
	uint16_t n_inputs;              /* the trees read x[0 .. n_inputs-1] only (checked) */
	int32_t bias;                   /* |bias| < 2^30 */
	const tb_etree_fast_t *fast;    /* TB_ETREE_FAST(leaf_bits, depth), TB_ETREE_FAST_SPARSE(leaf_bits) or NULL */
} tb_etree_t;

/* Put the input buffer on a 256-byte boundary: the unrolled kernels then address x[feature] for free. */
#ifdef __AVR__
#define TB_ETREE_INPUT_ALIGN __attribute__((aligned(256)))
#else
#define TB_ETREE_INPUT_ALIGN
#endif

/* Validate a descriptor and every byte of its trees against n_inputs (call once, e.g. at start-up). */
tb_etree_status_t tb_etree_check(const tb_etree_t *model, uint16_t n_inputs);

/*
 * Score of one input vector x[n_inputs] (any address): the optimised kernel. The model must pass
 * tb_etree_check (the generated ones do). Fastest with x 256-byte aligned:
 * static uint8_t x[193] TB_ETREE_INPUT_ALIGN; (RF 7 x 32: 2,895 cycles, else 5,866).
 */
int32_t tb_etree_score(const tb_etree_t *model, const uint8_t *x);

/* The plain-C reference of tb_etree_score: both agree bit for bit. */
int32_t tb_etree_score_ref(const tb_etree_t *model, const uint8_t *x);

#ifdef __cplusplus
}
#endif

#endif /* TB_ETREE_H */
