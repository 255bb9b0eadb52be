#!/usr/bin/env bash
# Unpack the files of Debian packages into a directory, without installing them.
#
#   scripts/debian_tools.sh TARGET PACKAGE...
#
# `apt-get download` fetches the .deb files and `dpkg-deb -x` unpacks them: no dpkg database
# entry, no maintainer script, so no system service is enabled or started (installing the
# `prometheus` package enables prometheus.service at boot). Needs no root unless the apt package
# lists are missing, in which case root refreshes them once.
set -euo pipefail
target=$(realpath -m "$1")
shift
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
cd "$debs"
if ! apt-get download -qq "$@" 2>/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "apt-get download $* failed: refresh the package lists (sudo apt-get update) and retry" >&2
		exit 1
	fi
	apt-get update -qq
	apt-get download -qq "$@"
fi
mkdir -p "$target"
for deb in ./*.deb; do
	dpkg-deb -x "$deb" "$target"
done
