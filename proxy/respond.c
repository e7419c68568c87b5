/*
 * Responses (formats.md section 5).  They are not signed: the node reads
 * them over the pod's own channel, and each names the audit record that
 * holds its outcome.
 */
#define _GNU_SOURCE
#include "proxy.h"

/* {"type":"response","v":1,"id":ID,"ok":true,"result":RESULT}; steals. */
json_t *
respond_ok(const struct req *r, json_t *result)
{
	return json_pack("{s:s, s:i, s:O, s:b, s:o}", "type", "response",
	    "v", 1, "id", r->id, "ok", 1, "result", result);
}

/* {"type":"response","v":1,"id":ID,"ok":false,"error":{kind,message}} */
json_t *
respond_error(const struct req *r, const char *kind, const char *message)
{
	return json_pack("{s:s, s:i, s:O, s:b, s:{s:s, s:s}}", "type",
	    "response", "v", 1, "id", r->id, "ok", 0, "error", "kind", kind,
	    "message", message);
}
