/*
 * What an operator wants to see as it happens (a start, a stop, a pod
 * made or ended, a log that failed), one line each on stderr, so that
 * journald (or a terminal) has it:
 *
 *	nucleus-node: pod.create pod=p-0001 driver=local
 *
 * the program, the record's event, and its members of one value
 * (strings and numbers; objects and arrays left to the audit log),
 * printable, each cut at EVENTS_VALUE_MAX bytes and the line at
 * EVENTS_LINE_MAX.  Refusals of agents would flood it: they are counted
 * by kind (a record without one by its event), and said every
 * EVENTS_SUMMARY_S seconds when there were any, at once when
 * EVENTS_SUMMARY_N have come, and when the daemon stops:
 *
 *	nucleus-node: refused 12 in 60 s (auth_failed 9, forbidden 3), 12 since the start, each in the audit log
 *
 * The daemon hands every record it makes to events_record(), calls
 * events_tick() from its loop's timer and events_flush() as it stops.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "events.h"

void
events_init(struct events *ev, const char *prog, const char *const *said,
    const char *const *counted)
{
	memset(ev, 0, sizeof(*ev));
	ev->prog = prog;
	ev->said = said;
	ev->counted = counted;
	ev->last_s = audit_now_ms(CLOCK_MONOTONIC) / 1000;
}

static int
listed(const char *const *list, const char *name)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], name) == 0)
			return 1;
	return 0;
}

/* " key=value" onto line (of len bytes so far); the new length. */
static size_t
put_member(char *line, size_t len, const char *key, const json_t *v)
{
	char val[EVENTS_VALUE_MAX], esc[EVENTS_VALUE_MAX];
	const char *s;

	if (json_is_string(v)) {
		s = json_string_value(v);
		audit_escape(esc, sizeof(esc), s, json_string_length(v));
		/* A value with a space is quoted, as the journal shows it. */
		audit_fmt(val, sizeof(val), strchr(esc, ' ') != NULL ?
		    "\"%s\"" : "%s", esc);
	} else if (json_is_integer(v))
		audit_fmt(val, sizeof(val), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else if (json_is_boolean(v))
		audit_fmt(val, sizeof(val), "%s", json_is_true(v) ? "true" :
		    "false");
	else
		return len;
	audit_fmt(line + len, EVENTS_LINE_MAX - len, " %s=%s", key, val);
	return strlen(line);
}

static void
count(struct events *ev, const json_t *rec)
{
	const char *kind = json_string_value(json_object_get(rec, "kind"));
	size_t i;

	ev->n++;
	ev->total++;
	if (kind == NULL)
		kind = json_string_value(json_object_get(rec, "event"));
	for (i = 0; i < EVENTS_KINDS_MAX; i++) {
		if (ev->kinds[i].kind[0] == '\0')
			audit_fmt(ev->kinds[i].kind, sizeof(ev->kinds[i].kind),
			    "%s", kind);
		if (strcmp(ev->kinds[i].kind, kind) == 0)
			break;
	}
	if (i == EVENTS_KINDS_MAX)
		audit_fmt(ev->kinds[i].kind, sizeof(ev->kinds[i].kind),
		    "other");
	ev->kinds[i].n++;
}

/* A record made: said, counted, or neither. */
void
events_record(struct events *ev, const json_t *rec)
{
	const char *name = json_string_value(json_object_get(rec, "event"));
	char line[EVENTS_LINE_MAX];
	const char *key;
	json_t *v;
	size_t len;

	if (name == NULL)
		return;
	if (listed(ev->counted, name)) {
		count(ev, rec);
		if (ev->n >= EVENTS_SUMMARY_N)
			events_flush(ev);
		return;
	}
	if (!listed(ev->said, name))
		return;
	audit_fmt(line, sizeof(line), "%s: %s", ev->prog, name);
	len = strlen(line);
	json_object_foreach((json_t *)rec, key, v)
		if (strcmp(key, "event") != 0)
			len = put_member(line, len, key, v);
	fprintf(stderr, "%s\n", line);
}

/* A line of the daemon's own: "prog: event text". */
void
events_say(const struct events *ev, const char *name, const char *fmt, ...)
{
	char text[EVENTS_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s %s\n", ev->prog, name, text);
}

/* The refusals counted since the last summary, if any, said now. */
void
events_flush(struct events *ev)
{
	int64_t now = audit_now_ms(CLOCK_MONOTONIC) / 1000;
	char kinds[EVENTS_LINE_MAX / 2] = "";
	size_t len = 0;

	if (ev->n != 0) {
		for (size_t i = 0; i <= EVENTS_KINDS_MAX &&
		    ev->kinds[i].kind[0] != '\0'; i++) {
			audit_fmt(kinds + len, sizeof(kinds) - len,
			    "%s%s %" PRIu64, len != 0 ? ", " : "",
			    ev->kinds[i].kind, ev->kinds[i].n);
			len = strlen(kinds);
		}
		fprintf(stderr, "%s: refused %" PRIu64 " in %" PRId64 " s (%s), "
		    "%" PRIu64 " since the start, each in the audit log\n",
		    ev->prog, ev->n, now - ev->last_s, kinds, ev->total);
	}
	ev->n = 0;
	memset(ev->kinds, 0, sizeof(ev->kinds));
	ev->last_s = now;
}

/* From the loop's timer: a summary every EVENTS_SUMMARY_S seconds. */
void
events_tick(struct events *ev)
{
	if (audit_now_ms(CLOCK_MONOTONIC) / 1000 - ev->last_s >=
	    EVENTS_SUMMARY_S)
		events_flush(ev);
}
