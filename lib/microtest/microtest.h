/*
 * microtest: a small unit-test harness that runs on the host and on AVR.
 *
 * Output, one line per test, parsed by test/test_custom_runner.py:
 *   FILE:LINE:NAME:PASS
 *   FILE:LINE:NAME:FAIL: message
 * and a closing summary:
 *   N Tests F Failures 0 Ignored
 *   OK | FAIL
 *
 * An assertion that fails records file, line and message and returns from the
 * test function, so later assertions of that test do not run.  No heap.
 */
#ifndef MICROTEST_H
#define MICROTEST_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*mt_test_fn)(void);

/* Platform port (microtest_port.c): character output, start and stop. */
void mt_port_begin(void);
void mt_port_putc(char c);
void mt_port_end(void);

void mt_begin(void);
void mt_run(const char *file, int line, const char *name, mt_test_fn fn);
/* Prints the summary and returns the number of failed tests. */
int mt_end(void);

/* Checks: return 1 when the check holds, else record the failure and return 0. */
int mt_check_true(const char *file, int line, int cond, const char *expr);
int mt_check_int(const char *file, int line, int32_t expected, int32_t actual, const char *expr);
int mt_check_uint(const char *file, int line, uint32_t expected, uint32_t actual, const char *expr);
int mt_check_range(const char *file, int line, int32_t lo, int32_t hi, int32_t actual, const char *expr);
int mt_check_le(const char *file, int line, int32_t limit, int32_t actual, const char *expr);
int mt_check_mem(const char *file, int line, const void *expected, const void *actual, size_t n,
                 const char *expr);
int mt_check_i32_array(const char *file, int line, const int32_t *expected, const int32_t *actual,
                       size_t n, const char *expr);

/* Output helpers, usable by tests to print measurements. */
void mt_print(const char *s);
void mt_print_int(int32_t v);
void mt_print_uint(uint32_t v);

#define MT_RUN(fn) mt_run(__FILE__, __LINE__, #fn, fn)

#define MT_ASSERT_TRUE(cond) \
	do { if (!mt_check_true(__FILE__, __LINE__, (cond) ? 1 : 0, #cond)) return; } while (0)
#define MT_ASSERT_EQ_INT(expected, actual) \
	do { if (!mt_check_int(__FILE__, __LINE__, (int32_t)(expected), (int32_t)(actual), #actual)) return; } while (0)
#define MT_ASSERT_EQ_UINT(expected, actual) \
	do { if (!mt_check_uint(__FILE__, __LINE__, (uint32_t)(expected), (uint32_t)(actual), #actual)) return; } while (0)
#define MT_ASSERT_IN_RANGE(lo, hi, actual) \
	do { if (!mt_check_range(__FILE__, __LINE__, (int32_t)(lo), (int32_t)(hi), (int32_t)(actual), #actual)) return; } while (0)
#define MT_ASSERT_LE_INT(limit, actual) \
	do { if (!mt_check_le(__FILE__, __LINE__, (int32_t)(limit), (int32_t)(actual), #actual)) return; } while (0)
#define MT_ASSERT_EQ_MEM(expected, actual, n) \
	do { if (!mt_check_mem(__FILE__, __LINE__, (expected), (actual), (n), #actual)) return; } while (0)
#define MT_ASSERT_EQ_I32_ARRAY(expected, actual, n) \
	do { if (!mt_check_i32_array(__FILE__, __LINE__, (expected), (actual), (n), #actual)) return; } while (0)

#ifdef __cplusplus
}
#endif

#endif /* MICROTEST_H */
