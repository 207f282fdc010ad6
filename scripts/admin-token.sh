#!/usr/bin/env bash
# Makes FILE hold the admin token, readable by its owner only: $SLUICE_ADMIN_TOKEN when set, else
# the token FILE holds already, else a new random one (48 hex characters). The local fleet
# (scripts/fleet.sh) and docker compose (its admin-token service) both keep it in run/admin-token,
# so the CLI's --token-file run/admin-token and `make simulate` work against either.
set -euo pipefail
file="${1:?usage: scripts/admin-token.sh FILE}"
mkdir -p "$(dirname "$file")"
if [[ -n "${SLUICE_ADMIN_TOKEN:-}" ]]; then
  (umask 077 && printf '%s' "$SLUICE_ADMIN_TOKEN" > "$file")
elif [[ ! -s "$file" ]]; then
  (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > "$file")
fi
chmod 600 "$file"
