/*
 * nucleus-node: the host's control plane.  This header holds the gate
 * every request passes (gate.c), the local driver's process sandbox
 * (sandbox.c), the pods' cgroups (cgroup.c) and the host's checks
 * (doctor.c).
 */
#ifndef NUCLEUS_NODE_H
#define NUCLEUS_NODE_H

#include <signal.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

#include <jansson.h>
#include <lmdb.h>

#include "audit.h"
#include "cpio.h"
#include "envelope.h"

#define CG_V1_N		3	/* memory, pids, cpu */
#define CG_PATH_MAX	256
#define SANDBOX_BINDS_MAX 32	/* read-only host paths in a sandbox */
#define SANDBOX_FDS_MAX	4	/* descriptors passed in */
#define RELEASE_WAIT_MS	1000	/* for a sandbox's last processes, where
				   a caller can wait */

/* A pod's resources (nucleus-pod(5)). */
struct limits {
	uint64_t memory_mib;
	uint64_t scratch_mib;
	unsigned pids;
	unsigned cpus_milli;	/* 1000: one CPU */
	unsigned commands;	/* running at once, in the proxy */
};

struct cgroup_facts {
	int	 v2;			/* usable: memory, pids, cpu */
	char	 v2_root[CG_PATH_MAX];	/* "" when no unified hierarchy */
	char	 v2_controllers[256];
	int	 v1;			/* usable: all three hierarchies */
	int	 v1_has[CG_V1_N];
};

struct cgroup {
	int	 version;		/* 1 or 2 */
	int	 n;			/* directories made */
	char	 dir[CG_V1_N][CG_PATH_MAX];	/* v2: dir[0] only */
};

void	 cgroup_probe(struct cgroup_facts *);
int	 cgroup_create(struct cgroup *, const char *, const struct limits *,
	    struct audit_err *);
int	 cgroup_enter(const struct cgroup *, pid_t, struct audit_err *);
int	 cgroup_oom_kills(const struct cgroup *);
int	 cgroup_remove(struct cgroup *);

/*
 * What runs in a sandbox, and with what.  Inside, the root is a small
 * read-only tmpfs holding the binds, /proc, a minimal /dev, two
 * writable places on one size-limited tmpfs (scratch_mib): /work (the
 * pod's files) and /tmp; and /var/lib/nucleus (the proxy's state) on a
 * tmpfs of its own, which no command can fill.
 */
#define SANDBOX_EXE_DIR	"/nucleus"	/* where exe is bound, inside */

struct sandbox_spec {
	const char *name;	/* the pod: hostname, and cgroup by default */
	const char *cgroup;	/* or this cgroup name */
	const char *exe;	/* a host program bound read-only at
				   SANDBOX_EXE_DIR/its name; or NULL */
	char *const *argv;	/* argv[0] an absolute path inside */
	const char *binds[SANDBOX_BINDS_MAX + 1];	/* read-only, same path */
	const char *conf;	/* a host directory, read-only at /etc/nucleus */
	struct limits lim;
	uid_t	 uid;		/* the host uid that uid 0 inside maps to */
	gid_t	 gid;
	int	 fds[SANDBOX_FDS_MAX];	/* passed as 3, 4, ...; -1 ends */
	int	 set_stdio;	/* stdio[] replace 0, 1, 2 */
	int	 stdio[3];
	int	 keep_admin;	/* CAP_SYS_ADMIN (of the pod's user
				   namespace) stays, ambient: the proxy's */
};

struct sandbox {
	pid_t	 pid;		/* its init, on the host */
	int	 pidfd;
	int	 killed;	/* the node killed it (sandbox_kill) */
	int	 adopted;	/* not the node's child: taken back after a
				   restart (podstate.c), never waited for */
	struct cgroup cg;
};

int	 sandbox_start(const struct sandbox_spec *, struct sandbox *,
	    struct audit_err *);
int	 sandbox_wait(struct sandbox *, int *);
void	 sandbox_kill(struct sandbox *);
void	 sandbox_detach(struct sandbox *);
#define SANDBOX_DETACH_SIGNAL SIGUSR1	/* to its init: it is stored, and
				   outlives the node from now on */
