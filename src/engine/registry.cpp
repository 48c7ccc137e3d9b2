#include "engine/registry.hpp"

#include "detect/blocklist/blocklist.hpp"
#include "detect/conn_rate/conn_rate.hpp"
#include "detect/distributed_scan/distributed_scan.hpp"
#include "detect/flow/flow_tracker.hpp"
#include "detect/large_packet/large_packet.hpp"
#include "detect/port_scan/port_scan.hpp"
#include "detect/spoofed_flood/spoofed_flood.hpp"
#include "detect/subnet_conn/subnet_conn.hpp"
#include "detect/syn_flood/syn_flood.hpp"

namespace picket::engine {

namespace {

// One line per detector: its config declarations, its constructor, and where it runs.
struct Entry {
  void (*declare)(config::Schema&);
  std::unique_ptr<detect::Detector> (*create)(const config::Config&);
  bool per_target;
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> kEntries = {
      {&detect::port_scan::declare_config, &detect::port_scan::create, /*per_target=*/false},
      {&detect::syn_flood::declare_config, &detect::syn_flood::create, /*per_target=*/false},
      {&detect::spoofed_flood::declare_config, &detect::spoofed_flood::create, /*per_target=*/true},
      {&detect::conn_rate::declare_config, &detect::conn_rate::create, /*per_target=*/false},
      {&detect::subnet_conn::declare_config, &detect::subnet_conn::create, /*per_target=*/false},
      {&detect::distributed_scan::declare_config, &detect::distributed_scan::create, /*per_target=*/true},
      {&detect::blocklist::declare_config, &detect::blocklist::create, /*per_target=*/false},
      {&detect::large_packet::declare_config, &detect::large_packet::create, /*per_target=*/false},
  };
  return kEntries;
}

std::vector<std::unique_ptr<detect::Detector>> make(const config::Config& cfg, bool per_target) {
  std::vector<std::unique_ptr<detect::Detector>> out;
  for (const auto& e : entries()) {
    if (e.per_target != per_target) continue;
    if (auto d = e.create(cfg)) out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

void declare_detector_config(config::Schema& schema) {
  detect::declare_flow_config(schema);
  for (const auto& e : entries()) e.declare(schema);
}

std::vector<std::unique_ptr<detect::Detector>> make_source_detectors(const config::Config& cfg) {
  return make(cfg, false);
}

std::vector<std::unique_ptr<detect::Detector>> make_target_detectors(const config::Config& cfg) {
  return make(cfg, true);
}

}  // namespace picket::engine
