/*
 * Cycle benchmark firmware: runs the generated model (model.h) on the golden
 * inputs (golden.h) and prints one line per input: "cycles <n> score <s>".
 * Built by tinybeat.device.measure with the same avr-gcc flags as the firmware.
 */
#include <avr/interrupt.h>

#include "microtest.h"
#include "tbavr.h"
#include "tinybeat.h"
#include "tinybeat_golden.h"
#include "tinybeat_model.h"

static uint8_t g_x[TB_MODEL_N_INPUTS] TB_INPUT_ALIGN; /* as the firmware keeps it (tb_model.h) */

int main(void)
{
	mt_begin();
	tbavr_cycles_init();
	sei();
	const uint32_t overhead = tbavr_cycles_overhead();
	for (uint16_t k = 0; k < TB_GOLDEN_COUNT; k++) {
		const uint8_t *src = tb_golden_inputs + (uint32_t)k * TB_GOLDEN_N_INPUTS;
		for (uint16_t i = 0; i < TB_GOLDEN_N_INPUTS; i++)
			g_x[i] = tb_flash_u8(src + i);
		int32_t score;
		const uint32_t t0 = tbavr_cycles_now();
		const tb_status_t status = tb_model_score(&tb_model, g_x, TB_MODEL_N_INPUTS, &score);
		const uint32_t dt = tbavr_cycles_now() - t0 - overhead;
		if (!mt_check_int(__FILE__, __LINE__, TB_OK, status, "tb_model_score status"))
			break; /* no score: the summary reports the failure */
		mt_print("cycles ");
		mt_print_uint(dt);
		mt_print(" score ");
		mt_print_int(score);
		mt_print("\n");
	}
	mt_print("stack ");
	mt_print_uint(tbavr_stack_max_used());
	mt_print("\n");
	return mt_end();
}
