/*
 * What a pod may make the node hold (nucleus-pod(5) audit, nucleus-node(8)).
 *
 * Its host copy: each line the pod sends for the copy is counted before
 * it goes to the copier.  One record is at most audit.record_kib, the
 * copy at most audit.copy_mib in all (serve -C by default), and the pod
 * sends at most audit.rate_kib a second, counted as a bucket that holds
 * POD_RATE_WINDOW_S seconds' worth: a burst passes, a flood does not.
 * Past any of them the pod is stopped and pod.audit_fault says which
 * (relay_fault).  The copier keeps NODE_DISK_RESERVE_MIB free on the
 * copies' filesystem besides (copy.c).
 *
 * Its unfinished lines: what a pod has begun to send and not ended is
 * held in its line buffer (channel.c), at most POD_LINE_MAX; all pods
 * together hold at most N->in_total (serve -M).  A buffer that would
 * grow past that total stops the pod holding the most, the one growing
 * counted with what it asks for, and frees its buffer, until the rest
 * fits: a pod that floods the node's memory is the one stopped, not the
 * pods beside it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#define MIB	(1024ULL * 1024)

static void
quota_set(struct pod *p)
{
	struct quota *q = &p->quota;
	const struct pod_audit *a = &p->spec.audit;

	q->set = 1;
	q->max = (a->copy_mib > 0 ? a->copy_mib : N->copy_mib) * MIB;
	q->record_max = (size_t)(a->record_kib > 0 ? a->record_kib :
	    POD_RECORD_KIB_DEFAULT) * 1024;
	q->rate = (a->rate_kib > 0 ? a->rate_kib : POD_RATE_KIB_DEFAULT) *
	    1024.0;
	q->tokens = q->rate * POD_RATE_WINDOW_S;
	q->at = ev_now(N->loop);
}

/*
 * A line of len bytes (its newline besides) for p's copy: 0 when it is
 * within the pod's quota, and counted; -1 when it is not, and the pod
 * stopped.
 */
int
quota_line(struct pod *p, size_t len)
{
	struct quota *q = &p->quota;
	ev_tstamp now = ev_now(N->loop);
	double full;
	char why[256];

	if (!q->set)
		quota_set(p);
	full = q->rate * POD_RATE_WINDOW_S;
	if (now > q->at)
		q->tokens += (now - q->at) * q->rate;
	if (q->tokens > full)
		q->tokens = full;
	q->at = now;
	if (len > q->record_max)
		audit_fmt(why, sizeof(why), "the pod sent a record of %zu "
		    "bytes, past its audit.record_kib quota of %zu bytes",
		    len, q->record_max);
	else if (q->bytes + len + 1 > q->max)
		audit_fmt(why, sizeof(why), "the pod's host copy would pass "
		    "its audit.copy_mib quota of %llu bytes",
		    (unsigned long long)q->max);
	else if ((double)(len + 1) > q->tokens)
		audit_fmt(why, sizeof(why), "the pod sent records faster than "
		    "its audit.rate_kib quota of %.0f bytes a second",
		    q->rate);
	else {
		q->bytes += len + 1;
		q->tokens -= (double)(len + 1);
		return 0;
	}
	relay_fault(p, why);
	return -1;
}

/* p's line buffer is now cap bytes: the node's count follows. */
void
quota_in_held(struct pod *p, size_t cap)
{
	N->in_held = N->in_held - p->incap + cap;
	p->incap = cap;
}

/* The pod holding most stopped, its unfinished line dropped. */
static void
shed(struct pod *p, size_t held)
{
	char why[256];

	audit_fmt(why, sizeof(why), "the pod's unfinished line took %zu "
	    "bytes, the most of any pod's, when all pods' together passed the "
	    "node's %zu (serve -M)", held, N->in_total);
	relay_fault(p, why);
	free(p->in);
	p->in = NULL;
	p->inlen = 0;
	quota_in_held(p, 0);
}

/*
 * p's line buffer would grow to cap bytes: 0 when all pods' buffers fit
 * N->in_total with it (others stopped for it if they hold more); -1 when
 * p holds the most and is stopped.
 */
int
quota_in_grow(struct pod *p, size_t cap)
{
	while (N->in_held - p->incap + cap > N->in_total) {
		struct pod *most = p;
		size_t held = cap;

		for (struct pod *q = N->pods; q != NULL; q = q->next)
			if (q != p && q->incap > held) {
				most = q;
				held = q->incap;
			}
		shed(most, held);
		if (most == p)
			return -1;
	}
	return 0;
}
