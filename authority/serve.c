/*
 * serve's steps, in the order main.c takes them: what the configuration
 * holds (the directory, the key, the agents' keyring, the rules) and
 * whether it holds together; the state and the audit log, with any
 * records a stop left out; the loop's watchers; the two sockets; the
 * start record; and, once the loop has stopped, the stop record and the
 * closing of everything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authority.h"
#include "confine.h"
#include "roles.h"

#define EXIT_BADCONF	1

static ev_signal sigterm, sigint, sighup, sigusr1;

static void
line(struct lines_conn *c, const char *p, size_t n)
{
	if (c->listener == LISTEN_ADMIN)
		admin_line(c, p, n);
	else
		agent_line(c, p, n);
}

static void
overlong(struct lines_conn *c, size_t n, const uint8_t *hash)
{
	if (c->listener == LISTEN_ADMIN)
		admin_overlong(c, n, hash);
	else
		agent_overlong(c, n, hash);
}

/* Operators on the admin socket may take CONNS_RESERVE more. */
static int
privileged(const struct lines *srv, int listener, uid_t uid)
{
	(void)srv;
	return listener == LISTEN_ADMIN && admin_is_operator(uid);
}

static int
accept_conn(struct lines_conn *c)
{
	return c->listener == LISTEN_ADMIN ? admin_accept(c) : 0;
}

/*
 * An agent may have CONN_INFLIGHT_MAX lines in flight; an admin one
 * command at a time (a list can be large: one is built at a time).  A
 * peer that ends its side waits for no decision: a closed one would
 * otherwise hold its slot until they come.
 */
static const struct lines_ops sockets = {
	.line = line,
	.overlong = overlong,
	.accept = accept_conn,
	.eof = waiters_drop,
	.gone = waiters_drop,
	.privileged = privileged,
	.inflight_max = { [LISTEN_AGENT] = CONN_INFLIGHT_MAX,
	    [LISTEN_ADMIN] = 1 },
};

static void __attribute__((noreturn))
badconf(const char *msg)
{
	fprintf(stderr, "nucleus-authority: %s\n", msg);
	exit(EXIT_BADCONF);
}

/* The directory, the key, the agents' keyring and the rules: exit 1. */
void
serve_load(struct authority *a, const struct serve_opts *o)
{
	struct audit_err e;
	struct stat st;

	if (stat(o->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "nucleus-authority: %s: not a directory\n",
		    o->dir);
		exit(EXIT_BADCONF);
	}
	if ((st.st_mode & 022) != 0)
		badconf("the directory is writable by group or others: "
		    "refused (chmod go-w it)");
	/* Before the key is loaded: the reader holds no secret. */
	a->keyring_path = o->keyring;
	a->rules_path = o->rulesfile;
	if (reader_start(&a->reader, o->keyring, o->rulesfile, o->logpath,
	    &e) != 0)
		badconf(e.msg);
	if (audit_seckey_load(&a->key, o->keyfile, &e) != 0)
		badconf(e.msg);
	if (a->key->type != AUDIT_KEY_ED25519)
		badconf("the authority's key must be an Ed25519 key");
	if (audit_keyring_load(&a->agents, o->keyring, &e) != 0)
		badconf(e.msg);
	if (rules_load(&a->rules, o->rulesfile, &e) != 0)
		badconf(e.msg);
}

/* An agent's key has the role agent or none; a key of another known
 * role is let be (its requests are refused as forbidden), one whose
 * role no program knows is a typo: refused at start and on a reload. */
static const char *const agent_roles[] = { "agent", ROLES_NONE, "admin",
    "node", "authority", NULL };
#define AGENT_ROLES_ADVICE	"agent (or none)"

/* -N takes requests a node attests: is there a node to attest them? */
static int
keyring_has_node(const struct audit_keyring *kr)
{
	for (size_t i = 0; i < kr->n; i++)
		if (strcmp(kr->v[i].role, "node") == 0)
			return 1;
	return 0;
}

/* What the options and these rules say must agree. */
static int
rules_agree(const struct authority *a, const struct rules *rs,
    struct audit_err *err)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].ttl > a->ttl)
			return audit_errf(err, "rule %s: ttl_s is over the "
			    "token lifetime (-t %d)", rs->v[i].name, a->ttl);
	return 0;
}

/*
 * What the options, the keyring and the rules file say must agree:
 * every problem said, then exit 1.  -n: exit 0 when there is none.
 */
void
serve_check(const struct authority *a, const struct serve_opts *o)
{
	struct audit_err e;
	size_t bad;

	bad = roles_check(stderr, "nucleus-authority", o->keyring, &a->agents,
	    agent_roles, AGENT_ROLES_ADVICE);
	if (a->via_node && !keyring_has_node(&a->agents)) {
		fprintf(stderr, "nucleus-authority: -N: %s has no key with the "
		    "role node, so no request could be taken\n", o->keyring);
		bad++;
	}
	if (rules_agree(a, &a->rules, &e) != 0) {
		fprintf(stderr, "nucleus-authority: %s: lower it, or raise "
		    "-t\n", e.msg);
		bad++;
	}
	if (bad != 0) {
		fprintf(stderr, "nucleus-authority: %zu problem%s in the "
		    "configuration: %s\n", bad, bad == 1 ? "" : "s",
		    o->check_only ? "not good" : "refusing to start");
		exit(EXIT_BADCONF);
	}
	if (o->check_only) {
		fprintf(stderr, "nucleus-authority: the configuration is "
		    "good\n");
		exit(0);
	}
}

