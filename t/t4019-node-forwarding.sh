#!/bin/sh
test_description='nucleus-node: forwarding: answers routed by id across pods and clients, a slow pod holds up no other, a pod that stops answering gives unavailable within the deadline'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

test_expect_success 'setup: a node with a 1 s deadline, two pods' '
	authority_setup &&
	node_setup &&
	node_start -D 1 &&
	pod_create p-a >/dev/null &&
	pod_create p-b >/dev/null &&
	ncall p-a write "{\"path\":\"who\",\"content\":\"a\"}" >/dev/null &&
	ncall p-b write "{\"path\":\"who\",\"content\":\"b\"}" >/dev/null
'

test_expect_success 'one connection, both pods, interleaved: each answer under its own id, from its own pod' '
	for i in $(seq 1 20); do
		nreq "a$i" agent-7 agent.key p-a read "{\"path\":\"who\"}"
		nreq "b$i" agent-7 agent.key p-b read "{\"path\":\"who\"}"
	done >lines &&
	nsend <lines >out &&
	test "$(wc -l <out)" = 40 &&
	jq -s -e "length == 40 and all(.[]; .ok and .result.data == (.id[0:1]))" out &&
	jq -r .id out | sort | uniq -d >dups &&
	! test -s dups
'

test_expect_success 'a slow pod holds up no other' '
	{ ( ncall p-a run "{\"argv\":[\"sleep\",\"3\"],\"timeout\":10}" >slow.out; echo $? >slow.rc ) & } &&
	test_wait_for "a sleep to run" 5 sh -c "ls /proc/*/comm 2>/dev/null | xargs grep -l \"^sleep\$\" 2>/dev/null | grep -q ." &&
	for i in $(seq 1 10); do
		ncall p-b stat "{\"path\":\"who\"}" >out && jq -e .ok out >/dev/null || return 1
	done &&
	ncall p-a stat "{\"path\":\"who\"}" >out && jq -e .ok out &&
	! test -f slow.rc &&
	test_wait_for "the slow call to end" 10 test -s slow.rc &&
	test "$(cat slow.rc)" = 0
'

test_expect_success 'a request asking for a timeout gets the deadline past it' '
	ncall p-b run "{\"argv\":[\"sleep\",\"2\"],\"timeout\":5}" >out &&
	jq -e .ok out
'

test_expect_success 'a pod that stops answering: unavailable within the deadline; the others go on' '
	proxy=$(pod_proxy p-b) &&
	kill -STOP "$proxy" &&
	test_expect_code 2 ncall p-b stat "{\"path\":\"who\"}" >out &&
	jq -e ".error.kind == \"unavailable\" and (.error.message | test(\"did not answer in time\"))" out &&
	ncall p-a stat "{\"path\":\"who\"}" >out && jq -e .ok out &&
	kill -CONT "$proxy" &&
	ncall p-b stat "{\"path\":\"who\"}" >out && jq -e .ok out
'

test_expect_success 'a pod that takes no requests holds 16 MiB of them; the rest are unavailable at once' '
	head -c 921600 /dev/zero | tr "\0" a >big &&
	for i in $(seq 1 24); do
		jq -nc --rawfile c big --arg id "w$i" --arg nonce "$(fresh_nonce)" \
		    --argjson ts "$(date +%s)" \
		    "{type:\"request\",v:1,id:\$id,kid:\"agent-7\",ts:\$ts,nonce:\$nonce,pod:\"p-b\",op:\"write\",args:{path:\"big\",content:\$c}}" |
		    audit-tool sign request agent.key || return 1
	done >lines &&
	proxy=$(pod_proxy p-b) &&
	kill -STOP "$proxy" &&
	nsend <lines >out &&
	kill -CONT "$proxy" &&
	test "$(wc -l <out)" = 24 &&
	jq -s -e "[.[] | select(.error.message | test(\"too many are waiting\"))] | length >= 4" out &&
	jq -s -e "all(.[]; .ok or .error.kind == \"unavailable\")" out &&
	ncall p-b stat "{\"path\":\"who\"}" >out && jq -e .ok out
'

test_expect_success 'the deadline is bounded' '
	test_expect_code 2 nucleus-node serve -d n -D 0 2>err &&
	grep -q usage err &&
	test_expect_code 2 nucleus-node serve -d n -D 3601 2>err &&
	grep -q usage err &&
	node_stop
'

test_done
