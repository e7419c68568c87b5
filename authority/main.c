/*
 * nucleus-authority: the approval authority, and the commands operators
 * and agents use with it.  See nucleus-authority(8).
 *
 * serve is the list of steps: options, the directory, the key (kept in
 * sodium_malloc memory), the agents' keyring, the rules, the state, the
 * audit log (and any records a crash left out), the sockets, the
 * process's own seccomp allowlist, and the event loop.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ask.h"
#include "authority.h"
#include "confine.h"

#define EXIT_BADCONF	1

struct authority *A;
static struct authority authority;

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
	.inflight_max = { [LISTEN_AGENT] = CONN_INFLIGHT_MAX,
	    [LISTEN_ADMIN] = 1 },
};
static ev_signal sigterm, sigint;

void
usage(void)
{
	fprintf(stderr,
	    "usage: nucleus-authority serve [-d dir] [-k keyfile] [-K keyring] "
	    "[-r rules] [-l socket] [-a admin-socket] [-g group] "
	    "[-o operators] [-e seconds] [-t seconds] [-w seconds]\n"
	    "       nucleus-authority keygen [-d dir] [-k keyfile] kid\n"
	    "       nucleus-authority list [-j] [-d dir] [-a admin-socket]\n"
	    "       nucleus-authority show [-j] [-d dir] [-a admin-socket] id\n"
	    "       nucleus-authority grant [-j] [-d dir] [-a admin-socket] "
	    "[-t seconds] id\n"
	    "       nucleus-authority deny [-j] [-d dir] [-a admin-socket] "
	    "[-r reason] id\n"
	    "       nucleus-authority watch [-j] [-d dir] [-a admin-socket]\n"
	    "       nucleus-authority ask [-j] [-d dir] [-l socket] [-m reason] "
	    "-k keyfile pod op args\n"
	    "       nucleus-authority status [-j] [-d dir] [-l socket] "
	    "-k keyfile id\n");
	exit(EXIT_ERR);
}

static int
seconds(const char *s, int min, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "nucleus-authority: %s: expected %d to %d "
		    "seconds\n", s, min, max);
		exit(EXIT_ERR);
	}
	return (int)v;
}

/* dir/name; serve needs seven of them, for as long as it runs. */
static char *
in_dir(const char *dir, const char *name)
{
	static char buf[7][4096];
	static int n;
	char *p;

	if (n == 7)
		abort();
	p = buf[n++];
	if ((size_t)snprintf(p, sizeof(buf[0]), "%s/%s", dir, name) >=
	    sizeof(buf[0])) {
		fprintf(stderr, "nucleus-authority: %s: path too long\n", dir);
		exit(EXIT_ERR);
	}
	return p;
}

/* uids, by name or number, comma-separated. */
static void
operators(const char *list)
{
	char *copy = strdup(list), *save = NULL, *tok;

	if (copy == NULL)
		usage();
	A->noperators = 0;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		struct passwd *pw = getpwnam(tok);
		char *end;
		unsigned long v;

		if (A->noperators == OPERATORS_MAX) {
			fprintf(stderr, "nucleus-authority: -o: at most %d "
			    "operators\n", OPERATORS_MAX);
			exit(EXIT_ERR);
		}
		if (pw != NULL) {
			A->operators[A->noperators++] = pw->pw_uid;
			continue;
		}
		errno = 0;
		v = strtoul(tok, &end, 10);
		if (errno != 0 || end == tok || *end != '\0' ||
		    v >= (uid_t)-1) {
			fprintf(stderr, "nucleus-authority: -o: no such user "
			    "%s\n", tok);
			exit(EXIT_ERR);
		}
		A->operators[A->noperators++] = (uid_t)v;
	}
	free(copy);
	if (A->noperators == 0)
		usage();
}

static gid_t
group(const char *name)
{
	struct group *gr = getgrnam(name);
	char *end;
	unsigned long v;

	if (gr != NULL)
		return gr->gr_gid;
	errno = 0;
	v = strtoul(name, &end, 10);
	if (errno != 0 || end == name || *end != '\0' || v >= (gid_t)-1) {
		fprintf(stderr, "nucleus-authority: -g: no such group %s\n",
		    name);
		exit(EXIT_ERR);
	}
	return (gid_t)v;
}

