# test-lib.sh: a small TAP test harness in the manner of git's t/.
#
# A test script sets test_description, sources this file, makes its
# assertions and ends with test_done:
#
#	test_description='what this script tests'
#	. ./test-lib.sh
#	test_expect_success 'a thing works' '
#		nucleus-policy check good.json
#	'
#	test_expect_success ROOT 'a thing that needs root' '...'
#	test_expect_failure 'a known bug, reported as TODO' '...'
#	test_done
#
# Each test body runs with "eval" in a subshell of the script, in the
# script's trash directory, and passes when it exits 0.  NUCLEUS_BUILD
# names the build directory holding the programs (default: build/ beside
# t/); it is put first on PATH.
#
# Options of every test script:
#
#	-v, --verbose	show each body's output (as TAP comments)
#	-i, --immediate	stop at the first failing test (its daemons are
#			still killed, its trash kept)
#	-d, --debug	keep the trash directory even when all pass
#	-r SPEC, --run=SPEC
#			run only the tests SPEC selects; the others print
#			"ok N # skip ... (--run)".  SPEC is a list of
#			selectors separated by commas or spaces: N, N-M,
#			-M (1 to M), N- (N onwards), each of them negated
#			with a leading "!".  They apply in order, a later one
#			overriding an earlier; when the first is negated,
#			every test is selected to begin with:
#			--run=1-3,5  --run='!4'  --run=1-10,!7
#
# The chain lint: the steps of a body must be joined by "&&", or a failing
# step goes unseen.  Before a body runs, it is evaluated once more behind
# "(exit 117) && ": a body that is one &&-chain runs nothing then and
# returns 117; any other status means a step is not chained (or the body
# does not parse), and the test fails as a "broken &&-chain" without being
# run.  The lint runs with PATH emptied, stdin from /dev/null and its
# output discarded, so the tail of a broken chain reaches no program.  Use
# "{ ...; } &&", a subshell, or "for ...; do ... || return 1; done &&".
# NUCLEUS_TEST_CHAIN_LINT=0 turns the lint off.
#
# Helpers for bodies (each described where it is defined, below):
#
#	test_when_finished 'CMDS'	run CMDS after this test, passed or
#					failed; a failing CMDS fails the test
#	test_when_failed 'CMDS'		run CMDS after this test only if it
#					failed (the start helpers of lib-*.sh
#					use it: a daemon of a failed test does
#					not run on into the next)
#	test_expect_code N CMD...	CMD exits with exactly N
#	test_must_fail CMD...		CMD fails, neither by a signal nor
#					for not running (126, 127)
#	test_wait_for DESC SECS CMD...	until CMD succeeds, at most SECS
#					seconds; past that, fail saying DESC
#	test_wait_exit DESC SECS PID	wait for the child PID to end, at
#					most SECS seconds; its exit status
#	test_cmp, test_line_count	compare files, count lines

# TEST_DIRECTORY is t/, where test data lives; a script that runs another
# test script (t0000) passes its own down.
: "${TEST_DIRECTORY:=$(cd "$(dirname "$0")" && pwd)}"
TEST_NAME=$(basename "$0" .sh)
: "${NUCLEUS_BUILD:=$TEST_DIRECTORY/../build}"
NUCLEUS_BUILD=$(cd "$NUCLEUS_BUILD" 2>/dev/null && pwd) || {
	echo "1..0 # SKIP no build directory; run make first"
	exit 0
}
PATH=$NUCLEUS_BUILD:$NUCLEUS_BUILD/t/helper:$PATH
export PATH NUCLEUS_BUILD TEST_DIRECTORY
LC_ALL=C
TZ=UTC
export LC_ALL TZ

verbose=
immediate=
debug=
run_list=
while [ $# -gt 0 ]; do
	case $1 in
	-v|--verbose) verbose=t ;;
	-i|--immediate) immediate=t ;;
	-d|--debug) debug=t ;;
	-r|--run)
		[ $# -ge 2 ] || { echo "test-lib: $1 needs a list of tests" >&2; exit 2; }
		run_list=$2
		shift
		;;
	--run=*) run_list=${1#--run=} ;;
	*) echo "test-lib: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

# A --run list is checked whole before any test runs: a typo must not
# quietly select nothing.
test_run_list_ok_() {
	set -f
	for sel in $(printf '%s' "$run_list" | tr ',' ' '); do
		case ${sel#!} in
		*[!0-9-]*|*-*-*|-|"")
			echo "test-lib: --run: bad selector \"$sel\" (N, N-M, -M, N-, each maybe after !)" >&2
			set +f
			return 1
			;;
		esac
	done
	set +f
}
if [ -n "$run_list" ] && ! test_run_list_ok_; then
	exit 2
fi

