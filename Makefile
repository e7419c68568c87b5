# Nucleus: an enforcement layer for AI agents.  See README.md.
#
#	make			build everything into build/
#	make demo		install what is missing, build, run scripts/demo
#				(DRIVER=qemu: in a VM, with make guest guest-tools)
#	make check		install what is missing, build, run every test
#	make SANITIZE=1 check	the same under ASan and UBSan, in build/san/
#	make bench		benchmarks: figures and ratios to a baseline
#	make fuzz		each libFuzzer target for FUZZ_SECONDS,
#				FUZZ_JOBS at once
#	make static		build/static/nucleus-proxy, for the guest image
#	make guest		the guest image for the VM drivers, in build/guest
#	make guest-tools	the fuller image of commands (git, make, gcc), too
#	make install		into $(DESTDIR)$(PREFIX)
#	make uninstall		what make install put there, removed
#	make lint		shellcheck, scan-build, cppcheck and a clang build
#
# A packager's flags are honoured: CPPFLAGS, CFLAGS and LDFLAGS as
# dpkg-buildflags gives them (the project's hardening and warnings are
# added to them, never replaced by them), and WERROR= builds without
# -Werror (make check and CI keep it).

# What --version says, in every program (libaudit/usage.c alone sees it).
VERSION = 0.1.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# systemd's units and tmpfiles.d(5) entries: where systemd looks for a
# PREFIX's (/usr/local/lib/systemd/system, /usr/lib/... for /usr).
UNITDIR ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
EXAMPLESDIR ?= $(PREFIX)/share/doc/nucleus/examples
DESTDIR ?=
CPPFLAGS ?=
CFLAGS ?= -O2 -g
EXTRA_CFLAGS ?=
LDFLAGS ?=
SANITIZE ?=
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZ_JOBS ?= 2
PROVE ?= prove
PROVE_FLAGS ?=
INSTALL ?= install

WERROR ?= -Werror

# bubblewrap's set, for every compiler; then gcc's own: a formatted
# string that might not fit is an error.
WARN_ANY = -Wall -Wextra $(WERROR) -Wshadow -Wmissing-prototypes \
	-Wstrict-prototypes -Wformat=2 -Wformat-nonliteral \
	-Wimplicit-function-declaration
WARN_gcc = -Wformat-truncation=2
WARN_cc = $(WARN_gcc)
WARN = $(WARN_ANY) $(WARN_$(notdir $(CC)))
# _FORTIFY_SOURCE as the packager's CPPFLAGS set it, else at level 2.
FORTIFY = $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS)),,-D_FORTIFY_SOURCE=2)
HARDEN = -fstack-protector-strong $(FORTIFY) -fPIE
HARDEN_LD = -pie -Wl,-z,relro,-z,now,-z,noexecstack

ifeq ($(SANITIZE),1)
B = build/san
# ASan's interceptors check what _FORTIFY_SOURCE would; the two disagree.
HARDEN = -fstack-protector-strong -fPIE
SAN = -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
else
B = build
SAN =
endif

# pkg-config is asked once per library and make run, when something is
# first built (not when the Makefile is read, so that "make check" can
# install a missing package before it is needed): each variable expands
# the query once and then holds its answer.
need = $(if $(shell pkg-config --exists $(1) && echo y),,$(error \
	$(1) not found: install the Debian package $(2) (scripts/install-deps \
	does))) $(shell pkg-config --cflags --libs $(1))
