/*
 * Each answer a pod sends for a tool call is tied to its own record: the
 * node relays it only when the host copy holds, among the lines the pod
 * sent before it, the record the answer names (its seq and the hash of
 * its line), and that record is this request's and says what the answer
 * says (nucleus-node(8), "The host copy of a pod's log").
 *
 *	forwarded	the request as it went: its op, the digest of its
 *			args, the hash of its line (answer_forwarded)
 *	record		each record of the pod's that names the request's
 *			id, as the loop hands it to the copier: the last
 *			one's seq, hash, event, decision, status and kind
 *			(answer_record)
 *	answer		the record it names, and ok or its error's kind
 *			(answer_named)
 *	relay		once the lines before the answer are durable, so
 *			verified: do they back it (answer_backed)
 *
 * What is read from a record before the copier verified it is looked at
 * only once the copy holds it durably, so verified: a line that does not
 * verify stops the pod before any answer behind it is relayed.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "serve.h"

#define ID_MARK		",\"id\":\"n"	/* a record naming a forwarded id */

static void
hash_hex(char out[AUDIT_HEX_LEN + 1], const void *p, size_t len)
{
	uint8_t h[AUDIT_HASH_LEN];

	audit_hash(h, p, len);
	audit_hex(out, h, AUDIT_HASH_LEN);
}

/*
 * The request as forwarded in line (len bytes, no newline): its op, the
 * digest of its args as the proxy takes it (formats.md section 6), the
 * hash of the line.  -1 when the args cannot be encoded.
 */
int
answer_forwarded(struct fwd *f, const json_t *req, const char *line,
    size_t len)
{
	struct fwd_bind *b = &f->bind;
	struct audit_buf args = { 0 };
	struct audit_err e;
	const char *op = json_string_value(json_object_get(req, "op"));

	memset(b, 0, sizeof(*b));
	b->last_seq = b->seq = -1;
	if (op == NULL || audit_fit(b->op, sizeof(b->op), NULL, "%s", op) != 0)
		b->op[0] = '\0';	/* the proxy refuses it unparsed */
	if (cjson_encode(json_object_get(req, "args"), &args, &e) != 0) {
		audit_buf_free(&args);
		return -1;
	}
	hash_hex(b->args_digest, args.p, args.len);
	audit_buf_free(&args);
	hash_hex(b->line_hash, line, len);
	b->line_bytes = len;
	return 0;
}

/* The request whose forwarded id a record's id value names, or NULL. */
static struct fwd *
fwd_named(struct pod *p, const char *val, size_t len)
{
	uint64_t seq = 0;

	/* "n<digits>", quotes included */
	if (len < 4 || len > 23 || val[0] != '"' || val[1] != 'n' ||
	    val[len - 1] != '"')
		return NULL;
	for (size_t i = 2; i < len - 1; i++) {
		if (val[i] < '0' || val[i] > '9')
			return NULL;
		seq = seq * 10 + (uint64_t)(val[i] - '0');
	}
	for (struct fwd *f = p->fwds; f != NULL; f = f->next)
		if (f->seq == seq)
			return f;
	return NULL;
}

/* The members of a record a check needs, decoded. */
static json_t *
record_members(const struct cjson_scan *sc)
{
	static const char *const want[] = {
		"args_digest", "bytes", "decision", "event", "kind",
		"line_hash", "op", "seq", "status", NULL,
	};
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < sc->n; i++) {
		const struct cjson_member *m = &sc->m[i];

		for (size_t k = 0; want[k] != NULL; k++)
			if (m->keylen == strlen(want[k]) &&
			    memcmp(m->key, want[k], m->keylen) == 0) {
				json_object_set_new(o, want[k], json_loadb(
				    m->val, m->vallen, JSON_DECODE_ANY, NULL));
				break;
			}
	}
	return o;
}

static int
str_is(const json_t *o, const char *key, const char *want)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && strcmp(s, want) == 0;
}

/* A string member into buf; "" when absent or too long. */
static void
str_copy(char *buf, size_t n, const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL || audit_fit(buf, n, NULL, "%s", s) != 0)
		buf[0] = '\0';
}

/*
 * A decision record: on the request the node forwarded?  Its op and the
 * digest of its args; or, for a line the proxy could not take as a
 * request, neither, but that line's size and hash.
 */
static const char *
decision_wrong(const struct fwd_bind *b, const json_t *rec)
{
	const json_t *bytes = json_object_get(rec, "bytes");

	if (json_object_get(rec, "op") != NULL ||
	    json_object_get(rec, "args_digest") != NULL) {
		if (b->op[0] == '\0' || !str_is(rec, "op", b->op) ||
		    !str_is(rec, "args_digest", b->args_digest))
			return "its decision record is on another operation "
			    "or other arguments than the node forwarded";
		return NULL;
	}
	if (!str_is(rec, "line_hash", b->line_hash) ||
	    !json_is_integer(bytes) ||
	    json_integer_value(bytes) != (json_int_t)b->line_bytes)
		return "its decision record is on another line than the node "
		    "forwarded";
	return NULL;
}

