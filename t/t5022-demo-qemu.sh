#!/bin/sh
test_description='make demo DRIVER=qemu: the whole session in a VM, with the tools image'
. "$(dirname "$0")/test-lib.sh"

# Under SANITIZE the node is sanitized, the guest's static proxy never:
# the plain build's guest image serves (make check makes it first).
guest=$NUCLEUS_BUILD/guest
if test_have_prereq SANITIZE && ! [ -r "$guest/initramfs.cpio" ]; then
	guest=$TEST_DIRECTORY/../build/guest
fi
if ! test_have_prereq ROOT; then
	test_skip_all "the qemu driver needs root"
fi
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v git >/dev/null; then
	test_skip_all "no qemu-system-x86_64 or git (scripts/install-deps installs them)"
fi
if ! [ -r "$guest/initramfs.cpio" ] || ! [ -r "$guest/tools.squashfs" ]; then
	test_skip_all "no guest or tools image in $guest (make guest guest-tools; t5001 and t5005 say why not)"
fi

demo=$TEST_DIRECTORY/../scripts/demo

test_expect_success 'the demo runs to its end in a VM: status 0, every step as shown' '
	DRIVER=qemu NUCLEUS_GUEST="$guest" "$demo" -k -d "$PWD/d" >out 2>err &&
	grep -qx "demo: ok" out &&
	grep -q "a pod on the qemu driver" out &&
	grep -q "<- ok: {\"matches\":\[\"hello.c:7: .*wrold" out &&
	grep -q "<- granted by the rule: token 1," out &&
	grep -q "<- path_denied: .env is blocked" out &&
	grep -q "the remote.s main is the agent.s commit" out &&
	grep -q "<- invalid_approval: rule 7: the token was already used" out &&
	grep -q "the host.s hello.c is the agent.s fix: Hello, world!" out &&
	grep -q "^work.export kept the session.s work: demo-[0-9]*\..*\.diff demo-.*\.tar$" out &&
	test "$(git -C d/work/hello diff --name-only)" = hello.c &&
	test "$(grep -c "^verified: " out)" = 3
'

test_expect_success 'the pod was a VM: its create record, its boot record, and the logs verify' '
	jq -s -e "[.[] | select(.event == \"pod.create\" and .driver == \"qemu\")] | length == 1" d/node/audit.log &&
	cat d/node/node.pub d/auth/authority.pub >trusted &&
	nucleus-audit-verify -q -k trusted d/node/audit.log d/auth/audit.log d/node/pods/demo-*/*.log &&
	jq -s -e "[.[] | select(.event == \"boot\")][0].kernel.release | test(\"-amd64$\")" d/node/pods/demo-*/*.log
'

test_expect_success 'it stopped everything it started, QEMU included' '
	! pgrep -f "$PWD/d/" >/dev/null
'

test_done
