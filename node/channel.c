/*
 * A pod's channel: the one connection per pod, on which requests go out
 * renamed "n<seq>" (so that two clients' ids never meet), each with a
 * deadline, and answers come back and are routed by that name.  The
 * same channel brings the pod's audit lines, ahead of the answers they
 * back: each goes to the pod's host copy (relay.c), and an answer is
 * held until the copy holds durably every line the pod sent before it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"

#define RECORD_END	"\"type\":\"audit\",\"v\":1}"
#define POD_IN_KEEP	(1024 * 1024)	/* a line buffer kept past its line */

static void out_compact(struct pod *);
static size_t out_limit(const struct pod *);
static void out_hold(struct pod *, size_t, uint64_t);

/* Answer every request still waiting on p with kind. */
void
chan_fail_fwds(struct pod *p, const char *kind, const char *why)
{
	struct fwd *f, *next;

	/* Taken off first: a word's done may ask again, or stop the pod. */
	f = p->fwds;
	p->fwds = NULL;
	for (; f != NULL; f = next) {
		next = f->next;
		chan_fwd_error(f, kind, why);
	}
}

void
chan_fwd_free(struct fwd *f)
{
	json_decref(f->answer);
	audit_buf_free(&f->raw);
	json_decref(f->id);
	if (f->conn != NULL)
		lines_release(f->conn);
	free(f);
}

/* f answered with an error by the node itself (and freed). */
void
chan_fwd_error(struct fwd *f, const char *kind, const char *why)
{
	json_t *r;

	if (f->done != NULL)
		f->done(f->arg, NULL, kind, why);
	else {
		r = node_error(f->id, kind, why);
		lines_send(f->conn, r);
		json_decref(r);
	}
	chan_fwd_free(f);
}

/* A word's answer, ok or error, to its done (and f freed). */
static void
word_answered(struct fwd *f, const json_t *ok, const json_t *result,
    const json_t *error)
{
	const char *kind = json_string_value(json_object_get(error, "kind"));
	const char *why = json_string_value(json_object_get(error,
	    "message"));

	if (json_is_true(ok) && result != NULL)
		f->done(f->arg, result, NULL, NULL);
	else
		f->done(f->arg, NULL, kind != NULL ? kind : "internal",
		    why != NULL ? why : "the pod's proxy answered out of form");
	chan_fwd_free(f);
}

/*
 * The node's own word to the pod's proxy (never an agent's request:
 * word is not one, pack.c says which it hears), taken over; its answer
 * to done(arg, ...), once, also when the pod ends or does not answer in
 * time.  0, or -1 when it cannot go (done is not called).
 */
int
chan_ask(struct pod *p, json_t *word, void (*done)(void *, const json_t *,
    const char *, const char *), void *arg)
{
	struct audit_err e;
	struct fwd *f;
	char name[24];
	size_t start;

	if (!p->running || p->out.len - p->outoff > POD_OUTBUF_MAX ||
	    (f = calloc(1, sizeof(*f))) == NULL) {
		json_decref(word);
		return -1;
	}
	f->seq = ++p->next_seq;
	f->done = done;
	f->arg = arg;
	f->deadline = ev_now(N->loop) + N->fwd_deadline;
	out_compact(p);
	start = p->out.len;
	if (audit_fit(name, sizeof(name), &e, "n%llu",
	    (unsigned long long)f->seq) != 0 ||
	    json_object_set_new(word, "id", json_string(name)) != 0 ||
	    cjson_encode(word, &p->out, &e) != 0 ||
	    audit_buf_add(&p->out, "\n", 1) != 0) {
		p->out.len = start;
		json_decref(word);
		free(f);
		return -1;
	}
	json_decref(word);
	f->next = p->fwds;
	p->fwds = f;
	out_hold(p, start, f->seq);
	if (p->outoff < out_limit(p))
		ev_io_start(N->loop, &p->wio);
	return 0;
}

