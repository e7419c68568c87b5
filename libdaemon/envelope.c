/*
 * The envelope of a signed line, read once for the node's gate, the
 * proxy's requests and the authority's agents, in this order:
 *
 *	id	1 to 64 printable characters, when the kind has one
 *		(read first, so that a refusal can still echo it)
 *	type	one of the kinds the reader takes
 *	members	none but the kind's
 *	v	1
 *	kid	a key id
 *	ts	an integer (Unix seconds)
 *	nonce	32 lowercase hex digits (16 bytes)
 *	sig	a string
 *
 * Each refusal is bad_request.  envelope_verify() then asks the keyring:
 * the kid known (auth_failed), the signature good (auth_failed), ts
 * within the skew of the clock (replayed).  Whether the nonce was seen
 * before is the caller's, in the transaction that acts on the line.
 */
#define _GNU_SOURCE
#include <string.h>

#include "envelope.h"
#include "members.h"

static int
refuse(struct envelope *env, const char *error, const char *why)
{
	env->error = error;
	env->why = why;
	return -1;
}

static const struct envelope_kind *
kind_of(const json_t *o, const struct envelope_kind *kinds)
{
	const char *type = json_string_value(json_object_get(o, "type"));

	for (; type != NULL && kinds->type != NULL; kinds++)
		if (strcmp(type, kinds->type) == 0)
			return kinds;
	return NULL;
}

/* "type: expected "a"", or "a" or "b", from the kinds. */
static int
bad_type(struct envelope *env, const struct envelope_kind *kinds)
{
	audit_fmt(env->msg, sizeof(env->msg), "type: expected");
	for (size_t i = 0; kinds[i].type != NULL; i++) {
		size_t n = strlen(env->msg);

		audit_fmt(env->msg + n, sizeof(env->msg) - n, "%s \"%s\"",
		    i > 0 ? " or" : "", kinds[i].type);
	}
	return refuse(env, "bad_request", env->msg);
}

/* The kind and its members: the id first, when the line has one. */
static int
read_kind(const json_t *o, const struct envelope_kind *kinds,
    struct envelope *env)
{
	const struct envelope_kind *k = kind_of(o, kinds);
	const json_t *v;

	if ((k != NULL ? k : kinds)->with_id) {
		v = json_object_get(o, "id");
		if (!json_is_string(v) || json_string_length(v) < 1 ||
		    json_string_length(v) > ENVELOPE_ID_MAX ||
		    !audit_printable(json_string_value(v),
		    json_string_length(v)))
			return refuse(env, "bad_request", "id: expected 1 to "
			    "64 printable characters");
		env->id = v;
	}
	if (k == NULL)
		return bad_type(env, kinds);
	env->kind = k;
	if (members_unknown(o, k->members) != NULL) {
		audit_fmt(env->msg, sizeof(env->msg), "unknown member in the "
		    "%s", k->type);
		return refuse(env, "bad_request", env->msg);
	}
	return 0;
}

/*
 * Read o's envelope as one of kinds (a list ended by a NULL type); -1
 * with env->error and env->why when it is not one.
 */
int
envelope_read(const json_t *o, const struct envelope_kind *kinds,
    struct envelope *env)
{
	const json_t *v;

	memset(env, 0, sizeof(*env));
	v = json_object_get(o, "nonce");
	env->nonce_read = json_is_string(v) && audit_unhex(env->nonce,
	    AUDIT_NONCE_LEN, json_string_value(v), json_string_length(v)) == 0;
	if (read_kind(o, kinds, env) != 0)
		return -1;
	v = json_object_get(o, "v");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return refuse(env, "bad_request", "v: expected 1");
	v = json_object_get(o, "kid");
	if (!json_is_string(v) || !audit_kid_valid(json_string_value(v),
	    json_string_length(v)) || audit_fit(env->kid, sizeof(env->kid),
	    NULL, "%s", json_string_value(v)) != 0)
		return refuse(env, "bad_request", "kid: expected a key id");
	v = json_object_get(o, "ts");
	if (!json_is_integer(v))
		return refuse(env, "bad_request", "ts: expected Unix seconds");
	env->ts = json_integer_value(v);
	if (!env->nonce_read)
		return refuse(env, "bad_request", "nonce: expected 32 "
		    "lowercase hex digits");
	if (!json_is_string(json_object_get(o, "sig")))
		return refuse(env, "bad_request", "sig: expected a signature");
	return 0;
}

/*
 * Who signed o, whose envelope env has read: the key its kid names in
 * keys, the signature good, ts within skew seconds of now.  whose names
 * the reader in the refusals ("node's": "not in the node's keyring").
 * *key is the signer's, on success.
 */
int
envelope_verify(const json_t *o, struct envelope *env,
    const struct audit_keyring *keys, int64_t now, int64_t skew,
    const char *whose, const struct audit_pubkey **key)
{
	const struct audit_pubkey *signer;
	struct audit_err e;

	*key = NULL;
	if (audit_keyring_find(keys, env->kid) == NULL) {
		audit_fmt(env->msg, sizeof(env->msg), "kid: not in the %s "
		    "keyring", whose);
		return refuse(env, "auth_failed", env->msg);
	}
	if (audit_verify(o, env->kind->type, keys, &signer, &e) != 0) {
		audit_fmt(env->msg, sizeof(env->msg), "sig: %s", e.msg);
		return refuse(env, "auth_failed", env->msg);
	}
	env->verified = 1;
	if (env->ts < now - skew || env->ts > now + skew) {
		audit_fmt(env->msg, sizeof(env->msg), "ts: too far from the "
		    "%s clock", whose);
		return refuse(env, "replayed", env->msg);
	}
	*key = signer;
	return 0;
}
