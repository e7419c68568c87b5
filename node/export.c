/*
 * A pod's work, out: a tar archive (pax, libarchive) of the pod's /work
 * or a path beneath it, read through a directory the node holds open,
 * made in memory and bounded (EXPORT_BYTES_MAX, EXPORT_ENTRIES_MAX, or
 * less where the request asks): past a bound nothing is made, the
 * request fails as too_large.
 *
 * The walk follows no link: each name is opened beneath its directory
 * with O_NOFOLLOW, a symbolic link goes in as a link (its target as it
 * is, never read through), a hard link as one more file.  Devices,
 * fifos and sockets are never in it (counted as skipped).  What the
 * pod's policy would not let it read is left out, judged as work.copy
 * judges (policy_work_blocked).  A file that changes while it is read
 * (its size or its modification time) fails the export as io_error: an
 * archive holds what each file was at one moment, or is not made.
 *
 * And what changed: two such archives, the pod's /work as it was copied
 * in and as it is, compared (export_diff): the paths added, removed and
 * modified, and a patch of them in git's form (libgit2), which git
 * apply takes on the directory work.copy named.
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

#include <archive.h>
#include <archive_entry.h>
#include <git2.h>
#include <sodium.h>

#include "cpio.h"
#include "node.h"
#include "policy.h"


/* The names an archive holds so far, and which are directories. */
struct nameset {
	struct name {
		char	*s;
		int	 dir;
	}	*v;
	size_t	 n, cap;		/* cap a power of two, or 0 */
	uint8_t	 key[crypto_shorthash_KEYBYTES];
};

struct tarw {
	struct archive *a;
	struct nameset names;
	struct export_out *out;
	const struct export_req *req;
	struct policy pol;
	int	 over;		/* the archive passed max_bytes */
	char	 rel[POLICY_PATH_MAX + 1];	/* the entry, beneath /work */
	size_t	 rellen;
	struct audit_err *err;
};

static int
fail(struct tarw *t, const char *kind, const char *why)
{
	t->out->kind = kind;
	return audit_errf(t->err, "%s: %s", t->rel[0] != '\0' ? t->rel :
	    "/work", why);
}

static size_t
name_slot(const struct nameset *ns, const char *s, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t x;
	size_t i;

	/* Keyed (SipHash): names a guest chose cannot all collide. */
	crypto_shorthash(h, (const uint8_t *)s, len, ns->key);
	memcpy(&x, h, sizeof(x));
	for (i = (size_t)x & (ns->cap - 1); ns->v[i].s != NULL &&
	    (strncmp(ns->v[i].s, s, len) != 0 || ns->v[i].s[len] != '\0');
	    i = (i + 1) & (ns->cap - 1))
		;
	return i;
}

/* The entry of the first len bytes of s, or NULL. */
static const struct name *
name_get(const struct nameset *ns, const char *s, size_t len)
{
	const struct name *e;

	if (ns->cap == 0)
		return NULL;
	e = &ns->v[name_slot(ns, s, len)];
	return e->s != NULL ? e : NULL;
}

static int
name_add(struct nameset *ns, const char *s, int dir)
{
	size_t len = strlen(s);
	struct name *e;

	if (2 * (ns->n + 1) > ns->cap) {
		struct nameset big = { .cap = ns->cap != 0 ? 2 * ns->cap :
		    1024 };

		memcpy(big.key, ns->key, sizeof(big.key));
		if (ns->cap == 0)
			randombytes_buf(big.key, sizeof(big.key));
		if ((big.v = calloc(big.cap, sizeof(*big.v))) == NULL)
			return -1;
		for (size_t i = 0; i < ns->cap; i++)
			if (ns->v[i].s != NULL)
				big.v[name_slot(&big, ns->v[i].s,
				    strlen(ns->v[i].s))] = ns->v[i];
		big.n = ns->n;
		free(ns->v);
		*ns = big;
	}
	e = &ns->v[name_slot(ns, s, len)];
	if ((e->s = strdup(s)) == NULL)
		return -1;
	e->dir = dir;
	ns->n++;
	return 0;
}

static void
names_free(struct nameset *ns)
{
	for (size_t i = 0; i < ns->cap; i++)
		free(ns->v[i].s);
	free(ns->v);
}

