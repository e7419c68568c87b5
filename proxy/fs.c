/*
 * File operations, all beneath the work root: read, stat, list, write
 * (truncate, create, append), mkdir, delete and edit, and the dispatch of every
 * file operation, searches included.  Paths are opened through resolve.c;
 * glob and grep are in search.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proxy.h"
#include "fs.h"
#include "members.h"
#include "search.h"

/* Its name in parentheses, out of the way of fs.h's macro for scan-build. */
int
(fs_fail)(struct fsop *o, enum policy_kind kind, const char *fmt, ...)
{
	va_list ap;

	*o->kind = kind;
	va_start(ap, fmt);
	vsnprintf(o->why, o->whysz, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *
type_name(mode_t m)
{
	return S_ISREG(m) ? "file" : S_ISDIR(m) ? "directory" :
	    S_ISLNK(m) ? "symlink" : S_ISFIFO(m) ? "fifo" :
	    S_ISCHR(m) ? "char-device" : S_ISBLK(m) ? "block-device" :
	    S_ISSOCK(m) ? "socket" : "other";
}

static void
outcome_bytes(struct req *r, const void *p, size_t n)
{
	uint8_t h[AUDIT_HASH_LEN];
	char hex[AUDIT_HEX_LEN + 1];

	audit_hash(h, p, n);
	audit_hex(hex, h, AUDIT_HASH_LEN);
	json_decref(r->outcome);
	r->outcome = json_pack("{s:I, s:s}", "bytes", (json_int_t)n,
	    "digest", hex);
}

/* Valid UTF-8 with no NUL: can be sent as text. */
/*
 * p as a JSON string when want_text and it is text (UTF-8, no NUL: one
 * pass, jansson's own check), else as base64; *enc says which.
 */
static json_t *
encode_data(const char *p, size_t n, int want_text, const char **enc)
{
	json_t *j;
	char *b;

	if (want_text && memchr(p, '\0', n) == NULL &&
	    (j = json_stringn(p, n)) != NULL) {
		*enc = "text";
		return j;
	}
	*enc = "base64";
	if ((b = malloc(audit_b64_len(n))) == NULL)
		return NULL;
	audit_b64(b, audit_b64_len(n), (const uint8_t *)p, n);
	j = json_string(b);
	free(b);
	return j;
}

static int
get_int(struct fsop *o, const json_t *args, const char *name, int64_t def,
    int64_t max, int64_t *out)
{
	const json_t *v = json_object_get(args, name);

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max)
		return fs_fail(o, KIND_BAD_REQUEST, "args.%s: expected an "
		    "integer from 0 to %lld", name, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

static json_t *
do_read(struct fsop *o, const json_t *args)
{
	char real[POLICY_PATH_MAX + 1], *buf = NULL;
	const json_t *encv = json_object_get(args, "encoding");
	int64_t off, len;
	const char *enc;
	struct stat st;
	json_t *data, *res = NULL;
	ssize_t n = 0;
	int fd, want_text = 1;

	if (get_int(o, args, "offset", 0, INT64_MAX / 2, &off) != 0 ||
	    get_int(o, args, "length", (int64_t)o->cfg->lim.read,
	    (int64_t)o->cfg->lim.read, &len) != 0)
		return NULL;
	if (encv != NULL) {
		if (!json_is_string(encv) || (strcmp(json_string_value(encv),
		    "text") && strcmp(json_string_value(encv), "base64"))) {
			fs_fail(o, KIND_BAD_REQUEST, "args.encoding: expected "
			    "\"text\" or \"base64\"");
			return NULL;
		}
		want_text = strcmp(json_string_value(encv), "text") == 0;
	}
	/* O_NONBLOCK: opening a FIFO must not hang the proxy. */
	if ((fd = resolve_checked(o, O_RDONLY | O_NONBLOCK, real)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fs_fail(o, KIND_NONE, "%s: not a regular file (%s)", real,
		    type_name(st.st_mode));
		goto out;
	}
	if ((buf = malloc((size_t)len + 1)) == NULL) {
		fs_fail(o, KIND_NONE, "out of memory");
		goto out;
	}
	if (len > 0 && (n = pread(fd, buf, (size_t)len, off)) < 0) {
		fs_fail(o, KIND_NONE, "%s: %s", real, strerror(errno));
		goto out;
	}
	outcome_bytes(o->r, buf, (size_t)n);
	if ((data = encode_data(buf, (size_t)n, want_text, &enc)) == NULL) {
		fs_fail(o, KIND_NONE, "out of memory");
		goto out;
	}
	res = json_pack("{s:s, s:I, s:I, s:I, s:b, s:s, s:o}", "path", real,
	    "size", (json_int_t)st.st_size, "offset", (json_int_t)off,
	    "length", (json_int_t)n, "eof", off + n >= st.st_size, "encoding",
	    enc, "data", data);
out:
	free(buf);
	close(fd);
	return res;
}

static json_t *
do_stat(struct fsop *o)
{
	char real[POLICY_PATH_MAX + 1];
	struct stat st;
	int fd;

	if ((fd = resolve_checked(o, O_PATH, real)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		fs_fail(o, KIND_NONE, "%s: %s", real, strerror(errno));
		close(fd);
		return NULL;
	}
	close(fd);
	json_decref(o->r->outcome);
	o->r->outcome = json_pack("{s:s}", "file_type",
	    type_name(st.st_mode));
	return json_pack("{s:s, s:s, s:I, s:i, s:I}", "path", real, "type",
	    type_name(st.st_mode), "size", (json_int_t)st.st_size, "mode",
	    (int)(st.st_mode & 07777), "mtime", (json_int_t)st.st_mtime);
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a,
	    "name")), json_string_value(json_object_get(*(json_t *const *)b,
	    "name")));
}

static json_t *
do_list(struct fsop *o)
{
	char real[POLICY_PATH_MAX + 1], child[2 * POLICY_PATH_MAX + 2];
	json_t **v = NULL, *entries = json_array(), **nv;
	size_t n = 0, nhidden = 0;
	int fd, truncated = 0;
	struct dirent *de;
	DIR *dir;

	if ((fd = resolve_checked(o, O_RDONLY | O_DIRECTORY, real)) < 0)
		return NULL;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		fs_fail(o, KIND_NONE, "%s: %s", real, strerror(errno));
		return NULL;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		/* A name too long for a policy path is not shown either. */
		if (resolve_join(child, sizeof(child), real, de->d_name) != 0 ||
		    resolve_hidden(o->root, child)) {
			nhidden++;	/* a blocked name is not shown */
			continue;
		}
		if (n == LIST_MAX) {
			truncated = 1;
			break;
		}
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL)
			break;
		v = nv;
		v[n++] = json_pack("{s:s, s:s}", "name", de->d_name, "type",
		    de->d_type == DT_DIR ? "directory" : de->d_type == DT_REG ?
		    "file" : de->d_type == DT_LNK ? "symlink" : "other");
	}
	closedir(dir);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_entry);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(entries, v[i]);
	free(v);
	json_decref(o->r->outcome);
	o->r->outcome = json_pack("{s:I}", "entries", (json_int_t)n);
	return json_pack("{s:s, s:o, s:I, s:b}", "path", real, "entries",
	    entries, "hidden", (json_int_t)nhidden, "truncated", truncated);
}

