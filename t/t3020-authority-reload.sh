#!/bin/sh
test_description='nucleus-authority: SIGHUP reads the keyring and the rules again, or keeps the old ones; caps hold across it'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

echo_rule='{"name":"echo","agent":"agent-7","pod":"p-*","op":"run","argv_prefix":["echo","gated"],"max_per_hour":2}'
ls_rule='{"name":"ls","agent":"agent-9","pod":"p-*","op":"run","argv_prefix":["ls"],"max_per_hour":100}'

# hup N: SIGHUP to the authority, then wait for its Nth authority.reload.
hup() {
	kill -HUP "$(cat authority.pid)" &&
	test_wait_for "reload record $1" 10 reloads_are "$1"
}

reloads_are() {
	test "$(jq -s "[.[] | select(.event == \"authority.reload\")] | length" auth/audit.log)" = "$1"
}

last_reload() {
	jq -c "select(.event == \"authority.reload\")" auth/audit.log | tail -n 1
}

# granted KID KEYFILE ARGV-JSON: a request that a rule grants at once.
granted() {
	areq "$1" p-1 run "{\"argv\":$3}" | asign "$2" >line &&
	asend <line >out &&
	jq -e ".ok and .result.state == \"granted\"" out
}

rules() {
	printf "{\"v\":1,\"rules\":[%s]}\n" "$1" >auth/rules.json
}

test_expect_success 'setup: an authority with one rule, capped at two an hour' '
	authority_setup "{\"v\":1,\"rules\":[$echo_rule]}" &&
	audit-tool keygen agent-9 agent9.key | sed "s/ writer$/ agent/" >agent9.pub &&
	authority_start -t 60
'

test_expect_success 'a new agent and a rule for it are taken on SIGHUP, after the authority confined itself' '
	grep "^Seccomp:.*2" /proc/$(cat authority.pid)/status &&
	areq agent-9 p-1 run "{\"argv\":[\"ls\"]}" | asign agent9.key >line &&
	asend <line >out &&
	jq -e ".error.kind == \"auth_failed\"" out &&
	cat agent9.pub >>auth/keyring &&
	rules "$echo_rule,$ls_rule" &&
	hup 1 &&
	last_reload | jq -e ".status == \"ok\" and .rules == 2" &&
	grep "nucleus-authority: reloaded .*keyring (.* keys) and .*rules.json (2 rules)" authority.err &&
	granted agent-9 agent9.key "[\"ls\"]"
'

test_expect_success 'max_per_hour holds across a reload' '
	granted agent-7 agent.key "[\"echo\",\"gated\",\"1\"]" &&
	granted agent-7 agent.key "[\"echo\",\"gated\",\"2\"]" &&
	hup 2 &&
	areq agent-7 p-1 run "{\"argv\":[\"echo\",\"gated\",\"3\"]}" | asign agent.key >line &&
	{ timeout 5 unixcat "$PWD/auth/request.sock" <line >out3 & } &&
	test_wait_for "the capped request" 10 jq -e -s "[.[] | select(.event == \"approval.request\" and (.note // \"\" | test(\"cap\")))] | length == 1" auth/audit.log &&
	test_wait_for "its answer" 10 test -s out3 &&
	head -n 1 out3 | jq -e ".result.state == \"pending\""
'

test_expect_success 'rules that do not parse are refused, naming the line; the old ones hold' '
	printf "{\"v\":1,\\n\"rules\":[\\n{oops}]}\\n" >auth/rules.json &&
	hup 3 &&
	last_reload | jq -e ".status == \"refused\" and (.message | test(\"rules.json: line 3\"))" &&
	grep "nucleus-authority: reload refused, the keyring and rules in force are kept: .*rules.json: line 3" authority.err &&
	granted agent-9 agent9.key "[\"ls\",\"-l\"]"
'

test_expect_success 'rules that disagree with the options are refused' '
	rules "{\"name\":\"long\",\"agent\":\"agent-9\",\"pod\":\"p-*\",\"op\":\"read\",\"path\":\"x\",\"max_per_hour\":1,\"ttl_s\":120}" &&
	hup 4 &&
	last_reload | jq -e ".status == \"refused\" and (.message | test(\"rule long: ttl_s is over the token lifetime \\\\(-t 60\"))" &&
	granted agent-9 agent9.key "[\"ls\",\"-a\"]"
'

test_expect_success 'a keyring that does not parse is refused, naming the line; the old one holds' '
	rules "$echo_rule,$ls_rule" &&
	echo "agent-10 ed25519 not-base64" >>auth/keyring &&
	hup 5 &&
	last_reload | jq -e ".status == \"refused\" and (.message | test(\"keyring: line [0-9]+: the key is not\"))" &&
	granted agent-9 agent9.key "[\"ls\",\"-R\"]"
'

test_expect_success 'a keyring others may write is refused as at start' '
	sed -i "\$d" auth/keyring &&
	chmod 666 auth/keyring &&
	test_when_finished "chmod 600 auth/keyring" &&
	hup 6 &&
	last_reload | jq -e ".status == \"refused\"" &&
	chmod 600 auth/keyring &&
	grep -v "^agent-9 " auth/keyring >k && cat k >auth/keyring &&
	hup 7 &&
	last_reload | jq -e ".status == \"ok\"" &&
	areq agent-9 p-1 run "{\"argv\":[\"ls\"]}" | asign agent9.key >line &&
	asend <line >out &&
	jq -e ".error.kind == \"auth_failed\"" out
'

test_expect_success 'the authority serves on, and its log verifies' '
	authority_alive &&
	authority_stop &&
	auth_verify
'

test_done
