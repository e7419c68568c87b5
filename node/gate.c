/*
 * The node's gate: every request line passes here before anything acts
 * on it, with the checks of formats section 4, in this order:
 *
 *	size		at most g->line_max bytes		too_large
 *	JSON		an object, no duplicate member, no
 *			unknown one, each member of its type
 *			(the envelope: envelope.c)		bad_request
 *	kid		in the keyring				auth_failed
 *	sig		Ed25519 or HMAC-SHA-256 over the
 *			request's signing input			auth_failed
 *	ts		within the skew of the clock		replayed
 *	nonce		(kid, nonce) never seen; kept in LMDB	replayed
 *	role		as ops.c's table says: admin: pod.create,
 *			pod.list (pod ""),
 *			pod.status, pod.stop; agent: a tool
 *			operation on a pod that names it	forbidden
 *	pod		one the node has			unknown_pod
 *	approval	a tool request's token: signed by an
 *			authority of the trust file, its nonce
 *			never forwarded before; kept in LMDB	invalid_approval
 *
 * The role and the pod are checked only once the signature holds, so an
 * unsigned caller learns nothing of which pods exist.  A request whose
 * signature holds spends its (kid, nonce) pair whatever the answer, so
 * that a request refused now (no such pod yet) cannot pass later.  The
 * pair's and a token's transactions are committed here and synced off
 * the loop (nsync.c): what the request does waits for that sync, its
 * bytes to the pod (channel.c) as its record and answer (record.c).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approval.h"
#include "node.h"
#include "nonces.h"

static const char *const members[] = {
	"type", "v", "id", "kid", "ts", "nonce", "pod", "op", "args",
	"approval", "sig", NULL
};

static const struct envelope_kind request_kinds[] = {
	{ "request", members, 1 },
	{ NULL, NULL, 0 }
};

static int
refuse(struct gate_req *q, const char *kind, const char *why)
{
	q->kind = kind;
	q->why = why;
	return -1;
}

/* The envelope (envelope.c), then the members a node's request adds. */
static int
envelope(struct gate_req *q)
{
	json_t *o = q->obj, *v;

	if (envelope_read(o, request_kinds, &q->env) != 0) {
		q->id = json_incref((json_t *)q->env.id);
		return refuse(q, q->env.error, q->env.why);
	}
	q->id = json_incref((json_t *)q->env.id);
	if (audit_fit(q->kid, sizeof(q->kid), NULL, "%s", q->env.kid) != 0)
		return refuse(q, "bad_request", "kid: expected a key id");
	v = json_object_get(o, "pod");
	if (!json_is_string(v) || (json_string_length(v) > 0 &&
	    !audit_podname_valid(json_string_value(v), json_string_length(v))))
		return refuse(q, "bad_request", "pod: expected a pod's name "
		    "(nucleus-pod(5)) or \"\"");
	q->pod = json_string_value(v);
	v = json_object_get(o, "op");
	if (!json_is_string(v) || (q->nop = node_op_find(
	    json_string_value(v))) == NULL)
		return refuse(q, "bad_request", "op: expected an operation of "
		    "nucleus-protocol(7)");
	q->op = json_string_value(v);
	q->node_op = q->nop->role == NODE_ROLE_ADMIN;
	if (!json_is_object(json_object_get(o, "args")))
		return refuse(q, "bad_request", "args: expected an object");
	v = json_object_get(o, "approval");
	if (v != NULL && !json_is_object(v))
		return refuse(q, "bad_request", "approval: expected a token");
	return 0;
}

/*
 * May this key's role make this request, on this pod?  The operation's
 * entry in node_ops says who may call it and whether it names a pod.
 */
static int
allowed(const struct gate *g, struct gate_req *q, const char *role)
{
	int admin = strcmp(role, "admin") == 0, rc;

	if (!admin && strcmp(role, "agent") != 0)
		return refuse(q, "forbidden", "the key's role is neither "
		    "admin nor agent");
	if (admin && q->nop->role != NODE_ROLE_ADMIN)
		return refuse(q, "forbidden", "an admin key manages pods; it "
		    "cannot call their tools");
	if (!admin && q->nop->role != NODE_ROLE_AGENT)
		return refuse(q, "forbidden", "an agent key calls tools; only "
		    "an admin key manages pods");
	if (q->nop->names_pod != (q->pod[0] != '\0'))
		return refuse(q, "bad_request", admin ? "pod: \"\" for "
		    "pod.create and pod.list, a pod id otherwise" : "pod: a "
		    "tool operation names its pod");
	if (admin) {
		if (q->pod[0] != '\0' && g->pod_exists != NULL &&
		    !g->pod_exists(g->arg, q->pod))
			return refuse(q, "unknown_pod", "no such pod");
		return 0;
	}
	rc = g->may_call != NULL ? g->may_call(g->arg, q->pod, q->kid) : -1;
	if (rc < 0)
		return refuse(q, "unknown_pod", "no such pod");
	if (rc == 0)
		return refuse(q, "forbidden", "the pod does not name this "
		    "agent");
	return 0;
}

