/*
 * Formatting into fixed buffers, two ways with two contracts:
 *
 *	audit_fit()	for paths, socket names and any value that is used
 *			as it stands: the whole of it fits, or the buffer is
 *			left empty and the caller gets an error naming what
 *			did not fit.  Never a shorter path.
 *	audit_fmt()	for messages only (a reason, a diagnostic, a line on
 *			a terminal), where a cut is harmless: it cuts at the
 *			buffer's size and returns nothing to check.
 *
 * A site that needs its text whole uses audit_fit(); GCC's
 * -Wformat-truncation does not see through either, so the choice is the
 * only guard: audit_fit() warns when its result is ignored, and
 * audit_fmt() has no result to ignore.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"

int
audit_fit(char *buf, size_t size, struct audit_err *err, const char *fmt,
    ...)
{
	va_list ap;
	int n;

	if (size == 0)
		return audit_errf(err, "no room for %s", fmt);
	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < size)
		return 0;
	if (n < 0)
		audit_errf(err, "cannot format %s: %s", fmt, strerror(errno));
	else
		audit_errf(err, "%.160s...: %d bytes, longer than the %zu "
		    "allowed", buf, n, size - 1);
	buf[0] = '\0';
	errno = ENAMETOOLONG;
	return -1;
}

void
audit_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}
