/*
 * TinyBeatArduino: the tinybeat heartbeat classifier for Arduino sketches.
 *
 *   #include <TinyBeatArduino.h>
 *
 *   // 1. classify a beat you already have (TinyBeat.inputs() bytes, 0..255)
 *   int32_t score;
 *   uint8_t verdict = TinyBeat.classify(beat, &score);  // TINYBEAT_NORMAL or TINYBEAT_ABNORMAL
 *   // (TINYBEAT_UNCLASSIFIED if the engine refused it: TinyBeat.lastStatus() says why)
 *
 *   // 2. or let it sample an AD8232 ECG module and find the beats
 *   TinyBeat.begin(A0, 10, 11, 360);     // ECG on A0, LO+ on 10, LO- on 11, 360 Hz
 *   if (TinyBeat.available()) { TinyBeatResult r = TinyBeat.read(); ... }
 *
 *   // 3. or serve tinybeat's framed serial protocol (README "Serial protocol")
 *   TinyBeatLink link(Serial);
 *
 * The model is the one the project's pre-build step generated
 * (.pio/build/<env>/tinybeat/tinybeat_model.h); Arduino IDE users copy it into this
 * library's src/ folder (README "Arduino").
 *
 * No heap and no floating point: scores are integers, the heart rate is in
 * tenths of a beat per minute. Sampling runs from a Timer1 compare interrupt
 * (exact rates, no delay()); the ADC conversion for the next sample starts in
 * the same interrupt, so samples are evenly spaced. While the sensor runs,
 * Timer1 and the ADC belong to TinyBeat: do not use analogRead(), Servo
 * (Timer1 on the Uno) or the Timer1 PWM pins (9, 10 on the Uno; 11, 12 on the Mega).
 */
#ifndef TINYBEAT_ARDUINO_H
#define TINYBEAT_ARDUINO_H

#include <Arduino.h>

#include "tbproto.h"

/* Verdicts. */
enum {
	TINYBEAT_NORMAL = 0,
	TINYBEAT_ABNORMAL = 1,
	TINYBEAT_UNCLASSIFIED = 2 /* no verdict: see TinyBeatResult.reason */
};

/* Why a detected beat has no verdict (TinyBeatResult.reason). */
enum {
	TINYBEAT_CLASSIFIED = 0,
	TINYBEAT_NO_RHYTHM = 1,     /* first beat after start or after the signal came back */
	TINYBEAT_MODEL_INPUTS = 2,  /* the model takes neither the front end's 193 inputs nor its 187-byte window */
	TINYBEAT_ENGINE_ERROR = 3   /* the inference engine refused the beat: TinyBeat.lastStatus() */
};

/* Signal states (TinyBeat.signal()), the front end's tbf_signal_t. */
enum {
	TINYBEAT_SIGNAL_OK = 0,
	TINYBEAT_LEAD_OFF = 1,   /* LO+ or LO- is high: an electrode is off */
	TINYBEAT_FLAT = 2,       /* no variation: no signal */
	TINYBEAT_SATURATED = 3   /* stuck at an ADC rail */
};

/* begin() results. */
enum {
	TINYBEAT_OK = 0,
	TINYBEAT_E_RATE = 1, /* sample rate outside 125..360 Hz, or the timer cannot make it */
	TINYBEAT_E_PIN = 2   /* not an analog input pin */
};

/* A lead-off pin argument for a module without LO+/LO- outputs. */
#define TINYBEAT_NO_PIN 255

/* One detected beat. */
struct TinyBeatResult {
	uint32_t timeMs;        /* R peak, milliseconds since begin() */
	uint16_t rrMs;          /* RR interval before this beat, milliseconds */
	uint16_t heartRateX10;  /* from the mean of the last RR intervals, beats per minute x 10 */
	uint8_t verdict;        /* TINYBEAT_NORMAL, TINYBEAT_ABNORMAL or TINYBEAT_UNCLASSIFIED */
	uint8_t reason;         /* TINYBEAT_CLASSIFIED or why there is no verdict */
	int32_t score;          /* model score (abnormal when above the model's threshold), 0 if unclassified */
	uint16_t heartRate() const { return (uint16_t)((heartRateX10 + 5u) / 10u); } /* whole bpm */
};

class TinyBeatClass {
public:
	/* ---- the model ---- */
	uint16_t inputs() const;                    /* bytes per beat the model takes */
	const __FlashStringHelper *modelName() const;
	const __FlashStringHelper *modelFingerprint() const; /* 16 hex digits */
	/* TINYBEAT_NORMAL / TINYBEAT_ABNORMAL for beat[inputs()]; *score gets the model score when
	 * not NULL (0 without a verdict). TINYBEAT_UNCLASSIFIED when the engine refuses the beat:
	 * lastStatus() is then its tb_status_t (1 NULL pointer, 2 wrong length, 3 family, 4 parameter).
	 * Takes about a millisecond (measured: lastCycles()). */
	uint8_t classify(const uint8_t *beat, int32_t *score = NULL);
	/* The same for a beat of `length` bytes: anything but inputs() is TINYBEAT_UNCLASSIFIED. */
	uint8_t classify(const uint8_t *beat, uint16_t length, int32_t *score);
	uint8_t lastStatus() const { return status_; }  /* tb_status_t of the last classify(), 0 = ok */
	uint32_t lastCycles() const { return cycles_; } /* CPU cycles of the last classify() */
	/* Least free RAM since reset, bytes: RAM less static data less the deepest stack seen. */
	uint16_t freeRamMin() const;

