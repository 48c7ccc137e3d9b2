// Engine: the per-packet loop. Decodes each captured frame, keeps virtual time (the packets'
// own timestamps), counts anomalies and emits anomaly and stats events.
//
// Time never comes from the wall clock here: replaying the same capture twice gives the same
// events byte for byte. Periodic work (stats today; window roll-over and expiry for detectors)
// is driven by packet time.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "capture/packet_source.hpp"
#include "config/config.hpp"
#include "core/packet_meta.hpp"
#include "core/raw_packet.hpp"
#include "decode/decoder.hpp"
#include "output/event.hpp"

namespace picket::engine {

// Declares the engine's configuration keys (engine.*).
void declare_config(config::Schema& schema);

enum class AnomalyEvents : uint8_t { none, sample, all };

struct EngineSettings {
  core::Duration stats_interval = core::Duration::seconds(60);  // 0 = only the final stats event
  AnomalyEvents anomaly_events = AnomalyEvents::sample;

  static EngineSettings from_config(const config::Config& cfg);
};

struct EngineTotals {
  uint64_t packets = 0;
  uint64_t bytes = 0;      // wire bytes
  uint64_t ip_packets = 0;
  uint64_t non_ip = 0;
  uint64_t anomalies = 0;  // packets with any anomaly
  uint64_t findings = 0;
  uint64_t decisions = 0;
  uint64_t filtered_out = 0;
  core::Timestamp first_ts;
  core::Timestamp last_ts;
};

class Engine {
 public:
  Engine(EngineSettings settings, int link_type, output::EventSink& sink);

  // Processes one frame. Out-of-order timestamps are tolerated: virtual time never goes back.
  void process(const core::RawPacket& pkt) noexcept;
  void process_batch(std::span<const core::RawPacket> batch) noexcept {
    for (const auto& p : batch) process(p);
  }
  // Emits the final stats event. Call once at the end of the input.
  void finish();

  // Records packets a capture filter dropped before they reached the engine (for stats).
  void set_filtered_out(uint64_t n) noexcept { totals_.filtered_out = n; }

  const EngineTotals& totals() const noexcept { return totals_; }
  const decode::Decoder& decoder() const noexcept { return decoder_; }
  core::Timestamp now() const noexcept { return now_; }

 private:
  void advance_time(core::Timestamp ts);
  void on_anomaly(decode::Anomaly a, const core::PacketMeta& meta);
  void emit_stats(core::Timestamp at, bool final_event);

  EngineSettings settings_;
  decode::Decoder decoder_;
  output::EventSink& sink_;
  core::PacketMeta meta_;
  EngineTotals totals_;
  core::Timestamp now_;
  bool started_ = false;
  core::Timestamp next_stats_;
  core::Timestamp interval_start_;
  uint64_t interval_packets_ = 0;
  uint64_t interval_bytes_ = 0;
  // Per anomaly kind: the stats interval in which it was last reported (sample mode).
  std::array<int64_t, decode::kAnomalyCount> anomaly_reported_interval_{};
  int64_t interval_index_ = 1;
};

struct RunResult {
  EngineTotals totals;
  std::optional<core::Error> source_error;  // the input ended early (e.g. a truncated file)
};

// Drives `engine` over every packet of `source`. `progress` is called now and then with the
// fraction done (0..1) when the source knows it.
RunResult run(capture::PacketSource& source, Engine& engine,
              const std::function<void(double)>& progress = {});

}  // namespace picket::engine
