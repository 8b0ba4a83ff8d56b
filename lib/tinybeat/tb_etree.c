/*
 * tb_etree: preorder tree ensembles (layouts in tb_etree.h).
 *
 * tb_etree_score_ref is the reference: plain C over the byte layout. tb_etree_score is the
 * optimised kernel; on AVR it is hand-written assembly:
 *  - input 256-byte aligned, model in one chunk that does not straddle a 64 KB boundary, and
 *    an unrolled kernel named in the descriptor: naked assembly functions (no C glue). The
 *    complete layout unrolls the levels with the right-child offsets as immediates: a level is
 *    lpm feature straight into XL, lpm threshold, ld, cp, branch = 11 cycles going left, 12
 *    going right, four trees a loop turn. The sparse layout unrolls eight nodes: 12 cycles a
 *    node going left, 23 going right (offset read) or to a leaf;
 *  - any other input address or several chunks: loops in assembly (X = x + feature);
 *  - every kernel reads with elpm after setting RAMPZ to the chunk's 64 KB page on devices that
 *    have it, so model data anywhere in the ATmega2560's 256 KB is read right; a chunk that
 *    straddles a 64 KB boundary is scored by the C reference (slower, never wrong).
 * Tests (test/common/test_etree, tests/test_early_exit.py) check every path against the
 * reference, bit for bit, on the host and on the simulated ATmega2560.
 */
#include "tb_etree.h"

#define TB_ETREE_MAX_DEPTH 8u

/* Bytes of a complete tree with k internal levels: 2^k (2 + leaf bytes) - 2. */
static uint16_t complete_bytes(uint8_t k, uint8_t leaf_bytes)
{
	return (uint16_t)(((uint16_t)(2u + leaf_bytes) << k) - 2u);
}

static uint16_t rd16(const tb_etree_byte_t *p)
{
	return (uint16_t)(p[0] | ((uint16_t)p[1] << 8));
}

/* Leaf value at p (stored biased). */
static int32_t leaf_value(const tb_etree_byte_t *p, uint8_t leaf_bytes, uint8_t sparse)
{
	if (leaf_bytes == 1u)
		return (int32_t)p[0] - 128;
	return (int32_t)(p[0] | ((uint16_t)p[sparse ? 2 : 1] << 8)) - 32768L;
}

/* Sum of the leaf values one chunk's trees reach (the reference walk). */
__attribute__((noinline)) static int32_t chunk_ref(const tb_etree_t *model, const tb_etree_chunk_t *ch, const uint8_t *x)
{
	const uint8_t lb = (uint8_t)(model->leaf_bits >> 3);
	const tb_etree_byte_t *p = ch->data;
	int32_t sum = 0;
	for (uint8_t t = ch->n_trees; t; t--) {
		const tb_etree_byte_t *n;
		if (model->layout == TB_ETREE_COMPLETE) {
			n = p;
			for (uint8_t k = model->depth; k; k--) {
				const uint8_t f = n[0], th = n[1];
				n += 2;
				if (x[f] > th)
					n += k == 1u ? lb : complete_bytes((uint8_t)(k - 1u), lb);
			}
			sum += leaf_value(n, lb, 0);
			p += complete_bytes(model->depth, lb);
		} else {
			n = p + 2;
			while (n[1] != 0u)
				n += x[n[0]] >= n[1] ? 4u + rd16(n + 2) : 4u;
			sum += leaf_value(n, lb, 1);
			p += 2u + rd16(p);
		}
	}
	return sum;
}

int32_t tb_etree_score_ref(const tb_etree_t *model, const uint8_t *x)
{
	int32_t score = model->bias;
	for (uint8_t c = 0; c < model->n_chunks; c++)
		score += chunk_ref(model, &model->chunks[c], x);
	return score;
}

/* ------------------------------------------------------------------------------ checks */

static tb_etree_status_t check_complete(const tb_etree_byte_t *n, uint8_t k, uint8_t lb, uint16_t n_inputs)
{
	if (n[0] >= n_inputs)
		return TB_ETREE_ERR_FEATURE;
	if (k == 1u)
		return TB_ETREE_OK;
	const tb_etree_status_t s = check_complete(n + 2, (uint8_t)(k - 1u), lb, n_inputs);
	if (s != TB_ETREE_OK)
		return s;
	return check_complete(n + 2 + complete_bytes((uint8_t)(k - 1u), lb), (uint8_t)(k - 1u), lb, n_inputs);
}

