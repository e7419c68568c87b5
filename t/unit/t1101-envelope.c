/*
 * The envelope of a signed line (envelope.c), as the node, the proxy and
 * the authority read it: each member's form, the kinds of line, the id
 * and the nonce read for an echo even when a later check fails, and the
 * keyring's word on the kid, the signature and the clock.
 */
#include <string.h>

#include <sodium.h>

#include "envelope.h"
#include "tap.h"

#define NOW	1764400000
#define SKEW	300
#define NONCE	"00112233445566778899aabbccddeeff"

static const char *const req_members[] = { "type", "v", "id", "kid", "ts",
    "nonce", "op", "sig", NULL };
static const char *const ask_members[] = { "type", "v", "kid", "ts",
    "nonce", "reason", "sig", NULL };
static const char *const status_members[] = { "type", "v", "kid", "ts",
    "nonce", "id", "sig", NULL };

static const struct envelope_kind requests[] = {
	{ "request", req_members, 1 },
	{ NULL, NULL, 0 }
};
static const struct envelope_kind asks[] = {
	{ "approval-request", ask_members, 0 },
	{ "approval-status", status_members, 0 },
	{ NULL, NULL, 0 }
};

static struct envelope env;

/* A request with member k set to the JSON text v ("" removes it). */
static json_t *
request(const char *k, const char *v)
{
	json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:I, s:s, s:s, s:s}",
	    "type", "request", "v", 1, "id", "r-1", "kid", "agent-7", "ts",
	    (json_int_t)NOW, "nonce", NONCE, "op", "read", "sig", "AA==");

	if (k != NULL && *v == '\0')
		json_object_del(o, k);
	else if (k != NULL)
		json_object_set_new(o, k, json_loads(v, JSON_DECODE_ANY,
		    NULL));
	return o;
}

/* The message o is refused with, or "ok"; o is freed. */
static const char *
refused(const struct envelope_kind *kinds, json_t *o)
{
	static char why[sizeof(env.msg)];
	int rc = envelope_read(o, kinds, &env);

	snprintf(why, sizeof(why), "%s", rc == 0 ? "ok" : env.why);
	if (rc != 0 && strcmp(env.error, "bad_request") != 0)
		snprintf(why, sizeof(why), "kind %s", env.error);
	json_decref(o);
	return why;
}

static void
forms(void)
{
	is_str(refused(requests, request(NULL, NULL)), "ok",
	    "a well-formed request");
	ok(env.kind == &requests[0] && strcmp(env.kid, "agent-7") == 0 &&
	    env.ts == NOW && env.nonce[0] == 0x00 && env.nonce[15] == 0xff,
	    "its kind, kid, ts and nonce are read");
	is_str(refused(requests, request("type", "\"requests\"")),
	    "type: expected \"request\"", "another type");
	is_str(refused(requests, request("type", "")),
	    "type: expected \"request\"", "no type");
	is_str(refused(requests, request("extra", "1")),
	    "unknown member in the request", "an unknown member");
	is_str(refused(requests, request("v", "2")), "v: expected 1",
	    "version 2");
	is_str(refused(requests, request("kid", "\"agent 7\"")),
	    "kid: expected a key id", "a kid with a space");
	is_str(refused(requests, request("ts", "\"now\"")),
	    "ts: expected Unix seconds", "ts as text");
	is_str(refused(requests, request("nonce", "\"00\"")),
	    "nonce: expected 32 lowercase hex digits", "a short nonce");
	is_str(refused(requests, request("nonce",
	    "\"00112233445566778899AABBCCDDEEFF\"")),
	    "nonce: expected 32 lowercase hex digits", "an uppercase nonce");
	is_str(refused(requests, request("nonce",
	    "\"00112233445566778899aabbccddeeff00\"")),
	    "nonce: expected 32 lowercase hex digits", "a long nonce");
	is_str(refused(requests, request("nonce", "")),
	    "nonce: expected 32 lowercase hex digits", "no nonce");
	is_str(refused(requests, request("sig", "1")),
	    "sig: expected a signature", "a sig that is a number");
	is_str(refused(requests, request("sig", "")),
	    "sig: expected a signature", "no sig");
}