int	 sandbox_release(struct sandbox *, int);

/* The gate (gate.c): formats section 4's checks of a request line. */
#define GATE_LINE_MAX	(1024 * 1024)	/* bytes in a request line */
#define GATE_ID_MAX	64		/* characters in a request id */
#define GATE_SKEW	60		/* seconds, by default */
#define GATE_TOKEN_AHEAD 7200	/* seconds: no pod takes a token whose exp
				   is further ahead (the longest lifetime and
				   skew a pod file allows, 3600 each) */

struct gate {
	const struct audit_keyring *keys;	/* with roles */
	const struct audit_keyring *trust;	/* authorities: tokens */
	MDB_env	*env;		/* the seen (kid, nonce) pairs */
	MDB_dbi	 nonces;
	MDB_dbi	 tokens;	/* approval tokens forwarded: nonce -> exp */
	int	 skew;
	size_t	 line_max;
	int	 dirty;		/* a pair committed, not yet synced */
	int	 broken;	/* a write of env failed: LMDB may not be
				   trusted in memory until it is opened
				   again (node_state_retry) */
	int	 fault_said;	/* on stderr, until a write succeeds */
	pthread_rwlock_t keys_lock;	/* keys, read by gate_verify on
					   any thread, replaced on reload */
	/* the pods: does it exist; may kid call it (-1: no such pod) */
	int	(*pod_exists)(void *, const char *);
	int	(*may_call)(void *, const char *, const char *);
	void	*arg;
};

/*
 * The operations a request may name (ops.c): one table, which the gate
 * checks a request against (who may call it, whether it names a pod)
 * and the node dispatches from.  An operation not in it is refused by
 * the gate, so that none can reach a handler.
 */
struct lines_conn;
struct gate_req;

enum node_role {
	NODE_ROLE_ADMIN,	/* manages pods */
	NODE_ROLE_AGENT		/* calls a pod's tools */
};

struct node_op {
	const char *name;	/* NULL: any tool operation of
				   nucleus-protocol(7), to its pod */
	enum node_role role;	/* who may call it */
	int	 names_pod;	/* its pod member: a pod (1), or "" (0) */
	void	(*handler)(struct lines_conn *, struct gate_req *);
};

extern const struct node_op node_ops[];
extern const size_t node_ops_n;
const struct node_op *node_op_find(const char *);

struct gate_req {
	json_t	*obj;		/* the request */
	struct envelope env;	/* its envelope (envelope.c) */
	json_t	*id;		/* its id, once read */
	char	 kid[AUDIT_KID_MAX + 1];
	char	 role[AUDIT_ROLE_MAX + 1];
	const char *pod, *op;	/* into obj */
	const struct node_op *nop;	/* its entry in node_ops */
	int	 node_op;	/* pod.* rather than a tool operation */
	int	 verified;	/* its signature held */
	char	 token_bad[256];	/* why its approval token's does not
				   (rule 1); "" when it does */
	const char *kind;	/* refused: the error kind */
	const char *why;	/* and the message */
};

int	 gate_check(struct gate *, const char *, size_t, int64_t,
	    struct gate_req *);
int	 gate_verify(struct gate *, const char *, size_t, int64_t,
	    struct gate_req *);
int	 gate_finish(struct gate *, struct gate_req *, int64_t);
void	 gate_prune(struct gate *, int64_t);
int	 gate_ledger_spend(struct gate *, const char *, const json_t *,
	    int64_t, const char **, const char **);
void	 gate_req_free(struct gate_req *);

/* A pod spec (podspec.c); each limit checked by crossing it in t4003. */
#define POD_NAME_MAX	AUDIT_PODNAME_MAX	/* characters in a pod's name */
#define POD_AGENTS_MAX	64	/* agents one pod names */
#define POD_MEMORY_MIN	64	/* MiB */
#define POD_MEMORY_MAX	65536
#define POD_MEMORY_DEFAULT 512
#define POD_CPUS_MAX	64
#define POD_PIDS_MIN	16
#define POD_PIDS_MAX	4096
#define POD_PIDS_DEFAULT 256
#define POD_SCRATCH_MAX	65536	/* MiB */
#define POD_SCRATCH_DEFAULT 256
/*
 * A local pod's memory beyond its scratch: the proxy's state file system
 * (64 MiB, sandbox.c) and 32 MiB for the proxy and the commands.
 */
