/*
 * nucleus-node serve: every line through the gate (gateq.c, gate.c); a
 * refusal recorded
 * in the node's log before it is answered; node operations to pods.c;
 * tool operations forwarded to their pod once the (kid, nonce) pair is
 * durable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"

/*
 * Past its uid's RWIN_MAX in RWIN_S (rwin.h), a refusal of c's is
 * answered without a record, and counted: 1 when so.
 */
int
node_refusal_counted(struct lines_conn *c, const json_t *id,
    const char *kind, const char *why)
{
	char msg[RWIN_MSG_MAX];
	json_t *r;

	if (!rwin_refusal(&N->refusals, c->uid, c->privileged, kind, why,
	    (int64_t)time(NULL), msg))
		return 0;
	r = node_error(id, kind, msg);
	lines_send(c, r);
	json_decref(r);
	return 1;
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
	if (node_refusal_counted(c, q->id, q->kind, q->why))
		return;
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

/* A uid's refusals counted in a window, recorded as one (rwin.h). */
void
node_refusals_record(void *arg, json_t *ev)
{
	(void)arg;
	node_record(NULL, ev, NULL);
}

void
node_overlong(struct lines_conn *c, size_t len, const uint8_t *hash)
{
	struct gate_req q = { .kind = "too_large", .why = "the line is "
	    "longer than the node's limit" };

	refused(c, &q, NULL, len, hash);
}

/*
 * A request line, checked by gate_verify (gateq.c, rc its result):
 * refused, or finished by the gate and given to its operation's handler.
 */
void
node_line_checked(struct lines_conn *c, struct gate_req *q, int rc,
    int64_t now, const char *line, size_t len)
{
	if (N->stopped) {
		json_t *r = node_error(NULL, "unavailable", "the node's audit "
		    "log has stopped; it is tried again each second");

		lines_send(c, r);
		json_decref(r);
		return;
	}
	/* Past the gate, the operation is one of node_ops (ops.c). */
	if (rc != 0 || gate_finish(&N->gate, q, now) != 0)
		refused(c, q, line, len, NULL);
	else
		q->nop->handler(c, q);
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

/*
 * The host's operator: root, or the uid the node runs as.  Its clients
 * may take NODE_CONNS_RESERVE connections past NODE_CONNS_MAX, which
 * agents (other uids, given the socket by -g) cannot; the admin is a
 * key's role, unknown until a line is read, so the uid is what counts.
 */
int
node_privileged(const struct lines *srv, int listener, uid_t uid)
{
	(void)srv;
	(void)listener;
	return uid == 0 || uid == geteuid();
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
