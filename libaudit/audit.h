/*
 * libaudit: canonical JSON, keys, signed objects and the hash-chained,
 * signed audit log of Nucleus.  The formats are nucleus-audit(5) and
 * nucleus-protocol(7); every limit below is documented there.
 *
 * Library code never exits: functions return 0 or -1 and fill a struct
 * audit_err with a message a person can act on.
 */
#ifndef NUCLEUS_AUDIT_H
#define NUCLEUS_AUDIT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "num.h"

#define AUDIT_LINE_MAX		(1024 * 1024)	/* bytes in one log line */
#define AUDIT_KID_MAX		64	/* characters in a key id */
#define AUDIT_LOGID_MAX		128	/* characters in a log id */
#define AUDIT_PODNAME_MAX	64	/* characters in a pod's name */
#define AUDIT_KEYRING_MAX	4096	/* keys in one keyring */
#define AUDIT_KEYFILE_MAX	(256 * 1024)	/* bytes in a key file */
#define AUDIT_ROLE_MAX		32	/* characters in a keyring role */
#define AUDIT_QUEUE_MAX		65536	/* records in flight in one log */
#define AUDIT_DEFER_IDLE_MS	5	/* a record nobody waits on is synced
					   once no line was written for this */
#define AUDIT_DEFER_MAX_MS	50	/* and at most this after it was */
#define CJSON_INT_MAX		9007199254740991LL	/* 2^53-1 */

#define AUDIT_HASH_LEN		32	/* BLAKE2b-256 */
#define AUDIT_HEX_LEN		64
#define AUDIT_PK_LEN		32	/* Ed25519 public key */
#define AUDIT_SIG_LEN		64	/* Ed25519 signature */
#define AUDIT_MAC_LEN		32	/* HMAC-SHA-256 */
#define AUDIT_NONCE_LEN		16

struct audit_err {
	char	 msg[256];
};

