/*
 * A pod's host-side audit copy: the proxy sends each line of its log as
 * it makes it durable, always before the answer that names it; the node
 * verifies the line against the chain so far (the first one is log.open,
 * certified by the node's own key for the log and key the pod said hello
 * with), appends it to <pods>/<pod>/<log>.log, and makes it durable
 * before any answer behind it is relayed.  The copy outlives the pod and
 * verifies with nucleus-audit-verify and the node's public key alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "serve.h"

int
copy_open(struct copy *c, const char *dir, const char *log,
    const struct audit_keyring *trust, struct audit_err *err)
{
	int dfd;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->synced_seq = -1;
	audit_chain_init(&c->chain, trust);
	if (audit_fit(c->path, sizeof(c->path), err, "%s/%s.log", dir,
	    log) != 0)
		return -1;
	c->fd = open(c->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
	    O_NOFOLLOW | O_CLOEXEC, 0640);
	if (c->fd < 0)
		return audit_errf(err, "%s: %s", c->path, strerror(errno));
	/* The file itself must survive a crash, not only its lines. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) != 0) {
		audit_errf(err, "%s: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

/*
 * Where the file's last whole line ends: a line cut by a crash of the
 * node as it appended is not the pod's, and goes.
 */
static off_t
whole_end(int fd, off_t size)
{
	char buf[4096];
	off_t at = size;

	while (at > 0) {
		size_t want = at < (off_t)sizeof(buf) ? (size_t)at :
		    sizeof(buf);
		ssize_t n = pread(fd, buf, want, at - (off_t)want);

		if (n != (ssize_t)want)
			return -1;
		for (ssize_t i = n - 1; i >= 0; i--)
			if (buf[i] == '\n')
				return at - (off_t)want + i + 1;
		at -= (off_t)want;
	}
	return 0;
}

/*
 * The copy a node kept before it restarted, taken up again: its cut
 * last line (if any) cut off, the rest verified from log.open, as the
 * chain it continues.  The pod must then send the record after the last
 * one it holds.
 */
int
copy_reopen(struct copy *c, const char *dir, const char *log,
    const struct audit_keyring *trust, struct audit_err *err)
{
	struct audit_fault_info fi;
	struct stat st;
	off_t end;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->synced_seq = -1;
	audit_chain_init(&c->chain, trust);
	if (audit_fit(c->path, sizeof(c->path), err, "%s/%s.log", dir,
	    log) != 0)
		return -1;
	errno = 0;
	c->fd = open(c->path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (c->fd < 0 || fstat(c->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (end = whole_end(c->fd, st.st_size)) < 0 ||
	    (end != st.st_size && (ftruncate(c->fd, end) != 0 ||
	    fdatasync(c->fd) != 0)))
		return audit_errf(err, "%s: %s", c->path, errno != 0 ?
		    strerror(errno) : "cannot be read");
	if (audit_chain_stream(&c->chain, c->fd, &fi, err) != 0)
		return audit_errf(err, "%s: record %llu: %s", c->path,
		    (unsigned long long)fi.line, fi.fault != 0 ?
		    fi.detail : err->msg);
	if (c->chain.lines == 0 || strcmp(c->chain.log, log) != 0)
		return audit_errf(err, "%s: not the pod's log %s", c->path,
		    log);
	c->synced = c->chain.lines;
	c->synced_seq = c->chain.seq;
	return 0;
}

/*
 * Room for len more bytes in the copy, beside what its filesystem keeps
 * for the node's own log and state: NODE_DISK_RESERVE_MIB, or a
 * NODE_DISK_RESERVE_PART of the filesystem if that is less.  A pod never
 * fills the disk the node needs (quota.c bounds each copy besides).
 */
static int
copy_room(const struct copy *c, size_t len, struct audit_err *err)
{
	struct statvfs sv;
	unsigned long long avail, keep;

	if (fstatvfs(c->fd, &sv) != 0)
		return audit_errf(err, "%s: %s", c->path, strerror(errno));
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	keep = (unsigned long long)sv.f_blocks * sv.f_frsize /
	    NODE_DISK_RESERVE_PART;
	if (keep > (unsigned long long)NODE_DISK_RESERVE_MIB * 1024 * 1024)
		keep = (unsigned long long)NODE_DISK_RESERVE_MIB * 1024 * 1024;
	if (avail < len + keep)
		return audit_errf(err, "%s: its filesystem has %llu bytes "
		    "free, and keeps %llu for the node's own log and state",
		    c->path, avail, keep);
	return 0;
}

/*
 * One line of the pod's log: verified, then appended (not yet durable).
 * On a fault the copy stops taking lines; err says what was wrong.
 */
int
copy_line(struct copy *c, const char *line, size_t len, const char *log,
    const uint8_t pk[AUDIT_PK_LEN], struct audit_err *err)
{
	struct audit_fault_info fi;
	struct iovec iov[2] = { { (void *)line, len }, { "\n", 1 } };
	off_t at = c->chain.offset;	/* where the line goes */
	ssize_t n;

	if (c->failed)
		return -1;
	c->failed = 1;
	if (audit_chain_line(&c->chain, line, len, &fi) != 0)
		return audit_errf(err, "record %llu: %s: %s",
		    (unsigned long long)fi.line, audit_fault_name(fi.fault),
		    fi.detail);
	if (c->chain.lines == 1 && (strcmp(c->chain.log, log) != 0 ||
	    memcmp(c->chain.pk, pk, AUDIT_PK_LEN) != 0))
		return audit_errf(err, "the log is not the one the pod said "
		    "hello with");
	if (copy_room(c, len + 1, err) != 0)
		return -1;
	do
		n = writev(c->fd, iov, 2);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len + 1) {
		audit_errf(err, "%s: %s", c->path, n < 0 ? strerror(errno) :
		    "short write");
		/* No part of a line stays: the copy ends with the last
		 * whole one, and verifies. */
		if (n > 0 && ftruncate(c->fd, at) != 0)
			audit_errf(err, "%s: short write, not taken back: %s",
			    c->path, strerror(errno));
		return -1;
	}
	c->dirty = 1;
	c->failed = 0;
	return 0;
}

/* Make what was appended durable. */
int
copy_sync(struct copy *c, struct audit_err *err)
{
	if (c->dirty && fdatasync(c->fd) != 0) {
		c->failed = 1;
		return audit_errf(err, "%s: %s", c->path, strerror(errno));
	}
	if (c->dirty)
		c->syncs++;
	c->dirty = 0;
	c->synced = c->chain.lines;
	c->synced_seq = c->chain.seq;
	return 0;
}

void
copy_close(struct copy *c)
{
	if (c->fd >= 0) {
		(void)fdatasync(c->fd);
		close(c->fd);
	}
	c->fd = -1;
	audit_chain_free(&c->chain);
}
