# SPDX-License-Identifier: MIT
# @file require_netns.sh
# @brief Sourced by the tests that create network namespaces (tools/cluster, tools/scale):
# `require_netns <test name>` exits 77 (ctest: skipped) without root, `ip` or namespaces.
require_netns() {
  if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null ||
    ! ip netns add "shc-probe-$$" 2>/dev/null; then
    echo "$1: skipped: needs root and ip netns"
    exit 77
  fi
  ip netns del "shc-probe-$$"
}
