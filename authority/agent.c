/*
 * The request socket: agents' signed approval-requests and status
 * queries (nucleus-authority(8), AGENT PROTOCOL).
 *
 * A line is accepted only when it is within LINE_MAX_BYTES, canonical
 * JSON with no unknown member, signed with the Ed25519 key its kid names
 * in the keyring (role "agent" or none), its ts within the skew of the
 * clock, and its (kid, nonce) pair never seen; the pair is kept in LMDB.
 * A line whose signature holds spends its pair whatever the answer, so
 * that a request refused now (the queue full, say) cannot pass later.
 * Every line, accepted or refused, is recorded before it is answered.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "authority.h"
#include "nonces.h"

static const char *const request_members[] = {
	"type", "v", "kid", "ts", "nonce", "pod", "op", "args", "reason",
	"sig", NULL
};

static const char *const status_members[] = {
	"type", "v", "kid", "ts", "nonce", "id", "sig", NULL
};

/* A node's word for an agent's request: the request, unchanged, inside. */
static const char *const attested_members[] = {
	"type", "v", "kid", "ts", "nonce", "request", "sig", NULL
};

static const struct envelope_kind kinds[] = {
	{ "approval-request", request_members, 0 },
	{ "approval-status", status_members, 0 },
	{ "approval-attested", attested_members, 0 },
	{ NULL, NULL, 0 }
};

/* What a node may attest: an agent's approval request, nothing else. */
static const struct envelope_kind attested_kinds[] = {
	{ "approval-request", request_members, 0 },
	{ NULL, NULL, 0 }
};

json_t *
authority_error(const json_t *echo, const char *kind, const char *msg)
{
	return json_pack("{s:s, s:i, s:O, s:b, s:{s:s, s:s}}", "type",
	    "response", "v", 1, "id", echo != NULL ? echo : json_null(),
	    "ok", 0, "error", "kind", kind, "message", msg);
}

/* The answer that says where request id stands, for echo. */
json_t *
agent_answer(const json_t *echo, uint64_t id, const json_t *rec)
{
	const char *state = json_string_value(json_object_get(rec, "state"));
	json_t *result;
	char ids[24];

	if (audit_fit(ids, sizeof(ids), NULL, "%llu",
	    (unsigned long long)id) != 0)
		return NULL;
	result = json_pack("{s:s, s:s}", "id", ids, "state",
	    state != NULL ? state : "pending");
	if (result == NULL)
		return NULL;
	if (state == NULL || strcmp(state, "pending") == 0)
		json_object_set(result, "expires",
		    json_object_get(rec, "expires"));
	else if (strcmp(state, "granted") == 0)
		json_object_set(result, "token", json_object_get(rec,
		    "token"));
	else if (strcmp(state, "denied") == 0)
		json_object_set(result, "reason", json_object_get(rec,
		    "deny_reason"));
	return json_pack("{s:s, s:i, s:O, s:b, s:o}", "type", "response", "v",
	    1, "id", echo != NULL ? echo : json_null(), "ok", 1, "result",
	    result);
}

static int
fail(struct areq *q, const char *kind, const char *why)
{
	q->kind = kind;
	q->why = why;
	return -1;
}

/* The envelope both kinds of line share (envelope.c). */
static int
envelope(struct areq *q, const struct envelope_kind *ks)
{
	int rc = envelope_read(q->obj, ks, &q->env);

	/* The nonce is the answer's id: echoed when it could be read. */
	if (q->env.nonce_read)
		q->echo = json_incref(json_object_get(q->obj, "nonce"));
	/* What it claims to be, recorded with a refusal. */
	q->type = json_string_value(json_object_get(q->obj, "type"));
	if (rc != 0)
		return fail(q, q->env.error, q->env.why);
	if (audit_fit(q->kid, sizeof(q->kid), NULL, "%s", q->env.kid) != 0)
		return fail(q, "bad_request", "kid: expected a key id");
	return 0;
}

/* Who signed it (a key of agents), now, within skew. */
int
agent_authenticate(struct areq *q, const struct audit_keyring *agents,
    int skew, int64_t now)
{
	const struct audit_pubkey *k;

	if (envelope_verify(q->obj, &q->env, agents, now, skew,
	    "authority's", &k) != 0) {
		q->verified = q->env.verified;
		return fail(q, q->env.error, q->env.why);
	}
	q->verified = 1;
	if (audit_fit(q->role, sizeof(q->role), NULL, "%s", k->role) != 0)
		return fail(q, "internal", "the key's role does not fit");
	return 0;
}

