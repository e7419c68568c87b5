/*
 * A node's ok answer passed on as its bytes.  The node relays the
 * proxy's answers in canonical JSON (nucleus-protocol(7)); such an
 * answer's result is the same text whether it is parsed and written
 * again (as rpc.c and tools.c do for every other answer) or copied: so
 * the answer is checked by libaudit's canonical scanner (which accepts
 * exactly what cjson_encode() writes, fuzzed against it), its result
 * kept as it came, and the tool call's answer written around it, byte
 * for byte what the tree's encoding would be.  Anything else (an error,
 * an answer not canonical, an id to write otherwise) goes the tree's
 * way.  Nothing here reads or writes a file descriptor (fuzz-mcp
 * compares both ways on every input).
 */
#include <string.h>

#include "mcp.h"

/*
 * Is line (len bytes) a canonical answer with "ok": true, a result and
 * an id written without escapes?  0 and the spans then; -1 otherwise
 * (the caller parses it).
 */
int
mcp_answer_scan(const char *line, size_t len, struct mcp_ok *ok)
{
	const struct cjson_member *id = NULL, *okm = NULL, *res = NULL;
	struct cjson_scan sc;

	if (cjson_scan(line, len, &sc, NULL) != 0)
		return -1;
	for (size_t i = 0; i < sc.n; i++) {
		const struct cjson_member *m = &sc.m[i];

		if (m->keylen == 2 && memcmp(m->key, "id", 2) == 0)
			id = m;
		else if (m->keylen == 2 && memcmp(m->key, "ok", 2) == 0)
			okm = m;
		else if (m->keylen == 6 && memcmp(m->key, "result", 6) == 0)
			res = m;
	}
	if (okm == NULL || okm->vallen != 4 || memcmp(okm->val, "true",
	    4) != 0 || res == NULL || id == NULL || id->vallen < 2 ||
	    id->val[0] != '"' || memchr(id->val, '\\', id->vallen) != NULL)
		return -1;
	ok->id = id->val + 1;
	ok->idlen = id->vallen - 2;
	ok->result = res->val;
	ok->resultlen = res->vallen;
	return 0;
}

/*
 * The answer to request id whose tool result is the node's result text
 * (canonical JSON of len bytes): what mcp_encode() writes of
 * mcp_result(id, mcp_tool_ok(tree of result, structured)), its members
 * in canonical order, appended to b.  -1 (b as it was) when id is not
 * written canonically (the caller then goes the tree's way) or memory
 * runs out.
 */
int
mcp_encode_ok(const json_t *id, const char *result, size_t len,
    int structured, struct audit_buf *b)
{
	static const char head[] = "{\"id\":";
	static const char mid[] = ",\"jsonrpc\":\"2.0\",\"result\":{"
	    "\"content\":[{\"text\":";
	static const char tail[] = ",\"type\":\"text\"}],\"isError\":false";
	static const char sc[] = ",\"structuredContent\":";
	size_t at = b->len;
	json_t *text;
	int rc;

	if ((text = json_stringn_nocheck(result, len)) == NULL)
		return -1;
	rc = audit_buf_add(b, head, sizeof(head) - 1) != 0 ||
	    cjson_encode(id, b, NULL) != 0 ||
	    audit_buf_add(b, mid, sizeof(mid) - 1) != 0 ||
	    cjson_encode(text, b, NULL) != 0 ||
	    audit_buf_add(b, tail, sizeof(tail) - 1) != 0 ||
	    (structured && (audit_buf_add(b, sc, sizeof(sc) - 1) != 0 ||
	    audit_buf_add(b, result, len) != 0)) ||
	    audit_buf_add(b, "}}", 2) != 0 ? -1 : 0;
	json_decref(text);
	if (rc != 0) {
		b->len = at;
		if (b->p != NULL)
			b->p[at] = '\0';
	}
	return rc;
}

/*
 * The tree of a result kept as its bytes (canonical JSON, any value),
 * for an answer that goes the tree's way after all (a batch's): NULL
 * only when memory runs out.
 */
json_t *
mcp_ok_result(const char *result, size_t len)
{
	return json_loadb(result, len, JSON_DECODE_ANY, NULL);
}
