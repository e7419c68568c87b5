/*
 * The proxy's state (proxy/pstate.c): an approval token's nonce is spent
 * once; pruned once its exp is past, it leaves a floor behind, so that
 * the same token, shown again to a proxy whose clock went back or whose
 * skew is wider, is refused rather than taken as new.  The floor
 * survives a restart, and never falls.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pstate.h"
#include "tap.h"

static char dir[] = "/tmp/t2002.XXXXXX";

static const uint8_t n1[AUDIT_NONCE_LEN] = { 1 }, n2[AUDIT_NONCE_LEN] = { 2 },
    n3[AUDIT_NONCE_LEN] = { 3 };

/* 0 and "" when spent; -1 and the reason otherwise. */
static int
spend(struct pstate *s, const uint8_t *nonce, int64_t exp, char *why,
    size_t whysz)
{
	struct audit_err e = { "" };
	int rc = pstate_nonce_consume(s, nonce, exp, &e);

	snprintf(why, whysz, "%s", rc == 0 ? "" : e.msg);
	return rc;
}

int
main(void)
{
	struct pstate *s;
	struct audit_err e;
	char why[sizeof(e.msg)], cmd[64];

	if (mkdtemp(dir) == NULL || pstate_open(&s, dir, 1000, 0, &e) != 0) {
		diag("cannot make the state in %s", dir);
		return 1;
	}

	ok(spend(s, n1, 1000, why, sizeof(why)) == 0, "a new token is spent");
	ok(pstate_nonce_seen(s, n1), "and seen");
	ok(spend(s, n1, 1000, why, sizeof(why)) != 0 &&
	    strcmp(why, "the nonce was already used") == 0,
	    "spent twice: refused, already used");

	/* Pruned: n1's exp (1000) is before 1500. */
	ok(pstate_prune(s, 1500) == 1, "the prune forgets the expired nonce");
	ok(!pstate_nonce_seen(s, n1), "which is gone");
	ok(spend(s, n1, 1000, why, sizeof(why)) != 0 &&
	    strcmp(why, PSTATE_FLOOR_WHY) == 0,
	    "shown again (a clock set back): below the floor, refused");
	ok(spend(s, n2, 1499, why, sizeof(why)) != 0,
	    "a token never seen whose exp is below the floor: refused too");
	ok(spend(s, n2, 1500, why, sizeof(why)) == 0,
	    "one whose exp is the floor: spent");

	/* The floor never falls, and outlives the proxy. */
	ok(pstate_prune(s, 1200) == 0, "a lower prune forgets nothing");
	pstate_close(s);
	if (pstate_open(&s, dir, 1000, 0, &e) != 0) {
		diag("%s", e.msg);
		return 1;
	}
	ok(spend(s, n1, 1000, why, sizeof(why)) != 0 &&
	    strcmp(why, PSTATE_FLOOR_WHY) == 0,
	    "after a restart and a lower prune, still refused");
	ok(spend(s, n2, 1500, why, sizeof(why)) != 0 &&
	    strcmp(why, "the nonce was already used") == 0,
	    "and what was spent is still spent");
	ok(spend(s, n3, 5000, why, sizeof(why)) == 0,
	    "a new token above the floor is spent");
	pstate_close(s);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