static void
ids(void)
{
	char id[80];
	json_t *o;

	is_str(refused(requests, request("id", "\"\"")),
	    "id: expected 1 to 64 printable characters", "an empty id");
	id[0] = '"';
	memset(id + 1, 'x', 64);
	strcpy(id + 65, "\"");
	is_str(refused(requests, request("id", id)), "ok", "an id of 64");
	strcpy(id + 65, "x\"");
	is_str(refused(requests, request("id", id)),
	    "id: expected 1 to 64 printable characters", "an id of 65");
	is_str(refused(requests, request("id", "\"a\\u0007b\"")),
	    "id: expected 1 to 64 printable characters", "an id with BEL");
	o = request("extra", "1");
	ok(envelope_read(o, requests, &env) != 0 && json_is_string(env.id) &&
	    strcmp(json_string_value(env.id), "r-1") == 0,
	    "a refused line still has its id read, for the answer");
	json_decref(o);
	(void)refused(requests, request("v", "3"));
	ok(env.nonce_read, "a refused line's nonce is read when it can be");
	(void)refused(requests, request("nonce", "\"abc\""));
	ok(!env.nonce_read, "and not when it cannot");
}

static void
kinds(void)
{
	json_t *o = json_pack("{s:s, s:i, s:s, s:I, s:s, s:s, s:s}", "type",
	    "approval-status", "v", 1, "kid", "agent-7", "ts",
	    (json_int_t)NOW, "nonce", NONCE, "id", "12", "sig", "AA==");

	is_str(refused(asks, json_incref(o)), "ok", "the second kind");
	ok(env.kind == &asks[1] && env.id == NULL,
	    "its kind; its id is not the client's");
	json_object_set_new(o, "reason", json_string("why"));
	is_str(refused(asks, json_incref(o)),
	    "unknown member in the approval-status",
	    "a member of the other kind");
	json_object_set_new(o, "type", json_string("request"));
	is_str(refused(asks, o), "type: expected \"approval-request\" or "
	    "\"approval-status\"", "a type of neither kind");
}

static void
keyring(void)
{
	struct audit_seckey *agent, *other;
	const struct audit_pubkey *key;
	struct audit_keyring ring = { 0 };
	struct audit_err e;
	char line[512];
	json_t *o;

	if (audit_seckey_generate(&agent, "agent-7", &e) != 0 ||
	    audit_seckey_generate(&other, "agent-8", &e) != 0 ||
	    audit_keyring_line(agent, "agent", line, sizeof(line) - 1) != 0)
		return (void)ok(0, "keys: %s", e.msg);
	strcat(line, "\n");
	if (audit_keyring_parse(&ring, line, strlen(line), 1, &e) != 0)
		return (void)ok(0, "keyring: %s", e.msg);
	o = request("sig", "");
	audit_sign(o, "request", agent, &e);
	ok(envelope_read(o, requests, &env) == 0 && envelope_verify(o, &env,
	    &ring, NOW + SKEW, SKEW, "node's", &key) == 0 && key != NULL &&
	    strcmp(key->role, "agent") == 0 && env.verified,
	    "signed by a key of the keyring, within the skew");
	ok(envelope_read(o, requests, &env) == 0 && envelope_verify(o, &env,
	    &ring, NOW + SKEW + 1, SKEW, "node's", &key) != 0 && key == NULL &&
	    strcmp(env.error, "replayed") == 0 && env.verified &&
	    strcmp(env.why, "ts: too far from the node's clock") == 0,
	    "a second past the skew: replayed, its signature verified");
	ok(envelope_read(o, requests, &env) == 0 && envelope_verify(o, &env,
	    &ring, NOW - SKEW - 1, SKEW, "node's", &key) != 0 &&
	    strcmp(env.error, "replayed") == 0, "and a second before it");
	ok(envelope_read(o, requests, &env) == 0 && envelope_verify(o, &env,
	    &ring, NOW - SKEW, SKEW, "node's", &key) == 0,
	    "ts exactly the skew ahead of the clock: accepted");
	json_object_set_new(o, "op", json_string("write"));
	ok(envelope_read(o, requests, &env) == 0 && envelope_verify(o, &env,
	    &ring, NOW, SKEW, "node's", &key) != 0 &&
	    strcmp(env.error, "auth_failed") == 0 && !env.verified &&
	    strncmp(env.why, "sig: ", 5) == 0, "a changed member: auth_failed");
	json_decref(o);
	o = request("kid", "\"agent-8\"");
	json_object_del(o, "sig");
	audit_sign(o, "request", other, &e);
	ok(envelope_read(o, requests, &env) == 0 && envelope_verify(o, &env,
	    &ring, NOW, SKEW, "authority's", &key) != 0 &&
	    strcmp(env.error, "auth_failed") == 0 && strcmp(env.why,
	    "kid: not in the authority's keyring") == 0,
	    "a kid not in the keyring: auth_failed, in the reader's words");
	json_decref(o);
	audit_keyring_free(&ring);
	audit_seckey_free(agent);
	audit_seckey_free(other);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	forms();
	ids();
	kinds();
	keyring();
	return done_testing();
}
