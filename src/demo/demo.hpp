// `picket demo`: picket against real attacks, live, in three network namespaces of its own.
//
// Sequence (about a minute): build the topology (topology.hpp); start a web server and
// `picket run` (nftables, normal profile, on_exit: remove) in the victim; let the client browse;
// from the attacker send the simulator's port scan and SYN flood as real frames, then open a
// connection flood of real TCP connections; narrate picket's events as they arrive; prove the
// outcome (the attackers' connects time out, the client's page loads); stop picket by PID; delete
// the namespaces; print a summary.
//
// Contract:
// - Needs root (the caller checks and says so); touches nothing outside its own namespaces and
//   its own temporary directory.
// - Returns 0 when the proof holds, 1 when it does not or something failed on the way,
//   kExitInterrupted when `stop` was set (SIGINT/SIGTERM). Cleans up in every case.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "demo/process.hpp"

namespace picket::demo {

inline constexpr int kExitInterrupted = 130;

struct DemoOptions {
  std::string picket_exe;  // the binary to run as `picket run` in the victim (absolute path)
  bool colour = false;     // ANSI colours in the narration
  bool keep_files = false; // keep the work directory (config, events, picket's output) afterwards
  uint16_t http_port = 80;
};

int run_demo(const DemoOptions& opts, StopFlag& stop, std::FILE* out);

// The interesting part of `nft list table inet picket`: the table line, each set or map that has
// elements ("  set ban4: elements = { ... }"), and each rule whose counter is not zero. At most 40
// lines.
std::vector<std::string> summarize_nft_table(const std::string& listing);

// The YAML `picket run` gets in the demo (exposed for tests and docs/demo.md).
std::string demo_config_yaml(const std::string& store_path, const std::string& victim_if_attacker,
                             const std::string& victim_if_client, const std::string& victim_address);

}  // namespace picket::demo
