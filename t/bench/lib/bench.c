/* What the benchmarks share (bench.h). */
#define _GNU_SOURCE
#include <err.h>
#include <fcntl.h>
#include <signal.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "bench.h"

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* dir/name, in one of four buffers that take turns. */
const char *
bench_tmp(const char *dir, const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* A new file holding text, or the bench stops. */
void
bench_put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);

	if (fd < 0 || audit_writeall(fd, text, strlen(text)) != 0)
		err(1, "%s", path);
	close(fd);
}

void
series_add(struct series *s, double lat)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4096;
		if ((s->v = realloc(s->v, s->cap * sizeof(double))) == NULL)
			err(1, "realloc");
	}
	s->v[s->n++] = lat;
}

int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile of n sorted values. */
double
bench_pct(const double *v, size_t n, double p)
{
	return n == 0 ? 0 : v[(size_t)(p * (double)(n - 1) + 0.5)];
}

/* The series' percentiles and rate; its values are freed. */
struct figure
series_figure(struct series *s)
{
	struct figure f;

	qsort(s->v, s->n, sizeof(double), bench_cmp_double);
	f.p50 = bench_pct(s->v, s->n, 0.5);
	f.p90 = bench_pct(s->v, s->n, 0.9);
	f.p99 = bench_pct(s->v, s->n, 0.99);
	f.rps = s->elapsed > 0 ? (double)s->n / s->elapsed : 0;
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
	return f;
}

/* The program name beside this one's directory (build/bench/../name). */
void
bench_beside(const char *name, char *out, size_t sz)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		err(1, "/proc/self/exe");
	exe[n] = '\0';
	snprintf(out, sz, "%s/../%s", dirname(exe), name);
	if (access(out, X_OK) != 0)
		err(1, "%s (make bench builds it)", out);
}

#define BENCH_STOP_MS	10000	/* for a daemon to stop on SIGTERM */

/* A daemon a benchmark started: SIGTERM, and SIGKILL if it will not go. */
void
bench_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < BENCH_STOP_MS / 10; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			return;
		}
		usleep(10000);
	}
	warnx("pid %d did not stop on SIGTERM: killed", (int)*pid);
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

/* A benchmark's scratch directory removed, unless BENCH_KEEP is set. */
void
bench_rmdir(const char *dir)
{
	char cmd[PATH_MAX + 16];

	if (getenv("BENCH_KEEP") != NULL) {
		warnx("kept %s (BENCH_KEEP)", dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		warnx("could not remove %s", dir);
}
