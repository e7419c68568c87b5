/*
 * The node's gate: the request vectors, and each check of formats
 * section 4 failing in turn with its error kind, replays across a
 * reopened store too; a refused request's nonce spent all the same; an
 * approval token forwarded once only, across a reopened store too.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node.h"
#include "serve.h"
#include "tap.h"
#include "vectors.h"

#define VTS	1764400000	/* the vectors' ts */

static char dir[] = "/tmp/nucleus-t4002-XXXXXX";
static struct audit_keyring ring;
static struct gate g;
static MDB_env *env;
static struct audit_seckey *agent, *admin, *node, *intruder;
static int late;	/* p-late exists */

static int
pod_exists(void *arg, const char *pod)
{
	(void)arg;
	return strcmp(pod, "p-0001") == 0 || strcmp(pod, "p-other") == 0 ||
	    (late && strcmp(pod, "p-late") == 0);
}

/* p-0001 names agent-7 and agent-hmac; p-other names nobody. */
static int
may_call(void *arg, const char *pod, const char *kid)
{
	if (!pod_exists(arg, pod))
		return -1;
	return (strcmp(pod, "p-0001") == 0 || strcmp(pod, "p-late") == 0) &&
	    (strcmp(kid, "agent-7") == 0 || strcmp(kid, "agent-hmac") == 0);
}

static void
open_store(void)
{
	MDB_txn *txn;

	if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 3) != 0 ||
	    mdb_env_open(env, dir, 0, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
	    mdb_dbi_open(txn, "nonces", MDB_CREATE, &g.nonces) != 0 ||
	    mdb_dbi_open(txn, "tokens", MDB_CREATE, &g.tokens) != 0 ||
	    mdb_txn_commit(txn) != 0) {
		printf("Bail out! cannot open LMDB in %s\n", dir);
		exit(1);
	}
	g.env = env;
}

static struct audit_seckey *
key_of(const char *name, const char *kid)
{
	json_t *keys = vector_load("keys.json"), *k;
	struct audit_seckey *sk = NULL;
	struct audit_err e;
	uint8_t seed[32];
	size_t i;

	json_array_foreach(keys, i, k) {
		const char *s = json_string_value(json_object_get(k,
		    "seed_b64"));

		if (strcmp(json_string_value(json_object_get(k, "name")),
		    name) != 0 || s == NULL)
			continue;
		audit_unb64(seed, sizeof(seed), s, strlen(s));
		audit_seckey_from_seed(&sk, kid, seed, &e);
	}
	json_decref(keys);
	return sk;
}

/* A signed request line carrying token (when not NULL), fresh. */
static char *
req_token(struct audit_seckey *k, const char *pod, const char *op,
    long long ts, const json_t *token)
{
	static unsigned serial;
	struct audit_err e;
	char nonce[33];
	json_t *o;
	char *s;

	snprintf(nonce, sizeof(nonce), "%032x", ++serial);
	o = json_pack("{s:s, s:i, s:s, s:s, s:I, s:s, s:s, s:s, s:{}}", "type",
	    "request", "v", 1, "id", "q", "kid", k->kid, "ts", (json_int_t)ts,
	    "nonce", nonce, "pod", pod, "op", op, "args");
	if (token != NULL)
		json_object_set(o, "approval", (json_t *)token);
	audit_sign(o, "request", k, &e);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static char *
req(struct audit_seckey *k, const char *pod, const char *op, long long ts)
{
	return req_token(k, pod, op, ts, NULL);
}

/* The kind a line gets at time now: "ok" or the error kind. */
static const char *
kind(const char *line, long long now, const char **why)
{
	static char buf[32];
	struct gate_req q;
	int rc = gate_check(&g, line, strlen(line), now, &q);

	snprintf(buf, sizeof(buf), "%s", rc == 0 ? "ok" : q.kind);
	if (why != NULL)
		*why = q.why;
	gate_req_free(&q);
	return buf;
}

static void
expect(const char *line, long long now, const char *want, const char *what)
{
	const char *why = NULL, *got = kind(line, now, &why);

	if (!ok(strcmp(got, want) == 0, "%s: %s", what, want))
		diag("got %s (%s)", got, why != NULL ? why : "");
}

static const char *
vector_line(const char *name)
{
	static char *s;
	json_t *all = vector_load("signed.json"), *c;
	size_t i;

	free(s);
	s = NULL;
	json_array_foreach(all, i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")),
		    name) == 0)
			s = json_dumps(json_object_get(c, "object"),
			    JSON_COMPACT);
	json_decref(all);
	return s;
}

