/*
 * The proxy's state that survives a restart (pstate.c): consumed token
 * nonces and the budget spent, in LMDB in the state directory.
 */
#ifndef NUCLEUS_PSTATE_H
#define NUCLEUS_PSTATE_H

#include <stdint.h>

#include "audit.h"

struct pstate;

/* Why a token whose exp is below the floor is refused. */
#define PSTATE_FLOOR_WHY "the token expired before the oldest nonce this " \
	"pod still remembers (the skew was wider, or the clock later, when " \
	"it was forgotten)"

int	 pstate_open(struct pstate **, const char *, int64_t, int64_t,
	    struct audit_err *);
void	 pstate_close(struct pstate *);
void	 pstate_budget(struct pstate *, int64_t *, int64_t *);
int	 pstate_reserve(struct pstate *, int64_t);
void	 pstate_settle(struct pstate *, int64_t, int64_t);
void	 pstate_floor(struct pstate *, int64_t);
int	 pstate_nonce_seen(struct pstate *, const uint8_t[AUDIT_NONCE_LEN]);
int	 pstate_nonce_consume(struct pstate *, const uint8_t[AUDIT_NONCE_LEN],
	    int64_t, struct audit_err *);
int	 pstate_sync(struct pstate *);
int	 pstate_prune(struct pstate *, int64_t);

#endif
