#!/usr/bin/env bash
# minimise.sh TARGET: afl-cmin over the campaign's queue (findings/TARGET), the raw seeds (seeds/TARGET) and the
# current corpus, into tools/fuzz/corpus/TARGET/ (committed; replayed by tests/VcpNative.Tests/Fuzz). Entries over
# 64 KB are dropped first so the committed corpora stay a few MB in all.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="$1"
mkdir -p "$here/.cmin"
pool="$(mktemp -d -p "$here/.cmin")"
trap 'rm -rf "$pool"' EXIT
for dir in "$here/findings/$target/default/queue" "$here/seeds/$target" "$here/corpus/$target"; do
  [[ -d "$dir" ]] || continue
  find "$dir" -maxdepth 1 -type f -size -64k | while read -r f; do cp "$f" "$pool/$(basename "$dir")-$(sha1sum < "$f" | cut -c1-12)"; done
done
rm -rf "$pool.min"
AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 nice -n 10 afl-cmin -i "$pool" -o "$pool.min" -t 2000 -m none -- "$here/out/VcpNative.Fuzz" "$target" >/dev/null
rm -rf "$here/corpus/$target"
mkdir -p "$here/corpus/$target"
# Content-named, so re-minimising leaves unchanged entries alone in git.
for f in "$pool.min"/*; do cp "$f" "$here/corpus/$target/$(sha1sum < "$f" | cut -c1-16)"; done
rm -rf "$pool.min"
echo "$target: $(ls "$here/corpus/$target" | wc -l) entries, $(du -sk "$here/corpus/$target" | cut -f1) KB"