int	 audit_errf(struct audit_err *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
#ifdef __clang_analyzer__
/* scan-build never follows a call into a variadic function, so it would
 * take "return audit_errf(...)" for a success as often as a failure: for
 * it alone, say that the call is always -1.  (encode.c defines it with
 * its name in parentheses, out of this macro's way.) */
#define audit_errf(...)	(audit_errf(__VA_ARGS__), -1)
#endif
/* Fixed buffers (fmt.c): audit_fit() for paths and values, whole or an
 * error; audit_fmt() for messages only, where a cut is harmless. */
int	 audit_fit(char *, size_t, struct audit_err *, const char *, ...)
	    __attribute__((format(printf, 4, 5), warn_unused_result));
void	 audit_fmt(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/* Text for logs and terminals (text.c): printable, valid UTF-8. */
size_t	 audit_glyph(const char *, size_t);
int	 audit_printable(const char *, size_t);
size_t	 audit_escape(char *, size_t, const char *, size_t);

/* The clocks (clock.c). */
int64_t	 audit_now_ms(clockid_t);
int64_t	 audit_now_s(void);

/* A growable byte buffer. */
struct audit_buf {
	char	*p;
	size_t	 len, cap;
};

void	 audit_buf_free(struct audit_buf *);
int	 audit_buf_add(struct audit_buf *, const void *, size_t);
size_t	 audit_buf_compact(struct audit_buf *, size_t *);

/* Canonical JSON (cjson.c). */
int	 cjson_parse(const char *, size_t, json_t **, struct audit_err *);
int	 cjson_encode(const json_t *, struct audit_buf *, struct audit_err *);
int	 cjson_encode_without(const json_t *, const char *, struct audit_buf *,
	    struct audit_err *);

/* Where a left-out member would stand in an encoded object. */
struct cjson_slot {
	size_t	 at;		/* offset in the buffer */
	size_t	 before, after;	/* members before and after it */
};

/* The top-level members of a canonical object, as spans (scan.c). */
#define CJSON_SCAN_MEMBERS	64

struct cjson_member {
	const char *key;	/* the name, without quotes, as written */
	size_t	 keylen;
	size_t	 start;		/* offset of the member's opening quote */
	const char *val;	/* the value's text */
	size_t	 vallen;
};

struct cjson_scan {
	size_t	 n;
	struct cjson_member m[CJSON_SCAN_MEMBERS];
};

int	 cjson_scan(const char *, size_t, struct cjson_scan *,
	    struct audit_err *);

int	 cjson_encode_slot(const json_t *, const char *, struct audit_buf *,
	    struct cjson_slot *, struct audit_err *);
int	 cjson_slot_text(const struct cjson_slot *, const char *, const char *,
	    size_t, struct audit_buf *);
int	 cjson_is_canonical(const char *, size_t, json_t **,
	    struct audit_err *);

/* Hashes and encodings (encode.c). */
void	 audit_hash(uint8_t[AUDIT_HASH_LEN], const void *, size_t);
void	 audit_hex(char *, const uint8_t *, size_t);
int	 audit_unhex(uint8_t *, size_t, const char *, size_t);
size_t	 audit_b64_len(size_t);
void	 audit_b64(char *, size_t, const uint8_t *, size_t);
int	 audit_unb64(uint8_t *, size_t, const char *, size_t);
int	 audit_kid_valid(const char *, size_t);
int	 audit_logid_valid(const char *, size_t);
int	 audit_podname_valid(const char *, size_t);
int	 audit_writeall(int, const void *, size_t);
struct stat;
int	 audit_open_regular(const char *, int, struct stat *,
	    struct audit_err *);

/* Keyrings: who may sign what (keyring.c). */
enum audit_keytype {
	AUDIT_KEY_ED25519,
	AUDIT_KEY_HMAC
};

struct audit_pubkey {
	char	 kid[AUDIT_KID_MAX + 1];
	enum audit_keytype type;
	uint8_t	 pk[AUDIT_PK_LEN];	/* Ed25519 */
	uint8_t	*mac;			/* HMAC key, in sodium_malloc memory */
	char	 role[AUDIT_ROLE_MAX + 1];	/* "" when none */
};

struct audit_keyring {
	size_t	 n;
	struct audit_pubkey *v;
};

int	 audit_keyring_load(struct audit_keyring *, const char *,
	    struct audit_err *);
int	 audit_keyring_parse(struct audit_keyring *, const char *, size_t,
	    int, struct audit_err *);
const struct audit_pubkey *audit_keyring_find(const struct audit_keyring *,
	    const char *);
void	 audit_keyring_free(struct audit_keyring *);

/*
 * What a key may vouch for, by its keyring role: its own log (no role,
 * node, authority, proxy: the daemons that write logs) or, with a
 * key-cert, another key's log (node only: the pods' logs).
 */
enum audit_vouch {
	AUDIT_VOUCH_OWN_LOG,
	AUDIT_VOUCH_KEY_CERT
};
int	 audit_role_vouches(const struct audit_pubkey *, enum audit_vouch,
	    struct audit_err *);
int	 audit_keyring_from(struct audit_keyring *, const char *, const char *,
	    size_t, mode_t, struct audit_err *);
int	 audit_read_keyfile_mode(const char *, char **, size_t *, mode_t *,
	    struct audit_err *);
int	 audit_read_keyfile(const char *, int, char **, size_t *,
	    struct audit_err *);

/* Secret keys (secret.c): kept in sodium_malloc memory. */
struct audit_seckey {
	char	 kid[AUDIT_KID_MAX + 1];
	enum audit_keytype type;
	uint8_t	*sk;		/* Ed25519: 64 bytes (seed, pk); HMAC: 32 */
	uint8_t	 pk[AUDIT_PK_LEN];	/* Ed25519 only */
};

int	 audit_seckey_load(struct audit_seckey **, const char *,
	    struct audit_err *);
int	 audit_seckey_generate(struct audit_seckey **, const char *,
	    struct audit_err *);
int	 audit_seckey_from_seed(struct audit_seckey **, const char *,
	    const uint8_t[32], struct audit_err *);
int	 audit_seckey_save(const struct audit_seckey *, const char *,
	    struct audit_err *);
void	 audit_seckey_free(struct audit_seckey *);

/* Long-lived secrets, tracked (wipe.c). */
void	*audit_secret_alloc(size_t);
void	 audit_secret_free(void *);
void	 audit_secrets_wipe(void);
int	 audit_keyring_line(const struct audit_seckey *, const char *, char *,
	    size_t);

/* Signed objects (sign.c, verify.c). */
int	 audit_signing_input(const json_t *, const char *, struct audit_buf *,
	    struct audit_err *);
int	 audit_sign(json_t *, const char *, const struct audit_seckey *,
	    struct audit_err *);
int	 audit_verify(const json_t *, const char *,
	    const struct audit_keyring *, const struct audit_pubkey **,
	    struct audit_err *);
int	 audit_verify_ed25519(const json_t *, const char *,
	    const uint8_t[AUDIT_PK_LEN], struct audit_err *);
int	 audit_signed_line(const char *, size_t, const char *, json_t **,
	    struct audit_buf *, struct audit_err *);
int	 audit_verify_input(const json_t *, const char *,
	    const struct audit_buf *, const uint8_t[AUDIT_PK_LEN],
	    struct audit_err *);
int	 audit_event_check(const json_t *, struct audit_err *);

/*
 * The audit log, reader side (chain.c): a streaming verifier in constant
 * memory.  Faults are numbered as in nucleus-audit(5).
 */
enum audit_fault {
	FAULT_NONE,
	FAULT_NONCANONICAL,	/* 1 */
	FAULT_SIGNATURE,	/* 2 */
	FAULT_LOG,		/* 3 */
	FAULT_SEQ,		/* 4 */
	FAULT_PREV,		/* 5 */
	FAULT_TS,		/* 6 */
	FAULT_TORN,		/* 7 */
	FAULT_ROLLBACK,		/* 8 */
	FAULT_MISSING,		/* 9 */
	FAULT_COUNT
};

const char *audit_fault_name(enum audit_fault);

/* A log's predecessor, as its log.open names it (a rotated log). */
struct audit_link {
	char	 log[AUDIT_LOGID_MAX + 1];	/* "" when none */
	int64_t	 seq;
	uint8_t	 hash[AUDIT_HASH_LEN];
};

/* Where a verification stands after each line: all it remembers. */
struct audit_chain {
	const struct audit_keyring *trust;
	uint64_t lines;		/* lines verified */
	int64_t	 seq;		/* of the last verified record; -1 none */
	int64_t	 ts;
	uint8_t	 hash[AUDIT_HASH_LEN];	/* H(last verified line) */
	char	 log[AUDIT_LOGID_MAX + 1];
	char	 kid[AUDIT_KID_MAX + 1];
	uint8_t	 pk[AUDIT_PK_LEN];
	off_t	 offset;	/* bytes verified so far */
	crypto_generichash_state prefix;	/* H(those bytes), running */
	struct audit_buf input;	/* scratch: a record's signing input */
	struct cjson_scan scan;	/* scratch: a line's members */
	struct audit_link pred;	/* what log.open names as before it */
	char	 next[AUDIT_LOGID_MAX + 1];	/* log.close's successor,
				   "" while the log is open */
};

struct audit_fault_info {
	enum audit_fault fault;
	uint64_t line;		/* 1-based */
	char	 detail[256];
};

void	 audit_chain_init(struct audit_chain *, const struct audit_keyring *);
int	 audit_chain_line(struct audit_chain *, const char *, size_t,
	    struct audit_fault_info *);
int	 audit_chain_stream(struct audit_chain *, int,
	    struct audit_fault_info *, struct audit_err *);
void	 audit_chain_prefix(const struct audit_chain *,
	    uint8_t[AUDIT_HASH_LEN]);
void	 audit_chain_free(struct audit_chain *);

/*
 * The audit log, writer side (log.c).  Events are signed and chained by a
 * signer thread and made durable by a syncer thread with group commit:
 * one write(2) and one fdatasync(2) cover every record signed while the
 * previous sync was in flight.  A record's completion is called, from the
 * syncer thread, only once it is durable.  A record nobody waits on
 * (submit_deferred) is written as soon, and synced with the next record
 * someone waits on, or by a thread of the log's within AUDIT_DEFER_*_MS.
 */
struct audit_log;

typedef void (*audit_done_fn)(void *, int, uint64_t, const char *);
typedef void (*audit_tee_fn)(void *, const char *, size_t);

int	 audit_log_open(struct audit_log **, const char *, const char *,
	    const struct audit_seckey *, const json_t *, struct audit_err *);
int	 audit_log_submit(struct audit_log *, json_t *, audit_done_fn, void *,
	    struct audit_err *);
int	 audit_log_submit_here(struct audit_log *, json_t *, audit_done_fn,
	    void *, struct audit_err *);
int	 audit_log_submit_deferred(struct audit_log *, json_t *, audit_done_fn,
	    void *, struct audit_err *);
void	 audit_log_defer(struct audit_log *, int, int);
uint64_t audit_log_flushes(struct audit_log *);
int	 audit_log_append_wait(struct audit_log *, json_t *, uint64_t *, char *,
	    struct audit_err *);
int	 audit_log_tee(struct audit_log *, audit_tee_fn, void *, off_t *,
	    struct audit_err *);
uint64_t audit_log_durable(struct audit_log *);
uint64_t audit_log_syncs(struct audit_log *);
size_t	 audit_log_inflight(struct audit_log *);
uint64_t audit_log_dropped(struct audit_log *);
int	 audit_log_failed(struct audit_log *);
const char *audit_log_id(struct audit_log *);
int	 audit_log_close(struct audit_log *, struct audit_err *);
int	 audit_log_rotation(struct audit_log *, off_t, struct audit_err *);
int	 audit_log_resume(struct audit_log *, struct audit_err *);

/*
 * The files of a rotation, made for a log by someone else (a process
 * that may open them, for one that cannot): keep the file at the log's
 * path as NAME.GEN (0, or -1 and why); make an empty .NAME.next beside
 * it, open for reading and appending (its descriptor, or -1 and why); put
 * that file at the log's path (0, or -1 and why).  Each makes what it
 * changed in the directory durable.
 */
struct audit_log_files {
	int	 (*keep)(void *, uint64_t, struct audit_err *);
	int	 (*create)(void *, struct audit_err *);
	int	 (*replace)(void *, struct audit_err *);
	void	*arg;
};

int	 audit_log_rotation_files(struct audit_log *, off_t,
	    const struct audit_log_files *, struct audit_err *);
int	 audit_log_rotate(struct audit_log *, struct audit_err *);
uint64_t audit_log_generation(struct audit_log *);

/* A key-cert by which one key vouches for another's log (record.c). */
json_t	*audit_key_cert(const struct audit_seckey *, const char *,
	    const uint8_t[AUDIT_PK_LEN], int64_t, struct audit_err *);

/*
 * Building the next record of a chain (record.c): what the writer does
 * for each append, exposed for tools that write logs in bulk.
 */
struct audit_tail {
	char	 log[AUDIT_LOGID_MAX + 1];
	uint64_t next_seq;
	int64_t	 ts;
	uint8_t	 hash[AUDIT_HASH_LEN];
};

int	 audit_record(struct audit_tail *, const struct audit_seckey *,
	    const json_t *, int64_t, struct audit_buf *, struct audit_err *);

/* A daemon's thread, started with every signal blocked (thread.c). */
int	 audit_thread_start(pthread_t *, const pthread_attr_t *,
	    void *(*)(void *), void *);

#endif /* NUCLEUS_AUDIT_H */