/* One of the pod's records of f's id, as it came. */
static void
record_of(struct fwd_bind *b, const json_t *rec, const char *line,
    size_t len)
{
	const char *why;

	b->last_seq = json_integer_value(json_object_get(rec, "seq"));
	hash_hex(b->last_hash, line, len);
	str_copy(b->last_status, sizeof(b->last_status), rec, "status");
	str_copy(b->last_kind, sizeof(b->last_kind), rec, "kind");
	str_copy(b->last_decision, sizeof(b->last_decision), rec, "decision");
	b->last_refused = str_is(rec, "decision", "deny") ||
	    str_is(rec, "decision", "approval_required");
	if (str_is(rec, "event", "decision")) {
		b->last_event = BIND_DECISION;
		b->decisions++;
		b->allowed = str_is(rec, "decision", "allow");
		if (b->wrong == NULL && (why = decision_wrong(b, rec)) != NULL)
			b->wrong = why;
	} else if (str_is(rec, "event", "outcome"))
		b->last_event = BIND_OUTCOME;
	else
		b->last_event = BIND_OTHER;
}

/*
 * A line of the pod's log, on its way to the copier: when it is a record
 * of a request still waiting for its answer, what the answer will be
 * checked against.  A line that is not a canonical record is left to the
 * copier, which stops the pod for it.
 */
void
answer_record(struct pod *p, const char *line, size_t len)
{
	struct cjson_scan sc;
	struct audit_err e;
	struct fwd *f = NULL;
	json_t *rec;

	if (p->fwds == NULL || memmem(line, len, ID_MARK,
	    sizeof(ID_MARK) - 1) == NULL ||
	    cjson_scan(line, len, &sc, &e) != 0)
		return;
	for (size_t i = 0; i < sc.n; i++)
		if (sc.m[i].keylen == 2 && memcmp(sc.m[i].key, "id", 2) == 0)
			f = fwd_named(p, sc.m[i].val, sc.m[i].vallen);
	if (f == NULL || (rec = record_members(&sc)) == NULL)
		return;
	if (json_is_integer(json_object_get(rec, "seq")))
		record_of(&f->bind, rec, line, len);
	json_decref(rec);
}

/*
 * The answer that came for f: the record its audit member names (its log
 * was checked), and what it says, ok or the kind of its error.
 */
void
answer_named(struct fwd *f, const json_t *audit, const json_t *ok,
    const json_t *error)
{
	struct fwd_bind *b = &f->bind;
	const json_t *seq = json_object_get(audit, "seq");
	const char *hash = json_string_value(json_object_get(audit, "hash"));

	b->ok = json_is_true(ok);
	str_copy(b->kind, sizeof(b->kind), error, "kind");
	if (!json_is_integer(seq) || hash == NULL ||
	    audit_fit(b->hash, sizeof(b->hash), NULL, "%s", hash) != 0)
		return;
	b->audited = 1;
	b->seq = json_integer_value(seq);
}

/* Does the record an ok answer names say it was done? */
static int
says_done(const struct fwd_bind *b)
{
	if (!b->allowed || b->last_refused)
		return 0;
	if (b->last_event == BIND_OUTCOME)
		return strcmp(b->last_status, "ok") == 0;
	return b->last_event == BIND_DECISION &&
	    (b->last_status[0] == '\0' || strcmp(b->last_status, "ok") == 0);
}

/* Does the record an error answer names say this error? */
static int
says_error(const struct fwd_bind *b)
{
	if (b->kind[0] == '\0' || strcmp(b->kind, b->last_kind) != 0)
		return 0;
	if (b->last_event == BIND_OUTCOME && !b->allowed)
		return 0;	/* an outcome of nothing allowed */
	return b->last_refused || strcmp(b->last_status, "error") == 0 ||
	    strcmp(b->last_status, "timeout") == 0;
}

/*
 * Once the lines before f's answer are durable: 0 when they back it;
 * otherwise -1, and why says what is wrong.
 */
int
answer_backed(const struct fwd *f, char *why, size_t n)
{
	const struct fwd_bind *b = &f->bind;

	if (!b->audited) {
		audit_fmt(why, n, "the pod answered with no audit record");
		return -1;
	}
	if (b->seq < 0 || (uint64_t)b->seq >= f->need) {
		audit_fmt(why, n, "the pod answered before its audit record "
		    "reached the node (record %" PRId64 ")", b->seq);
		return -1;
	}
	if (b->last_seq != b->seq) {
		if (b->last_seq < 0)
			audit_fmt(why, n, "the pod's answer names record %"
			    PRId64 ", not a record of the request", b->seq);
		else
			audit_fmt(why, n, "the pod's answer names record %"
			    PRId64 ", not the request's last record, %"
			    PRId64, b->seq, b->last_seq);
		return -1;
	}
	if (strcmp(b->hash, b->last_hash) != 0) {
		audit_fmt(why, n, "the pod's answer names record %" PRId64
		    " with another hash than its line's", b->seq);
		return -1;
	}
	if (b->wrong != NULL || b->decisions != 1) {
		audit_fmt(why, n, "record %" PRId64 ": %s", b->seq,
		    b->wrong != NULL ? b->wrong : b->decisions == 0 ?
		    "the request has no decision record" :
		    "the request has more than one decision record");
		return -1;
	}
	if (b->ok ? !says_done(b) : !says_error(b)) {
		audit_fmt(why, n, "the pod answered %s%s where record %" PRId64
		    " says %s%s%s%s%s%s%s", b->ok ? "ok" : "error ", b->ok ?
		    "" : b->kind, b->seq, b->last_event == BIND_DECISION ?
		    "decision" : b->last_event == BIND_OUTCOME ? "outcome" :
		    "neither decision nor outcome", b->last_decision[0] != '\0' ?
		    " " : "", b->last_decision, b->last_status[0] != '\0' ?
		    ", status " : "", b->last_status, b->last_kind[0] != '\0' ?
		    ", kind " : "", b->last_kind);
		return -1;
	}
	return 0;
}
