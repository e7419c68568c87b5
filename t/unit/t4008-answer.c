/*
 * Each answer tied to its own record (node/answer.c): a request the node
 * forwards as "n1", the pod's records of it as they come, then the
 * answer, checked as the relay checks it once those lines are durable.
 * The honest shapes the proxy writes pass (a read's one decision, a
 * change's decision and outcome, refusals, failures, a line it could not
 * read); every lie fails.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "tap.h"

#define LOG	"p-0001.1.0000"

static struct pod pod;
static struct fwd fw;
static struct audit_buf fline;	/* the line forwarded */
static char digest[AUDIT_HEX_LEN + 1];	/* of its args */
static char hash[8][AUDIT_HEX_LEN + 1];	/* of each record, by seq */
static char why[256];

static void
hex_of(char out[AUDIT_HEX_LEN + 1], const void *p, size_t len)
{
	uint8_t h[AUDIT_HASH_LEN];

	audit_hash(h, p, len);
	audit_hex(out, h, AUDIT_HASH_LEN);
}

/* The node forwards op with args (JSON text) as "n1". */
static void
forward(const char *op, const char *args)
{
	struct audit_buf b = { 0 };
	struct audit_err e;
	json_t *a = json_loads(args, 0, NULL);
	json_t *req = json_pack("{s:s, s:i, s:s, s:s, s:s, s:O}", "type",
	    "request", "v", 1, "id", "n1", "pod", "p-0001", "op", op, "args",
	    a);

	memset(&fw, 0, sizeof(fw));
	fw.seq = 1;
	audit_buf_free(&fline);
	memset(&fline, 0, sizeof(fline));
	if (cjson_encode(req, &fline, &e) != 0 ||
	    cjson_encode(a, &b, &e) != 0 ||
	    answer_forwarded(&fw, req, fline.p, fline.len) != 0) {
		diag("cannot forward: %s", e.msg);
		exit(1);
	}
	hex_of(digest, b.p, b.len);
	audit_buf_free(&b);
	json_decref(a);
	json_decref(req);
	pod.fwds = &fw;
}

/* A record of the pod's, its members given as JSON text; seq given. */
static void
record(int seq, const char *members)
{
	struct audit_buf b = { 0 };
	struct audit_err e;
	json_t *r = json_loads(members, 0, NULL);

	json_object_update_new(r, json_pack("{s:s, s:i, s:s, s:i, s:s, s:s, "
	    "s:s, s:s}", "type", "audit", "v", 1, "log", LOG, "seq", seq,
	    "kid", "p-0001", "prev", "00", "sig", "AA==", "ts", "1"));
	if (cjson_encode(r, &b, &e) != 0) {
		diag("cannot encode: %s", e.msg);
		exit(1);
	}
	hex_of(hash[seq], b.p, b.len);
	answer_record(&pod, b.p, b.len);
	audit_buf_free(&b);
	json_decref(r);
}

/* The answer comes, naming seq (and hash, or the record's own); kind
 * NULL for ok.  Then the relay's check, with need lines before it. */
static int
answer(const char *kind, int seq, const char *h, uint64_t need)
{
	json_t *audit = json_pack("{s:s, s:i, s:s}", "log", LOG, "seq", seq,
	    "hash", h != NULL ? h : seq >= 0 ? hash[seq] : "");
	json_t *error = kind != NULL ? json_pack("{s:s, s:s}", "kind", kind,
	    "message", "no") : NULL;
	int rc;

	pod.fwds = NULL;	/* taken off the list as it comes */
	answer_named(&fw, seq >= 0 ? audit : NULL, kind != NULL ?
	    json_false() : json_true(), error);
	fw.need = need;
	rc = answer_backed(&fw, why, sizeof(why));
	json_decref(audit);
	json_decref(error);
	return rc;
}

static char *
decision(const char *op, const char *verdict, const char *more)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "{\"event\":\"decision\",\"id\":\"n1\","
	    "\"op\":\"%s\",\"args_digest\":\"%s\",\"decision\":\"%s\"%s%s}",
	    op, digest, verdict, more[0] != '\0' ? "," : "", more);
	return buf;
}

static void
honest(void)
{
	forward("read", "{\"path\":\"a\"}");
	record(2, decision("read", "allow", "\"bytes\":1"));
	ok(answer(NULL, 2, NULL, 3) == 0, "a read: its one decision backs ok");

	forward("write", "{\"path\":\"a\",\"content\":\"x\"}");
	record(2, decision("write", "allow", ""));
	record(3, "{\"event\":\"outcome\",\"id\":\"n1\",\"status\":\"ok\"}");
	ok(answer(NULL, 3, NULL, 4) == 0, "a change: its outcome backs ok");

	forward("read", "{\"path\":\".env\"}");
	record(2, decision("read", "deny", "\"kind\":\"path_denied\""));
	ok(answer("path_denied", 2, NULL, 3) == 0,
	    "a refusal backs the error of its kind");

	forward("run", "{\"argv\":[\"git\",\"push\"]}");
	record(2, decision("run", "approval_required",
	    "\"kind\":\"approval_required\""));
	ok(answer("approval_required", 2, NULL, 3) == 0,
	    "approval_required backs its error");

	forward("read", "{\"path\":\"missing\"}");
	record(2, decision("read", "allow", "\"kind\":\"io_error\","
	    "\"status\":\"error\""));
	ok(answer("io_error", 2, NULL, 3) == 0,
	    "a read that failed backs io_error");

	forward("run", "{\"argv\":[\"sleep\",\"9\"]}");
	record(2, decision("run", "allow", ""));
	record(3, "{\"event\":\"outcome\",\"id\":\"n1\",\"kind\":\"timeout\","
	    "\"status\":\"timeout\"}");
	ok(answer("timeout", 3, NULL, 4) == 0, "a timed-out outcome backs "
	    "timeout");

	/* A line the proxy could not read: its size and hash. */
	forward("stat", "{\"path\":\"a\"}");
	{
		char m[512], lh[AUDIT_HEX_LEN + 1];

		hex_of(lh, fline.p, fline.len);
		snprintf(m, sizeof(m), "{\"event\":\"decision\",\"id\":\"n1\","
		    "\"decision\":\"deny\",\"kind\":\"bad_request\",\"bytes\":"
		    "%zu,\"line_hash\":\"%s\"}", fline.len, lh);
		record(2, m);
	}
	ok(answer("bad_request", 2, NULL, 3) == 0,
	    "a line refused unread backs bad_request by its hash");
}

