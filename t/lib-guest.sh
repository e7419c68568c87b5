# lib-guest.sh: what the guest image's tests share.  Source after
# test-lib.sh.
#
#	guest_image		dir: the cache directory scripts/guest-image
#				makes, in the user's own cache as "make guest"
#				makes it (made once, then reused); "" when it
#				could not be made; skips all the tests when a
#				package cannot be downloaded
#	value KEY		the manifest's value of KEY
#	bb_deb			the busybox .deb's file name, as apt names it
#	own_cache DIR		DIR/debs holding the user's copies of the
#				manifest's .debs: a cache of the test's own,
#				which changes nothing the user relies on and
#				downloads nothing

top=$TEST_DIRECTORY/..
manifest=$top/scripts/guest.manifest

guest_image() {
	if ! dir=$("$top/scripts/guest-image" 2>setup.err); then
		if grep -q "cannot download" setup.err; then
			test_skip_all "a package of the manifest cannot be downloaded: $(tail -n 1 setup.err)"
		fi
		cat setup.err >&2
		dir=
	fi
}

value() {
	awk -v k="$1" '$1 == k { print $2 }' "$manifest"
}

# The epoch's colon escaped, as apt-get download writes it.
bb_deb=$(awk '$1 == "root_package" && $2 == "busybox-static" {
	sub(":", "%3a", $3); print $2 "_" $3 "_amd64.deb" }' "$manifest")

own_cache() {
	mkdir -p "$1/debs" &&
	cp "$(dirname "$dir")/debs/$(value kernel_package)_$(value kernel_version)_amd64.deb" \
	    "$(dirname "$dir")/debs/$bb_deb" "$1/debs/"
}
