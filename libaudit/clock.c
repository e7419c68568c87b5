/*
 * The clocks, read one way: milliseconds of a given clock (monotonic for
 * deadlines and waits, real time for what is written down), and the
 * real time in seconds, as the protocol's "ts" members count it.
 */
#include <time.h>

#include "audit.h"

int64_t
audit_now_ms(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
audit_now_s(void)
{
	return (int64_t)time(NULL);
}
