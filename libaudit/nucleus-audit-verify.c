/*
 * nucleus-audit-verify: check Nucleus audit logs, for cron and scripts.
 * See nucleus-audit-verify(1).  Built without any signing code: it links
 * only the canonical JSON, encoding, keyring and verification parts of
 * libaudit.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "statefile.h"
#include "usage.h"

#define EXIT_OK		0
#define EXIT_FAULT	1
#define EXIT_ERR	2

struct result {
	int	 status;	/* EXIT_OK, EXIT_FAULT or EXIT_ERR */
	uint64_t resumed_lines;	/* lines a state file vouched for */
	char	 log[AUDIT_LOGID_MAX + 1];	/* its first line's, or "" */
	struct audit_fault_info fi;
	struct audit_err err;
	struct audit_chain chain;
};

static const char usage_text[] =
    "usage: nucleus-audit-verify [-jq] -k keyring [-s statefile] log ...\n"
    "       nucleus-audit-verify --help | --version\n";

static void __attribute__((noreturn))
usage(void)
{
	usage_fail(usage_text);
}

/* The first line of fd (at most AUDIT_LINE_MAX bytes), or NULL. */
static char *
first_line(int fd, size_t *lenp)
{
	size_t cap = 65536, len = 0;
	char *buf = NULL, *nb, *nl;
	ssize_t n;

	for (;;) {
		if ((nb = realloc(buf, cap)) == NULL)
			break;
		buf = nb;
		n = pread(fd, buf + len, cap - len, (off_t)len);
		if (n <= 0)
			break;
		if ((nl = memchr(buf + len, '\n', (size_t)n)) != NULL) {
			*lenp = (size_t)(nl - buf);
			return buf;
		}
		len += (size_t)n;
		if (len > AUDIT_LINE_MAX)
			break;
		if (len == cap)
			cap *= 2;
	}
	free(buf);
	return NULL;
}

static int
set_fault(struct result *r, enum audit_fault f, uint64_t line,
    const char *detail)
{
	r->status = EXIT_FAULT;
	r->fi.fault = f;
	r->fi.line = line;
	snprintf(r->fi.detail, sizeof(r->fi.detail), "%s", detail);
	return -1;
}

/*
 * Resume from a remembered state: the log must be at least as long, its
 * log.open must name the same writer, and every byte up to where the last
 * run stopped must hash as it did.  Then the chain carries on from there.
 */
static int
resume(int fd, const struct audit_chain *first, const struct state_entry *e,
    struct result *r)
{
	struct audit_chain *c = &r->chain;
	uint8_t digest[AUDIT_HASH_LEN], buf[65536];
	struct stat st;
	off_t done = 0;

	if (fstat(fd, &st) != 0) {
		r->status = EXIT_ERR;
		snprintf(r->err.msg, sizeof(r->err.msg), "%s", strerror(errno));
		return -1;
	}
	if (st.st_size < e->end)
		return set_fault(r, FAULT_ROLLBACK, e->lines, "the log is "
		    "shorter than when it was last verified: truncated");
	if (strcmp(first->kid, e->kid) != 0 ||
	    memcmp(first->pk, e->pk, AUDIT_PK_LEN) != 0)
		return set_fault(r, FAULT_ROLLBACK, 1, "log.open names another "
		    "writer than when the log was last verified: rewritten");
	memcpy(c->log, first->log, sizeof(c->log));
	memcpy(c->kid, first->kid, sizeof(c->kid));
	memcpy(c->pk, first->pk, AUDIT_PK_LEN);
	while (done < e->end) {
		size_t want = e->end - done > (off_t)sizeof(buf) ?
		    sizeof(buf) : (size_t)(e->end - done);
		ssize_t n = read(fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r->status = EXIT_ERR;
			snprintf(r->err.msg, sizeof(r->err.msg), "%s",
			    n < 0 ? strerror(errno) : "short read");
			return -1;
		}
		crypto_generichash_update(&c->prefix, buf, (size_t)n);
		done += n;
	}
	audit_chain_prefix(c, digest);
	if (sodium_memcmp(digest, e->prefix, AUDIT_HASH_LEN) != 0)
		return set_fault(r, FAULT_ROLLBACK, e->lines, "the log up to "
		    "the last verified record has changed since it was "
		    "verified: rolled back or rewritten");
	c->lines = r->resumed_lines = e->lines;
	c->pred = first->pred;
	memcpy(c->next, e->next, sizeof(c->next));
	c->seq = e->seq;
	c->ts = e->ts;
	c->offset = e->end;
	memcpy(c->hash, e->hash, AUDIT_HASH_LEN);
	return 0;
}

