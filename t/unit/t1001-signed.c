/*
 * Keys and signed objects: every case of t/vectors/signed.json (signing
 * input byte for byte, verdict), the keys of keys.json, and signatures
 * reproduced byte for byte from the seeds (Ed25519 is deterministic).
 */
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "tap.h"
#include "vectors.h"

static struct audit_keyring kr;

static void
load_keyring(void)
{
	json_t *keys = vector_load("keys.json"), *k;
	char text[4096] = "";
	struct audit_err e;
	size_t i;

	/* The keyring of t/vectors, with the intruder left out. */
	json_array_foreach(keys, i, k) {
		const char *name = json_string_value(json_object_get(k, "name"));
		const char *kid = json_string_value(json_object_get(k, "kid"));
		const json_t *pk = json_object_get(k, "pubkey_b64");
		const json_t *mac = json_object_get(k, "hmac_key_b64");

		if (strcmp(name, "intruder") == 0)
			continue;
		size_t used = strlen(text);

		if (audit_fit(text + used, sizeof(text) - used, NULL,
		    "%s %s %s\n", kid, pk != NULL ? "ed25519" : "hmac-sha256",
		    json_string_value(pk != NULL ? pk : mac)) != 0) {
			printf("Bail out! keyring: the vectors' keys do not fit\n");
			exit(1);
		}
	}
	if (audit_keyring_parse(&kr, text, strlen(text), 1, &e) != 0) {
		printf("Bail out! keyring: %s\n", e.msg);
		exit(1);
	}
	json_decref(keys);
}

static void
keys(void)
{
	json_t *keys = vector_load("keys.json"), *k;
	size_t i;

	json_array_foreach(keys, i, k) {
		const json_t *seed = json_object_get(k, "seed_b64");
		const char *kid = json_string_value(json_object_get(k, "kid"));
		struct audit_seckey *sk = NULL;
		struct audit_err e;
		uint8_t raw[32], pk[32];

		if (seed == NULL)
			continue;
		ok(audit_unb64(raw, 32, json_string_value(seed),
		    json_string_length(seed)) == 0 &&
		    audit_seckey_from_seed(&sk, kid, raw, &e) == 0 &&
		    audit_unb64(pk, 32, json_string_value(json_object_get(k,
		    "pubkey_b64")), 44) == 0 && memcmp(pk, sk->pk, 32) == 0,
		    "%s: the public key derives from the seed",
		    json_string_value(json_object_get(k, "name")));
		audit_seckey_free(sk);
	}
	json_decref(keys);
}

/* Sign a copy of obj (without its sig) with the seed of kid. */
static int
resign(const json_t *obj, const char *type, const char *kid, char **sig)
{
	json_t *keys = vector_load("keys.json"), *k, *copy;
	struct audit_seckey *sk = NULL;
	struct audit_err e;
	uint8_t raw[32];
	size_t i;
	int rc = -1;

	json_array_foreach(keys, i, k) {
		const char *name = json_string_value(json_object_get(k, "name"));
		const json_t *seed = json_object_get(k, "seed_b64");
		const json_t *mac = json_object_get(k, "hmac_key_b64");

		if (strcmp(json_string_value(json_object_get(k, "kid")), kid) ||
		    strcmp(name, "intruder") == 0)
			continue;
		audit_unb64(raw, 32, json_string_value(seed ? seed : mac), 44);
		if (seed != NULL)
			audit_seckey_from_seed(&sk, kid, raw, &e);
		else {
			/* An HMAC key file, written and read back. */
			char path[] = "/tmp/nucleus-t1001-XXXXXX";
			int fd = mkstemp(path);
			FILE *f = fdopen(fd, "w");

			fprintf(f, "hmac-sha256-secret %s %s\n", kid,
			    json_string_value(mac));
			fclose(f);
			audit_seckey_load(&sk, path, &e);
			unlink(path);
		}
	}
	json_decref(keys);
	if (sk == NULL)
		return -1;
	copy = json_deep_copy(obj);
	json_object_del(copy, "sig");
	if (audit_sign(copy, type, sk, &e) == 0) {
		*sig = strdup(json_string_value(json_object_get(copy, "sig")));
		rc = 0;
	}
	json_decref(copy);
	audit_seckey_free(sk);
	return rc;
}

static void
signed_objects(void)
{
	json_t *all = vector_load("signed.json"), *c;
	size_t i;

	json_array_foreach(all, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *type = json_string_value(json_object_get(c, "type"));
		const json_t *obj = json_object_get(c, "object");
		const json_t *hex = json_object_get(c, "signing_input_hex");
		int valid = json_is_true(json_object_get(c, "valid"));
		struct audit_buf in = { 0 };
		struct audit_err e = { "" };
		char *sig = NULL;
		int got;

		got = audit_verify(obj, type, &kr, NULL, &e) == 0;
		ok(got == valid, "%s: %s%s%s", name, valid ? "verifies" :
		    "is refused", valid ? "" : ": ", valid ? "" : e.msg);
		if (hex == NULL)
			continue;
		size_t wantlen;
		char *want = vector_unhex(json_string_value(hex), &wantlen);

		ok(audit_signing_input(obj, type, &in, &e) == 0 &&
		    in.len == wantlen && memcmp(in.p, want, wantlen) == 0,
		    "%s: signing input byte for byte", name);
		ok(valid && resign(obj, type, json_string_value(json_object_get(
		    obj, "kid")), &sig) == 0 && strcmp(sig, json_string_value(
		    json_object_get(obj, "sig"))) == 0, "%s: signed again, the "
		    "same sig byte for byte", name);
		free(sig);
		free(want);
		audit_buf_free(&in);
	}
	json_decref(all);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	load_keyring();
	keys();
	signed_objects();
	audit_keyring_free(&kr);
	return done_testing();
}
