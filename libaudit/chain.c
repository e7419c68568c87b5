/*
 * The audit log, reader side: a streaming verifier in constant memory.
 * It remembers only what the next line is checked against (the writer's
 * key, the log id, the last seq, ts and line hash) and reads through a
 * buffer of fixed size, so a log of any length, or a hostile line of any
 * length, costs the same memory.
 *
 * Each line is checked in the order of the faults of nucleus-audit(5),
 * and the first fault found is the one reported:
 *
 *	1 not canonical		5 prev is not H(previous line)
 *	2 signature or key	6 ts goes backwards
 *	3 another log's id	7 a last line without its newline (torn)
 *	4 seq is not +1		8 (state file) truncated or rewritten
 *				9 (a chain of files) a log missing
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"

#define READ_CHUNK	65536

static const char *const fault_names[FAULT_COUNT] = {
	"ok", "not-canonical", "bad-signature", "wrong-log", "bad-seq",
	"broken-chain", "time-backwards", "torn", "rolled-back", "missing",
};

const char *
audit_fault_name(enum audit_fault f)
{
	return (unsigned)f < FAULT_COUNT ? fault_names[f] : "?";
}

void
audit_chain_init(struct audit_chain *c, const struct audit_keyring *trust)
{
	memset(c, 0, sizeof(*c));
	c->trust = trust;
	c->seq = -1;
	crypto_generichash_init(&c->prefix, NULL, 0, AUDIT_HASH_LEN);
}

void
audit_chain_free(struct audit_chain *c)
{
	audit_buf_free(&c->input);
}

/* H(all bytes verified so far), without disturbing the running hash. */
void
audit_chain_prefix(const struct audit_chain *c, uint8_t out[AUDIT_HASH_LEN])
{
	crypto_generichash_state s = c->prefix;

	crypto_generichash_final(&s, out, AUDIT_HASH_LEN);
}

