/*
 * The pod's work, out, for a node that cannot see it (the VM drivers):
 * the node's word on its own connection (never a request: no agent's
 * line reaches the proxy begins so, and only the node's connection is
 * heard), answered as a response under the word's id.
 *
 *	{"export":{"op":"pack","path":P,"max_bytes":N,"max_entries":N},
 *	 "id":ID,"type":"work.export","v":1}
 *		/work, or P beneath it, packed as one cpio newc archive
 *		held here: {"bytes","entries","left_out","skipped"}
 *	{"export":{"op":"chunk","offset":N},"id":ID,...}
 *		EXPORT_CHUNK_MAX bytes of it from N, base64: {"offset",
 *		"data"}; the last piece lets the archive go
 *
 * The walk is the node's own (node/export.c): no link followed (each
 * name opened beneath its directory with O_NOFOLLOW, the path by openat2
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), a link packed as a link, what
 * the policy blocks left out (policy_work_blocked), devices, fifos and
 * sockets skipped, a file that changes while read an io_error.  The
 * node reads the archive back with libarchive and checks every entry
 * again: what is said here is not believed there.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include <sodium.h>

#include "proxy.h"
#include "cpio.h"

#define PACK_WORD	"{\"export\":"	/* how the node's word begins */

struct pack {
	struct audit_buf b;
	size_t	 max_bytes, max_entries;
	size_t	 entries, left_out, skipped;
	char	 rel[POLICY_PATH_MAX + 1];
	size_t	 rellen;
	const char *kind;
	char	 why[POLICY_PATH_MAX + 128];
};

/* The archive packed last, until its last piece is taken. */
static struct audit_buf held;

static int
pfail(struct pack *k, const char *kind, const char *why)
{
	k->kind = kind;
	audit_fmt(k->why, sizeof(k->why), "%s: %s", k->rel[0] != '\0' ?
	    k->rel : "/work", why);
	return -1;
}

static int
padd(struct pack *k, unsigned mode, const struct stat *st, const void *p,
    size_t n)
{
	if (++k->entries > k->max_entries)
		return pfail(k, "too_large", "the archive would pass its "
		    "bound of entries");
	if (k->b.len + 128 + k->rellen + n > k->max_bytes)
		return pfail(k, "too_large", "the archive would pass its "
		    "bound of bytes");
	if (cpio_newc_add(&k->b, k->rel, mode | (st->st_mode & 0777),
	    (uint32_t)st->st_mtim.tv_sec, p, n) != 0)
		return pfail(k, "internal", "out of memory");
	return 0;
}

