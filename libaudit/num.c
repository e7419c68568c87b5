/*
 * Numbers from text: options, protocol values and the kernel's files.
 * One strict reading for all of them: the whole string is the number,
 * decimal digits only, no leading space, no '+', a '-' only where the
 * range allows negative values, no leading zero (so that a number has
 * one written form, and "010" is not taken for ten or for eight), and
 * the value within the caller's range.  Each refusal has its name.
 */
#include <string.h>

#include "num.h"

/* The magnitude of the n digits at s, at most lim, else NUM_RANGE. */
static int
digits(const char *s, size_t n, unsigned long long lim,
    unsigned long long *out)
{
	unsigned long long v = 0;

	if (n == 0)
		return NUM_EMPTY;
	if (s[0] == '+' || s[0] == '-')
		return NUM_SIGN;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return NUM_SYNTAX;
		if (i == 0 && d == 0 && n > 1)
			return NUM_SYNTAX;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > lim || v > (lim - d) / 10)
			return NUM_RANGE;
		v = v * 10 + d;
	}
	*out = v;
	return NUM_OK;
}

/* The n bytes at s as an unsigned number from min to max. */
int
num_parse_un(const char *s, size_t n, unsigned long long min,
    unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	int rc;

	if ((rc = digits(s, n, max, &v)) != NUM_OK)
		return rc;
	if (v < min)
		return NUM_RANGE;
	*out = v;
	return NUM_OK;
}

/* The string s as an unsigned number from min to max. */
int
num_parse_u(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	return num_parse_un(s, strlen(s), min, max, out);
}

/* The string s as a number from min to max; min may be negative. */
int
num_parse(const char *s, long long min, long long max, long long *out)
{
	unsigned long long v, lim;
	size_t n = strlen(s);
	int neg = 0, rc;

	if (min > max)
		return NUM_RANGE;
	if (n > 0 && s[0] == '-') {
		if (min >= 0)
			return NUM_SIGN;
		neg = 1;
		s++;
		n--;
	}
	/* The largest magnitude the range allows on this side of zero. */
	lim = neg ? (unsigned long long)-(min + 1) + 1 :
	    max < 0 ? 0 : (unsigned long long)max;
	if ((rc = digits(s, n, lim, &v)) != NUM_OK)
		return rc;
	if (neg && v == 0)
		return NUM_SYNTAX;	/* "-0" */
	if (neg) {
		*out = v == (unsigned long long)-(min + 1) + 1 ? min :
		    -(long long)v;
		if (*out > max)
			return NUM_RANGE;
		return NUM_OK;
	}
	if ((long long)v < min)
		return NUM_RANGE;
	*out = (long long)v;
	return NUM_OK;
}

/* What a refusal of num_parse() means, for a message. */
const char *
num_strerror(int rc)
{
	switch (rc) {
	case NUM_OK:
		return "a number";
	case NUM_EMPTY:
		return "empty";
	case NUM_SIGN:
		return "a sign where none is allowed";
	case NUM_SYNTAX:
		return "not a decimal number";
	case NUM_RANGE:
		return "out of range";
	}
	return "not a number";
}
