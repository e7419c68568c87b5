/*
 * What a decision makes of a request: the token that grants it, the
 * audit record of each event about it, and the summary operators see in
 * list and watch.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authority.h"

/*
 * A token for the request rec (id): a fresh random nonce, iat now, exp
 * ttl later, bound to pod, op, the args' digest and the agent, signed
 * with the authority's key.
 */
json_t *
mint_token(const json_t *rec, uint64_t id, int64_t now, int ttl,
    const struct audit_seckey *key, struct audit_err *err)
{
	uint8_t nonce[AUDIT_NONCE_LEN];
	char hex[2 * AUDIT_NONCE_LEN + 1], ids[24];
	json_t *t;

	if (ttl < 1 || ttl > TTL_MAX) {
		audit_errf(err, "a token lives 1 to %d seconds", TTL_MAX);
		return NULL;
	}
	randombytes_buf(nonce, sizeof(nonce));
	audit_hex(hex, nonce, sizeof(nonce));
	if (audit_fit(ids, sizeof(ids), err, "%llu",
	    (unsigned long long)id) != 0)
		return NULL;
	t = json_pack("{s:s, s:i, s:s, s:O, s:O, s:O, s:O, s:I, s:I, s:s}",
	    "type", "approval", "v", 1, "id", ids, "pod",
	    json_object_get(rec, "pod"), "op", json_object_get(rec, "op"),
	    "args_digest", json_object_get(rec, "args_digest"), "sub",
	    json_object_get(rec, "agent"), "iat", (json_int_t)now, "exp",
	    (json_int_t)(now + ttl), "nonce", hex);
	if (t == NULL) {
		audit_errf(err, "out of memory");
		return NULL;
	}
	if (audit_sign(t, "approval", key, err) != 0) {
		json_decref(t);
		return NULL;
	}
	return t;
}

/* The subject of a request's args: its argv or its path, or NULL. */
static const char *
subject_of(const json_t *args, json_t **subject)
{
	*subject = json_object_get(args, "argv");
	if (*subject != NULL)
		return "argv";
	*subject = json_object_get(args, "path");
	return *subject != NULL ? "path" : NULL;
}

static void
add_subject(json_t *ev, const json_t *args)
{
	struct audit_buf b = { 0 };
	struct audit_err e;
	json_t *subject;

	if (subject_of(args, &subject) == NULL)
		return;
	if (cjson_encode(subject, &b, &e) == 0 && b.len <= SUBJECT_MAX)
		json_object_set(ev, "subject", subject);
	else
		json_object_set_new(ev, "subject_bytes", json_integer(
		    (json_int_t)b.len));
	audit_buf_free(&b);
}

/* The record of an event about request rec (id), from what it holds. */
json_t *
decision_event(const char *event, const json_t *rec, uint64_t id)
{
	json_t *ev;

	(void)id;
	ev = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "event", event, "id",
	    json_object_get(rec, "id"), "agent", json_object_get(rec,
	    "agent"), "pod", json_object_get(rec, "pod"), "op",
	    json_object_get(rec, "op"), "args_digest", json_object_get(rec,
	    "args_digest"));
	if (ev == NULL)
		return NULL;
	if (strcmp(event, "approval.request") == 0) {
		add_subject(ev, json_object_get(rec, "args"));
		json_object_set(ev, "reason", json_object_get(rec, "reason"));
		json_object_set(ev, "request_nonce", json_object_get(rec,
		    "nonce"));
		json_object_set(ev, "expires", json_object_get(rec,
		    "expires"));
		/* Which node attested it, when one did. */
		if (json_object_get(rec, "node") != NULL)
			json_object_set(ev, "node", json_object_get(rec,
			    "node"));
	} else if (strcmp(event, "approval.grant") == 0) {
		const json_t *t = json_object_get(rec, "token");

		json_object_set(ev, "by", json_object_get(rec, "by"));
		if (json_object_get(rec, "rule") != NULL)
			json_object_set(ev, "rule", json_object_get(rec,
			    "rule"));
		if (json_object_get(rec, "uid") != NULL)
			json_object_set(ev, "uid", json_object_get(rec,
			    "uid"));
		json_object_set_new(ev, "token", json_pack("{s:O, s:O, s:O, "
		    "s:O}", "id", json_object_get(t, "id"), "nonce",
		    json_object_get(t, "nonce"), "iat", json_object_get(t,
		    "iat"), "exp", json_object_get(t, "exp")));
	} else if (strcmp(event, "approval.deny") == 0) {
		json_object_set(ev, "by", json_object_get(rec, "by"));
		json_object_set(ev, "uid", json_object_get(rec, "uid"));
		json_object_set(ev, "reason", json_object_get(rec,
		    "deny_reason"));
	}
	return ev;
}

/* One line per request for list and watch: what a person decides on. */
json_t *
request_summary(uint64_t id, const json_t *rec)
{
	json_t *s, *subject;

	(void)id;
	s = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "id",
	    json_object_get(rec, "id"), "state", json_object_get(rec, "state"),
	    "agent", json_object_get(rec, "agent"), "pod",
	    json_object_get(rec, "pod"), "op", json_object_get(rec, "op"),
	    "reason", json_object_get(rec, "reason"), "received",
	    json_object_get(rec, "received"), "expires", json_object_get(rec,
	    "expires"));
	if (s != NULL && subject_of(json_object_get(rec, "args"),
	    &subject) != NULL)
		json_object_set(s, "subject", subject);
	return s;
}