static void __attribute__((noreturn))
badconf(const char *msg)
{
	fprintf(stderr, "nucleus-authority: %s\n", msg);
	exit(EXIT_BADCONF);
}

static void
stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int
serve(int argc, char **argv)
{
	const char *dir = authority_dir_default(), *keyfile = NULL, *keyring = NULL,
	    *rulesfile = NULL, *reqsock = NULL, *adminsock = NULL;
	char log_id[AUDIT_LOGID_MAX + 1], *logpath, *statepath;
	struct audit_err e;
	struct stat st;
	gid_t gid = (gid_t)-1;
	json_t *ev, *ops;
	uint64_t seq;
	char hash[AUDIT_HEX_LEN + 1];
	int c;

	A = &authority;
	A->ttl = TTL_DEFAULT;
	A->expire = EXPIRE_DEFAULT;
	A->skew = SKEW_DEFAULT;
	A->operators[0] = 0;
	A->noperators = 1;
	if (geteuid() != 0)
		A->operators[A->noperators++] = geteuid();
	while ((c = getopt(argc, argv, "a:d:e:g:K:k:l:o:r:t:w:")) != -1) {
		switch (c) {
		case 'a': adminsock = optarg; break;
		case 'd': dir = optarg; break;
		case 'e': A->expire = seconds(optarg, 1, EXPIRE_MAX); break;
		case 'g': gid = group(optarg); break;
		case 'K': keyring = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'l': reqsock = optarg; break;
		case 'o': operators(optarg); break;
		case 'r': rulesfile = optarg; break;
		case 't': A->ttl = seconds(optarg, 1, TTL_MAX); break;
		case 'w': A->skew = seconds(optarg, 1, SKEW_MAX); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	/* getopt() gives "d:" an argument; scan-build thinks optarg may be
	 * NULL, and so dir (core.NonNullParamChecker at the stat() below). */
	assert(dir != NULL);
	keyfile = keyfile != NULL ? keyfile : in_dir(dir, "authority.key");
	keyring = keyring != NULL ? keyring : in_dir(dir, "keyring");
	rulesfile = rulesfile != NULL ? rulesfile : in_dir(dir, "rules.json");
	reqsock = reqsock != NULL ? reqsock : in_dir(dir, "request.sock");
	adminsock = adminsock != NULL ? adminsock : in_dir(dir, "admin.sock");
	logpath = in_dir(dir, "audit.log");
	statepath = in_dir(dir, "state.mdb");

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "nucleus-authority: %s: not a directory\n",
		    dir);
		return EXIT_BADCONF;
	}
	if ((st.st_mode & 022) != 0)
		badconf("the directory is writable by group or others: "
		    "refused");
	if (audit_seckey_load(&A->key, keyfile, &e) != 0)
		badconf(e.msg);
	if (A->key->type != AUDIT_KEY_ED25519)
		badconf("the authority's key must be an Ed25519 key");
	if (audit_keyring_load(&A->agents, keyring, &e) != 0)
		badconf(e.msg);
	if (rules_load(&A->rules, rulesfile, &e) != 0)
		badconf(e.msg);
	for (size_t i = 0; i < A->rules.n; i++)
		if (A->rules.v[i].ttl > A->ttl) {
			fprintf(stderr, "nucleus-authority: rule %s: ttl_s is "
			    "over the token lifetime (-t %d)\n",
			    A->rules.v[i].name, A->ttl);
			return EXIT_BADCONF;
		}
	umask(077);
	if (store_open(&A->store, statepath, &e) != 0) {
		fprintf(stderr, "nucleus-authority: %s\n", e.msg);
		return EXIT_ERR;
	}
	audit_fmt(log_id, sizeof(log_id), "authority-%s", A->key->kid);
	if (audit_log_open(&A->log, logpath, log_id, A->key, NULL, &e) != 0) {
		fprintf(stderr, "nucleus-authority: %s\n", e.msg);
		return EXIT_ERR;
	}
	if (recover(logpath, &e) != 0) {
		fprintf(stderr, "nucleus-authority: %s\n", e.msg);
		return EXIT_ERR;
	}

	A->loop = EV_DEFAULT;
	doneq_init(&A->done, A->loop, offsetof(struct job, next), job_drain);
	ev_prepare_init(&A->flush, job_flush);
	ev_prepare_start(A->loop, &A->flush);
	ev_timer_init(&A->tick, expire_tick, 0., 1.);
	ev_timer_start(A->loop, &A->tick);
	ev_signal_init(&sigterm, stop, SIGTERM);
	ev_signal_start(A->loop, &sigterm);
	ev_signal_init(&sigint, stop, SIGINT);
	ev_signal_start(A->loop, &sigint);
	signal(SIGPIPE, SIG_IGN);
	/* What expired while stopped is expired before anyone can ask. */
	expire_tick(A->loop, &A->tick, 0);
	/* The admin socket first: once the request socket is there, both
	 * are. */
	A->lines.loop = A->loop;
	A->lines.ops = &sockets;
	A->lines.line_max = LINE_MAX_BYTES;
	A->lines.outbuf_max = OUTBUF_MAX;
	A->lines.conns_max = CONNS_MAX;
	if (lines_listen_unix(&A->lines, LISTEN_ADMIN, adminsock, gid,
	    &e) != 0 || lines_listen_unix(&A->lines, LISTEN_AGENT, reqsock,
	    gid, &e) != 0) {
		fprintf(stderr, "nucleus-authority: %s\n", e.msg);
		return EXIT_ERR;
	}

	ops = json_array();
	for (int i = 0; i < A->noperators; i++)
		json_array_append_new(ops, json_integer(A->operators[i]));
	ev = json_pack("{s:s, s:I, s:o, s:I, s:i, s:i, s:i, s:i, s:i}",
	    "event", "authority.start", "pid", (json_int_t)getpid(),
	    "operators", ops, "rules", (json_int_t)A->rules.n, "ttl_s",
	    A->ttl, "expire_s", A->expire, "skew_s", A->skew, "agents",
	    (int)A->agents.n, "pending", A->npend);
	if (ev == NULL || audit_log_append_wait(A->log, ev, &seq, hash,
	    &e) != 0) {
		fprintf(stderr, "nucleus-authority: the audit log: %s\n",
		    e.msg);
		return EXIT_ERR;
	}
	json_decref(ev);
	if (confine_self(&e) != 0) {
		fprintf(stderr, "nucleus-authority: %s: refusing to run "
		    "without it\n", e.msg);
		return EXIT_ERR;
	}
	fprintf(stderr, "nucleus-authority: serving %s and %s\n", reqsock,
	    adminsock);

	ev_run(A->loop, 0);

	/* Stopping: what was committed is synced and recorded. */
	job_flush(A->loop, &A->flush, 0);
	ev = json_pack("{s:s, s:i}", "event", "authority.stop", "pending",
	    A->npend);
	if (ev != NULL)
		(void)audit_log_append_wait(A->log, ev, &seq, hash, &e);
	json_decref(ev);
	if (audit_log_close(A->log, &e) != 0)
		fprintf(stderr, "nucleus-authority: %s\n", e.msg);
	job_drain(A->loop, &A->done.async, 0);
	store_close(A->store);
	audit_seckey_free(A->key);
	audit_keyring_free(&A->agents);
	rules_free(&A->rules);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	if (sodium_init() < 0) {
		fprintf(stderr, "nucleus-authority: libsodium cannot start\n");
		return EXIT_ERR;
	}
	if (argc < 2)
		usage();
	cmd = argv[1];
	argc--;
	argv++;
	if (strcmp(cmd, "serve") == 0)
		return serve(argc, argv);
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(argc, argv);
	if (strcmp(cmd, "ask") == 0)
		return cmd_ask(argc, argv);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(argc, argv);
	if (strcmp(cmd, "list") == 0 || strcmp(cmd, "show") == 0 ||
	    strcmp(cmd, "grant") == 0 || strcmp(cmd, "deny") == 0 ||
	    strcmp(cmd, "watch") == 0)
		return cmd_admin(cmd, argc, argv);
	usage();
}