/* Verify one log, incrementally when the state remembers it. */
static void
verify_log(const char *file, const struct audit_keyring *kr,
    struct state *st, struct result *r)
{
	struct audit_chain first;
	struct audit_fault_info fi;
	struct state_entry *e = NULL;
	char *line;
	size_t len;
	int fd, rc;

	memset(r, 0, sizeof(*r));
	audit_chain_init(&r->chain, kr);
	fd = strcmp(file, "-") == 0 ? STDIN_FILENO :
	    audit_open_regular(file, 0, NULL, &r->err);
	if (fd < 0) {
		r->status = EXIT_ERR;
		return;
	}
	/* A first line that verifies names the log, and so its state. */
	if (st != NULL && (line = first_line(fd, &len)) != NULL) {
		audit_chain_init(&first, kr);
		if (audit_chain_line(&first, line, len, &fi) == 0) {
			e = state_find(st, first.log);
			memcpy(r->log, first.log, sizeof(r->log));
		}
		free(line);
		rc = e != NULL ? resume(fd, &first, e, r) : 0;
		audit_chain_free(&first);
		if (rc != 0)
			goto out;
	}
	rc = audit_chain_stream(&r->chain, fd, &r->fi, &r->err);
	r->status = rc == 0 ? EXIT_OK : rc == 1 ? EXIT_FAULT : EXIT_ERR;
	if (r->log[0] == '\0')
		memcpy(r->log, r->chain.log, sizeof(r->log));
out:
	if (fd != STDIN_FILENO)
		close(fd);
}

static void
remember(struct state *st, const struct audit_chain *c, const char *file)
{
	const struct state_entry *old = state_find(st, c->log);
	struct state_entry e;
	char *real;

	/*
	 * Two files of one run may hold the same log (a rotation's hard
	 * link, or a copy): remember the furthest, never a shorter copy
	 * that would let the longer file be cut back unnoticed later.
	 */
	if (old != NULL && old->put && old->lines >= c->lines)
		return;
	real = realpath(file, NULL);
	memset(&e, 0, sizeof(e));
	if (real != NULL && strlen(real) < sizeof(e.file))
		strcpy(e.file, real);
	free(real);
	memcpy(e.pred, c->pred.log, sizeof(e.pred));
	memcpy(e.next, c->next, sizeof(e.next));
	/* Retired stays so while it stays closed the same way. */
	e.retired = old != NULL && old->retired &&
	    strcmp(old->next, c->next) == 0;
	e.seen = e.put = 1;
	memcpy(e.log, c->log, sizeof(e.log));
	memcpy(e.kid, c->kid, sizeof(e.kid));
	memcpy(e.pk, c->pk, AUDIT_PK_LEN);
	memcpy(e.hash, c->hash, AUDIT_HASH_LEN);
	audit_chain_prefix(c, e.prefix);
	e.seq = c->seq;
	e.ts = c->ts;
	e.lines = c->lines;
	e.end = c->offset;
	if (state_put(st, &e) != 0)
		errx(EXIT_ERR, "out of memory");
}

/*
 * A file name as said: every byte that is not a printable character
 * (a newline, an escape, invalid UTF-8), and the backslash and the
 * double quote, as \xHH, so that a name cannot forge or hide a line of
 * the report, nor stop -j (JSON holds only valid UTF-8).
 */