/* End (exclusive) of the preorder subtree starting at byte pos of body[0..size), or 0 if it overruns. */
static uint16_t sparse_subtree_end(const tb_etree_byte_t *body, uint16_t pos, uint16_t size, uint8_t lb)
{
	uint16_t open = 1; /* entries still to read */
	while (open) {
		if ((uint32_t)pos + 2u > size)
			return 0;
		if (body[pos + 1] == 0u) {
			pos = (uint16_t)(pos + (lb == 1u ? 2u : 3u));
			open--;
		} else {
			pos = (uint16_t)(pos + 4u);
			open++;
		}
	}
	return pos <= size ? pos : 0;
}

static tb_etree_status_t check_sparse(const tb_etree_byte_t *body, uint16_t size, uint8_t lb, uint16_t n_inputs)
{
	if (size < 2u || sparse_subtree_end(body, 0, size, lb) != size)
		return TB_ETREE_ERR_OFFSET;
	for (uint16_t pos = 0; pos < size;) {
		if (body[pos + 1] == 0u) {
			pos = (uint16_t)(pos + (lb == 1u ? 2u : 3u));
			continue;
		}
		if (pos + 4u > size)
			return TB_ETREE_ERR_OFFSET;
		if (body[pos] >= n_inputs)
			return TB_ETREE_ERR_FEATURE;
		/* the right child starts exactly where the left subtree ends */
		const uint16_t left_end = sparse_subtree_end(body, (uint16_t)(pos + 4u), size, lb);
		if (left_end == 0u || left_end != (uint32_t)pos + 4u + rd16(body + pos + 2))
			return TB_ETREE_ERR_OFFSET;
		pos = (uint16_t)(pos + 4u);
	}
	return TB_ETREE_OK;
}

#ifdef __AVR__
static uint32_t far_address(const tb_etree_byte_t *p)
{
	return (uint32_t)(__uint24)p;
}
#endif

tb_etree_status_t tb_etree_check(const tb_etree_t *model, uint16_t n_inputs)
{
	if (!model || !model->chunks)
		return TB_ETREE_ERR_NULL;
	if ((model->layout != TB_ETREE_COMPLETE && model->layout != TB_ETREE_SPARSE) ||
	    (model->leaf_bits != 8u && model->leaf_bits != 16u) || model->n_chunks == 0u || model->n_trees == 0u ||
	    (model->layout == TB_ETREE_COMPLETE && (model->depth == 0u || model->depth > TB_ETREE_MAX_DEPTH)) ||
	    model->n_inputs > n_inputs || model->bias >= (1L << 30) || model->bias <= -(1L << 30))
		return TB_ETREE_ERR_PARAM;
	if (model->fast && (model->fast->leaf_bits != model->leaf_bits ||
	                    model->fast->depth != (model->layout == TB_ETREE_COMPLETE ? model->depth : 0u)))
		return TB_ETREE_ERR_PARAM; /* an unrolled kernel for another shape */
	const uint8_t lb = (uint8_t)(model->leaf_bits >> 3);
	uint16_t trees = 0;
	for (uint8_t c = 0; c < model->n_chunks; c++) {
		const tb_etree_chunk_t *ch = &model->chunks[c];
		if (!ch->data)
			return TB_ETREE_ERR_NULL;
#ifdef __AVR__
		if (far_address(ch->data) & 1u)
			return TB_ETREE_ERR_ALIGN;
#else
		if ((uintptr_t)ch->data & 1u)
			return TB_ETREE_ERR_ALIGN;
#endif
		if (ch->n_trees == 0u || ch->n_bytes > 32767u)
			return TB_ETREE_ERR_SIZE;
		trees += ch->n_trees;
		uint32_t pos = 0;
		for (uint8_t t = 0; t < ch->n_trees; t++) {
			tb_etree_status_t s;
			uint16_t size;
			if (model->layout == TB_ETREE_COMPLETE) {
				size = complete_bytes(model->depth, lb);
				if (pos + size > ch->n_bytes)
					return TB_ETREE_ERR_SIZE;
				s = check_complete(ch->data + pos, model->depth, lb, model->n_inputs);
			} else {
				if (pos + 2u > ch->n_bytes)
					return TB_ETREE_ERR_SIZE;
				size = (uint16_t)(2u + rd16(ch->data + pos));
				if (pos + size > ch->n_bytes)
					return TB_ETREE_ERR_SIZE;
				s = check_sparse(ch->data + pos + 2, (uint16_t)(size - 2u), lb, model->n_inputs);
			}
			if (s != TB_ETREE_OK)
				return s;
			pos += size;
		}
		if (pos != ch->n_bytes)
			return TB_ETREE_ERR_SIZE;
	}
	return trees == model->n_trees ? TB_ETREE_OK : TB_ETREE_ERR_SIZE;
}

