/*
 * TAP output for the C unit tests; see tap.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"

static int ntests, nfailed;

static int __attribute__((format(printf, 2, 0)))
vreport(int pass, const char *fmt, va_list ap)
{
	printf("%sok %d - ", pass ? "" : "not ", ++ntests);
	vprintf(fmt, ap);
	printf("\n");
	if (!pass)
		nfailed++;
	fflush(stdout);
	return pass;
}

int
ok(int pass, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vreport(pass, fmt, ap);
	va_end(ap);
	return r;
}

int
is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vreport(got == want, fmt, ap);
	va_end(ap);
	if (!r)
		diag("got %lld, want %lld", got, want);
	return r;
}

int
is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	int r, pass;

	pass = got != NULL && want != NULL ? strcmp(got, want) == 0 :
	    got == want;
	va_start(ap, fmt);
	r = vreport(pass, fmt, ap);
	va_end(ap);
	if (!r)
		diag("got \"%s\", want \"%s\"", got ? got : "(null)",
		    want ? want : "(null)");
	return r;
}

void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

void
skip(const char *fmt, ...)
{
	va_list ap;

	printf("ok %d # skip ", ++ntests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

int
done_testing(void)
{
	printf("1..%d\n", ntests);
	if (nfailed > 0)
		diag("%d of %d tests failed", nfailed, ntests);
	return nfailed > 0 ? 1 : 0;
}

/*
 * The seed comes from NUCLEUS_SEED when set (to replay a failure), else
 * from the clock; it is always printed.
 */
uint64_t
tap_seed(void)
{
	const char *s = getenv("NUCLEUS_SEED");
	uint64_t seed;

	if (s != NULL && *s != '\0')
		seed = strtoull(s, NULL, 0);
	else
		seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
	diag("seed %llu (replay with NUCLEUS_SEED=%llu)",
	    (unsigned long long)seed, (unsigned long long)seed);
	return seed;
}

/* splitmix64: small, fast, and good enough to pick test cases. */
uint64_t
rnd(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t
rnd_below(uint64_t *state, uint64_t n)
{
	return n == 0 ? 0 : rnd(state) % n;
}