/*
 * The archive's shape, whatever a walk met or a guest said: no name is
 * in it twice, and every entry but the path asked for lies in a
 * directory that came before it; so no link or file is ever extracted
 * through (a link "a", then "a/x").  0, or -1: not made.
 */
static int
name_ok(struct tarw *t, int dir)
{
	const char *slash = strrchr(t->rel, '/');
	const struct name *up;

	if (name_get(&t->names, t->rel, t->rellen) != NULL)
		return fail(t, "io_error", "twice in the archive (it changed "
		    "while it was read, or the pod's proxy lied): not made");
	if (strcmp(t->rel, t->req->path) != 0 && (slash != NULL ||
	    t->req->path[0] != '\0') && (slash == NULL || (up = name_get(
	    &t->names, t->rel, (size_t)(slash - t->rel))) == NULL ||
	    !up->dir))
		return fail(t, "io_error", "not in a directory the archive "
		    "holds before it (it changed while it was read, or the "
		    "pod's proxy lied): not made");
	if (name_add(&t->names, t->rel, dir) != 0)
		return fail(t, "internal", "out of memory");
	return 0;
}

static la_ssize_t
tar_write(struct archive *a, void *arg, const void *p, size_t n)
{
	struct tarw *t = arg;

	(void)a;
	if (t->out->tar.len + n > t->req->max_bytes) {
		t->over = 1;
		return -1;
	}
	if (audit_buf_add(&t->out->tar, p, n) != 0)
		return -1;
	return (la_ssize_t)n;
}

static int
tar_fail(struct tarw *t)
{
	if (t->over)
		return fail(t, "too_large", "the archive would pass its "
		    "bound of bytes");
	return fail(t, "internal", archive_error_string(t->a) != NULL ?
	    archive_error_string(t->a) : "the archive cannot be made");
}

/*
 * The permission bits an archive carries of a file or a directory: no
 * set-id or sticky bit, and no write for group or others, so that an
 * archive extracted as root never makes what other users may change.
 */
#define EXPORT_PERM_MASK	0755

/* A header for the entry t->rel, as st says (owner and group left 0). */
static struct archive_entry *
header(struct tarw *t, const struct stat *st, mode_t type, int64_t size)
{
	struct archive_entry *e = archive_entry_new();

	if (e == NULL)
		return NULL;
	archive_entry_copy_pathname(e, t->rel);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, st->st_mode & (type == AE_IFLNK ? 0777 :
	    EXPORT_PERM_MASK));
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	return e;
}

static int
put(struct tarw *t, struct archive_entry *e, const void *data, size_t n)
{
	int rc = 0;

	if (e == NULL)
		return fail(t, "internal", "out of memory");
	if (++t->out->entries > t->req->max_entries) {
		archive_entry_free(e);
		return fail(t, "too_large", "the archive would pass its bound "
		    "of entries");
	}
	if (name_ok(t, archive_entry_filetype(e) == AE_IFDIR) != 0) {
		archive_entry_free(e);
		return -1;
	}
	/* ARCHIVE_WARN: a name not UTF-8, kept as its bytes (pax's
	 * hdrcharset BINARY). */
	if (archive_write_header(t->a, e) < ARCHIVE_WARN ||
	    (n > 0 && archive_write_data(t->a, data, n) != (la_ssize_t)n))
		rc = tar_fail(t);
	archive_entry_free(e);
	return rc;
}

/* Read all of fd, st's size; fail if it changes meanwhile. */
static int
file_bytes(struct tarw *t, int fd, const struct stat *st, char **p)
{
	struct stat after;
	size_t got = 0, want = (size_t)st->st_size;
	ssize_t n;
	char extra;

	if ((uint64_t)st->st_size > t->req->max_bytes - t->out->tar.len)
		return fail(t, "too_large", "the archive would pass its bound "
		    "of bytes");
	if ((*p = malloc(want + 1)) == NULL)
		return fail(t, "internal", "out of memory");
	while (got < want && ((n = read(fd, *p + got, want - got)) > 0 ||
	    (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	if (got == want && read(fd, &extra, 1) == 0 && fstat(fd, &after) ==
	    0 && after.st_size == st->st_size && after.st_mtim.tv_sec ==
	    st->st_mtim.tv_sec && after.st_mtim.tv_nsec ==
	    st->st_mtim.tv_nsec)
		return 0;
	free(*p);
	*p = NULL;
	return fail(t, "io_error", "it changed while it was read; try again");
}

static int
add_file(struct tarw *t, int dfd, const char *name)
{
	struct stat st;
	char *data = NULL;
	int fd, rc;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC)) < 0)
		return fail(t, "io_error", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(t, "io_error", "it changed while it was read; "
		    "try again");
	}
	rc = file_bytes(t, fd, &st, &data);
	close(fd);
	if (rc == 0)
		rc = put(t, header(t, &st, AE_IFREG, st.st_size), data,
		    (size_t)st.st_size);
	free(data);
	return rc;
}

