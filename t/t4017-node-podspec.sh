#!/bin/sh
test_description='nucleus-node: what a pod spec asks for: a work directory copied in from beneath the node'"'"'s work root, a lifetime'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

spec() {
	printf '{"v":1,"name":"%s","policy":"local_dev","agents":["agent-7"],"resources":{"scratch_mib":%s},"work":{"copy":"%s"}}\n' \
	    "$1" "${3:-32}" "$2" >"spec-$1.json"
}

# running_ POD N: N sleep commands run in the pod.
running_() {
	d=$(pod_cgroup "$1") &&
	test "$(for pid in $(cat "$d/cgroup.procs"); do cat /proc/$pid/comm 2>/dev/null; done | grep -c "^sleep$")" = "$2"
}

# window_ended_ POD: pod.status says its policy's window has ended.
window_ended_() {
	nucleus-node pod -j -k admin.key -l n/node.sock status "$1" >st &&
	jq -e ".result.state == \"expired\"" st
}

test_expect_success 'setup: a work root with a project' '
	authority_setup &&
	node_setup &&
	mkdir -p root/proj/src root/proj/empty &&
	echo "int main(void) { return 0; }" >root/proj/src/main.c &&
	echo "SECRET=1" >root/proj/.env && chmod 600 root/proj/.env &&
	printf "#!/bin/sh\necho hi\n" >root/proj/run.sh && chmod 4755 root/proj/run.sh &&
	ln -s ../../../../etc/passwd root/proj/passwd &&
	ln -s src/main.c root/proj/main.c &&
	echo outside >outside.txt &&
	ln -s ../outside.txt root/escape &&
	node_start -W "$PWD/root"
'

test_expect_success 'the project is in the pod'"'"'s /work, owned by the pod, set-id bits gone' '
	spec p-1 proj &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-p-1.json >out-p-1.create &&
	jq -e .ok out-p-1.create &&
	ncall p-1 read "{\"path\":\"src/main.c\"}" >out &&
	jq -e ".result.data == \"int main(void) { return 0; }\\n\"" out &&
	ncall p-1 list "{\"path\":\"empty\"}" >out &&
	jq -e ".ok" out &&
	ncall p-1 run "{\"argv\":[\"stat\",\"-c\",\"%a %u\",\"run.sh\",\"src\",\"main.c\"]}" >out &&
	jq -e ".result.stdout == \"755 0\\n755 0\\n777 0\\n\"" out
'

test_expect_success 'setup: a project with secrets the policy blocks' '
	mkdir -p root/sec/src root/sec/.ssh root/sec/config/secrets root/sec/docs &&
	echo "int x;" >root/sec/src/x.c &&
	echo readme >root/sec/README &&
	echo "SECRET=1" >root/sec/.env &&
	echo "SECRET=2" >root/sec/src/.env.local &&
	echo "-----BEGIN KEY" >root/sec/.ssh/id_rsa &&
	echo host >root/sec/.ssh/known_hosts &&
	echo api-token >root/sec/config/secrets/api.txt &&
	echo cert >root/sec/server.pem &&
	ln -s .env root/sec/env-link &&
	ln -s README root/sec/password.lnk &&
	echo "not a secret" >root/sec/docs/secrets.md &&
	spec p-s sec &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-p-s.json >create.out &&
	jq -e .ok create.out
'

test_expect_success 'what the policy blocks is not in the pod: no command reads it' '
	ncall p-s run "{\"argv\":[\"cat\",\".env\"]}" >out &&
	jq -e ".result.exit != 0 and (.result.stderr | test(\"No such file\"))" out &&
	ncall p-s run "{\"argv\":[\"cat\",\"env-link\"]}" >out &&
	jq -e ".result.exit != 0 and (.result.stdout | test(\"SECRET\") | not)" out &&
	ncall p-s run "{\"argv\":[\"ls\",\"-aR\"]}" >out &&
	jq -e ".result.exit == 0" out &&
	jq -j .result.stdout out >listing &&
	! grep -E "env$|\\.env|ssh|id_rsa|known_hosts|api\\.txt|server\\.pem|password|^secrets$|config/secrets" listing &&
	grep -x README listing &&
	grep -x x.c listing &&
	grep -x secrets.md listing &&
	grep -x config listing
'

test_expect_success 'how many were left out: in the answer, the status and the record' '
	jq -e ".result.work == {\"copy\": \"sec\", \"left_out\": 6}" create.out &&
	nucleus-node pod -j -k admin.key -l n/node.sock status p-s >out &&
	jq -e ".result.work.left_out == 6" out &&
	jq -s -e "[.[] | select(.event == \"pod.create\" and .pod == \"p-s\") | .work] == [{\"copy\": \"sec\", \"left_out\": 6}]" n/audit.log &&
	jq -e ".result.work == {\"copy\": \"proj\", \"left_out\": 1}" out-p-1.create
