/*
 * The client's side of the wire (wire.c): a signed object out on a Unix
 * socket, answer lines back, each bounded and, if asked, by a deadline;
 * and the approval request of nucleus-protocol(7) that an agent makes
 * and then waits on.  nucleus-authority's ask and status and
 * nucleus-node's call, pod and approve are all made of these.
 */
#ifndef NUCLEUS_WIRE_H
#define NUCLEUS_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "audit.h"

#define AUTHORITY_DIR_DEFAULT	"/var/lib/nucleus-authority"

/* Answer lines from a daemon, read up to a limit; the raw text is kept. */
struct wire_reader {
	int	 fd;
	size_t	 max;		/* bytes in one line, at most */
	char	*buf;
	size_t	 len, cap;
	char	*line;		/* the last line, NUL-terminated, as sent */
};

int	 wire_connect(const char *, struct audit_err *);
int	 wire_send(int, const json_t *, struct audit_err *);
int64_t	 wire_deadline(int);
int	 wire_read(struct wire_reader *, int64_t, json_t **,
	    struct audit_err *);
void	 wire_reader_free(struct wire_reader *);
int	 wire_sign(json_t *, const char *, const struct audit_seckey *,
	    struct audit_err *);
void	 wire_escape(FILE *, const char *, size_t);
const char *wire_error(const char *, const json_t *);
json_t	*wire_args(const char *, struct audit_err *);

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
int	 approval_wait(struct wire_reader *, int64_t, approval_line_fn, void *,
	    json_t **, struct audit_err *);
int	 approval_report(const char *, const json_t *, int);
int	 approval_ask(struct approval_ask *);

#endif /* NUCLEUS_WIRE_H */
