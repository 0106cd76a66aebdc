#!/bin/sh
# Screenshot a local HTML page with Debian's headless Chromium.
#   testdata/tools/screenshot.sh PAGE.html OUT.png [WIDTH,HEIGHT]
# The flags keep Chromium off the network (this machine has none) and out
# of the user's profile.
set -eu
page=$(realpath "$1")
out=$2
size=${3:-1400,1000}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size="$size" \
  --screenshot="$out" "file://$page" >/dev/null 2>&1
test -s "$out"
