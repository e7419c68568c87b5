/*
 * libFuzzer target: what a VM pod's side says before it is trusted at
 * all.  The first byte picks which:
 *
 *	even	the guest proxy's hello line (local_hello): the node signs a
 *		key-cert only for a hello of this pod, with a log id and a
 *		32-byte key, and the cert names exactly those;
 *	odd	Firecracker's answer to CONNECT (fc_vsock_answer_ok): only
 *		"OK " and a decimal number below 2^32 is taken.
 *
 * Nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct audit_seckey *node_key;

static void
hello(const char *line)
{
	struct local_env env = { .node_key = node_key };
	/* The log the node chose: the seed's hello names it. */
	struct local_pod pod = { .name = "p-0001",
	    .log = "p-0001.1795971232.2ee7" };
	struct audit_buf cert = { 0 };
	struct audit_err e;
	json_t *c, *h;

	e.msg[0] = '\0';
	if (local_hello(&pod, &env, line, &cert, &e) != 0) {
		if (e.msg[0] == '\0')
			abort();	/* a refusal without a reason */
		audit_buf_free(&cert);
		return;
	}
	h = json_loads(line, 0, NULL);
	if (cert.len == 0 || cert.p[cert.len - 1] != '\n' || h == NULL ||
	    strcmp(json_string_value(json_object_get(h, "pod")), "p-0001") != 0 ||
	    (c = json_loadb(cert.p, cert.len, 0, NULL)) == NULL)
		abort();
	if (strcmp(json_string_value(json_object_get(c, "log")), pod.log) != 0 ||
	    strcmp(json_string_value(json_object_get(c, "log")),
	    json_string_value(json_object_get(h, "log"))) != 0 ||
	    strcmp(json_string_value(json_object_get(c, "pubkey")),
	    json_string_value(json_object_get(h, "pubkey"))) != 0)
		abort();	/* a cert for something the hello did not say */
	json_decref(c);
	json_decref(h);
	audit_buf_free(&cert);
}

static void
answer(const char *p, size_t n)
{
	unsigned long long v = 0;
	int ok = n >= 4 && n <= 13 && memcmp(p, "OK ", 3) == 0;

	for (size_t i = 3; ok && i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			ok = 0;
		else
			v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (ok && v > 0xffffffffULL)
		ok = 0;
	if (fc_vsock_answer_ok(p, n) != ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_err e;
	char *s;

	if (size < 1 || size > HELLO_MAX)
		return 0;
	if (node_key == NULL && (sodium_init() < 0 ||
	    audit_seckey_generate(&node_key, "node-1", &e) != 0))
		abort();
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] % 2 == 0)
		hello(s);
	else
		answer(s, size - 1);
	free(s);
	return 0;
}
