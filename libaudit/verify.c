/*
 * Verifying signed objects: the signing input is built with the type the
 * verifier expects from context, and the object's "type" member must say
 * the same, so a token can never pass as a request nor a request as a
 * token.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"

int
audit_signing_input(const json_t *obj, const char *type, struct audit_buf *b,
    struct audit_err *err)
{
	b->len = 0;
	if (audit_buf_add(b, "nucleus-v1/", 11) != 0 ||
	    audit_buf_add(b, type, strlen(type)) != 0 ||
	    audit_buf_add(b, "\n", 1) != 0)
		return audit_errf(err, "out of memory");
	return cjson_encode_without(obj, "sig", b, err);
}

/* The members every signed object has; *kid and *sig point into obj. */
static int
envelope(const json_t *obj, const char *type, const char **kid,
    const json_t **sig, struct audit_err *err)
{
	const json_t *t, *k;

	if (!json_is_object(obj))
		return audit_errf(err, "not a JSON object");
	t = json_object_get(obj, "type");
	if (!json_is_string(t) || strcmp(json_string_value(t), type) != 0)
		return audit_errf(err, "wrong type: not the type expected "
		    "here");
	k = json_object_get(obj, "kid");
	if (!json_is_string(k) ||
	    !audit_kid_valid(json_string_value(k), json_string_length(k)))
		return audit_errf(err, "missing or invalid kid");
	*sig = json_object_get(obj, "sig");
	if (!json_is_string(*sig))
		return audit_errf(err, "missing sig");
	*kid = json_string_value(k);
	return 0;
}

static int
check_ed25519(const json_t *obj, const char *type, const json_t *sig,
    const uint8_t pk[AUDIT_PK_LEN], struct audit_err *err)
{
	struct audit_buf in = { 0 };
	uint8_t s[AUDIT_SIG_LEN];
	int rc = -1;

	if (audit_unb64(s, sizeof(s), json_string_value(sig),
	    json_string_length(sig)) != 0)
		return audit_errf(err, "sig is not the base64 of a 64-byte "
		    "signature");
	if (audit_signing_input(obj, type, &in, err) != 0)
		goto out;
	if (crypto_sign_verify_detached(s, (const uint8_t *)in.p, in.len,
	    pk) != 0) {
		audit_errf(err, "bad signature");
		goto out;
	}
	rc = 0;
out:
	audit_buf_free(&in);
	return rc;
}

static int
check_hmac(const json_t *obj, const char *type, const json_t *sig,
    const uint8_t *key, struct audit_err *err)
{
	struct audit_buf in = { 0 };
	uint8_t s[AUDIT_MAC_LEN];
	int rc = -1;

	if (strcmp(type, "request") != 0)
		return audit_errf(err, "an HMAC key can only sign requests");
	if (audit_unb64(s, sizeof(s), json_string_value(sig),
	    json_string_length(sig)) != 0)
		return audit_errf(err, "sig is not the base64 of a 32-byte "
		    "MAC");
	if (audit_signing_input(obj, type, &in, err) != 0)
		goto out;
	/* crypto_auth_hmacsha256_verify compares in constant time. */
	if (crypto_auth_hmacsha256_verify(s, (const uint8_t *)in.p, in.len,
	    key) != 0) {
		audit_errf(err, "bad signature");
		goto out;
	}
	rc = 0;
out:
	audit_buf_free(&in);
	return rc;
}

/*
 * Verify obj as TYPE with the key its kid names in kr.  On success
 * *signer, when not NULL, points at that key.
 */
int
audit_verify(const json_t *obj, const char *type,
    const struct audit_keyring *kr, const struct audit_pubkey **signer,
    struct audit_err *err)
{
	const struct audit_pubkey *k;
	const json_t *sig;
	const char *kid;
	int rc;

