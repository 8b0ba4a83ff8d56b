/*
 * Host build of the classifier (`pio run -e native` -> .pio/build/native/program).
 * Same engine, same model header as the firmware: the exact device math on a PC.
 *
 *   program          one beat per line on stdin: TB_MODEL_N_INPUTS comma-separated
 *                    bytes 0..255 (the quantized samples)
 *   program --csv    one beat per line in the training CSV format: TB_MODEL_N_INPUTS
 *                    numbers in the declared input range, optionally followed by
 *                    one more column (the label, ignored); a first line that is not
 *                    numeric is taken as a header and skipped. Each value v becomes
 *                    the byte round(255 * (v - LOW) / (HIGH - LOW)) as in training.
 *
 * Prints "<class> <score>" per beat (class 1 = abnormal). A malformed line is
 * reported on stderr with its line number and the program exits 2; an engine
 * error (tb_status_t) likewise, with the status, and exit code 3.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinybeat.h"
#include "tinybeat_model.h"

#define LINE_MAX_CHARS (TB_MODEL_N_INPUTS * 32 + 64)

/* tinybeat.core.quantize.quantize_inputs for one value: floor((v - lo) * (255 / (hi - lo)) + 0.5), clipped.
 * Only called with lo <= v <= hi, so the sum is >= 0.5 and truncation equals floor (no libm needed). */
static uint8_t quantize(double v)
{
	const double k = 255.0 / ((double)TB_MODEL_INPUT_HIGH - (double)TB_MODEL_INPUT_LOW);
	const double q = (v - (double)TB_MODEL_INPUT_LOW) * k + 0.5;
	const long b = (long)q;
	return (uint8_t)(b < 0 ? 0 : (b > 255 ? 255 : b));
}

static int parse_value(const char **pp, int csv, unsigned col, uint8_t *out, char *why, size_t why_len)
{
	char *end;
	if (csv) {
		const double v = strtod(*pp, &end);
		if (end == *pp) {
			snprintf(why, why_len, "column %u: not a number", col);
			return 0;
		}
		if (!isfinite(v) || v < (double)TB_MODEL_INPUT_LOW || v > (double)TB_MODEL_INPUT_HIGH) {
			snprintf(why, why_len, "column %u: %g is outside the input range [%g, %g]", col, v,
				 (double)TB_MODEL_INPUT_LOW, (double)TB_MODEL_INPUT_HIGH);
			return 0;
		}
		*out = quantize(v);
	} else {
		const long v = strtol(*pp, &end, 10);
		if (end == *pp) {
			snprintf(why, why_len, "column %u: not a number", col);
			return 0;
		}
		if (v < 0 || v > 255) {
			snprintf(why, why_len, "column %u: %ld is outside 0..255", col, v);
			return 0;
		}
		*out = (uint8_t)v;
	}
	*pp = end;
	return 1;
}

static int parse_line(const char *line, int csv, uint8_t *x, char *why, size_t why_len)
{
	const char *p = line;
	for (unsigned i = 0; i < TB_MODEL_N_INPUTS; i++) {
		if (!parse_value(&p, csv, i + 1, &x[i], why, why_len))
			return 0;
		if (i + 1 < TB_MODEL_N_INPUTS) {
			if (*p != ',') {
				snprintf(why, why_len, "expected %u values, found %u", (unsigned)TB_MODEL_N_INPUTS, i + 1);
				return 0;
			}
			p++;
		}
	}
	if (csv && *p == ',') { /* the label column: a number, ignored */
		char *end;
		p++;
		(void)strtod(p, &end);
		if (end == p) {
			snprintf(why, why_len, "column %u: the label is not a number", (unsigned)TB_MODEL_N_INPUTS + 1);
			return 0;
		}
		p = end;
	}
	while (*p == ' ' || *p == '\r' || *p == '\n')
		p++;
	if (*p) {
		snprintf(why, why_len, "more than %u values%s", (unsigned)TB_MODEL_N_INPUTS, csv ? " and a label" : "");
		return 0;
	}
	return 1;
}

static int is_header(const char *line)
{
	char *end;
	(void)strtod(line, &end);
	return end == line;
}

int main(int argc, char **argv)
{
	static char line[LINE_MAX_CHARS];
	uint8_t x[TB_MODEL_N_INPUTS];
	unsigned long n = 0;
	int csv = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--csv") == 0) {
			csv = 1;
		} else {
			fprintf(stderr, "usage: %s [--csv] < beats\n", argv[0]);
			return 2;
		}
	}
	while (fgets(line, sizeof(line), stdin)) {
		char why[128];
		n++;
		if (!strchr(line, '\n') && !feof(stdin)) {
			fprintf(stderr, "stdin: line %lu: line too long\n", n);
			return 2;
		}
		if (csv && n == 1 && is_header(line))
			continue;
		if (!parse_line(line, csv, x, why, sizeof(why))) {
			fprintf(stderr, "stdin: line %lu: %s\n", n, why);
			return 2;
		}
		int32_t score;
		uint8_t klass;
		const tb_status_t status = tb_model_predict(&tb_model, x, TB_MODEL_N_INPUTS, &score, &klass);
		if (status != TB_OK) {
			fprintf(stderr, "stdin: line %lu: the engine refused the beat (tb_status_t %d)\n", n, (int)status);
			return 3;
		}
		printf("%u %ld\n", klass, (long)score);
	}
	return 0;
}
