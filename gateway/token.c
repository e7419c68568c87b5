/*
 * An approval entry's token, checked by the gateway too: the proxy
 * checks and records it, but a proxy that lies about having done so must
 * not reach such an entry.  The same rules as the proxy's
 * (libdaemon/approval.c): signed by a trusted authority (-T), for this
 * pod, op connect, args {"host", "port"} as the client named them, in its
 * time; and never spent on this gateway before (GATEWAY_NONCES_MAX, past
 * which approval entries are refused until the pod restarts).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "approval.h"
#include "gateway.h"

static int
spent(void *arg, const uint8_t nonce[AUDIT_NONCE_LEN])
{
	(void)arg;
	for (int i = 0; i < G->nnonces; i++)
		if (memcmp(G->nonces[i], nonce, AUDIT_NONCE_LEN) == 0)
			return 1;
	return 0;
}

/*
 * 0 and the token spent, with *approval its id, nonce and exp for the
 * egress.open record (the node spends the nonce in its ledger too, which
 * outlives this gateway: egress.c), or -1 and why.
 */
int
gw_token(const json_t *token, const char *host, int port, json_t **approval,
    char *why, size_t whysz)
{
	struct approval_ctx ctx = { G->pod, time(NULL), GATEWAY_SKEW_S,
	    GATEWAY_TOKEN_LIFE_S, &G->trust, spent, NULL };
	struct audit_buf b = { 0 };
	struct audit_err e;
	struct approval a;
	uint8_t h[AUDIT_HASH_LEN];
	char digest[AUDIT_HEX_LEN + 1];
	const char *sub = json_string_value(json_object_get(token, "sub"));
	json_t *args;
	int which;

	if (token == NULL || sub == NULL) {
		snprintf(why, whysz, "this entry needs an approval token for "
		    "each connection");
		return -1;
	}
	if (G->nnonces >= GATEWAY_NONCES_MAX) {
		snprintf(why, whysz, "this gateway has spent %d tokens: "
		    "restart the pod", GATEWAY_NONCES_MAX);
		return -1;
	}
	args = json_pack("{s:s, s:i}", "host", host, "port", port);
	if (args == NULL || cjson_encode(args, &b, &e) != 0) {
		json_decref(args);
		audit_buf_free(&b);
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	json_decref(args);
	audit_hash(h, b.p, b.len);
	audit_hex(digest, h, AUDIT_HASH_LEN);
	audit_buf_free(&b);
	if (approval_verify(token, &ctx, "connect", digest, sub, &a, &which,
	    why, whysz) != 0)
		return -1;
	if ((*approval = json_pack("{s:s, s:s, s:I}", "id", a.id, "nonce",
	    a.nonce_hex, "exp", (json_int_t)a.exp)) == NULL) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	memcpy(G->nonces[G->nnonces++], a.nonce, AUDIT_NONCE_LEN);
	return 0;
}
