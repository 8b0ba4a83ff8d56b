/* microtest: test registration, checks and the summary line (see microtest.h). */
#include "microtest.h"

static uint16_t g_tests;
static uint16_t g_failures;
static uint8_t g_current_failed;
static const char *g_fail_file;
static int g_fail_line;

void mt_print(const char *s)
{
	while (*s)
		mt_port_putc(*s++);
}

void mt_print_uint(uint32_t v)
{
	char buf[11];
	uint8_t i = 0;
	do {
		buf[i++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v);
	while (i)
		mt_port_putc(buf[--i]);
}

void mt_print_int(int32_t v)
{
	if (v < 0) {
		mt_port_putc('-');
		mt_print_uint((uint32_t)(-(v + 1)) + 1u);
	} else {
		mt_print_uint((uint32_t)v);
	}
}

void mt_begin(void)
{
	mt_port_begin();
	g_tests = 0;
	g_failures = 0;
	mt_print("\n");
}

/* Starts a failure line; the caller prints the message and the newline. */
static void fail_begin(const char *file, int line)
{
	if (!g_current_failed) {
		g_current_failed = 1;
		g_fail_file = file;
		g_fail_line = line;
	}
	mt_print(file);
	mt_port_putc(':');
	mt_print_int(line);
	mt_print(":");
}

static const char *g_test_name;

void mt_run(const char *file, int line, const char *name, mt_test_fn fn)
{
	(void)file;
	(void)line;
	g_current_failed = 0;
	g_test_name = name;
	g_tests++;
	fn();
	if (g_current_failed) {
		g_failures++;
		return; /* the FAIL line was printed by the failing check */
	}
	mt_print(file);
	mt_port_putc(':');
	mt_print_int(line);
	mt_port_putc(':');
	mt_print(name);
	mt_print(":PASS\n");
}

static void fail_head(const char *file, int line, const char *expr)
{
	fail_begin(file, line);
	mt_print(g_test_name);
	mt_print(":FAIL: ");
	mt_print(expr);
}

int mt_check_true(const char *file, int line, int cond, const char *expr)
{
	if (cond)
		return 1;
	fail_head(file, line, expr);
	mt_print(" is false\n");
	return 0;
}

int mt_check_int(const char *file, int line, int32_t expected, int32_t actual, const char *expr)
{
	if (expected == actual)
		return 1;
	fail_head(file, line, expr);
	mt_print(": expected ");
	mt_print_int(expected);
	mt_print(" was ");
	mt_print_int(actual);
	mt_print("\n");
	return 0;
}

int mt_check_uint(const char *file, int line, uint32_t expected, uint32_t actual, const char *expr)
{
	if (expected == actual)
		return 1;
	fail_head(file, line, expr);
	mt_print(": expected ");
	mt_print_uint(expected);
	mt_print(" was ");
	mt_print_uint(actual);
	mt_print("\n");
	return 0;
}

int mt_check_range(const char *file, int line, int32_t lo, int32_t hi, int32_t actual, const char *expr)
{
	if (actual >= lo && actual <= hi)
		return 1;
	fail_head(file, line, expr);
	mt_print(": expected within [");
	mt_print_int(lo);
	mt_print(", ");
	mt_print_int(hi);
	mt_print("] was ");
	mt_print_int(actual);
	mt_print("\n");
	return 0;
}

int mt_check_le(const char *file, int line, int32_t limit, int32_t actual, const char *expr)
{
	if (actual <= limit)
		return 1;
	fail_head(file, line, expr);
	mt_print(": expected at most ");
	mt_print_int(limit);
	mt_print(" was ");
	mt_print_int(actual);
	mt_print("\n");
	return 0;
}

int mt_check_mem(const char *file, int line, const void *expected, const void *actual, size_t n,
                 const char *expr)
{
	const uint8_t *e = (const uint8_t *)expected;
	const uint8_t *a = (const uint8_t *)actual;
	for (size_t i = 0; i < n; i++) {
		if (e[i] != a[i]) {
			fail_head(file, line, expr);
			mt_print(": byte ");
			mt_print_uint((uint32_t)i);
			mt_print(" expected ");
			mt_print_uint(e[i]);
			mt_print(" was ");
			mt_print_uint(a[i]);
			mt_print("\n");
			return 0;
		}
	}
	return 1;
}

int mt_check_i32_array(const char *file, int line, const int32_t *expected, const int32_t *actual,
                       size_t n, const char *expr)
{
	for (size_t i = 0; i < n; i++) {
		if (expected[i] != actual[i]) {
			fail_head(file, line, expr);
			mt_print(": element ");
			mt_print_uint((uint32_t)i);
			mt_print(" expected ");
			mt_print_int(expected[i]);
			mt_print(" was ");
			mt_print_int(actual[i]);
			mt_print("\n");
			return 0;
		}
	}
	return 1;
}

int mt_end(void)
{
	mt_print("-----------------------\n");
	mt_print_uint(g_tests);
	mt_print(" Tests ");
	mt_print_uint(g_failures);
	mt_print(" Failures 0 Ignored\n");
	mt_print(g_failures ? "FAIL\n" : "OK\n");
	mt_port_end();
	return g_failures;
}
