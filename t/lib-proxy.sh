# lib-proxy.sh: what the proxy's tests share.  Source after test-lib.sh.
#
#	proxy_setup POLICY [POD-JSON-MEMBERS]	a pod in the trash directory
#						(a profile name, or a JSON object)
#	proxy_start [OPTIONS]			start it on ./sock, wait
#	proxy_stop				SIGTERM, wait for it
#	req ID OP ARGS-JSON [TOKEN-JSON]	print a request line
#	send < LINES > OUT			send lines, collect responses
#	proxy_log				the current audit log's path
#	verify_log				it verifies with its own key

vectors=$TEST_DIRECTORY/vectors

proxy_setup() {
	mkdir -p root state &&
	chmod 755 root &&
	chmod 700 state &&
	cp "$vectors/keyring" trust &&
	chmod 600 trust &&
	cp "$vectors/authority.secret" authority.secret &&
	chmod 600 authority.secret &&
	case $1 in
	"{"*) policy=$1 ;;
	*) policy="\"$1\"" ;;
	esac &&
	cat >pod.json <<-EOT
	{"v": 1, "pod": "p-0001", "policy": $policy,
	 "root": "$PWD/root", "state": "$PWD/state", "trust": "$PWD/trust",
	 "path": ["$NUCLEUS_BUILD/t/helper", "/usr/bin", "/bin"]${2:+, $2}}
	EOT
}

# A proxy whose test fails is stopped after that test: it does not run on
# into the next.  One whose test passes serves the tests after it, until
# proxy_stop (or test_done).
proxy_start() {
	rm -f sock
	nucleus-proxy -p pod.json -l "$PWD/sock" "$@" >proxy.out 2>proxy.err &
	echo $! >proxy.pid
	test_when_failed proxy_stop &&
	test_wait_socket "the proxy" proxy.pid sock 10 || {
		cat proxy.err >&2
		return 1
	}
}

proxy_stop() {
	test_stop_daemon "the proxy" proxy.pid 10
}

# The proxy must still be alive: it never crashes on bad input.
proxy_alive() {
	kill -0 "$(cat proxy.pid)"
}

req() {
	printf '{"type":"request","v":1,"id":"%s","kid":"agent-7","ts":1,' "$1"
	printf '"nonce":"00000000000000000000000000000000","pod":"p-0001",'
	printf '"op":"%s","args":%s%s,"sig":"unchecked"}\n' "$2" "$3" \
	    "${4:+,\"approval\":$4}"
}

send() {
	timeout 60 unixcat "$PWD/sock"
}

# The response with this id, from OUT (default out).
resp() {
	jq -c "select(.id == \"$1\")" "${2:-out}"
}

proxy_log() {
	ls -t state/audit/*.log | head -n 1
}

verify_log() {
	log=$(proxy_log) &&
	key=$(head -n 1 "$log" | jq -r .pubkey) &&
	echo "pod-key ed25519 $key" >pod.keyring &&
	nucleus-audit-verify -q -k pod.keyring "$log"
}

# A token from the vectors' authority for op and args_digest.
token() {
	now=$(date +%s)
	printf '{"type":"approval","v":1,"kid":"authority-1","id":"a-%s",' "$3"
	printf '"pod":"%s","op":"%s","args_digest":"%s","sub":"agent-7",' \
	    "${4:-p-0001}" "$1" "$2"
	printf '"iat":%s,"exp":%s,"nonce":"%s"}' "$now" $((now + 120)) \
	    "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}

sign_token() {
	audit-tool sign approval authority.secret
}
