/*
 * Signing objects:
 *
 *	signing input = "nucleus-v1/" TYPE "\n" CJSON(object without "sig")
 *
 * TYPE is the type the object is signed as; the object's own "type"
 * member must say the same.  Ed25519 for everything, HMAC-SHA-256 for
 * requests only.  nucleus-audit-verify is built without this file.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"

/*
 * Sign obj as TYPE with k: obj's "type" must be TYPE, its "kid" (set when
 * absent) must be k's, and "sig" is set (replaced when present).
 */
int
audit_sign(json_t *obj, const char *type, const struct audit_seckey *k,
    struct audit_err *err)
{
	struct audit_buf in = { 0 };
	uint8_t sig[AUDIT_SIG_LEN];
	char b64[128];
	json_t *t, *kid;
	size_t siglen;
	int rc = -1;

	if (!json_is_object(obj))
		return audit_errf(err, "only a JSON object can be signed");
	t = json_object_get(obj, "type");
	if (!json_is_string(t) || strcmp(json_string_value(t), type) != 0)
		return audit_errf(err, "the object's type is not the type it "
		    "is "
		    "signed as");
	if ((kid = json_object_get(obj, "kid")) == NULL) {
		if (json_object_set_new(obj, "kid", json_string(k->kid)) != 0)
			return audit_errf(err, "out of memory");
	} else if (!json_is_string(kid) ||
	    strcmp(json_string_value(kid), k->kid) != 0)
		return audit_errf(err, "the object's kid is not the signing "
		    "key's");
	if (k->type == AUDIT_KEY_HMAC && strcmp(type, "request") != 0)
		return audit_errf(err, "HMAC keys sign requests only");
	if (audit_signing_input(obj, type, &in, err) != 0)
		return -1;
	if (k->type == AUDIT_KEY_ED25519) {
		crypto_sign_detached(sig, NULL, (const uint8_t *)in.p, in.len,
		    k->sk);
		siglen = AUDIT_SIG_LEN;
	} else {
		crypto_auth_hmacsha256(sig, (const uint8_t *)in.p, in.len,
		    k->sk);
		siglen = AUDIT_MAC_LEN;
	}
	audit_b64(b64, sizeof(b64), sig, siglen);
	if (json_object_set_new(obj, "sig", json_string(b64)) != 0) {
		audit_errf(err, "out of memory");
		goto out;
	}
	rc = 0;
out:
	audit_buf_free(&in);
	return rc;
}
