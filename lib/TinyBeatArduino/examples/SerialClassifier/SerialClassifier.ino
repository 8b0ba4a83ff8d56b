/*
 * SerialClassifier: heartbeats in over Serial, the verdict on two LEDs and back over Serial.
 *
 * Speaks tinybeat's framed protocol (README "Serial protocol"), so
 *   tinybeat evaluate --port /dev/ttyACM0
 * streams the test split through this sketch and compares every score with
 * the Python reference. In the Serial Monitor (115200 baud, newline) you can
 * also paste a beat as one line of TinyBeat.inputs() integers 0..255
 * separated by commas and get a text verdict back.
 *
 * Wiring: an LED with a 220 ohm resistor from pin 13 (normal; the on-board
 * "L" LED) and one from pin 12 (abnormal) to GND.
 */
#include <avr/wdt.h>

#include <TinyBeatArduino.h>

const uint8_t LED_NORMAL = 13;
const uint8_t LED_ABNORMAL = 12;

TinyBeatLink link(Serial);

void setup()
{
	wdt_enable(WDTO_2S); /* a hang restarts the board */
	pinMode(LED_NORMAL, OUTPUT);
	pinMode(LED_ABNORMAL, OUTPUT);
	Serial.begin(115200);
	Serial.print(F("\r\ntinybeat SerialClassifier: heartbeat classifier, model "));
	Serial.print(TinyBeat.modelName());
	Serial.print(F(" ("));
	Serial.print(TinyBeat.modelFingerprint());
	Serial.print(F("), "));
	Serial.print(TinyBeat.inputs());
	Serial.println(F(" inputs."));
	Serial.println(F("Send framed requests (tinybeat evaluate --port), or one beat per line: values 0..255, comma separated."));
	link.begin();
}

void loop()
{
	wdt_reset();
	if (link.poll()) { /* a beat arrived */
		int32_t score;
		/* TINYBEAT_UNCLASSIFIED (a frame of the wrong length): both LEDs off, an error reply */
		const uint8_t verdict = TinyBeat.classify(link.beat(), link.beatLength(), &score);
		digitalWrite(LED_NORMAL, verdict == TINYBEAT_NORMAL ? HIGH : LOW);
		digitalWrite(LED_ABNORMAL, verdict == TINYBEAT_ABNORMAL ? HIGH : LOW);
		link.reply(verdict, score);
	}
}
