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
# Each test body runs with "eval" in the script's shell, in the script's
# trash directory, and passes when it exits 0: chain its steps with "&&".
# Options: -v (show each body's output), -i (stop at the first failure),
# -d (keep the trash directory).  NUCLEUS_BUILD names the build directory
# holding the programs (default: build/ beside t/); it is put first on PATH.

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
for arg; do
	case $arg in
	-v|--verbose) verbose=t ;;
	-i|--immediate) immediate=t ;;
	-d|--debug) debug=t ;;
	*) echo "test-lib: unknown option $arg" >&2; exit 2 ;;
	esac
done

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

# Run one body; its output goes to the output file.
test_run_() {
	(
		cd "$TRASH_DIRECTORY" || exit 1
		eval "$1"
	) >"$test_output" 2>&1 </dev/null
	test_status=$?
	if [ -n "$verbose" ]; then
		say_file "$test_output"
	fi
	return $test_status
}

test_skip_() {
	# $1 prereqs, $2 description
	test_count=$((test_count + 1))
	say "ok $test_count # skip $2 (missing $1)"
}

test_expect_success() {
	prereq=
	if [ $# -eq 3 ]; then
		prereq=$1
		shift
	fi
	[ $# -eq 2 ] || { echo "test-lib: bug: test_expect_success needs 2 or 3 arguments" >&2; exit 2; }
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		test_skip_ "$prereq" "$1"
		return 0
	fi
	test_count=$((test_count + 1))
	if test_run_ "$2"; then
		say "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		say "not ok $test_count - $1"
		[ -n "$verbose" ] || say_file "$test_output"
		printf '%s\n' "$2" | sed 's/^/#	/'
		if [ -n "$immediate" ]; then
			say "1..$test_count"
			exit 1
		fi
	fi
}

# A known bug: a failure is reported as TODO; a pass says it was fixed.
test_expect_failure() {
	prereq=
	if [ $# -eq 3 ]; then
		prereq=$1
		shift
	fi
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		test_skip_ "$prereq" "$1"
		return 0
	fi
	test_count=$((test_count + 1))
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
