/*
 * The admin socket: operators only.  The peer's uid, read with
 * SO_PEERCRED when it connects, must be one of the configured operators;
 * anyone else gets one forbidden answer, is recorded, and is cut off.
 * Commands are JSON lines (nucleus-authority(8), ADMIN PROTOCOL):
 *
 *	{"type":"admin","v":1,"id":ID,"op":OP,"args":{...}}
 *
 * with OP list, show, grant, deny or watch; deny names one request, or
 * with args.agent all of one agent's pending requests.  Every command is recorded
 * with the operator's uid before it is answered.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authority.h"
#include "members.h"

struct acmd {
	json_t	*obj;
	json_t	*echo;		/* the command's id */
	const char *op;
	json_t	*args;
	uint64_t id;		/* the request it names */
};

static json_t *
ok(const json_t *echo, json_t *result)
{
	return json_pack("{s:s, s:i, s:O, s:b, s:o}", "type", "response", "v",
	    1, "id", echo != NULL ? echo : json_null(), "ok", 1, "result",
	    result != NULL ? result : json_object());
}

static json_t *
admin_event(const struct lines_conn *c, const char *op)
{
	return json_pack("{s:s, s:s, s:I, s:I}", "event", "admin", "op", op,
	    "uid", (json_int_t)c->uid, "pid", (json_int_t)c->pid);
}

/* Record ev, then answer; both owned by the job. */
static void
queue(struct lines_conn *c, uint64_t id, json_t *ev, json_t *answer)
{
	struct job *j = job_new(c, id);

	if (j == NULL || job_event(j, ev) != 0) {
		json_decref(answer);
		job_free(j);
		return;
	}
	j->answer = answer;
	job_queue(j);
}

/* A command refused: recorded with what was asked, and why. */
static void
refuse(struct lines_conn *c, struct acmd *q, const char *kind, const char *why)
{
	json_t *ev = admin_event(c, q->op != NULL ? q->op : "?");

	if (ev != NULL) {
		json_object_set_new(ev, "kind", json_string(kind));
		json_object_set_new(ev, "message", json_string(why));
		if (q->id != 0)
			json_object_set_new(ev, "id", json_sprintf("%llu",
			    (unsigned long long)q->id));
	}
	queue(c, 0, ev, authority_error(q->echo, kind, why));
}

/* uid is one of the authority's operators (-o, root, its own). */
int
admin_is_operator(uid_t uid)
{
	for (int i = 0; i < A->noperators; i++)
		if (A->operators[i] == uid)
			return 1;
	return 0;
}

int
admin_accept(struct lines_conn *c)
{
	json_t *ev;

	if (admin_is_operator(c->uid))
		return 0;
	/* Past its uid's RWIN_MAX in RWIN_S: answered, counted (rwin.h). */
	if (agent_refusal_counted(c, NULL, "forbidden", "this uid is not "
	    "an operator of the authority"))
		return -1;
	ev = json_pack("{s:s, s:I, s:I}", "event", "admin.refused", "uid",
	    (json_int_t)c->uid, "pid", (json_int_t)c->pid);
	queue(c, 0, ev, authority_error(NULL, "forbidden", "this uid is not "
	    "an operator of the authority"));
	return -1;
}

void
admin_overlong(struct lines_conn *c, size_t len, const uint8_t *hash)
{
	char hex[AUDIT_HEX_LEN + 1];
	json_t *ev = admin_event(c, "?");

	audit_hex(hex, hash, AUDIT_HASH_LEN);
	if (ev != NULL) {
		json_object_set_new(ev, "kind", json_string("too_large"));
		json_object_set_new(ev, "bytes", json_integer((json_int_t)len));
		json_object_set_new(ev, "line_hash", json_string(hex));
	}
	queue(c, 0, ev, authority_error(NULL, "too_large", "the line is "
	    "longer than the limit"));
}

/*
 * A list is written as it is read, never held as one tree: ten thousand
 * summaries as jansson objects weigh some ten times their text, and an
 * answer waits for its record to be durable before it goes out.  The
 * pending requests' text is kept in id order (oldest first); of the
 * others, only the newest LIST_MAX, in a ring.
 */
struct listing {
	struct audit_buf pending;	/* ",{...}" each */
	size_t	 npending;
	char	*rest[LIST_MAX];	/* "{...}" each; the oldest at head */
	size_t	 head, nrest;
	size_t	 total;
};