#define POD_MEMORY_RESERVE_MIB (64 + 32)
/* A local scratch has one inode for each this many bytes (ext4's ratio). */
#define SCRATCH_INODE_BYTES 16384
#define POD_TIMEOUT_MAX	(7 * 86400)	/* seconds; 0: none */
#define POD_COMMANDS_MAX 256	/* commands running at once, the proxy's */
#define POD_COMMANDS_DEFAULT 8	/* limits.commands */
#define POD_WORK_MAX	1024	/* bytes in work.copy */
#define POD_IMAGE_MAX	32	/* characters in a VM's image name */
#define POD_IMAGE_DEFAULT "root"	/* root.squashfs: busybox */
/* The pod's host copy of its audit log (spec member audit, quota.c). */
#define POD_COPY_MIB_MAX 65536	/* audit.copy_mib: MiB of the copy */
#define POD_COPY_MIB_DEFAULT 256	/* unless serve -C says otherwise */
#define POD_RECORD_KIB_MIN 4	/* audit.record_kib: KiB of one record */
#define POD_RECORD_KIB_MAX 1024	/* a log line's own limit, AUDIT_LINE_MAX */
#define POD_RECORD_KIB_DEFAULT 128	/* the proxy's largest record is
				   well under 70 KiB (its subject at most
				   64 KiB, the rest under 2 KiB) */
#define POD_RATE_KIB_MIN 1	/* audit.rate_kib: KiB a second */
#define POD_RATE_KIB_MAX (1024 * 1024)
#define POD_RATE_KIB_DEFAULT 4096
#define POD_RATE_WINDOW_S 10	/* the rate is kept over this many
				   seconds: a burst of up to as many
				   seconds' worth passes */

struct pod_audit {
	uint64_t copy_mib;	/* 0: the node's default (-C) */
	unsigned record_kib;
	unsigned rate_kib;
};

struct podspec {
	char	 name[POD_NAME_MAX + 1];
	char	 driver[16];
	char	 image[POD_IMAGE_MAX + 1];	/* a VM's root image */
	json_t	*policy;	/* a profile name or a policy object */
	char	**agents;
	size_t	 nagents;
	struct limits lim;
	long long timeout_s;
	char	 work[POD_WORK_MAX + 1];	/* work.copy, or "" */
	char	 work_export[POD_WORK_MAX + 1];	/* work.export, or "" */
	struct pod_audit audit;	/* the host copy's quota */
	json_t	*network;	/* the egress allowlist (netspec.h), or NULL */
	int	 connect_approval;	/* the policy's obligations hold
					   web_fetch: every connection needs
					   a token, the gateway checks it
					   too (its -A) */
	/* Not the spec's: the log id the node chose for this start of the
	 * pod (pods.c), given to the proxy in its pod file; the only one
	 * the node certifies. */
	char	 log[AUDIT_LOGID_MAX + 1];
};

int	 podspec_parse(struct podspec *, const json_t *, struct audit_err *);
/* The log id of a start of the pod, chosen by the node (pods.c). */
int	 pods_log_id(struct podspec *, struct audit_err *);
int	 podspec_names(const struct podspec *, const char *);
int64_t	 podspec_not_after(const struct podspec *, int64_t);
void	 podspec_free(struct podspec *);

/*
 * A pod's logs on the host (drain.c): proxy.err, vmm.err, vm/console.log,
 * written by a thread of the node's from a pipe the pod writes into: a
 * FIFO in the pod's directory, which a node taking the pod back reads
 * again.
 */
#define POD_LOG_MAX	(1024 * 1024)	/* bytes of one, at one start of
				   the pod; past it the rest is dropped */
#define DRAIN_FIFO_SUFFIX ".pipe"	/* the FIFO: the log's name, this */

