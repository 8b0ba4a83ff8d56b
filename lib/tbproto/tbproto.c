/* tbproto: framing, parser, CRC, sequence rule and byte-order helpers (see tbproto.h). */
#include "tbproto.h"

#include <string.h>

#ifdef __AVR__
#include <avr/pgmspace.h>
#include <util/crc16.h> /* _crc_xmodem_update: the same CRC step in hand-written assembly */
#endif

/* Parser states: the meaning of the next byte. */
enum {
	ST_HUNT = 0, /* waiting for TBP_PREAMBLE0 */
	ST_PRE1,     /* seen TBP_PREAMBLE0, waiting for TBP_PREAMBLE1 */
	ST_SIZE,
	ST_TYPE,
	ST_SEQ,
	ST_ERROR,
	ST_PAYLOAD,
	ST_CRC_LO,
	ST_CRC_HI
};

static inline uint16_t crc_step(uint16_t crc, uint8_t byte)
{
#ifdef __AVR__
	return _crc_xmodem_update(crc, byte); /* poly 0x1021, MSB first: the same step */
#else
	/* Byte-at-a-time form of the MSB-first shift register with poly 0x1021:
	 * no table, no loop, a handful of shifts and XORs. */
	uint8_t x = (uint8_t)((crc >> 8) ^ byte);
	x ^= (uint8_t)(x >> 4);
	return (uint16_t)((uint16_t)(crc << 8) ^ (uint16_t)((uint16_t)x << 12) ^
	                  (uint16_t)((uint16_t)x << 5) ^ (uint16_t)x);
#endif
}

uint16_t tbp_crc16_update(uint16_t crc, uint8_t byte)
{
	return crc_step(crc, byte);
}

uint16_t tbp_crc16(const uint8_t *data, size_t len)
{
	uint16_t crc = TBP_CRC_INIT;
	size_t i;
	for (i = 0; i < len; i++)
		crc = crc_step(crc, data[i]);
	return crc;
}

void tbp_parser_init(tbp_parser_t *p)
{
	memset(p, 0, sizeof(*p));
	p->state = ST_HUNT;
}

void tbp_parser_reset(tbp_parser_t *p)
{
	p->state = ST_HUNT;
	p->len = 0;
	p->index = 0;
}

uint8_t tbp_parser_busy(const tbp_parser_t *p)
{
	return p->state >= ST_SIZE ? 1u : 0u;
}

tbp_event_t tbp_parser_feed(tbp_parser_t *p, uint8_t byte)
{
	uint8_t state = p->state;
	if (state == ST_PAYLOAD) { /* the common case first */
		/* len <= TBP_MAX_PAYLOAD (checked at ST_SIZE); the index test keeps the write
		 * in bounds even if the struct was tampered with between feeds. */
		uint8_t i = p->index;
		if (i < TBP_MAX_PAYLOAD)
			p->frame.payload[i] = byte;
		p->index = ++i;
		if (i >= p->len)
			p->state = ST_CRC_LO;
		p->crc = crc_step(p->crc, byte);
		return TBP_EV_NONE;
	}
	if (state == ST_HUNT || state > ST_CRC_HI) { /* (or a corrupted state value) */
		p->state = byte == TBP_PREAMBLE0 ? ST_PRE1 : ST_HUNT;
		return TBP_EV_NONE;
	}
	if (state == ST_PRE1) {
		if (byte == TBP_PREAMBLE1)
			p->state = ST_SIZE;
		else if (byte != TBP_PREAMBLE0) /* A5 A5 5A: stay in "seen A5" */
			p->state = ST_HUNT;
		return TBP_EV_NONE;
	}
	if (state == ST_CRC_LO) {
		p->crc_lo = byte;
		p->state = ST_CRC_HI;
		return TBP_EV_NONE;
	}
	if (state == ST_CRC_HI) {
		p->state = ST_HUNT;
		if ((uint16_t)(p->crc_lo | ((uint16_t)byte << 8)) != p->crc)
			return TBP_EV_BAD_CRC;
		p->frame.size = p->len;
		return TBP_EV_FRAME;
	}
	/* the header after the preamble: covered by the CRC */
	if (state == ST_SIZE) {
		if (byte > TBP_MAX_PAYLOAD) {
			p->state = ST_HUNT;
			return TBP_EV_BAD_LENGTH;
		}
		p->len = byte;
		p->index = 0;
		p->frame.size = byte;
		p->crc = TBP_CRC_INIT;
		state = ST_TYPE;
	} else if (state == ST_TYPE) {
		p->frame.type = byte;
		state = ST_SEQ;
	} else if (state == ST_SEQ) {
		p->frame.seq = byte;
		state = ST_ERROR;
	} else { /* ST_ERROR */
		p->frame.error = byte;
		state = p->len ? ST_PAYLOAD : ST_CRC_LO;
	}
	p->crc = crc_step(p->crc, byte);
	p->state = state;
	return TBP_EV_NONE;
}

