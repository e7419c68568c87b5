/*
 * libFuzzer target: signed-object verification against the vectors'
 * keyring, as each type a program expects.  Nothing may crash; nothing
 * may verify that was not signed (the fuzzer cannot sign).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char ring[] =
    "node-1 ed25519 4/DNWgORucZDinCamfW0WM2eIeD8TKCfMR3dFT/HsHg= node\n"
    "authority-1 ed25519 GqpR+TB2Bs0UiWgFW+vUdEyOZYcU28XiBRtmvIPaiDs=\n"
    "agent-7 ed25519 NS+mLlJ3ZxqLg8H3S9mPWalwBmIjJ1pnQrR/0wkwHDI= agent\n"
    "agent-hmac hmac-sha256 E8UMU0a9vOrga9N6TyEbWzFWaCtl0xoUdZZi6GkOJmk=\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "request", "approval-request",
	    "approval", "audit", "key-cert" };
	static struct audit_keyring kr;
	static int ready;
	struct audit_buf in = { 0 };
	struct audit_err e;
	json_t *j;

	if (!ready) {
		if (sodium_init() < 0 || audit_keyring_parse(&kr, ring,
		    sizeof(ring) - 1, 1, &e) != 0)
			abort();
		ready = 1;
	}
	if (cjson_parse((const char *)data, size, &j, &e) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const struct audit_pubkey *k;

		(void)audit_verify(j, types[i], &kr, &k, &e);
		(void)audit_signing_input(j, types[i], &in, &e);
	}
	json_decref(j);
	audit_buf_free(&in);
	return 0;
}