once = $(eval $(1) := $(2))$($(1))
PKG_JANSSON = $(call once,PKG_JANSSON,$(call need,jansson,libjansson-dev))
PKG_SODIUM = $(call once,PKG_SODIUM,$(call need,libsodium,libsodium-dev))
PKG_SECCOMP = $(call once,PKG_SECCOMP,$(call need,libseccomp,libseccomp-dev))
PKG_LMDB = $(call once,PKG_LMDB,$(call need,lmdb,liblmdb-dev))
PKG_SYSTEMD = $(call once,PKG_SYSTEMD,$(call need,libsystemd,libsystemd-dev))
PKG_PCRE2 = $(call once,PKG_PCRE2,$(call need,libpcre2-8,libpcre2-dev))
PKG_ARCHIVE = $(call once,PKG_ARCHIVE,$(call need,libarchive,libarchive-dev))
PKG_GIT2 = $(call once,PKG_GIT2,$(call need,libgit2,libgit2-dev))
PKG_CURL = $(call once,PKG_CURL,$(call need,libcurl,libcurl4-openssl-dev))
JANSSON_CFLAGS = $(filter-out -l% -L% -Wl%,$(PKG_JANSSON))
JANSSON_LIBS = $(filter -l% -L% -Wl%,$(PKG_JANSSON))
SODIUM_CFLAGS = $(filter-out -l% -L% -Wl%,$(PKG_SODIUM))
SODIUM_LIBS = $(filter -l% -L% -Wl%,$(PKG_SODIUM))
SECCOMP_LIBS = $(filter -l% -L% -Wl%,$(PKG_SECCOMP))
LMDB_LIBS = $(filter -l% -L% -Wl%,$(PKG_LMDB))
# sd_notify, for the daemons' main.c alone (the libraries never call it).
SYSTEMD_CFLAGS = $(filter-out -l% -L% -Wl%,$(PKG_SYSTEMD))
SYSTEMD_LIBS = $(filter -l% -L% -Wl%,$(PKG_SYSTEMD))
# The proxy's grep matches regular expressions with PCRE2 (search.c).
PCRE2_CFLAGS = $(filter-out -l% -L% -Wl%,$(PKG_PCRE2))
PCRE2_LIBS = $(filter -l% -L% -Wl%,$(PKG_PCRE2))
# The node's export of a pod's work: tar archives (libarchive) and the
# patch of what changed (libgit2), export.c.
WORK_CFLAGS = $(filter-out -l% -L% -Wl%,$(PKG_ARCHIVE) $(PKG_GIT2))
WORK_LIBS = $(filter -l% -L% -Wl%,$(PKG_ARCHIVE) $(PKG_GIT2))
# The proxy's web_fetch: libcurl, in proxy/curl/ (linked into the
# dynamic nucleus-proxy alone: the static one answers web_fetch
# unavailable: libcurl.a would need static OpenSSL, GSSAPI, LDAP, ...).
CURL_CFLAGS = $(filter-out -l% -L% -Wl%,$(PKG_CURL))
CURL_LIBS = $(filter -l% -L% -Wl%,$(PKG_CURL))
# libev ships no pkg-config file: look for its header.
EV_LIBS = $(if $(wildcard /usr/include/ev.h),-lev,$(error libev not \
	found: install the Debian package libev-dev (scripts/install-deps \
	does)))

# Each directory sees its own headers and those of the libraries below
# it, never a program's: libpolicy and libaudit stand alone, libdaemon
# (the daemons' plumbing) sits on libaudit, and each program on all
# three.  The tests see everything.
INCS = -Ilibpolicy -Ilibaudit -Ilibdaemon -Iproxy -Iauthority -Inode -Imcp
INCS_libpolicy = -Ilibpolicy
INCS_libaudit = -Ilibaudit
INCS_libdaemon = -Ilibdaemon -Ilibaudit
INCS_proxy = -Iproxy -Ilibdaemon -Ilibaudit -Ilibpolicy
INCS_authority = -Iauthority -Ilibdaemon -Ilibaudit -Ilibpolicy
INCS_node = -Inode -Ilibdaemon -Ilibaudit -Ilibpolicy
INCS_gateway = -Igateway -Ilibdaemon -Ilibaudit
INCS_mcp = -Imcp -Ilibdaemon -Ilibaudit
$(foreach d,libpolicy libaudit libdaemon proxy authority node gateway mcp,$(eval \
	$(B)/$(d)/%.o build/fuzz/obj/$(d)/%.o: INCS = $$(INCS_$(d))))

ALL_CFLAGS = -std=gnu11 $(CPPFLAGS) $(CFLAGS) $(SAN) $(HARDEN) $(WARN) \
	-MMD -MP $(INCS) $(JANSSON_CFLAGS) $(SODIUM_CFLAGS) $(PCRE2_CFLAGS) \
	$(EXTRA_CFLAGS)
ALL_LDFLAGS = $(SAN) $(HARDEN_LD) $(LDFLAGS)

POLICY_SRCS = $(wildcard libpolicy/[a-z]*.c)
POLICY_LIB_SRCS = $(filter-out libpolicy/nucleus-policy.c,$(POLICY_SRCS))
POLICY_OBJS = $(POLICY_LIB_SRCS:%.c=$(B)/%.o)

