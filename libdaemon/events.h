/*
 * Operator-facing events (events.c): one line each on stderr, where
 * journald keeps them, in one format for every daemon; the refusals of
 * agents counted and said as a summary, each in full in the audit log.
 * The lines are for people: the audit log is the record.
 */
#ifndef NUCLEUS_EVENTS_H
#define NUCLEUS_EVENTS_H

#include <stdint.h>

#include <jansson.h>

#define EVENTS_LINE_MAX	1024	/* bytes of one line, cut past it */
#define EVENTS_VALUE_MAX 160	/* bytes of one member's value, cut */
#define EVENTS_SUMMARY_S 60	/* seconds between summaries of refusals */
#define EVENTS_SUMMARY_N 1000	/* refusals that make a summary at once */
#define EVENTS_KINDS_MAX 8	/* kinds a summary names; the rest: other */

struct events {
	const char *prog;		/* "nucleus-node" */
	const char *const *said;	/* records said, one line each */
	const char *const *counted;	/* records counted (refusals) */
	uint64_t n;			/* counted since the last summary */
	uint64_t total;			/* counted since the start */
	int64_t	 last_s;		/* the last summary, monotonic */
	struct {
		char	 kind[32];
		uint64_t n;
	}	 kinds[EVENTS_KINDS_MAX + 1];	/* the last: other */
};

void	 events_init(struct events *, const char *, const char *const *,
	    const char *const *);
void	 events_record(struct events *, const json_t *);
void	 events_say(const struct events *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 events_tick(struct events *);
void	 events_flush(struct events *);

#endif /* NUCLEUS_EVENTS_H */