static int
pfile(struct pack *k, int dfd, const char *name)
{
	struct stat st, after;
	size_t got = 0;
	char *p, extra;
	ssize_t n;
	int fd, rc;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC)) < 0)
		return pfail(k, "io_error", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pfail(k, "io_error", "it changed while it was read; "
		    "try again");
	}
	if ((uint64_t)st.st_size > k->max_bytes) {
		close(fd);
		return pfail(k, "too_large", "the archive would pass its "
		    "bound of bytes");
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return pfail(k, "internal", "out of memory");
	}
	while (got < (size_t)st.st_size && ((n = read(fd, p + got,
	    (size_t)st.st_size - got)) > 0 || (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	if (got == (size_t)st.st_size && read(fd, &extra, 1) == 0 &&
	    fstat(fd, &after) == 0 && after.st_size == st.st_size &&
	    after.st_mtim.tv_sec == st.st_mtim.tv_sec &&
	    after.st_mtim.tv_nsec == st.st_mtim.tv_nsec)
		rc = padd(k, S_IFREG, &st, p, got);
	else
		rc = pfail(k, "io_error", "it changed while it was read; "
		    "try again");
	free(p);
	close(fd);
	return rc;
}

static int pdir(struct pack *, int, int);

static int
pentry(struct pack *k, int dfd, const char *name, int depth)
{
	char target[EXPORT_LINK_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return pfail(k, "io_error", strerror(errno));
	if (policy_work_blocked(&P->cfg.policy, k->rel, k->rellen,
	    S_ISDIR(st.st_mode))) {
		k->left_out++;
		return 0;
	}
	if (S_ISREG(st.st_mode))
		return pfile(k, dfd, name);
	if (S_ISLNK(st.st_mode)) {
		if ((n = readlinkat(dfd, name, target, sizeof(target))) < 0)
			return pfail(k, "io_error", strerror(errno));
		if ((size_t)n == sizeof(target))
			return pfail(k, "too_large", "a link's target longer "
			    "than the node takes");
		return padd(k, S_IFLNK, &st, target, (size_t)n);
	}
	if (!S_ISDIR(st.st_mode)) {
		k->skipped++;
		return 0;
	}
	if (depth >= WORK_DEPTH_MAX)
		return pfail(k, "too_large", "deeper than the node walks");
	if (padd(k, S_IFDIR, &st, NULL, 0) != 0)
		return -1;
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return pfail(k, "io_error", strerror(errno));
	return pdir(k, fd, depth + 1);
}

/* The entries of the directory fd (closed), beneath k->rel. */
static int
pdir(struct pack *k, int fd, int depth)
{
	struct dirent *de;
	size_t saved, n;
	DIR *d;
	int rc = 0;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return pfail(k, "io_error", strerror(errno));
	}
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		saved = k->rellen;
		n = strlen(de->d_name);
		if (saved + (saved > 0) + n > POLICY_PATH_MAX) {
			k->left_out++;	/* beyond a policy path */
			continue;
		}
		if (saved > 0)
			k->rel[k->rellen++] = '/';
		memcpy(k->rel + k->rellen, de->d_name, n + 1);
		k->rellen += n;
		rc = pentry(k, dirfd(d), de->d_name, depth);
		k->rellen = saved;
		k->rel[saved] = '\0';
	}
	if (rc == 0 && errno != 0)
		rc = pfail(k, "io_error", strerror(errno));
	closedir(d);
	return rc;
}

/* The path the node named (it checked its form), walked. */
static int
pwalk(struct pack *k, const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
	char dir[POLICY_PATH_MAX + 1];
	const char *slash, *name;
	struct stat st;
	int parent, fd, rc;

	if (path[0] == '\0') {
		if ((fd = openat(P->root.fd, ".", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) < 0)
			return pfail(k, "io_error", strerror(errno));
		return pdir(k, fd, 0);
	}
	if (audit_fit(k->rel, sizeof(k->rel), NULL, "%s", path) != 0 ||
	    path[0] == '/' || strstr(path, "..") != NULL)
		return pfail(k, "bad_request", "expected a path beneath /work");
	k->rellen = strlen(k->rel);
	slash = strrchr(path, '/');
	name = slash != NULL ? slash + 1 : path;
	audit_fmt(dir, sizeof(dir), "%.*s", slash != NULL ? (int)(slash -
	    path) : 1, slash != NULL ? path : ".");
	if (policy_work_blocked(&P->cfg.policy, k->rel, k->rellen, 0))
		return pfail(k, "path_denied", "the pod's policy blocks it");
	if ((parent = (int)syscall(SYS_openat2, P->root.fd, dir, &how,
	    sizeof(how))) < 0)
		return pfail(k, errno == ENOENT || errno == ENOTDIR ?
		    "bad_request" : "io_error", errno == ELOOP || errno ==
		    EXDEV ? "a link on the way: not followed" :
		    strerror(errno));
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		rc = pfail(k, errno == ENOENT ? "bad_request" : "io_error",
		    strerror(errno));
	else if (S_ISDIR(st.st_mode) && policy_work_blocked(&P->cfg.policy,
	    k->rel, k->rellen, 1))
		rc = pfail(k, "path_denied", "the pod's policy blocks it");
	else
		rc = pentry(k, parent, name, 0);
	close(parent);
	return rc;
}

/* A bound of the word: 1 to max, else 0. */
static size_t
pbound(const json_t *o, const char *name, size_t max)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    (uint64_t)json_integer_value(v) > max)
		return 0;
	return (size_t)json_integer_value(v);
}

