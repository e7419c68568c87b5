#!/bin/sh
test_description='nucleus-node: signed requests, pods on the local driver, forwarding, refusals recorded, the approval flow end to end'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

test_expect_success 'setup: a node key, an admin and two agents, the authority trusted' '
	authority_setup "{\"v\":1,\"rules\":[{\"name\":\"echo\",\"agent\":\"agent-7\",\"pod\":\"p-*\",\"op\":\"run\",\"argv_prefix\":[\"echo\",\"gated\"],\"max_per_hour\":100}]}" &&
	node_setup &&
	printf "hmac-sha256-secret agent-hmac %s\n" \
	    "E8UMU0a9vOrga9N6TyEbWzFWaCtl0xoUdZZi6GkOJmk=" >hmac.key &&
	chmod 600 hmac.key &&
	export NUCLEUS_TEST_SECRET=not-for-pods &&
	node_start &&
	test "$(stat -c %a n/node.sock)" = 600
'

test_expect_success 'an admin creates a pod; it is listed, running, with its certified log' '
	cat >spec.json <<-\EOF &&
	{"v":1,"name":"p-0001","policy":"local_dev","agents":["agent-7","agent-hmac"],
	 "resources":{"memory_mib":256,"pids":64,"scratch_mib":32}}
	EOF
	nucleus-node pod -j -k admin.key -l n/node.sock create spec.json >out &&
	jq -e ".ok and .result.state == \"running\" and (.result.log | startswith(\"p-0001.\"))" out &&
	jq -r .result.log out >podlog &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >out &&
	jq -e ".result.pods | length == 1 and .[0].pod == \"p-0001\"" out &&
	nucleus-node pod -j -k admin.key -l n/node.sock status p-0001 >out &&
	jq -e ".result.agents == [\"agent-7\",\"agent-hmac\"] and .result.resources.pids == 64" out
'

test_expect_success 'the pod agents call its tools through the node; answers name the pod log' '
	nucleus-node call -j -k agent.key -l n/node.sock p-0001 write "{\"path\":\"notes.txt\",\"content\":\"hello\\n\"}" >out &&
	jq -e ".ok and .audit.log == \"$(cat podlog)\" and .id == \"c1\"" out &&
	nucleus-node call -j -k hmac.key -l n/node.sock p-0001 read "{\"path\":\"notes.txt\"}" >out &&
	jq -e ".result.data == \"hello\\n\"" out &&
	nucleus-node call -j -k agent.key -l n/node.sock p-0001 run "{\"argv\":[\"cat\",\"/proc/net/dev\"]}" >out &&
	jq -e ".ok and (.result.stdout | test(\"eth\") | not)" out
'

test_expect_success 'without -j: the result alone on stdout, an error as kind and message on stderr' '
	nucleus-node call -k hmac.key -l n/node.sock p-0001 read "{\"path\":\"notes.txt\"}" >out 2>err &&
	test_line_count = 1 out && test ! -s err &&
	jq -e ".data == \"hello\\n\"" out &&
	echo "{\"path\":\"notes.txt\"}" | nucleus-node call -k hmac.key -l n/node.sock p-0001 stat - >out &&
	jq -e ".type == \"file\" and .size == 6" out &&
	test_expect_code 1 nucleus-node call -k agent.key -l n/node.sock p-0001 read "{\"path\":\".env\"}" >out 2>err &&
	test ! -s out &&
	grep -q "^nucleus-node: path_denied: ." err &&
	nucleus-node pod -k admin.key -l n/node.sock list >out &&
	jq -e ".pods | length == 1" out &&
	test_expect_code 2 nucleus-node pod --approval out -k admin.key -l n/node.sock list &&
	test_expect_code 2 nucleus-node call -k agent.key -l n/node.sock p-0001 read "[1]" 2>err &&
	grep -q "expected a JSON object" err
'

test_expect_success 'the pod'"'"'s proxy has none of the node'"'"'s environment' '
	pid=$(pod_proxy p-0001) &&
	tr "\0" "\n" </proc/$pid/environ | grep -v "^[A-Z]*SAN_OPTIONS=" >env &&
	echo "PATH=/usr/bin:/bin" >expect &&
	test_cmp expect env &&
	grep -q NUCLEUS_TEST_SECRET /proc/$(cat node.pid)/environ
