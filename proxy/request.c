/*
 * Requests: one line in, one response out, and the audit records in
 * between.
 *
 *	line -> parse -> decide (policy, approval, budget)
 *	  denied:        decision record (deny)          -> error response
 *	  reads:         effect -> decision record with its outcome -> response
 *	  changes:       decision record -> effect -> outcome record -> response
 *
 * Each arrow after a record waits for that record to be durable (the
 * audit log's completion comes back through record.c), so no side effect
 * starts, and nothing read leaves the proxy, before its record is on disk.
 * A line that cannot be a request still gets a decision record (its
 * length and hash) and an error response, and the proxy goes on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy.h"
#include "approval.h"
#include "args.h"

_Static_assert(ARGS_ARGV_MAX == POLICY_ARGV_MAX,
    "args.c and libpolicy agree on a run's argv");
#include "exec.h"
#include "pstate.h"
#include "websearch.h"

static const char *const req_members[] = {
	"type", "v", "id", "kid", "ts", "nonce", "pod", "op", "args",
	"approval", "sig", NULL,
};

static const struct envelope_kind req_kinds[] = {
	{ "request", req_members, 1 },
	{ NULL, NULL, 0 }
};

void
request_free(struct req *r)
{
	if (r->conn != NULL)
		serve_release(r->conn);
	json_decref(r->id);
	json_decref(r->req);
	json_decref(r->response);
	json_decref(r->outcome);
	free(r);
}

static struct req *
req_new(struct conn *c)
{
	struct req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->conn = c;
	c->pending++;
	r->id = json_null();
	return r;
}

/* Answer now, with no record: only when the log itself has failed. */
static void
answer(struct req *r, json_t *resp)
{
	if (r->conn != NULL)
		serve_send(r->conn, resp);
	json_decref(resp);
}

/*
 * A record could not be submitted: answer without one.  Either the log
 * has stopped (nothing more can be recorded, so nothing more is done) or
 * this one record could not be made.
 */
static void
unrecorded(struct req *r)
{
	record_tell_stopped();	/* the node first: it answers for the pod */
	answer(r, P->stopped ? respond_error(r, "unavailable", "the audit "
	    "log has stopped: nothing is done that it cannot record") :
	    respond_error(r, "internal", "the audit record of this request "
	    "could not be made"));
	request_free(r);
}

/*
 * A line that is not a request: record it by its size and hash, answer
 * with the id when one could be read.
 */
static void
malformed(struct conn *c, json_t *id, const char *kind, const char *why,
    size_t len, const uint8_t hash[AUDIT_HASH_LEN])
{
	char hex[AUDIT_HEX_LEN + 1];
	struct req *r = req_new(c);
	json_t *ev;

	if (r == NULL)
		return;
	if (id != NULL) {
		json_decref(r->id);
		r->id = json_incref(id);
	}
	audit_hex(hex, hash, AUDIT_HASH_LEN);
	r->response = respond_error(r, kind, why);
	ev = json_pack("{s:s, s:O, s:s, s:s, s:I, s:s, s:s}", "event",
	    "decision", "id", r->id, "decision", "deny", "kind", kind, "bytes",
	    (json_int_t)len, "line_hash", hex, "reason", why);
	r->stage = STAGE_OUTCOME;
	if (record_submit(r, ev) != 0) {
		record_tell_stopped();
		answer(r, json_incref(r->response));
		request_free(r);
	}
	json_decref(ev);
}

void
request_overlong(struct conn *c, size_t len, const uint8_t *hash)
{
	char why[96];

	audit_fmt(why, sizeof(why), "request line longer than %zu bytes",
	    P->cfg.lim.line);
	malformed(c, NULL, "too_large", why, len, hash);
}

/*
 * The envelope of formats.md section 4 (envelope.c), then the members a
 * tool request adds; why says what is wrong.  The node checked the
 * signature; the proxy checks every member's form all the same.
 */
