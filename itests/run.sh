#!/usr/bin/env bash
# Runs the whole Cairn test suite on a Debian 12 machine with Java 17 and Maven:
# installs the Debian packages the tests use when they are missing
# (itests/packages-*.txt), then builds everything and runs every test.
# Tests start and stop the servers they need themselves (appliances, NBD peers...).
set -euo pipefail
cd "$(dirname "$0")/.."

want=()
for list in itests/packages-*.txt; do
    [ -f "$list" ] || continue
    while read -r pkg _; do
        case "$pkg" in ''|'#'*) continue ;; esac
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || want+=("$pkg")
    done < "$list"
done
if [ ${#want[@]} -gt 0 ]; then
    echo "Installing test packages: ${want[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${want[@]}"
fi

# --fail-at-end: one failing module does not hide the results of the others
exec mvn -B -ntp --fail-at-end clean verify "$@"