'

test_expect_success 'the proxy still decides: a path it blocks, an escape' '
	test_expect_code 1 nucleus-node call -j -k agent.key -l n/node.sock p-0001 read "{\"path\":\".env\"}" >out &&
	jq -e ".error.kind == \"path_denied\"" out &&
	test_expect_code 1 nucleus-node call -j -k agent.key -l n/node.sock p-0001 read "{\"path\":\"../etc/passwd\"}" >out &&
	jq -e ".error.kind == \"sandbox_escape\"" out
'

test_expect_success 'roles: an agent cannot manage pods, an admin cannot call tools, a pod not naming an agent refuses it' '
	test_expect_code 1 nucleus-node pod -j -k agent.key -l n/node.sock create spec.json >out &&
	jq -e ".error.kind == \"forbidden\"" out &&
	last_refusal | jq -e ".kind == \"forbidden\" and .signer == \"agent-7\" and .op == \"pod.create\"" &&
	test_expect_code 1 nucleus-node call -j -k admin.key -l n/node.sock p-0001 read "{\"path\":\"notes.txt\"}" >out &&
	jq -e ".error.kind == \"forbidden\"" out &&
	sed "s/\"agent-7\",//" spec.json | sed "s/p-0001/p-0002/" >spec2.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec2.json >/dev/null &&
	test_expect_code 1 nucleus-node call -j -k agent.key -l n/node.sock p-0002 read "{\"path\":\".\"}" >out &&
	jq -e ".error.kind == \"forbidden\"" out &&
	test_expect_code 1 nucleus-node call -j -k agent.key -l n/node.sock p-0009 read "{\"path\":\".\"}" >out &&
	jq -e ".error.kind == \"unknown_pod\"" out
'

test_expect_success 'bad signature, wrong key type, unknown kid, skew, replay, malformed, oversized: refused and recorded' '
	nreq r1 agent-7 agent.key p-0001 stat "{\"path\":\".\"}" >good &&
	jq -c ".args.path = \"notes.txt\"" good >tampered &&
	nsend <tampered >out && jq -e ".error.kind == \"auth_failed\"" out &&
	last_refusal | jq -e ".kind == \"auth_failed\" and .claimed_kid == \"agent-7\"" &&
	audit-tool keygen stranger stranger.key >/dev/null &&
	nreq r2 stranger stranger.key p-0001 stat "{\"path\":\".\"}" | nsend >out &&
	jq -e ".error.kind == \"auth_failed\"" out &&
	printf "hmac-sha256-secret agent-7 %s\n" "$(head -c 32 /dev/urandom | base64)" >wrongtype.key &&
	chmod 600 wrongtype.key &&
	nreq r2a agent-7 wrongtype.key p-0001 stat "{\"path\":\".\"}" | nsend >out &&
	jq -e ".error.kind == \"auth_failed\"" out &&
	sed "s/^ed25519-secret agent-7 /ed25519-secret agent-hmac /" agent.key >wrongtype2.key &&
	chmod 600 wrongtype2.key &&
	nreq r2b agent-hmac wrongtype2.key p-0001 stat "{\"path\":\".\"}" | nsend >out &&
	jq -e ".error.kind == \"auth_failed\"" out &&
	last_refusal | jq -e ".kind == \"auth_failed\" and .claimed_kid == \"agent-hmac\"" &&
	nreq r3 agent-7 agent.key p-0001 stat "{\"path\":\".\"}" $(($(date +%s) - 120)) | nsend >out &&
	jq -e ".error.kind == \"replayed\"" out &&
	nsend <good >out && jq -e ".ok and .id == \"r1\"" out &&
	nsend <good >out && jq -e ".error.kind == \"replayed\"" out &&
	echo "{not json" | nsend >out && jq -e ".error.kind == \"bad_request\"" out &&
	{ printf "{\"pad\":\"" && head -c 1048576 /dev/zero | tr "\0" a && printf "\"}\n"; } | nsend >out &&
	jq -e ".error.kind == \"too_large\"" out &&
	last_refusal | jq -e ".kind == \"too_large\" and .bytes == 1048586" &&
	nucleus-audit-verify -q -k node.pub n/audit.log
