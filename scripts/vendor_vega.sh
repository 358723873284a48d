#!/usr/bin/env bash
# Vendor the chart libraries (vega, vega-lite, vega-embed) into book/_static/vendor/ so that
# the book's Altair charts draw without any network access.
#
# The versions follow the pins of the installed Altair: vega-lite exactly alt.VEGALITE_VERSION,
# vega and vega-embed the releases of the majors alt.VEGA_VERSION / alt.VEGAEMBED_VERSION that
# were current with that vega-lite release. tests/living/test_vendor.py checks that they stay in step:
# when Altair is upgraded, edit the three versions below, run this script and commit the result.
#
# Usage: scripts/vendor_vega.sh            (needs npm, which reaches the npm registry)
set -euo pipefail

VEGA=6.2.0
VEGALITE=6.4.1
VEGAEMBED=7.1.0

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/book/_static/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
npm pack --silent "vega@$VEGA" "vega-lite@$VEGALITE" "vega-embed@$VEGAEMBED" >/dev/null

rm -rf "$dest"
mkdir -p "$dest"
for spec in "vega:$VEGA" "vega-lite:$VEGALITE" "vega-embed:$VEGAEMBED"; do
  name="${spec%%:*}"; version="${spec##*:}"
  mkdir -p "x-$name"
  tar xzf "$name-$version.tgz" -C "x-$name"
  got="$(node -p "require('./x-$name/package/package.json').version")"
  if [ "$got" != "$version" ]; then
    echo "npm gave $name $got, expected $version" >&2; exit 1
  fi
  # The minified UMD build (defines the globals vega / vegaLite / vegaEmbed); drop the
  # source-map comment, since the map is not vendored.
  sed -e '/^\/\/# sourceMappingURL=/d' "x-$name/package/build/$name.min.js" > "$dest/$name.min.js"
  cp "x-$name/package/LICENSE" "$dest/$name.LICENSE"
done

cat > "$dest/VERSIONS.json" <<JSON
{
  "vega": "$VEGA",
  "vega-lite": "$VEGALITE",
  "vega-embed": "$VEGAEMBED"
}
JSON
( cd "$dest" && sha256sum vega.min.js vega-lite.min.js vega-embed.min.js > SHA256SUMS )
echo "vendored vega $VEGA, vega-lite $VEGALITE, vega-embed $VEGAEMBED into $dest"
