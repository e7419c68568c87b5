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
int	 wire_read_line(struct wire_reader *, int64_t, size_t *,
	    struct audit_err *);
int	 wire_read(struct wire_reader *, int64_t, json_t **,
	    struct audit_err *);
void	 wire_reader_free(struct wire_reader *);
int	 wire_sign(json_t *, const char *, const struct audit_seckey *,
	    struct audit_err *);
json_t	*wire_request(const char *, const char *, const char *, json_t *,
	    json_t *, const struct audit_seckey *, struct audit_err *);
void	 wire_escape(FILE *, const char *, size_t);
const char *wire_error(const char *, const json_t *);
json_t	*wire_args(const char *, struct audit_err *);

#endif /* NUCLEUS_WIRE_H */
