/*
 * tbproto: the tinybeat UART protocol (host and AVR, C99, no heap).
 *
 * Frame, both directions:
 *
 *   byte 0     0xA5          preamble
 *   byte 1     0x5A          preamble
 *   byte 2     size          payload length N, 0..TBP_MAX_PAYLOAD
 *   byte 3     type          request type, or request | TBP_REPLY, or TBP_ERROR
 *   byte 4     seq           sequence number; a reply echoes the request's seq
 *   byte 5     error         0 in requests; an error code (TBP_OK, TBP_E_*) in replies
 *   byte 6..   payload       N bytes
 *   then       crc16         CRC-16/CCITT-FALSE over bytes 2 .. 5+N, low byte first
 *
 * CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0
 * (check value: "123456789" -> 0x29B1).  All payload integers are little-endian.
 *
 * Receiving: feed every byte to tbp_parser_feed(); it returns TBP_EV_FRAME when a
 * complete frame with a good CRC has arrived (then p->frame holds it until the next
 * feed).  Call tbp_parser_reset() when the line goes quiet in the middle of a frame
 * (inter-byte timeout).  Sending: tbp_encode().
 */
#ifndef TBPROTO_H
#define TBPROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TBP_PROTO_VERSION 2

#define TBP_PREAMBLE0 0xA5
#define TBP_PREAMBLE1 0x5A
#define TBP_MAX_PAYLOAD 200 /* one INFER frame carries 193 inputs */
#define TBP_HEADER_SIZE 6 /* preamble (2), size, type, seq, error */
#define TBP_CRC_SIZE 2
#define TBP_FRAME_MAX (TBP_HEADER_SIZE + TBP_MAX_PAYLOAD + TBP_CRC_SIZE)
#define TBP_CRC_INIT 0xFFFFu

/* Frame types.  A reply has type = request | TBP_REPLY; TBP_ERROR is the error reply. */
enum {
	TBP_INFO = 0x01,
	TBP_INFER = 0x02,
	TBP_STATS = 0x03,
	TBP_RESET_STATS = 0x04,
	TBP_STREAM_START = 0x10, /* source u8, ADC channel u8, rate u16 (Hz) */
	TBP_STREAM_STOP = 0x11,  /* none; reply: stream stats */
	TBP_SAMPLES = 0x12,      /* 1..TBP_SAMPLES_MAX uint16 samples (host source only) */
	TBP_STREAM_STATS = 0x13, /* none; reply: stream stats */
	/* Events: sent by the device on its own while streaming, never replies.
	 * seq counts events (mod 256) so a host sees lost ones; error is 0. */
	TBP_EV_BEAT_FRAME = 0x41,   /* one detected beat, TBP_BEAT_SIZE bytes */
	TBP_EV_SIGNAL_FRAME = 0x42, /* signal state change: sample index u32, state u8 */
	TBP_EV_STATUS_FRAME = 0x43, /* once per second of samples: stream stats (stack_max 0) */
	TBP_REPLY = 0x80,
	TBP_ERROR = 0x7F
};

/* Error codes (the error byte of a reply). */
enum {
	TBP_OK = 0,
	TBP_E_CRC = 1,      /* the CRC did not match */
	TBP_E_LENGTH = 2,   /* size > TBP_MAX_PAYLOAD */
	TBP_E_TYPE = 3,     /* unknown request type */
	TBP_E_SEQUENCE = 4, /* seq is not 0 and not previous accepted seq + 1 */
	TBP_E_TIMEOUT = 5,  /* a partial frame was abandoned after an inter-byte gap */
	TBP_E_PAYLOAD = 6,  /* payload length wrong for the type */
	TBP_E_ARG = 7,      /* a payload value out of range (stream source, channel, rate) */
	TBP_E_STATE = 8,    /* not now: SAMPLES while not streaming from the host */
	TBP_E_ENGINE = 9    /* the inference engine refused the request: payload {request type, tb_status_t} */
};

/* Stream sources (STREAM_START). */
enum {
	TBP_SRC_ADC = 0,  /* the board's ADC, sampled by a timer */
	TBP_SRC_HOST = 1  /* SAMPLES frames from the host */
};

/* A SAMPLES value: 0..1023 an ADC code (larger values are clamped, i.e. saturated);
 * TBP_SAMPLE_LEAD_OFF marks a sample taken with the leads off. */
#define TBP_SAMPLE_LEAD_OFF 0xFFFFu
#define TBP_SAMPLES_MAX 90u
#define TBP_CLASS_NONE 0xFFu /* BEAT class: not classified (flags set, or the model's inputs do not fit) */

