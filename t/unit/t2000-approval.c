/*
 * Approval tokens: every case of t/vectors/approval-cases.json, through
 * the proxy's seven rules, and the rule each refusal names.
 */
#include <sodium.h>

#include "approval.h"
#include "tap.h"
#include "vectors.h"

static json_t *consumed_list;

static int
consumed(void *arg, const uint8_t nonce[AUDIT_NONCE_LEN])
{
	char hex[2 * AUDIT_NONCE_LEN + 1];
	size_t i;
	json_t *v;

	(void)arg;
	audit_hex(hex, nonce, AUDIT_NONCE_LEN);
	json_array_foreach(consumed_list, i, v)
		if (strcmp(json_string_value(v), hex) == 0)
			return 1;
	return 0;
}

/* The keyring holding the key that kid has in keys.json (not the
 * intruder, who shares its kid). */
static void
keyring_for(const char *kid, struct audit_keyring *kr)
{
	json_t *keys = vector_load("keys.json"), *k;
	struct audit_err e;
	char line[256] = "";
	size_t i;

	json_array_foreach(keys, i, k)
		if (strcmp(json_string_value(json_object_get(k, "kid")),
		    kid) == 0 && strcmp(json_string_value(json_object_get(k,
		    "name")), "intruder") != 0)
			snprintf(line, sizeof(line), "%s ed25519 %s\n", kid,
			    json_string_value(json_object_get(k, "pubkey_b64")));
	if (audit_keyring_parse(kr, line, strlen(line), 0, &e) != 0) {
		printf("Bail out! %s\n", e.msg);
		exit(1);
	}
	json_decref(keys);
}

static const char *
digest(const json_t *args, char *hex)
{
	struct audit_buf b = { 0 };
	struct audit_err e;
	uint8_t h[AUDIT_HASH_LEN];

	cjson_encode(args, &b, &e);
	audit_hash(h, b.p, b.len);
	audit_hex(hex, h, AUDIT_HASH_LEN);
	audit_buf_free(&b);
	return hex;
}

/*
 * Rule 6 at its edges, on the vectors' accepted token: issued exactly the
 * skew ahead of the clock, and valid until the second before exp; a
 * lifetime of exactly the maximum.  One second past each is refused.
 */
static void
edges(const json_t *c)
{
	const json_t *req = json_object_get(c, "request"), *ctxj =
	    json_object_get(c, "context"), *tok = json_object_get(c, "token");
	int64_t iat = json_integer_value(json_object_get(tok, "iat"));
	int64_t exp = json_integer_value(json_object_get(tok, "exp"));
	static const struct {
		int	 dnow, dlife, accept;
		const char *what;
	} cases[] = {
		{ 0, 0, 1, "now = iat - skew: issued exactly the skew ahead" },
		{ -1, 0, 0, "now = iat - skew - 1: issued in the future" },
		{ 1, 0, 1, "now = exp - 1: the last second" },
		{ 2, 0, 0, "now = exp: expired" },
		{ 3, 0, 1, "a lifetime of exactly the maximum" },
		{ 3, -1, 0, "a lifetime one second over the maximum" },
	};
	struct audit_keyring kr;
	struct approval_ctx ctx;
	struct approval a;
	char why[256], hex[AUDIT_HEX_LEN + 1];
	int which;

	keyring_for(json_string_value(json_object_get(ctxj,
	    "trusted_authority_kid")), &kr);
	consumed_list = json_object_get(ctxj, "consumed_nonces");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ctx.pod = json_string_value(json_object_get(ctxj, "pod"));
		ctx.skew = (int)json_integer_value(json_object_get(ctxj,
		    "skew"));
		ctx.now = cases[i].dnow == 0 ? iat - ctx.skew :
		    cases[i].dnow == -1 ? iat - ctx.skew - 1 :
		    cases[i].dnow == 1 ? exp - 1 : cases[i].dnow == 2 ? exp :
		    iat;
		ctx.max_lifetime = cases[i].dnow == 3 ? (int)(exp - iat) +
		    cases[i].dlife : (int)(exp - iat);
		ctx.trust = &kr;
		ctx.consumed = consumed;
		ctx.arg = NULL;
		which = -1;
		ok((approval_verify(tok, &ctx, json_string_value(
		    json_object_get(req, "op")), digest(json_object_get(req,
		    "args"), hex), json_string_value(json_object_get(req,
		    "kid")), &a, &which, why, sizeof(why)) == 0) ==
		    cases[i].accept && (cases[i].accept || which == 6),
		    "rule 6 edge: %s: %s", cases[i].what, cases[i].accept ?
		    "accepted" : why);
	}
	audit_keyring_free(&kr);
}

int
main(void)
{
	static const struct {
		const char *name;
		int rule;
	} rules[] = {
		{ "accept", 0 }, { "bad-signature", 1 }, { "other-pod", 2 },
		{ "other-op", 3 }, { "other-args", 4 }, { "other-subject", 5 },
		{ "expired", 6 }, { "issued-in-future", 6 },
		{ "lifetime-too-long", 6 }, { "replayed-nonce", 7 },
	};
	json_t *all, *c;
	size_t i;

	if (sodium_init() < 0)
		return 1;
	all = vector_load("approval-cases.json");
	json_array_foreach(all, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *req = json_object_get(c, "request");
		json_t *ctxj = json_object_get(c, "context");
		int accept = json_is_true(json_object_get(c, "accept"));
		struct audit_keyring kr;
		struct approval_ctx ctx;
		struct approval a;
		char why[256], hex[AUDIT_HEX_LEN + 1];
		int which = -1, got, want = -1;

		keyring_for(json_string_value(json_object_get(ctxj,
		    "trusted_authority_kid")), &kr);
		consumed_list = json_object_get(ctxj, "consumed_nonces");
		ctx.pod = json_string_value(json_object_get(ctxj, "pod"));
		ctx.now = json_integer_value(json_object_get(ctxj, "now"));
		ctx.skew = (int)json_integer_value(json_object_get(ctxj,
		    "skew"));
		ctx.max_lifetime = (int)json_integer_value(json_object_get(ctxj,
		    "max_lifetime"));
		ctx.trust = &kr;
		ctx.consumed = consumed;
		ctx.arg = NULL;
		got = approval_verify(json_object_get(c, "token"), &ctx,
		    json_string_value(json_object_get(req, "op")),
		    digest(json_object_get(req, "args"), hex),
		    json_string_value(json_object_get(req, "kid")), &a, &which,
		    why, sizeof(why)) == 0;
		for (size_t k = 0; k < sizeof(rules) / sizeof(rules[0]); k++)
			if (strcmp(rules[k].name, name) == 0)
				want = rules[k].rule;
		ok(got == accept, "%s: %s%s%s", name, accept ? "accepted" :
		    "refused", accept ? "" : ": ", accept ? "" : why);
		if (want >= 0)
			is_int(which, want, "%s: the rule named is %d", name,
			    want);
		audit_keyring_free(&kr);
		if (strcmp(name, "accept") == 0)
			edges(c);
	}
	json_decref(all);
	return done_testing();
}