'

test_expect_success 'links are copied as links, and the proxy judges them inside' '
	ncall p-1 read "{\"path\":\"main.c\"}" >out &&
	jq -e ".result.data | startswith(\"int main\")" out &&
	test_expect_code 1 ncall p-1 read "{\"path\":\"passwd\"}" >out &&
	jq -e ".error.kind == \"sandbox_escape\"" out
'

test_expect_success 'the pod'"'"'s writes do not reach the host'"'"'s copy' '
	ncall p-1 write "{\"path\":\"src/main.c\",\"content\":\"changed\"}" >out &&
	jq -e .ok out &&
	grep -q "int main" root/proj/src/main.c
'

test_expect_success 'a work path that climbs, or is absolute, is refused before anything runs' '
	printf "{\"v\":1,\"name\":\"p-2\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"work\":{\"copy\":\"../x\"}}" >bad.json &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create bad.json >out &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"work.copy\"))" out &&
	! test -d n/pods/p-2
'

test_expect_success 'a pod named ., .., .x, -x or with 65 characters is refused, naming name, before anything is made on disk' '
	long=$(printf "p%064d" 0) &&
	find n | sort >before &&
	for name in . .. .x -x "$long"
	do
		printf "{\"v\":1,\"name\":\"%s\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"]}" "$name" >bad.json &&
		test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create bad.json >out &&
		jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"^name:\"))" out || return 1
	done &&
	find n | sort >after &&
	test_cmp before after &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >out &&
	jq -e "[.result.pods[].pod] | sort == [\"p-1\", \"p-s\"]" out
'

test_expect_success 'a link out of the work root is not followed' '
	spec p-3 escape &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create spec-p-3.json >out &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"^work.copy: escape: not beneath the node.s work root\"))" out &&
	jq -s -e "[.[] | select(.event == \"pod.refused\" and .pod == \"p-3\")] | length == 1" n/audit.log
'

test_expect_success 'what is not a file, a directory or a link refuses the pod, saying which' '
	mkdir root/odd && mkfifo root/odd/fifo &&
	spec p-4 odd &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create spec-p-4.json >out &&
	jq -e ".error.message | test(\"odd/fifo: not a directory, a file or a link\")" out &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >out &&
	jq -e "[.result.pods[].pod] | sort == [\"p-1\", \"p-s\"]" out
'

test_expect_success 'a work directory larger than scratch_mib refuses the pod as a full disk' '
	mkdir root/big && head -c 3145728 /dev/zero >root/big/blob &&
	spec p-5 big 2 &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create spec-p-5.json >out &&
	jq -e ".error.message | test(\"does not fit in scratch_mib\")" out
'

test_expect_success 'a work directory 64 deep is copied; 65 deep refuses the pod' '
	mkdir -p "root/deep64/$(printf "d/%.0s" $(seq 63))d" &&
	echo bottom >"root/deep64/$(printf "d/%.0s" $(seq 63))d/f" &&
	mkdir -p "root/deep65/$(printf "d/%.0s" $(seq 64))d" &&
	spec p-d64 deep64 &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-p-d64.json >out &&
	jq -e .ok out &&
	ncall p-d64 read "{\"path\":\"$(printf "d/%.0s" $(seq 63))d/f\"}" >out &&
	jq -e ".result.data == \"bottom\\n\"" out &&
	spec p-d65 deep65 &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create spec-p-d65.json >out &&
	jq -e ".error.message | test(\"deeper than 64 directories\")" out
'

test_expect_success 'a work directory of more than 100000 entries refuses the pod' '
	mkdir root/many &&
	(cd root/many && seq 1 100001 | sed "s/^/f/" | xargs touch) &&
	# A scratch with inodes for them all (one per 16 KiB), memory for it.
	printf "{\"v\":1,\"name\":\"p-many\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"resources\":{\"memory_mib\":8192,\"scratch_mib\":7000},\"work\":{\"copy\":\"many\"}}\n" >spec-p-many.json &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create spec-p-many.json >out &&
	jq -e ".error.message | test(\"more than 100000 entries\")" out
'