int	 drain_open(const char *, const char *, struct audit_err *);
int	 drain_reopen(const char *, const char *, struct audit_err *);

/* A pod's work directory, copied in (work.c). */
#define WORK_ENTRIES_MAX 100000	/* files, links and directories */

int	 work_copy(int, const struct podspec *, int, uid_t, gid_t, size_t *,
	    struct audit_err *);
int	 work_check(int, const struct podspec *, struct audit_err *);
struct policy;
int	 work_policy(struct policy *, const json_t *, struct audit_err *);
int	 work_dir_open(int, const char *, const char *, struct audit_err *);

/*
 * A pod's work, out (export.c): a tar archive (pax) of its /work or a
 * path beneath it, made in memory; and what changed between two of them.
 */
#define EXPORT_ENTRIES_MAX 50000	/* its entries: each at least a 512-byte
				   header, so that this many still fit in
				   EXPORT_BYTES_MAX */
#define DIFF_PATCH_MAX	(16 * 1024 * 1024)	/* bytes of a diff's patch */

struct export_req {
	const char *path;	/* beneath /work, or "" for all of it */
	const json_t *policy;	/* the pod's: what it blocks stays out */
	size_t	 max_bytes, max_entries;
};

struct export_out {
	struct audit_buf tar;
	size_t	 entries;	/* in it */
	size_t	 left_out;	/* blocked by the policy */
	size_t	 skipped;	/* devices, fifos, sockets: never in it */
	const char *kind;	/* on failure: the error kind */
};

int	 export_tar(int, const struct export_req *, struct export_out *,
	    struct audit_err *);
int	 export_repack(const struct audit_buf *, const struct export_req *,
	    struct export_out *, struct audit_err *);

/* What a VM pod's proxy packed, as it comes (podwork.c, export.c). */
struct export_pack {
	size_t	 said;			/* bytes the proxy says it packed */
	size_t	 left_out, skipped;	/* as it says */
	struct audit_buf cpio;		/* come so far */
};

int	 export_packed(const json_t *, size_t, struct export_pack *,
	    const char **, struct audit_err *);
int	 export_piece(const json_t *, struct export_pack *, const char **,
	    struct audit_err *);
int	 export_diff(const struct audit_buf *, const struct audit_buf *,
	    json_t **, const char **, struct audit_err *);

/* The local driver (local.c): nucleus-proxy in the sandbox. */
#define LOCAL_HELLO_MS	10000	/* for the proxy's hello, at start */
#define LOCAL_PATH_MAX	512
#define LOCAL_CHAN_NAME	"chan.sock"	/* the pod's channel, in its dir */
#define LOCAL_CHAN_BACKLOG 4	/* connections waiting on it: the node
				   makes one at a time */
#define POD_UID		65534	/* the pods' proxy's uid and gid (nobody) */

struct local_env {
	const char *proxy;	/* the nucleus-proxy program, on the host */
	const char *trust;	/* the authority keys' keyring: its path */
	char	*trust_text;	/* and what it held at start or reload */
	size_t	 trust_len;
	const struct audit_seckey *node_key;	/* signs each key-cert */
	uid_t	 uid;		/* what a pod's uid 0 is on the host */
	gid_t	 gid;
	const char *binds[SANDBOX_BINDS_MAX + 1];	/* read-only paths */
	int	 work_root;	/* -W: what work.copy is beneath; or -1 */
	const char *egress_hosts;	/* -H: the gateways' hosts file */
	/* the VM drivers */
	const char *guest;	/* -G: vmlinux, initramfs.cpio, root.squashfs */
	const char *qemu;	/* qemu-system-x86_64, or NULL */
	const char *firecracker;	/* or NULL */
	int	 kvm;		/* a plain guest runs on /dev/kvm */
	unsigned tsc_khz;	/* the host's TSC, for TCG guests */
};

