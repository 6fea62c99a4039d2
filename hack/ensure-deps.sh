#!/usr/bin/env bash
# Installs the host tools that building and booting Plinth images need,
# skipping what is already present. Usage: hack/ensure-deps.sh [image|vm]...
#   image: mksquashfs (squashfs-tools), depmod (kmod), xz (xz-utils)
#   vm:    qemu-system-x86_64 and its firmware: qboot.rom (live boots) and
#          OVMF (UEFI boots of installed nodes from their disks)
set -euo pipefail

want=()
need() { # need <command-or-file> <package>
	if [[ "$1" == /* ]]; then
		[[ -e "$1" ]] || want+=("$2")
	else
		command -v "$1" >/dev/null 2>&1 || want+=("$2")
	fi
}

[[ $# -gt 0 ]] || set -- image vm
for what in "$@"; do
	case "$what" in
	image)
		need mksquashfs squashfs-tools
		need depmod kmod
		need xz xz-utils
		;;
	vm)
		need qemu-system-x86_64 qemu-system-x86
		need /usr/share/qemu/qboot.rom qemu-system-data
		need /usr/share/OVMF/OVMF_CODE_4M.fd ovmf
		need /usr/share/OVMF/OVMF_VARS_4M.fd ovmf
		;;
	*)
		echo "ensure-deps: unknown group $what (want image or vm)" >&2
		exit 2
		;;
	esac
done

[[ ${#want[@]} -gt 0 ]] || exit 0
mapfile -t want < <(printf '%s\n' "${want[@]}" | sort -u)
echo "ensure-deps: installing ${want[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then
	echo "ensure-deps: not root; install ${want[*]} yourself" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${want[@]}" >/dev/null ||
	{ apt-get update >/dev/null && apt-get install -y --no-install-recommends "${want[@]}" >/dev/null; }
