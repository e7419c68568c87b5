/*
 * The refusal window (rwin.c), its three bounds crossed with a clock of
 * the test's own: RWIN_MAX refusals of one uid recorded per window, the
 * rest counted and summed up in one request.refusals record once the
 * window of RWIN_S seconds ends (or at the end, or when the uid's place
 * is taken), and RWIN_KEYS uids counted at once; and the same window
 * keyed by a string with limits of its own (the proxy's, by agent).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "rwin.h"
#include "tap.h"

static json_t *said[8];
static int nsaid;

static void
record(void *arg, json_t *ev)
{
	(void)arg;
	if (nsaid < 8)
		said[nsaid++] = ev;
	else
		json_decref(ev);
}

static void
forget(void)
{
	for (int i = 0; i < nsaid; i++)
		json_decref(said[i]);
	nsaid = 0;
}

static long long
member(const json_t *ev, const char *name)
{
	return json_integer_value(json_object_get(ev, name));
}

/* n refusals of uid, of kind, at now: how many were to be recorded */
static int
refuse(struct rwin *w, uid_t uid, const char *kind, int64_t now, int n)
{
	int recorded = 0;

	for (int i = 0; i < n; i++)
		recorded += rwin_admit(w, uid, kind, now) == 0;
	return recorded;
}

static void
window(void)
{
	struct rwin w;
	const json_t *kinds;

	rwin_init(&w, record, NULL);
	is_int(refuse(&w, 1000, "bad_request", 100, RWIN_MAX), RWIN_MAX,
	    "RWIN_MAX refusals of one uid are recorded");
	is_int(refuse(&w, 1000, "bad_request", 100, 3) +
	    refuse(&w, 1000, "auth_failed", 100, 2), 0,
	    "the next ones are counted, not recorded");
	is_int(refuse(&w, 1001, "bad_request", 100, 1), 1,
	    "another uid has its own window");
	rwin_tick(&w, 100 + RWIN_S - 1, 0);
	is_int(nsaid, 0, "nothing is summed up before the window ends");
	rwin_tick(&w, 100 + RWIN_S, 0);
	kinds = nsaid == 1 ? json_object_get(said[0], "kinds") : NULL;
	ok(nsaid == 1 && strcmp(json_string_value(json_object_get(said[0],
	    "event")), "request.refusals") == 0 && member(said[0], "uid") ==
	    1000 && member(said[0], "counted") == 5 && member(said[0],
	    "recorded") == RWIN_MAX && member(said[0], "window_s") == RWIN_S &&
	    member(kinds, "bad_request") == 3 && member(kinds, "auth_failed") ==
	    2, "once RWIN_S has passed, one record sums up what was counted");
	forget();
	is_int(refuse(&w, 1000, "bad_request", 100 + RWIN_S, 1), 1,
	    "and the uid's next refusal, in a new window, is recorded");
	rwin_tick(&w, 100 + 2 * RWIN_S, 1);
	is_int(nsaid, 0, "a window with nothing counted is not summed up");
}

static void
uids(void)
{
	struct rwin w;

	rwin_init(&w, record, NULL);
	refuse(&w, 2000, "bad_request", 10, RWIN_MAX + 7);
	for (int i = 1; i < RWIN_KEYS; i++)
		refuse(&w, (uid_t)(2000 + i), "bad_request", 11, 1);
	is_int(nsaid, 0, "RWIN_KEYS uids are counted at once");
	refuse(&w, 3000, "bad_request", 12, 1);
	ok(nsaid == 1 && member(said[0], "uid") == 2000 &&
	    member(said[0], "counted") == 7,
	    "one more takes the place of the uid whose window began first, "
	    "its count recorded first");
	forget();
	is_int(refuse(&w, 2001, "bad_request", 13, 1), 1,
	    "the others keep theirs");
	refuse(&w, 3000, "bad_request", 13, RWIN_MAX + 1);
	rwin_tick(&w, 13, 1);
	ok(nsaid == 1 && member(said[0], "uid") == 3000 &&
	    member(said[0], "counted") == 2,
	    "at the end, every count left is recorded");
	forget();
}

static char summary_key[RWIN_KEY_MAX + 1];

static void
summary(void *arg, const char *key, json_t *s)
{
	(void)arg;
	snprintf(summary_key, sizeof(summary_key), "%s", key);
	record(NULL, s);
}

static void
keyed(void)
{
	struct rwin w;
	char longkey[RWIN_KEY_MAX + 2];
	int64_t left = -1;

	rwin_init_keyed(&w, 3, 10, summary, NULL);
	is_int(rwin_admit_key(&w, "agent-1", "denied", 50, NULL) +
	    rwin_admit_key(&w, "agent-1", "denied", 51, NULL) +
	    rwin_admit_key(&w, "agent-1", "denied", 52, NULL), 0,
	    "a keyed window records its own max (3)");
	is_int(rwin_admit_key(&w, "agent-1", "approval_required", 53, &left),
	    -1, "the next is counted");
	is_int((int)left, 7, "and the caller told when the window ends");
	is_int(rwin_admit_key(&w, "agent-2", "denied", 53, NULL), 0,
	    "another key has its own window");
	rwin_tick(&w, 59, 0);
	is_int(nsaid, 0, "nothing is summed up before its window_s (10)");
	rwin_tick(&w, 60, 0);
	ok(nsaid == 1 && strcmp(summary_key, "agent-1") == 0 &&
	    json_object_get(said[0], "event") == NULL &&
	    member(said[0], "counted") == 1 && member(said[0], "recorded") ==
	    3 && member(said[0], "window_s") == 10 && member(said[0],
	    "window_start") == 50 && member(json_object_get(said[0], "kinds"),
	    "approval_required") == 1,
	    "then its summary goes to its owner, for its key, unnamed");
	forget();
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	for (int i = 0; i < 5; i++)
		if (rwin_admit_key(&w, longkey, "denied", 61, NULL) != 0)
			break;
	is_int(rwin_admit_key(&w, longkey, "denied", 61, NULL), 0,
	    "a key longer than RWIN_KEY_MAX is never counted: recorded");
	rwin_tick(&w, 100, 1);
	forget();
}

int
main(void)
{
	window();
	uids();
	keyed();
	return done_testing();
}