/* May its signer ask: a key whose role is agent, or that has none. */
int
agent_role(struct areq *q)
{
	if (q->role[0] != '\0' && strcmp(q->role, "agent") != 0)
		return fail(q, "forbidden", "only keys with the role agent "
		    "may ask for approvals");
	return 0;
}

static int nonce_spend(struct areq *);

/*
 * A node's attestation (approval-attested, its signature and nonce
 * checked already): its signer must be a key of the role node; the
 * agent's request inside then takes the place of the line, and is
 * checked as if it had come alone (its own signature, its own nonce).
 * An agent's request that came alone is refused when a node must attest.
 */
static int
attested(struct areq *q, int64_t now)
{
	json_t *outer_echo, *inner;

	if (strcmp(q->type, "approval-attested") != 0) {
		if (strcmp(q->type, "approval-request") == 0 && A->via_node)
			return fail(q, "forbidden", "this authority takes "
			    "approval requests through a node only "
			    "(nucleus-node approval.request), which checks "
			    "the pod first");
		return 0;
	}
	if (strcmp(q->role, "node") != 0)
		return fail(q, "forbidden", "only keys with the role node may "
		    "attest an agent's request");
	memcpy(q->node, q->kid, sizeof(q->node));
	inner = json_incref(json_object_get(q->obj, "request"));
	json_decref(q->obj);
	q->obj = inner;
	q->kid[0] = '\0';
	q->role[0] = '\0';
	q->verified = 0;
	outer_echo = q->echo;
	q->echo = NULL;
	memset(&q->env, 0, sizeof(q->env));
	if (!json_is_object(inner)) {
		q->type = NULL;
		q->echo = outer_echo;
		return fail(q, "bad_request", "request: expected an agent's "
		    "approval-request");
	}
	/* The answer goes to the node: its nonce is the answer's id. */
	if (envelope(q, attested_kinds) != 0) {
		json_decref(q->echo);
		q->echo = outer_echo;
		return -1;
	}
	json_decref(q->echo);
	q->echo = outer_echo;
	if (agent_authenticate(q, &A->agents, A->skew, now) != 0)
		return -1;
	return nonce_spend(q);
}

static int parse_id(const json_t *, uint64_t *);