/* ------------------------------------------------------------------------------ AVR kernels */
#ifdef __AVR__
#include <avr/io.h>

#if defined(__AVR_HAVE_ELPM__)
#define TB_LPM "elpm "
#define TB_SET_RAMPZ(v) (RAMPZ = (v))
#else
#define TB_LPM "lpm "
#define TB_SET_RAMPZ(v) ((void)(v))
#endif

/*
 * Complete layout, page-aligned input: one unrolled level. The feature byte goes straight
 * into XL (XH holds the input's page), so no address arithmetic: lpm 3 + lpm 3 + ld 2 + cp 1,
 * then left: branch taken (2); right: branch not taken (1) + Z += R(k-1) (2).
 */
/*
 * The unrolled kernels are naked functions in assembly (the C glue cost 80 cycles a call):
 * model in r25:r24, x in r23:r22 (page-aligned: checked by the caller), result in r25..r22.
 * Registers: Z walks the flash (RAMPZ = the chunk's 64 KB page), X = x + feature (r27 = the
 * input's page), r21:r20 the current tree, r22 the pair counter, r23 the threshold, r0 the
 * input byte, r25:r19:r18 the accumulator (it starts at -n x leaf bias). Offsets below are
 * checked by the static assertions.
 */
#include <stddef.h>
_Static_assert(offsetof(tb_etree_t, chunks) == 0 && offsetof(tb_etree_t, n_chunks) == 2 &&
               offsetof(tb_etree_t, layout) == 4 && offsetof(tb_etree_t, depth) == 5 &&
               offsetof(tb_etree_t, leaf_bits) == 6 && offsetof(tb_etree_t, bias) == 9,
               "tb_etree_t layout assumed by the AVR kernels");
_Static_assert(offsetof(tb_etree_chunk_t, data) == 0 && offsetof(tb_etree_chunk_t, n_bytes) == 3 &&
               offsetof(tb_etree_chunk_t, n_trees) == 5, "tb_etree_chunk_t layout assumed by the AVR kernels");

/*
 * One level: lpm 3 + lpm 3 + ld 2 + cp 1, then left: branch taken (2) = 11 cycles;
 * right: branch not taken (1) + Z += R(k-1) (2) = 12 cycles.
 */
#define TB_LV(skip)                            \
	TB_LPM "r26, Z+\n\t"                       \
	TB_LPM "r23, Z+\n\t"                       \
	"ld   r0, X\n\t"                           \
	"cp   r23, r0\n\t"                         \
	"brcc 1f\n\t"                              \
	"subi r30, lo8(-(" #skip "))\n\t"          \
	"sbci r31, hi8(-(" #skip "))\n"            \
	"1:\n\t"
/* Last level, 8-bit leaves: the leaf pair sits at an even address, so Z += carry needs no adc into ZH. */
#define TB_LAST8                               \
	TB_LPM "r26, Z+\n\t"                       \
	TB_LPM "r23, Z+\n\t"                       \
	"ld   r0, X\n\t"                           \
	"cp   r23, r0\n\t"                         \
	"adc  r30, __zero_reg__\n\t"               \
	TB_LPM "r0, Z\n\t"                         \
	"add  r18, r0\n\t"                         \
	"adc  r19, __zero_reg__\n\t"
#define TB_LAST16                              \
	TB_LPM "r26, Z+\n\t"                       \
	TB_LPM "r23, Z+\n\t"                       \
	"ld   r0, X\n\t"                           \
	"cp   r23, r0\n\t"                         \
	"brcc 1f\n\t"                              \
	"adiw r30, 2\n"                            \
	"1:\n\t"                                   \
	TB_LPM "r0, Z+\n\t"                        \
	TB_LPM "r23, Z\n\t"                        \
	"add  r18, r0\n\t"                         \
	"adc  r19, r23\n\t"                        \
	"adc  r25, __zero_reg__\n\t"