	/* ---- the ECG sensor (AD8232 or similar) ---- */
	/* Starts sampling ecgPin (A0..) at sampleHz (125..360) from a Timer1 interrupt; the
	 * lead-off pins are digital inputs (high = electrode off). Returns TINYBEAT_OK or an error. */
	uint8_t begin(uint8_t ecgPin, uint8_t loPlusPin, uint8_t loMinusPin, uint16_t sampleHz = 360);
	void end();
	/* Runs the front end on the samples taken so far; 1 when a beat is ready for read().
	 * Call it often from loop(): the interrupt buffers about 90 ms of samples at 360 Hz. */
	uint8_t available();
	TinyBeatResult read();              /* the beat available() announced (consumes it) */
	uint8_t signal() const;             /* TINYBEAT_SIGNAL_OK, _LEAD_OFF, _FLAT, _SATURATED */
	bool signalChanged();               /* true once after each change of signal() */
	uint16_t overruns() const;          /* samples lost because loop() did not call available() in time */
	uint32_t samples() const;           /* samples processed since begin() */
	/* fn(code, leadOff) is called by available() for every sample it processes (10-bit ADC code,
	 * 0 while the leads are off), e.g. to print the ECG for the Serial Plotter; NULL: none. */
	void onSample(void (*fn)(uint16_t code, uint8_t leadOff)) { sampleFn_ = fn; }

private:
	uint32_t cycles_ = 0;
	uint8_t status_ = 0;
	void (*sampleFn_)(uint16_t code, uint8_t leadOff) = nullptr;
};

extern TinyBeatClass TinyBeat;

/*
 * The framed serial protocol of the tinybeat firmware (INFO, INFER, STATS,
 * RESET_STATS; README "Serial protocol"), so `tinybeat evaluate --port` works
 * against a sketch, plus a text mode for the Serial Monitor: a line of
 * TinyBeat.inputs() integers 0..255 separated by commas or spaces is
 * classified and answered with a text line.
 *
 *   if (link.poll()) {                      // a beat arrived
 *     int32_t score;
 *     uint8_t verdict = TinyBeat.classify(link.beat(), link.beatLength(), &score);
 *     link.reply(verdict, score);           // the verdict back, framed or as text
 *   }
 *
 * An INFER frame's payload reaches classify() as it came (beatLength() bytes): the
 * engine checks the length. A TINYBEAT_UNCLASSIFIED verdict is answered with an
 * ERROR frame (TBP_E_ENGINE, payload {INFER, TinyBeat.lastStatus()}) or an error line.
 *
 * Every byte is treated as hostile: bad frames get error replies, a frame
 * that stops half way is dropped after 130 ms, long or malformed text lines
 * are rejected with an error line.
 */
class TinyBeatLink {
public:
	explicit TinyBeatLink(Stream &io) : io_(io) {}
	void begin();
	/* Reads every waiting byte and answers INFO/STATS/RESET_STATS and bad input itself.
	 * Returns true when a beat arrived (an INFER frame or a text line): classify beat()
	 * and answer with reply() before the next poll(). */
	bool poll();
	const uint8_t *beat() const { return beat_; }
	uint16_t beatLength() const { return beatLength_; } /* bytes of beat(): the frame's payload size */
	void reply(uint8_t verdict, int32_t score);
	uint32_t beatsReceived() const { return stats_.count; }

private:
	void onByte(uint8_t byte);
	void onText(uint8_t byte);
	void handleFrame();
	void sendFrame(uint8_t type, uint8_t seq, uint8_t error, const uint8_t *payload, uint8_t size);
	void sendError(uint8_t seq, uint8_t error, uint8_t requestType);
	void sendInfo(uint8_t seq);
	void sendStats(uint8_t seq);
	void textError(const __FlashStringHelper *what);

	Stream &io_;
	tbp_parser_t parser_;
	uint8_t expectedSeq_ = 0;
	uint8_t pendingSeq_ = 0;
	uint8_t pending_ = 0;        /* 0 none, 1 framed beat, 2 text beat */
	uint8_t beatLength_ = 0;     /* bytes of the pending beat */
	unsigned long lastByteMs_ = 0;
	/* text mode */
	uint16_t textCount_ = 0;     /* values received in the current line */
	uint16_t textValue_ = 0;     /* the value being read */
	uint8_t textState_ = 0;      /* 0 between values, 1 in a value, 2 bad line */
	const __FlashStringHelper *textWhy_ = NULL;
	/* statistics since RESET_STATS */
	tbp_stats_t stats_ = {};
	uint8_t beat_[TBP_MAX_PAYLOAD];
};

#endif /* TINYBEAT_ARDUINO_H */
