/*
 * The test helpers' numbers: a whole number from lo to hi, through
 * libaudit's num_parse, or exit 2 naming it (as a usage error would).
 */
#ifndef NUCLEUS_T_XNUM_H
#define NUCLEUS_T_XNUM_H

#include <err.h>

#include "num.h"

static inline long long
xnum(const char *s, long long lo, long long hi)
{
	long long v;
	int rc;

	if ((rc = num_parse(s, lo, hi, &v)) != NUM_OK)
		errx(2, "%s: %s: expected %lld to %lld", s, num_strerror(rc),
		    lo, hi);
	return v;
}

#endif /* NUCLEUS_T_XNUM_H */
