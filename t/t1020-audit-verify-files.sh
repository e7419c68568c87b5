#!/bin/sh
test_description='nucleus-audit-verify reads regular files only: a FIFO, a directory or a device put in place of a log, a keyring or a state file is an error (exit 2), never a hang'
. "$(dirname "$0")/test-lib.sh"

# Every run here is bounded: the old verifier blocked for ever in open(2)
# on a FIFO nobody writes to, and a cron job that never ends mails nothing.
verify() {
	timeout 20 nucleus-audit-verify "$@"
}

test_expect_success 'setup: a writer key, its keyring, a log, a FIFO' '
	audit-tool keygen w1 w.secret authority >ring &&
	audit-tool append a.log log-a w.secret 3 >/dev/null &&
	mkfifo fifo &&
	mkdir dir
'

test_expect_success 'a FIFO in place of a log: exit 2, the other logs still verified' '
	test_expect_code 2 verify -k ring a.log fifo >out 2>err &&
	grep "^nucleus-audit-verify: fifo: not a regular file$" err &&
	grep "^a.log: ok, 4 records" out &&
	test_expect_code 2 verify -j -k ring fifo >out &&
	jq -e ".file == \"fifo\" and .ok == false and .error == \"not a regular file\"" out
'

test_expect_success 'a directory or a device in place of a log: exit 2' '
	test_expect_code 2 verify -k ring dir 2>err &&
	grep "^nucleus-audit-verify: dir: not a regular file$" err &&
	test_expect_code 2 verify -k ring /dev/zero 2>err &&
	grep "^nucleus-audit-verify: /dev/zero: not a regular file$" err
'

test_expect_success 'a symbolic link to a log is followed' '
	ln -s a.log link.log &&
	verify -q -k ring link.log
'

test_expect_success 'a FIFO as the keyring or the state file: exit 2' '
	test_expect_code 2 verify -k fifo a.log 2>err &&
	grep "fifo: not a regular file" err &&
	test_expect_code 2 verify -s fifo -k ring a.log 2>err &&
	grep "fifo: not a regular file" err &&
	test -p fifo
'

test_expect_success 'with -s, a verified log replaced by a FIFO is an error, and missing' '
	verify -q -s state -k ring a.log &&
	mv a.log a.keep &&
	mkfifo a.log &&
	test_expect_code 2 verify -q -s state -k ring a.log 2>err &&
	grep "^nucleus-audit-verify: a.log: not a regular file$" err &&
	grep "^log-a: missing: " err
'

test_done