static int
content(struct fsop *o, const json_t *args, char **data, size_t *len)
{
	const json_t *t = json_object_get(args, "content");
	const json_t *b = json_object_get(args, "content_base64");
	const char *end;

	if ((t == NULL) == (b == NULL))
		return fs_fail(o, KIND_BAD_REQUEST, "give args.content or "
		    "args.content_base64");
	if (t != NULL) {
		if (!json_is_string(t))
			return fs_fail(o, KIND_BAD_REQUEST, "args.content: "
			    "expected a string");
		*len = json_string_length(t);
		if (*len > o->cfg->lim.write)
			return fs_fail(o, KIND_BAD_REQUEST, "content of %zu "
			    "bytes: the limit is %zu", *len, o->cfg->lim.write);
		*data = malloc(*len + 1);
		if (*data != NULL)
			memcpy(*data, json_string_value(t), *len);
		return *data != NULL ? 0 : fs_fail(o, KIND_NONE,
		    "out of memory");
	}
	if (!json_is_string(b))
		return fs_fail(o, KIND_BAD_REQUEST, "args.content_base64: "
		    "expected a string");
	if (json_string_length(b) / 4 * 3 > o->cfg->lim.write + 2)
		return fs_fail(o, KIND_BAD_REQUEST, "content over the limit of "
		    "%zu bytes", o->cfg->lim.write);
	if ((*data = malloc(json_string_length(b) / 4 * 3 + 3)) == NULL)
		return fs_fail(o, KIND_NONE, "out of memory");
	if (sodium_base642bin((uint8_t *)*data, json_string_length(b) / 4 * 3 +
	    3, json_string_value(b), json_string_length(b), NULL, len, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != json_string_value(b) + json_string_length(b)) {
		free(*data);
		return fs_fail(o, KIND_BAD_REQUEST, "args.content_base64: not "
		    "base64");
	}
	if (*len > o->cfg->lim.write) {
		free(*data);
		return fs_fail(o, KIND_BAD_REQUEST, "content of %zu bytes: the "
		    "limit is %zu", *len, o->cfg->lim.write);
	}
	return 0;
}

/*
 * What the proxy makes belongs to whom commands run as (run_as: a VM's
 * guest, where the proxy is root), or they could not change it.
 */
static int
owned(const struct config *c, int fd)
{
	if (!c->run_as)
		return 0;
	return fchown(fd, c->run_uid, c->run_gid);
}

/* Write data to a fresh temporary file beside base, then rename it. */
static int
replace(struct fsop *o, int dfd, const char *base, const char *target,
    const char *data, size_t len, int noreplace, mode_t mode)
{
	uint8_t rnd[8];
	char tmp[64];
	int fd;

	randombytes_buf(rnd, sizeof(rnd));
	if (audit_fit(tmp, sizeof(tmp), NULL, ".nucleus-tmp-%02x%02x%02x%02x"
	    "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
	    rnd[6], rnd[7]) != 0)
		return fs_fail(o, KIND_NONE, "%s: no temporary name", target);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd < 0)
		return fs_fail(o, KIND_NONE, "%s: %s", target, strerror(errno));
	if ((mode != 0644 && fchmod(fd, mode) != 0) ||
	    owned(o->cfg, fd) != 0 || audit_writeall(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		fs_fail(o, KIND_NONE, "%s: %s", target, strerror(errno));
		close(fd);
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (syscall(SYS_renameat2, dfd, tmp, dfd, base, noreplace ?
	    RENAME_NOREPLACE : 0) != 0) {
		fs_fail(o, KIND_NONE, "%s: %s", target, errno == EEXIST ?
		    "already exists (mode create)" : strerror(errno));
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	/*
	 * The rename itself, durable: until the directory is synced a crash
	 * may bring the old file back.  The new one is in place by now, so
	 * the error says so, and the agent and the record learn that the
	 * write is not known to be on disk.
	 */
	if (fsync(dfd) != 0)
		return fs_fail(o, KIND_NONE, "%s: written, but its directory "
		    "could not be synced: %s", target, strerror(errno));
	return 0;
}

/* args.mode: create, truncate (the default) or append. */
static int
write_mode(struct fsop *o, const json_t *args, const char **mode)
{
	const json_t *mv = json_object_get(args, "mode");

	*mode = "truncate";
	if (mv == NULL)
		return 0;
	if (json_is_string(mv)) {
		*mode = json_string_value(mv);
		if (strcmp(*mode, "create") == 0 ||
		    strcmp(*mode, "truncate") == 0 ||
		    strcmp(*mode, "append") == 0)
			return 0;
	}
	return fs_fail(o, KIND_BAD_REQUEST, "args.mode: expected create, "
	    "truncate or append");
}

/*
 * Append data to the request's path: its name in dfd (parent, its real
 * path), or the file a symbolic link there leads to, each checked before
 * anything is made (resolve_append); target is what was opened.
 */
static int
append(struct fsop *o, int dfd, const char *parent, const char *base,
    char *target, const char *data, size_t len, int *created)
{
	struct stat st;
	int fd, rc = -1;

	if ((fd = resolve_append(o, dfd, parent, base, target, created)) < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		fs_fail(o, KIND_NONE, "%s: %s", target, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		fs_fail(o, KIND_NONE, "%s: not a regular file", target);
	else if ((*created && owned(o->cfg, fd) != 0) ||
	    audit_writeall(fd, data, len) != 0 || fsync(fd) != 0)
		fs_fail(o, KIND_NONE, "%s: %s", target, strerror(errno));
	else
		rc = 0;
	close(fd);
	return rc;
}

static json_t *
do_write(struct fsop *o, const json_t *args)
{
	char parent[POLICY_PATH_MAX + 1], target[POLICY_PATH_MAX + 1];
	const char *mode, *base;
	char *data = NULL;
	size_t len;
	json_t *res = NULL;
	int dfd, created = 0;
	struct stat st;

	if (write_mode(o, args, &mode) != 0 ||
	    content(o, args, &data, &len) != 0)
		return NULL;
	if ((dfd = resolve_parent(o, parent, &base)) < 0)
		goto out;
	if (resolve_target(o, parent, base, target) != 0)
		goto out;
	created = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0;
	if (!created && S_ISDIR(st.st_mode)) {
		fs_fail(o, KIND_NONE, "%s: is a directory", target);
		goto out;
	}
	if (strcmp(mode, "append") == 0 ?
	    append(o, dfd, parent, base, target, data, len, &created) != 0 :
	    replace(o, dfd, base, target, data, len,
	    strcmp(mode, "create") == 0, 0644) != 0)
		goto out;
	outcome_bytes(o->r, data, len);
	res = json_pack("{s:s, s:I, s:b}", "path", target, "bytes",
	    (json_int_t)len, "created", created);
out:
	if (dfd >= 0)
		close(dfd);
	free(data);
	return res;
}

static json_t *
do_mkdir(struct fsop *o)
{
	char parent[POLICY_PATH_MAX + 1], target[POLICY_PATH_MAX + 1];
	const char *base;
	json_t *res = NULL;
	int dfd;

	if ((dfd = resolve_parent(o, parent, &base)) < 0)
		return NULL;
	if (resolve_target(o, parent, base, target) == 0) {
		if (mkdirat(dfd, base, 0755) != 0 || (o->cfg->run_as &&
		    fchownat(dfd, base, o->cfg->run_uid, o->cfg->run_gid,
		    AT_SYMLINK_NOFOLLOW) != 0))
			fs_fail(o, KIND_NONE, "%s: %s", target,
			    strerror(errno));
		else
			res = json_pack("{s:s}", "path", target);
	}
	close(dfd);
	json_decref(o->r->outcome);
	o->r->outcome = json_object();
	return res;
}

static json_t *
do_delete(struct fsop *o)
{
	char parent[POLICY_PATH_MAX + 1], target[POLICY_PATH_MAX + 1];
	const char *base;
	json_t *res = NULL;
	struct stat st;
	int dfd, isdir;

	if ((dfd = resolve_parent(o, parent, &base)) < 0)
		return NULL;
	if (resolve_target(o, parent, base, target) != 0)
		goto out;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		fs_fail(o, KIND_NONE, "%s: %s", target, strerror(errno));
		goto out;
	}
	isdir = S_ISDIR(st.st_mode);
	/* A symbolic link is removed, never followed. */
	if (unlinkat(dfd, base, isdir ? AT_REMOVEDIR : 0) != 0) {
		fs_fail(o, KIND_NONE, "%s: %s", target, strerror(errno));
		goto out;
	}
	res = json_pack("{s:s, s:s}", "path", target, "deleted",
	    type_name(st.st_mode));
	json_decref(o->r->outcome);
	o->r->outcome = json_pack("{s:s}", "deleted", type_name(st.st_mode));
out:
	close(dfd);
	return res;
}

/* The file's text, whole: a regular file of at most the write limit. */
static char *
edit_read(struct fsop *o, int dfd, const char *base, const char *target,
    size_t *len, mode_t *mode)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd;

	/* O_NOFOLLOW: a link's target is not what was decided on. */
	fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fs_fail(o, KIND_NONE, "%s: %s", target, errno == ELOOP ?
		    "a symbolic link; edit the file it names" :
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		fs_fail(o, KIND_NONE, "%s: not a regular file", target);
	else if ((uint64_t)st.st_size > o->cfg->lim.write)
		fs_fail(o, KIND_BAD_REQUEST, "%s: %lld bytes; an edit takes "
		    "files of at most %zu (the write limit)", target,
		    (long long)st.st_size, o->cfg->lim.write);
	else if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		fs_fail(o, KIND_NONE, "out of memory");
	else if ((n = pread(fd, buf, (size_t)st.st_size + 1, 0)) !=
	    (ssize_t)st.st_size) {	/* one byte more: it grew */
		fs_fail(o, KIND_NONE, "%s: %s", target, n < 0 ?
		    strerror(errno) : "changed while read");
		free(buf);
		buf = NULL;
	} else if (memchr(buf, '\0', (size_t)n) != NULL) {
		fs_fail(o, KIND_BAD_REQUEST, "%s: not a text file (it holds "
		    "NUL bytes)", target);
		free(buf);
		buf = NULL;
	} else {
		*len = (size_t)n;
		*mode = st.st_mode & 07777;
	}
	close(fd);
	return buf;
}

/*
 * How many times old (non-empty) occurs in p: without overlaps (what
 * all replaces), or every place it starts (overlapping: "aa" is twice
 * in "aaa"), so that an edit of one occurrence is never a guess.
 */
static size_t
edit_count(const char *p, size_t n, const char *old, size_t oldlen,
    int overlapping)
{
	size_t count = 0, step = overlapping ? 1 : oldlen;
	const char *q;

	while (n >= oldlen && (q = memmem(p, n, old, oldlen)) != NULL) {
		count++;
		n -= (size_t)(q - p) + step;
		p = q + step;
	}
	return count;
}

/* p with each old replaced by new: count times, *outlen its length. */
static char *
edit_apply(const char *p, size_t n, const json_t *oldv, const json_t *newv,
    size_t count, size_t *outlen)
{
	const char *old = json_string_value(oldv), *new =
	    json_string_value(newv), *q;
	size_t oldlen = json_string_length(oldv), newlen =
	    json_string_length(newv), k, done = 0;
	char *out, *w;

	*outlen = n - count * oldlen + count * newlen;
	if ((out = malloc(*outlen + 1)) == NULL)
		return NULL;
	w = out;
	while (done < count && (q = memmem(p, n, old, oldlen)) != NULL) {
		k = (size_t)(q - p);
		memcpy(w, p, k);
		memcpy(w + k, new, newlen);
		w += k + newlen;
		n -= k + oldlen;
		p = q + oldlen;
		done++;
	}
	memcpy(w, p, n);
	return out;
}

static void
hex_digest(char *hex, const char *p, size_t n)
{
	uint8_t h[AUDIT_HASH_LEN];

	audit_hash(h, p, n);
	audit_hex(hex, h, AUDIT_HASH_LEN);
}

/*
 * Replace args.old by args.new in a text file: once, where it occurs
 * once, or everywhere with args.all; the new text to a temporary file,
 * renamed over the old one (as write), its mode kept.
 */
static json_t *
do_edit(struct fsop *o, const json_t *args)
{
	char parent[POLICY_PATH_MAX + 1], target[POLICY_PATH_MAX + 1];
	char before[AUDIT_HEX_LEN + 1], after[AUDIT_HEX_LEN + 1];
	const json_t *oldv = json_object_get(args, "old");
	const json_t *newv = json_object_get(args, "new");
	int all = json_is_true(json_object_get(args, "all"));
	char *text = NULL, *out = NULL;
	size_t len = 0, outlen, count;
	const char *base;
	json_t *res = NULL;
	mode_t mode = 0644;
	int dfd;

	if ((dfd = resolve_parent(o, parent, &base)) < 0)
		return NULL;
	if (resolve_target(o, parent, base, target) != 0 ||
	    (text = edit_read(o, dfd, base, target, &len, &mode)) == NULL)
		goto out;
	count = edit_count(text, len, json_string_value(oldv),
	    json_string_length(oldv), !all);
	if (count == 0) {
		fs_fail(o, KIND_BAD_REQUEST, "%s: old text not found; nothing "
		    "was changed", target);
		goto out;
	}
	if (count > 1 && !all) {
		fs_fail(o, KIND_BAD_REQUEST, "%s: old text found %zu times; "
		    "give more of the text around it to make it unique, or "
		    "all to replace every one; nothing was changed", target,
		    count);
		goto out;
	}
	/* Its size before any memory for it: count times new may be far
	 * past the limit (a file of "a", each "a" made a long text). */
	outlen = len - count * json_string_length(oldv) + count *
	    json_string_length(newv);
	if (outlen > o->cfg->lim.write) {
		fs_fail(o, KIND_BAD_REQUEST, "%s: the edited file would be %zu "
		    "bytes; the limit is %zu", target, outlen,
		    o->cfg->lim.write);
		goto out;
	}
	if ((out = edit_apply(text, len, oldv, newv, count, &outlen)) ==
	    NULL) {
		fs_fail(o, KIND_NONE, "out of memory");
		goto out;
	}
	if (replace(o, dfd, base, target, out, outlen, 0, mode) != 0)
		goto out;
	hex_digest(before, text, len);
	hex_digest(after, out, outlen);
	json_decref(o->r->outcome);
	o->r->outcome = json_pack("{s:I, s:s, s:s, s:I}", "bytes",
	    (json_int_t)outlen, "digest", after, "digest_before", before,
	    "replacements", (json_int_t)count);
	res = json_pack("{s:s, s:I, s:I}", "path", target, "replacements",
	    (json_int_t)count, "bytes", (json_int_t)outlen);
out:
	free(text);
	free(out);
	close(dfd);
	return res;
}

/* An operation on r beneath the proxy's root, its refusal not yet said. */
static void
fsop_init(struct fsop *o, struct req *r, enum policy_kind *kind, char *why,
    size_t whysz)
{
	memset(o, 0, sizeof(*o));
	o->root = &P->root;
	o->cfg = &P->cfg;
	o->r = r;
	o->kind = kind;
	o->why = why;
	o->whysz = whysz;
	/* What an operator approved is the path as named (resolve.c). */
	o->exact = json_object_get(r->req, "approval") != NULL;
	*kind = KIND_NONE;
	why[0] = '\0';
}

/*
 * Before a change is decided: where it would land, checked (resolve.c),
 * so that a change the policy refuses there is refused by the decision
 * itself, and nothing is recorded as allowed that the agent is told was
 * denied.  0, or -1 with *kind (KIND_NONE: not the policy's to refuse;
 * the change will say what is wrong) and why filled.
 */
int
fs_precheck(struct req *r, enum policy_kind *kind, char *why, size_t whysz)
{
	struct fsop o;
	const char *mode = "truncate";

	fsop_init(&o, r, kind, why, whysz);
	if (r->pop != OP_WRITE && r->pop != OP_MKDIR && r->pop != OP_DELETE &&
	    r->pop != OP_EDIT)
		return 0;
	if (resolve_normalize(&o, r->args, 1) != 0 ||
	    (r->pop == OP_WRITE && write_mode(&o, r->args, &mode) != 0))
		return -1;
	/* An edit never follows a link, but where one leads is checked,
	 * so that a link to a blocked file is refused as that file. */
	return resolve_change(&o, strcmp(mode, "append") == 0 ||
	    r->pop == OP_EDIT);
}

/*
 * Perform the file operation of r.  Returns the result, or NULL with
 * *kind (KIND_NONE for an I/O error) and why filled.
 */
json_t *
fs_do(struct req *r, enum policy_kind *kind, char *why, size_t whysz)
{
	struct fsop o;
	json_t *res = NULL;

	fsop_init(&o, r, kind, why, whysz);
	if (resolve_normalize(&o, r->args, r->pop != OP_LIST &&
	    r->pop != OP_GLOB && r->pop != OP_GREP) != 0)
		return NULL;
	switch (r->pop) {
	case OP_READ:
		res = do_read(&o, r->args);
		break;
	case OP_STAT:
		res = do_stat(&o);
		break;
	case OP_LIST:
		res = do_list(&o);
		break;
	case OP_WRITE:
		res = do_write(&o, r->args);
		break;
	case OP_MKDIR:
		res = do_mkdir(&o);
		break;
	case OP_DELETE:
		res = do_delete(&o);
		break;
	case OP_EDIT:
		res = do_edit(&o, r->args);
		break;
	case OP_GLOB:
		res = search_glob(&o, r->args);
		break;
	case OP_GREP:
		res = search_grep(&o, r->args);
		break;
	default:
		fs_fail(&o, KIND_BAD_REQUEST, "not a file operation");
	}
	if (res == NULL && why[0] == '\0')
		audit_fmt(why, whysz, "out of memory");
	return res;
}