static int
add_link(struct tarw *t, int dfd, const char *name, const struct stat *st)
{
	char target[EXPORT_LINK_MAX];
	struct archive_entry *e;
	ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);

	if (n < 0)
		return fail(t, "io_error", strerror(errno));
	target[n] = '\0';
	if ((e = header(t, st, AE_IFLNK, 0)) != NULL)
		archive_entry_copy_symlink(e, target);
	return put(t, e, NULL, 0);
}

static int add_dir(struct tarw *, int, int);

/* The entry name of the directory dfd; t->rel is its path. */
static int
add_entry(struct tarw *t, int dfd, const char *name, int depth)
{
	struct stat st;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return fail(t, "io_error", strerror(errno));
	if (policy_work_blocked(&t->pol, t->rel, t->rellen,
	    S_ISDIR(st.st_mode))) {
		t->out->left_out++;
		return 0;
	}
	if (S_ISREG(st.st_mode))
		return add_file(t, dfd, name);
	if (S_ISLNK(st.st_mode))
		return add_link(t, dfd, name, &st);
	if (!S_ISDIR(st.st_mode)) {
		t->out->skipped++;
		return 0;
	}
	if (depth >= WORK_DEPTH_MAX)
		return fail(t, "too_large", "deeper than the node walks");
	if (put(t, header(t, &st, AE_IFDIR, 0), NULL, 0) != 0)
		return -1;
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return fail(t, "io_error", strerror(errno));
	return add_dir(t, fd, depth + 1);
}

/* Name's path beneath t->rel, for the walk; 0, or -1 when too long. */
static int
rel_push(struct tarw *t, const char *name, size_t *saved)
{
	size_t n = strlen(name), at = t->rellen;

	*saved = at;
	if (at + (at > 0) + n > POLICY_PATH_MAX) {
		t->out->left_out++;	/* the proxy could not reach it */
		return -1;
	}
	if (at > 0)
		t->rel[at++] = '/';
	memcpy(t->rel + at, name, n + 1);
	t->rellen = at + n;
	return 0;
}

static void
rel_pop(struct tarw *t, size_t saved)
{
	t->rellen = saved;
	t->rel[saved] = '\0';
}

/* The entries of the directory fd, which is closed. */
static int
add_dir(struct tarw *t, int fd, int depth)
{
	struct dirent *de;
	size_t saved;
	DIR *d;
	int rc = 0;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return fail(t, "io_error", strerror(errno));
	}
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (rel_push(t, de->d_name, &saved) != 0)
			continue;
		rc = add_entry(t, dirfd(d), de->d_name, depth);
		rel_pop(t, saved);
	}
	if (rc == 0 && errno != 0)
		rc = fail(t, "io_error", strerror(errno));
	closedir(d);
	return rc;
}

/*
 * The request's path, opened beneath work without following a link; its
 * parent in *parent and its last name in t->rel's tail.  "" is /work.
 */
static int
start(struct tarw *t, int work, const char *path, int *parent,
    const char **name)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
	char dir[POLICY_PATH_MAX + 1];
	const char *slash;

	if (audit_fit(t->rel, sizeof(t->rel), t->err, "%s", path) != 0) {
		t->out->kind = "bad_request";
		return -1;
	}
	t->rellen = strlen(t->rel);
	slash = strrchr(path, '/');
	*name = slash != NULL ? slash + 1 : path;
	audit_fmt(dir, sizeof(dir), "%.*s", slash != NULL ? (int)(slash -
	    path) : 1, slash != NULL ? path : ".");
	if ((*parent = (int)syscall(SYS_openat2, work, dir, &how,
	    sizeof(how))) < 0)
		return fail(t, errno == ENOENT || errno == ENOTDIR ?
		    "bad_request" : "io_error", errno == ELOOP || errno ==
		    EXDEV ? "a link on the way: not followed" :
		    strerror(errno));
	return 0;
}

