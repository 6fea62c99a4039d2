#!/usr/bin/env bash
# Makes sure a Docker daemon answers, for local clusters and their tests:
# installs Debian's docker.io when dockerd is missing, and starts dockerd
# when no daemon answers (systemd when it runs, else in the background with
# its log in /var/log/dockerd.log), then waits until `docker info` works.
# Does nothing when a daemon already answers (any DOCKER_HOST included).
# Usage: hack/ensure-docker.sh   (DOCKER_WAIT=seconds, default 60)
set -euo pipefail

answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

answers && exit 0

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "ensure-docker: Docker is not installed; install docker.io (Debian) or Docker Engine yourself" >&2
		exit 1
	fi
	echo "ensure-docker: installing docker.io" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends docker.io >/dev/null ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends docker.io >/dev/null; }
	answers && exit 0
fi

if [[ -n ${DOCKER_HOST:-} && ${DOCKER_HOST} != unix:///var/run/docker.sock ]]; then
	echo "ensure-docker: no daemon answers on DOCKER_HOST=$DOCKER_HOST; start it, or unset DOCKER_HOST" >&2
	exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "ensure-docker: no Docker daemon answers and starting one needs root (sudo $0)" >&2
	exit 1
fi

if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
	echo "ensure-docker: starting docker.service" >&2
	systemctl start docker
elif ! pgrep -x dockerd >/dev/null 2>&1; then
	echo "ensure-docker: starting dockerd (log: /var/log/dockerd.log)" >&2
	setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
fi

wait=${DOCKER_WAIT:-60}
for ((i = 0; i < wait * 5; i++)); do
	answers && exit 0
	sleep 0.2
done
echo "ensure-docker: dockerd did not answer within ${wait}s; see /var/log/dockerd.log" >&2
exit 1
