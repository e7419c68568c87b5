/*
 * The time window: half-open, [not_before, not_after), in Unix seconds.
 * An empty window (not_before >= not_after), as a meet of disjoint windows
 * gives, contains no instant at all.
 */
#include "policy.h"

int
policy_window_contains(const struct policy_window *w, int64_t now)
{
	return w->not_before <= now && now < w->not_after;
}