/* The archive's path operand: relative, no ".", "..", "//" or trailing "/". */
static int
path_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return 1;
	if (s[0] == '/' || s[n - 1] == '/' || n > POLICY_PATH_MAX)
		return 0;
	for (const char *q = s; *q != '\0'; ) {
		size_t c = strcspn(q, "/");

		if (c == 0 || (c == 1 && q[0] == '.') || (c == 2 &&
		    q[0] == '.' && q[1] == '.'))
			return 0;
		q += c;
		q += *q == '/';
	}
	return 1;
}

static int
walk(struct tarw *t, int work)
{
	const char *name;
	struct stat st;
	int parent, fd, rc;

	if (t->req->path[0] == '\0') {
		/* Its own opening: a dup would share the position. */
		if ((fd = openat(work, ".", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) < 0)
			return fail(t, "io_error", strerror(errno));
		return add_dir(t, fd, 0);
	}
	if (start(t, work, t->req->path, &parent, &name) != 0)
		return -1;
	/* Denied whether or not it is there, as the proxy denies it. */
	if (policy_work_blocked(&t->pol, t->rel, t->rellen, 0))
		rc = fail(t, "path_denied", "the pod's policy blocks it");
	else if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		rc = fail(t, errno == ENOENT ? "bad_request" : "io_error",
		    strerror(errno));
	else if (S_ISDIR(st.st_mode) && policy_work_blocked(&t->pol,
	    t->rel, t->rellen, 1))
		rc = fail(t, "path_denied", "the pod's policy blocks it");
	else
		rc = add_entry(t, parent, name, 0);
	close(parent);
	return rc;
}

/* An archive, made by body(t, arg) into out->tar within req's bounds. */
static int
tar_made(const struct export_req *req, struct export_out *out,
    struct audit_err *err, int (*body)(struct tarw *, const void *),
    const void *arg)
{
	struct tarw *t;
	int rc = -1;

	*out = (struct export_out){ .kind = "internal" };
	if (!path_ok(req->path)) {
		out->kind = "bad_request";
		return audit_errf(err, "%s: expected a relative path beneath "
		    "/work, without \".\", \"..\" or empty names", req->path);
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return audit_errf(err, "out of memory");
	t->out = out;
	t->req = req;
	t->err = err;
	if (work_policy(&t->pol, req->policy, err) != 0) {
		free(t);
		return -1;
	}
	if ((t->a = archive_write_new()) == NULL ||
	    archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(t->a, t, NULL, tar_write, NULL, NULL) !=
	    ARCHIVE_OK)
		tar_fail(t);
	else if (body(t, arg) == 0) {
		rel_pop(t, 0);
		if (archive_write_close(t->a) == ARCHIVE_OK)
			rc = 0;
		else
			tar_fail(t);
	}
	if (t->a != NULL)
		archive_write_free(t->a);
	policy_free(&t->pol);
	names_free(&t->names);
	free(t);
	if (rc != 0)
		audit_buf_free(&out->tar);
	return rc;
}

static int
walk_body(struct tarw *t, const void *arg)
{
	return walk(t, *(const int *)arg);
}

/*
 * The archive of req's path beneath the directory work (the pod's
 * /work, seen from the host), in out->tar; on failure, nothing in it
 * and out->kind says why.
 */
int
export_tar(int work, const struct export_req *req, struct export_out *out,
    struct audit_err *err)
{
	return tar_made(req, out, err, walk_body, &work);
}

/* What a pod's proxy sent that cannot be so: refused, never archived. */
static int
lie(struct tarw *t, const char *why)
{
	return fail(t, "io_error", why);
}

/* A file's bytes from the proxy's archive, its header's size. */
static int
repack_file(struct tarw *t, struct archive *in, const struct stat *st,
    la_int64_t size)
{
	la_ssize_t n = 1;
	size_t got = 0;
	char *data;
	int rc;

	if (size < 0 || (uint64_t)size > t->req->max_bytes - t->out->tar.len)
		return fail(t, "too_large", "the archive would pass its bound "
		    "of bytes");
	if ((data = malloc((size_t)size + 1)) == NULL)
		return fail(t, "internal", "out of memory");
	while (got < (size_t)size && (n = archive_read_data(in, data + got,
	    (size_t)size - got)) > 0)
		got += (size_t)n;
	if (got != (size_t)size)
		rc = lie(t, "the pod's proxy sent a file shorter than it said");
	else
		rc = put(t, header(t, st, AE_IFREG, size), data, (size_t)size);
	free(data);
	return rc;
}

/*
 * One entry of the archive a pod's proxy sent, checked as if nothing it
 * says were true: a name beneath the path asked for, in the form
 * path_ok takes; a file, directory or link; not blocked by the policy.
 */
static int
repack_entry(struct tarw *t, struct archive *in, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e), *target;
	size_t plen = strlen(t->req->path);
	mode_t type = archive_entry_filetype(e);
	struct archive_entry *o;
	struct stat st = { 0 };

	rel_pop(t, 0);
	if (name == NULL || name[0] == '\0' || !path_ok(name) ||
	    (plen > 0 && (strncmp(name, t->req->path, plen) != 0 ||
	    (name[plen] != '\0' && name[plen] != '/'))))
		return lie(t, "the pod's proxy sent a name not beneath the "
		    "path asked for");
	if (audit_fit(t->rel, sizeof(t->rel), NULL, "%s", name) != 0)
		return lie(t, "the pod's proxy sent a name too long");
	t->rellen = strlen(t->rel);
	if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return lie(t, "the pod's proxy sent an entry neither a file, "
		    "a directory nor a link");
	if (policy_work_blocked(&t->pol, t->rel, t->rellen, type ==
	    AE_IFDIR)) {
		t->out->left_out++;
		return 0;
	}
	st.st_mode = archive_entry_perm(e) & 0777;
	st.st_mtim.tv_sec = archive_entry_mtime(e);
	if (type == AE_IFREG)
		return repack_file(t, in, &st, archive_entry_size(e));
	if (type == AE_IFDIR)
		return put(t, header(t, &st, AE_IFDIR, 0), NULL, 0);
	if ((target = archive_entry_symlink(e)) == NULL ||
	    strlen(target) >= EXPORT_LINK_MAX)
		return lie(t, "the pod's proxy sent a link without a target "
		    "the node takes");
	if ((o = header(t, &st, AE_IFLNK, 0)) != NULL)
		archive_entry_copy_symlink(o, target);
	return put(t, o, NULL, 0);
}

static int
repack_body(struct tarw *t, const void *arg)
{
	const struct audit_buf *cpio = arg;
	struct archive *in;
	struct archive_entry *e;
	int r, rc = 0;

	if (cpio->len == 0)
		return 0;	/* nothing: an empty archive */
	/* Sizes that pass the bytes there are never reach libarchive. */
	if (cpio_newc_check(cpio->p, cpio->len) != 0)
		return lie(t, "the pod's proxy sent an archive whose entries "
		    "are not whole");
	if ((in = archive_read_new()) == NULL ||
	    archive_read_support_format_cpio(in) != ARCHIVE_OK ||
	    archive_read_open_memory(in, cpio->p, cpio->len) != ARCHIVE_OK)
		rc = lie(t, "the pod's proxy sent no archive the node reads");
	while (rc == 0 && (r = archive_read_next_header(in, &e)) !=
	    ARCHIVE_EOF)
		rc = r != ARCHIVE_OK ? lie(t, "the pod's proxy sent an "
		    "archive the node cannot read whole") :
		    repack_entry(t, in, e);
	if (in != NULL)
		archive_read_free(in);
	return rc;
}

/*
 * The archive of req's path made from the cpio archive a VM pod's proxy
 * packed (proxy/pack.c): each entry checked again (repack_entry) and
 * written as export_tar writes it, within the same bounds; on failure,
 * nothing, and out->kind says why.
 */
int
export_repack(const struct audit_buf *cpio, const struct export_req *req,
    struct export_out *out, struct audit_err *err)
{
	return tar_made(req, out, err, repack_body, cpio);
}

#define PACK_COUNT_MAX	UINT32_MAX	/* a count the proxy may say */

/*
 * The pod's proxy's answer to its pack word: the bytes it packed, at
 * least 1 and at most max; what it left out and skipped.  0, or -1 with
 * *kind (too_large past max, io_error out of form) and why.
 */
int
export_packed(const json_t *result, size_t max, struct export_pack *pk,
    const char **kind, struct audit_err *err)
{
	const json_t *b = json_object_get(result, "bytes");
	const json_t *l = json_object_get(result, "left_out");
	const json_t *s = json_object_get(result, "skipped");

	*kind = "io_error";
	if (!json_is_integer(b) || !json_is_integer(l) ||
	    !json_is_integer(s) || json_integer_value(b) < 1 ||
	    json_integer_value(l) < 0 || json_integer_value(l) >
	    PACK_COUNT_MAX || json_integer_value(s) < 0 ||
	    json_integer_value(s) > PACK_COUNT_MAX)
		return audit_errf(err, "the pod's proxy answered out of form "
		    "(bytes, left_out, skipped)");
	if ((uint64_t)json_integer_value(b) > max) {
		*kind = "too_large";
		return audit_errf(err, "the archive would pass its bound of "
		    "bytes (the pod's proxy packed more)");
	}
	pk->said = (size_t)json_integer_value(b);
	pk->left_out = (size_t)json_integer_value(l);
	pk->skipped = (size_t)json_integer_value(s);
	return 0;
}

/*
 * A piece of it, appended to pk->cpio: where it was asked for (the
 * bytes come so far), base64 of 1 to EXPORT_CHUNK_MAX bytes, not past
 * what was said.  1 when all of it has come, 0 when more is to come,
 * -1 with *kind and why.
 */
int
export_piece(const json_t *result, struct export_pack *pk,
    const char **kind, struct audit_err *err)
{
	const json_t *off = json_object_get(result, "offset");
	const json_t *data = json_object_get(result, "data");
	uint8_t *buf;
	size_t n = 0;
	int rc = -1;

	*kind = "io_error";
	if (!json_is_integer(off) || json_integer_value(off) !=
	    (json_int_t)pk->cpio.len || !json_is_string(data) ||
	    json_string_length(data) >= audit_b64_len(EXPORT_CHUNK_MAX))
		return audit_errf(err, "the pod's proxy answered a piece of "
		    "its archive out of form (where asked, base64 of at most "
		    "%d bytes)", EXPORT_CHUNK_MAX);
	if ((buf = malloc(EXPORT_CHUNK_MAX)) == NULL) {
		*kind = "internal";
		return audit_errf(err, "out of memory");
	}
	if (sodium_base642bin(buf, EXPORT_CHUNK_MAX, json_string_value(data),
	    json_string_length(data), NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || n == 0)
		audit_errf(err, "the pod's proxy sent a piece that is not "
		    "base64 of some bytes");
	else if (n > pk->said - pk->cpio.len)
		audit_errf(err, "the pod's proxy sent more than it said it "
		    "packed (%zu bytes)", pk->said);
	else if (audit_buf_add(&pk->cpio, buf, n) != 0) {
		*kind = "internal";
		audit_errf(err, "out of memory");
	} else
		rc = pk->cpio.len == pk->said;
	free(buf);
	return rc;
}

/* One entry of an archive, for the diff. */
struct item {
	char	*name;
	mode_t	 type;
	char	*data;		/* a file's bytes; a link's target */
	size_t	 len;
};

struct items {
	struct item *v;
	size_t	 n, cap;
};

static void
items_free(struct items *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].data);
	}
	free(s->v);
}