struct local_pod {
	char	 name[POD_NAME_MAX + 1];
	char	 cgroup[POD_NAME_MAX + 16];	/* <pod>.<random>: unique */
	char	 dir[LOCAL_PATH_MAX];
	struct sandbox sb;
	int	 chan;		/* the node's end of the pod's channel */
	char	 log[AUDIT_LOGID_MAX + 1];	/* the pod's audit log: the
						   node's choice (spec.log) */
	uint8_t	 pubkey[AUDIT_PK_LEN];		/* and the key it certified */
	size_t	 work_left_out;	/* entries work.copy kept on the host */
	struct egress *egress;	/* its gateway (egress.c), or NULL */
	struct vmegress *vmegress;	/* a qemu pod's streams to it */
	struct fcegress *fcegress;	/* a Firecracker pod's */
};

/*
 * A pod's egress gateway (egress.c): started with the pod when its spec
 * has "network"; *proxy_fd is then the proxy's end of its connection.
 */
#define EGRESS_MSG_MAX	2048	/* bytes of a gateway's message */
#define EGRESS_TRUST_MAX 60000	/* bytes of trust a gateway is given */
struct egress;
int	 egress_start(const struct podspec *, const struct local_env *,
	    const char *, struct egress **, int *, struct audit_err *);
void	 egress_stop(struct egress *);
void	 egress_copied(struct egress *);
int	 egress_waiting(const struct egress *);
/* A VM pod's egress (vmegress.c): its gateway started, and a qemu pod's
 * port connected (a Firecracker pod's socket listened on: fcegress.c),
 * its streams carried to the gateway; and stopped. */
int	 vmegress_start(const struct podspec *, const struct local_env *,
	    struct local_pod *, struct audit_err *);
void	 vmegress_stop(struct local_pod *);
/*
 * A Firecracker pod's egress streams (fcegress.c): one vsock connection
 * per stream, which Firecracker makes a connection to the Unix socket
 * <vm>/fc.sock_<VM_EGRESS_VSOCK_PORT>, where the node listens.
 */
#define VM_EGRESS_VSOCK_PORT	1026	/* the guest connects to CID 2 here */
#define FC_EGRESS_STREAMS_MAX	256	/* streams of a pod at once */
#define FC_EGRESS_LINE_MS	10000	/* for a stream's request line */
#define FC_EGRESS_VIOLATIONS_MAX 64	/* broken rules, then no more
					   streams for the pod */
struct fcegress;
struct ev_loop;
struct fcegress *fcegress_start(struct ev_loop *, const char *, int,
	    const char *, void (*)(json_t *, void *), void *,
	    struct audit_err *);
int	 fcegress_chown(struct fcegress *, uid_t, gid_t);
void	 fcegress_stop(struct fcegress *);

int	 local_start(const struct podspec *, const struct local_env *,
	    const char *, struct local_pod *, struct audit_err *);
char	*local_pod_file(const struct podspec *, uid_t, gid_t, size_t *,
	    struct audit_err *);
void	 local_web(const char *, const char *);
int	 local_hello(struct local_pod *, const struct local_env *,
	    const char *, struct audit_buf *, struct audit_err *);
int	 local_connect(const struct local_pod *, int64_t, struct audit_err *);
/* The same, a pod taken back: its new gateway's connection (or -1) sent
 * to its proxy with the node's first word. */
int	 local_connect_gw(const struct local_pod *, int64_t, int,
	    struct audit_err *);
int	 local_resume(int, const char *, int64_t, const char *,
	    struct audit_err *);

/*
 * The VM drivers (vm.c): a VMM process in its own cgroup, as the pod's
 * host uid, under the node's seccomp filter.
 */
#define VMM_OVERHEAD_MIB 256	/* the VMM's own memory, past the guest's */
#define VMM_PIDS	64	/* the VMM's threads */
#define QEMU_TB_MIB	64	/* TCG's translation cache */
#define VM_READY_MS	60000	/* pod.create to the guest's hello */
#define VM_START_POLL_MS 20	/* between tries at the guest's channel */
#define VM_CONNECT_MS	100	/* one try at Firecracker's vsock, at most:
				   the node's loop waits on it */
#define HELLO_MAX	1024	/* bytes in the proxy's hello line */

