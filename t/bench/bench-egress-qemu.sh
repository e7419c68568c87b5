# shellcheck shell=sh
# bench-egress-qemu.sh: sourced by bench-egress.sh, after its local
# figures, in its namespace, directory and test host: the same download
# and first byte from a qemu pod (busybox wget in the VM, through its
# proxy, the streams multiplexed on the VM's egress port, the node, the
# gateway), beside the local driver's.  A second node, with the guest
# image; the times are the runs' own (duration_ms), less runs of wget
# that fail at once: a small fetch is its whole HTTP exchange through
# the proxy (connect, request, first byte and the rest), not only the
# first byte.  Without qemu-system-x86_64 or the
# guest image (make guest) it says so.  Under TCG (no usable KVM) the
# figures are an emulated CPU's.

QEMU_ROUNDS=3
guest=${NUCLEUS_GUEST:-$build/guest}

qemu_bench() {
	if ! command -v qemu-system-x86_64 >/dev/null ||
	    ! [ -r "$guest/initramfs.cpio" ]; then
		echo "  qemu driver: skipped: no qemu-system-x86_64 or no guest image in $guest (make guest)"
		return 0
	fi
	{ mkdir -m 711 q &&
	nucleus-node keygen -d q node-2 >/dev/null &&
	cp n/keyring n/trust q/ &&
	chmod 600 q/keyring; } || die "no keys for the qemu node"
	nucleus-node serve -d q -G "$guest" -H "$dir/hosts" >qnode.out 2>qnode.err &
	echo $! >qnode.pid
	wait_until test -S q/node.sock || die "the qemu node did not start"
	vm_policy='{"profile":"restrictive","capabilities":{"read_files":"never","write_files":"always","glob_search":"never","grep_search":"never","run_bash":"always","web_fetch":"low_risk"},"commands":{"allow":[{"program":"sh"}]}}'
	printf '{"v":1,"name":"benchvm","driver":"qemu","resources":{"memory_mib":256,"scratch_mib":16},"policy":%s,"agents":["agent-1"],"network":{"allow":[{"host":"bench.test","ports":[%d]}]}}\n' \
	    "$vm_policy" $PORT >qspec.json
	{ nucleus-node pod -j -k admin.key -l q/node.sock create qspec.json >qcreate.out &&
	jq -e ".ok and .result.state == \"running\"" qcreate.out >/dev/null; } ||
	    die "no qemu pod: $(cat qcreate.out)"
	# N transfers of a file, one after another (busybox has no clock
	# finer than 10 ms in the guest: they are timed by the run's own
	# duration_ms, less that of N runs of wget that fail at once, so
	# that what is left is the transfers, less wget's own start).
	cat >fetch.sh <<-EOS
	i=0
	while [ \$i -lt \$2 ]; do
		if [ "\$1" = none ]; then
			wget -q -Y off -O /dev/null http://127.0.0.1:1/
		else
			wget -q -O /dev/null http://bench.test:$PORT/\$1 || exit 1
		fi
		i=\$((i + 1))
	done
	EOS
	content=$(jq -Rs . <fetch.sh)
	nucleus-node call -j -k agent-1.key -l q/node.sock benchvm write \
	    "{\"path\":\"fetch.sh\",\"content\":$content}" >resp &&
	    jq -e .ok resp >/dev/null || die "no script in the VM: $(cat resp)"
	# vm_ms FILE N: the run's duration_ms.
	vm_ms() {
		{ nucleus-node call -j -k agent-1.key -l q/node.sock benchvm run \
		    "{\"argv\":[\"sh\",\"fetch.sh\",\"$1\",\"$2\"],\"timeout\":120}" >resp &&
		jq -e '.ok and .result.exit == 0' resp >/dev/null; } ||
		    die "wget in the VM: $(head -c 600 resp)"
		jq -r .result.duration_ms resp
	}
	: >qemu.rate
	: >qemu.ttfb
	r=0
	while [ $r -lt $QEMU_ROUNDS ]; do
		base=$(vm_ms none 1) && big_ms=$(vm_ms big 1) &&
		echo "$(calc "$((SIZE_MIB * 1048576)) / (max($big_ms - $base, 1) / 1000)")" >>qemu.rate &&
		base=$(vm_ms none $PINGS) && small_ms=$(vm_ms small $PINGS) &&
		echo "$(calc "max($small_ms - $base, 0) / 1000 / $PINGS")" >>qemu.ttfb ||
		    exit 1
		r=$((r + 1))
	done
	q_rate=$(median <qemu.rate)
	q_ttfb=$(median <qemu.ttfb)
	accel=$(grep -o "qemu-system-x86_64, [A-Z]*" qnode.err | head -n 1 | sed "s/.*, //")
	printf '  qemu driver (%s), median of %d rounds (%d fetches each), wget in the guest:\n' \
	    "${accel:-?}" $QEMU_ROUNDS $PINGS
	printf '  download qemu plain HTTP %8.1f MiB/s  %.2fx direct\n' \
	    "$(calc "$q_rate / 1048576")" "$(calc "$q_rate / $d_rate")"
	printf '  a small fetch qemu       %8.3f ms  %.2fx (direct + fdatasync)\n' \
	    "$(calc "$q_ttfb * 1000")" "$(calc "$q_ttfb / ($d_ttfb + $sync)")"
	kill "$(cat qnode.pid)" 2>/dev/null && wait "$(cat qnode.pid)" 2>/dev/null
	rm -f qnode.pid
}
qemu_bench