/*
 * A write of the state failed (a full disk, say): after a failed commit
 * LMDB's own memory may not be trusted, so nothing touches it until the
 * node has opened it again (node_state_retry, each second).
 */
static void
state_said(struct gate *g, const char *what)
{
	if (!g->fault_said)
		fprintf(stderr, "nucleus-node: the %s cannot be written (is "
		    "the disk full?); requests are answered unavailable "
		    "until it can be (tried each second)\n", what);
	g->broken = g->fault_said = 1;
}

static int
state_failed(struct gate *g, struct gate_req *q, const char *what)
{
	state_said(g, what);
	return refuse(q, "unavailable", "the node's state cannot be written "
	    "now; it is tried again each second");
}

/* The (kid, nonce) pair, stored: replayed when it was seen before. */
static int
spend_nonce(struct gate *g, struct gate_req *q)
{
	struct audit_err e;
	MDB_txn *txn;
	int seen;

	if (g->broken || g->env == NULL)
		return refuse(q, "unavailable", "the node's state cannot be "
		    "written now; it is tried again each second");
	if (mdb_txn_begin(g->env, NULL, 0, &txn) != 0)
		return state_failed(g, q, "nonce store");
	if ((seen = replay_put(txn, g->nonces, q->kid, q->env.nonce,
	    q->env.ts, &e)) != 0) {
		mdb_txn_abort(txn);
		return seen == 2 ? refuse(q, "replayed", REPLAY_FLOOR_WHY) :
		    seen > 0 ? refuse(q, "replayed", "nonce: seen before "
		    "from this kid") : state_failed(g, q, "nonce store");
	}
	if (mdb_txn_commit(txn) != 0)
		return state_failed(g, q, "nonce store");
	if (g->fault_said) {
		fprintf(stderr, "nucleus-node: the state is written again\n");
		g->fault_said = 0;
	}
	g->dirty = 1;
	return 0;
}

/*
 * An approval token's nonce, hex, into the node's ledger of tokens
 * spent, kept until its exp is past (gate_prune): 0, or -1 with the
 * kind and why of the refusal.  Committed here; durable with the next
 * sync of the state, which what it lets through waits for (g->dirty).
 * Shared by the tool requests' tokens (below) and the connect tokens a
 * pod's gateway took (egress.c), so that no token is used twice on this
 * node, whichever way it comes, across pods made again and restarts.
 */
int
gate_ledger_spend(struct gate *g, const char *hex, const json_t *exp,
    int64_t now, const char **kind, const char **why)
{
	uint8_t nonce[AUDIT_NONCE_LEN];
	int64_t until;
	MDB_txn *txn;
	int rc;

	*kind = "invalid_approval";
	if (hex == NULL || audit_unhex(nonce, sizeof(nonce), hex,
	    strlen(hex)) != 0)
		return *why = "rule 7: the token has no valid nonce", -1;
	if (!json_is_integer(exp))
		return *why = "rule 6: the token has no iat or exp", -1;
	if ((until = json_integer_value(exp)) > now + GATE_TOKEN_AHEAD)
		return *why = "rule 6: the token lives longer than allowed",
		    -1;
	*kind = "unavailable";
	*why = "the node's state cannot be written now; it is tried again "
	    "each second";
	if (g->broken || g->env == NULL)
		return -1;
	if (mdb_txn_begin(g->env, NULL, 0, &txn) != 0)
		return state_said(g, "token ledger"), -1;
	/* Past the ledger's floor, its nonce may have been forgotten. */
	if ((rc = replay_spend(txn, g->tokens, nonce, until, NULL)) != 0) {
		mdb_txn_abort(txn);
		if (rc < 0)
			return state_said(g, "token ledger"), -1;
		*kind = "invalid_approval";
		return *why = rc == 2 ? "rule 6: the token has expired" :
		    "rule 7: the token was already used on this node", -1;
	}
	if (mdb_txn_commit(txn) != 0)
		return state_said(g, "token ledger"), -1;
	g->dirty = 1;
	return 0;
}