static char *
shown(const char *file)
{
	size_t n = strlen(file);
	char *out = malloc(4 * n + 1);

	if (out == NULL)
		errx(EXIT_ERR, "out of memory");
	audit_escape(out, 4 * n + 1, file, n);
	return out;
}

static void
print_json(const char *name, const struct result *r)
{
	char *file = shown(name);

	char head[AUDIT_HEX_LEN + 1];
	json_t *o;
	char *s;

	if (r->status == EXIT_OK) {
		audit_hex(head, r->chain.hash, AUDIT_HASH_LEN);
		o = json_pack("{s:s, s:b, s:s, s:I, s:I, s:{s:I, s:s}}",
		    "file", file, "ok", 1, "log", r->chain.log, "records",
		    (json_int_t)r->chain.lines, "verified",
		    (json_int_t)(r->chain.lines - r->resumed_lines), "head",
		    "seq", (json_int_t)r->chain.seq, "hash", head);
		if (o != NULL && r->chain.next[0] != '\0')
			json_object_set_new(o, "next",
			    json_string(r->chain.next));
		if (o != NULL && r->chain.pred.log[0] != '\0')
			json_object_set_new(o, "predecessor",
			    json_string(r->chain.pred.log));
	} else if (r->status == EXIT_FAULT)
		o = json_pack("{s:s, s:b, s:i, s:s, s:I, s:s}", "file", file,
		    "ok", 0, "fault", (int)r->fi.fault, "name",
		    audit_fault_name(r->fi.fault), "line",
		    (json_int_t)r->fi.line, "detail", r->fi.detail);
	else
		o = json_pack("{s:s, s:b, s:s}", "file", file, "ok", 0,
		    "error", r->err.msg);
	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL)
		errx(EXIT_ERR, "out of memory");
	printf("%s\n", s);
	free(s);
	free(file);
	json_decref(o);
}

static void
print_text(const char *name, const struct result *r, int quiet)
{
	char head[AUDIT_HEX_LEN + 1], *file;

	if (r->status == EXIT_OK && quiet)
		return;
	file = shown(name);
	if (r->status == EXIT_OK) {
		audit_hex(head, r->chain.hash, AUDIT_HASH_LEN);
		printf("%s: ok, %llu records, head %lld %s\n", file,
		    (unsigned long long)r->chain.lines,
		    (long long)r->chain.seq, head);
	} else if (r->status == EXIT_FAULT)
		fprintf(stderr, "%s:%llu: %s: %s\n", file,
		    (unsigned long long)r->fi.line,
		    audit_fault_name(r->fi.fault), r->fi.detail);
	else
		fprintf(stderr, "nucleus-audit-verify: %s: %s\n", file,
		    r->err.msg);
	free(file);
}

struct opts {
	const char *keyring, *statefile;
	int	 json, quiet;
	char	**files;
};

/* The options; what is left of argv is the logs. */
static void
options(struct opts *o, int *argcp, char ***argvp)
{
	int ch;

	while ((ch = getopt(*argcp, *argvp, "jk:qs:")) != -1) {
		switch (ch) {
		case 'j':
			o->json = 1;
			break;
		case 'k':
			o->keyring = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 's':
			o->statefile = optarg;
			break;
		default:
			usage();
		}
	}
	*argcp -= optind;
	*argvp += optind;
	if (o->keyring == NULL || *argcp == 0)
		usage();
	for (int i = 0; o->statefile != NULL && i < *argcp; i++)
		if (strcmp((*argvp)[i], "-") == 0)
			errx(EXIT_ERR, "-s cannot remember standard input: "
			    "name the log's file");
}

