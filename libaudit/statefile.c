/*
 * The state file of nucleus-audit-verify: per log id, where the last clean
 * verification ended, so that the next run verifies only what was appended
 * since and notices a log that was truncated, rolled back or rewritten.
 * One JSON object per line:
 *
 *	{"end":N,"hash":HEX,"kid":KID,"lines":N,"log":ID,"prefix":HEX,
 *	 "pubkey":BASE64,"seq":N,"ts":N,"v":1}
 *
 * end is the byte offset after the last verified line, prefix the BLAKE2b
 * of every byte before it, hash that of the last verified line.  A
 * rotated log's entry may add "pred" (the log its log.open names),
 * "next" (verified to its log.close, the successor it names) and
 * "retired":true (that successor verified from its log.open on: the
 * file may be gone), and "file", the file's real path when it was last
 * verified: where to look for a log not given, before calling it
 * missing.  The file
 * is replaced atomically: written beside, synced, renamed, and the
 * directory synced.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "statefile.h"

#define STATE_MAX_ENTRIES	100000
#define STATE_LINE_MAX		16384	/* bytes in one entry's line */

static int
sfail(struct audit_err *err, const char *path, unsigned line,
    const char *msg)
{
	if (line > 0)
		return audit_errf(err, "%s: line %u: %s", path, line, msg);
	return audit_errf(err, "%s: %s", path, msg);
}

static int
get_hex(const json_t *o, const char *name, uint8_t *out, size_t n)
{
	const json_t *v = json_object_get(o, name);

	return json_is_string(v) ? audit_unhex(out, n, json_string_value(v),
	    json_string_length(v)) : -1;
}

static int
get_int(const json_t *o, const char *name, int64_t min, int64_t *out)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < min)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* A rotated log's members; how many, or -1 when one is wrong. */
static size_t
optional_members(const json_t *o, struct state_entry *e)
{
	static const char *const names[] = { "pred", "next" };
	char *dst[] = { e->pred, e->next };
	const json_t *v, *r = json_object_get(o, "retired");
	const json_t *f = json_object_get(o, "file");
	size_t n = 0;

	for (size_t i = 0; i < 2; i++) {
		if ((v = json_object_get(o, names[i])) == NULL)
			continue;
		if (!json_is_string(v) || !audit_logid_valid(
		    json_string_value(v), json_string_length(v)))
			return (size_t)-1;
		strcpy(dst[i], json_string_value(v));
		n++;
	}
	if (f != NULL) {
		if (!json_is_string(f) || json_string_length(f) == 0 ||
		    json_string_length(f) >= sizeof(e->file) ||
		    strlen(json_string_value(f)) != json_string_length(f))
			return (size_t)-1;
		strcpy(e->file, json_string_value(f));
		n++;
	}
	if (r != NULL) {
		if (!json_is_true(r) || e->next[0] == '\0')
			return (size_t)-1;
		e->retired = 1;
		n++;
	}
	return n;
}

static int
parse_entry(const json_t *o, struct state_entry *e)
{
	const json_t *log = json_object_get(o, "log");
	const json_t *kid = json_object_get(o, "kid");
	const json_t *pk = json_object_get(o, "pubkey");
	const json_t *v = json_object_get(o, "v");
	int64_t end, lines;
	size_t extra;

	memset(e, 0, sizeof(*e));
	if ((extra = optional_members(o, e)) == (size_t)-1)
		return -1;
	if (!json_is_object(o) || json_object_size(o) != 10 + extra ||
	    !json_is_integer(v) || json_integer_value(v) != 1 ||
	    !json_is_string(log) || !audit_logid_valid(json_string_value(log),
	    json_string_length(log)) || !json_is_string(kid) ||
	    !audit_kid_valid(json_string_value(kid), json_string_length(kid)) ||
	    !json_is_string(pk) || audit_unb64(e->pk, AUDIT_PK_LEN,
	    json_string_value(pk), json_string_length(pk)) != 0 ||
	    get_hex(o, "hash", e->hash, AUDIT_HASH_LEN) != 0 ||
	    get_hex(o, "prefix", e->prefix, AUDIT_HASH_LEN) != 0 ||
	    get_int(o, "end", 1, &end) != 0 ||
	    get_int(o, "lines", 1, &lines) != 0 ||
	    get_int(o, "seq", 0, &e->seq) != 0 ||
	    get_int(o, "ts", 0, &e->ts) != 0)
		return -1;
	strcpy(e->log, json_string_value(log));
	strcpy(e->kid, json_string_value(kid));
	e->end = (off_t)end;
	e->lines = (uint64_t)lines;
	return 0;
}

void
state_free(struct state *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

struct state_entry *
state_find(struct state *s, const char *log)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].log, log) == 0)
			return &s->v[i];
	return NULL;
}

/* Forget an entry (its pointer is then another's, or past the end). */
void
state_drop(struct state *s, struct state_entry *e)
{
	*e = s->v[--s->n];
}

