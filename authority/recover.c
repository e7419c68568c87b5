/*
 * At start: rebuild what lives only in memory (the pending requests and
 * their expiry, each rule's grants in the last hour) from LMDB, and make
 * sure the log holds every record of every stored request.
 *
 * A state change is synced to LMDB before its records are submitted, and
 * each request counts the records known to be durable ("logged"), a count
 * raised after they are.  A stop between the two leaves a request whose
 * count is short although its records may well be in the log.  So before
 * writing anything, the tail of the log (RECOVER_SCAN_MAX bytes, more
 * than every record that can be in flight at once) is read for those
 * requests' records (and that of the file before, when the log has
 * rotated since); only what is not there is written, marked
 * "recovered".  A record older than the scanned tail is written again:
 * a duplicate, flagged, rather than a loss.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authority.h"

/* A request whose records are not all known to be in the log. */
struct short_req {
	uint64_t id;
	int	 want;		/* 1: the request; 2: and its decision */
	int	 have_request, have_decision;
};

struct recovery {
	int64_t	 now;
	struct short_req *v;
	size_t	 n, cap;
};

static int
want_of(const json_t *rec)
{
	const char *state = json_string_value(json_object_get(rec, "state"));

	return state != NULL && strcmp(state, "pending") != 0 ? 2 : 1;
}

static int
rebuild_each(void *arg, uint64_t id, json_t *rec)
{
	struct recovery *r = arg;
	const char *state = json_string_value(json_object_get(rec, "state"));
	const json_t *rule = json_object_get(rec, "rule");
	int64_t decided = json_integer_value(json_object_get(rec, "decided"));
	int want = want_of(rec);

	if (state != NULL && strcmp(state, "pending") == 0)
		pending_add(id, json_integer_value(json_object_get(rec,
		    "expires")), json_string_value(json_object_get(rec,
		    "agent")));
	if (json_is_string(rule) && decided > r->now - 3600)
		for (size_t i = 0; i < A->rules.n; i++)
			if (strcmp(A->rules.v[i].name,
			    json_string_value(rule)) == 0)
				rule_count(&A->rules.v[i], decided);
	if (json_integer_value(json_object_get(rec, "logged")) >= want)
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct short_req *v = realloc(r->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct short_req){ .id = id, .want = want };
	return 0;
}

static int
by_id(const void *key, const void *elem)
{
	uint64_t a = *(const uint64_t *)key;
	uint64_t b = ((const struct short_req *)elem)->id;

	return a < b ? -1 : a > b;
}

/* One line of the log: is it a record of a short request? */
static void
look(struct recovery *r, const char *line, size_t len)
{
	static const char marker[] = "\"event\":\"approval.";
	const char *event, *ids;
	struct short_req *s;
	json_error_t jerr;
	json_t *rec;
	unsigned long long n;
	uint64_t id;

	if (memmem(line, len, marker, sizeof(marker) - 1) == NULL)
		return;
	if ((rec = json_loadb(line, len, 0, &jerr)) == NULL)
		return;
	event = json_string_value(json_object_get(rec, "event"));
	ids = json_string_value(json_object_get(rec, "id"));
	if (event != NULL && ids != NULL &&
	    num_parse_u(ids, 1, UINT64_MAX, &n) == NUM_OK) {
		id = n;
		s = bsearch(&id, r->v, r->n, sizeof(*r->v), by_id);
		if (s != NULL && strcmp(event, "approval.request") == 0)
			s->have_request = 1;
		else if (s != NULL && (strcmp(event, "approval.grant") == 0 ||
		    strcmp(event, "approval.deny") == 0 ||
		    strcmp(event, "approval.expire") == 0))
			s->have_decision = 1;
	}
	json_decref(rec);
}

/* Read the log's last RECOVER_SCAN_MAX bytes, a line at a time. */
static int
scan_tail(struct recovery *r, const char *path, struct audit_err *err)
{
	size_t cap = 2 * (size_t)AUDIT_LINE_MAX, len = 0;
	struct audit_err e;
	struct stat st;
	off_t start;
	int fd, first;
	char *buf;

	/* a FIFO put there would hang the start (audit_open_regular) */
	if ((fd = audit_open_regular(path, 0, &st, &e)) < 0)
		return audit_errf(err, "%s: %s", path, e.msg);
	if ((buf = malloc(cap)) == NULL) {
		close(fd);
		return audit_errf(err, "%s: cannot read it", path);
	}
	start = st.st_size > RECOVER_SCAN_MAX ? st.st_size - RECOVER_SCAN_MAX :
	    0;
	first = start > 0;	/* a partial line: skipped */
	if (lseek(fd, start, SEEK_SET) < 0)
		goto fail;
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);
		char *p = buf, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		len += (size_t)n;
		while ((nl = memchr(p, '\n', len - (size_t)(p - buf))) !=
		    NULL) {
			if (!first)
				look(r, p, (size_t)(nl - p));
			first = 0;
			p = nl + 1;
		}
		len -= (size_t)(p - buf);
		memmove(buf, p, len);
		if (n == 0)
			break;
		if (len == cap)		/* no line is this long: skip it */
			len = 0, first = 1;
	}
	free(buf);
	close(fd);
	return 0;