/* Fixed payload sizes. */
#define TBP_INFER_REPLY_SIZE 9        /* class u8, score i32, cycles u32 */
#define TBP_STATS_REPLY_SIZE 20       /* count, min, avg, max u32; stack_max, free_ram_min u16 */
#define TBP_ERROR_REPLY_SIZE 1        /* the offending request type, or 0 if unknown */
#define TBP_ENGINE_ERROR_SIZE 2       /* TBP_E_ENGINE only: request type u8, engine status u8 (tb_status_t) */
#define TBP_FINGERPRINT_SIZE 8
#define TBP_INFO_REPLY_FIXED_SIZE 26  /* INFO reply without the name and version strings */
#define TBP_STREAM_START_SIZE 4       /* source u8, channel u8, rate_hz u16 */
#define TBP_SAMPLES_REPLY_SIZE 4      /* samples received since STREAM_START u32 */
/* Stream stats (STREAM_STOP and STREAM_STATS replies, STATUS events):
 * source u8 (0xFF = stopped), signal u8, rate u16, samples u32, missed u32, beats u32,
 * max cycles for one sample u32, ring high-water u8, stack high-water u16 (0 in STATUS),
 * then, since STREAM_START: received bytes lost u16 (receive ring full, USART overrun or
 * framing error), beats the front end dropped u16 (tbf_dropped), beats the engine refused
 * u16, transmit waits u16 (a frame waited for room in the transmit ring); and since boot:
 * receive-ring high-water u8, transmit-ring high-water u8 (bytes). Counters saturate. */
#define TBP_STREAM_STATS_SIZE 33
/* BEAT event: r_sample u32, rr_pre u16, rr_post u16, rr_avg u16, hr_x10 u16, flags u8,
 * class u8, score i32, cycles u32, features x[187..192] (6 bytes), Fletcher-16 of x[0..192] u16. */
#define TBP_BEAT_SIZE 30
#define TBP_SIGNAL_SIZE 5

typedef struct {
	uint8_t size; /* payload length, always <= TBP_MAX_PAYLOAD when filled by the parser */
	uint8_t type;
	uint8_t seq;
	uint8_t error;
	uint8_t payload[TBP_MAX_PAYLOAD];
} tbp_frame_t;

typedef enum {
	TBP_EV_NONE = 0,   /* nothing to report yet */
	TBP_EV_FRAME,      /* p->frame holds a complete frame with a good CRC */
	TBP_EV_BAD_CRC,    /* a frame ended with a wrong CRC; p->frame.type/seq hold its header */
	TBP_EV_BAD_LENGTH  /* a size byte > TBP_MAX_PAYLOAD was seen after a preamble */
} tbp_event_t;

/* Parser state: plain data, no pointers.  Treat the fields other than frame as private. */
typedef struct {
	uint8_t state;  /* where in the frame the next byte goes */
	uint8_t len;    /* payload length of the frame being received */
	uint8_t index;  /* payload bytes received so far */
	uint8_t crc_lo; /* low byte of the received CRC */
	uint16_t crc;   /* running CRC over size, type, seq, error, payload */
	tbp_frame_t frame;
} tbp_parser_t;

/* Parser: O(1) per byte, never reads or writes outside *p, always resynchronises:
 * bytes before a preamble are skipped, A5 A5 5A still syncs, and after a bad CRC or
 * a bad length it hunts for the next preamble. */
void tbp_parser_init(tbp_parser_t *p);
tbp_event_t tbp_parser_feed(tbp_parser_t *p, uint8_t byte);
/* Abandons a partial frame (inter-byte timeout) and hunts for a preamble. */
void tbp_parser_reset(tbp_parser_t *p);
/* 1 once a full preamble has been received until the frame ends, else 0. */
uint8_t tbp_parser_busy(const tbp_parser_t *p);

/* CRC-16/CCITT-FALSE: start from TBP_CRC_INIT and update byte by byte, or all at once. */
uint16_t tbp_crc16_update(uint16_t crc, uint8_t byte);
uint16_t tbp_crc16(const uint8_t *data, size_t len);

/* Writes a whole frame to out and returns its length (TBP_HEADER_SIZE + size +
 * TBP_CRC_SIZE), or 0 if size > TBP_MAX_PAYLOAD or it does not fit in cap.
 * payload may be NULL when size is 0, and may point at out + TBP_HEADER_SIZE (payload
 * built in place) or overlap out in any other way. */
size_t tbp_encode(uint8_t *out, size_t cap, uint8_t type, uint8_t seq, uint8_t error,
                  const uint8_t *payload, uint8_t size);

/* Writes a whole frame byte by byte through put(byte, ctx) with a running CRC: no frame buffer
 * (a device's replies and events). payload may be NULL when size is 0; size <= TBP_MAX_PAYLOAD. */
void tbp_write_frame(void (*put)(uint8_t byte, void *ctx), void *ctx, uint8_t type, uint8_t seq, uint8_t error,
                     const uint8_t *payload, uint8_t size);

/* An ERROR reply (TBP_ERROR, error code, payload {request_type}) through put. */
void tbp_write_error(void (*put)(uint8_t byte, void *ctx), void *ctx, uint8_t seq, uint8_t error,
                     uint8_t request_type);

