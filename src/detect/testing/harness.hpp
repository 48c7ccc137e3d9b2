// Test harness for one detector: runs frames (a simulator scenario or hand-built packets) through
// decode → attribution → flow tracker → the detector, with ticks, the way the engine does, and
// collects its findings. A per-source detector gets only the packets and notices its interest()
// asks for, as in the engine. For detector unit and scenario tests; not used in production.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/raw_packet.hpp"
#include "decode/decoder.hpp"
#include "detect/attribution.hpp"
#include "detect/detector.hpp"
#include "detect/flow/flow_tracker.hpp"
#include "engine/engine.hpp"
#include "output/event.hpp"
#include "sim/scenario.hpp"

namespace picket::detect::testing {

class Harness {
 public:
  // `per_target`: run like the engine's dispatcher stage (no flow verdicts; probe = classify_probe).
  Harness(std::unique_ptr<Detector> detector, bool per_target,
          core::Duration tick = core::Duration::millis(100), FlowSettings flows = {});

  // One Ethernet frame at time `ts`.
  void frame(core::Timestamp ts, std::span<const uint8_t> bytes, uint32_t wire_len = 0);
  // Every frame of a simulator scenario; returns its summary (ground truth).
  sim::SimSummary scenario(std::string_view name, const sim::ScenarioOptions& opts);
  // Advances packet time to `ts` (running ticks) without a packet.
  void advance(core::Timestamp ts);
  // Ends the run (a final tick) and returns every finding so far.
  const std::vector<Finding>& finish();

  const std::vector<Finding>& findings() const noexcept { return findings_; }
  Detector& detector() noexcept { return *detector_; }
  const FlowTracker& flows() const noexcept { return flows_; }

 private:
  class Sink;
  void tick_to(core::Timestamp ts);

  std::unique_ptr<Detector> detector_;
  Interest interest_;  // applied as the worker applies it, so the tests check each detector's mask
  bool per_target_;
  core::Duration tick_;
  decode::Decoder decoder_{core::link_type::kEthernet};
  Attribution attribution_{{}, 65'536};
  std::vector<Finding> findings_;
  std::unique_ptr<FindingSink> sink_;
  FlowTracker flows_;
  core::PacketMeta meta_;
  bool started_ = false;
  int64_t epoch_ = 0;
  core::Timestamp now_;
};

// A simulator scenario through the whole engine (decode, attribution, every detector, ticks,
// alert events), as `picket replay` runs it but in memory. `workers` overrides engine.workers
// when non-zero.
struct EngineRun {
  std::vector<output::Event> events;
  sim::SimSummary summary;
  engine::EngineTotals totals;
};
EngineRun run_engine(const config::Config& cfg, std::string_view scenario, const sim::ScenarioOptions& opts,
                     uint32_t workers = 0);
// The alert events among `events` as JSON lines: those of `detector`, or all when it is empty.
std::vector<std::string> alert_lines(const std::vector<output::Event>& events, std::string_view detector = "");

// The full schema's defaults for `profile` with `overrides` applied (YAML text), for building a
// detector under test. Fails the test (throws) on a bad override.
config::Config test_config(config::Profile profile = config::Profile::normal, std::string_view overrides_yaml = "");

}  // namespace picket::detect::testing
