/*
 * The reader: a small process, forked before the authority loads its key,
 * that reads the agents' keyring and the rules file again when the
 * daemon asks (on SIGHUP).  The daemon confines itself so that it can no
 * longer open a file (confine.c); the reader holds no secret, and is
 * itself confined to reading files and answering on its socket.  It ends
 * when the daemon does.
 *
 * It also makes the files of the audit log's rotation, in the log's
 * directory alone and under names it makes itself: the daemon, confined,
 * opens, links and renames nothing (audit_log_files).
 *
 * The daemon writes one byte, the command:
 *
 *	R	for the keyring then the rules file, a header (status: 0, or
 *		the errno that stopped it; the file's mode; the length),
 *		then that many bytes: the file, or why it could not be read
 *	K GEN	(GEN 8 bytes) the log kept as NAME.GEN, by a link
 *	C	an empty .NAME.next made, its descriptor passed with the
 *		header (SCM_RIGHTS)
 *	P	.NAME.next renamed to NAME
 *
 * K, C and P are answered by one header (mode 0) and its message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authority.h"
#include "reader.h"
#include "syscalls.h"

struct header {
	int32_t	 status;
	uint32_t mode;
	uint32_t len;
};

static const char *const reader_allowed[] = {
	"read", "write", "openat", "open", "close", "fstat", "newfstatat",
	"lseek", "brk", "mmap", "munmap", "mremap", "madvise", "mprotect",
	"mlock", "munlock", "getrandom", "geteuid", "getuid", "getppid",
	"exit", "exit_group", "rt_sigreturn", "rt_sigprocmask", "futex",
	"statx", "sigaltstack", "rt_sigaction",
	/* the log's rotation: its files, its descriptor passed */
	"linkat", "renameat", "renameat2", "fsync", "sendmsg", "poll",
	"ppoll",
};

/* The log's directory and name within it, for the rotation. */
struct logdir {
	int	 fd;
	char	 name[NAME_MAX + 1];
	char	 tmp[NAME_MAX + 1];	/* .NAME.next */
};

