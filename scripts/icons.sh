#!/usr/bin/env bash
# Renders the icons in icons/ from their SVG sources in icons/src/ (needs rsvg-convert from
# Debian's librsvg2-bin). The PNGs are committed: building the app never needs this script.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v rsvg-convert >/dev/null 2>&1 || die "rsvg-convert not found: apt-get install librsvg2-bin"
cd "$SYNCDESK_ROOT/icons"

render() { rsvg-convert -w "$2" -h "$2" "src/$1.svg" -o "$3"; }

# App icon, in the sizes the bundler and the window use.
render app 32 32x32.png
render app 128 128x128.png
render app 256 128x128@2x.png
render app 512 icon.png
# Tray icons, one per state.
for state in idle syncing error paused; do
  render "tray-$state" 64 "tray-$state.png"
done
log "icons rendered in $PWD"