/* Add or replace the entry for e->log. */
int
state_put(struct state *s, const struct state_entry *e)
{
	struct state_entry *old = state_find(s, e->log), *nv;

	if (old != NULL) {
		*old = *e;
		return 0;
	}
	if (s->n == STATE_MAX_ENTRIES ||
	    (nv = realloc(s->v, (s->n + 1) * sizeof(*nv))) == NULL)
		return -1;
	s->v = nv;
	s->v[s->n++] = *e;
	return 0;
}

/*
 * Hold PATH.lock for the whole run: two runs on one state would each
 * save what they loaded, and the last to save could set the state back
 * (a later cut of what the other verified then unseen).  A second run
 * is refused, not queued: a run that never ends must not pile up.
 * Returns the lock's fd, to be kept open until the state is saved.
 */
int
state_lock(const char *path, struct audit_err *err)
{
	char lock[4200];
	int fd;

	if (snprintf(lock, sizeof(lock), "%s.lock", path) >=
	    (int)sizeof(lock))
		return sfail(err, path, 0, "path too long");
	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return sfail(err, lock, 0, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		sfail(err, path, 0, errno == EWOULDBLOCK ? "another run of "
		    "nucleus-audit-verify holds this state file" :
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Load the state file; a missing file is an empty state (a first run). */
int
state_load(struct state *s, const char *path, struct audit_err *err)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	struct audit_err oe;
	int fd, rc = -1;

	memset(s, 0, sizeof(*s));
	if ((fd = audit_open_regular(path, 0, NULL, &oe)) < 0)
		return errno == ENOENT ? 0 : sfail(err, path, 0, oe.msg);
	if ((f = fdopen(fd, "re")) == NULL) {
		close(fd);
		return sfail(err, path, 0, strerror(errno));
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		struct state_entry e;
		json_t *o;

		lineno++;
		if (len > STATE_LINE_MAX) {
			sfail(err, path, lineno, "line too long");
			goto out;
		}
		o = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
		if (o == NULL || parse_entry(o, &e) != 0) {
			json_decref(o);
			sfail(err, path, lineno, "not a state entry of "
			    "nucleus-audit-verify");
			goto out;
		}
		json_decref(o);
		if (state_find(s, e.log) != NULL) {
			sfail(err, path, lineno, "a log id appears twice");
			goto out;
		}
		if (state_put(s, &e) != 0) {
			sfail(err, path, lineno, "too many entries");
			goto out;
		}
	}
	if (ferror(f)) {
		sfail(err, path, 0, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(f);
	if (rc != 0)
		state_free(s);
	return rc;
}

static json_t *
entry_json(const struct state_entry *e)
{
	char hash[AUDIT_HEX_LEN + 1], prefix[AUDIT_HEX_LEN + 1], pk[64];

	audit_hex(hash, e->hash, AUDIT_HASH_LEN);
	audit_hex(prefix, e->prefix, AUDIT_HASH_LEN);
	json_t *o;

	audit_b64(pk, sizeof(pk), e->pk, AUDIT_PK_LEN);
	o = json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:i}",
	    "end", (json_int_t)e->end, "hash", hash, "kid", e->kid,
	    "lines", (json_int_t)e->lines, "log", e->log, "prefix", prefix,
	    "pubkey", pk, "seq", (json_int_t)e->seq, "ts", (json_int_t)e->ts,
	    "v", 1);
	if (o != NULL && ((e->file[0] != '\0' && json_object_set_new(o,
	    "file", json_string(e->file)) != 0) ||
	    (e->pred[0] != '\0' && json_object_set_new(o,
	    "pred", json_string(e->pred)) != 0) || (e->next[0] != '\0' &&
	    json_object_set_new(o, "next", json_string(e->next)) != 0) ||
	    (e->retired && json_object_set_new(o, "retired",
	    json_true()) != 0))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
write_entries(FILE *f, const struct state *s)
{
	for (size_t i = 0; i < s->n; i++) {
		json_t *o = entry_json(&s->v[i]);
		char *text = o != NULL ? json_dumps(o, JSON_COMPACT |
		    JSON_SORT_KEYS) : NULL;
		int rc = text != NULL && fprintf(f, "%s\n", text) > 0 ? 0 : -1;

		free(text);
		json_decref(o);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Replace the state file atomically: write, fsync, rename, fsync dir. */
int
state_save(const struct state *s, const char *path, struct audit_err *err)
{
	char tmp[4200], dirbuf[4200];
	FILE *f = NULL;
	int fd, dfd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return sfail(err, path, 0, "path too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return sfail(err, tmp, 0, strerror(errno));
	}
	if (write_entries(f, s) != 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		sfail(err, tmp, 0, strerror(errno));
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		sfail(err, path, 0, strerror(errno));
		unlink(tmp);
		return -1;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	/* The rename is durable once the directory is: say when it is not. */
	if ((dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) >= 0) {
		int rc = fsync(dfd), saved = errno;

		close(dfd);
		if (rc != 0)
			return sfail(err, path, 0, strerror(saved));
	}
	return 0;
}