static json_t *
pack(const json_t *w, const char **kind, char *why, size_t whysz)
{
	const char *path = json_string_value(json_object_get(w, "path"));
	struct pack *k = calloc(1, sizeof(*k));
	static const char trailer[] = CPIO_TRAILER;
	struct stat none = { 0 };
	json_t *r = NULL;

	audit_buf_free(&held);
	if (k == NULL) {
		*kind = "internal";
		audit_fmt(why, whysz, "out of memory");
		return NULL;
	}
	k->max_bytes = pbound(w, "max_bytes", EXPORT_BYTES_MAX);
	k->max_entries = pbound(w, "max_entries", SIZE_MAX / 2);
	if (path == NULL || k->max_bytes == 0 || k->max_entries == 0) {
		*kind = "bad_request";
		audit_fmt(why, whysz, "expected path, max_bytes, max_entries");
	} else if (pwalk(k, path) == 0) {
		memcpy(k->rel, trailer, sizeof(trailer));
		k->rellen = sizeof(trailer) - 1;
		k->entries--;	/* the trailer is not one */
		if (padd(k, 0, &none, NULL, 0) == 0) {
			held = k->b;
			k->b = (struct audit_buf){ 0 };
			r = json_pack("{s:I, s:I, s:I, s:I}", "bytes",
			    (json_int_t)held.len, "entries",
			    (json_int_t)k->entries, "left_out",
			    (json_int_t)k->left_out, "skipped",
			    (json_int_t)k->skipped);
		}
	}
	if (r == NULL && k->kind != NULL) {
		*kind = k->kind;
		audit_fmt(why, whysz, "%s", k->why);
	}
	audit_buf_free(&k->b);
	free(k);
	return r;
}

static json_t *
chunk(const json_t *w, const char **kind, char *why, size_t whysz)
{
	const json_t *off = json_object_get(w, "offset");
	size_t at, n;
	json_t *r;
	char *b64;

	if (!json_is_integer(off) || json_integer_value(off) < 0 ||
	    (uint64_t)json_integer_value(off) >= held.len) {
		*kind = "bad_request";
		audit_fmt(why, whysz, "offset: not within the archive packed "
		    "last (%zu bytes)", held.len);
		return NULL;
	}
	at = (size_t)json_integer_value(off);
	n = held.len - at < EXPORT_CHUNK_MAX ? held.len - at :
	    EXPORT_CHUNK_MAX;
	if ((b64 = malloc(audit_b64_len(n))) == NULL) {
		*kind = "internal";
		audit_fmt(why, whysz, "out of memory");
		return NULL;
	}
	audit_b64(b64, audit_b64_len(n), (const uint8_t *)held.p + at, n);
	r = json_pack("{s:I, s:s}", "offset", (json_int_t)at, "data", b64);
	free(b64);
	if (at + n == held.len)
		audit_buf_free(&held);
	return r;
}

/*
 * A line from the node: 0 when it was its word on the work (answered),
 * -1 when it is something else.
 */
int
pack_line(struct conn *c, const char *line, size_t len)
{
	const json_t *w, *id, *type;
	const char *op, *kind = "bad_request";
	struct audit_err e;
	char why[POLICY_PATH_MAX + 160] = "expected a word on the work";
	json_t *o, *r = NULL;

	if (len < sizeof(PACK_WORD) - 1 || memcmp(line, PACK_WORD,
	    sizeof(PACK_WORD) - 1) != 0 || cjson_parse(line, len, &o, &e) != 0)
		return -1;
	type = json_object_get(o, "type");
	id = json_object_get(o, "id");
	if (!json_is_string(type) || strcmp(json_string_value(type),
	    "work.export") != 0 || !json_is_string(id)) {
		json_decref(o);
		return -1;
	}
	w = json_object_get(o, "export");
	op = json_string_value(json_object_get(w, "op"));
	if (op != NULL && strcmp(op, "pack") == 0)
		r = pack(w, &kind, why, sizeof(why));
	else if (op != NULL && strcmp(op, "chunk") == 0)
		r = chunk(w, &kind, why, sizeof(why));
	if (r != NULL)
		r = json_pack("{s:s, s:i, s:O, s:b, s:o}", "type", "response",
		    "v", 1, "id", id, "ok", 1, "result", r);
	else
		r = json_pack("{s:s, s:i, s:O, s:b, s:{s:s, s:s}}", "type",
		    "response", "v", 1, "id", id, "ok", 0, "error", "kind",
		    kind, "message", why);
	if (r != NULL)
		serve_send(c, r);
	json_decref(r);
	json_decref(o);
	return 0;
}
