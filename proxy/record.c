/*
 * The proxy's audit records.  A record is submitted to the log; its
 * completion comes back on the log's own thread, is queued (doneq.c),
 * and an ev_async wakes the event loop, which moves the request on.  The
 * loop never waits for the disk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy.h"
#include "pstate.h"

/*
 * r has waited long enough: its record is durable (or failed), or its
 * search is done.  Called on any thread.
 */
void
record_done(void *arg, int error, uint64_t seq, const char *hash)
{
	struct req *r = arg;

	r->audit_error = error;
	r->audit_seq = seq;
	if (hash != NULL)
		memcpy(r->audit_hash, hash, sizeof(r->audit_hash));
	doneq_push(&P->done, r);
}

/*
 * Submit ev as r's next record.  -1 when it cannot be: an event that is
 * not one (a bug, for this request alone), or a log that has stopped
 * (then the proxy stops doing anything).
 */
static int
submit(struct req *r, json_t *ev, int here)
{
	struct audit_err e;

	r->audit_error = 0;
	if (ev == NULL || audit_event_check(ev, &e) != 0)
		return -1;
	if (here ? audit_log_submit_here(P->log, ev, record_done, r, &e) != 0 :
	    audit_log_submit(P->log, ev, record_done, r, &e) != 0) {
		P->stopped = 1;
		return -1;
	}
	return 0;
}

int
record_submit(struct req *r, json_t *ev)
{
	return submit(r, ev, 0);
}

/*
 * As record_submit, but an idle log signs and syncs the record on the
 * loop's thread (audit_log_submit_here): for a connection's decision,
 * which the client and the gateway wait on, and which no thread wakeup
 * should delay.
 */
int
record_submit_here(struct req *r, json_t *ev)
{
	return submit(r, ev, 1);
}

/*
 * -A: the log's lines, as each batch is made durable (on the log's own
 * thread, before the batch's records complete).  The loop sends them to
 * the node ahead of the answers those records back.
 */
static void
copy_tee(void *arg, const char *lines, size_t len)
{
	struct proxy *p = arg;
	int failed;

	pthread_mutex_lock(&p->copy_mu);
	failed = audit_buf_add(&p->copy, lines, len) != 0;
	p->copy_end += (off_t)len;
	pthread_mutex_unlock(&p->copy_mu);
	reclaim_teed(lines, len);
	if (failed)
		p->stopped = 1;	/* the node's copy would have a gap */
	doneq_wake(&p->done);
}

/*
 * -A: the node keeps a copy of this log.  It gets the log as it stands
 * (log.open, boot), then every line once it is durable, always before
 * the answer that names it.  The inherited connection is the node; or,
 * where -f is a listening socket (the local driver), the node connects
 * to it, now and again after a restart of its own, and says first what
 * its copy holds (record_resume).
 */
int
record_copy_start(struct proxy *p, struct audit_err *err)
{
	off_t before, off = 0;
	uint64_t lines = 0;
	char *buf;
	int fd;

	p->copy_rfd = -1;
	if (!p->copy_listener && (p->nlisten != 0 || p->conns == NULL ||
	    p->conns->next != NULL))
		return audit_errf(err, "-A: the audit copy goes to the one "
		    "connection of -f");
	p->copy_conn = p->copy_listener ? NULL : p->conns;
	pthread_mutex_init(&p->copy_mu, NULL);
	if (audit_log_tee(p->log, copy_tee, p, &before, err) != 0)
		return -1;
	if ((fd = open(p->log_path, O_RDONLY | O_CLOEXEC)) < 0)
		return audit_errf(err, "%s: %s", p->log_path, strerror(errno));
	if ((buf = malloc(65536)) == NULL) {
		close(fd);
		return audit_errf(err, "out of memory");
	}
	while (off < before) {
		size_t want = (size_t)(before - off) < 65536 ?
		    (size_t)(before - off) : 65536;
		ssize_t n = pread(fd, buf, want, off);

		if (n <= 0) {
			audit_errf(err, "%s: %s", p->log_path, n < 0 ?
			    strerror(errno) : "shorter than it was");
			break;
		}
		if (p->copy_conn != NULL)
			serve_send_raw(p->copy_conn, buf, (size_t)n);
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
		off += n;
	}
	free(buf);
	if (off != before) {
		close(fd);
		return -1;
	}
	p->copy_end = before;
	p->copy_rfd = fd;	/* read again for a node that comes back */
	reclaim_start(p->log_path, before, lines);
	return 0;
}

/*
 * Where the line after the first lines lines of the log begins, searched
 * from off (which has base lines before it) up to end; -1 when the log
 * has fewer lines than that up to end.
 */
