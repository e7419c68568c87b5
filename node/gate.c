/*
 * The node's gate: every request line passes here before anything acts
 * on it, with the checks of formats section 4, in this order:
 *
 *	size		at most g->line_max bytes		too_large
 *	JSON		an object, no duplicate member, no
 *			unknown one, each member of its type	bad_request
 *	kid		in the keyring				auth_failed
 *	sig		Ed25519 or HMAC-SHA-256 over the
 *			request's signing input			auth_failed
 *	ts		within the skew of the clock		replayed
 *	role		as ops.c's table says: admin: pod.create,
 *			pod.list (pod ""),
 *			pod.status, pod.stop; agent: a tool
 *			operation on a pod that names it	forbidden
 *	pod		one the node has			unknown_pod
 *	nonce		(kid, nonce) never seen; kept in LMDB	replayed
 *
 * The role and the pod are checked only once the signature holds, so an
 * unsigned caller learns nothing of which pods exist.  The pair is
 * stored last, in a transaction the caller syncs before it acts.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "nonces.h"

static const char *const members[] = {
	"type", "v", "id", "kid", "ts", "nonce", "pod", "op", "args",
	"approval", "sig", NULL
};

static int
refuse(struct gate_req *q, const char *kind, const char *why)
{
	q->kind = kind;
	q->why = why;
	return -1;
}

static int
printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Each member in turn, as section 4 lists them: long, but one check a
 * member. */
static int
envelope(struct gate_req *q)
{
	json_t *o = q->obj, *v;
	const char *k;

	json_object_foreach(o, k, v) {
		size_t i;

		for (i = 0; members[i] != NULL; i++)
			if (strcmp(k, members[i]) == 0)
				break;
		if (members[i] == NULL)
			return refuse(q, "bad_request", "unknown member in the "
			    "request");
	}
	v = json_object_get(o, "id");
	if (!json_is_string(v) || json_string_length(v) < 1 ||
	    json_string_length(v) > GATE_ID_MAX ||
	    !printable(json_string_value(v), json_string_length(v)))
		return refuse(q, "bad_request", "id: expected 1 to 64 "
		    "printable characters");
	q->id = json_incref(v);
	v = json_object_get(o, "type");
	if (!json_is_string(v) || strcmp(json_string_value(v), "request") != 0)
		return refuse(q, "bad_request", "type: expected \"request\"");
	v = json_object_get(o, "v");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return refuse(q, "bad_request", "v: expected 1");
	v = json_object_get(o, "kid");
	if (!json_is_string(v) || !audit_kid_valid(json_string_value(v),
	    json_string_length(v)))
		return refuse(q, "bad_request", "kid: expected a key id");
	audit_fmt(q->kid, sizeof(q->kid), "%s", json_string_value(v));
	v = json_object_get(o, "ts");
	if (!json_is_integer(v))
		return refuse(q, "bad_request", "ts: expected Unix seconds");
	q->ts = json_integer_value(v);
	v = json_object_get(o, "nonce");
	if (!json_is_string(v) || json_string_length(v) != 2 *
	    AUDIT_NONCE_LEN || audit_unhex(q->nonce, AUDIT_NONCE_LEN,
	    json_string_value(v), json_string_length(v)) != 0)
		return refuse(q, "bad_request", "nonce: expected 32 hex "
		    "digits");
	v = json_object_get(o, "pod");
	if (!json_is_string(v) || (json_string_length(v) > 0 &&
	    !audit_logid_valid(json_string_value(v), json_string_length(v))))
		return refuse(q, "bad_request", "pod: expected a pod id or "
		    "\"\"");
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
	if (!json_is_string(json_object_get(o, "sig")))
		return refuse(q, "bad_request", "sig: expected a signature");
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

int
gate_check(struct gate *g, const char *line, size_t len, int64_t now,
    struct gate_req *q)
{
	static char why[sizeof(((struct audit_err *)0)->msg) + 8];
	const struct audit_pubkey *key, *signer;
	struct audit_err e;
	MDB_txn *txn;
	int seen;

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
	if ((key = audit_keyring_find(g->keys, q->kid)) == NULL)
		return refuse(q, "auth_failed", "kid: not in the node's "
		    "keyring");
	if (audit_verify(q->obj, "request", g->keys, &signer, &e) != 0) {
		audit_fmt(why, sizeof(why), "sig: %s", e.msg);
		return refuse(q, "auth_failed", why);
	}
	q->verified = 1;
	if (q->ts < now - g->skew || q->ts > now + g->skew)
		return refuse(q, "replayed", "ts: too far from the node's "
		    "clock");
	audit_fmt(q->role, sizeof(q->role), "%s", key->role);
	if (allowed(g, q, key->role) != 0)
		return -1;
	if (mdb_txn_begin(g->env, NULL, 0, &txn) != 0)
		return refuse(q, "internal", "the nonce store cannot be "
		    "written");
	if ((seen = replay_put(txn, g->nonces, q->kid, q->nonce, q->ts,
	    &e)) != 0) {
		mdb_txn_abort(txn);
		return seen > 0 ? refuse(q, "replayed", "nonce: seen before "
		    "from this kid") : refuse(q, "internal", "the nonce "
		    "store cannot be written");
	}
	if (mdb_txn_commit(txn) != 0)
		return refuse(q, "internal", "the nonce store cannot be "
		    "written");
	g->dirty = 1;
	return 0;
}

void
gate_req_free(struct gate_req *q)
{
	json_decref(q->id);
	json_decref(q->obj);
	q->id = q->obj = NULL;
}
