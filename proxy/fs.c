/*
 * File operations, all beneath the work root.
 *
 * Every path is normalized by libpolicy, then opened from a directory fd
 * of the work root with openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS): the
 * kernel refuses any resolution that would leave the root, whatever
 * symbolic links or ".." the tree holds at that moment.  The path the
 * kernel actually opened is read back through /proc/self/fd and the
 * policy's path rules are checked on it again, so a symbolic link inside
 * the root cannot lead to a blocked file.  Changes go through a directory
 * fd of the parent and a name with no '/', so the last component is never
 * resolved twice.
 *
 * Walks (list, glob, grep) never follow a symbolic link.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "proxy.h"
#include "members.h"

#define RESOLVE	(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)

struct fsop {
	struct req *r;
	enum policy_kind *kind;
	char	*why;
	size_t	 whysz;
	char	 norm[POLICY_PATH_MAX + 1];	/* the request's path */
	size_t	 normlen;
};

static int
fail(struct fsop *o, enum policy_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct fsop *o, enum policy_kind kind, const char *fmt, ...)
{
	va_list ap;

	*o->kind = kind;
	va_start(ap, fmt);
	vsnprintf(o->why, o->whysz, fmt, ap);
	va_end(ap);
	return -1;
}

int
fs_open_root(const char *root, struct audit_err *err)
{
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return audit_errf(err, "%s: %s", root, strerror(errno));
	return fd;
}

static int
open_how(const char *path, uint64_t flags, mode_t mode, uint64_t resolve)
{
	struct open_how how;
	int fd, tries = 0;

	memset(&how, 0, sizeof(how));
	/* openat2 refuses O_PATH with any flag it would ignore. */
	how.flags = flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY);
	how.mode = (flags & O_CREAT) ? mode : 0;
	how.resolve = resolve;
	/* EAGAIN: a rename raced the lookup; the kernel asks us to retry. */
	do
		fd = (int)syscall(SYS_openat2, P->root_fd, path, &how,
		    sizeof(how));
	while (fd < 0 && errno == EAGAIN && ++tries < 16);
	return fd;
}

static int
open_beneath(const char *path, uint64_t flags, mode_t mode)
{
	return open_how(path, flags, mode, RESOLVE);
}

/* Map an openat2 failure to the protocol's kinds. */
static int
open_error(struct fsop *o, const char *path)
{
	switch (errno) {
	case EXDEV:
		return fail(o, KIND_SANDBOX_ESCAPE, "%s: resolving it leaves "
		    "the work root", path);
	case ENOENT:
		return fail(o, KIND_NONE, "%s: no such file or directory",
		    path);
	case ENOTDIR:
		return fail(o, KIND_NONE, "%s: a component is not a "
		    "directory", path);
	case ELOOP:
		return fail(o, KIND_NONE, "%s: too many symbolic links", path);
	default:
		return fail(o, KIND_NONE, "%s: %s", path, strerror(errno));
	}
}

/*
 * The members each operation takes: anything else (a misspelt "lenght")
 * is refused before the policy is asked, rather than silently ignored.
 */
int
fs_check_args(enum policy_op op, const json_t *args, char *why, size_t whysz)
{
	static const char *const known[][5] = {
		[OP_READ] = { "path", "offset", "length", "encoding", NULL },
		[OP_STAT] = { "path", NULL },
		[OP_LIST] = { "path", NULL },
		[OP_WRITE] = { "path", "content", "content_base64", "mode",
		    NULL },
		[OP_MKDIR] = { "path", NULL },
		[OP_DELETE] = { "path", NULL },
		[OP_GLOB] = { "path", "pattern", NULL },
		[OP_GREP] = { "path", "pattern", "regex", "ignore_case", NULL },
	};
	const char *k;

	if ((unsigned)op > OP_GREP)
		return 0;
	if ((k = members_unknown(args, known[op])) != NULL) {
		audit_fmt(why, whysz, "args.%s: unknown member", k);
		return -1;
	}
	return 0;
}

/*
 * The path fd really names, relative to the root, checked against the
 * policy again; into out (POLICY_PATH_MAX + 1 bytes).
 */
