/*
 * TinyBeat's ECG sensor: lib/tbsampler's sampler (a Timer1 interrupt reads the
 * lead-off pins and starts each conversion; the ADC interrupt queues the
 * sample) and its beat pipeline (front end + classifier), the same code the
 * bare firmware streams with, run from available(). A slow loop() loses
 * samples (counted in overruns()) instead of blocking interrupts.
 *
 * Kept in its own file: a sketch that never calls begin() links none of this
 * (no interrupt, no front-end state in RAM).
 */
#include <util/atomic.h>

#include "TinyBeatArduino.h"
#include "tbpipeline.h"
#include "tbsampler.h"

static_assert((int)TINYBEAT_CLASSIFIED == (int)TBPL_CLASSIFIED && (int)TINYBEAT_NO_RHYTHM == (int)TBPL_NO_RHYTHM &&
                      (int)TINYBEAT_MODEL_INPUTS == (int)TBPL_MODEL_INPUTS &&
                      (int)TINYBEAT_ENGINE_ERROR == (int)TBPL_ENGINE_ERROR,
              "TinyBeatResult.reason is the pipeline's reason");

const tb_model_t *tinybeat_arduino_model(); /* TinyBeatArduino.cpp: the generated model */

static TinyBeatResult g_result;
static uint8_t g_ready;
static uint8_t g_signal_changed;
static uint16_t g_fs;

static tbs_pin_t lead_pin(uint8_t pin)
{
	if (pin == TINYBEAT_NO_PIN || digitalPinToPort(pin) == NOT_A_PIN)
		return tbs_pin_t{ nullptr, 0 };
	pinMode(pin, INPUT);
	return tbs_pin_t{ portInputRegister(digitalPinToPort(pin)), digitalPinToBitMask(pin) };
}

uint8_t TinyBeatClass::begin(uint8_t ecgPin, uint8_t loPlusPin, uint8_t loMinusPin, uint16_t sampleHz)
{
	if (!(ecgPin < NUM_ANALOG_INPUTS || (ecgPin >= A0 && ecgPin < A0 + NUM_ANALOG_INPUTS)))
		return TINYBEAT_E_PIN;
	if (sampleHz < TBF_FS_MIN || sampleHz > TBF_FS_MAX)
		return TINYBEAT_E_RATE;
	end();
	if (tbpl_start(sampleHz, tinybeat_arduino_model()))
		return TINYBEAT_E_RATE;
	uint8_t channel = ecgPin >= A0 ? (uint8_t)(ecgPin - A0) : ecgPin;
#if defined(analogPinToChannel)
	channel = analogPinToChannel(channel);
#endif
	g_fs = sampleHz;
	g_ready = 0;
	g_signal_changed = 0;
	const uint8_t err = tbs_start(channel, sampleHz, lead_pin(loPlusPin), lead_pin(loMinusPin));
	if (err != TBS_OK)
		return err == TBS_E_CHANNEL ? TINYBEAT_E_PIN : TINYBEAT_E_RATE;
	return TINYBEAT_OK;
}

void TinyBeatClass::end() { tbs_stop(); }

/* n samples at fs Hz in milliseconds, without 32-bit overflow for any uint32 n. */
static uint32_t samples_to_ms(uint32_t n, uint16_t fs)
{
	return (n / fs) * 1000ul + ((n % fs) * 1000ul + fs / 2u) / fs;
}

uint8_t TinyBeatClass::available()
{
	if (g_ready)
		return 1;
	uint16_t sample;
	while (tbs_read(&sample)) {
		const uint8_t leadOff = (sample & TBS_LEAD_OFF) != 0;
		const tbf_event_t ev = tbpl_push((uint16_t)(sample & 0x3FFu), leadOff);
		if (sampleFn_)
			sampleFn_(leadOff ? 0u : (uint16_t)(sample & 0x3FFu), leadOff);
		if (ev == TBF_EV_SIGNAL) {
			g_signal_changed = 1;
		} else if (ev == TBF_EV_BEAT) {
			const tbpl_verdict_t *v = tbpl_last();
			TinyBeatResult *r = &g_result;
			r->timeMs = samples_to_ms(v->beat->r_sample, g_fs);
			r->rrMs = (uint16_t)samples_to_ms(v->beat->rr_pre, g_fs);
			r->heartRateX10 = v->beat->hr_x10;
			r->score = v->score;
			r->reason = v->reason;
			r->verdict = v->reason == TBPL_CLASSIFIED ? v->klass : (uint8_t)TINYBEAT_UNCLASSIFIED;
			status_ = v->status;
			cycles_ = tbpl_counts()->cycles;
			g_ready = 1;
			return 1;
		}
	}
	return 0;
}

TinyBeatResult TinyBeatClass::read()
{
	g_ready = 0;
	return g_result;
}

uint8_t TinyBeatClass::signal() const { return (uint8_t)tbpl_signal(); }

bool TinyBeatClass::signalChanged()
{
	const bool changed = g_signal_changed != 0;
	g_signal_changed = 0;
	return changed;
}

uint16_t TinyBeatClass::overruns() const
{
	const uint32_t n = tbs_missed();
	return n > 0xFFFFu ? (uint16_t)0xFFFFu : (uint16_t)n;
}

uint32_t TinyBeatClass::samples() const { return tbpl_counts()->samples; }
