/*
 * Paths beneath the work root: where every file an agent names is opened,
 * and the symbolic link check.
 *
 * Every path is normalized by libpolicy, then opened from a directory fd
 * of the work root with openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS): the
 * kernel refuses any resolution that would leave the root, whatever
 * symbolic links or ".." the tree holds at that moment.  The path the
 * kernel actually opened is read back through /proc/self/fd and the
 * policy's path rules are checked on it again, so a symbolic link inside
 * the root cannot lead to a blocked file (resolve_recheck).  Changes go
 * through a directory fd of the parent and a name with no '/', so the
 * last component is never resolved twice (resolve_parent); an append,
 * the one change that follows a symbolic link, finds where the link leads
 * and checks it before anything is made there (resolve_append).
 *
 * A request under an approval token is done on the path as it was
 * named, which is what the token binds and the operator (or the rule's
 * path glob) approved: no symbolic link may lead it elsewhere, even
 * within the root (o->exact; not_exact).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proxy.h"
#include "fs.h"

#define RESOLVE	(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)

/*
 * The work root at path (absolute, as /proc names it), whose policy's
 * path rules apply to every file beneath it.
 */
int
resolve_open_root(struct resolve_root *root, const char *path,
    const struct policy *policy, struct audit_err *err)
{
	root->path = path;
	root->policy = policy;
	root->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root->fd < 0)
		return audit_errf(err, "%s: %s", path, strerror(errno));
	return 0;
}

static int
open_how(const struct resolve_root *root, const char *path, uint64_t flags,
    mode_t mode, uint64_t resolve)
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
		fd = (int)syscall(SYS_openat2, root->fd, path, &how,
		    sizeof(how));
	while (fd < 0 && errno == EAGAIN && ++tries < 16);
	return fd;
}

int
resolve_open(const struct resolve_root *root, const char *path,
    uint64_t flags, mode_t mode)
{
	return open_how(root, path, flags, mode, RESOLVE);
}

/* An approved path that a symbolic link would take elsewhere. */
static int
not_exact(struct fsop *o)
{
	return fs_fail(o, KIND_PATH_DENIED, "%s: approved as named, but a "
	    "symbolic link on its way leads elsewhere", o->norm);
}

/* Map an openat2 failure to the protocol's kinds. */
int
resolve_error(struct fsop *o, const char *path)
{
	switch (errno) {
	case EXDEV:
		return fs_fail(o, KIND_SANDBOX_ESCAPE, "%s: resolving it "
		    "leaves the work root", path);
	case ENOENT:
		return fs_fail(o, KIND_NONE, "%s: no such file or directory",
		    path);
	case ENOTDIR:
		return fs_fail(o, KIND_NONE, "%s: a component is not a "
		    "directory", path);
	case ELOOP:
		return fs_fail(o, KIND_NONE, "%s: too many symbolic links",
		    path);
	default:
		return fs_fail(o, KIND_NONE, "%s: %s", path, strerror(errno));
	}
}

/*
 * The path fd really names, relative to the root, checked against the
 * policy again; into out (POLICY_PATH_MAX + 1 bytes).
 */
int
resolve_recheck(struct fsop *o, int fd, char *out)
{
	char proc[64], real[PATH_MAX + 1];
	const char *root = o->root->path;
	struct policy_decision d;
	size_t rootlen = strlen(root);
	ssize_t n;

	if (audit_fit(proc, sizeof(proc), NULL, "/proc/self/fd/%d", fd) != 0 ||
	    (n = readlink(proc, real, sizeof(real) - 1)) < 0)
		return fs_fail(o, KIND_NONE, "cannot see which file was opened "
		    "(is /proc mounted?): %s", strerror(errno));
	real[n] = '\0';
	if (strcmp(real, root) == 0)
		strcpy(out, ".");
	else if ((size_t)n > rootlen && strncmp(real, root,
	    rootlen) == 0 && (real[rootlen] == '/' ||
	    strcmp(root, "/") == 0)) {
		const char *rel = real + rootlen + (real[rootlen] == '/');

		if (strlen(rel) > POLICY_PATH_MAX)
			return fs_fail(o, KIND_BAD_REQUEST, "path too long");
		strcpy(out, rel);
	} else
		return fs_fail(o, KIND_SANDBOX_ESCAPE, "%s: the file opened is "
		    "outside the work root", o->norm);
	if (policy_path_permitted(o->root->policy, out, strlen(out), &d) != 0)
		return fs_fail(o, KIND_PATH_DENIED, "%s (reached through %s)",
		    d.reason, o->norm);
	return 0;
}

/*
 * Open the request's path for reading and check what was opened.  First
 * with no symbolic link allowed on the way: then what was opened is the
 * normalized path itself, checked as it is, without asking /proc.  Only
 * a path through a link pays for finding out where it led.
 */