static int
list_each(void *arg, uint64_t id, json_t *rec)
{
	struct listing *l = arg;
	struct audit_buf b = { NULL, 0, 0 };
	struct audit_err e;
	json_t *s = request_summary(id, rec);
	size_t slot;
	int rc;

	if (s == NULL)
		return -1;
	rc = cjson_encode(s, &b, &e);
	json_decref(s);
	if (rc != 0) {
		audit_buf_free(&b);
		return -1;
	}
	l->total++;
	if (strcmp(json_string_value(json_object_get(rec, "state")),
	    "pending") == 0) {
		rc = l->npending >= LIST_MAX ? 0 :
		    audit_buf_add(&l->pending, ",", 1) != 0 ||
		    audit_buf_add(&l->pending, b.p, b.len) != 0 ? -1 : 0;
		if (rc == 0 && l->npending < LIST_MAX)
			l->npending++;
		audit_buf_free(&b);
		return rc;
	}
	if (l->nrest < LIST_MAX)
		slot = (l->head + l->nrest++) % LIST_MAX;
	else {
		slot = l->head;
		free(l->rest[slot]);
		l->head = (l->head + 1) % LIST_MAX;
	}
	l->rest[slot] = b.p;	/* taken */
	return 0;
}

static void
listing_free(struct listing *l)
{
	if (l == NULL)
		return;
	audit_buf_free(&l->pending);
	for (size_t i = 0; i < l->nrest; i++)
		free(l->rest[(l->head + i) % LIST_MAX]);
	free(l);
}

static int
add(struct audit_buf *b, const char *s)
{
	return audit_buf_add(b, s, strlen(s));
}

/*
 * The answer's line, keys in the order cjson_encode puts them: pending
 * first, then the others newest first, LIST_MAX in all.
 */
static int
list_answer(const struct listing *l, const json_t *echo, struct audit_buf *b)
{
	struct audit_err e;
	size_t n = l->npending;
	int rc;

	rc = add(b, "{\"id\":") != 0 ||
	    cjson_encode(echo != NULL ? echo : json_null(), b, &e) != 0 ||
	    add(b, ",\"ok\":true,\"result\":{\"requests\":[") != 0 ||
	    (l->pending.len > 0 &&
	    audit_buf_add(b, l->pending.p + 1, l->pending.len - 1) != 0);
	for (size_t i = 0; rc == 0 && i < l->nrest && n < LIST_MAX; i++, n++)
		rc = (n > 0 && add(b, ",") != 0) ||
		    add(b, l->rest[(l->head + l->nrest - 1 - i) % LIST_MAX]) !=
		    0;
	if (rc == 0)
		rc = add(b, "],\"truncated\":") != 0 ||
		    add(b, l->total > n ? "true" : "false") != 0 ||
		    add(b, "},\"type\":\"response\",\"v\":1}") != 0;
	return rc != 0 ? -1 : 0;
}

static void
cmd_list(struct lines_conn *c, struct acmd *q)
{
	struct listing *l = calloc(1, sizeof(*l));
	struct audit_err e;
	struct job *j;
	MDB_txn *txn;

	if (l == NULL) {
		refuse(c, q, "internal", "out of memory");
		return;
	}
	if (store_begin(A->store, &txn, 1, &e) != 0) {
		listing_free(l);
		refuse(c, q, "internal", "the state cannot be read");
		return;
	}
	if (store_each(A->store, txn, list_each, l) != 0) {
		/* a list cut short without saying so would mislead */
		mdb_txn_abort(txn);
		listing_free(l);
		refuse(c, q, "internal", "the state cannot be read");
		return;
	}
	mdb_txn_abort(txn);
	j = job_new(c, 0);
	if (j == NULL || list_answer(l, q->echo, &j->answer_text) != 0) {
		listing_free(l);
		job_free(j);
		refuse(c, q, "internal", "out of memory");
		return;
	}
	listing_free(l);
	if (job_event(j, admin_event(c, "list")) != 0) {
		job_free(j);
		return;
	}
	job_queue(j);
}

static json_t *
load(struct acmd *q, MDB_txn *txn)
{
	json_t *rec;

	if (store_get(A->store, txn, q->id, &rec) != 0)
		return NULL;
	return rec;
}