static off_t
line_start(off_t off, uint64_t base, uint64_t lines, off_t end)
{
	char buf[65536];

	while (base < lines && off < end) {
		size_t want = (size_t)(end - off) < sizeof(buf) ?
		    (size_t)(end - off) : sizeof(buf);
		ssize_t n = pread(P->copy_rfd, buf, want, off);

		if (n <= 0)
			return -1;
		for (ssize_t i = 0; i < n && base < lines; i++, off++)
			base += buf[i] == '\n';
	}
	return base == lines ? off : -1;
}

/* The log's bytes [from, to) to c, as they are in the file. */
static int
send_range(struct conn *c, off_t from, off_t to)
{
	char buf[65536];

	while (from < to) {
		size_t want = (size_t)(to - from) < sizeof(buf) ?
		    (size_t)(to - from) : sizeof(buf);
		ssize_t n = pread(P->copy_rfd, buf, want, from);

		if (n <= 0)
			return -1;
		serve_send_raw(c, buf, (size_t)n);
		from += n;
	}
	return 0;
}

/*
 * The first line of a connection on -f's listener: the node's word on
 * what its copy holds, {"log":LOG,"seq":N,"type":"audit.resume","v":1}
 * (every record up to seq N; -1: none).  The log is sent again from the
 * record after N, read back from the file up to what the tee has not
 * yet handed over, which follows it; the connection is then the node's,
 * and any earlier one is not.  0 when it was taken; -1 when it is not
 * that word, names another log, or a seq this log does not have whole
 * (the node holds less than it said it held, or more than there is):
 * the caller closes the connection.
 */
int
record_resume(struct conn *c, const char *line, size_t len)
{
	const json_t *log, *seq, *type;
	struct audit_err e;
	uint64_t base, want;
	off_t at, from, to;
	json_t *o;
	int ok;

	if (cjson_parse(line, len, &o, &e) != 0)
		return -1;
	type = json_object_get(o, "type");
	log = json_object_get(o, "log");
	seq = json_object_get(o, "seq");
	ok = json_is_string(type) && strcmp(json_string_value(type),
	    "audit.resume") == 0 && json_is_string(log) &&
	    strcmp(json_string_value(log), P->log_id) == 0 &&
	    json_is_integer(seq) && json_integer_value(seq) >= -1 &&
	    P->copy_rfd >= 0;
	want = ok ? (uint64_t)(json_integer_value(seq) + 1) : 0;
	json_decref(o);
	if (!ok)
		return -1;
	reclaim_base(&at, &base);
	pthread_mutex_lock(&P->copy_mu);
	to = P->copy_end - (off_t)P->copy.len;
	pthread_mutex_unlock(&P->copy_mu);
	if (want < base || (from = line_start(at, base, want, to)) < 0)
		return -1;
	if (P->copy_conn != NULL && P->copy_conn != c)
		serve_drop(P->copy_conn);
	c->node_wait = 0;
	P->copy_conn = c;
	P->stop_told = 0;
	if (send_range(c, from, to) != 0) {
		P->copy_conn = NULL;
		return -1;
	}
	record_tell_stopped();
	return 0;
}

/*
 * -A: once the log has stopped, the node is told so, once, on the
 * channel (it answers for the pod from then on, and pod.status says so).
 */
void
record_tell_stopped(void)
{
	int failed;
	json_t *o;

	if (!P->stopped || P->stop_told || P->copy_conn == NULL)
		return;
	P->stop_told = 1;
	failed = audit_log_failed(P->log);
	o = json_pack("{s:s, s:i, s:s, s:s}", "type", "audit.stopped", "v", 1,
	    "log", P->log_id, "message", failed != 0 ? strerror(failed) :
	    "its lines could not be kept for the node's copy");
	if (o != NULL)
		serve_send(P->copy_conn, o);
	json_decref(o);
}

/* In the loop: every request whose record is now durable moves on. */
void
record_drain(struct ev_loop *loop, ev_async *w, int revents)
{
	struct req *r, *next;

	(void)loop;
	(void)w;
	(void)revents;
	/*
	 * The requests first, then the lines: the log tees a batch's lines
	 * before it completes the batch's records, so every request taken
	 * here has its lines in P->copy already (taken the other way round,
	 * a batch could be teed and completed in between, and its answers
	 * would go out ahead of its lines).
	 */
	r = doneq_take(&P->done);
	/*
	 * A connection's decision first: what it does next (the gateway
	 * asked, or the client refused) answers nothing through the node,
	 * so it need not follow the lines, and the node woken by them
	 * would only delay it.
	 */
	for (struct req **p = &r; *p != NULL; ) {
		struct req *c = *p;

		if (!c->connection) {
			p = &c->next;
			continue;
		}
		*p = c->next;
		request_advance(c);
	}
	if (P->cfg.copy_audit) {
		struct audit_buf b;

		pthread_mutex_lock(&P->copy_mu);
		b = P->copy;
		memset(&P->copy, 0, sizeof(P->copy));
		pthread_mutex_unlock(&P->copy_mu);
		if (P->copy_conn != NULL)
			serve_send_raw(P->copy_conn, b.p, b.len);
		audit_buf_free(&b);
	}
	for (; r != NULL; r = next) {
		next = r->next;
		request_advance(r);
	}
	record_tell_stopped();
}