/* Level chains: B<bits>_<k> walks k levels; the skip at a level with k levels below is R(k-1). */
#define B8_1 TB_LAST8
#define B8_2 TB_LV(4) B8_1
#define B8_3 TB_LV(10) B8_2
#define B8_4 TB_LV(22) B8_3
#define B8_5 TB_LV(46) B8_4
#define B8_6 TB_LV(94) B8_5
#define B8_7 TB_LV(190) B8_6
#define B8_8 TB_LV(382) B8_7
#define B16_1 TB_LAST16
#define B16_2 TB_LV(6) B16_1
#define B16_3 TB_LV(14) B16_2
#define B16_4 TB_LV(30) B16_3
#define B16_5 TB_LV(62) B16_4
#define B16_6 TB_LV(126) B16_5
#define B16_7 TB_LV(254) B16_6
#define B16_8 TB_LV(510) B16_7

/* acc = -(n << 7) in r19:r18; at the end r21 = the sign extension */
#define TB_ACC8_INIT "mov  r19, r22\n\tclr  r18\n\tlsr  r19\n\tror  r18\n\tcom  r19\n\tneg  r18\n\tsbci r19, 0xFF\n\t"
#define TB_ACC8_EXT "clr  r21\n\tsbrc r19, 7\n\tcom  r21\n\t"
/* acc = -(n << 15) in r25:r19:r18; at the end r21 = r25 and r20 = the sign extension */
#define TB_ACC16_INIT                                                                            \
	"mov  r25, r22\n\tclr  r19\n\tclr  r18\n\tlsr  r25\n\tror  r19\n\tcom  r25\n\tcom  r19\n\t"    \
	"neg  r18\n\tsbci r19, 0xFF\n\tsbci r25, 0xFF\n\t"
#define TB_ACC16_EXT "mov  r21, r25\n\t"

#if defined(__AVR_HAVE_ELPM__)
#define TB_ASM_RAMPZ_SET "out  %[rampz], r19\n\t"
#define TB_ASM_RAMPZ_CLR "out  %[rampz], __zero_reg__\n\t"
#define TB_ASM_RAMPZ_OP , [rampz] "I"(_SFR_IO_ADDR(RAMPZ))
#define TB_ASM_PAGE_CHECK ""
#else
#define TB_ASM_RAMPZ_SET ""
#define TB_ASM_RAMPZ_CLR ""
#define TB_ASM_RAMPZ_OP
#define TB_ASM_PAGE_CHECK "tst  r19\n\tbrne 9f\n\t" /* no elpm: data above 64 KB cannot happen, but never read it wrong */
#endif

static int32_t score_chunks(const tb_etree_t *model, const uint8_t *x) __attribute__((noinline, used));

/* One tree: Z = the tree (r21:r20), walk, r21:r20 += the tree's size. */
#define TB_TREE(size, BODY)                                                                    \
	"movw r30, r20\n\t" BODY "subi r20, lo8(-(" #size "))\n\t"                                 \
	"sbci r21, hi8(-(" #size "))\n\t"

/*
 * One kernel per (leaf bits, depth), four trees per loop turn: the whole score of a one-chunk
 * model (not straddling a 64 KB boundary) on a page-aligned input; anything else jumps to
 * score_chunks with the arguments untouched. The kernel trusts the descriptor's layout, depth
 * and leaf bits to be its own: tb_etree_check verifies that (the generator always names the
 * matching kernel); where the data landed in flash is checked on every call.
 */
/* Both unrolled kernels end alike: label 2, RAMPZ back to 0, the accumulator sign-extended to
 * 32 bits (ACC_EXT for the leaf size), the model pointer back in Z, its bias added, return. */
#define TB_ASM_EPILOGUE(ACC_EXT)                                                             \
	"2:\n\t" TB_ASM_RAMPZ_CLR ACC_EXT                                                       \
	"clr  r20\n\tsbrc r21, 7\n\tcom  r20\n\t"                                               \
	"pop  r31\n\tpop  r30\n\t"                                                              \
	"ldd  r22, Z+9\n\tldd  r23, Z+10\n\tldd  r24, Z+11\n\tldd  r25, Z+12\n\t"                \
	"add  r22, r18\n\tadc  r23, r19\n\tadc  r24, r21\n\tadc  r25, r20\n\t"                  \
	"ret\n\t"

