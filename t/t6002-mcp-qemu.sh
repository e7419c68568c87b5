#!/bin/sh
test_description='nucleus-mcp and the official MCP client on a qemu pod: the tools reach the guest'"'"'s proxy as they reach a local one'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

guest=${NUCLEUS_GUEST:-$NUCLEUS_BUILD/guest}
if test_have_prereq SANITIZE && ! [ -r "$guest/initramfs.cpio" ]; then
	guest=$TEST_DIRECTORY/../build/guest
fi
if ! test_have_prereq ROOT; then
	test_skip_all "the qemu driver makes cgroups and drops to the pods' uid: it needs root"
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	test_skip_all "no qemu-system-x86_64 (scripts/install-deps installs it)"
fi
if ! [ -r "$guest/initramfs.cpio" ]; then
	test_skip_all "no guest image in $guest (make guest; t5001 says why it could not be made)"
fi
. "$TEST_DIRECTORY/lib-mcp.sh"

test_expect_success 'setup: the SDK, an authority, a node with the guest image, a qemu pod p-mcp' '
	mcp_sdk_setup &&
	authority_setup &&
	authority_start -t 120 &&
	node_setup &&
	node_start -G "$guest" &&
	printf "{\"v\":1,\"name\":\"p-mcp\",\"driver\":\"qemu\",\"policy\":%s,\"agents\":[\"agent-7\"]}\n" "$mcp_policy" >spec-mcp.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-mcp.json >out &&
	jq -e ".ok and .result.state == \"running\"" out
'

test_expect_success 'write, edit, read, list, a command and a denial, in the guest' '
	cat >calls.json <<-\EOF &&
	[["write_file", {"path": "vm.txt", "content": "one two\n"}],
	 ["edit_file", {"path": "vm.txt", "old": "two", "new": "three"}],
	 ["read_file", {"path": "vm.txt"}],
	 ["list_directory", {}],
	 ["run_command", {"argv": ["cat", "vm.txt"]}],
	 ["read_file", {"path": "../etc/passwd"}]]
	EOF
	mcp_client calls "$(cat calls.json)" >out &&
	sed -n 1p out | jq -e ".result.structuredContent.created" &&
	sed -n 2p out | jq -e ".result.structuredContent.replacements == 1" &&
	sed -n 3p out | jq -e ".result.structuredContent.data == \"one three\n\"" &&
	sed -n 4p out | jq -e "[.result.structuredContent.entries[].name] | index(\"vm.txt\") != null" &&
	sed -n 5p out | jq -e ".result.structuredContent.stdout == \"one three\n\"" &&
	sed -n 6p out | jq -e ".result.isError and (.result.content[0].text | test(\"^sandbox_escape: \"))"
'

test_expect_success 'the pod stops; the logs verify' '
	nucleus-node pod -j -k admin.key -l n/node.sock stop p-mcp >out &&
	node_stop &&
	auth_verify
'

test_done