fail:
	free(buf);
	close(fd);
	return audit_errf(err, "%s: %s", path, strerror(errno));
}

/*
 * The file of the log before this one, when the log rotated: named in
 * its log.open's predecessor, beside it.  "" when none.
 */
static void
predecessor_file(const char *path, char *out, size_t outsz)
{
	const char *slash = strrchr(path, '/'), *name;
	json_t *rec = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	int fd;
	struct audit_err e;

	out[0] = '\0';
	if ((fd = audit_open_regular(path, 0, NULL, &e)) < 0)
		return;
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return;
	}
	if ((len = getline(&line, &cap, f)) > 0 && len <= AUDIT_LINE_MAX &&
	    (rec = json_loadb(line, (size_t)len, 0, NULL)) != NULL &&
	    (name = json_string_value(json_object_get(json_object_get(rec,
	    "predecessor"), "file"))) != NULL && strchr(name, '/') == NULL &&
	    strcmp(name, "..") != 0 && strcmp(name, ".") != 0 &&
	    audit_fit(out, outsz, &e, "%.*s%s", slash != NULL ?
	    (int)(slash - path + 1) : 0, path, name) != 0)
		out[0] = '\0';
	json_decref(rec);
	free(line);
	fclose(f);
}

static int
write_missing(const json_t *rec, uint64_t id, const char *event)
{
	json_t *ev = decision_event(event, rec, id);
	struct audit_err e;
	uint64_t seq;
	char hash[AUDIT_HEX_LEN + 1];
	int rc;

	if (ev == NULL)
		return -1;
	json_object_set_new(ev, "recovered", json_true());
	rc = audit_log_append_wait(A->log, ev, &seq, hash, &e);
	json_decref(ev);
	return rc;
}

static const char *
decision_name(const json_t *rec)
{
	const char *state = json_string_value(json_object_get(rec, "state"));

	return strcmp(state, "granted") == 0 ? "approval.grant" :
	    strcmp(state, "denied") == 0 ? "approval.deny" : "approval.expire";
}

int
recover_log(const char *logpath, struct audit_err *err)
{
	struct recovery r = { .now = audit_now_s() };
	char pred[4096];
	int written = 0, rc = -1;
	MDB_txn *txn;

	A->npend = 0;
	if (store_begin(A->store, &txn, 1, err) != 0)
		return -1;
	if (store_each(A->store, txn, rebuild_each, &r) != 0) {
		mdb_txn_abort(txn);
		audit_errf(err, "state: cannot read the requests");
		goto out;
	}
	mdb_txn_abort(txn);
	if (r.n == 0)
		return 0;
	if (scan_tail(&r, logpath, err) != 0)
		goto out;
	/* Rotated since: the records may be in the file before. */
	predecessor_file(logpath, pred, sizeof(pred));
	if (pred[0] != '\0' && access(pred, R_OK) == 0 &&
	    scan_tail(&r, pred, err) != 0)
		goto out;
	if (store_begin(A->store, &txn, 0, err) != 0)
		goto out;
	for (size_t i = 0; i < r.n; i++) {
		struct short_req *s = &r.v[i];
		json_t *rec;

		if (store_get(A->store, txn, s->id, &rec) != 0)
			continue;
		if ((!s->have_request && write_missing(rec, s->id,
		    "approval.request") != 0) || (s->want == 2 &&
		    !s->have_decision && write_missing(rec, s->id,
		    decision_name(rec)) != 0)) {
			json_decref(rec);
			mdb_txn_abort(txn);
			audit_errf(err, "cannot write the records a stop left "
			    "out");
			goto out;
		}
		written += !s->have_request || (s->want == 2 &&
		    !s->have_decision);
		json_object_set_new(rec, "logged", json_integer(s->want));
		(void)store_put(A->store, txn, s->id, rec, err);
		json_decref(rec);
	}
	if (store_commit(A->store, txn, err) != 0 || store_sync(A->store, err) != 0)
		goto out;
	if (written > 0)
		fprintf(stderr, "nucleus-authority: wrote the records of %d "
		    "requests that a stop left out\n", written);
	rc = 0;
out:
	free(r.v);
	return rc;
}
