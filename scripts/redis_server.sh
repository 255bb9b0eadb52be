#!/usr/bin/env bash
# Debian's redis-server from .tools/system (make setup-system) on 127.0.0.1, in the foreground,
# nothing persisted: the online store holds what the departure feed replays into it.
#
#   scripts/redis_server.sh PORT [DIR]
set -euo pipefail
port=${1:?usage: scripts/redis_server.sh PORT [DIR]}
dir=${2:-.}
system=$(cd "$(dirname "$0")/.." && pwd)/.tools/system
libs=$(echo "$system"/usr/lib/*-linux-gnu)
export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$system/usr/bin/redis-server" --bind 127.0.0.1 --port "$port" --protected-mode yes \
	--save "" --appendonly no --dir "$dir" --daemonize no --loglevel warning