/* Does the file where e was last verified still hold its log? */
static int
still_there(const struct state_entry *e)
{
	json_t *rec = NULL;
	struct audit_err oe;
	const char *log;
	char *line;
	size_t len;
	int fd, there = 0;

	if ((fd = audit_open_regular(e->file, 0, NULL, &oe)) < 0)
		return 0;
	if ((line = first_line(fd, &len)) != NULL &&
	    (rec = json_loadb(line, len, 0, NULL)) != NULL &&
	    (log = json_string_value(json_object_get(rec, "log"))) != NULL)
		there = strcmp(log, e->log) == 0;
	json_decref(rec);
	free(line);
	close(fd);
	return there;
}

/*
 * A chain of rotated logs.  Each log verified from its log.open on that
 * names a predecessor is checked against it: the predecessor, among the
 * logs given or remembered in the state, must end in a log.close naming
 * this log, at the seq and hash the log.open names.  The predecessor
 * then retires: its file may go.  A log named on both sides of a gap
 * (as a predecessor and as a successor) and verified nowhere is missing.
 */
static struct result *
find_result(struct result *rs, int n, const char *log)
{
	for (int i = 0; i < n; i++)
		if (rs[i].status == EXIT_OK && strcmp(rs[i].chain.log, log) == 0)
			return &rs[i];
	return NULL;
}

static int
link_fault(struct result *r, const char *log, const char *why)
{
	char detail[sizeof(r->fi.detail)];

	audit_fmt(detail, sizeof(detail), "log.open names %s as its "
	    "predecessor, %s", log, why);
	return set_fault(r, FAULT_PREV, 1, detail);
}

/* Does log P, closed naming next at (seq, hash), lead to r? */
static int
link_matches(const struct result *r, const char *next, int64_t seq,
    const uint8_t *hash)
{
	return strcmp(next, r->chain.log) == 0 && seq == r->chain.pred.seq &&
	    sodium_memcmp(hash, r->chain.pred.hash, AUDIT_HASH_LEN) == 0;
}

/*
 * Was r opened by the key that wrote its predecessor?  A writer rotates
 * with the key it holds (a new key begins a new log, with no
 * predecessor), so a successor opened by any other key, however
 * trusted, is a log of another writer spliced in where the real
 * successor was taken away.
 */
static int
same_writer(const struct result *r, const char *kid, const uint8_t *pk)
{
	return strcmp(kid, r->chain.kid) == 0 &&
	    sodium_memcmp(pk, r->chain.pk, AUDIT_PK_LEN) == 0;
}

/* Is log named as the successor of a log given or remembered? */
static int
named_next(struct result *rs, int n, struct state *st, const char *log)
{
	for (int i = 0; i < n; i++)
		if (rs[i].status == EXIT_OK && strcmp(rs[i].chain.next,
		    log) == 0)
			return 1;
	for (size_t i = 0; st != NULL && i < st->n; i++)
		if (strcmp(st->v[i].next, log) == 0)
			return 1;
	return 0;
}

/*
 * Check r's link to its predecessor; 1 when it holds (the predecessor
 * retires), 0 when there is nothing to check, -1 when r has a fault, and
 * 2 when the predecessor is missing (said by the caller).
 */
static int
link_one(struct result *r, struct result *rs, int n, struct state *st)
{
	const char *p = r->chain.pred.log;
	const struct state_entry *e;
	struct result *pr;

	if (p[0] == '\0')
		return 0;
	for (int i = 0; i < n; i++)
		if (rs[i].status != EXIT_OK && strcmp(rs[i].log, p) == 0)
			return 0;	/* its own fault is said */
	if ((pr = find_result(rs, n, p)) != NULL) {
		if (!same_writer(r, pr->chain.kid, pr->chain.pk))
			return link_fault(r, p, "which another key wrote");
		if (pr->chain.next[0] == '\0')
			return link_fault(r, p, "which is not closed");
		if (!link_matches(r, pr->chain.next, pr->chain.seq,
		    pr->chain.hash))
			return link_fault(r, p, "which does not end in a "
			    "log.close naming this log at that seq and hash");
		return 1;
	}
	/* A log resumed had its link checked when it was first verified. */
	if (r->resumed_lines > 0)
		return 0;
	if (st != NULL && (e = state_find(st, p)) != NULL) {
		if (!same_writer(r, e->kid, e->pk))
			return link_fault(r, p, "which another key wrote");
		if (e->next[0] == '\0')	/* verified in part */
			return still_there(e) ? 0 : 2;
		if (!link_matches(r, e->next, e->seq, e->hash))
			return link_fault(r, p, "which was verified to "
			    "another end");
		return 1;
	}
	return named_next(rs, n, st, p) ? 2 : 0;
}

