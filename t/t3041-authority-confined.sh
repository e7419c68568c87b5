#!/bin/sh
test_description='nucleus-authority, confined: it cannot open, link or rename a file (its reader makes the files of its log'"'"'s rotation), and the rotation still works'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the authority's filter is read with ptrace (root)"
fi

# try WORD ARGS...: WORD tried under the authority's own seccomp filter;
# its output in out, its exit status returned.
try() {
	try-syscall filter-of "$(cat authority.pid)" "$@" >out
}

test_expect_success 'setup: an authority, confined' '
	authority_setup "{\"v\":1,\"rules\":[]}" &&
	authority_start &&
	grep "^Seccomp:	2" /proc/$(cat authority.pid)/status &&
	echo outside >outside
'

test_expect_success !SANITIZE 'opening a file is refused (EACCES)' '
	try open auth/keyring open outside &&
	grep "^filter-of ok" out &&
	grep "^open EACCES" out &&
	test "$(grep -c "^open EACCES" out)" = 2
'

test_expect_success 'linking a file kills it' '
	test_expect_code 159 try link outside linked &&
	grep "^filter-of ok" out &&
	! grep "^link" out &&
	! test -e linked
'

test_expect_success 'renaming a file kills it' '
	test_expect_code 159 try rename outside renamed &&
	grep "^filter-of ok" out &&
	! grep "^rename" out &&
	test -e outside
'

test_expect_success 'its log rotates all the same, the files made by the reader' '
	kill -USR1 "$(cat authority.pid)" &&
	test_wait_for "the rotation said on stderr" 10 grep "the audit log rotated: generation 1" authority.err &&
	authority_alive &&
	test -f auth/audit.log.0 &&
	tail -n 1 auth/audit.log.0 | jq -e ".event == \"log.close\" and .reason == \"asked\"" &&
	! test -e auth/.audit.log.next &&
	test "$(stat -c %a auth/audit.log)" = 600 &&
	authority_stop &&
	nucleus-audit-verify -q -k authority.pub auth/audit.log.0 auth/audit.log
'

test_done