'

test_expect_success 'a request for pod .., .x or -x: bad_request naming pod, at the gate' '
	for pod in .. .x -x
	do
		nreq r4 agent-7 agent.key "$pod" stat "{\"path\":\".\"}" | nsend >out &&
		jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"^pod:\"))" out &&
		last_refusal | jq -e ".kind == \"bad_request\"" || return 1
	done
'

test_expect_success 'the clients refuse a pod that is not a pod'"'"'s name before they sign' '
	test_expect_code 2 ncall .. stat "{\"path\":\".\"}" >out 2>err &&
	! test -s out &&
	grep "not a pod.s name" err &&
	test_expect_code 2 nucleus-authority ask -d auth -k agent.key -- -x run "{}" >out 2>err &&
	! test -s out &&
	grep "not a pod.s name" err
'

test_expect_success 'approval: required, asked of the authority, granted by its rule, used once' '
	cat >spec3.json <<-\EOF &&
	{"v":1,"name":"p-rel","policy":"release","agents":["agent-7"]}
	EOF
	nucleus-node pod -j -k admin.key -l n/node.sock create spec3.json >/dev/null &&
	authority_start &&
	test_expect_code 3 nucleus-node call -j -k agent.key -l n/node.sock p-rel run "{\"argv\":[\"echo\",\"gated\"]}" >out &&
	jq -e ".error.kind == \"approval_required\"" out &&
	nucleus-authority ask -d auth -k agent.key p-rel run "{\"argv\":[\"echo\",\"gated\"]}" >token &&
	test "$(jq -r .args_digest token)" = "$(jq -r .error.args_digest out)" &&
	nucleus-node call -j -k agent.key -l n/node.sock --approval token p-rel run "{\"argv\":[\"echo\",\"gated\"]}" >out &&
	jq -e ".ok and .result.stdout == \"gated\\n\"" out &&
	test_expect_code 1 nucleus-node call -j -k agent.key -l n/node.sock -a token p-rel run "{\"argv\":[\"echo\",\"gated\"]}" >out &&
	jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 7\"))" out &&
	authority_stop &&
	auth_verify
'

test_expect_success 'a pod killed from outside is reaped and recorded; its cgroup goes' '
	procs=$(pod_cgroup p-0002) &&
	# Its init first ends the rest: a later pid may be gone already.
	for pid in $(cat "$procs/cgroup.procs"); do kill -KILL $pid 2>/dev/null || :; done &&
	node_wait_event ".event == \"pod.exit\" and .pod == \"p-0002\"" &&
	jq -c "select(.event == \"pod.exit\" and .pod == \"p-0002\")" n/audit.log | jq -e ".status == 137" &&
	test_expect_code 1 nucleus-node call -j -k hmac.key -l n/node.sock p-0002 read "{\"path\":\".\"}" >out &&
	jq -e ".error.kind == \"unknown_pod\"" out &&
	test_wait_for "its cgroup to go" 15 test ! -e "$procs"
'

test_expect_success 'pod stop, then the node stop: every pod ends, the node log verifies' '
	cg=$(pod_cgroup p-rel) &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop p-rel >out &&
	jq -e ".result.state == \"stopping\"" out &&
	node_wait_event ".event == \"pod.exit\" and .pod == \"p-rel\"" &&
	node_stop &&
	! test -d "$cg" &&
	tail -n 1 n/audit.log | jq -e ".event == \"node.stop\"" &&
	nucleus-audit-verify -q -k node.pub n/audit.log
'

test_expect_success 'a replayed request stays refused after a node restart' '
	node_start &&
	nreq l1 ops-1 admin.key "" pod.list "{}" >list &&
	nsend <list >out && jq -e ".ok" out &&
	node_stop && node_start &&
	nsend <list >out && jq -e ".error.kind == \"replayed\"" out &&
	node_stop
'

test_done
