#!/bin/sh
test_description='the Firecracker driver: the configuration the node writes is valid against Firecracker'"'"'s own API description, and the checker rejects what it should'
. "$(dirname "$0")/test-lib.sh"

fc=$TEST_DIRECTORY/firecracker
schema=$fc/firecracker-api.yaml

test_lazy_prereq PYYAML 'python3 -c "import yaml"'
if ! test_have_prereq PYYAML; then
	test_skip_all "python3 with yaml (the Debian package python3-yaml) checks the schema"
fi

# check DOC [DEFINITION]: valid against the schema; problems in problems.
check() {
	python3 "$TEST_DIRECTORY/helper/schema-check.py" "$schema" "$@" >problems
}

# rejects DOC MESSAGE: the checker refuses DOC, saying MESSAGE.
rejects() {
	test_expect_code 1 check "$1" &&
	grep -F -- "$2" problems || { cat problems; return 1; }
}

test_expect_success 'Firecracker'"'"'s own example configurations pass' '
	check "$fc/vm_config.json" &&
	check "$fc/vm_config_network.json" &&
	test_line_count = 0 problems
'

test_expect_success 'the logger'"'"'s level Off is a string, not YAML 1.1'"'"'s false' '
	jq ".logger = {\"level\":\"Off\"}" "$fc/vm_config.json" >off.json &&
	check off.json &&
	jq ".logger = {\"level\":\"Loud\"}" "$fc/vm_config.json" >loud.json &&
	rejects loud.json "logger.level: \"Loud\" is not one of"
'

# Each a copy of Firecracker's example, broken in one way.
broken() {
	jq "$1" "$fc/vm_config.json" >broken.json &&
	rejects broken.json "$2"
}

test_expect_success 'the checker rejects a missing required member' '
	broken "del(.\"boot-source\".kernel_image_path)" \
	    "boot-source: missing required member \"kernel_image_path\"" &&
	broken "del(.\"machine-config\".vcpu_count)" \
	    "machine-config: missing required member \"vcpu_count\"" &&
	broken ".vsock = {\"guest_cid\":3}" \
	    "vsock: missing required member \"uds_path\"" &&
	broken ".drives[0].drive_id = null" "drives[0].drive_id: required, and null"
'

test_expect_success 'the checker rejects a wrong type' '
	broken ".\"machine-config\".vcpu_count = \"2\"" \
	    "machine-config.vcpu_count: expected integer" &&
	broken ".\"machine-config\".vcpu_count = 2.5" \
	    "machine-config.vcpu_count: expected integer" &&
	broken ".drives[0].is_read_only = \"yes\"" \
	    "drives[0].is_read_only: expected boolean" &&
	broken ".drives = {}" "drives: expected array" &&
	broken ".\"boot-source\" = \"vmlinux\"" "boot-source: expected object"
'

test_expect_success 'the checker rejects an unknown member, at the top and inside' '
	broken ".network = []" "network: unknown member" &&
	broken ".\"machine-config\".vcpus = 2" \
	    "machine-config.vcpus: unknown member" &&
	broken ".drives[0].readonly = true" "drives[0].readonly: unknown member"
'

test_expect_success 'the checker rejects enum values and bounds the schema gives' '
	broken ".drives[0].cache_type = \"Fast\"" \
	    "drives[0].cache_type: \"Fast\" is not one of" &&
	broken ".\"machine-config\".vcpu_count = 33" \
	    "machine-config.vcpu_count: 33 is above the maximum 32" &&
	broken ".\"machine-config\".vcpu_count = 0" \
	    "machine-config.vcpu_count: 0 is below the minimum 1" &&
	broken ".vsock = {\"guest_cid\":2,\"uds_path\":\"v.sock\"}" \
	    "vsock.guest_cid: 2 is below the minimum 3"
'