test_count=0
test_failed=0
test_fixed=0
test_broken=0
test_prereqs=" "
test_lazy=" "

TRASH_DIRECTORY=$NUCLEUS_BUILD/trash/$TEST_NAME
rm -rf "$TRASH_DIRECTORY"
mkdir -p "$TRASH_DIRECTORY" || exit 2
cd "$TRASH_DIRECTORY" || exit 2
test_output=$TRASH_DIRECTORY/.test-output
# Where this script's failures are noted (test_failure_note_); a test
# script run by one of its tests (t0000's) notes its own in the trash.
test_failures_=${NUCLEUS_TEST_FAILURES:-$NUCLEUS_BUILD/test-failures.log}
NUCLEUS_TEST_FAILURES=$TRASH_DIRECTORY/.nested-failures.log
export NUCLEUS_TEST_FAILURES

say() {
	printf '%s\n' "$*"
}

# Comment lines for TAP: each line of a file, prefixed with "# ".
say_file() {
	sed 's/^/# /' "$1"
}

test_set_prereq() {
	test_prereqs="$test_prereqs$1 "
}

# test_lazy_prereq NAME 'script': NAME holds when the script succeeds,
# evaluated on first use.
test_lazy_prereq() {
	test_lazy="$test_lazy$1 "
	eval "test_lazy_script_$1=\$2"
}

# test_have_prereq A,B,!C: all of A and B hold, and C does not.
test_have_prereq() {
	old_ifs=$IFS
	IFS=,
	# shellcheck disable=SC2086
	set -- $*
	IFS=$old_ifs
	for p; do
		negate=
		case $p in
		!*) negate=t; p=${p#!} ;;
		esac
		case $test_lazy in
		*" $p "*)
			# Evaluate a lazy prerequisite once, on first use.
			eval "script=\$test_lazy_script_$p"
			if (eval "$script") >/dev/null 2>&1; then
				test_set_prereq "$p"
			fi
			test_lazy=$(printf '%s' "$test_lazy" | sed "s/ $p / /")
			;;
		esac
		case $test_prereqs in
		*" $p "*) have=t ;;
		*) have= ;;
		esac
		if [ -n "$negate" ]; then
			[ -z "$have" ] || return 1
		else
			[ -n "$have" ] || return 1
		fi
	done
	return 0
}

# --run: is test number $1 selected?
test_selected_() {
	[ -n "$run_list" ] || return 0
	set -f
	# shellcheck disable=SC2046
	set -- "$1" $(printf '%s' "$run_list" | tr ',' ' ')
	set +f
	n=$1
	shift
	case $1 in
	!*) selected=t ;;
	*) selected= ;;
	esac
	for sel; do
		negate=
		case $sel in
		!*) negate=t; sel=${sel#!} ;;
		esac
		case $sel in
		*-*)
			lo=${sel%-*}
			hi=${sel#*-}
			;;
		*) lo=$sel; hi=$sel ;;
		esac
		if [ "$n" -ge "${lo:-1}" ] && { [ -z "$hi" ] || [ "$n" -le "$hi" ]; }; then
			if [ -n "$negate" ]; then selected=; else selected=t; fi
		fi
	done
	[ -n "$selected" ]
}

# The body, as a function: a "return" in it (say, from a for loop)
# returns from here, and what follows it still runs.
test_eval_() {
	eval "$1"
}

# The chain lint (described at the top).  The subshell has no PATH: the
# tail of a broken chain reaches no program, and a loop of it waiting on
# one ends at once (test_wait_for gives up when date cannot run).
test_lint_() {
	[ "${NUCLEUS_TEST_CHAIN_LINT:-1}" != 0 ] || return 0
	(
		cd "$TRASH_DIRECTORY" || exit 1
		PATH=/nonexistent-chain-lint
		test_in_body_=lint
		test_eval_ "(exit 117) && $1"
	) >/dev/null 2>&1 </dev/null
	[ $? -eq 117 ]
}

# Run one body, then what it left to run after it; its output goes to
# the output file.
test_run_() {
	(
		cd "$TRASH_DIRECTORY" || exit 1
		test_in_body_=t
		test_finish_=
		# A body that calls exit still has its cleanup run, and fails.
		trap 'test_exit_in_body_' EXIT
		test_eval_ "$1"
		test_status_=$?
		trap - EXIT
		test_finish_run_
		exit $test_status_
	) >"$test_output" 2>&1 </dev/null
	test_status=$?
	if [ -n "$verbose" ]; then
		say_file "$test_output"
	fi
	return $test_status
}

test_exit_in_body_() {
	test_status_=$?
	echo "test-lib: the test body called exit ($test_status_); a body ends with its last command"
	test_status_=1
	test_finish_run_
	exit 1
}

