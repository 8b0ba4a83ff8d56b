/*
 * Budgets of the generated model on the AVR, measured on the MCU itself:
 * cycles per inference (Timer1 at F_CPU), stack high-water mark and static RAM.
 * The cycle budget comes from model/config.yaml through the model header.
 */
#include <avr/interrupt.h>

#include "microtest.h"
#include "tbavr.h"
#include "tinybeat.h"
#include "tinybeat_golden.h"
#include "tinybeat_model.h"

#ifndef TB_TEST_STACK_BUDGET
#define TB_TEST_STACK_BUDGET 256 /* bytes of stack for harness + inference */
#endif

static uint8_t g_x[TB_MODEL_N_INPUTS] TB_INPUT_ALIGN; /* as the firmware keeps it */
static uint32_t g_min = UINT32_MAX, g_max, g_sum;
static uint8_t g_status; /* OR of every call's status: TB_OK (0) when all succeeded */

static void load_golden(uint16_t k)
{
	const uint8_t *src = tb_golden_inputs + (uint32_t)k * TB_GOLDEN_N_INPUTS;
	for (uint16_t i = 0; i < TB_GOLDEN_N_INPUTS; i++)
		g_x[i] = tb_flash_u8(src + i);
}

static void measure_all(void)
{
	const uint32_t overhead = tbavr_cycles_overhead();
	for (uint16_t k = 0; k < TB_GOLDEN_COUNT; k++) {
		int32_t score;
		uint8_t cls;
		load_golden(k);
		const uint32_t t0 = tbavr_cycles_now();
		const tb_status_t status = tb_model_predict(&tb_model, g_x, TB_MODEL_N_INPUTS, &score, &cls);
		const uint32_t dt = tbavr_cycles_now() - t0 - overhead;
		g_status |= (uint8_t)status;
		if (dt < g_min)
			g_min = dt;
		if (dt > g_max)
			g_max = dt;
		g_sum += dt;
	}
}

static void test_cycles_within_budget(void)
{
	measure_all();
	mt_print("cycles per inference: min ");
	mt_print_uint(g_min);
	mt_print(" avg ");
	mt_print_uint(g_sum / TB_GOLDEN_COUNT);
	mt_print(" max ");
	mt_print_uint(g_max);
	mt_print(" (estimate ");
	mt_print_uint(TB_MODEL_CYCLES_ESTIMATE);
	mt_print(", budget ");
	mt_print_uint(TB_MODEL_CYCLE_BUDGET);
	mt_print(")\n");
	MT_ASSERT_EQ_INT(TB_OK, g_status);
	MT_ASSERT_TRUE(g_min > 0);
	MT_ASSERT_LE_INT((int32_t)TB_MODEL_CYCLE_BUDGET, (int32_t)g_max);
}

static void test_cycle_estimate_is_close(void)
{
	/* The search trusts the estimate: it must stay within 25 % of the measured maximum. */
	const int32_t est = (int32_t)TB_MODEL_CYCLES_ESTIMATE;
	MT_ASSERT_IN_RANGE(est - est / 4, est + est / 4, (int32_t)g_max);
}

static void test_model_ram_as_declared(void)
{
	/* the descriptor and its parameter struct are the model's only RAM (arrays are in flash) */
	const uint16_t ram = (uint16_t)(sizeof(tb_model) + sizeof(tb_model_params));
	mt_print("model RAM: ");
	mt_print_uint(ram);
	mt_print(" B (declared ");
	mt_print_uint(TB_MODEL_RAM_BYTES);
	mt_print(")\n");
	MT_ASSERT_EQ_INT(11, sizeof(tb_model_t));
	MT_ASSERT_LE_INT(TB_MODEL_RAM_BYTES, ram);
}

static void test_stack_within_budget(void)
{
	const uint16_t used = tbavr_stack_max_used();
	mt_print("stack high-water: ");
	mt_print_uint(used);
	mt_print(" B, static RAM: ");
	mt_print_uint(tbavr_static_ram());
	mt_print(" B\n");
	MT_ASSERT_TRUE(used > 0);
	MT_ASSERT_LE_INT(TB_TEST_STACK_BUDGET, used);
}

int main(void)
{
	mt_begin();
	tbavr_cycles_init();
	sei();
	MT_RUN(test_cycles_within_budget);
	MT_RUN(test_cycle_estimate_is_close);
	MT_RUN(test_model_ram_as_declared);
	MT_RUN(test_stack_within_budget);
	return mt_end();
}