static void
cmd_show(struct lines_conn *c, struct acmd *q)
{
	struct audit_err e;
	MDB_txn *txn;
	json_t *rec, *ev;

	if (store_begin(A->store, &txn, 1, &e) != 0) {
		refuse(c, q, "internal", "the state cannot be read");
		return;
	}
	rec = load(q, txn);
	mdb_txn_abort(txn);
	if (rec == NULL) {
		refuse(c, q, "unknown_request", "no such request");
		return;
	}
	json_object_del(rec, "logged");
	ev = admin_event(c, "show");
	if (ev != NULL)
		json_object_set(ev, "id", json_object_get(rec, "id"));
	queue(c, 0, ev, ok(q->echo, json_pack("{s:o}", "request", rec)));
}

/* grant's ttl_s and deny's reason: 0, or -1 when refused. */
static int
decide_args(struct lines_conn *c, struct acmd *q, int grant, int *ttl,
    const json_t **reason)
{
	const json_t *v;

	*ttl = A->ttl;
	if (grant && (v = json_object_get(q->args, "ttl_s")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > A->ttl) {
			char why[80];

			audit_fmt(why, sizeof(why), "ttl_s: expected 1 to %d "
			    "seconds", A->ttl);
			refuse(c, q, "bad_request", why);
			return -1;
		}
		*ttl = (int)json_integer_value(v);
	}
	v = json_object_get(q->args, "reason");
	if (!grant && v != NULL && (!json_is_string(v) ||
	    json_string_length(v) > REASON_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))) {
		refuse(c, q, "bad_request", "reason: expected text of at most "
		    "1024 bytes");
		return -1;
	}
	*reason = v;
	return 0;
}

/* Why a decision could not be made: an error kind and a message. */
struct verdict {
	const char *kind;
	char	 why[80];
};

static json_t *
no_verdict(struct verdict *v, const char *kind, const char *why)
{
	v->kind = kind;
	audit_fmt(v->why, sizeof(v->why), "%s", why);
	return NULL;
}

/* Request id, in txn, if still pending; else NULL with v filled. */
static json_t *
decide_pending(uint64_t id, MDB_txn *txn, int64_t now, struct verdict *v)
{
	const char *state;
	json_t *rec;

	if (store_get(A->store, txn, id, &rec) != 0)
		return no_verdict(v, "unknown_request", "no such request");
	state = json_string_value(json_object_get(rec, "state"));
	if (strcmp(state, "pending") == 0 && json_integer_value(
	    json_object_get(rec, "expires")) > now)
		return rec;
	v->kind = "not_pending";
	audit_fmt(v->why, sizeof(v->why), "the request is %s, no longer "
	    "pending", strcmp(state, "pending") == 0 ? "expired" : state);
	json_decref(rec);
	return NULL;
}

/* rec decided by the operator on c: granted with a token, or denied. */
static int
decide_mark(json_t *rec, const struct lines_conn *c, uint64_t id, int grant,
    int ttl, const json_t *reason, int64_t now)
{
	struct audit_err e;
	json_t *token;

	json_object_set_new(rec, "decided", json_integer(now));
	json_object_set_new(rec, "by", json_string("operator"));
	json_object_set_new(rec, "uid", json_integer((json_int_t)c->uid));
	if (!grant) {
		json_object_set_new(rec, "state", json_string("denied"));
		json_object_set_new(rec, "deny_reason", reason != NULL ?
		    json_incref((json_t *)reason) : json_string(""));
		return 0;
	}
	if ((token = mint_token(rec, id, now, ttl, A->key, &e)) == NULL)
		return -1;
	json_object_set_new(rec, "state", json_string("granted"));
	json_object_set_new(rec, "token", token);
	return 0;
}

/*
 * The decision's record, then its waiters and watchers; and, with echo,
 * the operator's answer (a deny of all of an agent's requests answers
 * once, for all of them).
 */
