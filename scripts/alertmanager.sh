#!/usr/bin/env bash
# Debian's prometheus-alertmanager from .tools/system (make setup-system), in the foreground.
#
#   scripts/alertmanager.sh --config.file=... --storage.path=... --web.listen-address=...
#
# Debian's build reads its notification templates from /usr/share/prometheus/alertmanager
# (default.tmpl; upstream embeds them), a path that unpacking the package does not install. Unless
# the package is installed there, the server runs in a mount namespace of its own in which the
# unpacked usr/share is mounted over /usr/share: the system is left as it is. Needs root, or user
# namespaces for an unprivileged user.
set -euo pipefail
system=$(cd "$(dirname "$0")/.." && pwd)/.tools/system
binary=$system/usr/bin/prometheus-alertmanager
if [ -f /usr/share/prometheus/alertmanager/default.tmpl ]; then
	exec "$binary" "$@"
fi
if [ "$(id -u)" -eq 0 ]; then
	namespace=(--mount)
else
	namespace=(--user --map-root-user --mount)
fi
# shellcheck disable=SC2016  # expanded by the inner shell
exec unshare "${namespace[@]}" --propagation private -- \
	sh -c 'mount --bind "$1" /usr/share && shift && exec "$@"' sh "$system/usr/share" "$binary" "$@"