void
chan_stopped(struct pod *p, const char *why)
{
	if (!p->running)
		return;
	/* What the pod sent before it ended is copied, then relayed. */
	if (p->cw != NULL)
		copyw_wait(p->cw);
	relay_answers(p);
	p->running = 0;
	p->nhold = 0;
	ev_io_stop(N->loop, &p->rio);
	ev_io_stop(N->loop, &p->wio);
	if (p->lp.chan >= 0)
		close(p->lp.chan);
	p->lp.chan = -1;
	chan_fail_fwds(p, "unavailable", why);
}

/*
 * What the pod has taken leaves the buffer before more is added
 * (audit_buf_compact): a pod that reads slowly but never all that waits
 * would otherwise grow the buffer by all it ever read.
 */
static void
out_compact(struct pod *p)
{
	size_t moved = audit_buf_compact(&p->out, &p->outoff);

	for (int i = 0; moved > 0 && i < p->nhold; i++)
		p->hold[i].at -= moved;
}

/* How far out may be written: up to the first request held. */
static size_t
out_limit(const struct pod *p)
{
	return p->nhold > 0 ? p->hold[0].at : p->out.len;
}

/*
 * The request forwarded from out's byte at on (seq) waits for the sync
 * of the state its nonce (and token) went to: a request reaches its pod
 * only once its nonce is durable, so that a node that crashes refuses
 * its replay when it starts again.
 */
static void
out_hold(struct pod *p, size_t at, uint64_t seq)
{
	uint64_t gen = node_state_gen();

	if (gen <= N->state_durable)
		return;
	if (p->nhold > 0 && (p->hold[p->nhold - 1].gen == gen ||
	    p->nhold == POD_HOLD_MAX)) {
		p->hold[p->nhold - 1].gen = gen;	/* the later sync */
		return;
	}
	p->hold[p->nhold].at = at;
	p->hold[p->nhold].gen = gen;
	p->hold[p->nhold].seq = seq;
	p->nhold++;
}

/* The state is durable to sync gen: what waited for it goes. */
void
chan_release(struct pod *p, uint64_t gen)
{
	int n = 0;

	while (n < p->nhold && p->hold[n].gen <= gen)
		n++;
	if (n == 0)
		return;
	memmove(p->hold, p->hold + n, (size_t)(p->nhold - n) *
	    sizeof(p->hold[0]));
	p->nhold -= n;
	if (p->running && p->outoff < out_limit(p))
		ev_io_start(N->loop, &p->wio);
}

/*
 * The state's sync failed: the requests held for it never go, and are
 * answered kind unavailable.
 */
