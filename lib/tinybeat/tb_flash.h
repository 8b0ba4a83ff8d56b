/*
 * tb_flash.h: the one platform shim of the inference engine.
 *
 * Model data lives in flash (PROGMEM) on AVR and in ordinary const memory
 * elsewhere; the engine reads it only through these macros.
 */
#ifndef TB_FLASH_H
#define TB_FLASH_H

#include <stdint.h>

#ifdef __AVR__
#include <avr/pgmspace.h>
#define TB_FLASH PROGMEM
#define tb_flash_u8(p) pgm_read_byte(p)
#define tb_flash_u16(p) pgm_read_word(p)
#define tb_flash_u32(p) pgm_read_dword(p)
#else
#define TB_FLASH
/* Little-endian byte reads: no alignment or host byte-order assumptions. */
#define tb_flash_u8(p) (*(const uint8_t *)(p))
#define tb_flash_u16(p) \
	((uint16_t)(((const uint8_t *)(p))[0] | ((uint16_t)((const uint8_t *)(p))[1] << 8)))
#define tb_flash_u32(p) \
	((uint32_t)tb_flash_u16(p) | ((uint32_t)tb_flash_u16((const uint8_t *)(p) + 2) << 16))
#endif

#define tb_flash_i8(p) ((int8_t)tb_flash_u8(p))
#define tb_flash_i16(p) ((int16_t)tb_flash_u16(p))
#define tb_flash_i32(p) ((int32_t)tb_flash_u32(p))

#endif /* TB_FLASH_H */
