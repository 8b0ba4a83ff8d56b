/*
 * tbf_driver: push a file of samples through tbfront on the host and print every event.
 *
 * usage: tbf_driver FS SAMPLES [LEAD_OFF]
 *   SAMPLES   raw little-endian uint16 ADC codes (any value: the front end clamps)
 *   LEAD_OFF  optional raw bytes, one per sample (non-zero: lead-off)
 * output, one line per event:
 *   S <input index> <state>
 *   B <input index> <r_sample> <rr_pre> <rr_post> <rr_avg> <hr_x10> <flags> <x0> ... <x192>
 * and finally "D <dropped>" and "N <samples>". Exit 2 on a usage or file error.
 * Used by tests/test_frontend_exact.py and python -m tinybeat.device.frontend_exact.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tbfront.h"

static tbf_state_t g_state;

int main(int argc, char **argv)
{
	FILE *fa, *fl = NULL;
	tbf_beat_t beat;
	unsigned char buf[2];
	unsigned long n = 0;
	int fs;
	if (argc < 3) {
		fprintf(stderr, "usage: %s FS SAMPLES [LEAD_OFF]\n", argv[0]);
		return 2;
	}
	fs = atoi(argv[1]);
	if (tbf_init(&g_state, (uint16_t)fs) != TBF_OK) {
		fprintf(stderr, "tbf_init rejected %d Hz\n", fs);
		return 2;
	}
	fa = fopen(argv[2], "rb");
	if (!fa) {
		fprintf(stderr, "%s: cannot open\n", argv[2]);
		return 2;
	}
	if (argc > 3) {
		fl = fopen(argv[3], "rb");
		if (!fl) {
			fprintf(stderr, "%s: cannot open\n", argv[3]);
			fclose(fa);
			return 2;
		}
	}
	while (fread(buf, 1, 2, fa) == 2) {
		uint16_t v = (uint16_t)(buf[0] | (buf[1] << 8));
		uint8_t lo = 0;
		tbf_event_t ev;
		if (fl) {
			int c = fgetc(fl);
			lo = (uint8_t)((c != EOF && c != 0) ? 1 : 0);
		}
		ev = tbf_push(&g_state, v, lo, &beat);
		if (ev == TBF_EV_SIGNAL) {
			printf("S %lu %d\n", n, (int)tbf_signal(&g_state));
		} else if (ev == TBF_EV_BEAT) {
			unsigned i;
			printf("B %lu %lu %u %u %u %u %u", n, (unsigned long)beat.r_sample, beat.rr_pre, beat.rr_post,
			       beat.rr_avg, beat.hr_x10, beat.flags);
			for (i = 0; i < TBF_N_INPUTS; i++)
				printf(" %u", beat.x[i]);
			printf("\n");
		}
		n++;
	}
	printf("D %u\nN %lu\n", tbf_dropped(&g_state), n);
	fclose(fa);
	if (fl)
		fclose(fl);
	return 0;
}