void
chan_drop_held(struct pod *p, const char *why)
{
	struct fwd **pp, *f, *dropped = NULL;
	uint64_t from;

	if (p->nhold == 0)
		return;
	from = p->hold[0].seq;
	p->out.len = p->hold[0].at;
	p->nhold = 0;
	for (pp = &p->fwds; (f = *pp) != NULL;) {
		if (f->seq < from) {
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		f->next = dropped;
		dropped = f;
	}
	for (; (f = dropped) != NULL; ) {
		dropped = f->next;
		chan_fwd_error(f, "unavailable", why);
	}
}

/* Send a tool request to its pod, renamed. */
void
pods_forward(struct lines_conn *c, struct gate_req *q)
{
	struct pod *p = pods_find(q->pod);
	struct audit_err e;
	struct fwd *f;
	const json_t *t;
	char name[24];
	json_t *copy;
	size_t start;
	int timeout = 0;

	if (p != NULL && p->running && p->log_stopped[0] != '\0') {
		json_t *r = node_error(q->id, "unavailable", "the pod's audit "
		    "log has stopped: it does nothing more (see pod.status; "
		    "pod.stop ends it)");

		lines_send(c, r);
		json_decref(r);
		return;
	}
	if (p == NULL || !p->running) {
		json_t *r = node_error(q->id, "unavailable", p != NULL &&
		    p->lost ? "the pod was lost when the node restarted (see "
		    "pod.status); pod.stop removes it" : "the pod is not "
		    "running");

		lines_send(c, r);
		json_decref(r);
		return;
	}
	/* A pod that does not take its requests holds only so many. */
	if (p->out.len - p->outoff > POD_OUTBUF_MAX) {
		json_t *r = node_error(q->id, "unavailable", "the pod is not "
		    "taking its requests: too many are waiting for it");

		lines_send(c, r);
		json_decref(r);
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		json_t *r = node_error(q->id, "internal", "out of memory");

		lines_send(c, r);
		json_decref(r);
		return;
	}
	f->seq = ++p->next_seq;
	f->id = json_incref(q->id);
	f->conn = c;
	lines_hold(c);
	t = json_object_get(json_object_get(q->obj, "args"), "timeout");
	if (json_is_integer(t) && json_integer_value(t) > 0 &&
	    json_integer_value(t) < 86400)
		timeout = (int)json_integer_value(t);
	f->deadline = ev_now(N->loop) + N->fwd_deadline + timeout;
	f->next = p->fwds;
	p->fwds = f;
	out_compact(p);
	/* The request is the gate's, done with once it goes: renamed in
	   place, not copied (its id is held apart, in q->id). */
	copy = json_incref(q->obj);
	start = p->out.len;
	if (audit_fit(name, sizeof(name), &e, "n%llu",
	    (unsigned long long)f->seq) != 0 ||
	    json_object_set_new(copy, "id", json_string(name)) != 0 ||
	    cjson_encode(copy, &p->out, &e) != 0 ||
	    answer_forwarded(f, copy, p->out.p + start, p->out.len - start) !=
	    0 || audit_buf_add(&p->out, "\n", 1) != 0) {
		p->out.len = start;	/* no part of a line goes */
		chan_fail_fwds(p, "internal", "the request cannot be "
		    "forwarded");
	} else
		out_hold(p, start, f->seq);
	json_decref(copy);
	if (p->outoff < out_limit(p))
		ev_io_start(N->loop, &p->wio);
}

/*
 * The pod is told how far its copy is durable, every COPY_ACK_RECORDS
 * records, so that its proxy can give that part of its log's space back
 * (nucleus-proxy(8)).  A pod that does not take its requests is not told
 * more: a later word says all an earlier one would.
 */
void
chan_ack_copied(struct pod *p)
{
	struct copyw_state st;
	struct audit_err e;
	size_t at;
	json_t *o;

	if (!p->running || p->cw == NULL || p->copy_failed ||
	    p->log_stopped[0] != '\0' || p->out.len - p->outoff >
	    POD_OUTBUF_MAX)
		return;
	copyw_state(p->cw, &st);
	if (st.failed || st.durable_seq < p->acked + COPY_ACK_RECORDS)
		return;
	out_compact(p);
	at = p->out.len;
	o = json_pack("{s:s, s:I, s:s, s:i}", "log", p->lp.log, "seq",
	    (json_int_t)st.durable_seq, "type", "audit.copied", "v", 1);
	if (o == NULL || cjson_encode(o, &p->out, &e) != 0 ||
	    audit_buf_add(&p->out, "\n", 1) != 0) {
		p->out.len = at;	/* no part of a line */
		json_decref(o);
		return;
	}
	json_decref(o);
	p->acked = st.durable_seq;
	if (p->outoff < out_limit(p))
		ev_io_start(N->loop, &p->wio);
}

void
chan_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pod *p = w->data;

	size_t limit = out_limit(p);

	(void)revents;
	while (p->outoff < limit) {
		ssize_t n = write(p->lp.chan, p->out.p + p->outoff,
		    limit - p->outoff);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			chan_stopped(p, "the pod's channel is closed");
			return;
		}
		p->outoff += (size_t)n;
	}
	/* All written, or the rest held (chan_release starts it again). */
	if (p->nhold == 0)
		p->out.len = p->outoff = 0;
	ev_io_stop(loop, w);
}