/*
 * The one table of operations: each entry has a handler, each name is
 * found as itself, a tool operation reaches only the pod, and a name
 * not in it reaches nothing (the gate refuses it: bad_request).
 */
static void
table(void)
{
	static const char *const admin_ops[] = { "pod.create", "pod.list",
	    "pod.status", "pod.stop" };
	const struct node_op *o;
	int tools = 0;

	for (size_t i = 0; i < node_ops_n; i++) {
		o = &node_ops[i];
		ok(o->handler != NULL, "%s has a handler", o->name != NULL ?
		    o->name : "a tool operation");
		if (o->name == NULL) {
			tools++;
			continue;
		}
		ok(node_op_find(o->name) == o, "%s is found as itself",
		    o->name);
		ok(o->handler != pods_forward, "%s is handled on the node",
		    o->name);
		/* An agent's own word to the node: its approval request,
		 * checked against its pod (approve.c). */
		if (strcmp(o->name, "approval.request") == 0)
			ok(o->role == NODE_ROLE_AGENT && o->names_pod,
			    "%s is an agent's, naming its pod", o->name);
		else
			ok(o->role == NODE_ROLE_ADMIN, "%s is an admin's",
			    o->name);
	}
	is_int(tools, 1, "one entry for the tool operations");
	for (size_t i = 0; i < sizeof(admin_ops) / sizeof(admin_ops[0]); i++)
		ok((o = node_op_find(admin_ops[i])) != NULL &&
		    o->name != NULL && strcmp(o->name, admin_ops[i]) == 0,
		    "%s is in the table", admin_ops[i]);
	o = node_op_find("read");
	ok(o != NULL && o->name == NULL && o->role == NODE_ROLE_AGENT &&
	    o->names_pod && o->handler == pods_forward,
	    "a tool operation is an agent's, forwarded to its pod");
	ok(node_op_find("pod.nope") == NULL && node_op_find("") == NULL &&
	    node_op_find("pod.") == NULL, "an unknown operation has no entry");
}

/*
 * A signed request refused after its signature held spends its nonce:
 * refused as unknown_pod, it is a replay once the pod exists.
 */
static void
refused_spent(void)
{
	char *line = req(agent, "p-late", "read", VTS);

	expect(line, VTS, "unknown_pod", "an agent calling a pod not yet "
	    "made");
	late = 1;
	expect(line, VTS, "replayed", "the same line once the pod exists");
	late = 0;
	free(line);
	line = req(agent, "p-other", "read", VTS);
	expect(line, VTS, "forbidden", "a pod that does not name the agent");
	expect(line, VTS, "replayed", "the same line again");
	free(line);
}

/*
 * What a prune forgot stays refused: a node restarted with a wider skew
 * (-w), or whose clock was set back, does not take a line again whose
 * pair it no longer holds (the floor, libdaemon/nonces.c).
 */
static void
floor_kept(void)
{
	char *line = req(admin, "", "pod.list", VTS + 1000);
	char *fresh = req(admin, "", "pod.list", VTS + 1000);
	char *now = req(admin, "", "pod.list", VTS + 1100);

	expect(line, VTS + 1030, "ok", "a line 30 s old, within the skew");
	g.skew = 5;
	gate_prune(&g, VTS + 1030);
	g.skew = GATE_SKEW;
	mdb_env_close(env);
	open_store();
	expect(line, VTS + 1031, "replayed", "the same line after a prune "
	    "under -w 5 and a restart under -w 60");
	expect(line, VTS + 990, "replayed", "the same line under a clock "
	    "set back");
	expect(fresh, VTS + 1031, "replayed", "a new line as old: below the "
	    "floor, refused");
	expect(now, VTS + 1100, "ok", "a line of now is taken");
	gate_prune(&g, VTS + 100);
	expect(line, VTS + 1031, "replayed", "the floor never falls");
	free(line);
	free(fresh);
	free(now);
}

/* A token as the gate reads it: its nonce and exp (the proxy checks the
 * rest). */
static json_t *
token(const char *nonce, long long exp)
{
	return json_pack("{s:s, s:s, s:I}", "type", "approval", "nonce",
	    nonce, "exp", (json_int_t)exp);
}

static void
expect_token(const json_t *t, const char *pod, const char *op,
    long long now, const char *want, const char *what)
{
	char *line = req_token(pod[0] == '\0' ? admin : agent, pod, op, now, t);

	expect(line, now, want, what);
	free(line);
}