static void
decide_answer(struct lines_conn *c, uint64_t id, const json_t *echo,
    json_t *rec, int grant)
{
	const json_t *t = json_object_get(rec, "token");
	json_t *result;
	struct job *j;

	if ((j = job_new(c, id)) == NULL || job_event(j, decision_event(
	    grant ? "approval.grant" : "approval.deny", rec, id)) != 0) {
		/* the state is durable at the next sync; recover.c logs it */
		job_free(j);
		return;
	}
	json_object_set_new(j->events[0], "pid", json_integer(
	    (json_int_t)c->pid));
	j->logged = 2;
	j->notify = json_incref(rec);
	j->watch = json_incref(rec);
	if (echo == NULL) {
		job_queue(j);
		return;
	}
	result = json_pack("{s:O, s:O}", "id", json_object_get(rec, "id"),
	    "state", json_object_get(rec, "state"));
	if (grant && result != NULL)
		json_object_set_new(result, "token", json_pack("{s:O, s:O, "
		    "s:O}", "id", json_object_get(t, "id"), "nonce",
		    json_object_get(t, "nonce"), "exp", json_object_get(t,
		    "exp")));
	j->answer = ok(echo, result);
	job_queue(j);
}

/*
 * Decide request id, in one transaction that first checks it is
 * pending: the decided record, or NULL with v filled.
 */
static json_t *
decide_store(const struct lines_conn *c, uint64_t id, int grant, int ttl,
    const json_t *reason, int64_t now, struct verdict *v)
{
	struct audit_err e;
	json_t *rec;
	MDB_txn *txn;

	if (store_begin(A->store, &txn, 0, &e) != 0)
		return no_verdict(v, "unavailable", STATE_STOPPED);
	if ((rec = decide_pending(id, txn, now, v)) == NULL) {
		mdb_txn_abort(txn);
		return NULL;
	}
	if (decide_mark(rec, c, id, grant, ttl, reason, now) != 0) {
		mdb_txn_abort(txn);
		json_decref(rec);
		return no_verdict(v, "internal", "the token cannot be made");
	}
	if (store_put(A->store, txn, id, rec, &e) != 0) {
		/* an open write transaction would block every later one */
		mdb_txn_abort(txn);
		json_decref(rec);
		return no_verdict(v, "unavailable", STATE_STOPPED);
	}
	if (store_commit(A->store, txn, &e) != 0) {
		json_decref(rec);
		return no_verdict(v, "unavailable", STATE_STOPPED);
	}
	pending_del(id);
	return rec;
}

/* grant and deny of one request. */
static void
decide(struct lines_conn *c, struct acmd *q, int grant)
{
	const json_t *reason = NULL;
	struct verdict v;
	json_t *rec;
	int ttl;

	if (decide_args(c, q, grant, &ttl, &reason) != 0)
		return;
	if ((rec = decide_store(c, q->id, grant, ttl, reason, audit_now_s(),
	    &v)) == NULL) {
		refuse(c, q, v.kind, v.why);
		return;
	}
	decide_answer(c, q->id, q->echo, rec, grant);
	json_decref(rec);
}

/*
 * deny with args.agent: every request of that agent still pending, each
 * denied and recorded as one deny would be; one answer lists their ids,
 * after one admin record that names the agent and their number.
 */
static void
deny_agent(struct lines_conn *c, struct acmd *q, json_t *agent)
{
	static uint64_t ids[PENDING_MAX];
	const json_t *reason = NULL;
	int64_t now = audit_now_s();
	struct verdict v;
	json_t *denied, *rec, *ev;
	int n, ttl;

	if (!json_is_string(agent) || !audit_kid_valid(json_string_value(
	    agent), json_string_length(agent))) {
		refuse(c, q, "bad_request", "args.agent: expected an agent's "
		    "key id");
		return;
	}
	if (decide_args(c, q, 0, &ttl, &reason) != 0)
		return;
	n = pending_of(json_string_value(agent), ids, PENDING_MAX);
	if ((denied = json_array()) == NULL) {
		refuse(c, q, "internal", "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		if ((rec = decide_store(c, ids[i], 0, ttl, reason, now,
		    &v)) == NULL)
			continue;	/* decided or expired meanwhile */
		decide_answer(c, ids[i], NULL, rec, 0);
		json_array_append(denied, json_object_get(rec, "id"));
		json_decref(rec);
	}
	if ((ev = admin_event(c, "deny")) != NULL) {
		json_object_set(ev, "agent", agent);
		json_object_set_new(ev, "denied", json_integer(
		    (json_int_t)json_array_size(denied)));
	}
	queue(c, 0, ev, ok(q->echo, json_pack("{s:O, s:o}", "agent", agent,
	    "denied", denied)));
}

