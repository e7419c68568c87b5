# lib-authority.sh: what the authority's tests share.  Source after
# test-lib.sh.
#
#	authority_setup [RULES-JSON]	the directory auth/: the vectors'
#					authority key (so a proxy set up by
#					lib-proxy.sh trusts its tokens), the
#					vectors' keyring, and the rules
#	authority_start [OPTIONS]	serve auth/, wait for its sockets
#	authority_stop			SIGTERM, wait for it to exit
#	areq KID POD OP ARGS [TS] [NONCE]	print an approval-request, unsigned
#	asign KEYFILE			sign stdin's approval-request
#	astatus KID ID			print an approval-status, unsigned
#	asend < LINES > OUT		send to the request socket, collect
#	auth_log			the authority's audit log
#	auth_verify			it verifies under the authority's key
#	auth_events			its events, one per line: "seq event"
#	ask NAME POD OP ARGS [REASON]	ask as agent-7, in the background
#	ask_done NAME			wait for it; its status in NAME.rc
#	until_pending N			wait until N requests are pending

vectors=$TEST_DIRECTORY/vectors

authority_setup() {
	mkdir -p auth &&
	chmod 700 auth &&
	cp "$vectors/authority.secret" auth/authority.key &&
	chmod 600 auth/authority.key &&
	cp "$vectors/keyring" auth/keyring &&
	chmod 600 auth/keyring &&
	grep "^authority-1 " "$vectors/keyring" | cut -d" " -f1-3 >authority.pub &&
	printf "ed25519-secret agent-7 %s\n" \
	    "DUDatMmCCMhG+Yvr7CQozwJlbCggXRi06uUOsN+LB2s=" >agent.key &&
	printf "ed25519-secret node-1 %s\n" \
	    "u67fqmKOrs9wzV+1Di+0GozM6h+jXA+900fuVvgmVrw=" >node.key &&
	printf "ed25519-secret authority-1 %s\n" \
	    "Oa+bGHhfwnrShXq5j9hB125/Cq1Vy98HhT77SjZLlZo=" >intruder.key &&
	chmod 600 agent.key node.key intruder.key &&
	if [ -n "$1" ]; then
		printf "%s\n" "$1" >auth/rules.json &&
		chmod 600 auth/rules.json
	fi
}

# An authority whose test fails is stopped after that test; one whose
# test passes serves the tests after it (as proxy_start).
authority_start() {
	rm -f auth/request.sock auth/admin.sock
	nucleus-authority serve -d auth "$@" >authority.out 2>authority.err &
	echo $! >authority.pid
	test_when_failed authority_stop &&
	test_wait_socket "the authority" authority.pid auth/request.sock 10 || {
		cat authority.err >&2
		return 1
	}
}

authority_stop() {
	test_stop_daemon "the authority" authority.pid 10
}

authority_alive() {
	kill -0 "$(cat authority.pid)"
}

fresh_nonce() {
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

areq() {
	printf '{"type":"approval-request","v":1,"kid":"%s","ts":%s,' \
	    "$1" "${5:-$(date +%s)}"
	printf '"nonce":"%s","pod":"%s","op":"%s","args":%s,"reason":"test"}\n' \
	    "${6:-$(fresh_nonce)}" "$2" "$3" "$4"
}

astatus() {
	printf '{"type":"approval-status","v":1,"kid":"%s","ts":%s,' \
	    "$1" "$(date +%s)"
	printf '"nonce":"%s","id":"%s"}\n' "$(fresh_nonce)" "$2"
}

asign() {
	audit-tool sign "${2:-approval-request}" "$1"
}

asend() {
	timeout 60 unixcat "$PWD/auth/request.sock"
}

auth_log() {
	echo auth/audit.log
}

auth_verify() {
	nucleus-audit-verify -q -k authority.pub auth/audit.log
}

auth_events() {
	jq -r '"\(.seq) \(.event)"' auth/audit.log
}

# ask NAME POD OP ARGS [REASON]: ask in the background, as agent-7; its
# exit status goes to NAME.rc.
ask() {
	rm -f "$1.rc"
	(
		nucleus-authority ask -d auth -k agent.key -m "${5:-please}" \
		    "$2" "$3" "$4" >"$1.out" 2>"$1.err"
		echo $? >"$1.rc"
	) &
}

# ask_done NAME: wait (10 s at most) for it to end.
ask_done() {
	test_wait_for "the agent $1 to be answered" 10 test -s "$1.rc"
}

# until_pending N: wait (10 s at most) until N requests are pending.
until_pending() {
	test_wait_for "$1 pending request(s)" 10 pending_is_ "$1"
}

pending_is_() {
	[ "$(nucleus-authority list -d auth | grep -c " pending ")" = "$1" ]
}