#define TB_FAST(BITS, D, size, BODY, ACC_INIT, ACC_EXT)                                        \
	__attribute__((naked, used)) static int32_t fast##BITS##_##D(const tb_etree_t *model, const uint8_t *x) \
	{                                                                                        \
		(void)model;                                                                         \
		(void)x;                                                                             \
		__asm__ volatile("movw r30, r24\n\t"                                                 \
		                 "ldd  r18, Z+2\n\tcpi  r18, 1\n\tbrne 9f\n\t" /* one chunk */      \
		                 "ld   r26, Z\n\tldd  r27, Z+1\n\t" /* X = the chunk */              \
		                 "ld   r20, X+\n\tld   r21, X+\n\tld   r19, X+\n\t" TB_ASM_PAGE_CHECK \
		                 "sbrc r20, 0\n\trjmp 9f\n\t" /* odd address: leaf pairs could straddle */ \
		                 "ld   r30, X+\n\tld   r31, X+\n\t"                                   \
		                 "sbiw r30, 1\n\tadd  r30, r20\n\tadc  r31, r21\n\tbrcs 9f\n\t"      \
		                 "ld   r22, X\n\ttst  r22\n\tbreq 9f\n\t" TB_ASM_RAMPZ_SET          \
		                 "push r24\n\tpush r25\n\t"                                          \
		                 "mov  r27, r23\n\t" ACC_INIT                                        \
		                 "mov  r23, r22\n\t" /* n = 4 q + r: q turns, r trees first */       \
		                 "andi r23, 3\n\t"                                                   \
		                 "lsr  r22\n\t"                                                      \
		                 "lsr  r22\n\t"                                                      \
		                 "cpi  r23, 0\n\t"                                                   \
		                 "breq 0f\n\t"                                                       \
		                 "inc  r22\n\t"                                                      \
		                 "cpi  r23, 2\n\t"                                                   \
		                 "brlo 7f\n\t"                                                       \
		                 "breq 6f\n\t"                                                       \
		                 "rjmp 5f\n"                                                         \
		                 "6:\n\t"                                                            \
		                 "rjmp 6f\n"                                                         \
		                 "7:\n\t"                                                            \
		                 "rjmp 7f\n"                                                         \
		                 "9:\n\t"                                                            \
		                 "jmp  %x[fallback]\n"                                               \
		                 "0:\n\t" TB_TREE(size, BODY)                                        \
		                 "5:\n\t" TB_TREE(size, BODY)                                        \
		                 "6:\n\t" TB_TREE(size, BODY)                                        \
		                 "7:\n\t" TB_TREE(size, BODY)                                        \
		                 "dec  r22\n\t"                                                      \
		                 "breq 2f\n\t"                                                       \
		                 "rjmp 0b\n"                                                         \
		                 TB_ASM_EPILOGUE(ACC_EXT)                                            \
		                 :                                                                   \
		                 : [fallback] "i"(score_chunks) TB_ASM_RAMPZ_OP);                    \
	}                                                                                        \
	const tb_etree_fast_t tb_etree_fast##BITS##_##D = {fast##BITS##_##D, BITS, D};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wreturn-type" /* naked: the assembly returns */
TB_FAST(8, 1, 4, B8_1, TB_ACC8_INIT, TB_ACC8_EXT)
TB_FAST(8, 2, 10, B8_2, TB_ACC8_INIT, TB_ACC8_EXT)
TB_FAST(8, 3, 22, B8_3, TB_ACC8_INIT, TB_ACC8_EXT)
TB_FAST(8, 4, 46, B8_4, TB_ACC8_INIT, TB_ACC8_EXT)
TB_FAST(8, 5, 94, B8_5, TB_ACC8_INIT, TB_ACC8_EXT)
TB_FAST(8, 6, 190, B8_6, TB_ACC8_INIT, TB_ACC8_EXT)
TB_FAST(8, 7, 382, B8_7, TB_ACC8_INIT, TB_ACC8_EXT)
TB_FAST(8, 8, 766, B8_8, TB_ACC8_INIT, TB_ACC8_EXT)
TB_FAST(16, 1, 6, B16_1, TB_ACC16_INIT, TB_ACC16_EXT)
TB_FAST(16, 2, 14, B16_2, TB_ACC16_INIT, TB_ACC16_EXT)
TB_FAST(16, 3, 30, B16_3, TB_ACC16_INIT, TB_ACC16_EXT)
TB_FAST(16, 4, 62, B16_4, TB_ACC16_INIT, TB_ACC16_EXT)
TB_FAST(16, 5, 126, B16_5, TB_ACC16_INIT, TB_ACC16_EXT)
TB_FAST(16, 6, 254, B16_6, TB_ACC16_INIT, TB_ACC16_EXT)
TB_FAST(16, 7, 510, B16_7, TB_ACC16_INIT, TB_ACC16_EXT)
TB_FAST(16, 8, 1022, B16_8, TB_ACC16_INIT, TB_ACC16_EXT)