static void
lies(void)
{
	forward("read", "{\"path\":\"a\"}");
	record(2, decision("read", "allow", ""));
	ok(answer(NULL, -1, NULL, 3) != 0 && strstr(why, "no audit") != NULL,
	    "no audit member: %s", why);

	forward("read", "{\"path\":\"a\"}");
	record(2, decision("read", "allow", ""));
	ok(answer(NULL, 0, "0000000000000000000000000000000000000000000000000"
	    "000000000000000", 3) != 0, "record 0, zeros: %s", why);

	forward("read", "{\"path\":\"a\"}");
	record(2, decision("read", "allow", ""));
	ok(answer(NULL, 2, hash[3], 3) != 0 && strstr(why, "another hash"),
	    "another hash: %s", why);

	forward("read", "{\"path\":\"a\"}");
	record(2, "{\"event\":\"decision\",\"id\":\"n2\",\"decision\":"
	    "\"allow\"}");
	ok(answer(NULL, 2, NULL, 3) != 0, "another request's record: %s", why);

	forward("read", "{\"path\":\"a\"}");
	ok(answer(NULL, 2, hash[2], 2) != 0 && strstr(why, "before"),
	    "a record after the answer: %s", why);

	forward("write", "{\"path\":\"a\",\"content\":\"x\"}");
	record(2, decision("write", "allow", ""));
	record(3, "{\"event\":\"outcome\",\"id\":\"n1\",\"status\":\"ok\"}");
	ok(answer(NULL, 2, NULL, 4) != 0 && strstr(why, "last record"),
	    "a record not the request's last: %s", why);

	forward("write", "{\"path\":\"a\",\"content\":\"x\"}");
	memset(digest, 'f', AUDIT_HEX_LEN);	/* of other args */
	record(2, decision("write", "allow", ""));
	ok(answer(NULL, 2, NULL, 3) != 0 && strstr(why, "other arguments"),
	    "a decision on other args: %s", why);

	forward("write", "{\"path\":\"a\",\"content\":\"x\"}");
	record(2, decision("read", "allow", ""));
	ok(answer(NULL, 2, NULL, 3) != 0, "a decision on another op: %s",
	    why);

	forward("write", "{\"path\":\"a\",\"content\":\"x\"}");
	record(2, "{\"event\":\"outcome\",\"id\":\"n1\",\"status\":\"ok\"}");
	ok(answer(NULL, 2, NULL, 3) != 0 && strstr(why, "no decision"),
	    "an outcome with no decision: %s", why);

	forward("write", "{\"path\":\"a\",\"content\":\"x\"}");
	record(2, decision("write", "allow", ""));
	record(3, decision("write", "allow", ""));
	ok(answer(NULL, 3, NULL, 4) != 0 && strstr(why, "more than one"),
	    "two decisions: %s", why);

	forward("read", "{\"path\":\".env\"}");
	record(2, decision("read", "deny", "\"kind\":\"path_denied\""));
	ok(answer(NULL, 2, NULL, 3) != 0 && strstr(why, "answered ok"),
	    "ok where refused: %s", why);

	forward("read", "{\"path\":\".env\"}");
	record(2, decision("read", "deny", "\"kind\":\"path_denied\""));
	ok(answer("io_error", 2, NULL, 3) != 0, "another kind: %s", why);

	forward("write", "{\"path\":\"a\",\"content\":\"x\"}");
	record(2, decision("write", "allow", ""));
	record(3, "{\"event\":\"outcome\",\"id\":\"n1\",\"kind\":\"io_error\","
	    "\"status\":\"error\"}");
	ok(answer(NULL, 3, NULL, 4) != 0, "ok where the outcome failed: %s",
	    why);

	forward("read", "{\"path\":\"missing\"}");
	record(2, decision("read", "allow", "\"kind\":\"io_error\","
	    "\"status\":\"error\""));
	ok(answer(NULL, 2, NULL, 3) != 0, "ok where the read failed: %s",
	    why);

	forward("stat", "{\"path\":\"a\"}");
	record(2, "{\"event\":\"decision\",\"id\":\"n1\",\"decision\":"
	    "\"deny\",\"kind\":\"bad_request\",\"bytes\":3,\"line_hash\":"
	    "\"00\"}");
	ok(answer("bad_request", 2, NULL, 3) != 0 && strstr(why,
	    "another line"), "a line the node never sent: %s", why);

	forward("read", "{\"path\":\"a\"}");
	record(2, "{\"event\":\"boot\",\"id\":\"n1\"}");
	ok(answer(NULL, 2, NULL, 3) != 0, "neither decision nor outcome: %s",
	    why);
}

int
main(void)
{
	honest();
	lies();
	audit_buf_free(&fline);
	return done_testing();
}