static int
item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->name,
	    ((const struct item *)b)->name);
}

static int
item_add(struct items *s, struct archive *a, struct archive_entry *e)
{
	struct item *it;
	la_int64_t size = archive_entry_size(e);
	const char *lnk = archive_entry_symlink(e);

	if (s->n == s->cap) {
		size_t cap = s->cap != 0 ? 2 * s->cap : 64;
		struct item *v = realloc(s->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	it = &s->v[s->n];
	*it = (struct item){ .type = archive_entry_filetype(e) };
	if ((it->name = strdup(archive_entry_pathname(e))) == NULL)
		return -1;
	s->n++;
	if (it->type == AE_IFLNK && lnk != NULL) {
		it->len = strlen(lnk);
		return (it->data = strdup(lnk)) != NULL ? 0 : -1;
	}
	if (it->type != AE_IFREG || size < 0 || size > EXPORT_BYTES_MAX)
		return 0;
	it->len = (size_t)size;
	if ((it->data = malloc(it->len + 1)) == NULL)
		return -1;
	return archive_read_data(a, it->data, it->len) == (la_ssize_t)size ?
	    0 : -1;
}

/* An archive's files and links, sorted by name. */
static int
items_read(struct items *s, const struct audit_buf *tar)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r, rc = -1;

	if (a == NULL || archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open_memory(a, tar->p, tar->len) != ARCHIVE_OK)
		goto out;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		mode_t type = archive_entry_filetype(e);

		if (type != AE_IFREG && type != AE_IFLNK)
			continue;
		if (item_add(s, a, e) != 0)
			goto out;
	}
	if (r == ARCHIVE_EOF)
		rc = 0;
out:
	if (a != NULL)
		archive_read_free(a);
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), item_cmp);
	return rc;
}