static int
recv_all(int fd, void *p, size_t n, int deadline_ms)
{
	char *b = p;

	while (n > 0) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;
		int rc = poll(&pfd, 1, deadline_ms);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return -1;
		if ((r = read(fd, b, n)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One file's answer: its bytes, or why not. */
static int
answer(int fd, int status, mode_t mode, const char *buf, size_t len)
{
	struct header h = { status, (uint32_t)mode, (uint32_t)len };

	return audit_writeall(fd, &h, sizeof(h)) == 0 &&
	    audit_writeall(fd, buf, len) == 0 ? 0 : -1;
}

static int
answer_error(int fd, int status, const char *msg)
{
	return answer(fd, status != 0 ? status : EIO, 0, msg, strlen(msg));
}

/* The header, with fd passed alongside. */
static int
answer_fd(int fd, int pass)
{
	struct header h = { 0, 0, 0 };
	struct iovec iov = { &h, sizeof(h) };
	union {
		struct cmsghdr hdr;
		char	 buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	ssize_t n;

	memset(&u, 0, sizeof(u));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pass, sizeof(int));
	while ((n = sendmsg(fd, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return -1;
	return (size_t)n == sizeof(h) ? 0 : audit_writeall(fd, (char *)&h +
	    n, sizeof(h) - (size_t)n);
}

/* K: the log's file kept as NAME.GEN (already so after a stop). */
static int
log_keep(int fd, const struct logdir *d)
{
	char kept[NAME_MAX + 1];
	struct audit_err e;
	struct stat a, b;
	uint64_t gen;

	if (recv_all(fd, &gen, sizeof(gen), READER_MS) != 0)
		return -1;
	if (audit_fit(kept, sizeof(kept), &e, "%s.%llu", d->name,
	    (unsigned long long)gen) != 0)
		return answer_error(fd, ENAMETOOLONG, e.msg);
	if (linkat(d->fd, d->name, d->fd, kept, 0) != 0 && (errno != EEXIST ||
	    fstatat(d->fd, d->name, &a, AT_SYMLINK_NOFOLLOW) != 0 ||
	    fstatat(d->fd, kept, &b, AT_SYMLINK_NOFOLLOW) != 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino))
		return answer_error(fd, errno, errno == EEXIST ? "another file "
		    "has the kept log's name" : strerror(errno));
	if (fsync(d->fd) != 0)
		return answer_error(fd, errno, strerror(errno));
	return answer(fd, 0, 0, "", 0);
}

/* C: an empty .NAME.next, passed. */
static int
log_create(int fd, const struct logdir *d)
{
	int nfd, rc;

	if ((nfd = openat(d->fd, d->tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND |
	    O_CLOEXEC | O_NOFOLLOW, 0640)) < 0)
		return answer_error(fd, errno, strerror(errno));
	rc = answer_fd(fd, nfd);
	close(nfd);
	return rc;
}

/* P: .NAME.next put at NAME. */
static int
log_replace(int fd, const struct logdir *d)
{
	if (renameat(d->fd, d->tmp, d->fd, d->name) != 0 || fsync(d->fd) != 0)
		return answer_error(fd, errno, strerror(errno));
	return answer(fd, 0, 0, "", 0);
}

static int	read_files(int, const char *, const char *);
static int	reader_lost(struct reader *, struct audit_err *);

static void __attribute__((noreturn))
reader_main(int fd, const char *keyring, const char *rules,
    const struct logdir *d)
{
	struct audit_err e;
	char c;

	umask(077);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    syscalls_confine("authority's reader", reader_allowed,
	    sizeof(reader_allowed) / sizeof(reader_allowed[0]), &e) != 0)
		_exit(1);
	while (read(fd, &c, 1) == 1) {
		int rc = c == 'R' ? read_files(fd, keyring, rules) :
		    d->fd < 0 ? -1 : c == 'K' ? log_keep(fd, d) :
		    c == 'C' ? log_create(fd, d) : c == 'P' ?
		    log_replace(fd, d) : -1;

		if (rc != 0)
			break;
	}
	_exit(0);
}

/* R: the keyring, then the rules file. */
static int
read_files(int fd, const char *keyring, const char *rules)
{
	struct audit_err e;
	char *buf;
	size_t len;
	mode_t mode;
	int rc;

	if (audit_read_keyfile_mode(keyring, &buf, &len, &mode, &e) != 0)
		rc = answer_error(fd, EINVAL, e.msg);
	else {
		rc = answer(fd, 0, mode, buf, len);
		sodium_free(buf);
	}
	if (rc != 0)
		return rc;
	if ((rc = rules_read(rules, &buf, &len, &e)) != 0)
		return rc > 0 ? answer(fd, ENOENT, 0, "", 0) :
		    answer_error(fd, EINVAL, e.msg);
	rc = answer(fd, 0, 0, buf, len);
	free(buf);
	return rc;
}

/* The log's directory, opened, and its name: for the rotation. */
static int
logdir_open(struct logdir *d, const char *logpath, struct audit_err *err)
{
	const char *slash = strrchr(logpath, '/');
	const char *name = slash != NULL ? slash + 1 : logpath;
	char dir[PATH_MAX];

	d->fd = -1;
	if (slash == NULL)
		(void)snprintf(dir, sizeof(dir), ".");
	else if (slash == logpath)
		(void)snprintf(dir, sizeof(dir), "/");
	else if (audit_fit(dir, sizeof(dir), err, "%.*s",
	    (int)(slash - logpath), logpath) != 0)
		return -1;
	if (audit_fit(d->name, sizeof(d->name), err, "%s", name) != 0 ||
	    audit_fit(d->tmp, sizeof(d->tmp), err, ".%s.next", name) != 0)
		return -1;
	if ((d->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return audit_errf(err, "%s: %s", dir, strerror(errno));
	return 0;
}

int
reader_start(struct reader *r, const char *keyring, const char *rules,
    const char *logpath, struct audit_err *err)
{
	struct logdir d;
	int sv[2];

	r->fd = -1;
	r->pid = -1;
	if (logdir_open(&d, logpath, err) != 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		close(d.fd);
		return audit_errf(err, "the reader: socketpair: %s",
		    strerror(errno));
	}
	if ((r->pid = fork()) < 0) {
		close(d.fd);
		close(sv[0]);
		close(sv[1]);
		return audit_errf(err, "the reader: fork: %s",
		    strerror(errno));
	}
	if (r->pid == 0) {
		close(sv[0]);
		reader_main(sv[1], keyring, rules, &d);
	}
	close(sv[1]);
	close(d.fd);
	r->fd = sv[0];
	return 0;
}

/* One file's answer, into f: its bytes, or why not (f->status). */
static int
fetch_one(struct reader *r, struct reader_file *f, size_t max,
    struct audit_err *err)
{
	struct header h;

	if (recv_all(r->fd, &h, sizeof(h), READER_MS) != 0)
		return audit_errf(err, "the reader did not answer within "
		    "%d ms", READER_MS);
	if (h.len > max)
		return audit_errf(err, "the reader sent %u bytes, over %zu",
		    h.len, max);
	if ((f->buf = sodium_malloc((size_t)h.len + 1)) == NULL)
		return audit_errf(err, "out of memory");
	if (recv_all(r->fd, f->buf, h.len, READER_MS) != 0)
		return audit_errf(err, "the reader did not answer within "
		    "%d ms", READER_MS);
	f->buf[h.len] = '\0';
	f->len = h.len;
	f->status = h.status;
	f->mode = h.mode;
	return 0;
}

int
reader_fetch(struct reader *r, struct reader_file *keyring,
    struct reader_file *rules, struct audit_err *err)
{
	memset(keyring, 0, sizeof(*keyring));
	memset(rules, 0, sizeof(*rules));
	if (r->fd < 0)
		return audit_errf(err, "the reader is gone");
	if (audit_writeall(r->fd, "R", 1) != 0 ||
	    fetch_one(r, keyring, AUDIT_KEYFILE_MAX, err) != 0 ||
	    fetch_one(r, rules, RULES_FILE_MAX, err) != 0)
		return reader_lost(r, err);
	return 0;
}

/* Out of step with the reader: never ask it again. */
static int
reader_lost(struct reader *r, struct audit_err *err)
{
	char why[sizeof(err->msg)];

	audit_fmt(why, sizeof(why), "%s", err->msg);
	close(r->fd);
	r->fd = -1;
	return audit_errf(err, "%s; restart the authority to change its "
	    "keyring or rules, or to rotate its log", why);
}

/*
 * A rotation's answer: 0, or -1 and why (the reader's message); with
 * pass, the descriptor that came with it.
 */
static int
log_answer(struct reader *r, int *pass, struct audit_err *err)
{
	struct header h;
	char msg[256];
	union {
		struct cmsghdr hdr;
		char	 buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct pollfd pfd = { r->fd, POLLIN, 0 };
	struct cmsghdr *c;
	ssize_t n = -1;

	if (pass != NULL)
		*pass = -1;
	if (poll(&pfd, 1, READER_MS) == 1)
		while ((n = recvmsg(r->fd, &m, MSG_CMSG_CLOEXEC)) < 0 &&
		    errno == EINTR)
			;
	if (n <= 0 || (n < (ssize_t)sizeof(h) && recv_all(r->fd, (char *)&h +
	    n, sizeof(h) - (size_t)n, READER_MS) != 0))
		return reader_lost(r, (audit_errf(err, "the reader did not "
		    "answer within %d ms", READER_MS), err));
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int))) {
			int fd;

			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
			if (pass != NULL && *pass < 0)
				*pass = fd;
			else
				close(fd);
		}
	if (h.len >= sizeof(msg) || recv_all(r->fd, msg, h.len,
	    READER_MS) != 0) {
		if (pass != NULL && *pass >= 0)
			close(*pass);
		return reader_lost(r, (audit_errf(err, "the reader's answer "
		    "is out of step"), err));
	}
	msg[h.len] = '\0';
	if (h.status != 0) {
		if (pass != NULL && *pass >= 0)
			close(*pass);
		return audit_errf(err, "the reader: %s", msg);
	}
	if (pass != NULL && *pass < 0)
		return reader_lost(r, (audit_errf(err, "the reader passed no "
		    "file"), err));
	return 0;
}

static int
log_ask(struct reader *r, const void *cmd, size_t len, int *pass,
    struct audit_err *err)
{
	if (r->fd < 0)
		return audit_errf(err, "the reader is gone: restart the "
		    "authority to rotate its log");
	if (audit_writeall(r->fd, cmd, len) != 0)
		return reader_lost(r, (audit_errf(err, "the reader: %s",
		    strerror(errno)), err));
	return log_answer(r, pass, err);
}

static int
log_keep_ask(void *arg, uint64_t gen, struct audit_err *err)
{
	char cmd[1 + sizeof(gen)] = { 'K' };

	memcpy(cmd + 1, &gen, sizeof(gen));
	return log_ask(arg, cmd, sizeof(cmd), NULL, err);
}

static int
log_create_ask(void *arg, struct audit_err *err)
{
	int fd;

	return log_ask(arg, "C", 1, &fd, err) != 0 ? -1 : fd;
}

static int
log_replace_ask(void *arg, struct audit_err *err)
{
	return log_ask(arg, "P", 1, NULL, err);
}

/* The rotation's files, made by the reader r. */
void
reader_log_files(struct reader *r, struct audit_log_files *f)
{
	f->keep = log_keep_ask;
	f->create = log_create_ask;
	f->replace = log_replace_ask;
	f->arg = r;
}

void
reader_file_free(struct reader_file *f)
{
	if (f->buf != NULL)
		sodium_free(f->buf);
	f->buf = NULL;
}

/*
 * Its socket closed, the reader reads its end and exits.  The confined
 * authority cannot wait for it (no wait4): it exits next, and the reader
 * is reaped by whoever inherits it.
 */
void
reader_stop(struct reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->pid = -1;
}