# The commands test_when_finished and test_when_failed gave, newest
# first; each runs whatever the others did, and the first failure among
# them (after a passing body) is the test's status.
test_finish_run_() {
	[ -n "$test_finish_" ] || return 0
	test_in_body_=finish
	eval "$test_finish_"
}

test_body_only_() {
	case ${test_in_body_:-} in
	t) return 0 ;;
	lint) return 0 ;;
	*)
		echo "test-lib: bug: $1 outside a test body" >&2
		return 1
		;;
	esac
}

# test_when_finished 'CMDS': after this test's body, whether it passed or
# failed, run CMDS (in the body's shell: its variables are there).  When
# several are given, the last runs first.  A failing CMDS fails the test.
test_when_finished() {
	test_body_only_ test_when_finished || return 1
	test_finish_="if ! { $*
	}; then echo \"test_when_finished: failed: \"'$(test_quote_ "$*")' >&2; [ \$test_status_ -ne 0 ] || test_status_=1; fi; $test_finish_"
}

# test_when_failed 'CMDS': as test_when_finished, but CMDS runs only when
# the test failed (its body, or what ran after it before CMDS).
test_when_failed() {
	test_body_only_ test_when_failed || return 1
	test_finish_="if [ \$test_status_ -ne 0 ] && ! { $*
	}; then echo \"test_when_failed: failed: \"'$(test_quote_ "$*")' >&2; fi; $test_finish_"
}

# Text that goes between single quotes as it is.
test_quote_() {
	printf '%s' "$1" | sed "s/'/'\\\\''/g"
}

# test_start_ PREREQS DESCRIPTION BODY: count the test; 0 when it is to
# run, 1 when it is skipped or failed the lint (either said).  A body is
# linted even when its prerequisites are missing: a broken chain is a bug
# of the script wherever it runs.
test_start_() {
	test_count=$((test_count + 1))
	if ! test_selected_ "$test_count"; then
		say "ok $test_count # skip $2 (--run)"
		return 1
	fi
	if ! test_lint_ "$3"; then
		test_failed=$((test_failed + 1))
		say "not ok $test_count - $2"
		say "# broken &&-chain (or a body that does not parse) in test $test_count: $2"
		say "# (the lint: each step joined by &&; NUCLEUS_TEST_CHAIN_LINT=0 turns it off)"
		printf '%s\n' "$3" | sed 's/^/#	/'
		test_immediate_
		return 1
	fi
	if [ -n "$1" ] && ! test_have_prereq "$1"; then
		say "ok $test_count # skip $2 (missing $1)"
		return 1
	fi
	return 0
}

# -i: stop at this failure, leaving no daemon behind.
test_immediate_() {
	[ -n "$immediate" ] || return 0
	test_kill_daemons_
	if command -v test_cleanup >/dev/null 2>&1; then
		test_cleanup >/dev/null 2>&1
	fi
	say "1..$test_count"
	say "# stopped at the first failure (-i); trash kept in $TRASH_DIRECTORY"
	exit 1
}

