/*
 * A pod's work directory, copied in: a directory beneath the node's work
 * root (-W) is copied into the pod's /work before the pod is answered
 * for.  The source is opened beneath the root with openat2
 * (RESOLVE_BENEATH), and walked without following any link: a symbolic
 * link is copied as a link, to be resolved (or refused) by the proxy
 * inside.  Files keep their permission bits, less set-id and sticky, and
 * belong to the pod's uid: they are made with the pod's fsuid and fsgid
 * (the pod's scratch is a file system of its user namespace, where the
 * node's own uid does not exist), while the source is read with the
 * node's.  Anything but directories, files and links
 * refuses the copy.  The copy lands on the pod's scratch: what does not
 * fit in scratch_mib fails as a full disk.
 *
 * What the pod's policy would not let it read is never copied: each
 * file and link is judged by policy_path_permitted, the proxy's own
 * decision for a read of that path beneath /work, and a directory a
 * block rule names is not descended into.  Path rules bind the proxy's
 * file operations, not the commands it runs; a secret left on the host
 * is one no command in the pod can read.  How many were left out is
 * counted for the pod's record.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "node.h"
#include "policy.h"

struct walk {
	uid_t	 uid;
	gid_t	 gid;
	size_t	 entries;
	size_t	 left_out;	/* what the policy kept on the host */
	const struct policy *pol;
	char	 rel[POLICY_PATH_MAX + 1];	/* the entry, beneath /work */
	size_t	 rellen;
	struct audit_err *err;
	char	 where[POD_WORK_MAX + 256];	/* for messages */
};

/* Make things in the pod's scratch as the pod, or read as the node. */
static void
as_pod(const struct walk *w, int on)
{
	setfsgid(on ? w->gid : 0);
	setfsuid(on ? w->uid : 0);
}

static int
fail(struct walk *w, const char *name, const char *why)
{
	if (errno == ENOSPC)
		why = "the work directory does not fit in scratch_mib";
	return audit_errf(w->err, "work.copy: %s/%s: %s", w->where, name,
	    why);
}

