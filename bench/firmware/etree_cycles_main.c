/*
 * Cycle benchmark of the tb_etree kernels: runs tb_etree_score and tb_etree_score_ref on the
 * golden inputs and prints one line per input: "cycles <n> score <s> ref <r> refcycles <m>".
 * Built by tinybeat.core.families.early_exit.measure_avr, which generates etree_model.c
 * (the model, prefix tb_etree_model) and etree_golden.h (TB_EG_COUNT, TB_EG_N_INPUTS, the inputs in
 * flash arrays of TB_EG_ROWS_PER_CHUNK rows, 24-bit addressed so they may lie above 64 KB).
 * -DTB_EG_OFFSET=k places the input k bytes after a 256-byte boundary (0: the fast path).
 */
#include <avr/interrupt.h>

#include "microtest.h"
#include "tbavr.h"
#include "tb_etree.h"
#include "etree_golden.h"
#include "etree_model.c"

#ifndef TB_EG_OFFSET
#define TB_EG_OFFSET 0
#endif

static uint8_t g_page[TB_EG_N_INPUTS + TB_EG_OFFSET] __attribute__((aligned(256)));

int main(void)
{
	uint8_t *x = g_page + TB_EG_OFFSET;
	mt_begin();
	tbavr_cycles_init();
	sei();
	const uint32_t overhead = tbavr_cycles_overhead();
	mt_print("check ");
	mt_print_uint(tb_etree_check(&tb_etree_model, TB_EG_N_INPUTS));
	mt_print("\n");
	for (uint16_t k = 0; k < TB_EG_COUNT; k++) {
		const tb_etree_byte_t *src = tb_eg_chunks[k / TB_EG_ROWS_PER_CHUNK] + (k % TB_EG_ROWS_PER_CHUNK) * TB_EG_N_INPUTS;
		for (uint16_t i = 0; i < TB_EG_N_INPUTS; i++)
			x[i] = src[i];
		uint32_t t0 = tbavr_cycles_now();
		const int32_t score = tb_etree_score(&tb_etree_model, x);
		const uint32_t dt = tbavr_cycles_now() - t0 - overhead;
		t0 = tbavr_cycles_now();
		const int32_t ref = tb_etree_score_ref(&tb_etree_model, x);
		const uint32_t dr = tbavr_cycles_now() - t0 - overhead;
		mt_print("cycles ");
		mt_print_uint(dt);
		mt_print(" score ");
		mt_print_int(score);
		mt_print(" ref ");
		mt_print_int(ref);
		mt_print(" refcycles ");
		mt_print_uint(dr);
		mt_print("\n");
	}
	mt_print("stack ");
	mt_print_uint(tbavr_stack_max_used());
	mt_print("\n");
	return mt_end();
}