# spec CPUS [MORE-RESOURCES]: a firecracker pod's spec, in spec.json.
spec() {
	printf '{"v":1,"name":"p-1","driver":"firecracker","policy":"fix_issue","agents":["agent-7"],"resources":{"cpus":%s,"memory_mib":256,"scratch_mib":64%s}}\n' \
	    "$1" "${2:-}" >spec.json
}

test_expect_success 'the node'"'"'s configuration passes the schema' '
	spec 1 &&
	fc-config spec.json >config.json &&
	check config.json &&
	test_line_count = 0 problems
'

test_expect_success 'and each member passes its own definition' '
	jq ".\"boot-source\"" config.json >m.json && check m.json BootSource &&
	jq ".drives[0]" config.json >m.json && check m.json Drive &&
	jq ".drives[1]" config.json >m.json && check m.json Drive &&
	jq ".\"machine-config\"" config.json >m.json &&
	check m.json MachineConfiguration &&
	jq ".vsock" config.json >m.json && check m.json Vsock
'

test_expect_success 'it says what the driver means: members and values' '
	jq -e "keys == [\"boot-source\",\"drives\",\"machine-config\",\"vsock\"]" config.json &&
	jq -e "[.drives[] | [.drive_id, .is_root_device, .is_read_only]] ==
	    [[\"root\",false,true],[\"scratch\",false,false]]" config.json &&
	jq -e ".\"machine-config\" == {\"vcpu_count\":1,\"mem_size_mib\":256,\"smt\":false}" config.json &&
	jq -e ".vsock.guest_cid == 3" config.json &&
	jq -e ".\"boot-source\".initrd_path | length > 0" config.json
'

test_expect_success 'no network interface: the spec has no egress allowlist' '
	jq -e "has(\"network-interfaces\") | not" config.json
'

test_expect_success 'vCPUs: the spec'"'"'s CPUs, up to Firecracker'"'"'s 32' '
	for n in 2 3 32; do
		spec $n &&
		fc-config spec.json >config.json &&
		check config.json &&
		jq -e ".\"machine-config\".vcpu_count == $n" config.json || return 1
	done
'

test_expect_success 'a spec past 32 vCPUs is refused, saying so' '
	spec 33 &&
	test_expect_code 1 fc-config spec.json >config.json 2>err &&
	grep -F "resources.cpus: 33 is more than the 32 vCPUs Firecracker allows" err &&
	test_line_count = 0 config.json
'

test_expect_success 'a socket path past sun_path, a control character, long boot arguments: refused' '
	spec 1 &&
	long=$(printf "%0108d" 0) &&
	test_expect_code 1 fc-config -v "/$long" spec.json 2>err &&
	grep -F "vsock socket: longer than 107 bytes" err &&
	test_expect_code 1 fc-config -r "$(printf "/a\nb")" spec.json 2>err &&
	grep -F "root image: a control character" err &&
	test_expect_code 1 fc-config -b "$(printf "%01025d" 0)" spec.json 2>err &&
	grep -F "boot arguments: longer than 1024 bytes" err &&
	test_expect_code 1 fc-config -k "" spec.json 2>err &&
	grep -F "firecracker: no kernel" err
'

test_expect_success 'written into the pod'"'"'s directory: mode 0600, never over a file already there' '
	spec 2 &&
	mkdir pod &&
	fc-config -w pod spec.json >path &&
	test "$(cat path)" = pod/firecracker.json &&
	test "$(stat -c %a pod/firecracker.json)" = 600 &&
	check pod/firecracker.json &&
	fc-config spec.json >config.json &&
	test_cmp config.json pod/firecracker.json &&
	test_expect_code 2 fc-config -w pod spec.json 2>err &&
	grep -F "pod/firecracker.json: File exists" err &&
	rm pod/firecracker.json &&
	ln -s /nonexistent pod/firecracker.json &&
	test_expect_code 2 fc-config -w pod spec.json 2>err &&
	! test -e /nonexistent
'

test_done
