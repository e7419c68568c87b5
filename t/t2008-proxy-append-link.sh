#!/bin/sh
test_description='nucleus-proxy: an append through a symbolic link is checked where the link leads, before anything is made'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

# Every record of request ID in the proxy's log.
records() {
	jq -c "select(.id == \"$1\")" "$(proxy_log)"
}

# Request ID was refused as path_denied by its decision record alone: no
# record of it says allow, and there is no outcome after a refusal.
denied_on_record() {
	records "$1" >rec &&
	test_line_count = 1 rec &&
	jq -e ".event == \"decision\" and .decision == \"deny\" and .kind == \"path_denied\"" rec
}

test_expect_success 'setup: an edit_only pod (.env* and .ssh/** blocked), links into them' '
	proxy_setup edit_only &&
	mkdir root/.ssh root/logs &&
	printf "host\n" >root/.ssh/known_hosts &&
	printf "old\n" >root/kept.txt &&
	ln -s .env.production root/notes.txt &&
	ln -s .ssh root/sshdir &&
	ln -s sshdir/authorized_keys root/keys.txt &&
	ln -s logs/app.log root/log-link &&
	ln -s kept.txt root/kept-link &&
	proxy_start
'

test_expect_success 'append through a link to a blocked file that does not exist: refused, nothing made' '
	req a1 write "{\"path\":\"notes.txt\",\"content\":\"x\",\"mode\":\"append\"}" | send >out &&
	resp a1 | jq -e ".error.kind == \"path_denied\"" &&
	test ! -e root/.env.production &&
	test -L root/notes.txt
'

test_expect_success 'its records say deny, path_denied, as the agent was told' '
	denied_on_record a1
'

test_expect_success 'append through a link and a linked directory to .ssh/authorized_keys: refused, nothing made' '
	req a2 write "{\"path\":\"keys.txt\",\"content\":\"ssh-ed25519 AAAA\",\"mode\":\"append\"}" | send >out &&
	resp a2 | jq -e ".error.kind == \"path_denied\"" &&
	test ! -e root/.ssh/authorized_keys &&
	denied_on_record a2
'

test_expect_success 'append to sshdir/authorized_keys (a linked directory): the decision says deny' '
	req a3 write "{\"path\":\"sshdir/authorized_keys\",\"content\":\"k\",\"mode\":\"append\"}" | send >out &&
	resp a3 | jq -e ".error.kind == \"path_denied\"" &&
	test ! -e root/.ssh/authorized_keys &&
	denied_on_record a3
'

test_expect_success 'truncate, mkdir and delete through a linked directory: the decision says deny' '
	{
		req a4 write "{\"path\":\"sshdir/authorized_keys\",\"content\":\"k\"}"
		req a5 mkdir "{\"path\":\"sshdir/keys.d\"}"
		req a6 delete "{\"path\":\"sshdir/known_hosts\"}"
	} | send >out &&
	for id in a4 a5 a6
	do
		resp $id | jq -e ".error.kind == \"path_denied\"" &&
		denied_on_record $id || return 1
	done &&
	test ! -e root/.ssh/authorized_keys &&
	test ! -e root/.ssh/keys.d &&
	test -f root/.ssh/known_hosts
'

test_expect_success 'append through a link to an allowed file that does not exist makes it there' '
	req a7 write "{\"path\":\"log-link\",\"content\":\"one\\n\",\"mode\":\"append\"}" | send >out &&
	resp a7 | jq -e ".ok and .result.created and .result.path == \"logs/app.log\"" &&
	test -L root/log-link &&
	test "$(cat root/logs/app.log)" = one
'

test_expect_success 'append through a link to an allowed file appends to it' '
	req a8 write "{\"path\":\"kept-link\",\"content\":\"new\\n\",\"mode\":\"append\"}" | send >out &&
	resp a8 | jq -e ".ok and (.result.created | not) and .result.path == \"kept.txt\"" &&
	printf "old\nnew\n" >expect &&
	test_cmp expect root/kept.txt &&
	records a8 | jq -se "[.[].event] == [\"decision\", \"outcome\"] and .[0].decision == \"allow\" and .[1].status == \"ok\""
'

test_expect_success 'append to a new plain file still makes it' '
	req a9 write "{\"path\":\"fresh.txt\",\"content\":\"f\",\"mode\":\"append\"}" | send >out &&
	resp a9 | jq -e ".ok and .result.created" &&
	test "$(cat root/fresh.txt)" = f
'

test_expect_success 'a link to a link is not followed twice to make a file' '
	ln -s notes.txt root/twice &&
	req b1 write "{\"path\":\"twice\",\"content\":\"x\",\"mode\":\"append\"}" | send >out &&
	resp b1 | jq -e ".ok | not" &&
	test ! -e root/.env.production
'

test_expect_success 'the log verifies' '
	proxy_alive &&
	verify_log
'

test_done