static void
say_missing(const struct opts *o, const char *log, const char *detail)
{
	json_t *j;
	char *s;

	if (!o->json) {
		fprintf(stderr, "%s: missing: %s\n", log, detail);
		return;
	}
	j = json_pack("{s:s, s:b, s:i, s:s, s:s}", "log", log, "ok", 0,
	    "fault", (int)FAULT_MISSING, "name",
	    audit_fault_name(FAULT_MISSING), "detail", detail);
	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL)
		errx(EXIT_ERR, "out of memory");
	printf("%s\n", s);
	free(s);
	json_decref(j);
}

/* Is log among the logs given (verified, or with a fault of its own)? */
static int
given(const struct result *rs, int n, const char *log)
{
	for (int i = 0; i < n; i++)
		if (strcmp(rs[i].status == EXIT_OK ? rs[i].chain.log : rs[i].log,
		    log) == 0)
			return 1;
	return 0;
}

/*
 * With a state file, the successor a log.close names must be among the
 * logs given or verified before: otherwise it was taken away before any
 * run saw it (its file replaced by a copy of an older generation, say),
 * and every record it held with it.  Said once per successor.
 */
static int
successor_missing(const struct opts *o, struct result *rs, int n, int i,
    struct state *st)
{
	const char *next = rs[i].chain.next;
	char detail[512], *file;

	if (st == NULL || rs[i].status != EXIT_OK || next[0] == '\0' ||
	    given(rs, n, next) || state_find(st, next) != NULL)
		return 0;
	/* Verified, retired and pruned: its own successor remembers it. */
	for (size_t k = 0; k < st->n; k++)
		if (strcmp(st->v[k].pred, next) == 0)
			return 0;
	for (int j = 0; j < i; j++)
		if (rs[j].status == EXIT_OK && strcmp(rs[j].chain.next,
		    next) == 0)
			return 1;	/* said for j (a copy of this log) */
	file = shown(o->files[i]);
	audit_fmt(detail, sizeof(detail), "the successor that the log.close "
	    "of %s (%s) names is not among the logs given, nor was it ever "
	    "verified", rs[i].chain.log, file);
	free(file);
	say_missing(o, next, detail);
	return 1;
}

/* Every link of the logs given; retired[i] set for a linked log's pred. */
static int
link_all(const struct opts *o, struct result *rs, int n, struct state *st,
    char (*retire)[AUDIT_LOGID_MAX + 1], size_t *nretire)
{
	char detail[512], *file;
	struct state_entry *e;
	int worst = EXIT_OK, rc;

	for (int i = 0; i < n; i++) {
		if (successor_missing(o, rs, n, i, st))
			worst = EXIT_FAULT;
		if (rs[i].status != EXIT_OK)
			continue;
		rc = link_one(&rs[i], rs, n, st);
		if (rc == 1)
			memcpy(retire[(*nretire)++], rs[i].chain.pred.log,
			    sizeof(retire[0]));
		else if (rc == 2) {
			file = shown(o->files[i]);
			audit_fmt(detail, sizeof(detail), "the predecessor "
			    "of %s (%s) is not among the logs given, nor was "
			    "it verified to its log.close", rs[i].chain.log,
			    file);
			free(file);
			say_missing(o, rs[i].chain.pred.log, detail);
			worst = EXIT_FAULT;
			if (st != NULL && (e = state_find(st,
			    rs[i].chain.pred.log)) != NULL)
				e->seen = 1;	/* said once */
		}
	}
	return worst;
}

