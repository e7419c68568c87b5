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
#include "rwin.h"

static struct rwin R;
static int started;

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

/* The refusals record of kid's window, when some were only counted. */
static void
summarize(void *arg, const char *kid, json_t *s)
{
	struct audit_err e;

	(void)arg;
	if (json_object_set_new(s, "event", json_string("refusals")) != 0 ||
	    json_object_set_new(s, "actor", json_string(kid)) != 0 ||
	    audit_log_submit(P->log, s, summary_done, NULL, &e) != 0)
		P->stopped = 1;
	json_decref(s);
}

static struct rwin *
windows(void)
{
	if (!started) {
		rwin_init_keyed(&R, P->cfg.lim.refusals,
		    P->cfg.lim.refusal_seconds, summarize, NULL);
		started = 1;
	}
	return &R;
}

/*
 * A request of kid's is refused with kind: 0 when its refusal is to be
 * recorded, -1 when kid is past its limit (the refusal is counted, and
 * why says so, for the answer).
 */
int
refusals_admit(const char *kid, const char *kind, char *why, size_t whylen)
{
	int64_t left;

	if (rwin_admit_key(windows(), kid, kind, (int64_t)time(NULL),
	    &left) == 0)
		return 0;
	audit_fmt(why, whylen, "more than %d requests of %s refused in %d s: "
	    "until %lld s from now its refusals are counted, not recorded",
	    P->cfg.lim.refusals, kid, P->cfg.lim.refusal_seconds,
	    (long long)left);
	return -1;
}

/* Each second, and at the end: the windows that ended are summarized. */
void
refusals_tick(int all)
{
	rwin_tick(windows(), (int64_t)time(NULL), all);
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
