#!/bin/sh
# A scripted Victron GX for the driver's tests, built from Mosquitto's
# command-line clients and jq, as reference/victron.md describes a GX:
# the retained N/<id>/system/0/Serial, N/<id>/keepalive at start, on
# R/<id>/keepalive a full republish of every path (unless the options say
# suppress-republish) ending with N/<id>/full_publish_completed (with the
# echo token when asked), N/<id>/heartbeat every 3 s while alive (60 s after
# the last keep-alive), and W/<id>/<path> {"value": x} applied and answered
# with the path's N. Every request received is logged to $LOG.
#
# usage: gx.sh HOST PORT PORTAL STATE LOG   (STATE: lines "<path> <json>")
set -eu
H=$1 P=$2 ID=$3 STATE=$4 LOG=$5
ALIVE=$STATE.alive
pub() { mosquitto_pub -h "$H" -p "$P" -q 1 "$@"; }
echo 0 >"$ALIVE"
pub -r -t "N/$ID/system/0/Serial" -m "{\"value\": \"$ID\"}"
pub -t "N/$ID/keepalive" -m '{"value": 1}'
(
	while :; do
		now=$(date +%s)
		if [ "$now" -lt "$(cat "$ALIVE")" ]; then pub -t "N/$ID/heartbeat" -m "{\"value\": $now}"; fi
		sleep 3
	done
) &
HB=$!
trap 'kill $HB 2>/dev/null' EXIT INT TERM
mosquitto_sub -h "$H" -p "$P" -q 1 -F '%t %p' -t "R/$ID/keepalive" -t "W/$ID/#" | while read -r topic payload; do
	case $topic in
	R/*/keepalive)
		echo "R $payload" >>"$LOG"
		echo $(($(date +%s) + 60)) >"$ALIVE"
		case $payload in *suppress-republish*) continue ;; esac
		while read -r path json; do
			pub -t "N/$ID/$path" -m "$json"
		done <"$STATE"
		[ -n "$payload" ] || payload='{}'
		token=$(printf '%s' "$payload" | jq -r '."keepalive-options"[]? | objects | ."full-publish-completed-echo" // empty' 2>/dev/null || true)
		if [ -n "$token" ]; then
			pub -t "N/$ID/full_publish_completed" -m "{\"full-publish-completed-echo\": \"$token\", \"value\": $(date +%s)}"
		else
			pub -t "N/$ID/full_publish_completed" -m "{\"value\": $(date +%s)}"
		fi
		;;
	W/*)
		path=${topic#W/$ID/}
		echo "W $path $payload" >>"$LOG"
		value=$(printf '%s' "$payload" | jq -c 'if type == "object" and has("value") then .value else error("no value") end') || continue
		grep -v "^$path " "$STATE" >"$STATE.new" || true
		echo "$path {\"value\": $value}" >>"$STATE.new"
		mv "$STATE.new" "$STATE"
		pub -t "N/$ID/$path" -m "{\"value\": $value}"
		;;
	esac
done
