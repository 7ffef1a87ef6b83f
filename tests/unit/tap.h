/* tap.h: a minimal TAP producer for canteen's C unit tests (header-only). */
#ifndef CANTEEN_TAP_H
#define CANTEEN_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

/* ok(cond, "name %d", ...) prints "ok N - name" or "not ok N - name". */
#define ok(cond, ...)                                                                   \
	do {                                                                                \
		int tap_c_ = (cond) ? 1 : 0;                                                    \
		tap_n++;                                                                        \
		if (!tap_c_) tap_failed++;                                                      \
		printf("%sok %d - ", tap_c_ ? "" : "not ", tap_n);                              \
		printf(__VA_ARGS__);                                                            \
		printf("\n");                                                                   \
		if (!tap_c_) printf("#   failed at %s:%d\n", __FILE__, __LINE__);               \
		fflush(stdout);                                                                 \
	} while (0)

#define is_int(a, b, ...)                                                               \
	do {                                                                                \
		long long tap_a_ = (long long)(a), tap_b_ = (long long)(b);                     \
		ok(tap_a_ == tap_b_, __VA_ARGS__);                                              \
		if (tap_a_ != tap_b_) printf("#   got %lld, expected %lld\n", tap_a_, tap_b_);  \
	} while (0)

#define is_str(a, b, ...)                                                               \
	do {                                                                                \
		const char *tap_a_ = (a), *tap_b_ = (b);                                        \
		int tap_eq_ = tap_a_ && tap_b_ && strcmp(tap_a_, tap_b_) == 0;                  \
		ok(tap_eq_, __VA_ARGS__);                                                       \
		if (!tap_eq_) printf("#   got '%s', expected '%s'\n", tap_a_ ? tap_a_ : "(null)", \
		                     tap_b_ ? tap_b_ : "(null)");                              \
	} while (0)

#define diag(...) do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)

/* Call at the end of main: prints the plan, returns the exit status. */
static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
