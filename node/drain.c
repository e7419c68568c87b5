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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/*
 * A pipe whose write end (returned, close-on-exec) the pod's process gets
 * as its output; what comes through it is appended to path, at most
 * POD_LOG_MAX bytes.  -1 and err when it cannot be.
 */
int
drain_open(const char *path, struct audit_err *err)
{
	struct drain *d = calloc(1, sizeof(*d));
	pthread_attr_t attr;
	pthread_t th;
	int p[2] = { -1, -1 }, rc;

	if (d == NULL)
		return audit_errf(err, "out of memory");
	if ((d->out = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		free(d);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) != 0) {
		audit_errf(err, "pipe: %s", strerror(errno));
		close(d->out);
		free(d);
		return -1;
	}
	d->in = p[0];
	sem_init(&d->up, 0, 0);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, DRAIN_STACK);
	rc = audit_thread_start(&th, &attr, drain_run, d);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		audit_errf(err, "cannot start a thread for %s", path);
		close(p[0]);
		close(p[1]);
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
	return p[1];
}