/*
 * One line from the pod: an audit line for the copy, or an answer, held
 * until the copy is durable, for the client that asked, under its id.
 */
/* An answer, come back for f: held until the lines before it are durable. */
static void
hold_answer(struct pod *p, struct fwd *f)
{
	f->need = p->cw->queued;	/* the loop's own count */
	f->next = NULL;
	if (p->relay_tail != NULL)
		p->relay_tail->next = f;
	else
		p->relay_head = f;
	p->relay_tail = f;
}

/* The request an answer's id names, taken off the pod's list; or NULL. */
static struct fwd *
take_fwd(struct pod *p, const char *id, size_t len)
{
	struct fwd **pp, *f;
	uint64_t seq = 0;

	if (len < 2 || len > 21 || id[0] != 'n')
		goto stray;
	for (size_t i = 1; i < len; i++) {
		if (id[i] < '0' || id[i] > '9')
			goto stray;
		seq = seq * 10 + (uint64_t)(id[i] - '0');
	}
	for (pp = &p->fwds; (f = *pp) != NULL; pp = &f->next)
		if (f->seq == seq) {
			*pp = f->next;
			return f;
		}
	/* Given up on (its deadline passed): a late answer, no fault. */
	if (seq <= p->next_seq)
		return NULL;
stray:
	/* Never sent: counted, and recorded by the tick (relay_stray). */
	p->stray++;
	return NULL;
}

/* What a raw answer says: the record it names, ok or its error. */
static void
answer_raw_named(struct fwd *f, const json_t *audit,
    const struct cjson_member *ok, const struct cjson_member *error)
{
	json_t *okv = NULL, *errv = NULL;

	if (ok != NULL)
		okv = json_loadb(ok->val, ok->vallen, JSON_DECODE_ANY, NULL);
	if (error != NULL)
		errv = json_loadb(error->val, error->vallen, 0, NULL);
	answer_named(f, audit, okv, errv);
	json_decref(okv);
	json_decref(errv);
}

/*
 * An answer as the proxy writes it, canonical: relayed as its own bytes
 * with the client's id put in, without a tree of its result.  0 when the
 * line was taken so; -1 leaves it to the parser.
 */
static int
answer_raw(struct pod *p, const char *line, size_t len)
{
	const struct cjson_member *type = NULL, *id = NULL, *audit = NULL,
	    *ok = NULL, *error = NULL;
	struct cjson_scan sc;
	struct audit_buf b = { 0 };
	struct audit_err e;
	struct fwd *f;
	json_t *a = NULL;

	if (cjson_scan(line, len, &sc, &e) != 0)
		return -1;
	for (size_t i = 0; i < sc.n; i++) {
		const struct cjson_member *m = &sc.m[i];

		if (m->keylen == 4 && memcmp(m->key, "type", 4) == 0)
			type = m;
		else if (m->keylen == 2 && memcmp(m->key, "id", 2) == 0)
			id = m;
		else if (m->keylen == 5 && memcmp(m->key, "audit", 5) == 0)
			audit = m;
		else if (m->keylen == 2 && memcmp(m->key, "ok", 2) == 0)
			ok = m;
		else if (m->keylen == 5 && memcmp(m->key, "error", 5) == 0)
			error = m;
	}
	if (type == NULL || type->vallen != 10 || memcmp(type->val,
	    "\"response\"", 10) != 0 || id == NULL || id->vallen < 2 ||
	    id->val[0] != '"')
		return -1;
	if (audit != NULL) {
		const char *log;

		a = json_loadb(audit->val, audit->vallen, 0, NULL);
		log = json_string_value(json_object_get(a, "log"));
		if (log == NULL || strcmp(log, p->lp.log) != 0 ||
		    !json_is_integer(json_object_get(a, "seq"))) {
			json_decref(a);
			relay_fault(p, "the pod answered naming a record "
			    "not of its log");
			return 0;
		}
	}
	if ((f = take_fwd(p, id->val + 1, id->vallen - 2)) == NULL) {
		json_decref(a);
		return 0;	/* not asked, or given up on: dropped */
	}
	if (f->done != NULL) {
		json_t *r = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);

		json_decref(a);
		word_answered(f, json_object_get(r, "ok"), json_object_get(r,
		    "result"), json_object_get(r, "error"));
		json_decref(r);
		return 0;
	}
	answer_raw_named(f, a, ok, error);
	json_decref(a);
	if (audit_buf_add(&b, line, (size_t)(id->val - line)) != 0 ||
	    cjson_encode(f->id, &b, &e) != 0 ||
	    audit_buf_add(&b, id->val + id->vallen, len - (size_t)(id->val +
	    id->vallen - line)) != 0) {
		json_t *r = node_error(f->id, "internal", "out of memory");

		audit_buf_free(&b);
		lines_send(f->conn, r);
		json_decref(r);
		chan_fwd_free(f);
		return 0;
	}
	f->raw = b;
	hold_answer(p, f);
	return 0;
}

