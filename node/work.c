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
#include <unistd.h>
#include <linux/openat2.h>

#include "node.h"

struct walk {
	uid_t	 uid;
	gid_t	 gid;
	size_t	 entries;
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
		struct stat st;
		int s2, d2;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (++w->entries > WORK_ENTRIES_MAX) {
			rc = audit_errf(w->err, "work.copy: more than %d "
			    "entries", WORK_ENTRIES_MAX);
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) != 0) {
			rc = fail(w, de->d_name, strerror(errno));
			break;
		}
		if (S_ISREG(st.st_mode))
			rc = copy_file(w, dirfd(d), dfd, de->d_name,
			    st.st_mode);
		else if (S_ISLNK(st.st_mode))
			rc = copy_link(w, dirfd(d), dfd, de->d_name);
		else if (!S_ISDIR(st.st_mode))
			rc = fail(w, de->d_name, "not a directory, a file or "
			    "a link");
		else if (depth >= WORK_DEPTH_MAX)
			rc = audit_errf(w->err, "work.copy: deeper than %d "
			    "directories", WORK_DEPTH_MAX);
		else if (mkdir_as_pod(w, dfd, de->d_name) != 0 ||
		    (d2 = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) < 0)
			rc = fail(w, de->d_name, strerror(errno));
		else if ((s2 = openat(dirfd(d), de->d_name, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			rc = fail(w, de->d_name, strerror(errno));
			close(d2);
		} else if (fchmod(d2, st.st_mode & 0777) != 0) {
			rc = fail(w, de->d_name, strerror(errno));
			close(s2);
			close(d2);
		} else
			rc = copy_dir(w, s2, d2, depth + 1);
	}
	if (rc == 0 && errno != 0)
		rc = fail(w, ".", strerror(errno));
	closedir(d);
	close(dfd);
	return rc;
}

/*
 * Copy rel, beneath the directory root, into the directory dst (the
 * pod's /work, seen from the host), for uid and gid.  dst is closed.
 */
int
work_copy(int root, const char *rel, int dst, uid_t uid, gid_t gid,
    struct audit_err *err)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	struct walk w = { .uid = uid, .gid = gid, .err = err };
	int src;

	audit_fmt(w.where, sizeof(w.where), "%s", rel);
	if ((src = (int)syscall(SYS_openat2, root, rel, &how,
	    sizeof(how))) < 0) {
		audit_errf(err, "work.copy: %s: %s", rel, errno == EXDEV ?
		    "not beneath the node's work root" : strerror(errno));
		close(dst);
		return -1;
	}
	return copy_dir(&w, src, dst, 0);
}
