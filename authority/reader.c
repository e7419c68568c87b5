/*
 * The reader: a small process, forked before the authority loads its key,
 * that reads the agents' keyring and the rules file again when the
 * daemon asks (on SIGHUP).  The daemon confines itself so that it can no
 * longer open a file (confine.c); the reader holds no secret, and is
 * itself confined to reading files and answering on its socket.  It ends
 * when the daemon does.
 *
 * The daemon writes one byte; the reader answers, for the keyring then
 * the rules file: a header (status: 0, or the errno that stopped it;
 * the file's mode; the length), then that many bytes: the file, or why
 * it could not be read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
};

static int
send_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

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

	return send_all(fd, &h, sizeof(h)) == 0 && send_all(fd, buf, len) ==
	    0 ? 0 : -1;
}

static int
answer_error(int fd, int status, const char *msg)
{
	return answer(fd, status != 0 ? status : EIO, 0, msg, strlen(msg));
}

static void __attribute__((noreturn))
reader_main(int fd, const char *keyring, const char *rules)
{
	struct audit_err e;
	char c, *buf;
	size_t len;
	mode_t mode;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    syscalls_confine("authority's reader", reader_allowed,
	    sizeof(reader_allowed) / sizeof(reader_allowed[0]), &e) != 0)
		_exit(1);
	while (read(fd, &c, 1) == 1) {
		int rc;

		if (audit_read_keyfile_mode(keyring, &buf, &len, &mode,
		    &e) != 0)
			rc = answer_error(fd, EINVAL, e.msg);
		else {
			rc = answer(fd, 0, mode, buf, len);
			sodium_free(buf);
		}
		if (rc != 0)
			break;
		if ((rc = rules_read(rules, &buf, &len, &e)) != 0)
			rc = rc > 0 ? answer(fd, ENOENT, 0, "", 0) :
			    answer_error(fd, EINVAL, e.msg);
		else {
			rc = answer(fd, 0, 0, buf, len);
			free(buf);
		}
		if (rc != 0)
			break;
	}
	_exit(0);
}

int
reader_start(struct reader *r, const char *keyring, const char *rules,
    struct audit_err *err)
{
	int sv[2];

	r->fd = -1;
	r->pid = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return audit_errf(err, "the reader: socketpair: %s",
		    strerror(errno));
	if ((r->pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return audit_errf(err, "the reader: fork: %s",
		    strerror(errno));
	}
	if (r->pid == 0) {
		close(sv[0]);
		reader_main(sv[1], keyring, rules);
	}
	close(sv[1]);
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
	if (send_all(r->fd, "R", 1) != 0 ||
	    fetch_one(r, keyring, AUDIT_KEYFILE_MAX, err) != 0 ||
	    fetch_one(r, rules, RULES_FILE_MAX, err) != 0) {
		/* Out of step: never ask it again. */
		close(r->fd);
		r->fd = -1;
		return audit_errf(err, "%s; restart the authority to change "
		    "its keyring or rules", err->msg);
	}
	return 0;
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
