/*
 * Approval tokens (approval.c): the seven rules of formats.md section 6.
 */
#ifndef NUCLEUS_APPROVAL_H
#define NUCLEUS_APPROVAL_H

#include <stdint.h>

#include <jansson.h>

#include "audit.h"

struct approval_ctx {
	const char *pod;
	int64_t	 now;
	int	 skew;
	int	 max_lifetime;
	const struct audit_keyring *trust;
	/* Was this nonce consumed already?  1 yes, 0 no. */
	int	(*consumed)(void *, const uint8_t[AUDIT_NONCE_LEN]);
	void	*arg;
};

struct approval {
	char	 id[AUDIT_LOGID_MAX + 1];
	uint8_t	 nonce[AUDIT_NONCE_LEN];
	char	 nonce_hex[2 * AUDIT_NONCE_LEN + 1];
	int64_t	 exp;
};

int	 approval_signed(const json_t *, const struct audit_keyring *, char *,
	    size_t);
int	 approval_verify(const json_t *, const struct approval_ctx *,
	    const char *, const char *, const char *, struct approval *,
	    int *, char *, size_t);

#endif
