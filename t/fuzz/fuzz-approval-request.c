/*
 * libFuzzer target: a line on nucleus-authority's request socket, through
 * every check made before the state is touched: the envelope, the
 * signature against the vectors' keyring (who may ask, and the clock),
 * and the body of a request or a status query.  Nothing may crash or
 * leak; every refusal has a kind and a message, and an answer can be
 * made of them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authority.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NOW	1795939200LL	/* the seed corpus's ts: its lines verify */

struct authority *A;

/* t/vectors/keyring. */
static const char ring[] =
    "# trusted keys for the vectors\n"
    "node-1 ed25519 4/DNWgORucZDinCamfW0WM2eIeD8TKCfMR3dFT/HsHg= node\n"
    "authority-1 ed25519 GqpR+TB2Bs0UiWgFW+vUdEyOZYcU28XiBRtmvIPaiDs= "
    "authority\n"
    "agent-7 ed25519 NS+mLlJ3ZxqLg8H3S9mPWalwBmIjJ1pnQrR/0wkwHDI= agent "
    "vectors agent\n"
    "agent-hmac hmac-sha256 E8UMU0a9vOrga9N6TyEbWzFWaCtl0xoUdZZi6GkOJmk= "
    "agent\n";

static void
setup(void)
{
	static struct authority authority;
	struct audit_err e;

	if (sodium_init() < 0)
		abort();
	A = &authority;
	A->skew = SKEW_DEFAULT;
	A->ttl = TTL_DEFAULT;
	A->expire = EXPIRE_DEFAULT;
	/* It holds an HMAC key: a secret keyring, as the daemon's is. */
	if (audit_keyring_parse(&A->agents, ring, sizeof(ring) - 1, 1,
	    &e) != 0)
		abort();
}

/* A refused line: it says why, and the agent can be told. */
static void
refused(const struct areq *q)
{
	json_t *r;

	if (q->kind == NULL || q->why == NULL)
		abort();
	if ((r = authority_error(q->echo, q->kind, q->why)) == NULL)
		abort();	/* the agent would get no answer */
	json_decref(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct areq q;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size > LINE_MAX_BYTES)
		return 0;
	if (agent_parse(&q, (const char *)data, size) != 0) {
		refused(&q);
		goto out;
	}
	if (q.type == NULL || q.echo == NULL)
		abort();	/* a good envelope has both */
	if (agent_authenticate(&q, &A->agents, A->skew, NOW) != 0 ||
	    agent_role(&q) != 0)
		refused(&q);
	else if (!q.verified)
		abort();
	q.kind = q.why = NULL;
	if (agent_body(&q) != 0)
		refused(&q);
out:
	areq_free(&q);
	return 0;
}
