/*
 * Approval tokens.  A token is accepted for a request only when all of
 * these hold (formats.md section 6), checked in this order, and the first
 * that fails is named in the invalid_approval error:
 *
 *	1 its signature verifies under a trusted authority key (one whose
 *	  keyring role is "authority", or that has no role), and its type
 *	  is "approval"
 *	2 pod is this proxy's pod
 *	3 op is the request's op
 *	4 args_digest is H(CJSON(the request's args))
 *	5 sub is the kid that signed the request
 *	6 iat - skew <= now < exp, and exp - iat <= the maximum lifetime
 *	7 its nonce was never consumed here
 *
 * The consumption is written to LMDB and synced before the decision
 * record that names the token, and so before the operation.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "approval.h"

static int
rule(int *which, int n, char *why, size_t whysz, const char *msg)
{
	*which = n;
	audit_fmt(why, whysz, "rule %d: %s", n, msg);
	return -1;
}

static const char *
str(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * Rule 1's signature: token verifies under trust, signed by a key whose
 * keyring role is authority or none (a keyring shared with agents or
 * nodes must not let them mint).  0, or -1 with why.  Also the node's
 * check at its gate, before a token's nonce costs its ledger anything.
 */
int
approval_signed(const json_t *token, const struct audit_keyring *trust,
    char *why, size_t whysz)
{
	const struct audit_pubkey *signer;
	struct audit_err e;

	if (audit_verify(token, "approval", trust, &signer, &e) != 0) {
		audit_fmt(why, whysz, "rule 1: the token does not verify under "
		    "a trusted authority key: %s", e.msg);
		return -1;
	}
	if (signer->role[0] != '\0' && strcmp(signer->role, "authority") != 0) {
		audit_fmt(why, whysz, "rule 1: the token is signed by a key "
		    "whose role is not authority");
		return -1;
	}
	return 0;
}

/*
 * Check token for a request (op, args_digest, signed by sub).  Returns 0
 * with *out filled, or -1 with the failing rule in *which and a reason.
 * Longer than most on purpose: the seven rules read in their order, one
 * after the other, as formats.md states them.
 */
int
approval_verify(const json_t *token, const struct approval_ctx *ctx,
    const char *op, const char *args_digest, const char *sub,
    struct approval *out, int *which, char *why, size_t whysz)
{
	const json_t *iat, *exp, *v;
	const char *s, *nonce, *id;

	memset(out, 0, sizeof(*out));
	if (approval_signed(token, ctx->trust, why, whysz) != 0) {
		*which = 1;
		return -1;
	}
	v = json_object_get(token, "v");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return rule(which, 1, why, whysz, "not a version 1 token");
	if ((s = str(token, "pod")) == NULL || strcmp(s, ctx->pod) != 0)
		return rule(which, 2, why, whysz, "the token is for another "
		    "pod");
	if ((s = str(token, "op")) == NULL || strcmp(s, op) != 0)
		return rule(which, 3, why, whysz, "the token is for another "
		    "operation");
	if ((s = str(token, "args_digest")) == NULL ||
	    strcmp(s, args_digest) != 0)
		return rule(which, 4, why, whysz, "the token is for other "
		    "arguments");
	if ((s = str(token, "sub")) == NULL || strcmp(s, sub) != 0)
		return rule(which, 5, why, whysz, "the token was issued to "
		    "another agent");
	iat = json_object_get(token, "iat");
	exp = json_object_get(token, "exp");
	if (!json_is_integer(iat) || !json_is_integer(exp))
		return rule(which, 6, why, whysz, "the token has no iat or "
		    "exp");
	if (json_integer_value(iat) - ctx->skew > ctx->now)
		return rule(which, 6, why, whysz, "the token is issued in the "
		    "future");
	if (ctx->now >= json_integer_value(exp))
		return rule(which, 6, why, whysz, "the token has expired");
	if (json_integer_value(exp) - json_integer_value(iat) >
	    ctx->max_lifetime)
		return rule(which, 6, why, whysz, "the token lives longer than "
		    "allowed");
	nonce = str(token, "nonce");
	if (nonce == NULL || audit_unhex(out->nonce, AUDIT_NONCE_LEN, nonce,
	    strlen(nonce)) != 0)
		return rule(which, 7, why, whysz, "the token has no valid "
		    "nonce");
	if (ctx->consumed(ctx->arg, out->nonce))
		return rule(which, 7, why, whysz, "the token was already used");
	id = str(token, "id");
	if (audit_fit(out->id, sizeof(out->id), NULL, "%s", id != NULL ? id :
	    "") != 0)
		return rule(which, 1, why, whysz, "the token's id is too long");
	memcpy(out->nonce_hex, nonce, sizeof(out->nonce_hex) - 1);
	out->exp = json_integer_value(exp);
	*which = 0;
	return 0;
}
