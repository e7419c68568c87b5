/*
 * libFuzzer target: what a command in a pod sends the proxy's egress
 * listener (proxy/egress_parse.c): an HTTP proxy request's line and
 * header, or SOCKS5's greeting and request (the first byte chooses: 0
 * HTTP, 1 the greeting, else the request).  Nothing may crash or read
 * past the input; an accepted request names a host that fits and a port
 * of 1 to 65535, and took no more than it was given; a refusal says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct egress_target t;
	char *copy;
	int rc;

	if (size < 1)
		return 0;
	/* An exact copy: a read past the end is ASan's to see. */
	if ((copy = malloc(size - 1 > 0 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] == 0)
		rc = egress_parse_http(copy, size - 1, &t);
	else if (data[0] == 1)
		rc = egress_parse_socks_hello((uint8_t *)copy, size - 1, &t);
	else
		rc = egress_parse_socks_request((uint8_t *)copy, size - 1, &t);
	if (rc == EP_BAD && t.why == NULL)
		abort();	/* a refusal without a reason */
	if (rc == EP_OK && (t.used > size - 1 || (data[0] != 1 &&
	    (t.port < 1 || t.port > 65535 || t.host[0] == '\0' ||
	    strlen(t.host) >= sizeof(t.host)))))
		abort();
	if (rc == EP_OK && data[0] == 0 && !t.connect &&
	    (t.path == NULL || t.path_len == 0 || t.path[0] != '/'))
		abort();
	free(copy);
	return 0;
}
