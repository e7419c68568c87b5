#!/bin/sh
test_description='nucleus-node: SIGHUP reads the keyring and the trust file again, or keeps the old ones; pods run on'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

# hup: SIGHUP to the node, then wait for its Nth node.reload record.
hup() {
	kill -HUP "$(cat node.pid)" &&
	test_wait_for "reload record $1" 10 reloads_are "$1"
}

reloads_are() {
	test "$(jq -s "[.[] | select(.event == \"node.reload\")] | length" n/audit.log)" = "$1"
}

last_reload() {
	jq -c "select(.event == \"node.reload\")" n/audit.log | tail -n 1
}

test_expect_success 'setup: a node, a pod running' '
	authority_setup "{\"v\":1,\"rules\":[]}" &&
	node_setup &&
	audit-tool keygen ops-2 admin2.key | sed "s/ writer$/ admin/" >admin2.pub &&
	node_start &&
	pod_create p-1 >out &&
	jq -e ".result.state == \"running\"" out &&
	cmp n/trust n/pods/p-1/conf/trust
'

test_expect_success 'a key added to the keyring is taken on SIGHUP, and the pod runs on' '
	test_expect_code 1 nucleus-node pod -j -k admin2.key -l n/node.sock list >out &&
	jq -e ".error.kind == \"auth_failed\"" out &&
	cat admin2.pub >>n/keyring &&
	hup 1 &&
	last_reload | jq -e ".status == \"ok\" and .keys == 4" &&
	grep "nucleus-node: reloaded .*keyring (4 keys)" node.err &&
	nucleus-node pod -j -k admin2.key -l n/node.sock list >out &&
	jq -e ".result.pods[0].pod == \"p-1\" and .result.pods[0].state == \"running\"" out &&
	ncall p-1 stat "{\"path\":\".\"}" >out &&
	jq -e ".ok" out
'

test_expect_success 'a keyring that does not parse is refused, naming its line; the old one stays in force' '
	cp n/keyring keyring.good &&
	test_when_finished "cp keyring.good n/keyring" &&
	sed -n 1p keyring.good >n/keyring &&
	echo "ops-3 ed25519 not-a-key admin" >>n/keyring &&
	hup 2 &&
	last_reload | jq -e ".status == \"refused\" and (.message | test(\"line 2\"))" &&
	grep "nucleus-node: reload refused, the keyring and trust in force are kept: .*line 2" node.err &&
	nucleus-node pod -j -k admin2.key -l n/node.sock list >out &&
	jq -e ".ok" out &&
	ncall p-1 stat "{\"path\":\".\"}" >out &&
	jq -e ".ok" out
'

test_expect_success 'a key removed from the keyring is refused after SIGHUP' '
	grep -v "^ops-2 " n/keyring >k && cat k >n/keyring &&
	hup 3 &&
	test_expect_code 1 nucleus-node pod -j -k admin2.key -l n/node.sock list >out &&
	jq -e ".error.kind == \"auth_failed\"" out
'

test_expect_success 'the trust file: pods created after SIGHUP are given the new one' '
	cp n/trust trust.old &&
	audit-tool keygen auth-2 auth2.key | cut -d" " -f1-3 >>n/trust &&
	hup 4 &&
	pod_create p-2 >out &&
	jq -e ".result.state == \"running\"" out &&
	cmp n/trust n/pods/p-2/conf/trust &&
	cmp trust.old n/pods/p-1/conf/trust
'

test_expect_success 'a trust file that does not parse is refused; new pods get the one in force' '
	cp n/trust trust.good &&
	echo "garbage" >>n/trust &&
	hup 5 &&
	last_reload | jq -e ".status == \"refused\" and (.message | test(\"trust: line\"))" &&
	pod_create p-3 >out &&
	cmp trust.good n/pods/p-3/conf/trust
'

test_expect_success 'at start, a trust file that does not parse is refused, naming it' '
	node_stop &&
	test_expect_code 1 nucleus-node serve -d n 2>err &&
	grep "nucleus-node: .*trust: line 3: expected KID TYPE KEY" err &&
	cp trust.good n/trust &&
	node_start
'

test_expect_success 'the log verifies' '
	node_stop &&
	cat node.pub authority.pub >trusted &&
	nucleus-audit-verify -q -k trusted n/audit.log
'

test_done