struct vmm_spec {
	const char *cgroup;
	struct limits lim;
	uid_t	 uid;
	gid_t	 gid;
	const char *errpath;	/* its stderr */
	const char *outpath;	/* its stdout: QEMU's, the guest's
				   console; or NULL: errpath */
	const char *dir;	/* the pod's directory: the logs' FIFOs */
	int	 outlives;	/* it outlives the node, which takes it back
				   (QEMU, Firecracker); or it dies with the
				   node */
};

int	 vmm_start(char *const [], const struct vmm_spec *, struct sandbox *,
	    struct audit_err *);

/* The paths of a VM pod's files (vm_files makes them). */
struct vm_paths {
	char	 vm[LOCAL_PATH_MAX + 8];
	char	 kernel[LOCAL_PATH_MAX + 16];
	char	 initrd[LOCAL_PATH_MAX + 16];
	char	 root[LOCAL_PATH_MAX + POD_IMAGE_MAX + 16];
	char	 scratch[LOCAL_PATH_MAX + 24];
	char	 errpath[LOCAL_PATH_MAX + 16];
	char	 sock[LOCAL_PATH_MAX + 16];	/* the VMM's: fits sun_path */
};

/* The kernel's arguments, but the TSC's and init's. */
#define VM_APPEND	"console=ttyS0 loglevel=3 panic=-1 random.trust_cpu=on " \
			"lsm=landlock,yama rdinit=/init"

int	 vm_sock_pin(const char *, uid_t, char *, size_t, struct audit_err *);
int	 vm_sock_connect(const char *, uid_t, struct audit_err *);
int	 vm_sock_path(const char *, const char *, char *, size_t,
	    struct audit_err *);
int	 vm_files(const struct podspec *, const struct local_env *,
	    const char *, struct local_pod *, struct vm_paths *,
	    struct audit_err *);
void	 vmm_limits(const struct podspec *, const struct local_env *,
	    const struct local_pod *, const struct vm_paths *,
	    struct vmm_spec *);

/* The QEMU driver (qemu.c): its command line, its channel. */
int	 qemu_launch(const struct podspec *, const struct local_env *,
	    const char *, struct local_pod *, struct audit_err *);
int	 qemu_connect(const struct local_pod *, uid_t, struct audit_err *);
int	 qemu_reconnect(const struct local_pod *, const struct local_env *,
	    int64_t, struct audit_err *);
#define QEMU_RECONNECT_MS 2000	/* for QEMU to listen again, once the
				   old node's connection is gone */
unsigned qemu_tsc_khz(void);
int	 vm_launch(const struct podspec *, const struct local_env *,
	    const char *, struct local_pod *, struct audit_err *);
int	 vm_connect(const struct podspec *, const struct local_pod *, uid_t,
	    int);
int	 vm_reconnect(const struct podspec *, const struct local_pod *,
	    const struct local_env *, int64_t, struct audit_err *);
#define FC_RECONNECT_MS	2000	/* for a Firecracker guest's proxy to take
				   the node's channel connection */
void	 vm_probe(struct local_env *);

/* nucleus-node doctor (doctor.c): which drivers can run here; kvm.c:
 * does a plain guest run on /dev/kvm. */
int	 doctor_run(int);
int	 kvm_usable(char *, size_t);

/*
 * ---- The Firecracker driver (firecracker.c, vsock.c) ----
 *
 * Firecracker runs with --no-api --config-file: the whole VM is one JSON
 * file, written by fc_config_write from fc_config.  Each value is
 * checked here against Firecracker's own limits (its API description,
 * t/firecracker/firecracker-api.yaml; t5010 checks the result against
 * it).  The guest sees the drives in this order: /dev/vda the read-only
 * root image, /dev/vdb the scratch image; the initramfs is the root.
 */
#define FC_VCPU_MAX	32	/* machine-config.vcpu_count, at most */
#define FC_GUEST_CID	3	/* vsock.guest_cid: the least a guest has */
#define FC_PATH_MAX	1024	/* bytes in a host path in the config */
#define FC_UDS_MAX	107	/* bytes in vsock.uds_path: a sun_path */
#define FC_BOOT_ARGS_MAX 1024	/* bytes in boot_args: Firecracker's
				   command line holds 2048 and appends
				   a virtio_mmio.device= per device */
