/*
 * What one agent's refusals may cost the log.  A refused request costs
 * no budget, so without a bound an agent could fill the log with them
 * (and a log that cannot be written stops the pod for everyone).  Each
 * agent has limits.refusals refusals recorded in full per window of
 * limits.refusal_seconds; past them, until its window ends, a request of
 * its that is refused is answered unavailable and counted: its record is
 * a short one (what the node needs to tie the answer to it: id, op, args
 * digest, decision, kind), and one refusals record per window says how
 * many, of which kinds.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proxy.h"

struct agent_refusals {
	char	 kid[AUDIT_KID_MAX + 1];
	int64_t	 start;		/* its window's start, s */
	int	 recorded;	/* refusals recorded in it */
	int64_t	 counted;	/* past the limit: counted only */
	json_t	*kinds;		/* of those: kind -> how many */
};

static struct agent_refusals agents[REFUSAL_AGENTS];

/* The log could not take a summary: it has stopped. */
static void
summary_done(void *arg, int error, uint64_t seq, const char *hash)
{
	(void)arg;
	(void)seq;
	(void)hash;
	if (error != 0)
		P->stopped = 1;
	doneq_wake(&P->done);
}

/* The refusals record of a's window, when some were only counted. */
static void
summarize(struct agent_refusals *a)
{
	struct audit_err e;
	json_t *ev;

	if (a->counted == 0)
		return;
	/* A copy: the log keeps the event as it is until it is signed. */
	ev = json_pack("{s:s, s:s, s:I, s:i, s:i, s:I, s:o}", "event",
	    "refusals", "actor", a->kid, "window_start", (json_int_t)a->start,
	    "window_s", P->cfg.lim.refusal_seconds, "recorded", a->recorded,
	    "counted", (json_int_t)a->counted, "kinds",
	    json_deep_copy(a->kinds));
	if (ev == NULL || audit_log_submit(P->log, ev, summary_done, NULL,
	    &e) != 0)
		P->stopped = 1;
	json_decref(ev);
	a->counted = 0;
	json_object_clear(a->kinds);
}

static void
window_reset(struct agent_refusals *a, int64_t now)
{
	summarize(a);
	a->start = now;
	a->recorded = 0;
}

/*
 * The entry of kid: its own, a free one, or the one whose window began
 * first (summarized, then taken over).
 */
static struct agent_refusals *
agent_of(const char *kid, int64_t now)
{
	struct agent_refusals *a, *oldest = &agents[0];

	for (size_t i = 0; i < REFUSAL_AGENTS; i++) {
		a = &agents[i];
		if (a->kid[0] != '\0' && strcmp(a->kid, kid) == 0)
			return a;
		if (a->kid[0] == '\0' || (oldest->kid[0] != '\0' &&
		    a->start < oldest->start))
			oldest = a;
	}
	a = oldest;
	window_reset(a, now);
	if (a->kinds == NULL && (a->kinds = json_object()) == NULL)
		return NULL;
	if (audit_fit(a->kid, sizeof(a->kid), NULL, "%s", kid) != 0) {
		a->kid[0] = '\0';
		return NULL;
	}
	return a;
}

/*
 * A request of kid's is refused with kind: 0 when its refusal is to be
 * recorded, -1 when kid is past its limit (the refusal is counted, and
 * why says so, for the answer).
 */
int
refusals_admit(const char *kid, const char *kind, char *why, size_t whylen)
{
	int64_t now = (int64_t)time(NULL);
	struct agent_refusals *a = agent_of(kid, now);
	json_t *n;

	if (a == NULL)
		return 0;	/* out of memory: recorded, as before */
	if (now - a->start >= P->cfg.lim.refusal_seconds)
		window_reset(a, now);
	if (a->recorded < P->cfg.lim.refusals) {
		a->recorded++;
		return 0;
	}
	a->counted++;
	n = json_object_get(a->kinds, kind);
	json_object_set_new(a->kinds, kind, json_integer(n != NULL ?
	    json_integer_value(n) + 1 : 1));
	audit_fmt(why, whylen, "more than %d requests of %s refused in %d s: "
	    "until %lld s from now its refusals are counted, not recorded",
	    P->cfg.lim.refusals, kid, P->cfg.lim.refusal_seconds,
	    (long long)(a->start + P->cfg.lim.refusal_seconds - now));
	return -1;
}

/* Each second, and at the end: the windows that ended are summarized. */
void
refusals_tick(int all)
{
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; i < REFUSAL_AGENTS; i++) {
		struct agent_refusals *a = &agents[i];

		if (a->kid[0] != '\0' && a->counted > 0 && (all ||
		    now - a->start >= P->cfg.lim.refusal_seconds))
			summarize(a);
	}
}

/*
 * The short record of a refusal counted past the limit: no subject, a
 * fixed reason, and the kind it would have had in counted.
 */
json_t *
refusals_record(const struct req *r, const char *kind)
{
	return json_pack("{s:s, s:O, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "event", "decision", "id", r->id, "actor", r->kid, "op", r->op,
	    "args_digest", r->args_digest, "decision", "deny", "kind",
	    "unavailable", "reason", "past limits.refusals", "counted", kind);
}
