/*
 * Host build of the classifier (`pio run -e native`): reads one beat per line
 * from stdin, TB_MODEL_N_INPUTS comma-separated bytes 0..255 (the quantized
 * samples), and prints "<class> <score>" per beat. Same engine, same model
 * header as the firmware; handy for piping data through the exact device math.
 * A malformed line is reported with its line number and the program exits 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinybeat.h"
#include "tinybeat_model.h"

#define LINE_MAX_CHARS (TB_MODEL_N_INPUTS * 4 + 16)

static int parse_line(const char *line, uint8_t *x, char *why, size_t why_len)
{
	const char *p = line;
	for (unsigned i = 0; i < TB_MODEL_N_INPUTS; i++) {
		char *end;
		const long v = strtol(p, &end, 10);
		if (end == p) {
			snprintf(why, why_len, "column %u: not a number", i + 1);
			return 0;
		}
		if (v < 0 || v > 255) {
			snprintf(why, why_len, "column %u: %ld is outside 0..255", i + 1, v);
			return 0;
		}
		x[i] = (uint8_t)v;
		p = end;
		if (i + 1 < TB_MODEL_N_INPUTS) {
			if (*p != ',') {
				snprintf(why, why_len, "expected %u values, found %u", (unsigned)TB_MODEL_N_INPUTS, i + 1);
				return 0;
			}
			p++;
		}
	}
	while (*p == ' ' || *p == '\r' || *p == '\n')
		p++;
	if (*p) {
		snprintf(why, why_len, "more than %u values", (unsigned)TB_MODEL_N_INPUTS);
		return 0;
	}
	return 1;
}

int main(void)
{
	static char line[LINE_MAX_CHARS];
	uint8_t x[TB_MODEL_N_INPUTS];
	unsigned long n = 0;
	while (fgets(line, sizeof(line), stdin)) {
		char why[96];
		n++;
		if (!strchr(line, '\n') && !feof(stdin)) {
			fprintf(stderr, "stdin: line %lu: line too long\n", n);
			return 2;
		}
		if (!parse_line(line, x, why, sizeof(why))) {
			fprintf(stderr, "stdin: line %lu: %s\n", n, why);
			return 2;
		}
		int32_t score;
		const uint8_t klass = tb_model_predict(&tb_model, x, &score);
		printf("%u %ld\n", klass, (long)score);
	}
	return 0;
}