/* A token goes to a pod once only, whichever request carries it. */
static void
tokens(void)
{
	json_t *t = token("0123456789abcdef0123456789abcdef", VTS + 120);
	json_t *far = token("00000000000000000000000000000001", VTS +
	    GATE_TOKEN_AHEAD + 1);
	json_t *bad = token("not hex", VTS + 120);

	expect_token(t, "p-none", "run", VTS, "unknown_pod", "a token for "
	    "no pod: not forwarded");
	expect_token(t, "", "pod.list", VTS, "ok", "a token on a node "
	    "operation: not forwarded");
	expect_token(t, "p-0001", "run", VTS, "ok", "a token forwarded");
	expect_token(t, "p-0001", "run", VTS, "invalid_approval", "the same "
	    "token in another request");
	mdb_env_close(env);
	open_store();
	expect_token(t, "p-0001", "run", VTS + 1, "invalid_approval", "the "
	    "same token after the store is reopened, as after a restart");
	expect_token(far, "p-0001", "run", VTS, "invalid_approval", "a token "
	    "whose exp is further than any pod accepts");
	expect_token(bad, "p-0001", "run", VTS, "invalid_approval", "a token "
	    "without a nonce");
	gate_prune(&g, VTS + 120 + GATE_SKEW);
	expect_token(t, "p-0001", "run", VTS + 120 + GATE_SKEW,
	    "invalid_approval", "kept until its exp is past by more than the "
	    "skew");
	gate_prune(&g, VTS + 120 + GATE_SKEW + 1);
	expect_token(t, "p-0001", "run", VTS + 120 + GATE_SKEW + 1,
	    "invalid_approval", "forgotten once its exp is past by more than "
	    "the skew, and refused all the same: below the ledger's floor");
	expect_token(t, "p-0001", "run", VTS + 3, "replayed", "and under a "
	    "clock set back, its request is below the nonces' floor");
	json_decref(t);
	json_decref(far);
	json_decref(bad);
}

/*
 * A token not signed by an authority of the trust file is refused at the
 * gate and costs the ledger nothing: its nonce stays free for the real
 * token that bears it.
 */
static void
forged(void)
{
	struct audit_seckey *auth = key_of("authority", "authority-1");
	struct audit_seckey *fake = key_of("intruder", "authority-1");
	struct audit_keyring trust;
	struct audit_err e;
	char line[512];
	json_t *t;

	audit_keyring_line(auth, "authority", line, sizeof(line));
	if (audit_keyring_parse(&trust, line, strlen(line), 1, &e) != 0) {
		printf("Bail out! %s\n", e.msg);
		exit(1);
	}
	g.trust = &trust;
	t = json_pack("{s:s, s:i, s:s, s:s, s:I}", "type", "approval", "v", 1,
	    "kid", "authority-1", "nonce", "0000000000000000000000000000f00d",
	    "exp", (json_int_t)(VTS + 2100));
	expect_token(t, "p-0001", "run", VTS + 2000, "invalid_approval",
	    "an unsigned token: refused at the gate");
	audit_sign(t, "approval", fake, &e);
	expect_token(t, "p-0001", "run", VTS + 2000, "invalid_approval",
	    "a token signed by another key under the authority's kid");
	json_object_del(t, "sig");
	audit_sign(t, "approval", auth, &e);
	expect_token(t, "p-0001", "run", VTS + 2000, "ok", "the authority's "
	    "token of the same nonce: the forgeries spent nothing");
	expect_token(t, "p-0001", "run", VTS + 2000, "invalid_approval",
	    "and it is spent once");
	g.trust = NULL;
	json_decref(t);
	audit_keyring_free(&trust);
	audit_seckey_free(auth);
	audit_seckey_free(fake);
}

