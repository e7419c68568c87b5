/*
 * Refusals recorded per peer uid and window, the rest counted (rwin.h).
 */
#define _GNU_SOURCE
#include <string.h>

#include "audit.h"
#include "rwin.h"

void
rwin_init(struct rwin *w, void (*record)(void *, json_t *), void *arg)
{
	memset(w, 0, sizeof(*w));
	w->record = record;
	w->arg = arg;
}

/* The record of entry i's window, when some were only counted. */
static void
summarize(struct rwin *w, int i)
{
	json_t *ev;

	if (w->e[i].counted == 0)
		return;
	ev = json_pack("{s:s, s:I, s:I, s:i, s:i, s:I, s:O}", "event",
	    "request.refusals", "uid", (json_int_t)w->e[i].uid,
	    "window_start", (json_int_t)w->e[i].start, "window_s", RWIN_S,
	    "recorded", w->e[i].recorded, "counted",
	    (json_int_t)w->e[i].counted, "kinds", w->e[i].kinds);
	if (ev != NULL)
		w->record(w->arg, ev);
	w->e[i].counted = 0;
	json_decref(w->e[i].kinds);
	w->e[i].kinds = NULL;
}

static void
window_reset(struct rwin *w, int i, int64_t now)
{
	summarize(w, i);
	w->e[i].start = now;
	w->e[i].recorded = 0;
}

/* uid's entry: its own, a free one, or the one begun first. */
static int
entry_of(struct rwin *w, uid_t uid, int64_t now)
{
	int oldest = 0;

	for (int i = 0; i < RWIN_UIDS; i++) {
		if (w->e[i].used && w->e[i].uid == uid)
			return i;
		if (!w->e[oldest].used)
			continue;
		if (!w->e[i].used || w->e[i].start < w->e[oldest].start)
			oldest = i;
	}
	window_reset(w, oldest, now);
	w->e[oldest].used = 1;
	w->e[oldest].uid = uid;
	return oldest;
}

int
rwin_admit(struct rwin *w, uid_t uid, const char *kind, int64_t now)
{
	int i = entry_of(w, uid, now);
	json_t *n;

	if (now - w->e[i].start >= RWIN_S)
		window_reset(w, i, now);
	if (w->e[i].recorded < RWIN_MAX) {
		w->e[i].recorded++;
		return 0;
	}
	if (w->e[i].kinds == NULL && (w->e[i].kinds = json_object()) == NULL)
		return 0;	/* out of memory: recorded, as before */
	w->e[i].counted++;
	n = json_object_get(w->e[i].kinds, kind);
	json_object_set_new(w->e[i].kinds, kind, json_integer(n != NULL ?
	    json_integer_value(n) + 1 : 1));
	return -1;
}

int
rwin_refusal(struct rwin *w, uid_t uid, int privileged, const char *kind,
    const char *why, int64_t now, char *msg)
{
	if (privileged || rwin_admit(w, uid, kind, now) == 0)
		return 0;
	audit_fmt(msg, RWIN_MSG_MAX, "%s (not recorded: more than %d "
	    "refusals of this uid in %d s are counted, not recorded)", why,
	    RWIN_MAX, RWIN_S);
	return 1;
}

void
rwin_tick(struct rwin *w, int64_t now, int all)
{
	for (int i = 0; i < RWIN_UIDS; i++)
		if (w->e[i].used && w->e[i].counted > 0 && (all ||
		    now - w->e[i].start >= RWIN_S))
			summarize(w, i);
}
