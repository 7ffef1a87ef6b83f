/* driver.c: runs a libFuzzer target without libFuzzer: replays files, then random inputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int main(int argc, char **argv);

/* xorshift: reproducible inputs for a given seed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return -1;
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 0;
}

/* Usage: fuzz_x [-n ITER] [FILE...]. Files are replayed, then ITER random/mutated inputs
 * derived from them are run. Prints TAP so make check counts it. */
int main(int argc, char **argv)
{
	long iters = 20000;
	int first = 1;
	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		iters = strtol(argv[2], NULL, 10);
		first = 3;
	}
	int failed = 0;
	for (int i = first; i < argc; i++)
		if (replay(argv[i]) < 0)
			failed = 1;
	static uint8_t seedbuf[4096];
	size_t seedlen = 0;
	if (argc > first) {
		FILE *f = fopen(argv[first], "rb");
		if (f) {
			seedlen = fread(seedbuf, 1, sizeof seedbuf, f);
			fclose(f);
		}
	}
	for (long i = 0; i < iters; i++) {
		size_t n = (size_t)(rng() % 2048);
		if (seedlen && (i & 1))
			n = seedlen;
		uint8_t *in = malloc(n ? n : 1);
		if (!in)
			return 1;
		for (size_t k = 0; k < n; k++) {
			if (seedlen && (i & 1) && (rng() % 16) != 0)
				in[k] = seedbuf[k];
			else
				in[k] = (uint8_t)rng();
		}
		LLVMFuzzerTestOneInput(in, n);
		free(in);
	}
	printf("%sok 1 - %s: %d files replayed, %ld generated inputs without a crash\n1..1\n",
	       failed ? "not " : "", argv[0], argc - first, iters);
	return failed;
}