/*
 * The keyring and rules the reader read again, parsed and checked as at
 * start, into kr and rs; or -1 and why.
 */
static int
reload_parse(struct authority *a, struct audit_keyring *kr,
    struct rules *rs, struct audit_err *err)
{
	struct reader_file kf, rf;
	int rc = -1;

	if (reader_fetch(&a->reader, &kf, &rf, err) != 0)
		goto out;
	if (kf.status != 0) {
		audit_errf(err, "%s", kf.buf);
		goto out;
	}
	if (rf.status != 0 && rf.status != ENOENT) {
		audit_errf(err, "%s", rf.buf);
		goto out;
	}
	if (audit_keyring_from(kr, a->keyring_path, kf.buf, kf.len, kf.mode,
	    err) != 0)
		goto out;
	if (roles_check(stderr, "nucleus-authority", a->keyring_path, kr,
	    agent_roles, AGENT_ROLES_ADVICE) != 0) {
		audit_errf(err, "%s: a key's role is one no program knows",
		    a->keyring_path);
		goto out;
	}
	if (a->via_node && !keyring_has_node(kr)) {
		audit_errf(err, "-N: %s has no key with the role node, so no "
		    "request could be taken", a->keyring_path);
		goto out;
	}
	if (rf.status == 0 && rules_from(rs, a->rules_path, rf.buf, rf.len,
	    err) != 0)
		goto out;
	rc = rules_agree(a, rs, err);
out:
	reader_file_free(&kf);
	reader_file_free(&rf);
	return rc;
}

/*
 * SIGHUP: the agents' keyring and the rules read again (by the reader:
 * the authority itself can no longer open a file).  Both parse and agree
 * with the options, or neither is taken and the old ones stay in force;
 * either way it is said on stderr and recorded.  A rule kept by name
 * keeps its grants of the last hour.  Nothing holds a key or a rule
 * across the loop's turns, so the old ones are freed here.
 */
static void
reload(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct authority *a = A;
	struct audit_keyring kr = { 0, NULL };
	struct rules rs = { 0, NULL };
	char hash[AUDIT_HEX_LEN + 1];
	struct audit_err e;
	uint64_t seq;
	json_t *ev;

	(void)loop;
	(void)w;
	(void)revents;
	if (reload_parse(a, &kr, &rs, &e) != 0) {
		audit_keyring_free(&kr);
		rules_free(&rs);
		fprintf(stderr, "nucleus-authority: reload refused, the keyring "
		    "and rules in force are kept: %s\n", e.msg);
		ev = json_pack("{s:s, s:s, s:s}", "event", "authority.reload",
		    "status", "refused", "message", e.msg);
	} else {
		rules_carry(&rs, &a->rules);
		audit_keyring_free(&a->agents);
		rules_free(&a->rules);
		a->agents = kr;
		a->rules = rs;
		fprintf(stderr, "nucleus-authority: reloaded %s (%zu keys) and "
		    "%s (%zu rules)\n", a->keyring_path, a->agents.n,
		    a->rules_path, a->rules.n);
		ev = json_pack("{s:s, s:s, s:i, s:i}", "event",
		    "authority.reload", "status", "ok", "agents",
		    (int)a->agents.n, "rules", (int)a->rules.n);
	}
	if (ev == NULL || audit_log_append_wait(a->log, ev, &seq, hash,
	    &e) != 0)
		fprintf(stderr, "nucleus-authority: the reload is not "
		    "recorded: %s\n", ev == NULL ? "out of memory" : e.msg);
	json_decref(ev);
}

/* The state, the audit log, and what a stop left out of the log. */
int
serve_open(struct authority *a, const struct serve_opts *o,
    struct audit_err *err)
{
	char log_id[AUDIT_LOGID_MAX + 1];

	umask(077);
	if (store_open(&a->store, o->statepath, err) != 0)
		return -1;
	if (audit_fit(log_id, sizeof(log_id), err, "authority-%s",
	    a->key->kid) != 0 ||
	    audit_log_open(&a->log, o->logpath, log_id, a->key, NULL,
	    err) != 0)
		return -1;
	/* Its files made by the reader: the authority opens none. */
	reader_log_files(&a->reader, &a->log_files);
	if (audit_log_rotation_files(a->log, (off_t)a->rotate_kb * 1024,
	    &a->log_files, err) != 0)
		return -1;
	a->landlock = confine_landlock_abi();
	return recover_log(o->logpath, err);
}

