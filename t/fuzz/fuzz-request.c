/*
 * libFuzzer target: a request line as nucleus-proxy reads it, through
 * every check made before the policy is asked: the envelope, the args'
 * digest, each operation's args (argv, timeout, stdin; the file
 * operations' members and path), and an approval token against the
 * vectors' authority key.  Nothing may crash or leak; a token cannot
 * verify (the fuzzer cannot sign).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy.h"
#include "approval.h"
#include "args.h"
#include "exec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct proxy *P;

static const char ring[] =
    "authority-1 ed25519 GqpR+TB2Bs0UiWgFW+vUdEyOZYcU28XiBRtmvIPaiDs=\n";

static int
never_consumed(void *arg, const uint8_t nonce[AUDIT_NONCE_LEN])
{
	(void)arg;
	(void)nonce;
	return 0;
}

static void
setup(void)
{
	static struct proxy p;
	struct audit_err e;

	if (sodium_init() < 0)
		abort();
	P = &p;
	p.cfg.lim = (struct limits){ REQ_LINE_MAX, READ_MAX, WRITE_MAX,
	    OUTPUT_MAX, TIMEOUT_DEFAULT, TIMEOUT_MAX, COMMANDS_MAX,
	    GREP_MATCH_MAX, GREP_SECONDS, REFUSALS_MAX, REFUSAL_SECONDS };
	p.cfg.cost = (struct costs){ 100, 1000 };
	strcpy(p.cfg.pod, "p-0001");
	if (audit_keyring_parse(&p.trust, ring, sizeof(ring) - 1, 1, &e) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const char *argv[POLICY_ARGV_MAX + 1], *why;
	char buf[POLICY_REASON_MAX], norm[POLICY_PATH_MAX + 1];
	struct approval_ctx ctx = { "p-0001", 1795939200, 60, 300, NULL,
	    never_consumed, NULL };
	enum policy_kind kind;
	enum policy_op op;
	struct approval a;
	const json_t *v;
	struct req *r;
	size_t argc;
	int which;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size > REQ_LINE_MAX)
		return 0;
	/* The node's word on its copy (reclaim.c): taken or not, no more. */
	if (reclaim_line((const char *)data, size) == 0)
		return 0;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return 0;
	r->id = json_null();
	if (request_parse(r, (const char *)data, size, &why) != 0) {
		if (why == NULL)
			abort();	/* every refusal says why */
		goto out;
	}
	if (policy_op_from_name(r->op, &op) != 0)
		goto out;
	/* The shape first (args.c), as the proxy takes it; argv only then. */
	if (args_check(r->op, r->args, buf, sizeof(buf)) == 0 &&
	    op == OP_RUN) {
		exec_argv(r->args, argv, &argc);
		if (argc == 0 || argc > POLICY_ARGV_MAX || argv[argc] != NULL)
			abort();
		(void)exec_check(r->args, buf, sizeof(buf));
		(void)exec_cost(r->args);
	}
	v = json_object_get(r->args, "path");
	if (json_is_string(v))
		(void)policy_path_normalize(json_string_value(v),
		    json_string_length(v), norm, sizeof(norm), &kind, &why);
	ctx.trust = &P->trust;
	v = json_object_get(r->req, "approval");
	if (v != NULL && approval_verify(v, &ctx, r->op, r->args_digest,
	    r->kid, &a, &which, buf, sizeof(buf)) == 0)
		abort();	/* forged */
out:
	request_free(r);
	return 0;
}