#define FC_CONFIG_NAME	"firecracker.json"	/* in the pod's directory */

/* Host paths (or, under the jailer, paths inside its chroot). */
struct fc_files {
	const char *kernel;	/* the uncompressed vmlinux */
	const char *initrd;	/* the pod's initramfs */
	const char *root;	/* the read-only squashfs: /dev/vda */
	const char *scratch;	/* the pod's ext4 image, scratch_mib: /dev/vdb */
	const char *vsock;	/* vsock.uds_path, made by Firecracker */
	const char *boot_args;	/* the kernel's command line */
};

json_t	*fc_config(const struct podspec *, const struct fc_files *,
	    struct audit_err *);
int	 fc_config_write(const char *, const json_t *, uid_t, gid_t, char *,
	    size_t, struct audit_err *);

/*
 * The hybrid vsock (vsock.c): the host reaches guest port P by
 * connecting to the VMM's Unix socket, writing "CONNECT P\n" and reading
 * "OK <host port>\n"; what follows is the guest's stream.  Firecracker
 * is not listening until it has started, and closes the connection
 * while nothing listens on P in the guest (early in its boot): both are
 * retried, with backoff, until the caller's deadline.  So is an OK that
 * does not come within FC_VSOCK_OK_MS (a CONNECT lost at boot).  An
 * answer that is not OK is not retried: something else is there.
 */
#define FC_VSOCK_LINE_MAX 32	/* bytes in the answer, its newline too:
				   "OK " and a u32 need 14 */
#define FC_VSOCK_OK_MS	1000	/* for the OK, in one attempt */
#define FC_VSOCK_BACKOFF_MIN_MS 10	/* between attempts: first */
#define FC_VSOCK_BACKOFF_MAX_MS 200	/* doubling up to this */

int	 fc_vsock_connect(const char *, const char *, unsigned, int,
	    struct audit_err *);
int	 fc_vsock_answer_ok(const char *, size_t);

/*
 * Starting Firecracker (firecracker.c): the argv the node's VMM-start
 * helper execs, in its own cgroup, under the node's seccomp filter, as
 * an unprivileged uid.  Directly:
 *
 *	firecracker --no-api --config-file CONFIG
 *
 * or, where a jailer is installed, under it (it chroots, makes /dev/kvm
 * there, drops to uid:gid and execs firecracker with what follows --;
 * CONFIG and every path in it are then paths inside its chroot,
 * fc_jail_root):
 *
 *	jailer --id POD --exec-file FIRECRACKER --uid U --gid G
 *	    --cgroup-version 1|2 [--chroot-base-dir DIR]
 *	    -- --no-api --config-file CONFIG
 *
 * Firecracker's own seccomp filter stays on: no --no-seccomp, ever.
 */
#define FC_ARGV_MAX	20	/* words in the argv, at most */
#define FC_ID_MAX	64	/* characters in a jailer's --id, of
				   [A-Za-z0-9-] */
#define FC_JAIL_BASE	"/srv/jailer"	/* the jailer's chroot base,
					   by default */

struct fc_exec {
	const char *firecracker;	/* the program: an absolute path */
	const char *jailer;	/* its jailer, or NULL: firecracker alone */
	uid_t	 uid;		/* the jailer drops to these */
	gid_t	 gid;
	int	 cgroup_version;	/* the jailer's: 1 or 2 */
	const char *chroot_base;	/* or NULL: FC_JAIL_BASE */
};

/* An argv: argv[] points into the caller's strings and into this. */
struct fc_cmd {
	char	*argv[FC_ARGV_MAX + 1];
	char	 uid[24], gid[24], cgroup_version[4];
};

int	 vm_which(const char *, char *, size_t);
int	 fc_argv(struct fc_cmd *, const struct fc_exec *, const char *,
	    const char *, struct audit_err *);
int	 fc_jail_root(const struct fc_exec *, const char *, char *, size_t,
	    struct audit_err *);

#endif /* NUCLEUS_NODE_H */