static int
fault(struct audit_fault_info *fi, enum audit_fault f, uint64_t line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fault(struct audit_fault_info *fi, enum audit_fault f, uint64_t line,
    const char *fmt, ...)
{
	va_list ap;

	fi->fault = f;
	fi->line = line;
	va_start(ap, fmt);
	vsnprintf(fi->detail, sizeof(fi->detail), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *
str_member(const json_t *rec, const char *name, size_t *len)
{
	const json_t *v = json_object_get(rec, name);

	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

/*
 * The first record: a log.open naming the writer's public key, which the
 * keyring must trust directly (same kid, same key) or through a key-cert
 * signed by a key it holds, for this log and this key.
 */
static int
open_record(struct audit_chain *c, const json_t *rec, const char *kid,
    struct audit_fault_info *fi)
{
	const struct audit_pubkey *direct, *issuer;
	const json_t *cert, *ev = json_object_get(rec, "event");
	const char *pk64, *log, *clog, *cpk;
	size_t pklen = 0, loglen = 0, clen = 0, cpklen = 0;
	struct audit_err e;

	if (!json_is_string(ev) || strcmp(json_string_value(ev), "log.open"))
		return fault(fi, FAULT_SIGNATURE, 1, "the first record is not "
		    "a log.open naming the writer's key");
	pk64 = str_member(rec, "pubkey", &pklen);
	if (pk64 == NULL || audit_unb64(c->pk, AUDIT_PK_LEN, pk64, pklen))
		return fault(fi, FAULT_SIGNATURE, 1, "log.open has no valid "
		    "pubkey");
	log = str_member(rec, "log", &loglen);
	if (log == NULL || !audit_logid_valid(log, loglen))
		return fault(fi, FAULT_LOG, 1, "log.open has no valid log id");
	direct = audit_keyring_find(c->trust, kid);
	if (direct != NULL && direct->type == AUDIT_KEY_ED25519 &&
	    sodium_memcmp(direct->pk, c->pk, AUDIT_PK_LEN) == 0) {
		if (audit_role_vouches(direct, AUDIT_VOUCH_OWN_LOG, &e) != 0)
			return fault(fi, FAULT_SIGNATURE, 1, "the writer's "
			    "key may not open a log: %s", e.msg);
		return 0;
	}
	if ((cert = json_object_get(rec, "cert")) == NULL)
		return fault(fi, FAULT_SIGNATURE, 1, "the writer's key %s is "
		    "not in the keyring and log.open has no key-cert", kid);
	if (audit_verify(cert, "key-cert", c->trust, &issuer, &e) != 0)
		return fault(fi, FAULT_SIGNATURE, 1, "the key-cert does not "
		    "verify: %s", e.msg);
	if (issuer->type != AUDIT_KEY_ED25519)
		return fault(fi, FAULT_SIGNATURE, 1, "the key-cert is signed "
		    "by an HMAC key");
	if (audit_role_vouches(issuer, AUDIT_VOUCH_KEY_CERT, &e) != 0)
		return fault(fi, FAULT_SIGNATURE, 1, "the key-cert's signer "
		    "may not vouch for this log: %s", e.msg);
	clog = str_member(cert, "log", &clen);
	cpk = str_member(cert, "pubkey", &cpklen);
	if (clog == NULL || clen != loglen || memcmp(clog, log, clen) != 0)
		return fault(fi, FAULT_SIGNATURE, 1, "the key-cert is for "
		    "another log");
	if (cpk == NULL || cpklen != pklen || memcmp(cpk, pk64, pklen) != 0)
		return fault(fi, FAULT_SIGNATURE, 1, "the key-cert is for "
		    "another key");
	return 0;
}

/*
 * The members of a record that the chain checks, found either in a
 * parsed tree (the first line, whose key-cert needs one) or in the spans
 * of a scanned canonical line (every other line).  A string member is
 * NULL when absent or not a plain string; an integer's flag is 0 when it
 * is absent or not an integer.
 */
struct view {
	const char *type, *kid, *log, *prev, *sig, *event, *next;
	size_t	 typelen, kidlen, loglen, prevlen, siglen, eventlen, nextlen;
	int	 has_v, has_seq, has_ts;
	int64_t	 v, seq, ts;
};

static void
view_tree(struct view *w, const json_t *rec)
{
	static const char *const names[] = { "type", "kid", "log", "prev",
	    "sig", "event", "next" };
	const char **strs[] = { &w->type, &w->kid, &w->log, &w->prev,
	    &w->sig, &w->event, &w->next };
	size_t *lens[] = { &w->typelen, &w->kidlen, &w->loglen, &w->prevlen,
	    &w->siglen, &w->eventlen, &w->nextlen };
	const json_t *v;

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < 7; i++) {
		v = json_object_get(rec, names[i]);
		if (json_is_string(v)) {
			*strs[i] = json_string_value(v);
			*lens[i] = json_string_length(v);
		}
	}
	if ((v = json_object_get(rec, "v")) != NULL && json_is_integer(v)) {
		w->has_v = 1;
		w->v = json_integer_value(v);
	}
	if ((v = json_object_get(rec, "seq")) != NULL && json_is_integer(v)) {
		w->has_seq = 1;
		w->seq = json_integer_value(v);
	}
	if ((v = json_object_get(rec, "ts")) != NULL && json_is_integer(v)) {
		w->has_ts = 1;
		w->ts = json_integer_value(v);
	}
}

/* A canonical integer's value; its text is already checked. */
static int
span_int(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;
	size_t i = s[0] == '-';

	if (n == 0 || (s[i] < '0' || s[i] > '9'))
		return 0;
	for (; i < n; i++)
		v = v * 10 + (s[i] - '0');
	*out = s[0] == '-' ? -v : v;
	return 1;
}

/* A plain string's bytes: quoted, no escapes (none of ours need one). */
static const char *
span_str(const char *s, size_t n, size_t *len)
{
	if (n < 2 || s[0] != '"' || memchr(s, '\\', n) != NULL)
		return NULL;
	*len = n - 2;
	return s + 1;
}

static void
view_spans(struct view *w, const struct cjson_scan *sc)
{
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < sc->n; i++) {
		const struct cjson_member *m = &sc->m[i];

#define IS(name)	(m->keylen == sizeof(name) - 1 && \
			    memcmp(m->key, name, sizeof(name) - 1) == 0)
		if (IS("type"))
			w->type = span_str(m->val, m->vallen, &w->typelen);
		else if (IS("kid"))
			w->kid = span_str(m->val, m->vallen, &w->kidlen);
		else if (IS("log"))
			w->log = span_str(m->val, m->vallen, &w->loglen);
		else if (IS("prev"))
			w->prev = span_str(m->val, m->vallen, &w->prevlen);
		else if (IS("sig"))
			w->sig = span_str(m->val, m->vallen, &w->siglen);
		else if (IS("event"))
			w->event = span_str(m->val, m->vallen, &w->eventlen);
		else if (IS("next"))
			w->next = span_str(m->val, m->vallen, &w->nextlen);
		else if (IS("v"))
			w->has_v = span_int(m->val, m->vallen, &w->v);
		else if (IS("seq"))
			w->has_seq = span_int(m->val, m->vallen, &w->seq);
		else if (IS("ts"))
			w->has_ts = span_int(m->val, m->vallen, &w->ts);
#undef IS
	}
}

/*
 * The signing input of a scanned line: the prefix and the line without
 * its top-level "sig" member (and the comma that joined it).
 */
static int
span_input(struct audit_buf *in, const char *line, size_t len,
    const struct cjson_scan *sc)
{
	size_t cut0 = len, cut1 = len;

	for (size_t i = 0; i < sc->n; i++) {
		const struct cjson_member *m = &sc->m[i];

		if (m->keylen != 3 || memcmp(m->key, "sig", 3) != 0)
			continue;
		if (i > 0) {
			cut0 = (size_t)(sc->m[i - 1].val + sc->m[i - 1].vallen -
			    line);
			cut1 = (size_t)(m->val + m->vallen - line);
		} else {
			cut0 = m->start;
			cut1 = sc->n > 1 ? sc->m[1].start :
			    (size_t)(m->val + m->vallen - line);
		}
	}
	in->len = 0;
	return audit_buf_add(in, "nucleus-v1/audit\n", 17) != 0 ||
	    audit_buf_add(in, line, cut0) != 0 ||
	    audit_buf_add(in, line + cut1, len - cut1) != 0 ? -1 : 0;
}

static int
check_sig(const struct view *w, const struct audit_buf *in,
    const uint8_t pk[AUDIT_PK_LEN])
{
	uint8_t s[AUDIT_SIG_LEN];

	return w->sig != NULL && audit_unb64(s, sizeof(s), w->sig,
	    w->siglen) == 0 && crypto_sign_verify_detached(s,
	    (const uint8_t *)in->p, in->len, pk) == 0 ? 0 : -1;
}

/*
 * A rotated log: its log.open may name the predecessor, {"log":ID,
 * "seq":N,"hash":HEX[,"file":NAME]}; a log.close names the successor in
 * "next".  Both are other logs than this one.  Called once the record's
 * chain checks passed; c->seq < 0 for the first.
 */
static int
rotation_members(struct audit_chain *c, const struct view *w,
    const json_t *rec, uint64_t lineno, struct audit_fault_info *fi)
{
	const json_t *p, *plog, *pseq, *phash, *pfile;

	if (c->seq < 0 && (p = json_object_get(rec, "predecessor")) != NULL) {
		plog = json_object_get(p, "log");
		pseq = json_object_get(p, "seq");
		phash = json_object_get(p, "hash");
		pfile = json_object_get(p, "file");
		if (!json_is_object(p) || !json_is_string(plog) ||
		    !audit_logid_valid(json_string_value(plog),
		    json_string_length(plog)) || strcmp(json_string_value(plog),
		    c->log) == 0 || !json_is_integer(pseq) ||
		    json_integer_value(pseq) < 0 || !json_is_string(phash) ||
		    audit_unhex(c->pred.hash, AUDIT_HASH_LEN,
		    json_string_value(phash), json_string_length(phash)) != 0 ||
		    (pfile != NULL && !json_is_string(pfile)))
			return fault(fi, FAULT_PREV, lineno, "log.open's "
			    "predecessor is not another log's {log, seq, "
			    "hash}");
		snprintf(c->pred.log, sizeof(c->pred.log), "%s",
		    json_string_value(plog));
		c->pred.seq = json_integer_value(pseq);
	}
	if (w->event == NULL || w->eventlen != 9 ||
	    memcmp(w->event, "log.close", 9) != 0)
		return 0;
	if (w->next == NULL || !audit_logid_valid(w->next, w->nextlen) ||
	    (w->nextlen == strlen(c->log) && memcmp(w->next, c->log,
	    w->nextlen) == 0))
		return fault(fi, FAULT_LOG, lineno, "log.close names no other "
		    "log as its successor");
	memcpy(c->next, w->next, w->nextlen);
	c->next[w->nextlen] = '\0';
	return 0;
}

/* Faults 2 to 6 of one canonical record; rec only for the first. */
static int
check_record(struct audit_chain *c, const struct view *w, const json_t *rec,
    uint64_t lineno, struct audit_fault_info *fi)
{
	uint8_t ph[AUDIT_HASH_LEN];
	char kid[AUDIT_KID_MAX + 1];

	if (w->type == NULL || w->typelen != 5 ||
	    memcmp(w->type, "audit", 5) != 0 || !w->has_v || w->v != 1)
		return fault(fi, FAULT_SIGNATURE, lineno, "not a version 1 "
		    "audit record");
	if (w->kid == NULL || !audit_kid_valid(w->kid, w->kidlen))
		return fault(fi, FAULT_SIGNATURE, lineno, "no valid kid");
	memcpy(kid, w->kid, w->kidlen);
	kid[w->kidlen] = '\0';
	if (c->seq < 0) {
		if (open_record(c, rec, kid, fi) != 0)
			return -1;
		memcpy(c->kid, kid, w->kidlen + 1);
	} else if (strcmp(kid, c->kid) != 0)
		return fault(fi, FAULT_SIGNATURE, lineno, "signed by %s, not "
		    "by the log's writer %s", kid, c->kid);
	if (check_sig(w, &c->input, c->pk) != 0)
		return fault(fi, FAULT_SIGNATURE, lineno, "bad signature");
	if (w->log == NULL || !audit_logid_valid(w->log, w->loglen))
		return fault(fi, FAULT_LOG, lineno, "no valid log id");
	if (c->seq < 0) {
		memcpy(c->log, w->log, w->loglen);
		c->log[w->loglen] = '\0';
	} else if (w->loglen != strlen(c->log) ||
	    memcmp(w->log, c->log, w->loglen) != 0)
		return fault(fi, FAULT_LOG, lineno, "log %.*s in log %s",
		    (int)w->loglen, w->log, c->log);
	if (c->next[0] != '\0')
		return fault(fi, FAULT_SEQ, lineno, "a record after the log's "
		    "log.close");
	if (!w->has_seq || w->seq != c->seq + 1)
		return fault(fi, FAULT_SEQ, lineno, "seq is not %lld",
		    (long long)(c->seq + 1));
	if (w->prev == NULL || audit_unhex(ph, sizeof(ph), w->prev,
	    w->prevlen) != 0)
		return fault(fi, FAULT_PREV, lineno, "no valid prev");
	if (c->seq < 0 ? !sodium_is_zero(ph, sizeof(ph)) :
	    memcmp(ph, c->hash, sizeof(ph)) != 0)
		return fault(fi, FAULT_PREV, lineno, c->seq < 0 ? "the first "
		    "record's prev is not 64 zeros" : "prev is not the hash "
		    "of the line before");
	if (!w->has_ts || w->ts < 0)
		return fault(fi, FAULT_TS, lineno, "no valid ts");
	if (w->ts < c->ts)
		return fault(fi, FAULT_TS, lineno, "ts %lld is before the "
		    "previous record's %lld", (long long)w->ts,
		    (long long)c->ts);
	if (rotation_members(c, w, rec, lineno, fi) != 0)
		return -1;
	c->seq = w->seq;
	c->ts = w->ts;
	return 0;
}

/*
 * Verify one line (without its newline) against the chain so far.
 * Returns 0 and advances the chain, or -1 with the fault in fi.  The
 * first line is parsed into a tree (its key-cert must be verified as a
 * signed object); the others are scanned in place.
 */
int
audit_chain_line(struct audit_chain *c, const char *line, size_t len,
    struct audit_fault_info *fi)
{
	uint64_t lineno = c->lines + 1;
	struct audit_err e;
	struct view w;
	json_t *rec = NULL;
	int rc;

	memset(fi, 0, sizeof(*fi));
	if (len > AUDIT_LINE_MAX)
		return fault(fi, FAULT_NONCANONICAL, lineno, "longer than %d "
		    "bytes", AUDIT_LINE_MAX);
	if (c->seq >= 0 && cjson_scan(line, len, &c->scan, &e) == 0) {
		if (span_input(&c->input, line, len, &c->scan) != 0)
			return fault(fi, FAULT_NONCANONICAL, lineno, "out of "
			    "memory");
		view_spans(&w, &c->scan);
	} else if (c->seq >= 0 && strcmp(e.msg, "too many members to scan")) {
		return fault(fi, FAULT_NONCANONICAL, lineno, "%s", e.msg);
	} else {
		if (audit_signed_line(line, len, "audit", &rec, &c->input,
		    &e) != 0)
			return fault(fi, FAULT_NONCANONICAL, lineno, "%s",
			    e.msg);
		view_tree(&w, rec);
	}
	rc = check_record(c, &w, rec, lineno, fi);
	json_decref(rec);
	if (rc != 0)
		return -1;
	audit_hash(c->hash, line, len);
	c->lines++;
	c->offset += (off_t)len + 1;
	crypto_generichash_update(&c->prefix, (const uint8_t *)line, len);
	crypto_generichash_update(&c->prefix, (const uint8_t *)"\n", 1);
	return 0;
}

/* A window on the log: one line's worth and a chunk, read in turn. */
struct stream_buf {
	char	*p;
	size_t	 cap, start, end, scanned;
};

/*
 * Read more of fd after what the buffer holds, first moving the line
 * begun to the front when little room is left.  The bytes read, 0 at the
 * end of fd, -1 on an error (err filled).
 */
static ssize_t
stream_read(struct stream_buf *b, int fd, struct audit_err *err)
{
	ssize_t n;

	if (b->cap - b->end < READ_CHUNK) {
		memmove(b->p, b->p + b->start, b->end - b->start);
		b->end -= b->start;
		b->scanned -= b->start;
		b->start = 0;
	}
	do
		n = read(fd, b->p + b->end, b->cap - b->end);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s", strerror(errno));
		return -1;
	}
	b->end += (size_t)n;
	return n;
}