AUDIT_TOOL_SRCS = libaudit/nucleus-audit-verify.c libaudit/statefile.c
AUDIT_LIB_SRCS = $(filter-out $(AUDIT_TOOL_SRCS),$(wildcard libaudit/*.c))
AUDIT_OBJS = $(AUDIT_LIB_SRCS:%.c=$(B)/%.o)
# The verifier holds no signing code: only these parts of libaudit.
VERIFY_ONLY_OBJS = $(addprefix $(B)/libaudit/,cjson.o scan.o encode.o fmt.o \
	keyring.o verify.o chain.o wipe.o usage.o text.o)
AUDIT_LIBS = $(SODIUM_LIBS) $(JANSSON_LIBS) -lpthread

DAEMON_SRCS = $(wildcard libdaemon/*.c)
DAEMON_OBJS = $(DAEMON_SRCS:%.c=$(B)/%.o)

PROXY_SRCS = $(wildcard proxy/*.c)
PROXY_OBJS = $(PROXY_SRCS:%.c=$(B)/%.o)
# Everything but main(), for the unit tests of the proxy's parts.
PROXY_LIB_OBJS = $(filter-out $(B)/proxy/main.o,$(PROXY_OBJS))

AUTHORITY_SRCS = $(wildcard authority/*.c)
AUTHORITY_OBJS = $(AUTHORITY_SRCS:%.c=$(B)/%.o)
AUTHORITY_LIB_OBJS = $(filter-out $(B)/authority/main.o,$(AUTHORITY_OBJS))

NODE_SRCS = $(wildcard node/*.c)
NODE_OBJS = $(NODE_SRCS:%.c=$(B)/%.o)
NODE_LIB_OBJS = $(filter-out $(B)/node/main.o,$(NODE_OBJS))

MCP_SRCS = $(wildcard mcp/*.c)
MCP_OBJS = $(MCP_SRCS:%.c=$(B)/%.o)
MCP_LIB_OBJS = $(filter-out $(B)/mcp/main.o,$(MCP_OBJS))

# Commands of section 1 go to bin, the daemons of section 8 to sbin.
USER_PROGRAMS = $(B)/nucleus-policy $(B)/nucleus-audit-verify $(B)/nucleus-mcp
DAEMON_PROGRAMS = $(B)/nucleus-proxy $(B)/nucleus-authority $(B)/nucleus-node \
	$(B)/nucleus-gateway
PROGRAMS = $(USER_PROGRAMS) $(DAEMON_PROGRAMS)
MANPAGES = $(wildcard man/*.[1-8])
UNITS = nucleus-node.service nucleus-authority.service
EXAMPLES = $(wildcard dist/examples/*)

HELPER_SRCS = $(wildcard t/helper/*.c)
HELPERS = $(HELPER_SRCS:t/helper/%.c=$(B)/t/helper/%)
UNIT_SRCS = $(wildcard t/unit/t[0-9]*.c)
UNIT_TESTS = $(UNIT_SRCS:t/unit/%.c=$(B)/t/%.t)
TAP_OBJ = $(B)/t/unit/tap.o

FUZZ_SRCS = $(wildcard t/fuzz/fuzz-*.c)
FUZZ_BINS = $(FUZZ_SRCS:t/fuzz/%.c=build/fuzz/%)
FUZZ_COMMON = -std=gnu11 -g -O1 -fno-sanitize-recover=all $(WARN_ANY) \
	$(INCS)
FUZZ_FLAGS = $(FUZZ_COMMON) -fsanitize=fuzzer,address,undefined
FUZZ_OBJ_FLAGS = $(FUZZ_COMMON) -fsanitize=fuzzer-no-link,address,undefined

all: $(B)/libpolicy.a $(B)/libaudit.a $(B)/libdaemon.a $(PROGRAMS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The version, given once; usage.o is made again when the Makefile
# (which holds it) changes.
$(B)/libaudit/usage.o: ALL_CFLAGS += -DNUCLEUS_VERSION='"$(VERSION)"'
$(B)/libaudit/usage.o: Makefile

$(B)/libpolicy.a: $(POLICY_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/libaudit.a: $(AUDIT_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/libdaemon.a: $(DAEMON_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# The policy tool parses its numbers as every program does, and says
# --help and --version as they do: with libaudit's num.o and usage.o,
# the parts of libaudit it takes.
$(B)/libpolicy/nucleus-policy.o build/fuzz/obj/libpolicy/nucleus-policy.o: \
	INCS = -Ilibpolicy -Ilibaudit
$(B)/nucleus-policy: $(B)/libpolicy/nucleus-policy.o $(B)/libpolicy.a \
	    $(B)/libaudit/num.o $(B)/libaudit/usage.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(JANSSON_LIBS)

$(B)/nucleus-audit-verify: $(B)/libaudit/nucleus-audit-verify.o \
	    $(B)/libaudit/statefile.o $(VERIFY_ONLY_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(AUDIT_LIBS)

$(B)/proxy/curl/fetch.o: ALL_CFLAGS += $(CURL_CFLAGS)
$(B)/nucleus-proxy: $(PROXY_OBJS) $(B)/proxy/curl/fetch.o $(B)/libdaemon.a \
	    $(B)/libpolicy.a $(B)/libaudit.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(AUDIT_LIBS) $(SECCOMP_LIBS) \
	    $(LMDB_LIBS) $(EV_LIBS) $(PCRE2_LIBS) $(CURL_LIBS) -lm

# The proxy of the guest image, where there is no loader and no library:
# static, from the -dev packages' .a archives.  static-pie, so that it
# keeps ASLR like the others.  Not under SANITIZE (no static ASan).
static_lib = $(if $(filter /%,$(shell $(CC) -print-file-name=lib$(1).a)), \
	-l$(1),$(error \
	lib$(1).a not found: install the Debian package $(2) (scripts/install-deps \
	does)))
STATIC_PROXY_LIBS = $(call static_lib,sodium,libsodium-dev) \
	$(call static_lib,jansson,libjansson-dev) \
	$(call static_lib,seccomp,libseccomp-dev) \
	$(call static_lib,lmdb,liblmdb-dev) $(call static_lib,ev,libev-dev) \
	$(call static_lib,pcre2-8,libpcre2-dev)
STATIC_LDFLAGS = -static-pie -Wl,-z,relro,-z,now,-z,noexecstack $(LDFLAGS)
STATIC = $(if $(filter 1,$(SANITIZE)),,$(B)/static/nucleus-proxy)

$(B)/static/nucleus-proxy: $(PROXY_OBJS) $(B)/libdaemon.a $(B)/libpolicy.a \
	    $(B)/libaudit.a
	@mkdir -p $(@D)
	$(CC) $(STATIC_LDFLAGS) -o $@ $^ $(STATIC_PROXY_LIBS) -lpthread -lm

static: $(STATIC)

$(B)/authority/main.o $(B)/node/main.o: ALL_CFLAGS += $(SYSTEMD_CFLAGS)
$(B)/node/export.o: ALL_CFLAGS += $(WORK_CFLAGS)

$(B)/nucleus-authority: $(AUTHORITY_OBJS) $(B)/libdaemon.a \
	    $(B)/libpolicy.a $(B)/libaudit.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(AUDIT_LIBS) $(SECCOMP_LIBS) \
	    $(LMDB_LIBS) $(EV_LIBS) $(SYSTEMD_LIBS)

GATEWAY_SRCS = $(wildcard gateway/*.c)
GATEWAY_OBJS = $(GATEWAY_SRCS:%.c=$(B)/%.o)

$(B)/nucleus-gateway: $(GATEWAY_OBJS) $(B)/libdaemon.a $(B)/libaudit.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(AUDIT_LIBS) $(SECCOMP_LIBS) $(EV_LIBS)

$(B)/nucleus-node: $(NODE_OBJS) $(B)/libdaemon.a $(B)/libpolicy.a \
	    $(B)/libaudit.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(AUDIT_LIBS) $(SECCOMP_LIBS) \
	    $(LMDB_LIBS) $(EV_LIBS) $(SYSTEMD_LIBS) $(WORK_LIBS)

# The MCP server: the daemons' client side (libdaemon's wire.c and
# ask.c).
$(B)/nucleus-mcp: $(MCP_OBJS) $(B)/libdaemon.a $(B)/libaudit.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(AUDIT_LIBS)

$(B)/libproxy.a: $(PROXY_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# The authority's parts but main(), for unit tests.
$(B)/libauthority.a: $(AUTHORITY_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# The node's parts but main(), for unit tests.
$(B)/libnode.a: $(NODE_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/t/%.t: $(B)/t/unit/%.o $(TAP_OBJ) $(B)/libproxy.a \
	    $(B)/libauthority.a $(B)/libnode.a $(B)/libdaemon.a $(B)/libpolicy.a \
	    $(B)/libaudit.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(JANSSON_LIBS) $(AUDIT_LIBS) \
	    $(LMDB_LIBS) $(SECCOMP_LIBS) $(EV_LIBS) $(PCRE2_LIBS) $(WORK_LIBS) -lm

$(B)/t/helper/%: $(B)/t/helper/%.o $(B)/libdaemon.a $(B)/libaudit.a \
	    $(B)/libpolicy.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(AUDIT_LIBS)

# Helpers that call the node's parts (the Firecracker driver's).
NODE_HELPERS = $(B)/t/helper/fc-config $(B)/t/helper/vsock-connect \
	$(B)/t/helper/fc-egress
$(NODE_HELPERS): $(B)/t/helper/%: $(B)/t/helper/%.o $(B)/libnode.a \
	    $(B)/libdaemon.a $(B)/libaudit.a $(B)/libpolicy.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(AUDIT_LIBS) $(SECCOMP_LIBS) \
	    $(LMDB_LIBS) $(EV_LIBS) $(WORK_LIBS)

# try-syscall runs inside the command sandbox, under its address-space
# limit, where ASan's shadow memory cannot be reserved: it is never
# instrumented.
$(B)/t/helper/try-syscall: t/helper/try-syscall.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -O2 $(WARN) $(HARDEN) $(HARDEN_LD) $(LDFLAGS) -o $@ $<

# pod-probe runs inside a pod, under the same limit: never instrumented.
$(B)/t/helper/pod-probe: t/helper/pod-probe.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -O2 $(WARN) $(HARDEN) $(HARDEN_LD) $(LDFLAGS) -o $@ $<

# "make check" is the one command a new user runs: it installs what the
# build and the tests need, then builds and tests.
check: deps
	$(MAKE) test

deps:
	scripts/install-deps

# The main job in one command (as root): scripts/demo on the example
# project, with the programs of this build.
demo: deps
	$(MAKE) all $(if $(filter qemu,$(DRIVER)),guest guest-tools)
	DRIVER=$(DRIVER) NUCLEUS_BUILD=$(abspath $(B)) scripts/demo

# The VM tests boot the guest image: made first, except under SANITIZE
# (the guest's proxy is static).  Without it (no archive, say) they skip.
test: all $(STATIC) $(UNIT_TESTS) $(HELPERS)
	$(if $(filter 1,$(SANITIZE)),,$(MAKE) guest guest-tools || \
	    echo "make test: no guest image: the VM tests skip (t5001 and t5005 say why)")
	$(if $(MANPAGES),mandoc -Tlint -Wwarning $(MANPAGES))
	@rm -f $(B)/test-failures.log
	NUCLEUS_BUILD=$(abspath $(B)) TEST_DIRECTORY=$(abspath t) \
	    SANITIZE=$(SANITIZE) \
	    $(PROVE) $(PROVE_FLAGS) --exec '' t/t[0-9]*.sh $(UNIT_TESTS) || \
	    { t/failures-say $(B)/test-failures.log; exit 1; }

BENCH_BINS = $(patsubst t/bench/%.c,$(B)/bench/%,$(wildcard t/bench/*.c))
$(B)/t/bench/%.o: ALL_CFLAGS += -It/bench/lib
$(B)/bench/%: $(B)/t/bench/%.o $(B)/t/bench/lib/bench.o $(B)/libdaemon.a \
	    $(B)/libpolicy.a $(B)/libaudit.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(JANSSON_LIBS) $(AUDIT_LIBS)

bench: deps
	$(MAKE) all $(BENCH_BINS) $(HELPERS)
	@for b in $(BENCH_BINS); do $$b || exit 1; done
	@NUCLEUS_BUILD=$(abspath $(B)) t/bench/bench-egress.sh

# The libraries are compiled once with the fuzzer's instrumentation and
# linked into every target.
FUZZ_LIB_OBJS = $(POLICY_LIB_SRCS:%.c=build/fuzz/obj/%.o) \
	$(AUDIT_LIB_SRCS:%.c=build/fuzz/obj/%.o) \
	$(DAEMON_SRCS:%.c=build/fuzz/obj/%.o)
FUZZ_PROXY_OBJS = $(PROXY_LIB_OBJS:$(B)/%=build/fuzz/obj/%)
FUZZ_AUTHORITY_OBJS = $(AUTHORITY_LIB_OBJS:$(B)/%=build/fuzz/obj/%)
FUZZ_NODE_OBJS = $(NODE_LIB_OBJS:$(B)/%=build/fuzz/obj/%)
FUZZ_MCP_OBJS = $(MCP_LIB_OBJS:$(B)/%=build/fuzz/obj/%)
build/fuzz/obj/%.o: %.c $(wildcard libpolicy/*.h libaudit/*.h libdaemon/*.h \
	    proxy/*.h authority/*.h node/*.h mcp/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_OBJ_FLAGS) $(JANSSON_CFLAGS) $(SODIUM_CFLAGS) \
	    $(PCRE2_CFLAGS) -c -o $@ $<

# The proxy's parts as an archive: a target links only what it uses.
build/fuzz/libproxy.a: $(FUZZ_PROXY_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# The authority's parts but main(), the same way.
build/fuzz/libauthority.a: $(FUZZ_AUTHORITY_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# The node's parts the same way (a target pulls only what it uses).
build/fuzz/libnode.a: $(FUZZ_NODE_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# nucleus-mcp's parts but main(), the same way.
build/fuzz/libmcp.a: $(FUZZ_MCP_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# The verifier's state file (a tool's part, not the library's) too.
FUZZ_TOOL_OBJS = build/fuzz/obj/libaudit/statefile.o
build/fuzz/%: t/fuzz/%.c $(FUZZ_LIB_OBJS) $(FUZZ_TOOL_OBJS) \
	    build/fuzz/libauthority.a build/fuzz/libnode.a build/fuzz/libproxy.a \
	    build/fuzz/libmcp.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(JANSSON_CFLAGS) $(SODIUM_CFLAGS) -o $@ $< \
	    build/fuzz/libauthority.a build/fuzz/libnode.a \
	    build/fuzz/libproxy.a build/fuzz/libmcp.a $(FUZZ_LIB_OBJS) \
	    $(FUZZ_TOOL_OBJS) \
	    $(AUDIT_LIBS) $(SECCOMP_LIBS) $(LMDB_LIBS) $(EV_LIBS) \
	    $(PCRE2_LIBS) $(WORK_LIBS) -lm

# Each target runs for FUZZ_SECONDS from its committed seed corpus; a
# crash, a leak or a hang (over 10 s on one input) fails the run.
fuzz: deps
	$(MAKE) $(FUZZ_BINS)
	$(MAKE) -j$(FUZZ_JOBS) $(FUZZ_BINS:build/fuzz/%=fuzz-run-%)

# One target's run (FUZZ_JOBS of them at once: each fuzzes on one core,
# as it would alone, and the smoke takes half the time on two).
fuzz-run-%: build/fuzz/%
	@n=$*; mkdir -p build/fuzz/corpus/$$n; \
	    echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	    dict=; [ -f t/fuzz/$$n.dict ] && dict=-dict=t/fuzz/$$n.dict; \
	    $< -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	        -rss_limit_mb=2048 -print_final_stats=1 $$dict \
	        -artifact_prefix=build/fuzz/$$n- \
	        build/fuzz/corpus/$$n t/fuzz/corpus/$$n \
	        2>build/fuzz/$$n.log || { tail -50 build/fuzz/$$n.log; \
	        exit 1; }; \
	    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' \
	        build/fuzz/$$n.log | sed "s/^/$$n: /"

# The guest image the VM drivers boot, in $(B)/guest: what comes from
# Debian's archive (the kernel, its modules, the root image of commands)
# verified and cached outside the tree by scripts/guest-image, and the
# initramfs around this tree's static proxy, made again on every run (the
# same bytes when nothing changed) by scripts/guest-initramfs, which
# prints the directory.
guest: deps
	$(if $(filter 1,$(SANITIZE)),$(error no guest image under SANITIZE=1: \
	    the static proxy cannot be sanitized))
	$(MAKE) static
	@dir=$$(scripts/guest-image) && \
	    scripts/guest-initramfs -o $(B)/guest $(B)/static/nucleus-proxy "$$dir"

# The guest's read-only image of commands, from the Debian packages that
# scripts/guest-tools.lock pins, verified and cached outside the tree:
# puts it beside the guest image as tools.squashfs, and prints its path.
guest-tools: deps
	@img=$$(scripts/guest-tools) && mkdir -p $(B)/guest && \
	    { ln -f "$$img" $(B)/guest/tools.squashfs 2>/dev/null || \
	    cp "$$img" $(B)/guest/tools.squashfs; } && \
	    echo "$(abspath $(B))/guest/tools.squashfs"

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	$(INSTALL) -m 0755 $(USER_PROGRAMS) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0755 $(DAEMON_PROGRAMS) $(DESTDIR)$(SBINDIR)/
	@for s in 1 5 7 8; do \
	    pages=$$(ls man/*.$$s 2>/dev/null) || continue; \
	    echo "$(INSTALL) -m 0644 $$pages $(DESTDIR)$(MANDIR)/man$$s/"; \
	    $(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$s && \
	    $(INSTALL) -m 0644 $$pages $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; \
	done
	$(INSTALL) -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) \
	    $(DESTDIR)$(EXAMPLESDIR)
	@for u in $(UNITS); do \
	    echo "sed s,@SBINDIR@,$(SBINDIR),g dist/systemd/$$u.in >$(DESTDIR)$(UNITDIR)/$$u"; \
	    sed 's,@SBINDIR@,$(SBINDIR),g' dist/systemd/$$u.in \
	        >$(DESTDIR)$(UNITDIR)/$$u && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	$(INSTALL) -m 0644 dist/systemd/nucleus.tmpfiles \
	    $(DESTDIR)$(TMPFILESDIR)/nucleus.conf
	$(INSTALL) -m 0644 $(EXAMPLES) $(DESTDIR)$(EXAMPLESDIR)/

# Only what install puts in place; the directories stay, as they may
# hold other things.
uninstall:
	rm -f $(USER_PROGRAMS:$(B)/%=$(DESTDIR)$(BINDIR)/%) \
	    $(DAEMON_PROGRAMS:$(B)/%=$(DESTDIR)$(SBINDIR)/%)
	rm -f $(foreach p,$(MANPAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))
	rm -f $(UNITS:%=$(DESTDIR)$(UNITDIR)/%) \
	    $(DESTDIR)$(TMPFILESDIR)/nucleus.conf \
	    $(EXAMPLES:dist/examples/%=$(DESTDIR)$(EXAMPLESDIR)/%)

clean:
	rm -rf build

.PHONY: all check deps demo test bench fuzz guest guest-tools static install \
	uninstall clean
.PHONY: lint
.SECONDARY:

-include $(shell find $(B) -path $(B)/trash -prune -o -name '*.d' -type f -print 2>/dev/null)

# make lint: the checks a packager runs, each failing on any finding:
# shellcheck on the shell scripts (t/ has its own), scan-build over a
# fresh clang build in build/scan (it analyses only what it compiles),
# cppcheck, and the clang build of everything, tests' code too, in
# build/clang under the same -Werror.  A false finding is justified in
# place: a "shellcheck disable" comment, an assert or a note for
# scan-build, a "cppcheck-suppress" comment (--inline-suppr).
LINT_SCRIPTS = $(shell grep -lsm1 '^\#!/bin/sh' $(wildcard scripts/* .ci/*))
LINT_SRCS = $(filter-out t/%,$(wildcard */*.c proxy/curl/*.c))
# cppcheck does not read system headers by default; jansson's is forced in
# so that its iteration macros (json_object_foreach) parse.
CPPCHECK_FLAGS = --quiet --error-exitcode=1 --inline-suppr -j2 --std=c11 \
	--enable=warning,performance,portability \
	--include=/usr/include/jansson.h $(addprefix -I,$(sort $(dir $(LINT_SRCS))))

lint: deps
	shellcheck $(LINT_SCRIPTS)
	rm -rf build/scan
	scan-build --status-bugs -o build/scan/report $(MAKE) CC=clang \
	    B=build/scan SANITIZE= all
	cppcheck $(CPPCHECK_FLAGS) $(LINT_SRCS)
	$(MAKE) CC=clang B=build/clang SANITIZE= all \
	    $(UNIT_TESTS:$(B)/%=build/clang/%) $(HELPERS:$(B)/%=build/clang/%)