int
resolve_checked(struct fsop *o, uint64_t flags, char *real)
{
	struct policy_decision d;
	int fd = open_how(o->root, o->norm, flags, 0, RESOLVE |
	    RESOLVE_NO_SYMLINKS);

	if (fd >= 0) {
		if (policy_path_permitted(o->root->policy, o->norm,
		    o->normlen, &d) != 0) {
			close(fd);
			return fs_fail(o, KIND_PATH_DENIED, "%s", d.reason);
		}
		memcpy(real, o->norm, o->normlen + 1);
		return fd;
	}
	if (errno != ELOOP)
		return resolve_error(o, o->norm);
	if (o->exact)
		return not_exact(o);
	fd = resolve_open(o->root, o->norm, flags, 0);
	if (fd < 0)
		return resolve_error(o, o->norm);
	if (resolve_recheck(o, fd, real) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
resolve_normalize(struct fsop *o, const json_t *args, int need)
{
	const json_t *p = json_object_get(args, "path");
	enum policy_kind kind;
	const char *why, *s = p != NULL ? json_string_value(p) : ".";
	size_t len = p != NULL ? json_string_length(p) : 1;

	if (p == NULL && need)
		return fs_fail(o, KIND_BAD_REQUEST, "args.path: required");
	if (policy_path_normalize(s, len, o->norm, sizeof(o->norm), &kind,
	    &why) != 0)
		return fs_fail(o, kind, "args.path: %s", why);
	o->normlen = strlen(o->norm);
	return 0;
}

/* Does the request's path name something?  For write vs. edit. */
int
resolve_exists(const struct resolve_root *root, const char *path, size_t len)
{
	char norm[POLICY_PATH_MAX + 1];
	enum policy_kind kind;
	const char *why;
	int fd;

	if (policy_path_normalize(path, len, norm, sizeof(norm), &kind,
	    &why) != 0)
		return 0;
	if ((fd = resolve_open(root, norm, O_PATH, 0)) < 0)
		return 0;
	close(fd);
	return 1;
}

/*
 * A child's path relative to the root: "dir/name", or "name" at top; -1
 * when it does not fit (a shorter path would be checked in its place).
 */
int
resolve_join(char *out, size_t outsz, const char *dir, const char *name)
{
	if (strcmp(dir, ".") == 0)
		return audit_fit(out, outsz, NULL, "%s", name);
	return audit_fit(out, outsz, NULL, "%s/%s", dir, name);
}

int
resolve_hidden(const struct resolve_root *root, const char *path)
{
	struct policy_decision d;

	return policy_path_permitted(root->policy, path, strlen(path),
	    &d) != 0;
}

/*
 * The parent directory of the request's path, opened beneath the root and
 * checked; *base points at the last component.
 */
int
resolve_parent(struct fsop *o, char *parent_real, const char **base)
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
	if ((fd = resolve_open(o->root, dir, O_RDONLY | O_DIRECTORY, 0)) < 0)
		return resolve_error(o, dir);
	if (resolve_recheck(o, fd, parent_real) != 0) {
		close(fd);
		return -1;
	}
	if (o->exact && strcmp(parent_real, dir) != 0) {
		close(fd);
		return not_exact(o);
	}
	return fd;
}

/* The target's real path (parent's real path and base), checked. */
int
resolve_target(struct fsop *o, const char *parent_real, const char *base,
    char *target)
{
	struct policy_decision d;

	if (resolve_join(target, POLICY_PATH_MAX + 1, parent_real, base) != 0)
		return fs_fail(o, KIND_PATH_DENIED, "%s/%s: longer than %d "
		    "bytes", parent_real, base, POLICY_PATH_MAX);
	if (policy_path_permitted(o->root->policy, target, strlen(target),
	    &d) != 0)
		return fs_fail(o, KIND_PATH_DENIED, "%s", d.reason);
	return 0;
}

/* For exec.c: check what fd (opened for norm) really is. */
int
resolve_recheck_fd(const struct resolve_root *root, int fd, const char *norm,
    char *real, enum policy_kind *kind, char *why, size_t whysz)
{
	struct fsop o;

	memset(&o, 0, sizeof(o));
	o.root = root;
	o.kind = kind;
	o.why = why;
	o.whysz = whysz;
	if (audit_fit(o.norm, sizeof(o.norm), NULL, "%s", norm) != 0)
		return fs_fail(&o, KIND_PATH_DENIED, "a path longer than %d "
		    "bytes", POLICY_PATH_MAX);
	return resolve_recheck(&o, fd, real);
}

/*
 * Where the symbolic link base (in dfd, whose real path is parent_real)
 * leads when it names no file yet: the directory that would hold that
 * file, opened beneath the root and checked, and the file's name in it
 * (leaf), checked too; target is the file's real path.  Only one link is
 * followed: a link to a link is refused when the file is made.
 */
int
resolve_dangling(struct fsop *o, int dfd, const char *parent_real,
    const char *base, char *target, char *leaf, size_t leafsz)
{
	char link[POLICY_PATH_MAX + 2], joined[2 * POLICY_PATH_MAX + 3];
	char lparent[POLICY_PATH_MAX + 1], why[POLICY_REASON_MAX];
	struct fsop l = *o;	/* the link's target in place of the path */
	enum policy_kind kind;
	const char *lbase, *nwhy;
	ssize_t n;
	int ldfd;

	if ((n = readlinkat(dfd, base, link, sizeof(link) - 1)) < 0)
		return fs_fail(o, KIND_NONE, "%s: %s", o->norm,
		    strerror(errno));
	link[n] = '\0';	/* one byte over the limit is refused below */
	if (link[0] == '/')
		return fs_fail(o, KIND_SANDBOX_ESCAPE, "%s: a symbolic link to "
		    "an absolute path", o->norm);
	if (audit_fit(joined, sizeof(joined), NULL, "%s/%s", parent_real,
	    link) != 0 || policy_path_normalize(joined, strlen(joined),
	    l.norm, sizeof(l.norm), &kind, &nwhy) != 0)
		return fs_fail(o, KIND_PATH_DENIED, "%s: where its symbolic "
		    "link leads cannot be checked", o->norm);
	l.normlen = strlen(l.norm);
	if ((ldfd = resolve_parent(&l, lparent, &lbase)) < 0)
		goto refused;
	if (resolve_target(&l, lparent, lbase, target) != 0 ||
	    audit_fit(leaf, leafsz, NULL, "%s", lbase) != 0) {
		close(ldfd);
		goto refused;
	}
	return ldfd;
refused:
	audit_fmt(why, sizeof(why), "%s", o->why);
	return fs_fail(o, *o->kind, "%s (reached through %s)", why, o->norm);
}

/*
 * Open for append the file the symbolic link base (in dfd) leads to:
 * through the link, creating nothing, then checked; or, when the link
 * names no file yet, made where the link leads only once that place has
 * been checked.
 */
static int
append_through(struct fsop *o, int dfd, const char *parent_real,
    const char *base, char *target, int *created)
{
	char leaf[NAME_MAX + 1];
	int fd, ldfd;

	if (o->exact)
		return not_exact(o);
	fd = resolve_open(o->root, o->norm, O_WRONLY | O_APPEND | O_NONBLOCK,
	    0);
	if (fd >= 0) {
		if (resolve_recheck(o, fd, target) != 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	if (errno != ENOENT)
		return resolve_error(o, o->norm);
	if ((ldfd = resolve_dangling(o, dfd, parent_real, base, target, leaf,
	    sizeof(leaf))) < 0)
		return -1;
	fd = openat(ldfd, leaf, O_WRONLY | O_APPEND | O_NONBLOCK | O_CREAT |
	    O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		fs_fail(o, KIND_NONE, "%s: %s", target, strerror(errno));
	else
		*created = 1;
	close(ldfd);
	return fd;
}

/*
 * Open base in dfd (parent_real, its real path; target, base's, already
 * checked) for append.  The name itself first, never following a link,
 * and made only where it was checked; a link is followed only by
 * append_through, which checks where it leads before anything is made.
 */
int
resolve_append(struct fsop *o, int dfd, const char *parent_real,
    const char *base, char *target, int *created)
{
	const int flags = O_WRONLY | O_APPEND | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY;
	int fd;

	*created = 0;
	if ((fd = openat(dfd, base, flags)) >= 0)
		return fd;
	if (errno == ENOENT) {
		if ((fd = openat(dfd, base, flags | O_CREAT | O_EXCL,
		    0644)) >= 0) {
			*created = 1;
			return fd;
		}
	}
	if (errno == ELOOP)
		return append_through(o, dfd, parent_real, base, target,
		    created);
	return fs_fail(o, KIND_NONE, "%s: %s", target, errno == EEXIST ?
	    "made by someone else while it was being opened" :
	    strerror(errno));
}

/*
 * Where a change to the request's path would land, checked before the
 * change is decided: its parent's real path and its name, and for an
 * append through a symbolic link, the file the link leads to.  Nothing
 * is made.  0, or -1 with the kind and why the change will be refused.
 */
int
resolve_change(struct fsop *o, int follow)
{
	char parent[POLICY_PATH_MAX + 1], target[POLICY_PATH_MAX + 1];
	char leaf[NAME_MAX + 1];
	const char *base;
	struct stat st;
	int dfd, fd, rc = -1;

	if ((dfd = resolve_parent(o, parent, &base)) < 0)
		return -1;
	if (resolve_target(o, parent, base, target) != 0)
		goto out;
	rc = 0;
	if (!follow || fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISLNK(st.st_mode))
		goto out;
	if (o->exact) {
		rc = not_exact(o);
		goto out;
	}
	if ((fd = resolve_open(o->root, o->norm, O_PATH, 0)) >= 0) {
		rc = resolve_recheck(o, fd, target);
		close(fd);
	} else if (errno != ENOENT)
		rc = resolve_error(o, o->norm);
	else if ((fd = resolve_dangling(o, dfd, parent, base, target, leaf,
	    sizeof(leaf))) < 0)
		rc = -1;
	else
		close(fd);
out:
	close(dfd);
	return rc;
}