static void
cmd_watch(struct lines_conn *c, struct acmd *q)
{
	c->flags |= FLAG_WATCHING;
	c->lingers = 1;		/* quiet on purpose: never idle */
	queue(c, 0, admin_event(c, "watch"), ok(q->echo, json_pack("{s:b}",
	    "watching", 1)));
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

/* The command's envelope: type, v, id, args; 0, or -1 when refused. */
static int
command_parse(struct lines_conn *c, struct acmd *q, const char *line,
    size_t len)
{
	static const char *const members[] = { "type", "v", "id", "op",
	    "args", NULL };
	json_error_t jerr;
	json_t *v;

	q->obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(q->obj)) {
		refuse(c, q, "bad_request", "not a JSON object");
		return -1;
	}
	q->echo = json_incref(json_object_get(q->obj, "id"));
	if (q->echo != NULL && (!json_is_string(q->echo) ||
	    json_string_length(q->echo) > 64)) {
		json_decref(q->echo);
		q->echo = NULL;
		refuse(c, q, "bad_request", "id: expected a string of at "
		    "most 64 characters");
		return -1;
	}
	if (members_unknown(q->obj, members) != NULL) {
		refuse(c, q, "bad_request", "unknown member in the command");
		return -1;
	}
	v = json_object_get(q->obj, "type");
	if (!json_is_string(v) || strcmp(json_string_value(v), "admin") != 0 ||
	    !json_is_integer(json_object_get(q->obj, "v")) ||
	    json_integer_value(json_object_get(q->obj, "v")) != 1) {
		refuse(c, q, "bad_request", "expected {\"type\":\"admin\","
		    "\"v\":1,...}");
		return -1;
	}
	q->args = json_object_get(q->obj, "args");
	if (q->args != NULL && !json_is_object(q->args)) {
		refuse(c, q, "bad_request", "args: expected an object");
		return -1;
	}
	return 0;
}

/* The op, and for those that name a request, its id. */
static void
command_run(struct lines_conn *c, struct acmd *q)
{
	json_t *v = json_object_get(q->obj, "op");

	q->op = json_is_string(v) ? json_string_value(v) : "";
	if (strcmp(q->op, "list") == 0) {
		cmd_list(c, q);
		return;
	}
	if (strcmp(q->op, "watch") == 0) {
		cmd_watch(c, q);
		return;
	}
	if (strcmp(q->op, "show") != 0 && strcmp(q->op, "grant") != 0 &&
	    strcmp(q->op, "deny") != 0) {
		q->op = NULL;
		refuse(c, q, "bad_request", "op: expected list, show, grant, "
		    "deny or watch");
		return;
	}
	/* No decision the log cannot record: none is stored either. */
	if (A->stopped && strcmp(q->op, "show") != 0) {
		refuse(c, q, "unavailable", LOG_STOPPED);
		return;
	}
	if (strcmp(q->op, "deny") == 0 &&
	    json_object_get(q->args, "agent") != NULL) {
		if (json_object_get(q->args, "id") != NULL)
			refuse(c, q, "bad_request", "args: either id or "
			    "agent, not both");
		else
			deny_agent(c, q, json_object_get(q->args, "agent"));
		return;
	}
	if (parse_id(json_object_get(q->args, "id"), &q->id) != 0) {
		refuse(c, q, "bad_request", "args.id: expected a request id");
		return;
	}
	if (strcmp(q->op, "show") == 0)
		cmd_show(c, q);
	else
		decide(c, q, strcmp(q->op, "grant") == 0);
}

void
admin_line(struct lines_conn *c, const char *line, size_t len)
{
	struct acmd q = { 0 };

	if (command_parse(c, &q, line, len) == 0)
		command_run(c, &q);
	json_decref(q.echo);
	json_decref(q.obj);
}

/* A request arrived or was decided: every watching admin sees it. */
void
admin_broadcast(const json_t *rec)
{
	const char *state = json_string_value(json_object_get(rec, "state"));
	json_t *line;

	line = json_pack("{s:s, s:i, s:s, s:o}", "type", "event", "v", 1,
	    "event", strcmp(state, "pending") == 0 ? "request" : state,
	    "request", request_summary(0, rec));
	if (line == NULL)
		return;
	for (struct lines_conn *c = A->lines.conns, *next; c != NULL; c = next) {
		next = c->next;
		if ((c->flags & FLAG_WATCHING) && !c->closed)
			lines_send(c, line);
	}
	json_decref(line);
}
