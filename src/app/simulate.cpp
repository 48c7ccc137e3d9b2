#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "app/commands.hpp"
#include "sim/scenario.hpp"

namespace picket::app {

int cmd_simulate(const SimulateOptions& opts) {
  if (opts.list) {
    for (const auto& s : sim::scenarios()) fmt::print("{:<20} {}\n", s.name, s.description);
    return kExitOk;
  }
  if (opts.scenario.empty() || opts.out.empty()) {
    fmt::print(stderr, "picket: simulate needs --scenario NAME and --out FILE (see --list)\n");
    return kExitBadInput;
  }
  sim::ScenarioOptions so;
  so.packets = opts.packets;
  so.seed = opts.seed;
  so.rate_pps = opts.rate;
  so.ipv6 = opts.ipv6;
  so.snaplen = opts.snaplen;
  auto summary = sim::write_pcap(opts.scenario, so, opts.out);
  if (!summary) {
    fmt::print(stderr, "picket: {}\n", summary.error().message);
    return kExitBadInput;
  }
  if (!opts.truth_path.empty()) {
    std::ofstream f(opts.truth_path);
    f << sim::truth_to_json(*summary) << '\n';
    if (!f) {
      fmt::print(stderr, "picket: cannot write {}\n", opts.truth_path);
      return kExitFailure;
    }
  }
  fmt::print(stderr, "picket: wrote {} packets of '{}' to {} ({:.1f} s of traffic)\n", summary->packets,
             opts.scenario, opts.out, (summary->last - summary->first).to_seconds());
  return kExitOk;
}

int cmd_version() {
  fmt::print("picket {}\n", PICKET_VERSION);
  return kExitOk;
}

}  // namespace picket::app
