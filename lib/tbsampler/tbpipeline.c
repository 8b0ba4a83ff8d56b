/* tbpipeline: one ECG sample through the front end and the classifier (see tbpipeline.h). */
#include "tbpipeline.h"

#include "tbsampler.h"

static tbf_state_t g_front;
static tbf_beat_t g_beat TB_INPUT_ALIGN; /* x first in tbf_beat_t: where the kernels read it fastest */
static const tb_model_t *g_model;
static tbpl_verdict_t g_last = { &g_beat, TB_CLASS_NONE, TBPL_NO_RHYTHM, TB_OK, 0 };
static tbpl_counts_t g_counts;

uint8_t tbpl_start(uint16_t fs, const tb_model_t *model)
{
	if (tbf_init(&g_front, fs) != TBF_OK)
		return 1;
	g_model = model;
	g_counts = (tbpl_counts_t){ 0, 0, 0, 0, 0 };
	g_last = (tbpl_verdict_t){ &g_beat, TB_CLASS_NONE, TBPL_NO_RHYTHM, TB_OK, 0 };
	return 0;
}

/* The verdict for the beat just completed. */
static void classify(void)
{
	tbpl_verdict_t *v = &g_last;
	v->klass = TB_CLASS_NONE;
	v->status = TB_OK;
	v->score = 0;
	if (g_beat.flags & TBF_BEAT_NO_PRE) { /* a PAUSE beat is classified, as in training */
		v->reason = TBPL_NO_RHYTHM;
		return;
	}
	if (!g_model || !TBF_MODEL_TAKES_BEATS(g_model->n_inputs)) {
		v->reason = TBPL_MODEL_INPUTS;
		return;
	}
	int32_t score = 0;
	uint8_t klass = TB_CLASS_NONE;
	const tb_status_t status = tb_model_predict(g_model, g_beat.x, g_model->n_inputs, &score, &klass);
	if (status != TB_OK) {
		v->reason = TBPL_ENGINE_ERROR;
		v->status = (uint8_t)status;
		if (g_counts.engine_errors != 0xFFFFu)
			g_counts.engine_errors++;
		return;
	}
	v->reason = TBPL_CLASSIFIED;
	v->klass = klass;
	v->score = score;
}

tbf_event_t tbpl_push(uint16_t code, uint8_t lead_off)
{
	const uint32_t t0 = tbs_span_begin();
	const tbf_event_t ev = tbf_push(&g_front, lead_off ? 0u : code, lead_off, &g_beat);
	if (ev == TBF_EV_BEAT)
		classify();
	const uint32_t cycles = tbs_span_end(t0);
	g_counts.samples++;
	g_counts.cycles = cycles;
	if (cycles > g_counts.max_cycles)
		g_counts.max_cycles = cycles;
	if (ev == TBF_EV_BEAT)
		g_counts.beats++;
	return ev;
}

const tbpl_verdict_t *tbpl_last(void) { return &g_last; }
const tbpl_counts_t *tbpl_counts(void) { return &g_counts; }
tbf_signal_t tbpl_signal(void) { return tbf_signal(&g_front); }
uint16_t tbpl_dropped(void) { return tbf_dropped(&g_front); }

uint8_t *tbpl_scratch(void)
{
	g_last.klass = TB_CLASS_NONE; /* the beat is gone */
	return (uint8_t *)&g_beat;
}
