#!/bin/sh
test_description='nucleus-node: signed requests, pods on the local driver, forwarding, refusals recorded, the approval flow end to end'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

node_start() {
	rm -f n/node.sock
	nucleus-node serve -d n "$@" >node.out 2>node.err &
	echo $! >node.pid
	i=0
	while ! [ -S n/node.sock ] && [ $i -lt 200 ]; do
		kill -0 "$(cat node.pid)" 2>/dev/null || { cat node.err >&2; return 1; }
		sleep 0.05
		i=$((i + 1))
	done
	[ -S n/node.sock ]
}

node_stop() {
	pid=$(cat node.pid 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	rm -f node.pid
	! kill -0 "$pid" 2>/dev/null
}

# A signed request line from KEY (as nucleus-node call would make it).
nreq() {
	printf '{"type":"request","v":1,"id":"%s","kid":"%s","ts":%s,"nonce":"%s","pod":"%s","op":"%s","args":%s}\n' \
	    "$1" "$2" "${7:-$(date +%s)}" "$(fresh_nonce)" "$4" "$5" "$6" |
	    audit-tool sign request "$3"
}

nsend() {
	timeout 60 unixcat "$PWD/n/node.sock"
}

last_refusal() {
	jq -c "select(.event == \"request.refused\")" n/audit.log | tail -n 1
}

test_expect_success 'setup: a node key, an admin and two agents, the authority trusted' '
	chmod 755 . &&
	mkdir -m 711 n &&
	nucleus-node keygen -d n node-1 | cut -d" " -f1-3 >node.pub &&
	audit-tool keygen ops-1 admin.key | sed "s/ writer$/ admin/" >n/keyring &&
	grep "^agent-" "$TEST_DIRECTORY/vectors/keyring" >>n/keyring &&
	chmod 600 n/keyring &&
	authority_setup "{\"v\":1,\"rules\":[{\"name\":\"echo\",\"agent\":\"agent-7\",\"pod\":\"p-*\",\"op\":\"run\",\"argv_prefix\":[\"echo\",\"gated\"],\"max_per_hour\":100}]}" &&
	cp authority.pub n/trust &&
	printf "hmac-sha256-secret agent-hmac %s\n" \
	    "E8UMU0a9vOrga9N6TyEbWzFWaCtl0xoUdZZi6GkOJmk=" >hmac.key &&
	chmod 600 hmac.key &&
	node_start &&
	test "$(stat -c %a n/node.sock)" = 600
'

test_expect_success 'an admin creates a pod; it is listed, running, with its certified log' '
	cat >spec.json <<-\EOF &&
	{"v":1,"name":"p-0001","policy":"local_dev","agents":["agent-7","agent-hmac"],
	 "resources":{"memory_mib":256,"pids":64,"scratch_mib":32}}
	EOF
	nucleus-node pod -k admin.key -l n/node.sock create spec.json >out &&
	jq -e ".ok and .result.state == \"running\" and (.result.log | startswith(\"p-0001.\"))" out &&
	jq -r .result.log out >podlog &&
	nucleus-node pod -k admin.key -l n/node.sock list >out &&
	jq -e ".result.pods | length == 1 and .[0].pod == \"p-0001\"" out &&
	nucleus-node pod -k admin.key -l n/node.sock status p-0001 >out &&
	jq -e ".result.agents == [\"agent-7\",\"agent-hmac\"] and .result.resources.pids == 64" out
'

test_expect_success 'the pod agents call its tools through the node; answers name the pod log' '
	nucleus-node call -k agent.key -l n/node.sock p-0001 write "{\"path\":\"notes.txt\",\"content\":\"hello\\n\"}" >out &&
	jq -e ".ok and .audit.log == \"$(cat podlog)\" and .id == \"c1\"" out &&
	nucleus-node call -k hmac.key -l n/node.sock p-0001 read "{\"path\":\"notes.txt\"}" >out &&
	jq -e ".result.data == \"hello\\n\"" out &&
	nucleus-node call -k agent.key -l n/node.sock p-0001 run "{\"argv\":[\"cat\",\"/proc/net/dev\"]}" >out &&
	jq -e ".ok and (.result.stdout | test(\"eth\") | not)" out
'

test_expect_success 'the proxy still decides: a path it blocks, an escape' '
	test_expect_code 1 nucleus-node call -k agent.key -l n/node.sock p-0001 read "{\"path\":\".env\"}" >out &&
	jq -e ".error.kind == \"path_denied\"" out &&
	test_expect_code 1 nucleus-node call -k agent.key -l n/node.sock p-0001 read "{\"path\":\"../etc/passwd\"}" >out &&
	jq -e ".error.kind == \"sandbox_escape\"" out
'

test_expect_success 'roles: an agent cannot manage pods, an admin cannot call tools, a pod not naming an agent refuses it' '
	test_expect_code 1 nucleus-node pod -k agent.key -l n/node.sock create spec.json >out &&
	jq -e ".error.kind == \"forbidden\"" out &&
	last_refusal | jq -e ".kind == \"forbidden\" and .signer == \"agent-7\" and .op == \"pod.create\"" &&
	test_expect_code 1 nucleus-node call -k admin.key -l n/node.sock p-0001 read "{\"path\":\"notes.txt\"}" >out &&
	jq -e ".error.kind == \"forbidden\"" out &&
	sed "s/\"agent-7\",//" spec.json | sed "s/p-0001/p-0002/" >spec2.json &&
	nucleus-node pod -k admin.key -l n/node.sock create spec2.json >/dev/null &&
	test_expect_code 1 nucleus-node call -k agent.key -l n/node.sock p-0002 read "{\"path\":\".\"}" >out &&
	jq -e ".error.kind == \"forbidden\"" out &&
	test_expect_code 1 nucleus-node call -k agent.key -l n/node.sock p-0009 read "{\"path\":\".\"}" >out &&
	jq -e ".error.kind == \"unknown_pod\"" out
'

test_expect_success 'bad signature, unknown kid, skew, replay, malformed, oversized: refused and recorded' '
	nreq r1 agent-7 agent.key p-0001 stat "{\"path\":\".\"}" >good &&
	jq -c ".args.path = \"notes.txt\"" good >tampered &&
	nsend <tampered >out && jq -e ".error.kind == \"auth_failed\"" out &&
	last_refusal | jq -e ".kind == \"auth_failed\" and .claimed_kid == \"agent-7\"" &&
	audit-tool keygen stranger stranger.key >/dev/null &&
	nreq r2 stranger stranger.key p-0001 stat "{\"path\":\".\"}" | nsend >out &&
	jq -e ".error.kind == \"auth_failed\"" out &&
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

test_expect_success 'approval: required, asked of the authority, granted by its rule, used once' '
	cat >spec3.json <<-\EOF &&
	{"v":1,"name":"p-rel","policy":"release","agents":["agent-7"]}
	EOF
	nucleus-node pod -k admin.key -l n/node.sock create spec3.json >/dev/null &&
	authority_start &&
	test_expect_code 3 nucleus-node call -k agent.key -l n/node.sock p-rel run "{\"argv\":[\"echo\",\"gated\"]}" >out &&
	jq -e ".error.kind == \"approval_required\"" out &&
	nucleus-authority ask -d auth -k agent.key p-rel run "{\"argv\":[\"echo\",\"gated\"]}" >token &&
	test "$(jq -r .args_digest token)" = "$(jq -r .error.args_digest out)" &&
	nucleus-node call -k agent.key -l n/node.sock -a token p-rel run "{\"argv\":[\"echo\",\"gated\"]}" >out &&
	jq -e ".ok and .result.stdout == \"gated\\n\"" out &&
	test_expect_code 1 nucleus-node call -k agent.key -l n/node.sock -a token p-rel run "{\"argv\":[\"echo\",\"gated\"]}" >out &&
	jq -e ".error.kind == \"invalid_approval\" and (.error.message | test(\"^rule 7\"))" out &&
	authority_stop &&
	auth_verify
'

test_expect_success 'a pod killed from outside is reaped and recorded; its cgroup goes' '
	procs=$(ls -d /sys/fs/cgroup/pids/nucleus/p-0002 2>/dev/null || ls -d /sys/fs/cgroup/nucleus/p-0002) &&
	kill -KILL $(cat "$procs/cgroup.procs") &&
	i=0 && while ! jq -e "select(.event == \"pod.exit\" and .pod == \"p-0002\")" n/audit.log >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done &&
	jq -c "select(.event == \"pod.exit\" and .pod == \"p-0002\")" n/audit.log | jq -e ".status == 137" &&
	test_expect_code 1 nucleus-node call -k hmac.key -l n/node.sock p-0002 read "{\"path\":\".\"}" >out &&
	jq -e ".error.kind == \"unknown_pod\"" out &&
	i=0 && while test -d "$procs" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done &&
	! test -d "$procs"
'

test_expect_success 'pod stop, then the node stop: every pod ends, the node log verifies' '
	nucleus-node pod -k admin.key -l n/node.sock stop p-rel >out &&
	jq -e ".result.state == \"stopping\"" out &&
	i=0 && while ! jq -e "select(.event == \"pod.exit\" and .pod == \"p-rel\")" n/audit.log >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done &&
	node_stop &&
	! ls /sys/fs/cgroup/pids/nucleus/ | grep -qx "p-0001\|p-0002\|p-rel" &&
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
