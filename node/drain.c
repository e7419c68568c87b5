/*
 * A pod's logs on the host: the proxy's standard error (proxy.err), a
 * VMM's (vmm.err) and the guest's serial console (QEMU's vm/console.log).
 * The pod's processes never hold these files: they write into a pipe,
 * and a thread of the node's copies at most POD_LOG_MAX bytes of it into
 * the file; past that, one line says so and the rest is read and dropped.
 * A guest writing to its serial port, or a proxy to its standard error,
 * cannot grow a host file without end, nor block on a full pipe.  The
 * thread ends when the last writer has closed its end (the pod's
 * processes have ended), once it has copied what they wrote.
 *
 * The pipe is a FIFO in the pod's directory (root's, mode 0711; the
 * FIFO 0600, DRAIN_FIFO_SUFFIX after the log's name), so that it
 * outlives the node: a node that takes the pod back opens it again
 * (drain_reopen) and goes on where the file stands.  While no node
 * reads, a write to it fails (EPIPE: the pod's processes ignore
 * SIGPIPE) rather than blocks; what is written meanwhile is lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node.h"

#define DRAIN_BUF	16384		/* bytes read at once */
#define DRAIN_STACK	(64 * 1024)	/* the thread's stack */

struct drain {
	sem_t	 up;		/* the thread runs */
	int	 in;		/* the pipe's read end */
	int	 out;		/* the file */
	uint64_t written;
};

static void
put(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;		/* a full disk: dropped */
		p += w;
		n -= (size_t)w;
	}
}

static void *
drain_run(void *arg)
{
	struct drain *d = arg;
	char buf[DRAIN_BUF], note[128];
	ssize_t n;

	sem_post(&d->up);
	for (;;) {
		n = read(d->in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (d->written >= POD_LOG_MAX)
			continue;
		if ((uint64_t)n > POD_LOG_MAX - d->written)
			n = (ssize_t)(POD_LOG_MAX - d->written);
		put(d->out, buf, (size_t)n);
		d->written += (uint64_t)n;
		if (d->written >= POD_LOG_MAX) {
			audit_fmt(note, sizeof(note), "\nnucleus-node: this log "
			    "passed %d bytes; the rest is dropped\n",
			    POD_LOG_MAX);
			put(d->out, note, strlen(note));
		}
	}
	close(d->in);
	close(d->out);
	sem_destroy(&d->up);
	free(d);
	return NULL;
}

/* The FIFO of log path, in dir: dir/<path's last name>.pipe. */
static int
fifo_path(const char *path, const char *dir, char *out, size_t outsz,
    struct audit_err *err)
{
	const char *base = strrchr(path, '/');

	return audit_fit(out, outsz, err, "%s/%s%s", dir, base != NULL ?
	    base + 1 : path, DRAIN_FIFO_SUFFIX);
}

/* A blocking descriptor again (opened O_NONBLOCK not to wait). */
static int
blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

/*
 * A new FIFO for path in dir (one left by an earlier pod of the name is
 * replaced): its read end in *rd, its write end returned; both
 * blocking and close-on-exec.
 */
static int
fifo_make(const char *path, const char *dir, int *rd, struct audit_err *err)
{
	char fifo[PATH_MAX];
	int wr;

	if (fifo_path(path, dir, fifo, sizeof(fifo), err) != 0)
		return -1;
	if ((unlink(fifo) != 0 && errno != ENOENT) || mkfifo(fifo, 0600) != 0)
		return audit_errf(err, "%s: %s", fifo, strerror(errno));
	/* The reader first: a writer's open would wait for one. */
	if ((*rd = open(fifo, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return audit_errf(err, "%s: %s", fifo, strerror(errno));
	if ((wr = open(fifo, O_WRONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 || blocking(*rd) != 0 || blocking(wr) != 0) {
		audit_errf(err, "%s: %s", fifo, strerror(errno));
		if (wr >= 0)
			close(wr);
		close(*rd);
		return -1;
	}
	return wr;
}

/* The thread that copies d->in to d->out; 0, or -1 (d freed). */
static int
drain_start(struct drain *d, const char *path, struct audit_err *err)
{
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	sem_init(&d->up, 0, 0);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, DRAIN_STACK);
	rc = audit_thread_start(&th, &attr, drain_run, d);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		audit_errf(err, "cannot start a thread for %s", path);
		close(d->in);
		close(d->out);
		sem_destroy(&d->up);
		free(d);
		return -1;
	}
	/*
	 * Until the thread runs: a process cloned while a thread is being
	 * made (a sandbox's init, next) would wait for it for ever in
	 * setresgid, whose glibc marks every thread it knows of.
	 */
	while (sem_wait(&d->up) != 0)
		;
	return 0;
}

/*
 * A pipe whose write end (returned, close-on-exec) the pod's process gets
 * as its output; what comes through it is appended to path, at most
 * POD_LOG_MAX bytes.  The pipe is a FIFO in dir, the pod's directory.
 * -1 and err when it cannot be.
 */
int
drain_open(const char *path, const char *dir, struct audit_err *err)
{
	struct drain *d = calloc(1, sizeof(*d));
	int wr;

	if (d == NULL)
		return audit_errf(err, "out of memory");
	if ((d->out = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		free(d);
		return -1;
	}
	if ((wr = fifo_make(path, dir, &d->in, err)) < 0) {
		close(d->out);
		free(d);
		return -1;
	}
	if (drain_start(d, path, err) != 0) {
		close(wr);
		return -1;
	}
	return wr;
}

/*
 * A pod taken back: its FIFO for path in dir, as drain_open made it
 * (the node's, mode 0600), read again, the file appended to from where
 * it stands; the bytes it holds count towards POD_LOG_MAX.  Nothing
 * when the FIFO is not there (the old node made none) or no writer
 * holds it (the thread ends at once).
 */
int
drain_reopen(const char *path, const char *dir, struct audit_err *err)
{
	struct drain *d;
	char fifo[PATH_MAX];
	struct stat st;
	int fd;

	if (fifo_path(path, dir, fifo, sizeof(fifo), err) != 0)
		return -1;
	if ((fd = open(fifo, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return audit_errf(err, "%s: %s", fifo, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
	    blocking(fd) != 0) {
		close(fd);
		return audit_errf(err, "%s: not the pipe the node made", fifo);
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		close(fd);
		return audit_errf(err, "out of memory");
	}
	d->in = fd;
	if ((d->out = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0 || fstat(d->out, &st) != 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		if (d->out >= 0)
			close(d->out);
		close(fd);
		free(d);
		return -1;
	}
	/* Past the limit already: its line was written, the rest drops. */
	d->written = (uint64_t)st.st_size < POD_LOG_MAX ?
	    (uint64_t)st.st_size : POD_LOG_MAX;
	return drain_start(d, path, err);
}