/* At the end of fd: 1 with fi filled when the log stops short. */
static int
stream_end(const struct audit_chain *c, const struct stream_buf *b,
    struct audit_fault_info *fi)
{
	if (b->end > b->start) {
		fault(fi, FAULT_TORN, c->lines + 1, "the last line has no "
		    "newline (a torn write)");
		return 1;
	}
	if (c->seq < 0) {
		fault(fi, FAULT_TORN, 1, "the log is empty: not even its "
		    "log.open was written");
		return 1;
	}
	return 0;
}

/*
 * Verify what fd holds from its current offset to its end.  Returns 0
 * when every line verifies, 1 with fi filled at the first fault, -1 on a
 * read error (err filled).  An empty log is a torn one: it lacks even its
 * log.open.
 */
int
audit_chain_stream(struct audit_chain *c, int fd, struct audit_fault_info *fi,
    struct audit_err *err)
{
	struct stream_buf b = { .cap = AUDIT_LINE_MAX + 1 + READ_CHUNK };
	ssize_t n;
	int rc;

	memset(fi, 0, sizeof(*fi));
	if ((b.p = malloc(b.cap)) == NULL) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	for (;;) {
		char *nl = memchr(b.p + b.scanned, '\n', b.end - b.scanned);

		if (nl != NULL) {
			if (audit_chain_line(c, b.p + b.start,
			    (size_t)(nl - (b.p + b.start)), fi) != 0) {
				rc = 1;
				break;
			}
			b.start = b.scanned = (size_t)(nl - b.p) + 1;
			continue;
		}
		b.scanned = b.end;
		if (b.end - b.start > AUDIT_LINE_MAX) {
			/* Never hold more than one line's worth. */
			fault(fi, FAULT_NONCANONICAL, c->lines + 1, "longer "
			    "than %d bytes", AUDIT_LINE_MAX);
			rc = 1;
			break;
		}
		if ((n = stream_read(&b, fd, err)) <= 0) {
			rc = n < 0 ? -1 : stream_end(c, &b, fi);
			break;
		}
	}
	free(b.p);
	return rc;
}