/*
 * A tool request's approval token, written to the node's ledger of
 * tokens forwarded, and durable before its request can reach a pod: a
 * token is used at most once on this node, whatever becomes of its pod
 * (a pod re-created under the same name starts with a fresh proxy
 * state).  Spent once forwarded, whether or not the pod then takes it.
 * Its signature is the proxy's to check; the node keeps its nonce until
 * its exp is past (gate_prune), and so refuses an exp beyond what any
 * pod accepts, which would be kept for ever.
 */
static int
spend_token(struct gate *g, struct gate_req *q, int64_t now)
{
	const json_t *t = json_object_get(q->obj, "approval");
	const char *kind, *why;

	if (t == NULL || q->node_op)
		return 0;
	if (q->token_bad[0] != '\0')
		return refuse(q, "invalid_approval", q->token_bad);
	if (gate_ledger_spend(g, json_string_value(json_object_get(t,
	    "nonce")), json_object_get(t, "exp"), now, &kind, &why) != 0)
		return refuse(q, kind, why);
	return 0;
}

/*
 * A tool request's token is signed by an authority of the trust file
 * (rule 1 of approval.c, the proxy's first): checked here, with the
 * keys, so that a made-up token costs the ledger nothing (a hostile
 * agent's forged nonces, each kept until its exp, would fill the node's
 * state for every pod) and is refused at the gate, once the request's
 * nonce is spent (spend_token).  The proxy checks all seven rules again.
 */
static void
token_signed(const struct gate *g, struct gate_req *q)
{
	const json_t *t = json_object_get(q->obj, "approval");

	if (t == NULL || q->node_op || g->trust == NULL)
		return;
	(void)approval_signed(t, g->trust, q->token_bad,
	    sizeof(q->token_bad));
}

/*
 * What needs no state but the keyring: the size, the JSON, the envelope,
 * the kid and the signature, the ts.  Safe on any thread (gateq.c): the
 * keyring is read under g->keys_lock, which a reload takes to replace it.
 */
int
gate_verify(struct gate *g, const char *line, size_t len, int64_t now,
    struct gate_req *q)
{
	const struct audit_pubkey *key;
	struct audit_err e;
	int rc;

	memset(q, 0, sizeof(*q));
	if (len > g->line_max)
		return refuse(q, "too_large", "the line is longer than the "
		    "node's limit");
	if (cjson_parse(line, len, &q->obj, &e) != 0 ||
	    !json_is_object(q->obj))
		return refuse(q, "bad_request", "not a JSON object (duplicate "
		    "members, fractions and invalid UTF-8 are refused)");
	if (envelope(q) != 0)
		return -1;
	pthread_rwlock_rdlock(&g->keys_lock);
	rc = envelope_verify(q->obj, &q->env, g->keys, now, g->skew, "node's",
	    &key);
	/* A role that does not fit is refused once the nonce is spent. */
	if (rc == 0 && audit_fit(q->role, sizeof(q->role), NULL, "%s",
	    key->role) != 0)
		q->role[0] = '\0';
	if (rc == 0)
		token_signed(g, q);
	pthread_rwlock_unlock(&g->keys_lock);
	if (rc != 0) {
		q->verified = q->env.verified;
		return refuse(q, q->env.error, q->env.why);
	}
	q->verified = 1;
	return 0;
}

/* A request gate_verify passed: its nonce, its role, its pod, its token. */
int
gate_finish(struct gate *g, struct gate_req *q, int64_t now)
{
	if (spend_nonce(g, q) != 0)
		return -1;
	if (q->role[0] == '\0')
		return refuse(q, "internal", "the key's role does not fit");
	if (allowed(g, q, q->role) != 0)
		return -1;
	return spend_token(g, q, now);
}

int
gate_check(struct gate *g, const char *line, size_t len, int64_t now,
    struct gate_req *q)
{
	if (gate_verify(g, line, len, now, q) != 0)
		return -1;
	return gate_finish(g, q, now);
}

/*
 * Forget what no check needs: pairs older than the skew (refused by
 * their ts anyway), tokens past their exp by more than the skew (a pod
 * refuses them as expired).
 */
void
gate_prune(struct gate *g, int64_t now)
{
	if (g->broken || g->env == NULL)
		return;
	if (replay_prune(g->env, g->nonces, now - g->skew - 1) < 0 ||
	    replay_prune(g->env, g->tokens, now - g->skew) < 0)
		g->broken = 1;
}

void
gate_req_free(struct gate_req *q)
{
	json_decref(q->id);
	json_decref(q->obj);
	q->id = q->obj = NULL;
}