/* The members beyond the envelope: a request's, or a status query's. */
int
agent_body(struct areq *q)
{
	json_t *o = q->obj, *v;
	struct audit_buf b = { 0 };
	struct audit_err e;
	uint8_t h[AUDIT_HASH_LEN];

	if (strcmp(q->type, "approval-status") == 0) {
		if (parse_id(json_object_get(o, "id"), &q->id) != 0)
			return fail(q, "bad_request", "id: expected a request "
			    "id");
		return 0;
	}
	v = json_object_get(o, "pod");
	if (!json_is_string(v) || !audit_podname_valid(json_string_value(v),
	    json_string_length(v)))
		return fail(q, "bad_request", "pod: expected a pod's name: 1 to "
		    "64 characters of [A-Za-z0-9._-], the first a letter or a "
		    "digit");
	v = json_object_get(o, "op");
	/* connect: a pod's connection to an approval entry (egress). */
	if (!json_is_string(v) || (!rules_op_known(json_string_value(v)) &&
	    strcmp(json_string_value(v), "connect") != 0))
		return fail(q, "bad_request", "op: expected a tool operation "
		    "of nucleus-protocol(7), or connect");
	/* Arguments its operation cannot take never reach an operator. */
	if (args_check(json_string_value(v), json_object_get(o, "args"),
	    q->whybuf, sizeof(q->whybuf)) != 0)
		return fail(q, "bad_request", q->whybuf);
	v = json_object_get(o, "reason");
	if (!json_is_string(v) || json_string_length(v) > REASON_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return fail(q, "bad_request", "reason: expected text of at "
		    "most 1024 bytes");
	if (cjson_encode(json_object_get(o, "args"), &b, &e) != 0) {
		audit_buf_free(&b);
		return fail(q, "bad_request", "args cannot be canonical "
		    "JSON");
	}
	audit_hash(h, b.p, b.len);
	audit_hex(q->digest, h, AUDIT_HASH_LEN);
	audit_buf_free(&b);
	return 0;
}

static int
parse_id(const json_t *v, uint64_t *id)
{
	unsigned long long n;

	if (!json_is_string(v) || num_parse_un(json_string_value(v),
	    json_string_length(v), 1, 9999999999999999999ULL, &n) != NUM_OK)
		return -1;
	*id = n;
	return 0;
}

/* A refused line: recorded (by hash, and who it claims to be), answered. */
/* A uid's refusals counted in a window, recorded as one (rwin.h). */
void
agent_refusals_record(void *arg, json_t *ev)
{
	struct job *j = job_new(NULL, 0);

	(void)arg;
	if (j != NULL && job_event(j, ev) == 0)
		job_queue(j);
	else
		job_free(j);
}

/*
 * Past its uid's RWIN_MAX in RWIN_S (rwin.h), a refusal is answered
 * without a record, and counted: 1 when so.
 */
int
agent_refusal_counted(struct lines_conn *c, const json_t *echo,
    const char *kind, const char *why)
{
	char msg[RWIN_MSG_MAX];
	json_t *r;

	if (!rwin_refusal(&A->refusals, c->uid, c->privileged, kind, why,
	    audit_now_s(), msg))
		return 0;
	r = authority_error(echo, kind, msg);
	lines_send(c, r);
	json_decref(r);
	return 1;
}

static void
refuse(struct lines_conn *c, struct areq *q, const char *line, size_t len)
{
	uint8_t h[AUDIT_HASH_LEN];
	char hex[AUDIT_HEX_LEN + 1];
	struct job *j;
	json_t *ev;

	if (agent_refusal_counted(c, q->echo, q->kind, q->why))
		return;
	audit_hash(h, line, len);
	audit_hex(hex, h, sizeof(h));
	ev = json_pack("{s:s, s:s, s:s, s:I, s:s}", "event",
	    "approval.refused", "kind", q->kind, "message", q->why, "bytes",
	    (json_int_t)len, "line_hash", hex);
	/* An attestation refused before its request was read: its signer
	 * is a node's key, or claims to be; not an agent. */
	if (ev != NULL && q->kid[0] != '\0')
		json_object_set_new(ev, !q->verified ? "claimed_kid" :
		    q->type != NULL && strcmp(q->type, "approval-attested") ==
		    0 ? "signer" : "agent", json_string(q->kid));
	if (ev != NULL && q->type != NULL)
		json_object_set_new(ev, "what", json_string(q->type));
	if (ev != NULL && q->node[0] != '\0')
		json_object_set_new(ev, "node", json_string(q->node));
	j = job_new(c, 0);
	if (j == NULL || job_event(j, ev) != 0) {
		job_free(j);
		return;
	}
	j->answer = authority_error(q->echo, q->kind, q->why);
	job_queue(j);
}

void
agent_overlong(struct lines_conn *c, size_t len, const uint8_t *hash)
{
	char hex[AUDIT_HEX_LEN + 1], why[96];
	struct job *j;

	audit_hex(hex, hash, AUDIT_HASH_LEN);
	audit_fmt(why, sizeof(why), "the line is longer than %d bytes",
	    LINE_MAX_BYTES);
	if (agent_refusal_counted(c, NULL, "too_large", why))
		return;
	j = job_new(c, 0);
	if (j == NULL || job_event(j, json_pack("{s:s, s:s, s:s, s:I, s:s}",
	    "event", "approval.refused", "kind", "too_large", "message", why,
	    "bytes", (json_int_t)len, "line_hash", hex)) != 0) {
		job_free(j);
		return;
	}
	j->answer = authority_error(NULL, "too_large", why);
	job_queue(j);
}

/*
 * Spend (kid, nonce), in a transaction of its own, committed before any
 * other check can refuse the line: synced with the batch, before the
 * answer (job.c).
 */
static int
nonce_spend(struct areq *q)
{
	struct audit_err e;
	MDB_txn *txn;
	int seen;

	if (store_begin(A->store, &txn, 0, &e) != 0)
		return fail(q, "unavailable", STATE_STOPPED);
	if ((seen = store_nonce_put(A->store, txn, q->kid, q->env.nonce,
	    q->env.ts, &e)) != 0) {
		mdb_txn_abort(txn);
		return seen == 2 ? fail(q, "replayed", REPLAY_FLOOR_WHY) :
		    seen > 0 ? fail(q, "replayed", "nonce: seen before "
		    "from this kid") : fail(q, "unavailable", STATE_STOPPED);
	}
	if (store_commit(A->store, txn, &e) != 0)
		return fail(q, "unavailable", STATE_STOPPED);
	return 0;
}

/*
 * May c ask now?  Not past its waits, and not when no rule grants and
 * the queue for people is full, or holds the agent's quota already.  *rule is the rule that grants, if any.
 */
static int
new_admit(struct lines_conn *c, struct areq *q, int64_t now,
    struct rule **rule, int *capped)
{
	const json_t *o = q->obj;

	if (c->holds >= CONN_WAIT_MAX)
		return fail(q, "unavailable", "this connection already waits "
		    "for 64 decisions");
	*rule = rules_match(&A->rules, q->kid, json_string_value(
	    json_object_get(o, "pod")), json_string_value(json_object_get(o,
	    "op")), json_object_get(o, "args"), now, capped);
	if (*rule == NULL && A->npend >= PENDING_MAX)
		return fail(q, "unavailable", "too many requests are waiting "
		    "for an operator");
	if (*rule == NULL && pending_of(q->kid, NULL, 0) >=
	    A->agent_pending) {
		audit_fmt(q->whybuf, sizeof(q->whybuf), "this agent "
		    "already has %d requests waiting for an operator, its "
		    "quota", A->agent_pending);
		return fail(q, "quota_exceeded", q->whybuf);
	}
	return 0;
}

/* The stored request: pending, or granted already by rule. */
static json_t *
new_record(const struct areq *q, uint64_t id, int64_t now,
    const struct rule *rule)
{
	const json_t *o = q->obj;
	struct audit_err e;
	json_t *rec, *token;
	char ids[24];

	if (audit_fit(ids, sizeof(ids), NULL, "%llu",
	    (unsigned long long)id) != 0)
		return NULL;
	rec = json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:s, s:O, s:O, "
	    "s:I, s:I, s:i}", "id", ids, "state", "pending", "agent", q->kid,
	    "pod", json_object_get(o, "pod"), "op", json_object_get(o, "op"),
	    "args", json_object_get(o, "args"), "args_digest", q->digest,
	    "reason", json_object_get(o, "reason"), "nonce",
	    json_object_get(o, "nonce"), "received", (json_int_t)now,
	    "expires", (json_int_t)(now + A->expire), "logged", 0);
	if (rec != NULL && q->node[0] != '\0')
		json_object_set_new(rec, "node", json_string(q->node));
	if (rec == NULL || rule == NULL)
		return rec;
	token = mint_token(rec, id, now, rule->ttl > 0 ? rule->ttl : A->ttl,
	    A->key, &e);
	if (token == NULL) {
		json_decref(rec);
		return NULL;
	}
	json_object_set_new(rec, "state", json_string("granted"));
	json_object_set_new(rec, "decided", json_integer(now));
	json_object_set_new(rec, "by", json_string("rule"));
	json_object_set_new(rec, "rule", json_string(rule->name));
	json_object_set_new(rec, "token", token);
	return rec;
}