static int
check_envelope(struct req *r, const char **why)
{
	json_t *o = r->req, *v;

	if (envelope_read(o, req_kinds, &r->env) != 0) {
		if (r->env.id != NULL) {
			json_decref(r->id);
			r->id = json_incref((json_t *)r->env.id);
		}
		return *why = r->env.why, -1;
	}
	json_decref(r->id);
	r->id = json_incref((json_t *)r->env.id);
	if (audit_fit(r->kid, sizeof(r->kid), NULL, "%s", r->env.kid) != 0)
		return *why = "kid: expected a key id", -1;
	v = json_object_get(o, "op");
	if (!json_is_string(v) || audit_fit(r->op, sizeof(r->op), NULL, "%s",
	    json_string_value(v)) != 0)
		return *why = "op: expected an operation", -1;
	r->args = json_object_get(o, "args");
	if (!json_is_object(r->args))
		return *why = "args: expected an object", -1;
	v = json_object_get(o, "pod");
	if (!json_is_string(v))
		return *why = "pod: expected a string", -1;
	v = json_object_get(o, "approval");
	if (v != NULL && !json_is_object(v))
		return *why = "approval: expected a token object", -1;
	return 0;
}

/* The hash of the exact args, as a token names them. */
static int
digest_args(struct req *r)
{
	struct audit_buf b = { 0 };
	struct audit_err e;
	uint8_t h[AUDIT_HASH_LEN];

	if (cjson_encode(r->args, &b, &e) != 0) {
		audit_buf_free(&b);
		return -1;
	}
	audit_hash(h, b.p, b.len);
	audit_hex(r->args_digest, h, AUDIT_HASH_LEN);
	audit_buf_free(&b);
	return 0;
}

