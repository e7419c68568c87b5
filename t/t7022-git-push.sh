#!/bin/sh
test_description='git push over smart HTTPS from a pod, through the pod'"'"'s proxy and the gateway, to a host under an approval entry: refused without a token, accepted with one given as the proxy credentials (one CONNECT, one token, for the whole push), the token spent once'
. "$(dirname "$0")/lib-egress.sh"
egress_netns "$@"
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"
. "$TEST_DIRECTORY/lib-egress.sh"
. "$TEST_DIRECTORY/lib-authority.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi
if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network namespace of its own (unshare -n)"
fi

suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d " \n")
pod=p-push-$suffix
test_cleanup() {
	for f in server.pid git.pid authority.pid; do
		[ -f $f ] && kill "$(cat $f)"
	done
	pods_gone "p-*-$suffix*"
}
egress_policy='{"profile":"restrictive","capabilities":{"read_files":"never","glob_search":"never","grep_search":"never","run_bash":"always","write_files":"always","edit_files":"always","git_commit":"always","git_push":"low_risk","web_fetch":"low_risk"},"commands":{"allow":[{"program":"git"}]}}'

# git_start: a CA, a certificate for push.test, an empty bare
# repository www/repo.git, and git-server.py on 198.18.0.2:8443.
git_start() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 1 -subj /CN=test-ca -keyout ca.key -out ca.pem 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -subj /CN=push.test -keyout srv.key -out srv.csr 2>/dev/null &&
	printf "subjectAltName=DNS:push.test\n" >ext &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key \
	    -CAcreateserial -days 1 -extfile ext -out srv.pem 2>/dev/null &&
	git init -q --bare www/repo.git &&
	git -C www/repo.git config http.receivepack true &&
	python3 "$TEST_DIRECTORY/helper/git-server.py" "$PWD/served" "$PWD/www" \
	    198.18.0.2:8443 srv.pem srv.key 2>git.err &
	echo $! >git.pid &&
	test_wait_for "the git server" 10 test -f served.ready
}

# git_in ARGS...: git -C /work/r ARGS in the pod; its answer in resp.
git_in() {
	argv=$(python3 -c "import json, sys; print(json.dumps(sys.argv[1:]))" \
	    git -C /work/r "$@") &&
	call $pod run "{\"argv\":$argv}" >resp
}

# granted NAME: agent-7 asks the authority for a token of op connect to
# push.test:8443, an operator grants it; the token in NAME.out.
granted() {
	ask "$1" $pod connect "{\"host\":\"push.test\",\"port\":8443}" "push the fix" &&
	until_pending 1 &&
	id=$(nucleus-authority list -d auth | awk "/ pending /{print \$1}") &&
	nucleus-authority grant -d auth "$id" >/dev/null &&
	ask_done "$1" &&
	test "$(cat "$1.rc")" = 0
}

# proxy_with TOKEN-FILE: the repository's http.proxy, the token as the
# password of user approval (percent-encoded), sent at once (basic).
proxy_with() {
	enc=$(python3 -c "import sys, urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read().strip(), safe=\"\"))" "$1") &&
	git_in config http.proxy "http://approval:$enc@127.0.0.1:3128" &&
	jq -e ".result.exit == 0" resp >/dev/null
}

pushed() {
	git --git-dir=www/repo.git log --format=%s main 2>/dev/null
}

test_expect_success 'setup: test hosts, a git host on push.test:8443 (an approval entry), a node, a pod with a commit to push' '
	egress_hosts &&
	git_start &&
	authority_setup &&
	authority_start &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	egress_pod $pod "{\"allow\":[{\"host\":\"push.test\",\"ports\":[8443],\"approval\":true}]}" &&
	jq -n --rawfile ca ca.pem "{path: \"ca.pem\", content: \$ca}" | call $pod write - >resp &&
	call $pod run "{\"argv\":[\"git\",\"init\",\"-q\",\"-b\",\"main\",\"/work/r\"]}" >resp &&
	jq -e ".result.exit == 0" resp >/dev/null &&
	call $pod write "{\"path\":\"r/README\",\"content\":\"pushed through the gateway\n\"}" >resp &&
	git_in add README && git_in config user.name t && git_in config user.email t@t.test &&
	git_in config http.sslCAInfo /work/ca.pem &&
	git_in config http.proxyAuthMethod basic &&
	git_in commit -q -m first &&
	jq -e ".result.exit == 0" resp >/dev/null
'

test_expect_success 'without a token: the push is refused at its CONNECT (approval_required, recorded), the host sees nothing' '
	git_in push -q https://push.test:8443/repo.git main &&
	jq -e ".result.exit != 0" resp >/dev/null &&
	pod_log $pod | jq -r -s "[.[] | select(.op == \"connect\" and .host == \"push.test\" and .port == 8443 and .decision == \"approval_required\")][0].args_digest" >digest &&
	test "$(wc -c <digest)" = 65 &&
	pod_log $pod | jq -e -s "[.[] | select(.op == \"connect\" and (.reason | test(\"or as the password of user approval\")))] | length == 1" >/dev/null &&
	! grep -q "^connection$" served &&
	test -z "$(pushed)"
'

test_expect_success 'the authority issues a token of op connect (an operator grants it), for exactly that connection' '
	granted push &&
	jq -e ".op == \"connect\" and .sub == \"agent-7\" and .args_digest == \"$(cat digest)\"" push.out >/dev/null &&
	test_expect_code 2 nucleus-authority ask -d auth -k agent.key $pod connect "{\"host\":\"push.test\",\"port\":0}" 2>err &&
	grep -q "args.port: expected 1 to 65535" err
'

test_expect_success 'with the token as the proxy credentials: pushed, over one connection, the token named by the connect decision' '
	proxy_with push.out &&
	git_in push -q https://push.test:8443/repo.git main &&
	jq -e ".result.exit == 0" resp >/dev/null &&
	test "$(pushed)" = first &&
	grep -q "^POST /repo.git/git-receive-pack$" served &&
	test "$(grep -c "^connection$" served)" = 1 &&
	pod_log $pod | jq -e -s "[.[] | select(.op == \"connect\" and .host == \"push.test\" and .decision == \"allow\" and .approval.id == \"$(jq -r .id push.out)\")] | length == 1" >/dev/null
'

test_expect_success 'the same token again is refused (rule 7): nothing more is pushed' '
	call $pod write "{\"path\":\"r/README\",\"content\":\"again\n\"}" >resp &&
	git_in commit -q -a -m second &&
	git_in push -q https://push.test:8443/repo.git main &&
	jq -e ".result.exit != 0" resp >/dev/null &&
	pod_log $pod | jq -e -s "[.[] | select(.op == \"connect\" and .decision == \"deny\" and .kind == \"invalid_approval\" and (.reason | test(\"rule 7\")))] | length == 1" >/dev/null &&
	test "$(pushed)" = first &&
	test "$(grep -c "^connection$" served)" = 1
'

test_expect_success 'every log verifies; the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