/*
 * With a state file, a log verified before, not among the logs of this
 * run and gone from the file it was verified in is missing, unless it
 * retired: closed, and its successor verified; then its entry goes.
 */
static int
check_gone(const struct opts *o, struct state *st)
{
	char detail[512], *file;
	int worst = EXIT_OK;

	for (size_t i = 0; i < st->n; ) {
		struct state_entry *e = &st->v[i];

		if (e->seen || e->file[0] == '\0' || still_there(e)) {
			i++;
			continue;
		}
		if (e->retired) {
			state_drop(st, e);
			continue;
		}
		file = shown(e->file);
		audit_fmt(detail, sizeof(detail), "verified before in %s "
		    "(%llu records, to seq %lld), now gone from it and not "
		    "among the logs given%s", file,
		    (unsigned long long)e->lines, (long long)e->seq,
		    e->next[0] != '\0' ? "; it was closed, but its "
		    "successor was never verified" : "");
		free(file);
		say_missing(o, e->log, detail);
		worst = EXIT_FAULT;
		i++;
	}
	return worst;
}

static void
mark_seen(struct state *st, const struct result *r)
{
	struct state_entry *e;

	if (r->log[0] != '\0' && (e = state_find(st, r->log)) != NULL)
		e->seen = 1;
}

/* Each log, then the links between them, then what is said. */
static int
verify_all(const struct opts *o, char **logs, int n,
    const struct audit_keyring *kr, struct state *st)
{
	char (*retire)[AUDIT_LOGID_MAX + 1];
	struct result *rs;
	size_t nretire = 0;
	int worst = EXIT_OK, w;

	if ((rs = calloc((size_t)n, sizeof(*rs))) == NULL ||
	    (retire = calloc((size_t)n, sizeof(*retire))) == NULL)
		errx(EXIT_ERR, "out of memory");
	for (int i = 0; i < n; i++) {
		verify_log(logs[i], kr, st, &rs[i]);
		audit_chain_free(&rs[i].chain);
		if (st != NULL)
			mark_seen(st, &rs[i]);
	}
	worst = link_all(o, rs, n, st, retire, &nretire);
	for (int i = 0; i < n; i++) {
		struct result *r = &rs[i];

		if (o->json && !(o->quiet && r->status == EXIT_OK))
			print_json(logs[i], r);
		else if (!o->json)
			print_text(logs[i], r, o->quiet);
		if (r->status == EXIT_OK && st != NULL)
			remember(st, &r->chain, logs[i]);
		if (r->status > worst)
			worst = r->status;
	}
	for (size_t i = 0; st != NULL && i < nretire; i++) {
		struct state_entry *e = state_find(st, retire[i]);

		if (e != NULL)
			e->retired = 1;
	}
	if (st != NULL && (w = check_gone(o, st)) > worst)
		worst = w;
	free(retire);
	free(rs);
	return worst;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct audit_keyring kr;
	struct audit_err e;
	struct state st;
	int worst, lock = -1;

	usage_std(argc, argv, "nucleus-audit-verify", usage_text);
	options(&o, &argc, &argv);
	if (sodium_init() < 0)
		errx(EXIT_ERR, "cannot initialize libsodium");
	if (audit_keyring_load(&kr, o.keyring, &e) != 0)
		errx(EXIT_ERR, "%s", e.msg);
	if (o.statefile != NULL && ((lock = state_lock(o.statefile,
	    &e)) < 0 || state_load(&st, o.statefile, &e) != 0))
		errx(EXIT_ERR, "%s", e.msg);
	o.files = argv;
	worst = verify_all(&o, argv, argc, &kr, o.statefile != NULL ? &st :
	    NULL);
	if (fflush(stdout) != 0)
		err(EXIT_ERR, "standard output");
	if (o.statefile != NULL) {
		if (state_save(&st, o.statefile, &e) != 0)
			errx(EXIT_ERR, "%s", e.msg);
		state_free(&st);
		close(lock);
	}
	audit_keyring_free(&kr);
	return worst;
}