/* Sparse layout, page-aligned input: one node, falling through to the next when going left. */
#define TB_SN                                  \
	TB_LPM "r26, Z+\n\t"                       \
	TB_LPM "r23, Z+\n\t"                       \
	"ld   r0, X\n\t"                           \
	"cp   r0, r23\n\t"                         \
	"brcc 3f\n\t"                              \
	"adiw r30, 2\n\t"
#define TB_SLEAF8 "add  r18, r26\n\tadc  r19, __zero_reg__\n\t"
#define TB_SLEAF16 TB_LPM "r0, Z\n\tadd  r18, r26\n\tadc  r19, r0\n\tadc  r25, __zero_reg__\n\t"

/*
 * One kernel per leaf size for the sparse layout (depth field 0 in its record): per node, going
 * left costs lpm 3 + lpm 3 + ld 2 + cp 1 + branch 1 + Z += 2 (2) = 12 cycles (eight nodes unrolled);
 * going right 23 (the threshold byte 0 of a leaf sends it there too, then to the leaf).
 */
#define TB_SPARSE(BITS, ACC_INIT, ACC_EXT, LEAF)                                               \
	__attribute__((naked, used)) static int32_t sparse##BITS(const tb_etree_t *model, const uint8_t *x) \
	{                                                                                        \
		(void)model;                                                                         \
		(void)x;                                                                             \
		__asm__ volatile("movw r30, r24\n\t"                                                 \
		                 "ldd  r18, Z+2\n\tcpi  r18, 1\n\tbrne 9f\n\t" /* one chunk */      \
		                 "ld   r26, Z\n\tldd  r27, Z+1\n\t" /* X = the chunk */              \
		                 "ld   r20, X+\n\tld   r21, X+\n\tld   r19, X+\n\t" TB_ASM_PAGE_CHECK \
		                 "ld   r30, X+\n\tld   r31, X+\n\t"                                   \
		                 "sbiw r30, 1\n\tadd  r30, r20\n\tadc  r31, r21\n\tbrcs 9f\n\t"      \
		                 "ld   r22, X\n\ttst  r22\n\tbreq 9f\n\t" TB_ASM_RAMPZ_SET            \
		                 "push r24\n\tpush r25\n\t"                                          \
		                 "mov  r27, r23\n\t" ACC_INIT                                        \
		                 "movw r30, r20\n\t"                                                 \
		                 "rjmp 0f\n"                                                         \
		                 "9:\n\t"                                                            \
		                 "jmp  %x[fallback]\n"                                               \
		                 "0:\n\t" TB_LPM "r20, Z+\n\t" TB_LPM "r21, Z+\n\t" /* tree size */ \
		                 "add  r20, r30\n\tadc  r21, r31\n" /* r21:r20 = the next tree */    \
		                 "1:\n\t" TB_SN TB_SN TB_SN TB_SN TB_SN TB_SN TB_SN TB_SN            \
		                 "rjmp 1b\n"                                                         \
		                 "3:\n\t"                                                            \
		                 "tst  r23\n\t"                                                      \
		                 "breq 4f\n\t" TB_LPM "r0, Z+\n\t" TB_LPM "r23, Z+\n\t"              \
		                 "add  r30, r0\n\t"                                                  \
		                 "adc  r31, r23\n\t"                                                 \
		                 "rjmp 1b\n"                                                         \
		                 "4:\n\t" LEAF                                                       \
		                 "movw r30, r20\n\t"                                                 \
		                 "dec  r22\n\t"                                                      \
		                 "breq 2f\n\t"                                                       \
		                 "rjmp 0b\n"                                                         \
		                 TB_ASM_EPILOGUE(ACC_EXT)                                            \
		                 :                                                                   \
		                 : [fallback] "i"(score_chunks) TB_ASM_RAMPZ_OP);                    \
	}                                                                                        \
	const tb_etree_fast_t tb_etree_sparse##BITS = {sparse##BITS, BITS, 0};

TB_SPARSE(8, TB_ACC8_INIT, TB_ACC8_EXT, TB_SLEAF8)
TB_SPARSE(16, TB_ACC16_INIT, TB_ACC16_EXT, TB_SLEAF16)
#pragma GCC diagnostic pop

