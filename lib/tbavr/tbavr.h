/*
 * tbavr: AVR board support for measurements: a Timer1 cycle counter and a
 * painted-stack high-water mark. AVR only (the engine itself is portable).
 */
#ifndef TBAVR_H
#define TBAVR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Timer1 runs at F_CPU (no prescaler); its overflow interrupt extends it to 32 bits. */
void tbavr_cycles_init(void);
/* Stop Timer1 and its interrupt (no wake-ups while idle). */
void tbavr_cycles_off(void);
/* Cycles since the counter started (interrupts are briefly disabled to read it). */
uint32_t tbavr_cycles_now(void);
/* Cycles spent by a back-to-back now()/now() pair: subtract it from a measured span. */
uint32_t tbavr_cycles_overhead(void);

/* Deepest stack use in bytes since reset, from the paint left at boot (.init1). */
uint16_t tbavr_stack_max_used(void);
/* Bytes between the end of static data (.data + .bss) and the current stack pointer. */
uint16_t tbavr_free_ram_now(void);
/* Bytes of static RAM (.data + .bss + .noinit). */
uint16_t tbavr_static_ram(void);

#ifdef __cplusplus
}
#endif

#endif /* TBAVR_H */