test_expect_success() {
	prereq=
	if [ $# -eq 3 ]; then
		prereq=$1
		shift
	fi
	[ $# -eq 2 ] || { echo "test-lib: bug: test_expect_success needs 2 or 3 arguments" >&2; exit 2; }
	test_start_ "$prereq" "$1" "$2" || return 0
	if test_run_ "$2"; then
		say "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		say "not ok $test_count - $1"
		[ -n "$verbose" ] || say_file "$test_output"
		printf '%s\n' "$2" | sed 's/^/#	/'
		test_failure_note_ "$1"
		test_immediate_
	fi
}

# A failure, kept for the end of the run too: a whole run's output is
# long and a log is often seen only by its tail, so "make test" prints
# NUCLEUS_BUILD/test-failures.log (made afresh each run) last when a
# test failed (t/failures-say): which failed, then the first one's
# output and the last lines of each daemon's standard error (*.err) in
# its trash directory.
test_failure_note_() {
	{
		echo "=== $TEST_NAME $test_count - $1"
		tail -n 20 "$test_output"
		for f in "$TRASH_DIRECTORY"/*.err; do
			[ -s "$f" ] || continue
			echo "--- ${f##*/} (last lines)"
			tail -n 8 "$f"
		done
	} >>"$test_failures_" 2>/dev/null
	return 0
}

# A known bug: a failure is reported as TODO; a pass says it was fixed.
test_expect_failure() {
	prereq=
	if [ $# -eq 3 ]; then
		prereq=$1
		shift
	fi
	[ $# -eq 2 ] || { echo "test-lib: bug: test_expect_failure needs 2 or 3 arguments" >&2; exit 2; }
	test_start_ "$prereq" "$1" "$2" || return 0
	if test_run_ "$2"; then
		test_fixed=$((test_fixed + 1))
		say "ok $test_count - $1 # TODO known breakage vanished"
	else
		test_broken=$((test_broken + 1))
		say "not ok $test_count - $1 # TODO known breakage"
	fi
}

# Skip the whole script, saying why.
test_skip_all() {
	say "1..0 # SKIP $*"
	cd / && rm -rf "$TRASH_DIRECTORY"
	exit 0
}

# No daemon started in the trash directory outlives its test file, even
# one whose test failed before stopping it.
test_kill_daemons_() {
	for p in $(pgrep '^nucleus-'); do
		case $(readlink "/proc/$p/cwd" 2>/dev/null) in
		"$TRASH_DIRECTORY"*) kill -KILL "$p" 2>/dev/null ;;
		esac
	done
	return 0
}

test_done() {
	test_kill_daemons_
	# A test file may leave more cleanup to run here.
	if command -v test_cleanup >/dev/null 2>&1; then
		test_cleanup
	fi
	say "1..$test_count"
	if [ "$test_fixed" -gt 0 ]; then
		say "# $test_fixed known breakage(s) vanished; mark them test_expect_success"
	fi
	if [ "$test_broken" -gt 0 ]; then
		say "# still have $test_broken known breakage(s)"
	fi
	if [ "$test_failed" -gt 0 ]; then
		say "# failed $test_failed among $test_count test(s); trash kept in $TRASH_DIRECTORY"
		exit 1
	fi
	if [ -z "$debug" ]; then
		cd / && rm -rf "$TRASH_DIRECTORY"
	fi
	exit 0
}

# --- helpers for test bodies ---

# test_cmp EXPECTED ACTUAL: equal files, or the difference.
test_cmp() {
	diff -u "$1" "$2"
}

# jq -e, as a check: jq 1.6 exits 0 when it reads nothing at all, so a
# missing answer piped into "jq -e" would pass.  Here jq -e (also in a
# cluster such as -se) that prints nothing fails, status 4, and says so.
jq() {
	_jq_e=
	for _jq_a
	do
		case $_jq_a in
		--exit-status) _jq_e=1 ;;
		--*) ;;
		-*[!a-zA-Z]*) ;;
		-*e*) _jq_e=1 ;;
		esac
	done
	if [ -z "$_jq_e" ]; then
		command jq "$@"
		return
	fi
	_jq_out=$(command jq "$@"; echo "rc=$?")
	_jq_rc=${_jq_out##*rc=}
	_jq_out=${_jq_out%rc=*}
	printf '%s' "$_jq_out"
	[ "$_jq_rc" = 0 ] || return "$_jq_rc"
	if [ -z "$_jq_out" ]; then
		echo "jq -e: there was nothing to check" >&2
		return 4
	fi
}

# test_expect_code N COMMAND...: COMMAND exits with exactly N.
test_expect_code() {
	want=$1
	shift
	"$@"
	got=$?
	if [ "$got" -eq "$want" ]; then
		return 0
	fi
	echo "test_expect_code: '$*' exited $got, want $want" >&2
	return 1
}

# test_must_fail COMMAND...: COMMAND fails normally (not by a signal, not
# with 126 or 127, which say it could not run).
test_must_fail() {
	"$@"
	got=$?
	if [ "$got" -eq 0 ]; then
		echo "test_must_fail: '$*' succeeded" >&2
		return 1
	elif [ "$got" -gt 128 ] || [ "$got" -eq 126 ] || [ "$got" -eq 127 ]; then
		echo "test_must_fail: '$*' died or could not run ($got)" >&2
		return 1
	fi
	return 0
}

# The bounded waits: test_wait_for, test_wait_exit, test_wait_socket,
# test_stop_daemon (in lib-wait.sh, for scripts a test writes to source).
. "$TEST_DIRECTORY/lib-wait.sh"

# test_line_count OP N FILE
test_line_count() {
	n=$(wc -l <"$3")
	if ! [ "$n" "$1" "$2" ]; then
		echo "test_line_count: $3 has $n lines, want $1 $2" >&2
		cat "$3" >&2
		return 1
	fi
}

# --- prerequisites every script may ask for ---

test_lazy_prereq ROOT '[ "$(id -u)" -eq 0 ]'
test_lazy_prereq KVM '[ -r /dev/kvm ] && [ -w /dev/kvm ]'
test_lazy_prereq QEMU 'command -v qemu-system-x86_64'
test_lazy_prereq LANDLOCK '[ -e /sys/kernel/security/landlock ] || grep -qw landlock /sys/kernel/security/lsm'
test_lazy_prereq MANDOC 'command -v mandoc'
test_lazy_prereq SANITIZE '[ "${SANITIZE:-}" = 1 ]'
# The kernel takes Landlock rulesets (the landlock_create_ruleset ABI).
test_lazy_prereq LANDLOCK_ABI 'command -v try-landlock && try-landlock'