size_t tbp_encode(uint8_t *out, size_t cap, uint8_t type, uint8_t seq, uint8_t error,
                  const uint8_t *payload, uint8_t size)
{
	size_t total = (size_t)TBP_HEADER_SIZE + size + TBP_CRC_SIZE;
	uint16_t crc;
	if (size > TBP_MAX_PAYLOAD || out == NULL || cap < total || (size && payload == NULL))
		return 0;
	/* Payload first (memmove: it may already sit at out + TBP_HEADER_SIZE or overlap). */
	if (size && payload != out + TBP_HEADER_SIZE)
		memmove(out + TBP_HEADER_SIZE, payload, size);
	out[0] = TBP_PREAMBLE0;
	out[1] = TBP_PREAMBLE1;
	out[2] = size;
	out[3] = type;
	out[4] = seq;
	out[5] = error;
	crc = tbp_crc16(out + 2, (size_t)4 + size);
	out[TBP_HEADER_SIZE + size] = (uint8_t)(crc & 0xFFu);
	out[TBP_HEADER_SIZE + size + 1] = (uint8_t)(crc >> 8);
	return total;
}

uint8_t tbp_check_sequence(uint8_t *expected_next, uint8_t seq)
{
	uint8_t ok = (seq == 0 || seq == *expected_next) ? 1u : 0u;
	*expected_next = (uint8_t)(seq + 1u);
	return ok;
}

uint8_t tbp_check_request(const tbp_frame_t *f, uint8_t *expected_next, uint8_t (*is_owned)(uint8_t type),
                          uint8_t *size_rule)
{
	switch (f->type) {
	case TBP_INFO:
	case TBP_STATS:
	case TBP_RESET_STATS:
		*size_rule = 0;
		break;
	case TBP_INFER:
		*size_rule = TBP_SIZE_ANY;
		break;
	default:
		if (is_owned == 0 || !is_owned(f->type))
			return TBP_E_TYPE;
		*size_rule = TBP_SIZE_OWNER;
		break;
	}
	if (!tbp_check_sequence(expected_next, f->seq))
		return TBP_E_SEQUENCE;
	if (*size_rule == 0 && f->size != 0)
		return TBP_E_PAYLOAD;
	return TBP_OK;
}

void tbp_stats_reset(tbp_stats_t *s)
{
	s->count = s->min = s->max = 0;
	s->sum = 0;
}

void tbp_stats_add(tbp_stats_t *s, uint32_t cycles)
{
	s->count++;
	s->sum += cycles;
	if (s->count == 1 || cycles < s->min)
		s->min = cycles;
	if (cycles > s->max)
		s->max = cycles;
}

void tbp_stats_encode(const tbp_stats_t *s, uint16_t stack_max, uint16_t free_ram_min,
                      uint8_t out[TBP_STATS_REPLY_SIZE])
{
	tbp_put_u32(out + 0, s->count);
	tbp_put_u32(out + 4, s->min);
	tbp_put_u32(out + 8, s->count ? (uint32_t)(s->sum / s->count) : 0);
	tbp_put_u32(out + 12, s->max);
	tbp_put_u16(out + 16, stack_max);
	tbp_put_u16(out + 18, free_ram_min);
}