int
main(void)
{
	struct audit_err e;
	char *line, *big, text[8192];
	FILE *f;
	size_t n;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	agent = key_of("agent", "agent-7");
	node = key_of("node", "node-1");
	intruder = key_of("intruder", "agent-7");
	audit_seckey_generate(&admin, "ops-1", &e);
	f = fopen(vector_path("keyring"), "re");
	n = f != NULL ? fread(text, 1, sizeof(text) - 200, f) : 0;
	if (f != NULL)
		fclose(f);
	text[n] = '\0';
	audit_keyring_line(admin, "admin", text + n, sizeof(text) - n);
	strcat(text, "\n");
	if (audit_keyring_parse(&ring, text, strlen(text), 1, &e) != 0) {
		printf("Bail out! %s\n", e.msg);
		return 1;
	}
	g.keys = &ring;
	g.skew = GATE_SKEW;
	g.line_max = GATE_LINE_MAX;
	g.pod_exists = pod_exists;
	g.may_call = may_call;
	open_store();
	table();

	expect(vector_line("request-ed25519"), VTS, "ok",
	    "the Ed25519 request vector");
	expect(vector_line("request-ed25519"), VTS, "replayed",
	    "the same again");
	expect(vector_line("request-hmac"), VTS, "ok",
	    "the HMAC-SHA-256 request vector");
	mdb_env_close(env);
	open_store();
	expect(vector_line("request-hmac"), VTS, "replayed",
	    "after the store is reopened, as after a restart");
	expect(vector_line("request-tampered-args"), VTS, "auth_failed",
	    "args changed after signing");
	expect(vector_line("approval-checked-as-request"), VTS, "bad_request",
	    "a token sent as a request");

	line = req(agent, "p-0001", "read", VTS);
	expect(line, VTS + 61, "replayed", "61 s later than ts");
	expect(line, VTS - 61, "replayed", "61 s earlier than ts");
	expect(line, VTS + 60, "ok", "60 s later: within the skew");
	free(line);

	line = req(intruder, "p-0001", "read", VTS);
	expect(line, VTS, "auth_failed", "signed by another key under the "
	    "agent's kid");
	free(line);
	{
		struct audit_seckey *stranger;

		audit_seckey_generate(&stranger, "stranger", &e);
		line = req(stranger, "p-0001", "read", VTS);
		expect(line, VTS, "auth_failed", "a kid not in the keyring");
		free(line);
		audit_seckey_free(stranger);
	}

	line = req(agent, "", "pod.create", VTS);
	expect(line, VTS, "forbidden", "an agent creating a pod");
	free(line);
	line = req(agent, "p-other", "read", VTS);
	expect(line, VTS, "forbidden", "an agent calling a pod that does not "
	    "name it");
	free(line);
	line = req(agent, "p-none", "read", VTS);
	expect(line, VTS, "unknown_pod", "an agent calling no pod");
	free(line);
	line = req(admin, "", "pod.create", VTS);
	expect(line, VTS, "ok", "an admin creating a pod");
	free(line);
	line = req(admin, "", "pod.list", VTS);
	expect(line, VTS, "ok", "an admin listing pods");
	free(line);
	line = req(admin, "p-0001", "read", VTS);
	expect(line, VTS, "forbidden", "an admin calling a pod's tools");
	free(line);
	line = req(admin, "p-none", "pod.stop", VTS);
	expect(line, VTS, "unknown_pod", "an admin stopping no pod");
	free(line);
	line = req(admin, "p-0001", "pod.create", VTS);
	expect(line, VTS, "bad_request", "pod.create naming a pod");
	free(line);
	line = req(node, "p-0001", "read", VTS);
	expect(line, VTS, "forbidden", "a key whose role is node");
	free(line);
	line = req(agent, "p-0001", "frobnicate", VTS);
	expect(line, VTS, "bad_request", "an unknown operation");
	free(line);

	line = req(agent, "p-0001", "read", VTS);
	{
		char *dup = malloc(strlen(line) + 16);

		sprintf(dup, "{\"v\":1,%s", line + 1);
		expect(dup, VTS, "bad_request", "a duplicate member");
		sprintf(dup, "{\"x\":1,%s", line + 1);
		expect(dup, VTS, "bad_request", "an unknown member");
		free(dup);
	}
	free(line);
	expect("[1,2]", VTS, "bad_request", "not an object");

	big = malloc(GATE_LINE_MAX + 2);
	memset(big, ' ', GATE_LINE_MAX + 1);
	big[0] = '{';
	big[GATE_LINE_MAX - 1] = '}';
	big[GATE_LINE_MAX] = '\0';
	expect(big, VTS, "bad_request", "a line of exactly the limit is read");
	big[GATE_LINE_MAX] = ' ';
	big[GATE_LINE_MAX + 1] = '\0';
	expect(big, VTS, "too_large", "one byte over the limit");
	free(big);

	refused_spent();
	tokens();
	floor_kept();
	forged();
	ok(g.dirty, "the accepted pairs wait for the caller's sync");
	mdb_env_close(env);
	audit_keyring_free(&ring);
	audit_seckey_free(agent);
	audit_seckey_free(admin);
	audit_seckey_free(node);
	audit_seckey_free(intruder);
	snprintf(text, sizeof(text), "rm -rf %s", dir);
	(void)!system(text);
	return done_testing();
}
