/*
 * Refusals recorded per peer and window, the rest counted (rwin.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "rwin.h"

void
rwin_init_keyed(struct rwin *w, int max, int window_s,
    void (*summary)(void *, const char *, json_t *), void *arg)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
	w->window_s = window_s;
	w->summary = summary;
	w->arg = arg;
}

/* The summary of entry i's window, when some were only counted. */
static void
summarize(struct rwin *w, int i)
{
	json_t *s;

	if (w->e[i].counted == 0)
		return;
	s = json_pack("{s:I, s:i, s:i, s:I, s:O}", "window_start",
	    (json_int_t)w->e[i].start, "window_s", w->window_s, "recorded",
	    w->e[i].recorded, "counted", (json_int_t)w->e[i].counted, "kinds",
	    w->e[i].kinds);
	if (s != NULL)
		w->summary(w->arg, w->e[i].key, s);
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

/* key's entry: its own, a free one, or the one begun first. */
static int
entry_of(struct rwin *w, const char *key, int64_t now)
{
	int oldest = 0;

	for (int i = 0; i < RWIN_KEYS; i++) {
		if (w->e[i].used && strcmp(w->e[i].key, key) == 0)
			return i;
		if (!w->e[oldest].used)
			continue;
		if (!w->e[i].used || w->e[i].start < w->e[oldest].start)
			oldest = i;
	}
	window_reset(w, oldest, now);
	w->e[oldest].used = 1;
	memcpy(w->e[oldest].key, key, strlen(key) + 1);
	return oldest;
}

int
rwin_admit_key(struct rwin *w, const char *key, const char *kind,
    int64_t now, int64_t *left)
{
	json_t *n;
	int i;

	if (strlen(key) > RWIN_KEY_MAX)
		return 0;
	i = entry_of(w, key, now);
	if (now - w->e[i].start >= w->window_s)
		window_reset(w, i, now);
	if (w->e[i].recorded < w->max) {
		w->e[i].recorded++;
		return 0;
	}
	if (w->e[i].kinds == NULL && (w->e[i].kinds = json_object()) == NULL)
		return 0;	/* out of memory: recorded, as before */
	w->e[i].counted++;
	n = json_object_get(w->e[i].kinds, kind);
	json_object_set_new(w->e[i].kinds, kind, json_integer(n != NULL ?
	    json_integer_value(n) + 1 : 1));
	if (left != NULL)
		*left = w->e[i].start + w->window_s - now;
	return -1;
}

void
rwin_tick(struct rwin *w, int64_t now, int all)
{
	for (int i = 0; i < RWIN_KEYS; i++)
		if (w->e[i].used && w->e[i].counted > 0 && (all ||
		    now - w->e[i].start >= w->window_s))
			summarize(w, i);
}

/* By uid: the summary named as request.refusals, with the uid. */
static void
uid_summary(void *arg, const char *key, json_t *s)
{
	struct rwin *w = arg;

	if (json_object_set_new(s, "event", json_string("request.refusals"))
	    != 0 || json_object_set_new(s, "uid", json_integer((json_int_t)
	    strtoull(key, NULL, 10))) != 0) {
		json_decref(s);
		return;
	}
	w->record(w->record_arg, s);
}

void
rwin_init(struct rwin *w, void (*record)(void *, json_t *), void *arg)
{
	rwin_init_keyed(w, RWIN_MAX, RWIN_S, uid_summary, w);
	w->record = record;
	w->record_arg = arg;
}

int
rwin_admit(struct rwin *w, uid_t uid, const char *kind, int64_t now)
{
	char key[24];

	(void)snprintf(key, sizeof(key), "%u", (unsigned)uid);
	return rwin_admit_key(w, key, kind, now, NULL);
}

int
rwin_refusal(struct rwin *w, uid_t uid, int privileged, const char *kind,
    const char *why, int64_t now, char *msg)
{
	if (privileged || rwin_admit(w, uid, kind, now) == 0)
		return 0;
	audit_fmt(msg, RWIN_MSG_MAX, "%s (not recorded: more than %d "
	    "refusals of this uid in %d s are counted, not recorded)", why,
	    w->max, w->window_s);
	return 1;
}
