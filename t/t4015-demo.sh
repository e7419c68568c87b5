#!/bin/sh
test_description='make demo: scripts/demo plays its whole session, each step as shown, and leaves nothing behind'
. "$(dirname "$0")/test-lib.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the demo's pod runs on the local driver, which needs root"
fi
if ! command -v git >/dev/null; then
	test_skip_all "the demo needs git (scripts/install-deps installs it)"
fi

demo=$TEST_DIRECTORY/../scripts/demo

test_expect_success 'the demo runs to its end: status 0, every step as shown' '
	"$demo" -k -d "$PWD/d" >out 2>err &&
	grep -qx "demo: ok" out &&
	grep -q "<- ok: {\"matches\":\[\"hello.c:7: .*wrold" out &&
	if unshare -n true 2>/dev/null && command -v python3 >/dev/null; then
		grep -q "<- ok: {\"body\":\"a package index" out &&
		grep -q "<- egress_denied: .*http://other.demo.test:8080/index.txt" out &&
		grep -q "^   deny: connect other.demo.test (egress_denied)$" out
	else
		grep -q "^skipped: " out
	fi &&
	grep -q "<- approval_required: run_bash needs an approval" out &&
	grep -q "<- granted by the rule: token 1," out &&
	grep -q "<- path_denied: .env is blocked" out &&
	grep -q "<- sandbox_escape: ../../etc/passwd" out &&
	grep -q "<- approval_required: git_push needs an approval" out &&
	grep -q "^   [0-9]* pending agent-demo demo-[0-9]* run \[\"git\",\"push\",\"origin\",\"main\"\]$" out &&
	grep -q "the remote.s main is the agent.s commit" out &&
	grep -q "<- invalid_approval: rule 7: the token was already used" out &&
	grep -qx "   modified: hello.c" out &&
	grep -q "the host.s hello.c is the agent.s fix: Hello, world!" out &&
	grep -q "^work.export kept the session.s work: demo-[0-9]*\..*\.diff demo-.*\.tar$" out &&
	test "$(grep -c "^verified: " out)" = 3
'

test_expect_success 'what it shows is what the logs hold, and they verify here too' '
	cat d/node/node.pub d/auth/authority.pub >trusted &&
	nucleus-audit-verify -q -k trusted d/node/audit.log d/auth/audit.log d/node/pods/demo-*/*.log &&
	jq -s -e "[.[] | select(.event == \"decision\" and .kind == \"path_denied\")] | length == 2" d/node/pods/demo-*/*.log &&
	jq -s -e "[.[] | select(.event == \"request.refused\" and .kind == \"invalid_approval\")] | length == 1" d/node/audit.log &&
	tail -n 1 d/node/audit.log | jq -e ".event == \"node.stop\"" &&
	grep -q "Hello, world!" d/work/hello/hello.c &&
	test "$(git -C d/work/hello diff --name-only)" = hello.c &&
	jq -s -e "[.[] | select(.event == \"pod.diff\")] | length == 1" d/node/audit.log &&
	tail -n 1 d/auth/audit.log | jq -e ".event == \"authority.stop\""
'

test_expect_success 'it stopped everything it started' '
	! pgrep -f "$PWD/d/" >/dev/null
'

test_expect_success 'without -k it removes its directory; a step that goes wrong is status 1' '
	"$demo" -d "$PWD/d2" >out 2>err &&
	! test -e d2 &&
	mkdir fake && cp -R "$NUCLEUS_BUILD"/nucleus-* fake/ &&
	printf "#!/bin/sh\nexit 2\n" >fake/nucleus-policy &&
	chmod +x fake/nucleus-policy &&
	test_expect_code 1 env NUCLEUS_BUILD="$PWD/fake" "$demo" -d "$PWD/d3" >out 2>err &&
	grep -q "demo: FAILED" err &&
	! test -e d3 &&
	! pgrep -f "$PWD/d3/" >/dev/null
'

test_done
