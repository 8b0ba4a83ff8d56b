/*
 * tb_flash.h: the one platform shim of the inference engine.
 *
 * Model data lives in flash on AVR and in ordinary const memory elsewhere; the
 * engine reads it only through these macros.
 *
 * On AVR, TB_FLASH arrays are read with 16-bit pointers (lpm), so they must lie
 * in the first 64 KB of flash. They go to ".progmem.gcc_tb.<n>" sections, which
 * the avr-libc linker scripts place first, right after the interrupt vectors
 * (before any other PROGMEM data), and one section per array so --gc-sections
 * still drops unused ones. tb_flash_near_ok() tells, from the link itself,
 * whether that block ends within 64 KB (kernels refuse to read it otherwise).
 * Data that may lie anywhere (tb_etree) uses 24-bit __memx pointers instead.
 */
#ifndef TB_FLASH_H
#define TB_FLASH_H

#include <stdint.h>

#ifdef __AVR__
#include <avr/pgmspace.h>
#define TB_FLASH_STR2(x) #x
#define TB_FLASH_STR(x) TB_FLASH_STR2(x)
#define TB_FLASH __attribute__((section(".progmem.gcc_tb." TB_FLASH_STR(__COUNTER__))))
/* 1 when every TB_FLASH array ends below 64 KB (the linker's __trampolines_start follows them). */
static inline uint8_t tb_flash_near_ok(void)
{
	uint8_t page;
	__asm__("ldi %0, hh8(__trampolines_start - 1)" : "=d"(page));
	return page == 0u;
}
#define tb_flash_u8(p) pgm_read_byte(p)
#define tb_flash_u16(p) pgm_read_word(p)
#define tb_flash_u32(p) pgm_read_dword(p)
#else
#define TB_FLASH
#define tb_flash_near_ok() 1u
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
