// Engine: the per-packet pipeline. Decodes each captured frame, attributes it to an actor,
// runs the per-target detectors, hands it to the worker that owns the actor's shard, and turns
// findings into alert events — all in virtual time (the packets' own timestamps).
//
// Determinism: packet time is cut into ticks (engine.tick). Everything a tick produces — anomaly
// events, alerts, the stats event — is written when the tick ends, in a fixed order (anomalies
// in arrival order, alerts sorted by detect::finding_less, then stats). Workers are sharded by
// the actor's prefix and receive tick markers at the same points of packet time, so 1 or N
// workers write the same anomaly and alert events, and replaying a capture twice gives the same
// bytes. (Stats events differ across worker counts: capacity and memory are per worker.)
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "capture/packet_source.hpp"
#include "config/config.hpp"
#include "core/packet_meta.hpp"
#include "core/raw_packet.hpp"
#include "decode/decoder.hpp"
#include "detect/attribution.hpp"
#include "engine/responder.hpp"
#include "engine/worker.hpp"
#include "output/event.hpp"

namespace picket::engine {

// Declares the engine's keys (engine.*) and every detector's.
void declare_config(config::Schema& schema);

enum class AnomalyEvents : uint8_t { none, sample, all };

struct EngineSettings {
  core::Duration stats_interval = core::Duration::seconds(60);  // 0 = only the final stats event
  core::Duration tick = core::Duration::millis(100);
  AnomalyEvents anomaly_events = AnomalyEvents::sample;
  uint32_t workers = 1;
  std::vector<core::Prefix> home_net;
  uint32_t learned_servers = 65'536;
  int shard_prefix_v4 = 24;  // = detect.subnet_conn.prefix_v4: a subnet's connections meet in one worker
  int shard_prefix_v6 = 64;

  static EngineSettings from_config(const config::Config& cfg);
};

struct EngineTotals {
  uint64_t packets = 0;
  uint64_t bytes = 0;      // wire bytes
  uint64_t ip_packets = 0;
  uint64_t non_ip = 0;
  uint64_t anomalies = 0;  // packets with any anomaly
  uint64_t findings = 0;   // alert events written (first reports and updates)
  uint64_t decisions = 0;
  uint64_t filtered_out = 0;
  core::Timestamp first_ts;
  core::Timestamp last_ts;
};

class Engine {
 public:
  // Builds the detectors from `cfg`; `settings` usually comes from EngineSettings::from_config.
  Engine(const config::Config& cfg, EngineSettings settings, int link_type, output::EventSink& sink);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Processes one frame. Out-of-order timestamps are tolerated: virtual time never goes back.
  void process(const core::RawPacket& pkt) noexcept;
  // With one worker, the flow table's index cells of the packet kPrefetchAhead places on are
  // prefetched before each packet is processed.
  void process_batch(std::span<const core::RawPacket> batch) noexcept;
  // Moves virtual time to `now` without a packet (a live capture with no traffic): ticks that
  // end on the way are flushed as if a packet had arrived at `now`. Earlier times are ignored.
  void advance_to(core::Timestamp now) noexcept;
  // Live use: writes the findings made since the last tick at once — alerts, policy, and the
  // enforcer's apply — instead of waiting for the tick to end, so a ban reaches the kernel a few
  // packets after the decisive one. Only with one worker (workers > 1 keep the tick cadence) and
  // only between ticks; the order of alerts within a tick then follows arrival, not finding_less.
  void flush_findings() noexcept;
  // Ends the last tick, writes everything pending and the final stats event. Call once.
  void finish();

  // Policy and enforcement for findings (may be null: alerts only). Not owned.
  void set_responder(FindingResponder* r) noexcept { responder_ = r; }

  // Findings made outside the packet path (connection-table snapshots), on the thread that calls
  // process(): they are written with the current tick's findings, through the responder.
  detect::FindingSink& external_findings() noexcept { return target_findings_; }

  // Packets a capture filter dropped before they reached the engine (for stats).
  void set_filtered_out(uint64_t n) noexcept { totals_.filtered_out = n; }

  const EngineTotals& totals() const noexcept { return totals_; }
  const decode::Decoder& decoder() const noexcept { return decoder_; }
  core::Timestamp now() const noexcept { return now_; }

 private:
  struct PendingTick {
    int64_t epoch = 0;
    core::Timestamp at;
    std::vector<output::Event> anomalies;
    std::vector<detect::Finding> findings;  // per-target findings, then the inline worker's
    bool stats_due = false;
    bool final_tick = false;
    EngineTotals totals;
    uint64_t interval_packets = 0;
    uint64_t interval_bytes = 0;
    core::Timestamp interval_start;
    NamedStats target_stats;
  };

  void start(core::Timestamp ts);
  void move_time(core::Timestamp ts) noexcept;
  void end_tick(core::Timestamp at, bool final_tick);
  void flush_ready(bool wait);
  void write_tick(PendingTick& t, std::vector<EpochResult>& worker_results);
  void on_anomaly(decode::Anomaly a, const core::PacketMeta& meta);
  size_t shard_of(const core::IpAddress& actor) const noexcept;

  EngineSettings settings_;
  decode::Decoder decoder_;
  output::EventSink& sink_;
  FindingResponder* responder_ = nullptr;
  detect::Attribution attribution_;
  std::vector<std::unique_ptr<detect::Detector>> target_detectors_;
  FindingBuffer target_findings_;
  std::unique_ptr<Worker> inline_worker_;                 // workers == 1
  bool prefetch_flows_ = false;                           // inline worker on Ethernet frames
  std::vector<std::unique_ptr<WorkerThread>> threads_;    // workers > 1
  uint64_t shard_mask_ = 0;  // workers - 1 when workers is a power of two (> 1), else 0
  core::PacketMeta meta_;
  EngineTotals totals_;
  core::Timestamp now_;
  bool started_ = false;
  bool finished_ = false;
  int64_t epoch_ = 0;       // current tick number (packet time / tick)
  core::Timestamp next_stats_;
  core::Timestamp interval_start_;
  uint64_t interval_packets_ = 0;
  uint64_t interval_bytes_ = 0;
  std::vector<output::Event> tick_anomalies_;
  std::deque<PendingTick> pending_;
  // Per anomaly kind: the stats interval in which it was last written (sample mode).
  std::array<int64_t, decode::kAnomalyCount> anomaly_reported_interval_{};
  int64_t interval_index_ = 1;
};

// Turns a finding into its alert event (docs/events.md, docs/detectors.md); `response` says what
// policy made of it.
output::Event finding_to_event(const detect::Finding& f, const FindingResponder::Response& response = {});

struct RunResult {
  EngineTotals totals;
  std::optional<core::Error> source_error;  // the input ended early (e.g. a truncated file)
};

// Drives `engine` over every packet of `source`, then finishes it. `progress` is called now and
// then with the fraction done (0..1) when the source knows it.
RunResult run(capture::PacketSource& source, Engine& engine, const std::function<void(double)>& progress = {});

}  // namespace picket::engine
