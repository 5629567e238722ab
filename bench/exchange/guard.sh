#!/bin/sh
# Cleans up after run.ts if it dies without doing so itself (SIGKILL: tsx force-kills its child
# when a relayed Ctrl-C is not acknowledged within 30 ms, which happens on a loaded box).
# Started detached by run.ts:  guard.sh <harness pid> <temp dir> <pg admin url> <db> <redis url> <prefix>
# The temp dir is the last thing run.ts deletes: if it is gone, everything else is too.
pid=$1 dir=$2 pg=$3 db=$4 redis=$5 prefix=$6
while kill -0 "$pid" 2>/dev/null; do sleep 1; done
[ -d "$dir" ] || exit 0
# Process groups of the servers run.ts started (their leaders' pids, one per line).
groups=$(cat "$dir/server-pids" 2>/dev/null)
for g in $groups; do kill -TERM "-$g" 2>/dev/null; done
sleep 5
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done
psql "$pg" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
redis-cli -u "$redis" --scan --pattern "$prefix*" | xargs -r redis-cli -u "$redis" unlink >/dev/null 2>&1
rm -rf "$dir"