/* SIGUSR1: the log rotates now (nucleus-authority(8)). */
static void
rotate(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct audit_err e;

	(void)loop;
	(void)w;
	(void)revents;
	if (audit_log_rotate(A->log, &e) != 0)
		fprintf(stderr, "nucleus-authority: the audit log did not "
		    "rotate: %s\n", e.msg);
	else
		fprintf(stderr, "nucleus-authority: the audit log rotated: "
		    "generation %llu\n",
		    (unsigned long long)audit_log_generation(A->log));
}

static void
stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/*
 * The loop's watchers: durable records, the batch's sync, each second's
 * expiry, the signals that stop it.  What expired while the authority
 * was stopped is expired before anyone can ask.
 */
void
serve_watch(struct authority *a)
{
	a->loop = EV_DEFAULT;
	doneq_init(&a->done, a->loop, offsetof(struct job, next), job_drain);
	ev_prepare_init(&a->flush, job_flush);
	ev_prepare_start(a->loop, &a->flush);
	ev_timer_init(&a->tick, pending_tick, 0., 1.);
	ev_timer_start(a->loop, &a->tick);
	ev_signal_init(&sigterm, stop, SIGTERM);
	ev_signal_start(a->loop, &sigterm);
	ev_signal_init(&sigint, stop, SIGINT);
	ev_signal_start(a->loop, &sigint);
	ev_signal_init(&sighup, reload, SIGHUP);
	ev_signal_start(a->loop, &sighup);
	ev_signal_init(&sigusr1, rotate, SIGUSR1);
	ev_signal_start(a->loop, &sigusr1);
	signal(SIGPIPE, SIG_IGN);
	pending_tick(a->loop, &a->tick, 0);
}

/* The admin socket first: once the request socket is there, both are. */
int
serve_listen(struct authority *a, const struct serve_opts *o,
    struct audit_err *err)
{
	a->lines.loop = a->loop;
	a->lines.ops = &sockets;
	a->lines.line_max = LINE_MAX_BYTES;
	a->lines.outbuf_max = OUTBUF_MAX;
	a->lines.conns_max = CONNS_MAX;
	a->lines.conns_reserve = CONNS_RESERVE;
	a->lines.conns_per_uid = CONNS_PER_UID;
	a->lines.outbuf_total = OUTBUF_TOTAL;
	a->lines.outbuf_shed = OUTBUF_SHED;
	if (lines_listen_unix(&a->lines, LISTEN_ADMIN, o->adminsock, o->gid,
	    err) != 0 || lines_listen_unix(&a->lines, LISTEN_AGENT,
	    o->reqsock, o->gid, err) != 0)
		return -1;
	return 0;
}

/* The start record, durable before the first line is read. */
int
serve_record_start(struct authority *a, struct audit_err *err)
{
	struct audit_err e;
	json_t *ev, *ops;
	uint64_t seq;
	char hash[AUDIT_HEX_LEN + 1];
	int rc;

	ops = json_array();
	for (int i = 0; i < a->noperators; i++)
		json_array_append_new(ops, json_integer(a->operators[i]));
	ev = json_pack("{s:s, s:I, s:o, s:I, s:i, s:i, s:i, s:i, s:i, s:i}",
	    "event", "authority.start", "pid", (json_int_t)getpid(),
	    "operators", ops, "rules", (json_int_t)a->rules.n, "ttl_s",
	    a->ttl, "expire_s", a->expire, "skew_s", a->skew, "agents",
	    (int)a->agents.n, "pending", a->npend, "agent_pending",
	    a->agent_pending);
	if (ev == NULL)
		return audit_errf(err, "the audit log: out of memory");
	rc = audit_log_append_wait(a->log, ev, &seq, hash, &e);
	if (rc == 0)
		events_record(&a->events, ev);
	json_decref(ev);
	if (rc != 0)
		return audit_errf(err, "the audit log: %s", e.msg);
	return 0;
}

/*
 * Stopping: what was committed is synced and recorded, then the stop
 * record; then everything closes.
 */
void
serve_stop(struct authority *a)
{
	struct audit_err e;
	json_t *ev;
	uint64_t seq;
	char hash[AUDIT_HEX_LEN + 1];

	rwin_tick(&a->refusals, audit_now_s(), 1);
	job_flush(a->loop, &a->flush, 0);
	events_flush(&a->events);
	ev = json_pack("{s:s, s:i}", "event", "authority.stop", "pending",
	    a->npend);
	if (ev != NULL && audit_log_append_wait(a->log, ev, &seq, hash,
	    &e) == 0)
		events_record(&a->events, ev);
	json_decref(ev);
	if (audit_log_close(a->log, &e) != 0)
		fprintf(stderr, "nucleus-authority: %s\n", e.msg);
	job_drain(a->loop, &a->done.async, 0);
	/* Changes kept for a log that did not come back: the next start
	 * records them (recover.c). */
	for (int i = 0; i < a->nheld; i++)
		job_free(a->held[i]);
	a->nheld = 0;
	store_close(a->store);
	audit_seckey_free(a->key);
	audit_keyring_free(&a->agents);
	rules_free(&a->rules);
	reader_stop(&a->reader);
}