void tbp_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v & 0xFFu);
	p[1] = (uint8_t)(v >> 8);
}

void tbp_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v & 0xFFu);
	p[1] = (uint8_t)((v >> 8) & 0xFFu);
	p[2] = (uint8_t)((v >> 16) & 0xFFu);
	p[3] = (uint8_t)(v >> 24);
}

uint16_t tbp_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | ((uint16_t)p[1] << 8));
}

uint32_t tbp_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

void tbp_write_frame(void (*put)(uint8_t byte, void *ctx), void *ctx, uint8_t type, uint8_t seq, uint8_t error,
                     const uint8_t *payload, uint8_t size)
{
	const uint8_t head[4] = { size, type, seq, error };
	uint16_t crc = TBP_CRC_INIT;
	uint8_t i;
	put(TBP_PREAMBLE0, ctx);
	put(TBP_PREAMBLE1, ctx);
	for (i = 0; i < 4; i++) {
		crc = crc_step(crc, head[i]);
		put(head[i], ctx);
	}
	for (i = 0; i < size; i++) {
		crc = crc_step(crc, payload[i]);
		put(payload[i], ctx);
	}
	put((uint8_t)crc, ctx);
	put((uint8_t)(crc >> 8), ctx);
}

void tbp_write_error(void (*put)(uint8_t byte, void *ctx), void *ctx, uint8_t seq, uint8_t error,
                     uint8_t request_type)
{
	tbp_write_frame(put, ctx, TBP_ERROR, seq, error, &request_type, 1);
}

uint8_t tbp_receive(tbp_parser_t *p, uint8_t byte, void (*put)(uint8_t byte, void *ctx), void *ctx)
{
	switch (tbp_parser_feed(p, byte)) {
	case TBP_EV_FRAME:
		return 1;
	case TBP_EV_BAD_CRC:
		tbp_write_error(put, ctx, p->frame.seq, TBP_E_CRC, p->frame.type);
		return 0;
	case TBP_EV_BAD_LENGTH:
		tbp_write_error(put, ctx, 0, TBP_E_LENGTH, 0);
		return 0;
	default:
		return 0;
	}
}

#ifdef __AVR__
uint8_t tbp_flash_byte(const char *p) { return pgm_read_byte(p); }
#endif

/* A length byte and at most TBP_INFO_STRING_MAX bytes of s; returns the bytes written. */
static uint8_t put_string(uint8_t *out, const char *s, uint8_t (*read_byte)(const char *p))
{
	uint8_t n = 0;
	uint8_t c;
	while (n < TBP_INFO_STRING_MAX && (c = read_byte ? read_byte(s + n) : (uint8_t)s[n]) != 0)
		out[1 + n++] = c;
	out[0] = n;
	return (uint8_t)(1u + n);
}

uint8_t tbp_info_encode(const tbp_info_t *info, const char *name, const char *version,
                        uint8_t (*read_byte)(const char *p), uint8_t out[TBP_INFO_REPLY_MAX])
{
	uint8_t n = (uint8_t)(16u + TBP_FINGERPRINT_SIZE); /* the strings' length bytes complete the fixed size */
	out[0] = TBP_PROTO_VERSION;
	out[1] = info->family;
	tbp_put_u16(out + 2, info->n_inputs);
	tbp_put_u32(out + 4, info->model_flash_bytes);
	tbp_put_u16(out + 8, info->model_ram_bytes);
	tbp_put_u16(out + 10, info->static_ram_bytes);
	tbp_put_u32(out + 12, info->f_cpu);
	memcpy(out + 16, info->fingerprint, TBP_FINGERPRINT_SIZE);
	n = (uint8_t)(n + put_string(out + n, name, read_byte));
	n = (uint8_t)(n + put_string(out + n, version, read_byte));
	return n;
}