static const char *
verdict_word(const struct req *r)
{
	switch (r->d.verdict) {
	case VERDICT_ALLOW:
		return "allow";
	case VERDICT_APPROVAL:
		return "approval_required";
	default:
		return "deny";
	}
}

/* The first bytes of s, at most max, cut between UTF-8 characters. */
static json_t *
string_prefix(const char *s, size_t len, size_t max)
{
	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	return json_stringn(s, len);
}

/*
 * The start of a subject (a path, or an argv), SUBJECT_PREFIX_MAX bytes
 * of its strings at most (each string of an argv counts one more), in
 * the subject's own shape.
 */
static json_t *
subject_prefix(const json_t *subject)
{
	size_t left = SUBJECT_PREFIX_MAX, i;
	json_t *out, *v;

	if (json_is_string(subject))
		return string_prefix(json_string_value(subject),
		    json_string_length(subject), left);
	if ((out = json_array()) == NULL)
		return NULL;
	/* Each string counts one byte more: empty ones are not free. */
	json_array_foreach(subject, i, v) {
		size_t took;

		if (left == 0 || !json_is_string(v) || json_array_append_new(out,
		    string_prefix(json_string_value(v), json_string_length(v),
		    left - 1)) != 0)
			break;
		took = json_string_length(json_array_get(out, i)) + 1;
		left -= took < left ? took : left;
	}
	return out;
}

/*
 * A subject costs the log a bounded amount: a refused request's
 * SUBJECT_RECORD_MAX bytes at most, an allowed one's SUBJECT_MAX (what
 * runs is on the record, and its cost is held against the budget; the
 * bound keeps every record far below the node's record quota).  A longer
 * one is recorded by its start, its size and its digest; the request's
 * args_digest, of all its arguments, stays as it is.
 */
static void
record_subject(json_t *ev, const struct req *r, json_t *subject)
{
	char hex[AUDIT_HEX_LEN + 1];
	uint8_t h[AUDIT_HASH_LEN];
	struct audit_buf b = { 0 };
	struct audit_err e;
	size_t max = r->d.verdict == VERDICT_ALLOW ? SUBJECT_MAX :
	    SUBJECT_RECORD_MAX;

	if (cjson_encode(subject, &b, &e) != 0 || b.len <= max) {
		audit_buf_free(&b);
		json_object_set(ev, "subject", subject);
		return;
	}
	audit_hash(h, b.p, b.len);
	audit_hex(hex, h, AUDIT_HASH_LEN);
	json_object_set_new(ev, "subject_prefix", subject_prefix(subject));
	json_object_set_new(ev, "subject_bytes", json_integer(
	    (json_int_t)b.len));
	json_object_set_new(ev, "subject_digest", json_string(hex));
	audit_buf_free(&b);
}

/*
 * The decision record: who asked for what, what the policy said and why,
 * the token used, and what it cost.
 */
json_t *
record_decision(const struct req *r)
{
	json_t *ev = json_pack("{s:s, s:O, s:s, s:s, s:s, s:s}", "event",
	    "decision", "id", r->id, "actor", r->kid, "op", r->op,
	    "args_digest", r->args_digest, "decision", verdict_word(r));
	json_t *args = r->args;
	int64_t consumed, reserved;

	if (ev == NULL)
		return NULL;
	if (json_object_get(args, "path") != NULL)
		record_subject(ev, r, json_object_get(args, "path"));
	else if (json_object_get(args, "argv") != NULL)
		record_subject(ev, r, json_object_get(args, "argv"));
	if (r->d.cap < CAP_COUNT)
		json_object_set_new(ev, "capability",
		    json_string(policy_cap_name(r->d.cap)));
	if (r->d.verdict != VERDICT_ALLOW) {
		json_object_set_new(ev, "kind", json_string(r->kind != NULL ?
		    r->kind : r->d.verdict == VERDICT_APPROVAL ?
		    "approval_required" : policy_kind_name(r->d.kind)));
		json_object_set_new(ev, "reason", json_string(r->d.reason));
	}
	if (r->approval_nonce[0] != '\0')
		json_object_set_new(ev, "approval", json_pack("{s:s, s:s}",
		    "id", r->approval_id, "nonce", r->approval_nonce));
	if (r->reserved > 0) {
		pstate_budget(P->state, &consumed, &reserved);
		json_object_set_new(ev, "cost_microusd",
		    json_integer(r->reserved));
		json_object_set_new(ev, "budget_used_microusd",
		    json_integer(consumed + reserved));
	}
	return ev;
}