/* The request, in one transaction: *id and *rec. */
static int
new_store(struct areq *q, int64_t now, const struct rule *rule,
    uint64_t *id, json_t **rec)
{
	struct audit_err e;
	MDB_txn *txn;

	if (store_begin(A->store, &txn, 0, &e) != 0)
		return fail(q, "unavailable", STATE_STOPPED);
	if (store_next_id(A->store, txn, id, &e) != 0 ||
	    (*rec = new_record(q, *id, now, rule)) == NULL) {
		mdb_txn_abort(txn);
		return fail(q, "internal", "the request cannot be stored");
	}
	if (store_put(A->store, txn, *id, *rec, &e) != 0) {
		mdb_txn_abort(txn);
		goto internal;
	}
	if (store_commit(A->store, txn, &e) != 0)
		goto internal;
	return 0;
internal:
	json_decref(*rec);
	*rec = NULL;
	return fail(q, "unavailable", STATE_STOPPED);
}

/* Its records, then its answer; a pending one waits on c for more. */
static int
new_answer(struct lines_conn *c, struct areq *q, uint64_t id, json_t *rec,
    const struct rule *rule, int capped)
{
	struct job *j;
	char why[160];

	if ((j = job_new(c, id)) == NULL)
		return fail(q, "internal", "the request cannot be stored");
	j->logged = rule != NULL ? 2 : 1;
	if (job_event(j, decision_event("approval.request", rec, id)) != 0 ||
	    (rule != NULL && job_event(j, decision_event("approval.grant",
	    rec, id)) != 0)) {
		job_free(j);
		return fail(q, "internal", "the request cannot be stored");
	}
	if (rule == NULL && capped > 0) {
		audit_fmt(why, sizeof(why), "%d matching rule%s reached %s "
		    "hourly cap", capped, capped > 1 ? "s" : "",
		    capped > 1 ? "their" : "its");
		json_object_set_new(j->events[0], "note", json_string(why));
	}
	j->answer = agent_answer(q->echo, id, rec);
	j->watch = json_incref(rec);
	if (rule == NULL) {
		j->wait_echo = json_incref(q->echo);
		c->holds++;
	}
	job_queue(j);
	return 0;
}

