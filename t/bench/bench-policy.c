/*
 * bench-policy: decisions per second for a read and for a run under a
 * typical policy (the 16 globs of the sensitive preset, the default
 * command rules and the baseline blocks), and the ratio to the same
 * decision under an empty policy measured in the same run.  A benchmark,
 * not a test: it prints figures and never fails on speed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy_int.h"

#define ROUNDS	5
#define MIN_NS	200000000LL	/* each measurement runs at least 0.2 s */

static volatile int sink;

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Nanoseconds per decision: the best of ROUNDS timed loops. */
static double
ns_per_decision(const struct policy *p, const struct policy_request *rq)
{
	struct policy_state st = { 1000, 0, 0 };
	struct policy_decision d;
	double best = 1e30;
	long n = 1024;

	for (int r = 0; r < ROUNDS; r++) {
		long long t0, t;

		for (;;) {
			t0 = now_ns();
			for (long i = 0; i < n; i++) {
				policy_decide(p, &st, rq, &d);
				sink += d.verdict;
			}
			t = now_ns() - t0;
			if (t >= MIN_NS)
				break;
			n *= 2;
		}
		if ((double)t / (double)n < best)
			best = (double)t / (double)n;
	}
	return best;
}

static void
report(const char *what, double typical, double empty)
{
	printf("%-36s %9.1f ns  %6.2f M/s   empty policy %7.1f ns  "
	    "ratio %.2f\n", what, typical, 1e3 / typical, empty,
	    typical / empty);
}

int
main(void)
{
	static const char typical_json[] = "{\"profile\":\"fix_issue\","
	    "\"obligations\":[],\"capabilities\":{\"run_bash\":\"low_risk\"}}";
	static const char empty_json[] = "{\"capabilities\":{\"read_files\":"
	    "\"always\",\"run_bash\":\"always\"},\"commands\":{\"allow\":"
	    "\"any\"},\"budget\":{\"limit_microusd\":1000000},"
	    "\"time\":{\"lifetime_seconds\":3600}}";
	const char *run_argv[] = { "cargo", "test", "--release", "executor" };
	const char *deep = "src/policy/lattice/normalize/tests/cases.rs";
	struct policy typical, empty;
	struct policy_error e;
	struct policy_request rd, rn, rdeep;

	if (policy_load(&typical, typical_json, sizeof(typical_json) - 1,
	    1000, &e) != 0 || policy_load(&empty, empty_json,
	    sizeof(empty_json) - 1, 1000, &e) != 0) {
		fprintf(stderr, "bench-policy: %s: %s\n", e.path, e.message);
		return 2;
	}
	/* The empty policy has no rules at all, not even the baseline. */
	policy_rules_free(&empty.commands.block);
	printf("policy decisions (typical: %zu block globs, %zu allow and %zu "
	    "block command rules; best of %d)\n", typical.paths.block.n,
	    typical.commands.allow.n, typical.commands.block.n, ROUNDS);
	memset(&rd, 0, sizeof(rd));
	rd.op = OP_READ;
	rd.path = "src/lattice.c";
	rd.pathlen = strlen(rd.path);
	rdeep = rd;
	rdeep.path = deep;
	rdeep.pathlen = strlen(deep);
	memset(&rn, 0, sizeof(rn));
	rn.op = OP_RUN;
	rn.argv = run_argv;
	rn.argc = 4;
	report("read src/lattice.c", ns_per_decision(&typical, &rd),
	    ns_per_decision(&empty, &rd));
	report("read (6 components)", ns_per_decision(&typical, &rdeep),
	    ns_per_decision(&empty, &rdeep));
	report("run cargo test --release executor",
	    ns_per_decision(&typical, &rn), ns_per_decision(&empty, &rn));
	policy_free(&typical);
	policy_free(&empty);
	return 0;
}
