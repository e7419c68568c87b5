/*
 * Numbers from text (num.c): options, protocol values, the kernel's
 * files.  The whole string, decimal, range-checked; each refusal named.
 * Stands alone, so that a program outside libaudit (nucleus-policy) can
 * take it.
 */
#ifndef NUCLEUS_NUM_H
#define NUCLEUS_NUM_H

#include <stddef.h>

enum num_err {
	NUM_OK = 0,
	NUM_EMPTY,	/* "" */
	NUM_SIGN,	/* a '+', or a '-' where the range has none */
	NUM_SYNTAX,	/* anything but digits, a leading zero, "-0" */
	NUM_RANGE	/* outside min..max */
};
int	 num_parse(const char *, long long, long long, long long *)
	    __attribute__((warn_unused_result));
int	 num_parse_u(const char *, unsigned long long, unsigned long long,
	    unsigned long long *) __attribute__((warn_unused_result));
int	 num_parse_un(const char *, size_t, unsigned long long,
	    unsigned long long, unsigned long long *)
	    __attribute__((warn_unused_result));
const char *num_strerror(int);

#endif /* NUCLEUS_NUM_H */
