/*
 * What one peer's refusals may cost a daemon's log (rwin.c).  A refused
 * line costs its peer two bytes and the log a signed record of some 500:
 * without a bound, any peer that may connect fills the disk (some 15 MB
 * a second).  Each peer uid has RWIN_MAX refusals recorded in full per
 * window of RWIN_S seconds; past them, until its window ends, a refusal
 * of its is answered as ever but counted, not recorded, and one record
 * per window (event "request.refusals") says how many, of which kinds.
 * RWIN_UIDS uids are counted at once; a new one takes the place of the
 * one whose window began first (its count recorded first).
 */
#ifndef NUCLEUS_RWIN_H
#define NUCLEUS_RWIN_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define RWIN_MAX	600	/* refusals of one uid recorded per window */
#define RWIN_S		60	/* that window, seconds */
#define RWIN_UIDS	64	/* uids counted at once */

struct rwin {
	struct {
		uid_t	 uid;
		int	 used;
		int64_t	 start;		/* its window's, s */
		int	 recorded;	/* in it */
		uint64_t counted;	/* past RWIN_MAX: counted only */
		json_t	*kinds;		/* of those: kind -> how many */
	}	 e[RWIN_UIDS];
	/* the summary record (taken over) */
	void	(*record)(void *, json_t *);
	void	*arg;
};

void	 rwin_init(struct rwin *, void (*)(void *, json_t *), void *);
/* A refusal of uid's, of kind, at now (s): 0 to record it, -1 counted. */
int	 rwin_admit(struct rwin *, uid_t, const char *, int64_t);
/*
 * The same for a peer's refusal for why, never counted when the peer
 * is privileged: 0 to record it as ever; 1 counted, with msg (of
 * RWIN_MSG_MAX) the answer's message: why, and that it was not recorded.
 */
#define RWIN_MSG_MAX	512
int	 rwin_refusal(struct rwin *, uid_t, int, const char *, const char *,
	    int64_t, char *);
/* Each second (all: at the end): the windows ended are summarized. */
void	 rwin_tick(struct rwin *, int64_t, int);

#endif /* NUCLEUS_RWIN_H */
