#!/bin/sh
test_description='nucleus-proxy: configuration, refusals to start, the boot record'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

test_expect_success 'setup' '
	proxy_setup read_only
'

test_expect_success '-n checks the configuration and exits 0' '
	nucleus-proxy -n -p pod.json >out 2>err &&
	test_line_count = 0 out &&
	test_line_count = 0 err
'

test_expect_success 'a bad pod file exits 1 naming the member' '
	sed "s/\"read_only\"/\"no_such\"/" pod.json >bad.json &&
	test_expect_code 1 nucleus-proxy -n -p bad.json 2>err &&
	grep "bad.json: policy: unknown profile" err &&
	sed "s/\"v\": 1,/\"v\": 1, \"colour\": 1,/" pod.json >bad2.json &&
	test_expect_code 1 nucleus-proxy -n -p bad2.json 2>err &&
	grep "colour: unknown member" err &&
	sed "s/\"read_only\"/{\"profile\": \"default\", \"trifecta_constraint\": false}/" pod.json >bad3.json &&
	test_expect_code 1 nucleus-proxy -n -p bad3.json 2>err &&
	grep "policy.trifecta_constraint: the trifecta constraint cannot be switched off" err
'

test_expect_success 'a pod file whose pod is .., .x or -x exits 1 naming pod' '
	for pod in .. .x -x
	do
		jq --arg p "$pod" ".pod = \$p" pod.json >bad4.json &&
		test_expect_code 1 nucleus-proxy -n -p bad4.json 2>err &&
		grep "bad4.json: pod: expected" err || return 1
	done
'

test_expect_success 'unsafe permissions: the proxy refuses to start' '
	chmod 777 root &&
	test_expect_code 1 nucleus-proxy -n -p pod.json 2>err &&
	grep "work root .*writable by group or others" err &&
	chmod 755 root &&
	chmod 770 state &&
	test_expect_code 1 nucleus-proxy -n -p pod.json 2>err &&
	grep "state directory .*writable by group or others" err &&
	chmod 700 state &&
	chmod 622 trust &&
	test_expect_code 1 nucleus-proxy -n -p pod.json 2>err &&
	grep "keyring .*writable by group or others" err &&
	chmod 644 trust &&
	test_expect_code 1 nucleus-proxy -n -p pod.json 2>err &&
	grep "hmac-sha256 key is a secret" err &&
	chmod 600 trust
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 nucleus-proxy 2>err &&
	grep "^usage: nucleus-proxy" err &&
	test_expect_code 2 nucleus-proxy -p pod.json -x 2>err
'

test_expect_success 'numbers read whole: -f and -v with junk, a sign or a space are usage errors' '
	for n in 3x "" " 3" +3 -3 03 99999999999
	do
		test_expect_code 2 nucleus-proxy -p pod.json -f "$n" 2>err &&
		grep -F "nucleus-proxy: $n: " err &&
		grep "^usage: nucleus-proxy" err || return 1
	done &&
	test_expect_code 2 nucleus-proxy -p pod.json -v 5000x 2>err &&
	grep -Fx "nucleus-proxy: 5000x: not a decimal number: expected 0 to 2147483647" err
'

test_expect_success 'nothing to listen on is an error' '
	test_expect_code 2 nucleus-proxy -p pod.json 2>err &&
	grep "nothing to listen on" err
'

test_expect_success 'it starts, writes log.open and boot, and the log verifies' '
	proxy_start &&
	test "$(stat -c %a sock)" = 600 &&
	proxy_stop &&
	log=$(proxy_log) &&
	test_line_count = 2 "$log" &&
	head -n 1 "$log" | jq -e ".event == \"log.open\"" &&
	sed -n 2p "$log" | jq -e ".event == \"boot\" and .pod == \"p-0001\" and .policy == \"read_only\" and .sandbox.seccomp == true and .limits.request_line == 1048576" &&
	verify_log
'

test_expect_success 'each start is a new key and a new log' '
	proxy_start && proxy_stop &&
	test $(ls state/audit/*.log | wc -l) -eq 2 &&
	test "$(cat state/audit/*.log | jq -r "select(.event == \"log.open\") | .pubkey" | sort -u | wc -l)" -eq 2
'

test_expect_success 'a socket path past sun_path: refused with the path named, never cut' '
	sock=$PWD/$(printf "%0120d" 0).sock &&
	test_expect_code 2 nucleus-proxy -p pod.json -l "$sock" 2>err &&
	grep -F "$(printf "%.100s" "$sock")" err &&
	grep -F "longer than the 107 allowed" err &&
	test ! -e "$(printf "%.107s" "$sock")"
'

# No vsock loopback here: show that the listener is bound, by a second
# proxy that cannot bind the same port.
test_lazy_prereq VSOCK '[ -e /dev/vsock ]'
test_expect_success VSOCK '-v: the proxy listens on a vsock port' '
	proxy_start -v 52011 &&
	test_must_fail nucleus-proxy -p pod.json -v 52011 2>err &&
	grep "vsock port 52011: Address already in use" err &&
	proxy_stop
'

test_expect_success 'a pod file that names its log: the log has that id; one not of the pod is refused' '
	sed "s/\"v\": 1,/\"v\": 1, \"log\": \"p-0001.7.chosen\",/" pod.json >named.json &&
	nucleus-proxy -n -p named.json &&
	sed "s/\"v\": 1,/\"v\": 1, \"log\": \"p-0002.7.chosen\",/" pod.json >other.json &&
	test_expect_code 1 nucleus-proxy -n -p other.json 2>err &&
	grep "other.json: log: expected the pod" err &&
	sed "s/\"v\": 1,/\"v\": 1, \"log\": \"p-0001.\",/" pod.json >short.json &&
	test_expect_code 1 nucleus-proxy -n -p short.json 2>err &&
	grep "short.json: log: expected the pod" err &&
	proxy_start -p named.json &&
	proxy_stop &&
	test -s state/audit/p-0001.7.chosen.log &&
	head -n 1 state/audit/p-0001.7.chosen.log | jq -e ".log == \"p-0001.7.chosen\""
'

test_expect_success '-C: the node certifies the pod key at start' '
	audit-tool keygen node-9 node.secret node >node.keyring &&
	mkfifo to from &&
	(nucleus-proxy -C -p pod.json -l "$PWD/sock" <to >from 2>proxy.err & echo $! >proxy.pid) &&
	exec 8>to 9<from &&
	read hello <&9 &&
	echo "$hello" | jq -e ".type == \"hello\" and .pod == \"p-0001\"" &&
	log=$(echo "$hello" | jq -r .log) &&
	key=$(echo "$hello" | jq -r .pubkey) &&
	printf "%s" "$key" | base64 -d >pub.bin &&
	audit-tool keygen pod-key podkey.secret >/dev/null &&
	printf "{\"type\":\"key-cert\",\"v\":1,\"kid\":\"node-9\",\"log\":\"%s\",\"pubkey\":\"%s\",\"iat\":1}" "$log" "$key" |
	    audit-tool sign key-cert node.secret >&8 &&
	exec 8>&- 9<&- &&
	test_when_failed proxy_stop &&
	test_wait_socket "the certified proxy" proxy.pid sock 20 &&
	proxy_stop &&
	nucleus-audit-verify -q -k node.keyring "state/audit/$log.log"
'

test_done
