/*
 * What one peer's refusals may cost a daemon's log (rwin.c).  A refused
 * request costs its peer a few bytes and the log a signed record of some
 * 500: without a bound, any peer that may ask fills the disk.  Each peer
 * (a key: a uid, an agent's key id) has max refusals recorded in full per
 * window of window_s seconds; past them, until its window ends, a
 * refusal of its is answered as ever but counted, not recorded, and one
 * record per window says how many, of which kinds.  RWIN_KEYS peers are
 * counted at once; a new one takes the place of the one whose window
 * began first (its count recorded first).
 *
 * The node and the authority count by uid (rwin_init: RWIN_MAX per
 * RWIN_S, event "request.refusals"); the proxy by agent, with its pod's
 * limits.refusals and limits.refusal_seconds (rwin_init_keyed, event
 * "refusals").
 */
#ifndef NUCLEUS_RWIN_H
#define NUCLEUS_RWIN_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define RWIN_MAX	600	/* refusals of one uid recorded per window */
#define RWIN_S		60	/* that window, seconds */
#define RWIN_KEYS	64	/* peers counted at once */
#define RWIN_KEY_MAX	64	/* a key's characters (AUDIT_KID_MAX); a
				   longer one is never counted */

struct rwin {
	int	 max, window_s;
	struct {
		char	 key[RWIN_KEY_MAX + 1];
		int	 used;
		int64_t	 start;		/* its window's, s */
		int	 recorded;	/* in it */
		uint64_t counted;	/* past max: counted only */
		json_t	*kinds;		/* of those: kind -> how many */
	}	 e[RWIN_KEYS];
	/* a window's summary, for key: {"window_start", "window_s",
	 * "recorded", "counted", "kinds"} (taken over) */
	void	(*summary)(void *, const char *, json_t *);
	void	*arg;
	/* rwin_init's: the finished request.refusals event (taken over) */
	void	(*record)(void *, json_t *);
	void	*record_arg;
};

void	 rwin_init_keyed(struct rwin *, int, int,
	    void (*)(void *, const char *, json_t *), void *);
/* A refusal of key's, of kind, at now (s): 0 to record it; -1 counted,
 * and *left (when not NULL) the seconds until its window ends. */
int	 rwin_admit_key(struct rwin *, const char *, const char *, int64_t,
	    int64_t *);

/* By uid: RWIN_MAX per RWIN_S, each summary a request.refusals event
 * ({"event", "uid", and the summary's members}) given to record. */
void	 rwin_init(struct rwin *, void (*)(void *, json_t *), void *);
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
