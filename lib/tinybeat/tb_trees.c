/*
 * Tree-ensemble kernels: complete trees, one {feature, threshold} pair a node.
 *
 * tb_trees_score_ref is the reference: plain C, the definition of what the
 * ensemble computes. tb_trees_score is the optimised version used by the
 * firmware: on AVR one tree level is a hand-scheduled inline-assembly step
 * (about 23 cycles instead of 31 from avr-gcc -Os). Tests check the two agree
 * bit for bit on every golden input, on the host and on the MCU.
 *
 * On AVR the model arrays must lie in the first 64 KB of flash (lpm): TB_FLASH
 * puts them first in flash (tb_flash.h), and both functions return INT32_MIN,
 * the engine's "cannot score" value, when the link placed them beyond 64 KB
 * anyway (a model too big for this kernel): never a silently wrong score.
 */
#include "tb_flash.h"
#include "tinybeat.h"

/* Walk one tree from the root; returns the reached node index (>= n_internal). */
static uint8_t tree_walk_ref(const uint8_t *nodes, const uint8_t *x, uint8_t depth)
{
	uint8_t i = 0;
	for (uint8_t d = depth; d; d--) {
		const uint16_t pair = tb_flash_u16(nodes + 2u * i); /* feature | threshold << 8 */
		i = (uint8_t)(2u * i + 1u);
		if (x[(uint8_t)pair] > (uint8_t)(pair >> 8))
			i++;
	}
	return i;
}

#ifdef __AVR__
static inline uint8_t tree_walk_fast(const uint8_t *nodes, const uint8_t *x, uint8_t depth)
{
	uint8_t i = 0, tmp, f, t, v;
	__asm__ volatile(
		"1:  mov  %[tmp], %[i]\n\t"
		"    lsl  %[tmp]\n\t"               /* byte offset of node i: 2i (i <= 126) */
		"    movw r30, %[nodes]\n\t"
		"    add  r30, %[tmp]\n\t"
		"    adc  r31, __zero_reg__\n\t"
		"    lpm  %[f], Z+\n\t"             /* feature */
		"    lpm  %[t], Z\n\t"              /* threshold */
		"    movw r26, %[x]\n\t"
		"    add  r26, %[f]\n\t"
		"    adc  r27, __zero_reg__\n\t"
		"    ld   %[v], X\n\t"              /* x[feature] */
		"    lsl  %[i]\n\t"
		"    inc  %[i]\n\t"                 /* i = 2i + 1 (inc keeps the carry) */
		"    cp   %[t], %[v]\n\t"           /* carry = threshold < x[feature] */
		"    adc  %[i], __zero_reg__\n\t"   /* ... then go right: 2i + 2 */
		"    dec  %[d]\n\t"
		"    brne 1b\n\t"
		: [i] "+r"(i), [d] "+r"(depth), [tmp] "=&r"(tmp), [f] "=&r"(f), [t] "=&r"(t), [v] "=&r"(v)
		: [nodes] "r"(nodes), [x] "r"(x)
		: "r26", "r27", "r30", "r31", "cc");
	return i;
}
#else
#define tree_walk_fast tree_walk_ref
#endif

#define TB_TREES_SCORE_BODY(walk)                                                      \
	if (!tb_flash_near_ok())                                                           \
		return INT32_MIN;                                                              \
	const uint8_t depth = trees->depth;                                                \
	const uint8_t n_internal = (uint8_t)((1u << depth) - 1u);                          \
	const uint8_t *nodes = trees->nodes;                                               \
	const int16_t *leaves = trees->leaves;                                             \
	int32_t score = trees->bias;                                                       \
	for (uint8_t t = trees->n_trees; t; t--) {                                         \
		const uint8_t i = walk(nodes, x, depth);                                       \
		score += tb_flash_i16(leaves + (uint8_t)(i - n_internal));                     \
		nodes += 2u * n_internal;                                                      \
		leaves += (uint16_t)n_internal + 1u;                                           \
	}                                                                                  \
	return score

int32_t tb_trees_score_ref(const tb_trees_t *trees, const uint8_t *x)
{
	TB_TREES_SCORE_BODY(tree_walk_ref);
}

int32_t tb_trees_score(const tb_trees_t *trees, const uint8_t *x)
{
	TB_TREES_SCORE_BODY(tree_walk_fast);
}
