/*
 * Building audit records and key-certs.  A record is the caller's event
 * members plus the chain's: type, v, log, seq, ts (milliseconds, never
 * smaller than the previous record's), prev (the hash of the previous
 * line, or 64 zeros for the first), kid and sig.
 *
 * The record is encoded once: the signing input is "nucleus-v1/audit\n"
 * and the CJSON of the record without "sig", and the line is that CJSON
 * with the "sig" member put in its sorted place.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"

static const char *const reserved[] = {
	"type", "v", "log", "seq", "ts", "prev", "kid", "sig",
};

#define AUDIT_PREFIX	"nucleus-v1/audit\n"

/* Can event be a record's event?  Cheap checks, done at submission. */
int
audit_event_check(const json_t *event, struct audit_err *err)
{
	const json_t *ev;

	if (!json_is_object(event))
		return audit_errf(err, "an event is a JSON object");
	ev = json_object_get(event, "event");
	if (!json_is_string(ev) || json_string_length(ev) == 0)
		return audit_errf(err, "an event needs an \"event\" name");
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (json_object_get(event, reserved[i]) != NULL)
			return audit_errf(err, "an event may not set the "
			    "record's own members (type, v, log, seq, ts, "
			    "prev, kid, sig)");
	return 0;
}

/* The record's members, event and chain, as one object to encode. */
static json_t *
record_object(const struct audit_tail *t, const struct audit_seckey *k,
    const json_t *event, int64_t ts_ms)
{
	char prev[AUDIT_HEX_LEN + 1];
	json_t *rec;

	if (t->next_seq == 0) {
		memset(prev, '0', AUDIT_HEX_LEN);
		prev[AUDIT_HEX_LEN] = '\0';
	} else
		audit_hex(prev, t->hash, AUDIT_HASH_LEN);
	if ((rec = json_copy((json_t *)event)) == NULL)
		return NULL;
	if (json_object_set_new(rec, "type", json_string("audit")) != 0 ||
	    json_object_set_new(rec, "v", json_integer(1)) != 0 ||
	    json_object_set_new(rec, "log", json_string(t->log)) != 0 ||
	    json_object_set_new(rec, "seq",
	    json_integer((json_int_t)t->next_seq)) != 0 ||
	    json_object_set_new(rec, "ts", json_integer(ts_ms)) != 0 ||
	    json_object_set_new(rec, "prev", json_string(prev)) != 0 ||
	    json_object_set_new(rec, "kid", json_string(k->kid)) != 0) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/*
 * Sign the next record of the chain t with k and write its line, with its
 * newline, into line (replacing what it held).  t advances only on
 * success.
 */
int
audit_record(struct audit_tail *t, const struct audit_seckey *k,
    const json_t *event, int64_t ts_ms, struct audit_buf *line,
    struct audit_err *err)
{
	struct audit_buf in = { 0 }, ins = { 0 };
	const size_t pre = sizeof(AUDIT_PREFIX) - 1;
	uint8_t sig[AUDIT_SIG_LEN], h[AUDIT_HASH_LEN];
	char b64[AUDIT_SIG_LEN * 2];
	struct cjson_slot slot;
	json_t *rec = NULL;
	int rc = -1;

	if (audit_event_check(event, err) != 0)
		return -1;
	if (t->next_seq > (uint64_t)CJSON_INT_MAX)
		return audit_errf(err, "the log is full (seq past 2^53-1)");
	if (ts_ms < t->ts)
		ts_ms = t->ts;	/* never backwards, whatever the clock does */
	if ((rec = record_object(t, k, event, ts_ms)) == NULL) {
		audit_errf(err, "out of memory");
		goto out;
	}
	if (audit_buf_add(&in, AUDIT_PREFIX, pre) != 0 ||
	    cjson_encode_slot(rec, "sig", &in, &slot, err) != 0)
		goto out;
	crypto_sign_detached(sig, NULL, (const uint8_t *)in.p, in.len, k->sk);
	b64[0] = '"';
	audit_b64(b64 + 1, sizeof(b64) - 2, sig, sizeof(sig));
	strcat(b64, "\"");
	line->len = 0;
	if (cjson_slot_text(&slot, "sig", b64, strlen(b64), &ins) != 0 ||
	    audit_buf_add(line, in.p + pre, slot.at - pre) != 0 ||
	    audit_buf_add(line, ins.p, ins.len) != 0 ||
	    audit_buf_add(line, in.p + slot.at, in.len - slot.at) != 0) {
		audit_errf(err, "out of memory");
		goto out;
	}
	if (line->len > AUDIT_LINE_MAX) {
		audit_errf(err, "the record is longer than %d bytes",
		    AUDIT_LINE_MAX);
		goto out;
	}
	audit_hash(h, line->p, line->len);
	if (audit_buf_add(line, "\n", 1) != 0) {
		audit_errf(err, "out of memory");
		goto out;
	}
	memcpy(t->hash, h, sizeof(h));
	t->ts = ts_ms;
	t->next_seq++;
	rc = 0;
out:
	json_decref(rec);
	audit_buf_free(&in);
	audit_buf_free(&ins);
	return rc;
}

/*
 * A key-cert by which issuer vouches for the key pk writing the log named
 * log: {"type":"key-cert","v":1,"kid":ISSUER,"log":LOG,"pubkey":PK,
 * "iat":SECONDS,"sig":SIG}.
 */
json_t *
audit_key_cert(const struct audit_seckey *issuer, const char *log,
    const uint8_t pk[AUDIT_PK_LEN], int64_t iat, struct audit_err *err)
{
	char b64[64];
	json_t *c;

	audit_b64(b64, sizeof(b64), pk, AUDIT_PK_LEN);
	c = json_pack("{s:s, s:i, s:s, s:s, s:s, s:I}", "type", "key-cert",
	    "v", 1, "kid", issuer->kid, "log", log, "pubkey", b64, "iat",
	    (json_int_t)iat);
	if (c == NULL) {
		audit_errf(err, "out of memory");
		return NULL;
	}
	if (audit_sign(c, "key-cert", issuer, err) != 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}
