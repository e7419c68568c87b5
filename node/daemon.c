/*
 * nucleus-node serve: every line through the gate; a refusal recorded
 * in the node's log before it is answered; node operations to pods.c;
 * tool operations forwarded to their pod once the (kid, nonce) pair is
 * durable.  Records are made durable by the log's group commit and
 * answered from the loop, which never waits for the disk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

json_t *
node_error(const json_t *id, const char *kind, const char *msg)
{
	return json_pack("{s:s, s:i, s:O, s:b, s:{s:s, s:s}}", "type",
	    "response", "v", 1, "id", id != NULL ? id : json_null(), "ok", 0,
	    "error", "kind", kind, "message", msg);
}

json_t *
node_ok(const json_t *id, json_t *result)
{
	return json_pack("{s:s, s:i, s:O, s:b, s:o}", "type", "response", "v",
	    1, "id", id != NULL ? id : json_null(), "ok", 1, "result",
	    result != NULL ? result : json_object());
}

/* Make event durable, then send answer to c; both consumed. */
void
node_record(struct lines_conn *c, json_t *event, json_t *answer)
{
	struct njob *j = calloc(1, sizeof(*j));
	struct audit_err e;

	if (j == NULL || event == NULL || audit_event_check(event, &e) != 0) {
		if (event != NULL)
			fprintf(stderr, "nucleus-node: a record that is not "
			    "one: %s\n", e.msg);
		free(j);
		json_decref(event);
		if (c != NULL && answer != NULL)
			lines_send(c, answer);
		json_decref(answer);
		return;
	}
	j->event = event;
	j->answer = answer;
	j->conn = c;
	if (c != NULL)
		lines_hold(c);
	if (N->batch_tail != NULL)
		N->batch_tail->next = j;
	else
		N->batch_head = j;
	N->batch_tail = j;
}

static void
job_free(struct njob *j)
{
	json_decref(j->event);
	json_decref(j->answer);
	if (j->conn != NULL)
		lines_release(j->conn);
	free(j);
}

static void
job_done(void *arg, int error, uint64_t seq, const char *hash)
{
	struct njob *j = arg;

	(void)seq;
	(void)hash;
	j->audit_error = error;
	doneq_push(&N->done, j);
}

/* Before the loop waits: the nonces durable, then the records. */
void
node_flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct njob *j, *next;
	struct audit_err e;

	(void)loop;
	(void)w;
	(void)revents;
	pods_flush();
	if ((N->gate.dirty || N->state_dirty) && mdb_env_sync(N->env, 1) == 0)
		N->gate.dirty = N->state_dirty = 0;
	j = N->batch_head;
	N->batch_head = N->batch_tail = NULL;
	for (; j != NULL; j = next) {
		next = j->next;
		if (audit_log_submit(N->log, j->event, job_done, j, &e) != 0) {
			fprintf(stderr, "nucleus-node: %s\n", e.msg);
			N->stopped = 1;
			job_free(j);
		}
	}
}

void
node_drain(struct ev_loop *loop, ev_async *w, int revents)
{
	struct njob *list, *j, *next;

	(void)loop;
	(void)w;
	(void)revents;
	list = doneq_take(&N->done);
	for (j = list; j != NULL; j = next) {
		next = j->next;
		if (j->audit_error != 0)
			N->stopped = 1;
		else if (j->conn != NULL && j->answer != NULL)
			lines_send(j->conn, j->answer);
		job_free(j);
	}
}

static void
refused(struct lines_conn *c, const struct gate_req *q, const char *line,
    size_t len, const uint8_t *hash)
{
	uint8_t h[AUDIT_HASH_LEN];
	char hex[AUDIT_HEX_LEN + 1];
	json_t *ev;

	if (hash == NULL) {
		audit_hash(h, line, len);
		hash = h;
	}
	audit_hex(hex, hash, AUDIT_HASH_LEN);
	ev = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "event",
	    "request.refused", "kind", q->kind, "message", q->why, "bytes",
	    (json_int_t)len, "line_hash", hex, "uid", (json_int_t)c->uid);
	if (ev != NULL && q->kid[0] != '\0')
		json_object_set_new(ev, q->verified ? "signer" : "claimed_kid",
		    json_string(q->kid));
	if (ev != NULL && q->verified && q->op != NULL)
		json_object_set_new(ev, "op", json_string(q->op));
	if (ev != NULL && q->verified && q->pod != NULL)
		json_object_set_new(ev, "pod", json_string(q->pod));
	node_record(c, ev, node_error(q->id, q->kind, q->why));
}

void
node_overlong(struct lines_conn *c, size_t len, const uint8_t *hash)
{
	struct gate_req q = { .kind = "too_large", .why = "the line is "
	    "longer than the node's limit" };

	refused(c, &q, NULL, len, hash);
}

void
node_line(struct lines_conn *c, const char *line, size_t len)
{
	struct gate_req q;

	if (N->stopped) {
		json_t *r = node_error(NULL, "unavailable", "the node's audit "
		    "log has stopped");

		lines_send(c, r);
		json_decref(r);
		return;
	}
	if (gate_check(&N->gate, line, len, (int64_t)time(NULL), &q) != 0)
		refused(c, &q, line, len, NULL);
	else if (q.node_op)
		pods_op(c, &q);
	else
		pods_forward(c, &q);
	gate_req_free(&q);
}

/*
 * A connection past NODE_CONNS_MAX was told so and closed.  Counted, and
 * recorded once a second at most (conn.refused), so that a flood of
 * connections cannot flood the log.
 */
void
node_turned_away(struct lines *srv, uid_t uid)
{
	(void)srv;
	N->turned_away++;
	N->turned_away_uid = uid;
}

void
node_turned_away_record(void)
{
	if (N->turned_away == 0)
		return;
	node_record(NULL, json_pack("{s:s, s:s, s:s, s:I, s:I}", "event",
	    "conn.refused", "kind", "unavailable", "message", "too many "
	    "connections", "count", (json_int_t)N->turned_away, "last_uid",
	    (json_int_t)N->turned_away_uid), NULL);
	N->turned_away = 0;
}
