/*
 * What the benchmarks share: a clock, a scratch directory's files, and
 * latency series reduced to percentiles.  Figures, not tests.
 */
#ifndef NUCLEUS_BENCH_H
#define NUCLEUS_BENCH_H

#include <stddef.h>
#include <sys/types.h>

/* Latencies gathered over the rounds, and the time they took. */
struct series {
	double	*v;
	size_t	 n, cap;
	double	 elapsed;
};

struct figure {
	double	 p50, p90, p99, rps;
};

double	 bench_now(void);
const char *bench_tmp(const char *, const char *);
void	 bench_put(const char *, const char *, mode_t);
void	 series_add(struct series *, double);
int	 bench_cmp_double(const void *, const void *);
double	 bench_pct(const double *, size_t, double);
struct figure series_figure(struct series *);
void	 bench_beside(const char *, char *, size_t);
void	 bench_stop(pid_t *);
void	 bench_rmdir(const char *);

#endif