/* A device's receive step: feeds byte to the parser and answers a bad CRC (TBP_E_CRC, with the
 * frame's seq and type) or a bad length (TBP_E_LENGTH, seq 0, type 0) itself through put.
 * Returns 1 when p->frame holds a new frame with a good CRC (check and answer it), else 0. */
uint8_t tbp_receive(tbp_parser_t *p, uint8_t byte, void (*put)(uint8_t byte, void *ctx), void *ctx);

/* The sequence rule.  seq 0 is always accepted and restarts the sequence; otherwise seq
 * must equal *expected_next.  Returns 1 if accepted, 0 if not (reply TBP_E_SEQUENCE).
 * Either way *expected_next becomes seq + 1 (mod 256): the receiver resynchronises to
 * the received seq.  Start with *expected_next = 0. */
uint8_t tbp_check_sequence(uint8_t *expected_next, uint8_t seq);

/* Payload size of a request type, for tbp_check_request. */
#define TBP_SIZE_ANY 0xFEu   /* any size: the handler checks it (INFER: the engine checks the length) */
#define TBP_SIZE_OWNER 0xFFu /* a type the caller's own module handles, size included (stream mode) */

/* What a device checks of every request before acting on it, in order: a known type
 * (INFO, STATS, RESET_STATS, INFER, or one for which is_owned(type) is nonzero; is_owned
 * may be NULL), the sequence number (tbp_check_sequence), the payload size (0 for INFO,
 * STATS and RESET_STATS). Returns TBP_OK or the error code to reply with (TBP_E_TYPE,
 * TBP_E_SEQUENCE, TBP_E_PAYLOAD). *size_rule is set to TBP_SIZE_ANY, TBP_SIZE_OWNER or 0. */
uint8_t tbp_check_request(const tbp_frame_t *f, uint8_t *expected_next, uint8_t (*is_owned)(uint8_t type),
                          uint8_t *size_rule);

/* Inference cycle statistics behind a STATS reply. */
typedef struct {
	uint32_t count, min, max;
	uint64_t sum;
} tbp_stats_t;

void tbp_stats_reset(tbp_stats_t *s);
void tbp_stats_add(tbp_stats_t *s, uint32_t cycles);
/* The STATS reply payload (TBP_STATS_REPLY_SIZE bytes): count, min, mean, max cycles, then
 * the stack high-water mark and the free RAM left at that mark, in bytes. */
void tbp_stats_encode(const tbp_stats_t *s, uint16_t stack_max, uint16_t free_ram_min,
                      uint8_t out[TBP_STATS_REPLY_SIZE]);

/* The INFO reply: protocol version u8, then these fields in order (little-endian), then name and
 * version, each a length byte and at most TBP_INFO_STRING_MAX bytes (the two length bytes count in
 * TBP_INFO_REPLY_FIXED_SIZE). */
#define TBP_INFO_STRING_MAX 32
#define TBP_INFO_REPLY_MAX (TBP_INFO_REPLY_FIXED_SIZE + TBP_INFO_STRING_MAX + TBP_INFO_STRING_MAX)
typedef struct {
	uint8_t family;             /* the model's family code */
	uint16_t n_inputs;          /* bytes per beat the model takes */
	uint32_t model_flash_bytes;
	uint16_t model_ram_bytes;
	uint16_t static_ram_bytes;  /* the whole program's .data + .bss + .noinit */
	uint32_t f_cpu;             /* Hz */
	uint8_t fingerprint[TBP_FINGERPRINT_SIZE];
} tbp_info_t;
/* A tbp_info_t of the generated model (tinybeat_model.h's TB_MODEL_* macros, expanded where the
 * caller includes that header) and the program's static RAM. */
#define TBP_INFO_OF_MODEL(static_ram)                                                              \
	{ TB_MODEL_FAMILY, TB_MODEL_N_INPUTS, TB_MODEL_FLASH_BYTES, TB_MODEL_RAM_BYTES, (static_ram), \
	  F_CPU, TB_MODEL_FINGERPRINT_BYTES }
/* Writes the INFO reply payload to out and returns its size. name and version are C strings
 * read through read_byte (NULL: plain RAM; on AVR tbp_flash_byte for PROGMEM strings), each cut
 * at TBP_INFO_STRING_MAX bytes. */
uint8_t tbp_info_encode(const tbp_info_t *info, const char *name, const char *version,
                        uint8_t (*read_byte)(const char *p), uint8_t out[TBP_INFO_REPLY_MAX]);
#ifdef __AVR__
uint8_t tbp_flash_byte(const char *p); /* pgm_read_byte */
#endif

/* Little-endian helpers. */
void tbp_put_u16(uint8_t *p, uint16_t v);
void tbp_put_u32(uint8_t *p, uint32_t v);
uint16_t tbp_get_u16(const uint8_t *p);
uint32_t tbp_get_u32(const uint8_t *p);

#ifdef __cplusplus
}
#endif

#endif /* TBPROTO_H */