/* A line of the pod's log, to the copier. */
static void
to_copier(struct pod *p, const char *line, size_t len)
{
	if (quota_line(p, len) != 0)
		return;		/* past its quota: the pod is stopped */
	answer_record(p, line, len);
	if (copyw_line(p->cw, line, len) != 0)
		relay_fault(p, "out of memory");
}

/*
 * A parsed answer r (taken over) to the forward it names, held until the
 * record it names, which must be among the pod's lines before it.
 */
static void
pod_answer(struct pod *p, json_t *r)
{
	struct fwd *f;
	const char *id, *type, *log;
	const json_t *audit;

	type = json_string_value(json_object_get(r, "type"));
	id = json_string_value(json_object_get(r, "id"));
	if (type == NULL || strcmp(type, "response") != 0 || id == NULL) {
		json_decref(r);
		return;
	}
	if ((audit = json_object_get(r, "audit")) != NULL) {
		log = json_string_value(json_object_get(audit, "log"));
		if (log == NULL || strcmp(log, p->lp.log) != 0 ||
		    !json_is_integer(json_object_get(audit, "seq"))) {
			json_decref(r);
			relay_fault(p, "the pod answered naming a record "
			    "not of its log");
			return;
		}
	}
	if ((f = take_fwd(p, id, strlen(id))) == NULL) {
		json_decref(r);
		return;		/* not asked, or given up on: dropped */
	}
	if (f->done != NULL) {
		word_answered(f, json_object_get(r, "ok"), json_object_get(r,
		    "result"), json_object_get(r, "error"));
		json_decref(r);
		return;
	}
	answer_named(f, audit, json_object_get(r, "ok"),
	    json_object_get(r, "error"));
	json_object_set(r, "id", f->id);
	f->answer = r;
	hold_answer(p, f);
}

/*
 * The proxy says its audit log has stopped: recorded once; the node
 * answers for the pod from then on (pods_forward), and pod.status says
 * so.
 */
static void
log_stopped(struct pod *p, const json_t *r)
{
	const char *why = json_string_value(json_object_get(r, "message"));

	if (p->log_stopped[0] != '\0')
		return;
	if (why == NULL || why[0] == '\0' || !audit_printable(why,
	    strlen(why)))
		why = "no reason given";
	audit_fmt(p->log_stopped, sizeof(p->log_stopped), "%s", why);
	node_record(NULL, json_pack("{s:s, s:s, s:s, s:s, s:I}", "event",
	    "pod.audit_stopped", "pod", p->spec.name, "pod_log", p->lp.log,
	    "message", p->log_stopped, "records",
	    (json_int_t)relay_records(p)), NULL);
	/* What waits is answered now; the pod's own unrecorded answers,
	 * which come behind this line, are then late and dropped. */
	chan_fail_fwds(p, "unavailable", "the pod's audit log has stopped: "
	    "it does nothing more (see pod.status; pod.stop ends it)");
}

