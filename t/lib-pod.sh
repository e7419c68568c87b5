# lib-pod.sh: what the tests of pods and of the node's limits (t4011,
# t4013) share.  Source after test-lib.sh; it brings lib-node.sh's
# node_start, node_stop, nreq, nsend and pod_proxy, and has its own
# agents.
#
#	node_setup [AGENTS]	n/: a node key (node.pub), a keyring with the
#				admin ops-1 (admin.key) and agents agent-1 ...
#				agent-AGENTS (agent-N.key; 1 by default),
#				the vectors' authority trusted
#	node_alive		it runs
#	pod_create NAME [SPEC-JSON-MEMBERS]
#				an admin creates pod NAME for every agent,
#				policy local_dev; the members are added to
#				the spec (e.g. "resources":{...})
#	call [-k KEY] POD OP ARGS	nucleus-node call as agent-1 (or KEY)
#	pod_cgroup POD		its pids cgroup (v1) or its cgroup (v2)
#	pod_procs POD		the pod's processes on the host
#	pod_proxy POD		its proxy's pid (the init's child)
#	pod_log POD		its audit log, as the node's copy holds it (the
#				pod's own file gives back what the copy holds)
#	node_events EVENT	the node's records of EVENT, one per line
#	wait_for N COMMAND...	until COMMAND succeeds, at most N tenths of
#				a second
#	pods_gone PATTERN	in test_cleanup: every process of the pods
#				whose names match killed, their cgroups removed

. "$TEST_DIRECTORY/lib-node.sh"

node_setup() {
	chmod 755 . &&
	mkdir -m 711 n &&
	nucleus-node keygen -d n node-1 | cut -d" " -f1-4 >node.pub &&
	audit-tool keygen ops-1 admin.key | sed "s/ writer$/ admin/" >n/keyring &&
	i=1 &&
	while [ $i -le "${1:-1}" ]; do
		audit-tool keygen agent-$i agent-$i.key |
		    sed "s/ writer$/ agent/" >>n/keyring || return 1
		i=$((i + 1))
	done &&
	chmod 600 n/keyring &&
	grep "^authority-1 " "$TEST_DIRECTORY/vectors/keyring" |
	    cut -d" " -f1-3 >n/trust
}

node_alive() {
	kill -0 "$(cat node.pid)"
}

pod_create() {
	agents=$(sed -n "s/^\(agent-[0-9]*\) .*/\"\1\"/p" n/keyring | paste -sd, -)
	printf '{"v":1,"name":"%s","policy":"local_dev","agents":[%s]%s}\n' \
	    "$1" "$agents" "${2:+,$2}" >"spec-$1.json" &&
	nucleus-node pod -j -k admin.key -l n/node.sock create "spec-$1.json" >"create-$1.out" &&
	jq -e ".ok and .result.state == \"running\"" "create-$1.out" >/dev/null
}

call() {
	key=agent-1.key
	if [ "$1" = -k ]; then
		key=$2
		shift 2
	fi
	nucleus-node call -j -k "$key" -l n/node.sock "$@"
}

pod_cgroup() {
	cg=$(jq -r .result.cgroup "create-$1.out") &&
	for d in /sys/fs/cgroup/pids/nucleus/$cg /sys/fs/cgroup/nucleus/$cg; do
		if [ -d "$d" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

pod_procs() {
	cat "$(pod_cgroup "$1")/cgroup.procs"
}

pod_log() {
	cat "$(jq -r .result.audit_copy "create-$1.out")"
}

node_events() {
	jq -c "select(.event == \"$1\")" n/audit.log
}

wait_for() {
	n=$1
	shift
	test_wait_for "$*" $(((n + 9) / 10)) "$@"
}

pods_gone() {
	for cg in /sys/fs/cgroup/pids/nucleus/$1 /sys/fs/cgroup/nucleus/$1; do
		[ -d "$cg" ] || continue
		kill -KILL $(cat "$cg/cgroup.procs") 2>/dev/null
	done
	i=0
	while [ $i -lt 50 ]; do
		left=
		for d in /sys/fs/cgroup/*/nucleus/$1 /sys/fs/cgroup/nucleus/$1; do
			[ -d "$d" ] && ! rmdir "$d" 2>/dev/null && left=t
		done
		[ -z "$left" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
}

# A node whose QEMU is t/helper/fake-vmm, booting a guest image of
# placeholders: the VM drivers' paths without a VM (t5023, t5024).
fake_vmm_node_start() {
	mkdir guest &&
	for f in vmlinux initramfs.cpio root.squashfs; do
		echo placeholder >guest/$f || return 1
	done &&
	node_setup &&
	node_start -G "$PWD/guest" -Q "$NUCLEUS_BUILD/t/helper/fake-vmm"
}
