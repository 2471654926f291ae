# shellcheck shell=sh
# What the collection owns on the lab VM, printed for byte-for-byte comparisons (rollback.yml,
# crash.yml; sent with ansible.builtin.raw, run by the guest's /bin/sh, dash): every nft table
# (sorted by name, so a boot that creates them in another order lists the same; packet counts
# as `counter`: traffic is not state), the collection's files (sha256; links with their
# target; staged PATH.fo-new files show up here too), its persistence units (enabled,
# active) and what an armed rollback leaves (the record on tmpfs, the transient timer).
echo '== ruleset'
nft list tables | sort | while read -r _ fam name; do
  nft list table "$fam" "$name" | sed 's/counter packets [0-9]* bytes [0-9]*/counter/'
done
echo '== files'
for f in /etc/flowoffload /etc/flowoffload/* /etc/udev/rules.d/90-flowoffload.rules* \
    /etc/systemd/system/flowoffload-* /etc/systemd/system/*.wants/flowoffload-*; do
  if [ -L "$f" ]; then
    echo "link $f -> $(readlink "$f")"
  elif [ -f "$f" ]; then
    sha256sum "$f"
  elif [ -d "$f" ]; then
    echo "folder $f"
  fi
done
echo '== units'
for u in flowoffload-inet-flowoffload.service flowoffload-inet-filter.service; do
  echo "$u $(systemctl is-enabled "$u" 2>/dev/null || true) $(systemctl is-active "$u" 2>/dev/null || true)"
done
echo '== rollback'
for f in /run/flowoffload-rollback /run/flowoffload-rollback/*; do
  [ ! -e "$f" ] || echo "record: $f"
done
systemctl list-units --all --plain --no-legend 'flowoffload-rollback-*' | sed 's/^/unit: /'
systemctl list-timers --all --no-legend 'flowoffload-rollback-*' | sed 's/^/timer: /'
true