/*
 * A new request: stored in one transaction, auto-granted
 * there when a rule names it, recorded, answered once durable.
 */
static int
new_request(struct lines_conn *c, struct areq *q, int64_t now)
{
	struct rule *rule;
	json_t *rec;
	uint64_t id;
	int capped, rc;

	if (new_admit(c, q, now, &rule, &capped) != 0 ||
	    new_store(q, now, rule, &id, &rec) != 0)
		return -1;
	if (rule != NULL)
		rule_count(rule, now);
	else
		pending_add(id, now + A->expire, q->kid);
	rc = new_answer(c, q, id, rec, rule, capped);
	json_decref(rec);
	return rc;
}

/* Where a request stands: only for the agent that asked. */
static int
status(struct lines_conn *c, struct areq *q)
{
	struct audit_err e;
	json_t *rec = NULL;
	struct job *j;
	MDB_txn *txn;
	uint64_t id;

	id = q->id;
	if (store_begin(A->store, &txn, 1, &e) != 0)
		return fail(q, "internal", "the state cannot be read");
	(void)store_get(A->store, txn, id, &rec);
	mdb_txn_abort(txn);
	if (rec == NULL)
		return fail(q, "unknown_request", "no such request");
	if (!json_equal(json_object_get(rec, "agent"), json_object_get(q->obj,
	    "kid"))) {
		json_decref(rec);
		return fail(q, "forbidden", "the request is another agent's");
	}
	if ((j = job_new(c, id)) == NULL || job_event(j, json_pack(
	    "{s:s, s:O, s:s, s:O}", "event", "approval.status", "id",
	    json_object_get(rec, "id"), "agent", q->kid, "state",
	    json_object_get(rec, "state"))) != 0) {
		job_free(j);
		json_decref(rec);
		return fail(q, "internal", "the query cannot be recorded");
	}
	j->answer = agent_answer(q->echo, id, rec);
	/* Past the connection's limit it is answered, not kept waiting. */
	if (strcmp(json_string_value(json_object_get(rec, "state")),
	    "pending") == 0 && c->holds < CONN_WAIT_MAX) {
		j->wait_echo = json_incref(q->echo);
		c->holds++;
	}
	job_queue(j);
	json_decref(rec);
	return 0;
}

/* Parse a line and read its envelope; -1 with q->kind and q->why. */
int
agent_parse(struct areq *q, const char *line, size_t len)
{
	struct audit_err e;

	memset(q, 0, sizeof(*q));
	if (cjson_parse(line, len, &q->obj, &e) != 0 ||
	    !json_is_object(q->obj))
		return fail(q, "bad_request", "not a JSON object (duplicate "
		    "members, fractions and invalid UTF-8 are refused)");
	return envelope(q, kinds);
}

void
areq_free(struct areq *q)
{
	json_decref(q->echo);
	json_decref(q->obj);
	q->echo = q->obj = NULL;
}

void
agent_line(struct lines_conn *c, const char *line, size_t len)
{
	struct areq q;
	int64_t now = audit_now_s();
	int rc;

	if (A->stopped) {
		json_t *r = authority_error(NULL, "unavailable", LOG_STOPPED);

		lines_send(c, r);
		json_decref(r);
		return;
	}
	if ((rc = agent_parse(&q, line, len)) == 0 &&
	    (rc = agent_authenticate(&q, &A->agents, A->skew, now)) == 0 &&
	    (rc = nonce_spend(&q)) == 0 &&
	    (rc = attested(&q, now)) == 0 &&
	    (rc = agent_role(&q)) == 0 &&
	    (rc = agent_body(&q)) == 0)
		rc = strcmp(q.type, "approval-request") == 0 ?
		    new_request(c, &q, now) : status(c, &q);
	if (rc != 0)
		refuse(c, &q, line, len);
	areq_free(&q);
}
