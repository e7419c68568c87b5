/*
 * An agent's side of nucleus-authority (ask.c): the approval request of
 * nucleus-protocol(7), signed with the agent's key, and the wait for its
 * decision.  nucleus-authority ask and nucleus-node approve are both
 * this, with their own options around it.
 */
#ifndef NUCLEUS_ASK_H
#define NUCLEUS_ASK_H

#include <stddef.h>

#include <jansson.h>

#include "audit.h"
#include "wire.h"

#define AUTHORITY_DIR_DEFAULT	"/var/lib/nucleus-authority"

/* The agent's approval request, and the wait for its decision. */
#define APPROVAL_GRANTED	0
#define APPROVAL_REFUSED	1	/* denied, expired, or not accepted */
#define APPROVAL_ERROR		2
#define APPROVAL_PENDING	3

typedef void (*approval_line_fn)(void *, const struct wire_reader *,
    const json_t *);

struct approval_ask {
	const char *prog;	/* who says what happens, on stderr */
	const char *sock;	/* the authority's request socket */
	const char *node;	/* or, when set, the node's socket: the
				   request goes through the node */
	const struct audit_seckey *key;	/* the agent's */
	const char *pod, *op, *reason;
	json_t	*args;		/* taken over */
	int	 raw;		/* print each answer line as it came */
	int	 timeout;	/* seconds for the decision; 0: no limit */
	size_t	 line_max;	/* bytes in one answer line */
};

const char *authority_dir_default(void);
int	 authority_refused(const char *);
json_t	*approval_request(const struct audit_seckey *, const char *,
	    const char *, json_t *, const char *, struct audit_err *);
json_t	*approval_via_node(json_t *, const char *,
	    const struct audit_seckey *, struct audit_err *);
int	 approval_wait(struct wire_reader *, int64_t, approval_line_fn, void *,
	    json_t **, struct audit_err *);
int	 approval_report(const char *, const json_t *, int);
int	 approval_ask(struct approval_ask *);

#endif /* NUCLEUS_ASK_H */
