/*
 * HeartMonitor: an AD8232 ECG module on A0; every heartbeat's time, heart rate
 * and verdict printed on Serial (115200 baud) as a text line; lead-off reported.
 *
 *   beat t=12.345s rr=812ms hr=74bpm normal score=-20133
 *   signal: lead off (check the electrodes)
 *
 * Sampling runs at 360 Hz from a Timer1 interrupt (TinyBeat.begin); loop()
 * only has to call TinyBeat.available() often (at least every ~80 ms).
 * LEDs as in SerialClassifier: pin 13 normal, pin 12 abnormal.
 *
 * Wiring (README "Arduino: wiring"): AD8232 OUTPUT -> A0, LO+ -> 10, LO- -> 11,
 * 3.3V -> 3.3V, GND -> GND. SDN unconnected. Not a medical device.
 */
#include <avr/wdt.h>

#include <TinyBeatArduino.h>

const uint8_t ECG_PIN = A0;
const uint8_t LO_PLUS_PIN = 10;
const uint8_t LO_MINUS_PIN = 11;
const uint16_t SAMPLE_HZ = 360;
const uint8_t LED_NORMAL = 13;
const uint8_t LED_ABNORMAL = 12;

static void printSignal(uint8_t s)
{
	Serial.print(F("signal: "));
	switch (s) {
	case TINYBEAT_SIGNAL_OK: Serial.println(F("ok, looking for beats")); break;
	case TINYBEAT_LEAD_OFF: Serial.println(F("lead off (check the electrodes)")); break;
	case TINYBEAT_FLAT: Serial.println(F("flat (no ECG: check the module's output)")); break;
	default: Serial.println(F("saturated (the ECG is stuck at a rail)")); break;
	}
	Serial.print(F("  (free RAM low-water "));
	Serial.print(TinyBeat.freeRamMin());
	Serial.println(F(" B)"));
}

static void printBeat(const TinyBeatResult &b)
{
	Serial.print(F("beat t="));
	Serial.print(b.timeMs / 1000);
	Serial.print('.');
	const uint16_t ms = (uint16_t)(b.timeMs % 1000);
	if (ms < 100) Serial.print('0');
	if (ms < 10) Serial.print('0');
	Serial.print(ms);
	Serial.print(F("s rr="));
	Serial.print(b.rrMs);
	Serial.print(F("ms hr="));
	Serial.print(b.heartRate());
	Serial.print(F("bpm "));
	if (b.verdict == TINYBEAT_UNCLASSIFIED) {
		if (b.reason == TINYBEAT_NO_RHYTHM) {
			Serial.println(F("(first beat: no verdict yet)"));
		} else if (b.reason == TINYBEAT_ENGINE_ERROR) {
			Serial.print(F("(no verdict: the engine refused the beat, status "));
			Serial.print(TinyBeat.lastStatus());
			Serial.println(F(")"));
		} else {
			Serial.println(F("(no verdict: the model does not take the front end's beats)"));
		}
		return;
	}
	Serial.print(b.verdict == TINYBEAT_ABNORMAL ? F("ABNORMAL") : F("normal"));
	Serial.print(F(" score="));
	Serial.println(b.score);
}

void setup()
{
	wdt_enable(WDTO_2S);
	pinMode(LED_NORMAL, OUTPUT);
	pinMode(LED_ABNORMAL, OUTPUT);
	Serial.begin(115200);
	Serial.print(F("\r\ntinybeat HeartMonitor: model "));
	Serial.print(TinyBeat.modelName());
	Serial.print(F(" ("));
	Serial.print(TinyBeat.modelFingerprint());
	Serial.print(F("), ECG on A0 at "));
	Serial.print(SAMPLE_HZ);
	Serial.println(F(" Hz. Not a medical device."));
	if (TinyBeat.begin(ECG_PIN, LO_PLUS_PIN, LO_MINUS_PIN, SAMPLE_HZ) != TINYBEAT_OK) {
		Serial.println(F("error: TinyBeat.begin failed (pin or sample rate)"));
		for (;;)
			wdt_reset();
	}
}

void loop()
{
	static uint16_t reportedOverruns = 0;
	wdt_reset();
	if (TinyBeat.signalChanged())
		printSignal(TinyBeat.signal());
	if (TinyBeat.available()) {
		const TinyBeatResult b = TinyBeat.read();
		digitalWrite(LED_NORMAL, b.verdict == TINYBEAT_NORMAL ? HIGH : LOW);
		digitalWrite(LED_ABNORMAL, b.verdict == TINYBEAT_ABNORMAL ? HIGH : LOW);
		printBeat(b);
	}
	const uint16_t lost = TinyBeat.overruns();
	if (lost != reportedOverruns) {
		reportedOverruns = lost;
		Serial.print(F("warning: "));
		Serial.print(lost);
		Serial.println(F(" samples lost (loop too slow)"));
	}
}