static void
pod_line(struct pod *p, const char *line, size_t len)
{
	json_error_t jerr;
	const char *type;
	json_t *r;

	if (p->copy_failed)
		return;
	/*
	 * A record, canonical, ends so (no member of the pod's events sorts
	 * after "type" but "v"): straight to the copier, whose verifier takes
	 * nothing that is not a canonical record of the chain.  Anything
	 * else is parsed, records the quick look missed included.
	 */
	if (len > sizeof(RECORD_END) - 1 && memcmp(line + len -
	    (sizeof(RECORD_END) - 1), RECORD_END, sizeof(RECORD_END) - 1) ==
	    0) {
		to_copier(p, line, len);
		return;
	}
	if (answer_raw(p, line, len) == 0)
		return;
	if ((r = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		relay_fault(p, "the pod sent a line that is not JSON");
		return;
	}
	type = json_string_value(json_object_get(r, "type"));
	if (type != NULL && strcmp(type, "audit") == 0) {
		json_decref(r);
		to_copier(p, line, len);
		return;
	}
	if (type != NULL && strcmp(type, "audit.stopped") == 0) {
		log_stopped(p, r);
		json_decref(r);
		return;
	}
	pod_answer(p, r);
}

/* Part of a line from the pod, kept until its newline comes. */
static int
gather(struct pod *p, const char *s, size_t part)
{
	if (part == 0)
		return 0;	/* p->in may be NULL: nothing to copy */
	if (p->inlen + part > p->incap) {
		/* Never more than a line may hold (the caller checked). */
		size_t cap = 2 * (p->inlen + part) < POD_LINE_MAX ?
		    2 * (p->inlen + part) : POD_LINE_MAX;
		char *in;

		/* Within what all pods' unfinished lines may hold. */
		if (quota_in_grow(p, cap) != 0)
			return -1;
		if ((in = realloc(p->in, cap)) == NULL) {
			relay_fault(p, "out of memory");
			return -1;
		}
		p->in = in;
		quota_in_held(p, cap);
	}
	memcpy(p->in + p->inlen, s, part);
	p->inlen += part;
	return 0;
}

/* A long answer relayed: its buffer goes, not kept for the pod's life. */
static void
gathered(struct pod *p)
{
	p->inlen = 0;
	if (p->incap > POD_IN_KEEP) {
		free(p->in);
		p->in = NULL;
		quota_in_held(p, 0);
	}
}

void
chan_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pod *p = w->data;
	char buf[65536], *nl, *s;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = read(p->lp.chan, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		chan_stopped(p, "the pod's channel is closed");
		return;
	}
	/* A pod stopped for a fault: what it still sends is not kept. */
	if (p->copy_failed)
		return;
	s = buf;
	while ((nl = memchr(s, '\n', (size_t)(buf + n - s))) != NULL &&
	    !p->copy_failed) {
		size_t part = (size_t)(nl - s);

		if (p->inlen + part > POD_LINE_MAX)
			relay_fault(p, "the pod sent a line longer than the "
			    "node takes");
		else if (p->inlen == 0)
			pod_line(p, s, part);
		else if (gather(p, s, part) == 0)
			pod_line(p, p->in, p->inlen);
		gathered(p);
		s = nl + 1;
	}
	/*
	 * The start of a line: kept up to the limit, and the pod stopped
	 * as soon as it passes it, not at a newline that may never come.
	 */
	if (s < buf + n && !p->copy_failed) {
		size_t part = (size_t)(buf + n - s);

		if (p->inlen + part > POD_LINE_MAX) {
			gathered(p);
			relay_fault(p, "the pod sent a line longer than the "
			    "node takes");
		} else
			(void)gather(p, s, part);
	}
	/* A copy far behind: the pod waits, not the node's memory. */
	if (p->running && p->cw != NULL && !p->copy_failed &&
	    relay_behind(p) >= COPY_BACKLOG_MAX) {
		p->copy_paused = 1;
		ev_io_stop(N->loop, &p->rio);
	}
}