	if (signer != NULL)
		*signer = NULL;
	if (envelope(obj, type, &kid, &sig, err) != 0)
		return -1;
	if ((k = audit_keyring_find(kr, kid)) == NULL)
		return audit_errf(err, "unknown key id");
	rc = k->type == AUDIT_KEY_ED25519 ?
	    check_ed25519(obj, type, sig, k->pk, err) :
	    check_hmac(obj, type, sig, k->mac, err);
	if (rc == 0 && signer != NULL)
		*signer = k;
	return rc;
}

/* Verify obj as TYPE with one given Ed25519 public key. */
int
audit_verify_ed25519(const json_t *obj, const char *type,
    const uint8_t pk[AUDIT_PK_LEN], struct audit_err *err)
{
	const json_t *sig;
	const char *kid;

	if (envelope(obj, type, &kid, &sig, err) != 0)
		return -1;
	return check_ed25519(obj, type, sig, pk, err);
}

/*
 * A line that must be the CJSON of a signed object: parse it once, check
 * that it is canonical, and build its signing input as TYPE, all from one
 * encoding.  Returns 0 with *rec (decref it) and input filled, or -1 when
 * the line is not valid, canonical CJSON (err says why).
 */
int
audit_signed_line(const char *line, size_t len, const char *type,
    json_t **rec, struct audit_buf *input, struct audit_err *err)
{
	struct audit_buf sigtext = { 0 }, ins = { 0 };
	struct cjson_slot slot;
	const json_t *sig;
	size_t pre, tail;
	json_t *j;
	int rc = -1;

	*rec = NULL;
	if (cjson_parse(line, len, &j, err) != 0)
		return -1;
	if (!json_is_object(j)) {
		audit_errf(err, "not a JSON object");
		goto out;
	}
	input->len = 0;
	if (audit_buf_add(input, "nucleus-v1/", 11) != 0 ||
	    audit_buf_add(input, type, strlen(type)) != 0 ||
	    audit_buf_add(input, "\n", 1) != 0) {
		audit_errf(err, "out of memory");
		goto out;
	}
	pre = input->len;
	if (cjson_encode_slot(j, "sig", input, &slot, err) != 0)
		goto out;
	if ((sig = json_object_get(j, "sig")) != NULL &&
	    (cjson_encode(sig, &sigtext, err) != 0 ||
	    cjson_slot_text(&slot, "sig", sigtext.p, sigtext.len, &ins) != 0))
		goto out;
	/* The line must be the encoding with the sig member in its place. */
	tail = input->len - slot.at;
	if (len != input->len - pre + ins.len ||
	    memcmp(line, input->p + pre, slot.at - pre) != 0 ||
	    (ins.len > 0 && memcmp(line + slot.at - pre, ins.p,
	    ins.len) != 0) ||
	    memcmp(line + slot.at - pre + ins.len, input->p + slot.at,
	    tail) != 0) {
		audit_errf(err, "not in canonical form (re-serializing it "
		    "gives other bytes)");
		goto out;
	}
	*rec = j;
	j = NULL;	/* transferred */
	rc = 0;
out:
	json_decref(j);
	audit_buf_free(&sigtext);
	audit_buf_free(&ins);
	return rc;
}

/*
 * Verify a record parsed by audit_signed_line() against one Ed25519 key,
 * with the signing input it built.
 */
int
audit_verify_input(const json_t *rec, const char *type,
    const struct audit_buf *input, const uint8_t pk[AUDIT_PK_LEN],
    struct audit_err *err)
{
	uint8_t s[AUDIT_SIG_LEN];
	const json_t *sig;
	const char *kid;

	if (envelope(rec, type, &kid, &sig, err) != 0)
		return -1;
	if (audit_unb64(s, sizeof(s), json_string_value(sig),
	    json_string_length(sig)) != 0)
		return audit_errf(err, "sig is not the base64 of a 64-byte "
		    "signature");
	if (crypto_sign_verify_detached(s, (const uint8_t *)input->p,
	    input->len, pk) != 0)
		return audit_errf(err, "bad signature");
	return 0;
}