static int
denied(struct req *r, enum policy_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
denied(struct req *r, enum policy_kind kind, const char *fmt, ...)
{
	va_list ap;

	r->d.verdict = VERDICT_DENY;
	r->d.kind = kind;
	va_start(ap, fmt);
	vsnprintf(r->d.reason, sizeof(r->d.reason), fmt, ap);
	va_end(ap);
	return -1;
}

static int
nonce_consumed(void *arg, const uint8_t nonce[AUDIT_NONCE_LEN])
{
	return pstate_nonce_seen(arg, nonce);
}

/*
 * The request's token: the seven rules of approval.c, then its nonce
 * consumed, durably, before anything records or does the operation.  On
 * failure the request is refused as invalid_approval.
 */
static int
approval_check(struct req *r, const json_t *token)
{
	struct approval_ctx ctx = { P->cfg.pod, time(NULL), P->cfg.skew,
	    P->cfg.token_lifetime_max, &P->trust, nonce_consumed, P->state };
	struct approval a;
	struct audit_err e;
	int which;

	if (approval_verify(token, &ctx, r->op, r->args_digest, r->kid, &a,
	    &which, r->d.reason, sizeof(r->d.reason)) != 0)
		goto refuse;
	if (pstate_nonce_consume(P->state, a.nonce, a.exp, &e) != 0) {
		audit_fmt(r->d.reason, sizeof(r->d.reason), "rule 7: %s",
		    e.msg);
		goto refuse;
	}
	/* The same size as a.id: it fits. */
	memcpy(r->approval_id, a.id, sizeof(r->approval_id));
	memcpy(r->approval_nonce, a.nonce_hex, sizeof(r->approval_nonce));
	return 0;
refuse:
	r->d.verdict = VERDICT_DENY;
	r->kind = "invalid_approval";
	return -1;
}

/*
 * What the policy is asked about r: its pod, operation and path, its
 * args checked (argv into argv), and what it would cost.
 */
static int
policy_request_of(struct req *r, struct policy_request *pr,
    const char **argv)
{
	const json_t *pathv = json_object_get(r->args, "path");
	char why[POLICY_REASON_MAX];

	memset(pr, 0, sizeof(*pr));
	if (strcmp(json_string_value(json_object_get(r->req, "pod")),
	    P->cfg.pod) != 0)
		return denied(r, KIND_BAD_REQUEST, "this proxy serves pod %s",
		    P->cfg.pod);
	if (policy_op_from_name(r->op, &pr->op) != 0)
		return denied(r, KIND_BAD_REQUEST, "unknown operation");
	r->pop = pr->op;
	/* The shape first (args.c, as the authority checks it), then what
	 * the pod's limits bound. */
	if (args_check(r->op, r->args, why, sizeof(why)) != 0 ||
	    (pr->op == OP_RUN && exec_check(r->args, why, sizeof(why)) != 0))
		return denied(r, KIND_BAD_REQUEST, "%s", why);
	if (pathv != NULL) {
		pr->path = json_string_value(pathv);
		pr->pathlen = json_string_length(pathv);
	} else if (pr->op == OP_GLOB || pr->op == OP_GREP ||
	    pr->op == OP_LIST) {
		pr->path = ".";
		pr->pathlen = 1;
	}
	if (pr->op == OP_RUN)
		exec_argv(r->args, argv, &pr->argc);
	pr->argv = argv;
	if (pr->op == OP_WRITE && pr->path != NULL)
		pr->exists = resolve_exists(&P->root, pr->path, pr->pathlen);
	pr->cost = pr->op == OP_RUN ? exec_cost(r->args) :
	    P->cfg.cost.base;
	return 0;
}

/*
 * The policy saw the path as named; where a change to it would really
 * land (through symbolic links) is checked too, before the decision is
 * recorded, so a record never says allow where the agent is told no.
 */
static int
change_refused(struct req *r)
{
	char why[POLICY_REASON_MAX];
	enum policy_kind kind;

	if (fs_precheck(r, &kind, why, sizeof(why)) == 0 || kind == KIND_NONE)
		return 0;
	return denied(r, kind, "%s", why);
}

/* Steps of the decision the policy cannot take alone. */
static int
decide(struct req *r)
{
	struct policy_request pr;
	struct policy_state ps;
	const char *argv[POLICY_ARGV_MAX + 1];
	json_t *token = json_object_get(r->req, "approval");
	char why[POLICY_REASON_MAX];

	if (policy_request_of(r, &pr, argv) != 0)
		return -1;
	pstate_budget(P->state, &ps.consumed, &ps.reserved);
	ps.now = time(NULL);
	pr.approved = token != NULL;	/* checked below, if needed */
	policy_decide(&P->cfg.policy, &ps, &pr, &r->d);
	if (r->d.verdict == VERDICT_ALLOW && change_refused(r) != 0)
		return -1;
	if (r->d.verdict == VERDICT_ALLOW && token != NULL &&
	    (P->cfg.policy.obligations & CAPSET(r->d.cap)) != 0 &&
	    approval_check(r, token) != 0)
		return -1;
	if (r->d.verdict == VERDICT_ALLOW && token == NULL &&
	    (P->cfg.policy.obligations & CAPSET(r->d.cap)) != 0)
		r->d.verdict = VERDICT_APPROVAL;
	if (r->d.verdict != VERDICT_ALLOW)
		return -1;
	if (pr.op == OP_RUN && P->commands >= P->cfg.lim.commands) {
		r->kind = "unavailable";
		return denied(r, KIND_NONE, "%d commands are running; the limit "
		    "is %d", P->commands, P->cfg.lim.commands);
	}
	if ((pr.op == OP_WEB_FETCH || pr.op == OP_WEB_SEARCH) &&
	    fetch_take(pr.op == OP_WEB_SEARCH, &r->kind, why,
	    sizeof(why)) != 0)
		return denied(r, KIND_NONE, "%s", why);
	if (pstate_reserve(P->state, pr.cost) != 0) {
		if (pr.op == OP_WEB_FETCH || pr.op == OP_WEB_SEARCH)
			fetch_give();
		return denied(r, KIND_BUDGET_EXHAUSTED, "the budget cannot "
		    "hold the operation's cost");
	}
	/* Searches waiting are bounded, in all and per agent (worker.c). */
	if ((pr.op == OP_GLOB || pr.op == OP_GREP) &&
	    worker_take(r->kid, why, sizeof(why)) != 0) {
		pstate_settle(P->state, pr.cost, 0);
		r->kind = "unavailable";
		return denied(r, KIND_NONE, "%s", why);
	}
	r->reserved = pr.cost;
	if (pr.op == OP_RUN)
		P->commands++;	/* counted until the command is done */
	return 0;
}

static int
read_only(enum policy_op op)
{
	return op == OP_READ || op == OP_STAT || op == OP_LIST ||
	    op == OP_GLOB || op == OP_GREP;
}

/*
 * Past its agent's limit of refusals (refusals.c), a refusal is counted:
 * answered unavailable, its record a short one (refusals_record).  One
 * that used a token is recorded in full.
 */
static json_t *
refuse_counted(struct req *r, const char *kind)
{
	char why[POLICY_REASON_MAX];

	if (r->approval_nonce[0] != '\0' ||
	    refusals_admit(r->kid, kind, why, sizeof(why)) == 0)
		return NULL;
	r->response = respond_error(r, "unavailable", why);
	return refusals_record(r, kind);
}

/* The error response of a refused request, its record, and go. */
static void
refuse(struct req *r)
{
	const char *kind = r->kind != NULL ? r->kind :
	    r->d.verdict == VERDICT_APPROVAL ? "approval_required" :
	    policy_kind_name(r->d.kind);
	json_t *ev;

	if ((ev = refuse_counted(r, kind)) != NULL)
		goto record;
	r->response = respond_error(r, kind, r->d.reason);
	if (r->d.verdict == VERDICT_APPROVAL) {
		json_t *err = json_object_get(r->response, "error");

		json_object_set_new(err, "op", json_string(r->op));
		json_object_set_new(err, "args_digest",
		    json_string(r->args_digest));
		json_object_set_new(err, "obligation",
		    json_string(policy_cap_name(r->d.cap)));
	}
	ev = record_decision(r);
record:
	r->stage = STAGE_OUTCOME;
	if (record_submit(r, ev) != 0) {
		unrecorded(r);
	}
	json_decref(ev);
}

/* A read is done: one record with the decision and the outcome. */
static void
read_done(struct req *r, json_t *result, enum policy_kind kind,
    const char *why)
{
	json_t *ev;

	pstate_settle(P->state, r->reserved, r->reserved);
	r->reserved = 0;
	if (result == NULL) {
		r->d.verdict = kind == KIND_NONE ? VERDICT_ALLOW : VERDICT_DENY;
		r->d.kind = kind == KIND_NONE ? KIND_NONE : kind;
		audit_fmt(r->d.reason, sizeof(r->d.reason), "%s", why);
		r->response = respond_error(r, kind == KIND_NONE ?
		    "io_error" : policy_kind_name(kind), why);
	} else
		r->response = respond_ok(r, result);
	ev = record_decision(r);
	if (r->outcome != NULL)
		json_object_update(ev, r->outcome);
	/* Allowed, and failed: the record says so, as the agent is told. */
	if (result == NULL && kind == KIND_NONE && ev != NULL)
		json_object_update_new(ev, json_pack("{s:s, s:s, s:s}",
		    "status", "error", "kind", "io_error", "reason", why));
	r->stage = STAGE_OUTCOME;
	if (record_submit(r, ev) != 0) {
		unrecorded(r);
	}
	json_decref(ev);
}

/* A read: searches go to a worker, the rest are done here and now. */
static void
run_read(struct req *r)
{
	char why[POLICY_REASON_MAX];
	enum policy_kind kind;
	json_t *result;

	if (r->pop == OP_GLOB || r->pop == OP_GREP) {
		worker_submit(r);
		return;
	}
	result = fs_do(r, &kind, why, sizeof(why));
	read_done(r, result, kind, why);
}

/*
 * The line as a request: a JSON object with the envelope of formats.md
 * section 4 and args that are canonical JSON, their digest taken.  -1
 * with why set when it is not; r->id is then the id, if one was read.
 * Nothing here looks at the policy or the disk.
 */
int
request_parse(struct req *r, const char *line, size_t len, const char **why)
{
	struct audit_err e;

	*why = "not a JSON object (duplicate members, fractions and invalid "
	    "UTF-8 are refused)";
	if (cjson_parse(line, len, &r->req, &e) != 0 ||
	    !json_is_object(r->req))
		return -1;
	*why = NULL;
	if (check_envelope(r, why) != 0)
		return -1;
	if (digest_args(r) != 0) {
		*why = "args cannot be canonical JSON";
		return -1;
	}
	return 0;
}

void
request_line(struct conn *c, const char *line, size_t len)
{
	uint8_t h[AUDIT_HASH_LEN];
	const char *why;
	struct req *r;
	json_t *ev;

	/* The node, come (back): what its copy holds first (record.c). */
	if (c->node_wait) {
		/* A VM's port is the one channel: it stays, waiting. */
		if (record_resume(c, line, len) != 0 && !c->persists)
			serve_drop(c);
		return;
	}
	/* The node's word on its copy of the log (reclaim.c). */
	if (c == P->copy_conn && reclaim_line(line, len) == 0)
		return;
	/* The node's word on the pod's work (pack.c). */
	if (c == P->copy_conn && pack_line(c, line, len) == 0)
		return;
	/* A line refused as a whole is recorded by its hash; answered
	 * under its id when it has one, for a peer that routes answers by
	 * id (the node) would otherwise drop it. */
	if (P->stopped) {
		json_t *o = NULL, *id = NULL;
		struct audit_err e;

		if (cjson_parse(line, len, &o, &e) == 0)
			id = json_object_get(o, "id");
		if (!json_is_string(id) || json_string_length(id) > ID_MAX ||
		    !audit_printable(json_string_value(id),
		    json_string_length(id)))
			id = NULL;
		audit_hash(h, line, len);
		malformed(c, id, "unavailable", "the audit log has stopped",
		    len, h);
		json_decref(o);
		return;
	}
	if ((r = req_new(c)) == NULL)
		return;
	if (request_parse(r, line, len, &why) != 0) {
		json_t *id = json_incref(r->id);
		char msg[sizeof(r->env.msg)];

		audit_fmt(msg, sizeof(msg), "%s", why);	/* r's, freed */
		request_free(r);
		audit_hash(h, line, len);
		malformed(c, id, "bad_request", msg, len, h);
		json_decref(id);
		return;
	}
	if (decide(r) != 0) {
		refuse(r);
		return;
	}
	if (read_only(r->pop)) {
		run_read(r);
		return;
	}
	ev = record_decision(r);
	r->stage = STAGE_DECIDE;
	if (record_submit(r, ev) != 0) {
		pstate_settle(P->state, r->reserved, 0);
		unrecorded(r);
	}
	json_decref(ev);
}

/* The change a decision allowed, now that its record is durable. */
static void
effect(struct req *r)
{
	enum policy_kind kind = KIND_NONE;
	char why[POLICY_REASON_MAX];
	json_t *result = NULL;

	r->stage = STAGE_EFFECT;
	if (r->pop == OP_RUN) {
		if (exec_start(r) == 0)
			return;	/* exec.c moves the request on when done */
		audit_fmt(why, sizeof(why), "%s", r->d.reason);
	} else if (r->pop == OP_WEB_FETCH || r->pop == OP_WEB_SEARCH) {
		if (fetch_start(r) == 0)
			return;	/* fetch.c moves the request on when done */
		audit_fmt(why, sizeof(why), "%s", r->d.reason);
	} else
		result = fs_do(r, &kind, why, sizeof(why));
	pstate_settle(P->state, r->reserved, r->reserved);
	r->reserved = 0;
	if (r->outcome == NULL)
		r->outcome = json_object();
	if (result == NULL) {
		const char *k = r->kind != NULL ? r->kind : kind ==
		    KIND_NONE ? "io_error" : policy_kind_name(kind);

		r->response = respond_error(r, k, why);
		/* Refused after an allow was recorded (the tree changed in
		 * between): the outcome says so, as the agent is told. */
		if (r->kind == NULL && kind != KIND_NONE)
			json_object_set_new(r->outcome, "decision",
			    json_string("deny"));
		json_object_set_new(r->outcome, "status", json_string("error"));
		json_object_set_new(r->outcome, "kind", json_string(k));
		json_object_set_new(r->outcome, "reason", json_string(why));
	} else {
		r->response = respond_ok(r, result);
		json_object_set_new(r->outcome, "status", json_string("ok"));
	}
	request_advance(r);
}

/*
 * Move a request on once the record it waited for is durable (or once
 * its command ended, for STAGE_EFFECT).
 */
void
request_advance(struct req *r)
{
	json_t *ev;

	if (r->connection) {
		egress_advance(r);
		return;
	}
	if (r->audit_error != 0 && r->stage != STAGE_EFFECT) {
		/* Nothing may happen that the log cannot record. */
		P->stopped = 1;
		if (r->reserved > 0)
			pstate_settle(P->state, r->reserved, 0);
		unrecorded(r);
		return;
	}
	switch (r->stage) {
	case STAGE_SEARCH: {
		json_t *found = r->found;

		worker_give(r->kid);
		/* read_done() takes the result, and may free r. */
		r->found = NULL;
		read_done(r, found, r->found_kind, r->found_why);
		return;
	}
	case STAGE_DECIDE:
		effect(r);
		return;
	case STAGE_FETCH:
		fetch_done(r);
		return;
	case STAGE_EFFECT:
		ev = json_pack("{s:s, s:O}", "event", "outcome", "id", r->id);
		if (r->outcome != NULL)
			json_object_update(ev, r->outcome);
		r->stage = STAGE_OUTCOME;
		r->audit_error = 0;
		if (record_submit(r, ev) != 0) {
			unrecorded(r);
		}
		json_decref(ev);
		return;
	case STAGE_OUTCOME:
		/* The response names the record that holds the outcome. */
		json_object_set_new(r->response, "audit", json_pack(
		    "{s:s, s:I, s:s}", "log", P->log_id, "seq",
		    (json_int_t)r->audit_seq, "hash", r->audit_hash));
		answer(r, json_incref(r->response));
		r->stage = STAGE_DONE;
		request_free(r);
		return;
	case STAGE_DONE:
		return;
	}
}