/*
 * Complete layout, any input address: a loop over levels, X = x + feature, and the skip
 * halved each level (R(k-1) = R(k)/2 - 1, down to R(0) = leaf bytes).
 */
__attribute__((noinline)) static __uint24 complete_loop(uint16_t z, uint8_t n, const uint8_t *x, uint8_t depth, uint16_t skip0, uint8_t lb)
{
	__uint24 acc = 0;
	uint8_t t, v, k;
	uint16_t sk;
	__asm__ volatile("0:\n\t"
	                 "movw r30, %[z]\n\t"
	                 "mov  %[k], %[depth]\n\t"
	                 "movw %[sk], %[skip0]\n"
	                 "1:\n\t" TB_LPM "%[v], Z+\n\t"
	                 "movw r26, %[x]\n\t"
	                 "add  r26, %[v]\n\t"
	                 "adc  r27, __zero_reg__\n\t"
	                 "ld   %[v], X\n\t" TB_LPM "%[t], Z+\n\t"
	                 "cp   %[t], %[v]\n\t"
	                 "brcc 2f\n\t"
	                 "add  r30, %A[sk]\n\t"
	                 "adc  r31, %B[sk]\n"
	                 "2:\n\t"
	                 "lsr  %B[sk]\n\t"
	                 "ror  %A[sk]\n\t"
	                 "subi %A[sk], 1\n\t"
	                 "sbci %B[sk], 0\n\t"
	                 "dec  %[k]\n\t"
	                 "brne 1b\n\t" TB_LPM "%[v], Z+\n\t"
	                 "add  %A[acc], %[v]\n\t"
	                 "clr  %[v]\n\t"
	                 "sbrc %[lb], 1\n\t" TB_LPM "%[v], Z\n\t"
	                 "adc  %B[acc], %[v]\n\t"
	                 "adc  %C[acc], __zero_reg__\n\t"
	                 "add  %A[z], %A[skip0]\n\t" /* next tree: z += R(d) = 2 R(d-1) + 2 */
	                 "adc  %B[z], %B[skip0]\n\t"
	                 "add  %A[z], %A[skip0]\n\t"
	                 "adc  %B[z], %B[skip0]\n\t"
	                 "subi %A[z], lo8(-2)\n\t"
	                 "sbci %B[z], hi8(-2)\n\t"
	                 "dec  %[n]\n\t"
	                 "brne 0b\n\t"
	                 : [acc] "+r"(acc), [z] "+d"(z), [n] "+r"(n), [t] "=&r"(t), [v] "=&r"(v), [k] "=&r"(k),
	                   [sk] "=&d"(sk)
	                 : [x] "r"(x), [depth] "r"(depth), [skip0] "r"(skip0), [lb] "r"(lb)
	                 : "r26", "r27", "r30", "r31", "memory");
	return acc;
}

/*
 * Sparse layout, any input address. Left: lpm, lpm, X = x + f, ld, cp, branch, Z += 2, loop.
 * Right: a zero threshold byte is a leaf (x >= 0 always sends it here), else read the offset.
 */
__attribute__((noinline)) static __uint24 sparse_loop(uint16_t z, uint8_t n, const uint8_t *x, uint8_t lb)
{
	__uint24 acc = 0;
	uint8_t t, v, f;
	uint16_t nx, off;
	__asm__ volatile("0:\n\t" TB_LPM "%A[off], Z+\n\t" TB_LPM "%B[off], Z+\n\t"
	                 "movw %[nx], r30\n\t"
	                 "add  %A[nx], %A[off]\n\t"
	                 "adc  %B[nx], %B[off]\n"
	                 "1:\n\t" TB_LPM "%[f], Z+\n\t" TB_LPM "%[t], Z+\n\t"
	                 "movw r26, %[x]\n\t"
	                 "add  r26, %[f]\n\t"
	                 "adc  r27, __zero_reg__\n\t"
	                 "ld   %[v], X\n\t"
	                 "cp   %[v], %[t]\n\t"
	                 "brcc 2f\n\t"
	                 "adiw r30, 2\n\t"
	                 "rjmp 1b\n"
	                 "2:\n\t"
	                 "tst  %[t]\n\t"
	                 "breq 3f\n\t" TB_LPM "%A[off], Z+\n\t" TB_LPM "%B[off], Z+\n\t"
	                 "add  r30, %A[off]\n\t"
	                 "adc  r31, %B[off]\n\t"
	                 "rjmp 1b\n"
	                 "3:\n\t"
	                 "add  %A[acc], %[f]\n\t"
	                 "clr  %[v]\n\t"
	                 "sbrc %[lb], 1\n\t" TB_LPM "%[v], Z\n\t"
	                 "adc  %B[acc], %[v]\n\t"
	                 "adc  %C[acc], __zero_reg__\n\t"
	                 "movw r30, %[nx]\n\t"
	                 "dec  %[n]\n\t"
	                 "brne 0b\n\t"
	                 : [acc] "+r"(acc), [n] "+r"(n), [t] "=&r"(t), [v] "=&r"(v), [f] "=&r"(f), [nx] "=&r"(nx),
	                   [off] "=&r"(off), [z] "+z"(z)
	                 : [x] "r"(x), [lb] "r"(lb)
	                 : "r26", "r27", "memory");
	return acc;
}

