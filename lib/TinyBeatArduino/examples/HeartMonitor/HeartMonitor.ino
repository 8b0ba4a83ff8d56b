/*
 * HeartMonitor: an AD8232 ECG module on A0; every heartbeat's time, heart rate
 * and verdict printed on Serial (115200 baud) as a text line; lead-off reported.
 *
 *   beat t=12.345s rr=812ms hr=74bpm normal score=-20133
 *   signal: lead off (check the electrodes)
 *
 * With PLOTTER = true it prints for the Arduino IDE's Serial Plotter instead
 * (Tools > Serial Plotter, 115200 baud): every 2nd sample a line
 *
 *   ecg:512 beat:0 hr:74
 *
 * the ECG trace (ADC code), a beat marker (for 4 lines once a beat is reported,
 * about one RR interval after its R peak: 1000 abnormal, 800 normal, 600 no
 * verdict) and the heart rate in bpm.
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
const bool PLOTTER = false; /* true: Serial Plotter lines (see above) instead of text */

static uint8_t g_marker;     /* the beat marker's height / 10 while it shows */
static uint8_t g_markerLines; /* plot lines it still shows for */
static uint16_t g_bpm;

/* TinyBeat.onSample: one Serial Plotter line every 2nd sample (180 a second at 360 Hz). */
static void plotSample(uint16_t code, uint8_t leadOff)
{
	static uint8_t odd;
	(void)leadOff; /* code is 0 while the leads are off */
	odd ^= 1u;
	if (!odd)
		return;
	Serial.print(F("ecg:"));
	Serial.print(code);
	Serial.print(F(" beat:"));
	Serial.print(g_markerLines ? g_marker * 10u : 0u);
	Serial.print(F(" hr:"));
	Serial.println(g_bpm);
	if (g_markerLines)
		g_markerLines--;
}

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

static void printBanner()
{
	Serial.print(F("\r\ntinybeat HeartMonitor: model "));
	Serial.print(TinyBeat.modelName());
	Serial.print(F(" ("));
	Serial.print(TinyBeat.modelFingerprint());
	Serial.print(F("), ECG on A0 at "));
	Serial.print(SAMPLE_HZ);
	Serial.println(F(" Hz. Not a medical device."));
}

void setup()
{
	wdt_enable(WDTO_2S);
	pinMode(LED_NORMAL, OUTPUT);
	pinMode(LED_ABNORMAL, OUTPUT);
	Serial.begin(115200);
	if (PLOTTER)
		TinyBeat.onSample(plotSample);
	else
		printBanner();
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
	if (TinyBeat.signalChanged() && !PLOTTER)
		printSignal(TinyBeat.signal());
	if (TinyBeat.available()) {
		const TinyBeatResult b = TinyBeat.read();
		digitalWrite(LED_NORMAL, b.verdict == TINYBEAT_NORMAL ? HIGH : LOW);
		digitalWrite(LED_ABNORMAL, b.verdict == TINYBEAT_ABNORMAL ? HIGH : LOW);
		if (PLOTTER) {
			g_marker = b.verdict == TINYBEAT_ABNORMAL ? 100 : b.verdict == TINYBEAT_NORMAL ? 80 : 60;
			g_markerLines = 4;
			g_bpm = b.heartRate();
		} else {
			printBeat(b);
		}
	}
	const uint16_t lost = TinyBeat.overruns();
	if (lost != reportedOverruns && !PLOTTER) {
		reportedOverruns = lost;
		Serial.print(F("warning: "));
		Serial.print(lost);
		Serial.println(F(" samples lost (loop too slow)"));
	}
}