test_expect_success 'a pod past its timeout_s is stopped, and that is recorded' '
	printf "{\"v\":1,\"name\":\"p-t\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"resources\":{\"timeout_s\":1}}" >t.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create t.json >out &&
	jq -e .ok out &&
	node_wait_event ".event == \"pod.exit\" and .pod == \"p-t\"" &&
	jq -s -e "[.[] | select(.pod == \"p-t\") | .event] == [\"pod.create\", \"pod.timeout\", \"pod.exit\"]" n/audit.log &&
	jq -s -e "[.[] | select(.event == \"pod.timeout\")][0].timeout_s == 1" n/audit.log &&
	test_expect_code 1 ncall p-t stat "{\"path\":\".\"}" >out &&
	jq -e ".error.kind == \"unknown_pod\"" out &&
	ncall p-1 stat "{\"path\":\".\"}" >out &&
	jq -e .ok out
'

test_expect_success 'a wrong policy is refused with the policy'"'"'s own error, before anything runs' '
	find n/pods | sort >before &&
	printf "{\"v\":1,\"name\":\"p-8\",\"policy\":{\"profile\":\"local_dev\",\"capabilities\":{\"run_bash\":\"sometimes\"}},\"agents\":[\"agent-7\"]}" >bad.json &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create bad.json >out &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | startswith(\"policy.capabilities.run_bash: \"))" out &&
	printf "{\"v\":1,\"name\":\"p-8\",\"policy\":\"nosuch\",\"agents\":[\"agent-7\"]}" >bad.json &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create bad.json >out &&
	jq -e ".error.kind == \"bad_request\" and .error.message == \"policy: unknown profile \\\"nosuch\\\"\"" out &&
	find n/pods | sort >after &&
	test_cmp before after
'

test_expect_success 'a pod whose policy'"'"'s time window has ended says so in pod.status' '
	printf "{\"v\":1,\"name\":\"p-w\",\"policy\":{\"profile\":\"local_dev\",\"time\":{\"lifetime_seconds\":2}},\"agents\":[\"agent-7\"]}" >w.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create w.json >out &&
	jq -e ".result.state == \"running\" and .result.not_after >= .result.started + 2" out &&
	test_wait_for "the window to end" 10 window_ended_ p-w &&
	test_expect_code 1 ncall p-w stat "{\"path\":\".\"}" >out &&
	jq -e ".error.kind == \"time_window\"" out &&
	nucleus-node pod -j -k admin.key -l n/node.sock list >out &&
	jq -e "[.result.pods[] | select(.pod == \"p-w\")][0].state == \"expired\"" out &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop p-w >out &&
	jq -e .ok out
'

test_expect_success 'resources.commands: how many commands a pod runs at once, from 1 to 256' '
	for n in 0 257 "\"2\""
	do
		printf "{\"v\":1,\"name\":\"p-c\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"resources\":{\"commands\":%s}}" "$n" >c.json &&
		test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create c.json >out &&
		jq -e ".error.kind == \"bad_request\" and (.error.message | startswith(\"resources.commands: \"))" out || return 1
	done &&
	printf "{\"v\":1,\"name\":\"p-c\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"resources\":{\"commands\":2}}" >c.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create c.json >out &&
	jq -e ".result.resources.commands == 2" out &&
	test_when_finished "nucleus-node pod -k admin.key -l n/node.sock stop p-c >/dev/null" &&
	for i in 1 2
	do
		{ ncall p-c run "{\"argv\":[\"sleep\",\"3\"]}" >slow$i.out & } || return 1
	done &&
	test_wait_for "two commands running" 10 running_ p-c 2 &&
	test_expect_code 2 ncall p-c run "{\"argv\":[\"true\"]}" >out &&
	jq -e ".error.kind == \"unavailable\" and .error.message == \"2 commands are running; the limit is 2\"" out &&
	test_wait_for "the slow ones" 10 test -s slow2.out &&
	test_wait_for "the slow ones" 10 test -s slow1.out &&
	ncall p-c run "{\"argv\":[\"true\"]}" >out &&
	jq -e ".ok" out &&
	printf "{\"v\":1,\"name\":\"p-d\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"]}" >d.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create d.json >out &&
	jq -e ".result.resources.commands == 8" out &&
	nucleus-node pod -k admin.key -l n/node.sock stop p-d >/dev/null
'

test_expect_success 'a missing work directory, and a node without -W, refuse the pod as bad_request, naming it' '
	spec p-6 nosuch &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create spec-p-6.json >out &&
	jq -e ".error.kind == \"bad_request\" and .error.message == \"work.copy: nosuch: no such directory beneath the node'"'"'s work root\"" out &&
	! test -d n/pods/p-6 &&
	node_stop && node_start &&
	spec p-7 proj &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create spec-p-7.json >out &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"^work.copy: proj: the node has no work root\"))" out &&
	node_stop
'

test_done