/* Leaf sum of n whole trees at page:z (not straddling 64 KB) by the loop kernels. */
static int32_t loop_span(const tb_etree_t *model, uint8_t page, uint16_t z, uint8_t n, const uint8_t *x)
{
	const uint8_t lb = (uint8_t)(model->leaf_bits >> 3);
	if (n == 0u)
		return 0;
	TB_SET_RAMPZ(page);
	const __uint24 biased = model->layout == TB_ETREE_COMPLETE
	                            ? complete_loop(z, n, x, model->depth, complete_bytes((uint8_t)(model->depth - 1u), lb), lb)
	                            : sparse_loop(z, n, x, lb);
	TB_SET_RAMPZ(0);
	return (int32_t)biased - (int32_t)n * (lb == 1u ? 128 : 32768L);
}

static int32_t score_chunks(const tb_etree_t *model, const uint8_t *x)
{
	const uint8_t lb = (uint8_t)(model->leaf_bits >> 3);
	int32_t score = model->bias;
	for (uint8_t c = 0; c < model->n_chunks; c++) {
		const tb_etree_chunk_t *ch = &model->chunks[c];
		const uint8_t *cb = (const uint8_t *)&ch->data; /* the 24-bit address, byte by byte */
		const uint16_t z = (uint16_t)(cb[0] | ((uint16_t)cb[1] << 8));
		const uint8_t page = cb[2];
		const uint8_t n = ch->n_trees;
#if !defined(__AVR_HAVE_ELPM__)
		if (page) { /* cannot happen on a device without elpm (64 KB of flash at most): never misread it */
			score += chunk_ref(model, ch, x);
			continue;
		}
#endif
		if ((uint16_t)(z + ch->n_bytes - 1u) >= z) {
			score += loop_span(model, page, z, n, x);
			continue;
		}
		/* the chunk straddles a 64 KB boundary: the trees before it, the one across it (by the
		 * reference), and the rest on the next page */
		const uint16_t before = (uint16_t)(0u - z); /* bytes up to the boundary */
		uint16_t off = 0, size = 0;
		uint8_t k = 0;
		for (; k < n; k++) {
			size = model->layout == TB_ETREE_COMPLETE ? complete_bytes(model->depth, lb)
			                                          : (uint16_t)(2u + rd16(ch->data + off));
			if ((uint32_t)off + size > before)
				break;
			off = (uint16_t)(off + size);
		}
		score += loop_span(model, page, z, k, x);
		if (k < n && off < before) {
			const tb_etree_chunk_t one = {ch->data + off, size, 1};
			score += chunk_ref(model, &one, x);
			off = (uint16_t)(off + size);
			k++;
		}
		score += loop_span(model, (uint8_t)(page + 1u), (uint16_t)(z + off), (uint8_t)(n - k), x);
	}
	return score;
}

/* Page-aligned input and an unrolled kernel named: that kernel (it checks the rest); else score_chunks. */
static int32_t tb_etree_score_avr(const tb_etree_t *model, const uint8_t *x)
{
	const tb_etree_fast_t *fast = model->fast;
	if (fast && ((uintptr_t)x & 0xFFu) == 0u)
		return fast->fn(model, x);
	return score_chunks(model, x);
}
#endif /* __AVR__ */

int32_t tb_etree_score(const tb_etree_t *model, const uint8_t *x)
{
#ifdef __AVR__
	return tb_etree_score_avr(model, x);
#else
	return tb_etree_score_ref(model, x);
#endif
}
