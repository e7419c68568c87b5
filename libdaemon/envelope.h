/*
 * The envelope of a signed line (envelope.c), as nucleus-protocol(7)
 * writes it: type, v, the client's id, kid, ts, nonce and sig, with no
 * member but those a kind of line names.  The node, the proxy and the
 * authority read it here, so that each refuses the same lines with the
 * same words; what follows the envelope (pod, op, args) is theirs.
 */
#ifndef NUCLEUS_ENVELOPE_H
#define NUCLEUS_ENVELOPE_H

#include <stdint.h>

#include <jansson.h>

#include "audit.h"

#define ENVELOPE_ID_MAX	64	/* characters in a client's request id */

/* One kind of line: its type, and every member it may have. */
struct envelope_kind {
	const char *type;
	const char *const *members;	/* NULL-terminated */
	int	 with_id;	/* an "id" of 1 to 64 printable characters,
				   the client's, echoed in the answer */
};

struct envelope {
	const struct envelope_kind *kind;	/* the line's, once read */
	const json_t *id;	/* with_id: the id, once read (the line's) */
	int	 nonce_read;	/* the nonce is well formed, even when a
				   later check failed */
	char	 kid[AUDIT_KID_MAX + 1];
	int64_t	 ts;
	uint8_t	 nonce[AUDIT_NONCE_LEN];
	int	 verified;	/* its signature held */
	const char *error;	/* refused: the error kind */
	const char *why;	/* and the message */
	char	 msg[sizeof(((struct audit_err *)0)->msg) + 16];	/* why, made */
};

int	 envelope_read(const json_t *, const struct envelope_kind *,
	    struct envelope *);
int	 envelope_verify(const json_t *, struct envelope *,
	    const struct audit_keyring *, int64_t, int64_t, const char *,
	    const struct audit_pubkey **);

#endif /* NUCLEUS_ENVELOPE_H */
