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

test_done
