#include "engine/engine.hpp"

#include <nlohmann/json.hpp>

namespace picket::engine {

using core::Duration;
using core::Timestamp;

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "engine");
  s.duration("stats_interval", Duration::seconds(60), Duration::seconds(0), Duration::seconds(86400),
             "How often (in packet time) a stats event is written; 0 writes only the final one");
  s.choice("anomaly_events", "sample", {"none", "sample", "all"},
           "Anomaly events: none; sample = the first of each kind per stats interval (counts are in "
           "the stats events); all = one event per malformed packet");
}

EngineSettings EngineSettings::from_config(const config::Config& cfg) {
  EngineSettings s;
  s.stats_interval = cfg.duration("engine.stats_interval");
  const auto& mode = cfg.string("engine.anomaly_events");
  s.anomaly_events = mode == "none" ? AnomalyEvents::none : mode == "all" ? AnomalyEvents::all : AnomalyEvents::sample;
  return s;
}

Engine::Engine(EngineSettings settings, int link_type, output::EventSink& sink)
    : settings_(settings), decoder_(link_type), sink_(sink) {}

void Engine::process(const core::RawPacket& pkt) noexcept {
  advance_time(pkt.ts);
  ++totals_.packets;
  totals_.bytes += pkt.wire_len;
  ++interval_packets_;
  interval_bytes_ += pkt.wire_len;
  const decode::Anomaly a = decoder_.decode(pkt, meta_);
  if (meta_.has(core::meta_flag::kHasIp)) ++totals_.ip_packets;
  if (a != decode::Anomaly::none) {
    ++totals_.anomalies;
    on_anomaly(a, meta_);
  }
}

void Engine::advance_time(Timestamp ts) {
  if (!started_) {
    started_ = true;
    now_ = ts;
    totals_.first_ts = ts;
    interval_start_ = ts;
    next_stats_ = ts + settings_.stats_interval;
  }
  if (ts > now_) now_ = ts;
  totals_.last_ts = now_;
  if (settings_.stats_interval.ns <= 0) return;
  if (now_ >= next_stats_) {
    // One event per boundary reached, stamped with the boundary. A gap in the capture spanning
    // several intervals yields one event, not a run of empty ones.
    emit_stats(next_stats_, false);
    const int64_t step = settings_.stats_interval.ns;
    const int64_t behind = (now_ - next_stats_).ns / step;
    interval_start_ = next_stats_ + Duration{step * behind};
    next_stats_ = interval_start_ + settings_.stats_interval;
    interval_packets_ = 0;
    interval_bytes_ = 0;
    ++interval_index_;
  }
}

void Engine::on_anomaly(decode::Anomaly a, const core::PacketMeta& meta) {
  const auto idx = static_cast<size_t>(a);
  if (settings_.anomaly_events == AnomalyEvents::none) return;
  if (settings_.anomaly_events == AnomalyEvents::sample) {
    if (anomaly_reported_interval_[idx] == interval_index_) return;
    anomaly_reported_interval_[idx] = interval_index_;
  }
  output::Event ev;
  ev.type = output::EventType::anomaly;
  ev.ts = meta.ts;
  if (meta.has(core::meta_flag::kHasIp)) {
    ev.src_ip = meta.src;
    ev.dest_ip = meta.dst;
    ev.proto = meta.ip_proto;
    if (meta.has(core::meta_flag::kHasPorts)) {
      ev.src_port = meta.src_port;
      ev.dest_port = meta.dst_port;
    }
  }
  ev.body = nlohmann::ordered_json::object();
  ev.body["type"] = "decode";
  ev.body["event"] = std::string(decode::anomaly_name(a));
  ev.body["layer"] = std::string(decode::anomaly_layer(a));
  ev.picket = nlohmann::ordered_json::object();
  ev.picket["count"] = decoder_.anomaly_counts()[idx];
  ev.picket["frame_len"] = meta.frame_len;
  ev.picket["cap_len"] = meta.cap_len;
  sink_.emit(ev);
}

void Engine::emit_stats(Timestamp at, bool final_event) {
  output::Event ev;
  ev.type = output::EventType::stats;
  ev.ts = at;
  nlohmann::ordered_json anomalies = nlohmann::ordered_json::object();
  const auto& counts = decoder_.anomaly_counts();
  for (size_t i = 1; i < counts.size(); ++i) {
    if (counts[i] != 0) anomalies[std::string(decode::anomaly_name(static_cast<decode::Anomaly>(i)))] = counts[i];
  }
  const double secs = (at - interval_start_).to_seconds();
  ev.body = nlohmann::ordered_json::object();
  ev.body["final"] = final_event;
  ev.body["uptime"] = (at - totals_.first_ts).to_seconds();
  ev.body["packets"] = totals_.packets;
  ev.body["bytes"] = totals_.bytes;
  ev.body["ip_packets"] = totals_.ip_packets;
  ev.body["non_ip"] = decoder_.non_ip();
  ev.body["filtered_out"] = totals_.filtered_out;
  ev.body["anomalies"] = totals_.anomalies;
  ev.body["anomalies_by_name"] = std::move(anomalies);
  ev.body["findings"] = totals_.findings;
  ev.body["decisions"] = totals_.decisions;
  ev.body["interval"] = {{"seconds", secs},
                         {"packets", interval_packets_},
                         {"bytes", interval_bytes_}};
  sink_.emit(ev);
}

void Engine::finish() {
  emit_stats(now_, true);
  sink_.flush();
}

RunResult run(capture::PacketSource& source, Engine& engine, const std::function<void(double)>& progress) {
  constexpr size_t kBatch = 256;
  std::array<core::RawPacket, kBatch> batch;
  uint64_t batches = 0;
  for (;;) {
    const size_t n = source.read_batch(batch);
    if (n == 0) break;
    engine.process_batch(std::span<const core::RawPacket>(batch.data(), n));
    if (progress && (++batches & 0x3FF) == 0) progress(source.progress());
  }
  engine.set_filtered_out(source.filtered_out());
  engine.finish();
  RunResult r;
  r.totals = engine.totals();
  if (source.error()) r.source_error = *source.error();
  return r;
}

}  // namespace picket::engine
