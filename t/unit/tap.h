/*
 * A small TAP producer for the C unit tests: each test program prints
 * "ok N - what" or "not ok N - what", diagnostics as "# ...", and the
 * plan at the end.  Exit status: 0 when every test passed, 1 otherwise.
 */
#ifndef NUCLEUS_TAP_H
#define NUCLEUS_TAP_H

#include <stdint.h>

int	 ok(int, const char *, ...) __attribute__((format(printf, 2, 3)));
int	 is_int(long long, long long, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 is_str(const char *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 diag(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 skip(const char *, ...) __attribute__((format(printf, 1, 2)));
int	 done_testing(void);

/* A seeded generator, so that a failing random case can be replayed. */
uint64_t tap_seed(void);
uint64_t rnd(uint64_t *);
uint64_t rnd_below(uint64_t *, uint64_t);

#endif