static int
copy_file(struct walk *w, int sfd, int dfd, const char *name, mode_t mode)
{
	char buf[65536];
	int in, out, rc = -1;
	ssize_t n;

	if ((in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return fail(w, name, strerror(errno));
	as_pod(w, 1);
	out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	as_pod(w, 0);
	if (out < 0) {
		fail(w, name, strerror(errno));
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (audit_writeall(out, buf, (size_t)n) != 0)
			break;
	if (n != 0)
		fail(w, name, strerror(errno));
	else if (fchmod(out, mode & 0777) != 0)
		fail(w, name, strerror(errno));
	else
		rc = 0;
	close(in);
	close(out);
	return rc;
}

static int
copy_link(struct walk *w, int sfd, int dfd, const char *name)
{
	char target[4096];
	ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);

	if (n < 0)
		return fail(w, name, strerror(errno));
	target[n] = '\0';
	as_pod(w, 1);
	n = symlinkat(target, dfd, name);
	as_pod(w, 0);
	return n == 0 ? 0 : fail(w, name, strerror(errno));
}

static int
mkdir_as_pod(const struct walk *w, int dfd, const char *name)
{
	int rc;

	as_pod(w, 1);
	rc = mkdirat(dfd, name, 0700);
	as_pod(w, 0);
	return rc;
}

/*
 * Whether the entry name of the directory being walked stays on the
 * host (policy_work_blocked).  Sets w->rel to the entry's path.
 */
static int
left_out(struct walk *w, const char *name, int dir)
{
	size_t n = strlen(name), at = w->rellen;

	if (at + (at > 0) + n > POLICY_PATH_MAX)
		return 1;
	if (at > 0)
		w->rel[at++] = '/';
	memcpy(w->rel + at, name, n + 1);
	return policy_work_blocked(w->pol, w->rel, at + n, dir);
}

static int copy_dir(struct walk *, int, int, int);

/* The directory name, made in dfd as the pod, and copied into. */
static int
descend(struct walk *w, int sfd, int dfd, const char *name, mode_t mode,
    int depth)
{
	size_t saved = w->rellen;
	int s2, d2, rc;

	if (depth >= WORK_DEPTH_MAX)
		return audit_errf(w->err, "work.copy: deeper than %d "
		    "directories", WORK_DEPTH_MAX);
	if (mkdir_as_pod(w, dfd, name) != 0 || (d2 = openat(dfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return fail(w, name, strerror(errno));
	if ((s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		rc = fail(w, name, strerror(errno));
		close(d2);
		return rc;
	}
	if (fchmod(d2, mode & 0777) != 0) {
		rc = fail(w, name, strerror(errno));
		close(s2);
		close(d2);
		return rc;
	}
	w->rellen = strlen(w->rel);	/* left_out set it to name's path */
	rc = copy_dir(w, s2, d2, depth + 1);
	w->rellen = saved;
	w->rel[saved] = '\0';
	return rc;
}

/* One entry of the directory sfd, into dfd. */
static int
copy_entry(struct walk *w, int sfd, int dfd, const char *name, int depth)
{
	struct stat st;

	if (++w->entries > WORK_ENTRIES_MAX)
		return audit_errf(w->err, "work.copy: more than %d entries",
		    WORK_ENTRIES_MAX);
	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return fail(w, name, strerror(errno));
	if (left_out(w, name, S_ISDIR(st.st_mode))) {
		w->left_out++;
		return 0;
	}
	if (S_ISREG(st.st_mode))
		return copy_file(w, sfd, dfd, name, st.st_mode);
	if (S_ISLNK(st.st_mode))
		return copy_link(w, sfd, dfd, name);
	if (!S_ISDIR(st.st_mode))
		return fail(w, name, "not a directory, a file or a link");
	return descend(w, sfd, dfd, name, st.st_mode, depth);
}

/* Copy the directory sfd's entries into dfd; both are closed. */
static int
copy_dir(struct walk *w, int sfd, int dfd, int depth)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = fdopendir(sfd)) == NULL) {
		close(sfd);
		close(dfd);
		return fail(w, ".", strerror(errno));
	}
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		rc = copy_entry(w, dirfd(d), dfd, de->d_name, depth);
	}
	if (rc == 0 && errno != 0)
		rc = fail(w, ".", strerror(errno));
	closedir(d);
	close(dfd);
	return rc;
}

/*
 * The pod's policy, as the proxy reads it from its pod file: a profile
 * by name, or a policy object.
 */
int
work_policy(struct policy *pol, const json_t *v, struct audit_err *err)
{
	struct policy_error pe;

	if (policy_load_member(pol, v, (int64_t)time(NULL), &pe) != 0)
		return audit_errf(err, "work.copy: the pod's policy%s%s: %s",
		    pe.path[0] != '\0' ? "." : "", pe.path, pe.message);
	return 0;
}

/*
 * The directory rel (a spec's member, named in messages), opened beneath
 * root; or -1 and why.  work.export's, which the node writes into, by no
 * link at all: a link there may be one an agent made, in an archive the
 * operator extracted beneath the root.
 */
int
work_dir_open(int root, const char *rel, const char *member,
    struct audit_err *err)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	int fd;

	if (strcmp(member, "work.export") == 0)
		how.resolve |= RESOLVE_NO_SYMLINKS;

	if (root < 0)
		return audit_errf(err, "%s: %s: the node has no work root "
		    "(nucleus-node serve -W)", member, rel);
	if ((fd = (int)syscall(SYS_openat2, root, rel, &how,
	    sizeof(how))) < 0)
		return audit_errf(err, "%s: %s: %s", member, rel,
		    errno == EXDEV ? "not beneath the node's work root" :
		    errno == ELOOP ? "a link on the way: not followed" :
		    errno == ENOENT ? "no such directory beneath the node's "
		    "work root" : strerror(errno));
	return fd;
}

/* spec's work.copy, opened beneath root; or -1 and why, naming it. */
static int
work_open(int root, const struct podspec *spec, struct audit_err *err)
{
	return work_dir_open(root, spec->work, "work.copy", err);
}

/*
 * Before a pod starts: its work.copy, if it has one, is a directory the
 * node can copy (pod.create answers bad_request otherwise).
 */
int
work_check(int root, const struct podspec *spec, struct audit_err *err)
{
	int fd;

	if (spec->work_export[0] != '\0') {
		if ((fd = work_dir_open(root, spec->work_export,
		    "work.export", err)) < 0)
			return -1;
		close(fd);
	}
	if (spec->work[0] == '\0')
		return 0;
	if ((fd = work_open(root, spec, err)) < 0)
		return -1;
	close(fd);
	return 0;
}

/*
 * Copy spec's work.copy, beneath the directory root, into the directory
 * dst (the pod's /work, seen from the host), for uid and gid, leaving
 * out what spec's policy blocks; *nleft says how many.  dst is closed.
 */
int
work_copy(int root, const struct podspec *spec, int dst, uid_t uid,
    gid_t gid, size_t *nleft, struct audit_err *err)
{
	struct walk *w;
	struct policy pol;
	int src, rc = -1;

	*nleft = 0;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		close(dst);
		return audit_errf(err, "work.copy: out of memory");
	}
	*w = (struct walk){ .uid = uid, .gid = gid, .pol = &pol, .err = err };
	if (work_policy(&pol, spec->policy, err) != 0) {
		close(dst);
		goto out;
	}
	audit_fmt(w->where, sizeof(w->where), "%s", spec->work);
	if ((src = work_open(root, spec, err)) < 0) {
		close(dst);
		goto out;
	}
	if ((rc = copy_dir(w, src, dst, 0)) == 0)
		*nleft = w->left_out;
out:
	policy_free(&pol);
	free(w);
	return rc;
}
