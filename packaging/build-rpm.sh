#!/usr/bin/env bash
# Builds the RPM from the current source tree: a tarball of the tree (tracked and new files, not ignored ones)
# plus the freshly bundled daemon in dist/bundle, then `rpmbuild -bb` with packaging/bootc-storaged.spec.
# Works with Debian's rpm package (apt-get install rpm); --nodeps because Debian's rpm database knows none of
# the BuildRequires. Output: .cache/rpmbuild/RPMS/<arch>/bootc-storaged-*.rpm, listed with its scriptlets.
#
#   packaging/build-rpm.sh
set -euo pipefail
cd "$(dirname "$0")/.."

command -v rpmbuild >/dev/null || {
  echo "build-rpm: rpmbuild is missing (Debian: apt-get install rpm; Fedora: dnf install rpm-build)" >&2
  exit 1
}
name=bootc-storaged
version=$(node -p 'require("./package.json").version')
spec_version=$(sed -n 's/^Version: *//p' packaging/$name.spec)
if [ "$version" != "$spec_version" ]; then
  echo "build-rpm: package.json says $version, the spec says $spec_version" >&2
  exit 1
fi

top="$PWD/.cache/rpmbuild"
rm -rf "$top"
mkdir -p "$top"/{SOURCES,SPECS,BUILD,RPMS,SRPMS}

# The daemon (and CLI) bundles go into the tarball, so the spec's %build has nothing to fetch.
node scripts/bundle.mjs dist/bundle
# The Cockpit page, built here too, so %build needs no npm for it either.
node cockpit/build.mjs dist/cockpit/bootc-storage

stage="$top/stage/$name-$version"
mkdir -p "$stage"
# Tracked files and new, not-ignored ones (the tree as it is, committed or not), without deleted ones.
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$stage"
mkdir -p "$stage/dist"
cp -a dist/bundle "$stage/dist/"
cp -a dist/cockpit "$stage/dist/"
tar -C "$top/stage" --owner=0 --group=0 --numeric-owner -czf "$top/SOURCES/$name-$version.tar.gz" "$name-$version"
rm -rf "$top/stage"
cp packaging/$name.spec "$top/SPECS/"

rpmbuild -bb --nodeps --define "_topdir $top" "$top/SPECS/$name.spec"

rpm_file=$(ls "$top"/RPMS/*/$name-"$version"-*.rpm)
echo
echo "build-rpm: built $rpm_file"
rpm -qip "$rpm_file" | sed -n '1,12p'
echo "--- files"
rpm -qlp "$rpm_file"
echo "--- requires"
rpm -qRp "$rpm_file"
echo "--- scriptlets"
rpm -qp --scripts "$rpm_file"
