#!/usr/bin/env bash
# Refreshes the Swagger UI files the gateway embeds (gateway/docsui/) from the
# npm registry, at the pinned version, checked against the registry's
# integrity hash. Run it after changing VERSION/INTEGRITY, then commit the
# files: the gateway serves them from its binary, never from a CDN.
set -euo pipefail
VERSION=5.35.0
INTEGRITY=sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
FILES=(swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE)

dest=$(cd "$(dirname "$0")/../gateway/docsui" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
tgz=$(npm pack --silent "swagger-ui-dist@$VERSION")
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [[ $got != "$INTEGRITY" ]]; then
  echo "swagger-ui-dist $VERSION: integrity $got, want $INTEGRITY" >&2
  exit 1
fi
tar -xzf "$tgz"
for f in "${FILES[@]}"; do
  cp "package/$f" "$dest/$f"
done
echo "$VERSION" >"$dest/VERSION"
echo "swagger-ui-dist $VERSION copied to $dest: ${FILES[*]}"