static int
recheck(struct fsop *o, int fd, char *out)
{
	char proc[64], real[PATH_MAX + 1];
	struct policy_decision d;
	size_t rootlen = strlen(P->cfg.root);
	ssize_t n;

	audit_fmt(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((n = readlink(proc, real, sizeof(real) - 1)) < 0)
		return fail(o, KIND_NONE, "cannot see which file was opened "
		    "(is /proc mounted?): %s", strerror(errno));
	real[n] = '\0';
	if (strcmp(real, P->cfg.root) == 0)
		strcpy(out, ".");
	else if ((size_t)n > rootlen && strncmp(real, P->cfg.root,
	    rootlen) == 0 && (real[rootlen] == '/' ||
	    strcmp(P->cfg.root, "/") == 0)) {
		const char *rel = real + rootlen + (real[rootlen] == '/');

		if (strlen(rel) > POLICY_PATH_MAX)
			return fail(o, KIND_BAD_REQUEST, "path too long");
		strcpy(out, rel);
	} else
		return fail(o, KIND_SANDBOX_ESCAPE, "%s: the file opened is "
		    "outside the work root", o->norm);
	if (policy_path_permitted(&P->cfg.policy, out, strlen(out), &d) != 0)
		return fail(o, KIND_PATH_DENIED, "%s (reached through %s)",
		    d.reason, o->norm);
	return 0;
}

/*
 * Open the request's path for reading and check what was opened.  First
 * with no symbolic link allowed on the way: then what was opened is the
 * normalized path itself, checked as it is, without asking /proc.  Only
 * a path through a link pays for finding out where it led.
 */
static int
open_checked(struct fsop *o, uint64_t flags, char *real)
{
	struct policy_decision d;
	int fd = open_how(o->norm, flags, 0, RESOLVE | RESOLVE_NO_SYMLINKS);

	if (fd >= 0) {
		if (policy_path_permitted(&P->cfg.policy, o->norm,
		    o->normlen, &d) != 0) {
			close(fd);
			return fail(o, KIND_PATH_DENIED, "%s", d.reason);
		}
		memcpy(real, o->norm, o->normlen + 1);
		return fd;
	}
	if (errno != ELOOP)
		return open_error(o, o->norm);
	fd = open_beneath(o->norm, flags, 0);
	if (fd < 0)
		return open_error(o, o->norm);
	if (recheck(o, fd, real) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
normalize(struct fsop *o, const json_t *args, int need)
{
	const json_t *p = json_object_get(args, "path");
	enum policy_kind kind;
	const char *why, *s = p != NULL ? json_string_value(p) : ".";
	size_t len = p != NULL ? json_string_length(p) : 1;

	if (p == NULL && need)
		return fail(o, KIND_BAD_REQUEST, "args.path: required");
	if (policy_path_normalize(s, len, o->norm, sizeof(o->norm), &kind,
	    &why) != 0)
		return fail(o, kind, "args.path: %s", why);
	o->normlen = strlen(o->norm);
	return 0;
}

/* Does the request's path name something?  For write vs. edit. */
int
fs_exists(const char *path, size_t len)
{
	char norm[POLICY_PATH_MAX + 1];
	enum policy_kind kind;
	const char *why;
	int fd;

	if (policy_path_normalize(path, len, norm, sizeof(norm), &kind,
	    &why) != 0)
		return 0;
	if ((fd = open_beneath(norm, O_PATH, 0)) < 0)
		return 0;
	close(fd);
	return 1;
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
		return fail(o, KIND_BAD_REQUEST, "args.%s: expected an integer "
		    "from 0 to %lld", name, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

static int
get_bool(struct fsop *o, const json_t *args, const char *name, int *out)
{
	const json_t *v = json_object_get(args, name);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return fail(o, KIND_BAD_REQUEST, "args.%s: expected true or "
		    "false", name);
	*out = json_is_true(v);
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
	    get_int(o, args, "length", (int64_t)P->cfg.lim.read,
	    (int64_t)P->cfg.lim.read, &len) != 0)
		return NULL;
	if (encv != NULL) {
		if (!json_is_string(encv) || (strcmp(json_string_value(encv),
		    "text") && strcmp(json_string_value(encv), "base64"))) {
			fail(o, KIND_BAD_REQUEST, "args.encoding: expected "
			    "\"text\" or \"base64\"");
			return NULL;
		}
		want_text = strcmp(json_string_value(encv), "text") == 0;
	}
	/* O_NONBLOCK: opening a FIFO must not hang the proxy. */
	if ((fd = open_checked(o, O_RDONLY | O_NONBLOCK, real)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fail(o, KIND_NONE, "%s: not a regular file (%s)", real,
		    type_name(st.st_mode));
		goto out;
	}
	if ((buf = malloc((size_t)len + 1)) == NULL) {
		fail(o, KIND_NONE, "out of memory");
		goto out;
	}
	if (len > 0 && (n = pread(fd, buf, (size_t)len, off)) < 0) {
		fail(o, KIND_NONE, "%s: %s", real, strerror(errno));
		goto out;
	}
	outcome_bytes(o->r, buf, (size_t)n);
	if ((data = encode_data(buf, (size_t)n, want_text, &enc)) == NULL) {
		fail(o, KIND_NONE, "out of memory");
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

	if ((fd = open_checked(o, O_PATH, real)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		fail(o, KIND_NONE, "%s: %s", real, strerror(errno));
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

/* A child's path relative to the root: "dir/name", or "name" at top. */
static void
join(char *out, size_t outsz, const char *dir, const char *name)
{
	if (strcmp(dir, ".") == 0)
		audit_fmt(out, outsz, "%s", name);
	else
		audit_fmt(out, outsz, "%s/%s", dir, name);
}

static int
hidden(const char *path)
{
	struct policy_decision d;

	return policy_path_permitted(&P->cfg.policy, path, strlen(path),
	    &d) != 0;
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

	if ((fd = open_checked(o, O_RDONLY | O_DIRECTORY, real)) < 0)
		return NULL;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		fail(o, KIND_NONE, "%s: %s", real, strerror(errno));
		return NULL;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		join(child, sizeof(child), real, de->d_name);
		if (hidden(child)) {
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

/*
 * The parent directory of the request's path, opened beneath the root and
 * checked; *base points at the last component.
 */
static int
open_parent(struct fsop *o, char *parent_real, const char **base)
{
	char dir[POLICY_PATH_MAX + 1];
	char *slash = strrchr(o->norm, '/');
	int fd;

	if (slash == NULL) {
		strcpy(dir, ".");
		*base = o->norm;
	} else {
		memcpy(dir, o->norm, (size_t)(slash - o->norm));
		dir[slash - o->norm] = '\0';
		*base = slash + 1;
	}
	if ((fd = open_beneath(dir, O_RDONLY | O_DIRECTORY, 0)) < 0)
		return open_error(o, dir);
	if (recheck(o, fd, parent_real) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The target's real path (parent's real path and base), checked. */
static int
target_permitted(struct fsop *o, const char *parent_real, const char *base,
    char *target)
{
	struct policy_decision d;

	join(target, POLICY_PATH_MAX + 1, parent_real, base);
	if (policy_path_permitted(&P->cfg.policy, target, strlen(target),
	    &d) != 0)
		return fail(o, KIND_PATH_DENIED, "%s", d.reason);
	return 0;
}

static int
content(struct fsop *o, const json_t *args, char **data, size_t *len)
{
	const json_t *t = json_object_get(args, "content");
	const json_t *b = json_object_get(args, "content_base64");
	const char *end;

	if ((t == NULL) == (b == NULL))
		return fail(o, KIND_BAD_REQUEST, "give args.content or "
		    "args.content_base64");
	if (t != NULL) {
		if (!json_is_string(t))
			return fail(o, KIND_BAD_REQUEST, "args.content: "
			    "expected a string");
		*len = json_string_length(t);
		if (*len > P->cfg.lim.write)
			return fail(o, KIND_BAD_REQUEST, "content of %zu "
			    "bytes: the limit is %zu", *len, P->cfg.lim.write);
		*data = malloc(*len + 1);
		if (*data != NULL)
			memcpy(*data, json_string_value(t), *len);
		return *data != NULL ? 0 : fail(o, KIND_NONE, "out of memory");
	}
	if (!json_is_string(b))
		return fail(o, KIND_BAD_REQUEST, "args.content_base64: "
		    "expected a string");
	if (json_string_length(b) / 4 * 3 > P->cfg.lim.write + 2)
		return fail(o, KIND_BAD_REQUEST, "content over the limit of "
		    "%zu bytes", P->cfg.lim.write);
	if ((*data = malloc(json_string_length(b) / 4 * 3 + 3)) == NULL)
		return fail(o, KIND_NONE, "out of memory");
	if (sodium_base642bin((uint8_t *)*data, json_string_length(b) / 4 * 3 +
	    3, json_string_value(b), json_string_length(b), NULL, len, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != json_string_value(b) + json_string_length(b)) {
		free(*data);
		return fail(o, KIND_BAD_REQUEST, "args.content_base64: not "
		    "base64");
	}
	if (*len > P->cfg.lim.write) {
		free(*data);
		return fail(o, KIND_BAD_REQUEST, "content of %zu bytes: the "
		    "limit is %zu", *len, P->cfg.lim.write);
	}
	return 0;
}

/* Write data to a fresh temporary file beside base, then rename it. */
/*
 * What the proxy makes belongs to whom commands run as (run_as: a VM's
 * guest, where the proxy is root), or they could not change it.
 */
static int
owned(int fd)
{
	if (!P->cfg.run_as)
		return 0;
	return fchown(fd, P->cfg.run_uid, P->cfg.run_gid);
}

static int
replace(struct fsop *o, int dfd, const char *base, const char *target,
    const char *data, size_t len, int noreplace)
{
	uint8_t rnd[8];
	char tmp[64];
	int fd;

	randombytes_buf(rnd, sizeof(rnd));
	audit_fmt(tmp, sizeof(tmp), ".nucleus-tmp-%02x%02x%02x%02x%02x%02x%02x"
	    "%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
	    rnd[7]);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(o, KIND_NONE, "%s: %s", target, strerror(errno));
	if (owned(fd) != 0 || audit_writeall(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		fail(o, KIND_NONE, "%s: %s", target, strerror(errno));
		close(fd);
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (syscall(SYS_renameat2, dfd, tmp, dfd, base, noreplace ?
	    RENAME_NOREPLACE : 0) != 0) {
		fail(o, KIND_NONE, "%s: %s", target, errno == EEXIST ?
		    "already exists (mode create)" : strerror(errno));
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	fsync(dfd);	/* the rename itself, durable */
	return 0;
}

static json_t *
do_write(struct fsop *o, const json_t *args)
{
	char parent[POLICY_PATH_MAX + 1], target[POLICY_PATH_MAX + 1];
	const json_t *mv = json_object_get(args, "mode");
	const char *mode = "truncate", *base;
	char *data = NULL;
	size_t len;
	json_t *res = NULL;
	int dfd, fd, created = 0;
	struct stat st;

	if (mv != NULL) {
		if (!json_is_string(mv))
			return fail(o, KIND_BAD_REQUEST, "args.mode: expected "
			    "create, truncate or append"), NULL;
		mode = json_string_value(mv);
		if (strcmp(mode, "create") && strcmp(mode, "truncate") &&
		    strcmp(mode, "append"))
			return fail(o, KIND_BAD_REQUEST, "args.mode: expected "
			    "create, truncate or append"), NULL;
	}
	if (content(o, args, &data, &len) != 0)
		return NULL;
	if ((dfd = open_parent(o, parent, &base)) < 0)
		goto out;
	if (target_permitted(o, parent, base, target) != 0)
		goto out;
	created = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0;
	if (!created && S_ISDIR(st.st_mode)) {
		fail(o, KIND_NONE, "%s: is a directory", target);
		goto out;
	}
	if (strcmp(mode, "append") == 0) {
		/* Through the name, beneath the root, then checked again. */
		fd = open_beneath(o->norm, O_WRONLY | O_APPEND | O_CREAT |
		    O_NONBLOCK, 0644);
		if (fd < 0) {
			open_error(o, o->norm);
			goto out;
		}
		if (recheck(o, fd, target) != 0 || fstat(fd, &st) != 0 ||
		    !S_ISREG(st.st_mode) || (created && owned(fd) != 0) ||
		    audit_writeall(fd, data, len) != 0 ||
		    fsync(fd) != 0) {
			if (*o->why == '\0')
				fail(o, KIND_NONE, "%s: %s", target,
				    S_ISREG(st.st_mode) ? strerror(errno) :
				    "not a regular file");
			close(fd);
			goto out;
		}
		close(fd);
	} else if (replace(o, dfd, base, target, data, len,
	    strcmp(mode, "create") == 0) != 0)
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

	if ((dfd = open_parent(o, parent, &base)) < 0)
		return NULL;
	if (target_permitted(o, parent, base, target) == 0) {
		if (mkdirat(dfd, base, 0755) != 0 || (P->cfg.run_as &&
		    fchownat(dfd, base, P->cfg.run_uid, P->cfg.run_gid,
		    AT_SYMLINK_NOFOLLOW) != 0))
			fail(o, KIND_NONE, "%s: %s", target, strerror(errno));
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

	if ((dfd = open_parent(o, parent, &base)) < 0)
		return NULL;
	if (target_permitted(o, parent, base, target) != 0)
		goto out;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		fail(o, KIND_NONE, "%s: %s", target, strerror(errno));
		goto out;
	}
	isdir = S_ISDIR(st.st_mode);
	/* A symbolic link is removed, never followed. */
	if (unlinkat(dfd, base, isdir ? AT_REMOVEDIR : 0) != 0) {
		fail(o, KIND_NONE, "%s: %s", target, strerror(errno));
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

/* A bounded walk of a directory tree, never following symbolic links. */
struct walk {
	struct fsop *o;
	int	(*visit)(struct walk *, int, const char *, const char *);
	time_t	 deadline;
	size_t	 found, max;
	int	 truncated;
	const char *stopped;	/* why the walk stopped early */
	void	*arg;
};

static int
walk_dir(struct walk *w, int dfd, const char *path, int depth)
{
	char child[2 * POLICY_PATH_MAX + 2];
	struct dirent *de;
	DIR *dir;
	int fd;

	if (depth > WALK_DEPTH_MAX)
		return 0;
	if ((fd = dup(dfd)) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL && !w->truncated) {
		int sub;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (time(NULL) > w->deadline) {
			w->truncated = 1;
			w->stopped = "time";
			break;
		}
		join(child, sizeof(child), path, de->d_name);
		if (strlen(child) > POLICY_PATH_MAX || hidden(child))
			continue;
		if (w->visit(w, dirfd(dir), de->d_name, child) != 0)
			break;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		sub = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		walk_dir(w, sub, child, depth + 1);
		close(sub);
	}
	closedir(dir);
	return 0;
}

static int
walk(struct walk *w, int seconds)
{
	char real[POLICY_PATH_MAX + 1];
	int fd;

	w->deadline = time(NULL) + seconds;
	if ((fd = open_checked(w->o, O_RDONLY | O_DIRECTORY, real)) < 0)
		return -1;
	walk_dir(w, fd, real, 0);
	close(fd);
	return 0;
}

struct globber {
	struct policy_glob g;
	json_t	*matches;
	size_t	 baselen;	/* strip the base directory and its '/' */
};

static int
glob_visit(struct walk *w, int dfd, const char *name, const char *path)
{
	struct globber *gb = w->arg;
	const char *rel = path + gb->baselen;

	(void)dfd;
	(void)name;
	if (!policy_glob_match(&gb->g, rel, strlen(rel)))
		return 0;
	if (w->found == w->max) {
		w->truncated = 1;
		w->stopped = "matches";
		return -1;
	}
	w->found++;
	json_array_append_new(gb->matches, json_string(path));
	return 0;
}

static json_t *
do_glob(struct fsop *o, const json_t *args)
{
	const json_t *pv = json_object_get(args, "pattern");
	struct walk w = { o, glob_visit, 0, 0, GLOB_MAX, 0, NULL, NULL };
	struct globber gb;
	const char *why;
	json_t *res;

	if (!json_is_string(pv))
		return fail(o, KIND_BAD_REQUEST, "args.pattern: expected a "
		    "glob"), NULL;
	if (policy_glob_compile(&gb.g, json_string_value(pv),
	    json_string_length(pv), &why) != 0)
		return fail(o, why != NULL && strstr(why, "'..'") != NULL ?
		    KIND_SANDBOX_ESCAPE : KIND_BAD_REQUEST, "args.pattern: %s",
		    why != NULL ? why : "out of memory"), NULL;
	gb.matches = json_array();
	gb.baselen = strcmp(o->norm, ".") == 0 ? 0 : o->normlen + 1;
	w.arg = &gb;
	if (walk(&w, P->cfg.lim.grep_seconds) != 0) {
		policy_glob_free(&gb.g);
		json_decref(gb.matches);
		return NULL;
	}
	policy_glob_free(&gb.g);
	json_decref(o->r->outcome);
	o->r->outcome = json_pack("{s:I}", "matches", (json_int_t)w.found);
	res = json_pack("{s:o, s:b}", "matches", gb.matches, "truncated",
	    w.truncated);
	if (w.stopped != NULL)
		json_object_set_new(res, "stopped", json_string(w.stopped));
	return res;
}

struct grepper {
	regex_t	 re;
	int	 use_re;
	const char *fixed;
	size_t	 fixedlen;
	int	 icase;
	json_t	*matches;
};

/* Text for JSON: invalid UTF-8 becomes U+FFFD, cut at 512 bytes. */
static json_t *
line_text(const char *p, size_t n)
{
	char out[512 * 3 + 4];
	size_t o = 0;

	for (size_t i = 0; i < n && o < 512; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x80) {
			out[o++] = c == 0 ? '?' : (char)c;
			continue;
		}
		out[o++] = (char)0xef;	/* U+FFFD for anything not ASCII */
		out[o++] = (char)0xbf;
		out[o++] = (char)0xbd;
	}
	return json_stringn(out, o);
}

static int
line_matches(struct grepper *g, char *line, size_t n)
{
	if (g->use_re) {
		char save = line[n];
		int m;

		line[n] = '\0';
		m = regexec(&g->re, line, 0, NULL, 0) == 0;
		line[n] = save;
		return m;
	}
	if (g->icase) {
		for (size_t i = 0; i + g->fixedlen <= n; i++)
			if (strncasecmp(line + i, g->fixed, g->fixedlen) == 0)
				return 1;
		return 0;
	}
	return memmem(line, n, g->fixed, g->fixedlen) != NULL;
}

static int
grep_visit(struct walk *w, int dfd, const char *name, const char *path)
{
	struct grepper *g = w->arg;
	char buf[65536 + GREP_LINE_MAX + 1];
	size_t have = 0, lineno = 0;
	struct stat st;
	ssize_t n;
	int fd, first = 1;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		char *p = buf, *end;

		have += (size_t)n;
		/* Binary files (a NUL near the start) are skipped. */
		if (first && memchr(buf, '\0', have < 8192 ? have : 8192)) {
			break;
		}
		first = 0;
		for (;;) {
			char *nl = memchr(p, '\n', have - (size_t)(p - buf));
			size_t len;

			if (nl == NULL && (size_t)(buf + have - p) <
			    GREP_LINE_MAX)
				break;
			end = nl != NULL ? nl : p + GREP_LINE_MAX;
			len = (size_t)(end - p);
			if (len > GREP_LINE_MAX)
				len = GREP_LINE_MAX;	/* look at the start */
			lineno++;
			if (line_matches(g, p, len)) {
				if (w->found == w->max) {
					w->truncated = 1;
					w->stopped = "matches";
					close(fd);
					return -1;
				}
				w->found++;
				json_array_append_new(g->matches, json_pack(
				    "{s:s, s:I, s:o}", "path", path, "line",
				    (json_int_t)lineno, "text",
				    line_text(p, len)));
			}
			if (nl == NULL) {
				/* A line past the limit: skip its rest. */
				p = end;
				while (p < buf + have && *p != '\n')
					p++;
				if (p < buf + have)
					p++;
				break;
			}
			p = nl + 1;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
		if (time(NULL) > w->deadline) {
			w->truncated = 1;
			w->stopped = "time";
			break;
		}
	}
	close(fd);
	return 0;
}

static json_t *
do_grep(struct fsop *o, const json_t *args)
{
	const json_t *pv = json_object_get(args, "pattern");
	struct walk w = { o, grep_visit, 0, 0, 0, 0, NULL, NULL };
	struct grepper g;
	struct stat st;
	int regex = 0, icase = 0, rc;
	json_t *res;

	memset(&g, 0, sizeof(g));
	if (!json_is_string(pv) || json_string_length(pv) == 0 ||
	    json_string_length(pv) > GREP_LINE_MAX)
		return fail(o, KIND_BAD_REQUEST, "args.pattern: expected 1 to "
		    "4096 bytes"), NULL;
	if (get_bool(o, args, "regex", &regex) != 0 ||
	    get_bool(o, args, "ignore_case", &icase) != 0)
		return NULL;
	g.fixed = json_string_value(pv);
	g.fixedlen = json_string_length(pv);
	g.icase = icase;
	if (regex) {
		if ((rc = regcomp(&g.re, g.fixed, REG_EXTENDED | REG_NOSUB |
		    (icase ? REG_ICASE : 0))) != 0) {
			char e[128];

			regerror(rc, &g.re, e, sizeof(e));
			return fail(o, KIND_BAD_REQUEST, "args.pattern: %s", e),
			    NULL;
		}
		g.use_re = 1;
	}
	g.matches = json_array();
	w.max = (size_t)P->cfg.lim.grep_matches;
	w.arg = &g;
	/* A file is searched alone; a directory, all it holds. */
	rc = -1;
	{
		char real[POLICY_PATH_MAX + 1];
		int fd = open_checked(o, O_PATH, real);

		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			char *slash = strrchr(o->norm, '/');
			int dfd;

			w.deadline = time(NULL) + P->cfg.lim.grep_seconds;
			if (slash != NULL)
				*slash = '\0';
			dfd = open_beneath(slash != NULL ? o->norm : ".",
			    O_RDONLY | O_DIRECTORY, 0);
			if (dfd >= 0) {
				grep_visit(&w, dfd, slash != NULL ? slash + 1 :
				    o->norm, real);
				close(dfd);
			}
			rc = 0;
		} else if (fd >= 0)
			rc = walk(&w, P->cfg.lim.grep_seconds);
		if (fd >= 0)
			close(fd);
	}
	if (g.use_re)
		regfree(&g.re);
	if (rc != 0) {
		json_decref(g.matches);
		return NULL;
	}
	json_decref(o->r->outcome);
	o->r->outcome = json_pack("{s:I}", "matches", (json_int_t)w.found);
	res = json_pack("{s:o, s:b}", "matches", g.matches, "truncated",
	    w.truncated);
	if (w.stopped != NULL)
		json_object_set_new(res, "stopped", json_string(w.stopped));
	return res;
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

	memset(&o, 0, sizeof(o));
	o.r = r;
	o.kind = kind;
	o.why = why;
	o.whysz = whysz;
	*kind = KIND_NONE;
	why[0] = '\0';
	if (normalize(&o, r->args, r->pop != OP_LIST && r->pop != OP_GLOB &&
	    r->pop != OP_GREP) != 0)
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
	case OP_GLOB:
		res = do_glob(&o, r->args);
		break;
	case OP_GREP:
		res = do_grep(&o, r->args);
		break;
	default:
		fail(&o, KIND_BAD_REQUEST, "not a file operation");
	}
	if (res == NULL && why[0] == '\0')
		audit_fmt(why, whysz, "out of memory");
	return res;
}

/* For exec.c: open a normalized path beneath the root. */
int
fs_open_beneath(const char *norm, uint64_t flags, mode_t mode)
{
	return open_beneath(norm, flags, mode);
}

/* For exec.c: check what fd (opened for norm) really is. */
int
fs_recheck(int fd, const char *norm, char *real, enum policy_kind *kind,
    char *why, size_t whysz)
{
	struct fsop o;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.why = why;
	o.whysz = whysz;
	audit_fmt(o.norm, sizeof(o.norm), "%s", norm);
	return recheck(&o, fd, real);
}