#define PATCH_OVER	(-2)	/* past DIFF_PATCH_MAX */

/*
 * Would a terminal show these bytes as they are?  UTF-8 of printable
 * characters (audit_glyph, what every client prints as it is), or a
 * tab, a newline, a form feed, a carriage return before a newline; not
 * NUL or another control (ESC can erase a line, a lone carriage return
 * write over one), DEL, a C1 control, nor a bidirectional mark,
 * override or isolate (text shown in another order than it is read).
 */
static int
shown_as_is(const char *p, size_t n)
{
	size_t len;

	for (size_t i = 0; i < n; i += len) {
		len = 1;
		if (p[i] == '\t' || p[i] == '\n' || p[i] == '\f' ||
		    (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
			continue;
		if ((len = audit_glyph(p + i, n - i)) == 0)
			return 0;
	}
	return 1;
}

/*
 * Is it absent, or text a terminal shows as it is?  Anything else goes
 * as a binary patch: the patch travels as JSON text, and what an
 * operator reads of it is what applies.
 */
static int
utf8(const struct item *it)
{
	return it == NULL || shown_as_is(it->data, it->len);
}

/* The git patch of one path, old or new NULL when it is not there. */
static int
patch_add(struct audit_buf *b, const struct item *o, const struct item *n)
{
	git_diff_options opts;
	git_patch *patch = NULL;
	git_buf out = { 0 };
	int rc = -1;

	if (git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION) != 0)
		return -1;
	/* A file that is not UTF-8 text goes as binary (base85): the patch
	 * travels as JSON text. */
	opts.flags = GIT_DIFF_SHOW_BINARY;
	if (!utf8(o) || !utf8(n))
		opts.flags |= GIT_DIFF_FORCE_BINARY;
	if (git_patch_from_buffers(&patch, o != NULL ? o->data : NULL,
	    o != NULL ? o->len : 0, o != NULL ? o->name : NULL,
	    n != NULL ? n->data : NULL, n != NULL ? n->len : 0,
	    n != NULL ? n->name : NULL, &opts) == 0 &&
	    git_patch_to_buf(&out, patch) == 0)
		rc = b->len + out.size > DIFF_PATCH_MAX ? PATCH_OVER :
		    audit_buf_add(b, out.ptr, out.size);
	git_buf_dispose(&out);
	git_patch_free(patch);
	return rc;
}

/*
 * Is a component of name one git would refuse to write (its
 * verify_path, the NTFS and HFS+ protections on)?  ".git" in any case,
 * or "git~1", after it only dots and spaces or a ':' stream name; the
 * bytes that are not ASCII dropped first (HFS+ ignores some such
 * characters).  Such a path's change is listed, never patched: git apply
 * would refuse the whole patch, and it could only be git's own files.
 */
static int
git_refuses(const char *name)
{
	for (const char *q = name; *q != '\0'; ) {
		size_t c = strcspn(q, "/"), k = 0;
		char a[64];
		const char *r;

		for (size_t i = 0; i < c && k < sizeof(a) - 1; i++)
			if ((unsigned char)q[i] < 0x80)
				a[k++] = (char)(q[i] >= 'A' && q[i] <= 'Z' ?
				    q[i] - 'A' + 'a' : q[i]);
		a[k] = '\0';
		r = strncmp(a, ".git", 4) == 0 ? a + 4 : strncmp(a, "git~1",
		    5) == 0 ? a + 5 : NULL;
		if (r != NULL && (r[strspn(r, ". ")] == '\0' ||
		    r[strspn(r, ". ")] == ':'))
			return 1;
		q += c;
		q += *q == '/';
	}
	return 0;
}

static int
same(const struct item *a, const struct item *b)
{
	return a->type == b->type && a->len == b->len && (a->len == 0 ||
	    memcmp(a->data, b->data, a->len) == 0);
}

/* One path's change: listed, and patched when both are files. */
static int
change(json_t *lists[3], struct audit_buf *b, const struct item *o,
    const struct item *n)
{
	const struct item *it = o != NULL ? o : n;
	int which = o == NULL ? 0 : n == NULL ? 1 : 2;
	size_t len;
	json_t *name;
	char *esc;

	if (it == NULL)
		return -1;
	len = strlen(it->name);
	/*
	 * A name as it is when it is printable text without a backslash;
	 * else with those bytes, and the backslash, escaped (\xhh), as
	 * audit_escape says text from elsewhere: one name is never listed
	 * as another, nor moves the terminal of an operator reading it.
	 */
	name = audit_printable(it->name, len) && memchr(it->name, '\\',
	    len) == NULL ? json_stringn(it->name, len) : NULL;
	if (name == NULL && (esc = malloc(4 * len + 1)) != NULL) {
		audit_escape(esc, 4 * len + 1, it->name, len);
		name = json_string(esc);
		free(esc);
	}
	if (json_array_append_new(lists[which], name) != 0)
		return -1;
	if ((o != NULL && o->type != AE_IFREG) ||
	    (n != NULL && n->type != AE_IFREG))
		return 0;	/* a link's change: listed, not patched */
	if (git_refuses(it->name))
		return 0;	/* git's own: listed, not patched */
	return patch_add(b, o, n);
}

static int
compare(const struct items *o, const struct items *n, json_t *lists[3],
    struct audit_buf *b)
{
	size_t i = 0, j = 0;
	int c, rc = 0;

	while (rc == 0 && (i < o->n || j < n->n)) {
		c = i == o->n ? 1 : j == n->n ? -1 : strcmp(o->v[i].name,
		    n->v[j].name);
		if (c < 0)
			rc = change(lists, b, &o->v[i++], NULL);
		else if (c > 0)
			rc = change(lists, b, NULL, &n->v[j++]);
		else {
			if (!same(&o->v[i], &n->v[j]))
				rc = change(lists, b, &o->v[i], &n->v[j]);
			i++;
			j++;
		}
	}
	return rc;
}

/*
 * What changed from the archive old to the archive new: {"added",
 * "removed", "modified": [paths], "patch": text}; on failure *kind says
 * why (too_large: the patch would pass DIFF_PATCH_MAX).
 */
int
export_diff(const struct audit_buf *old, const struct audit_buf *new,
    json_t **result, const char **kind, struct audit_err *err)
{
	struct items o = { 0 }, n = { 0 };
	struct audit_buf b = { 0 };
	json_t *lists[3] = { json_array(), json_array(), json_array() };
	int rc = -1;

	*result = NULL;
	*kind = "internal";
	if (git_libgit2_init() < 0) {
		audit_errf(err, "libgit2 cannot start");
		goto out;
	}
	if (items_read(&o, old) != 0 || items_read(&n, new) != 0) {
		audit_errf(err, "an archive of the pod's work cannot be read");
		goto out;
	}
	if (lists[0] == NULL || lists[1] == NULL || lists[2] == NULL) {
		audit_errf(err, "out of memory");
		goto out;
	}
	if ((rc = compare(&o, &n, lists, &b)) != 0) {
		if (rc == PATCH_OVER) {
			*kind = "too_large";
			audit_errf(err, "the patch would pass %d bytes",
			    DIFF_PATCH_MAX);
		} else
			audit_errf(err, "the patch cannot be made");
		rc = -1;
		goto out;
	}
	rc = -1;
	*result = json_pack("{s:O, s:O, s:O, s:s%}", "added", lists[0],
	    "removed", lists[1], "modified", lists[2], "patch",
	    b.p != NULL ? b.p : "", b.len);
	if (*result == NULL)
		audit_errf(err, "the patch is not UTF-8 text");
	else
		rc = 0;
out:
	git_libgit2_shutdown();
	for (int i = 0; i < 3; i++)
		json_decref(lists[i]);
	items_free(&o);
	items_free(&n);
	audit_buf_free(&b);
	return rc;
}
