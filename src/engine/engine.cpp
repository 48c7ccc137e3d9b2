#include "engine/engine.hpp"

#include <algorithm>
#include <bit>

#include <nlohmann/json.hpp>

#include "engine/lookahead.hpp"
#include "engine/registry.hpp"
#include "state/distinct.hpp"

namespace picket::engine {

using core::Duration;
using core::Timestamp;
using Json = nlohmann::ordered_json;

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "engine");
  s.duration("stats_interval", Duration::seconds(60), Duration::seconds(0), Duration::seconds(86400),
             "How often (in packet time) a stats event is written; 0 writes only the final one");
  s.duration("tick", Duration::millis(100), Duration::millis(10), Duration::seconds(1),
             "Granularity of periodic work in packet time (expiry, interval sampling); findings are "
             "written at the end of the tick in which they were made");
  s.choice("anomaly_events", "sample", {"none", "sample", "all"},
           "Anomaly events: none; sample = the first of each kind per stats interval (counts are in "
           "the stats events); all = one event per malformed packet");
  s.integer("workers", 1, 1, 64,
            "Detection threads; packets are sharded by the actor's prefix, results are the same for any number");
  s.address_list("home_net", {}, 65'536,
                 "Addresses and prefixes of the protected hosts. Tells picket which side of a packet is local "
                 "(otherwise learned from who answers connections)");
  s.integer("learned_servers", 65'536, 16, 16'000'000,
            "How many addresses learned as servers (they answered a connection) are remembered");
  declare_detector_config(schema);
}

EngineSettings EngineSettings::from_config(const config::Config& cfg) {
  EngineSettings s;
  s.stats_interval = cfg.duration("engine.stats_interval");
  s.tick = cfg.duration("engine.tick");
  const auto& mode = cfg.string("engine.anomaly_events");
  s.anomaly_events = mode == "none" ? AnomalyEvents::none : mode == "all" ? AnomalyEvents::all : AnomalyEvents::sample;
  s.workers = static_cast<uint32_t>(cfg.integer("engine.workers"));
  s.home_net = cfg.prefixes("engine.home_net");
  s.learned_servers = static_cast<uint32_t>(cfg.integer("engine.learned_servers"));
  s.shard_prefix_v4 = static_cast<int>(cfg.integer("detect.subnet_conn.prefix_v4"));
  s.shard_prefix_v6 = static_cast<int>(cfg.integer("detect.subnet_conn.prefix_v6"));
  return s;
}

Engine::Engine(const config::Config& cfg, EngineSettings settings, int link_type, output::EventSink& sink)
    : settings_(std::move(settings)),
      decoder_(link_type),
      sink_(sink),
      attribution_(settings_.home_net, settings_.learned_servers),
      target_detectors_(make_target_detectors(cfg)) {
  if (settings_.tick.ns <= 0) settings_.tick = Duration::millis(100);
  if (settings_.workers <= 1) {
    inline_worker_ = std::make_unique<Worker>(cfg);
    prefetch_flows_ = link_type == core::link_type::kEthernet;
  } else {
    for (uint32_t i = 0; i < settings_.workers; ++i) threads_.push_back(std::make_unique<WorkerThread>(cfg));
    if (std::has_single_bit(settings_.workers)) shard_mask_ = settings_.workers - 1;
  }
}

Engine::~Engine() = default;

size_t Engine::shard_of(const core::IpAddress& actor) const noexcept {
  const int len = actor.is_v6() ? settings_.shard_prefix_v6 : settings_.shard_prefix_v4;
  const uint64_t h = state::mix64(actor.masked(len).hash());
  // The same shard as h % workers, without a 64-bit division per packet when workers is a power of two.
  return static_cast<size_t>(shard_mask_ != 0 ? h & shard_mask_ : h % threads_.size());
}

void Engine::start(Timestamp ts) {
  started_ = true;
  now_ = ts;
  totals_.first_ts = ts;
  interval_start_ = ts;
  next_stats_ = ts + settings_.stats_interval;
  epoch_ = ts.ns / settings_.tick.ns;
}

void Engine::move_time(Timestamp ts) noexcept {
  if (!started_) start(ts);
  if (ts > now_) {
    now_ = ts;
    const int64_t e = now_.ns / settings_.tick.ns;
    if (e > epoch_) {
      // One tick for however many boundaries were crossed: a quiet gap is not a run of empty ticks.
      end_tick(Timestamp{e * settings_.tick.ns}, false);
      epoch_ = e;
    }
  }
}

void Engine::advance_to(Timestamp now) noexcept {
  if (finished_) return;
  move_time(now);
  totals_.last_ts = now_;
}

namespace {
constexpr size_t kPrefetchAhead = 8;

void prefetch_flow(const Worker& w, const core::RawPacket& pkt) noexcept {
  decode::PeekedFlow f;
  if (decode::peek_ethernet_ipv4_flow(pkt, f)) w.prefetch(f);
}
}  // namespace

void Engine::process_batch(std::span<const core::RawPacket> batch) noexcept {
  if (!prefetch_flows_) {
    for (const auto& p : batch) process(p);
    return;
  }
  visit_with_lookahead(
      batch.size(), kPrefetchAhead, [&](size_t j) { prefetch_flow(*inline_worker_, batch[j]); },
      [&](size_t i) { process(batch[i]); });
}

void Engine::process(const core::RawPacket& pkt) noexcept {
  move_time(pkt.ts);
  totals_.last_ts = now_;
  ++totals_.packets;
  totals_.bytes += pkt.wire_len;
  ++interval_packets_;
  interval_bytes_ += pkt.wire_len;

  const decode::Anomaly a = decoder_.decode(pkt, meta_);
  if (a != decode::Anomaly::none) {
    ++totals_.anomalies;
    on_anomaly(a, meta_);
  }
  if (!meta_.has(core::meta_flag::kHasIp)) return;
  ++totals_.ip_packets;

  const detect::ActorSide side = attribution_.actor_side(meta_);
  detect::PacketContext ctx;
  ctx.meta = &meta_;
  ctx.actor = detect::actor_of(meta_, side);
  ctx.from_actor = detect::from_actor(meta_, side);
  if (!target_detectors_.empty()) {
    ctx.probe = detect::classify_probe(meta_);
    for (auto& d : target_detectors_) d->on_packet(ctx, target_findings_);
  }
  if (inline_worker_) {
    inline_worker_->on_packet(ctx);
    return;
  }
  WorkerThread& w = *threads_[shard_of(ctx.actor)];
  w.batch().push_back({meta_, side});
  if (w.batch().size() >= WorkerThread::kBatch) w.submit();
}

void Engine::end_tick(Timestamp at, bool final_tick) {
  PendingTick t;
  t.epoch = epoch_;
  t.at = at;
  t.final_tick = final_tick;
  t.anomalies = std::move(tick_anomalies_);
  tick_anomalies_.clear();
  for (auto& d : target_detectors_) d->on_tick(at, target_findings_);
  t.findings = target_findings_.take();
  t.stats_due = final_tick || (settings_.stats_interval.ns > 0 && at >= next_stats_);
  if (t.stats_due) {
    t.totals = totals_;
    t.interval_packets = interval_packets_;
    t.interval_bytes = interval_bytes_;
    t.interval_start = interval_start_;
    for (const auto& d : target_detectors_) t.target_stats.emplace_back(d->name(), d->stats());
    interval_packets_ = 0;
    interval_bytes_ = 0;
    interval_start_ = at;
    ++interval_index_;
    if (settings_.stats_interval.ns > 0) {
      const int64_t step = settings_.stats_interval.ns;
      const int64_t behind = (at - next_stats_).ns / step;
      next_stats_ = next_stats_ + Duration{step * (behind + 1)};
    }
  }
  if (inline_worker_) {
    inline_worker_->on_tick(at);
    for (auto& f : inline_worker_->take_findings()) t.findings.push_back(std::move(f));
  } else {
    for (auto& w : threads_) w->submit(true, t.epoch, at, t.stats_due);
  }
  pending_.push_back(std::move(t));
  flush_ready(final_tick);
}

void Engine::flush_findings() noexcept {
  if (!inline_worker_ || !pending_.empty() || finished_) return;
  std::vector<detect::Finding> found = target_findings_.take();
  for (auto& f : inline_worker_->take_findings()) found.push_back(std::move(f));
  if (found.empty()) return;
  PendingTick t;
  t.epoch = epoch_;
  t.at = now_;
  t.findings = std::move(found);
  std::vector<EpochResult> none;
  write_tick(t, none);  // no stats: stats_due is false
}

void Engine::flush_ready(bool wait) {
  while (!pending_.empty()) {
    PendingTick& t = pending_.front();
    std::vector<EpochResult> results;
    if (!threads_.empty()) {
      if (!wait) {
        for (auto& w : threads_) {
          if (!w->epoch_ready(t.epoch)) return;
        }
      }
      for (auto& w : threads_) results.push_back(w->wait_epoch(t.epoch));
    } else if (inline_worker_ && t.stats_due) {
      EpochResult r;
      r.stats = inline_worker_->detector_stats();
      r.flow_stats = inline_worker_->flow_stats();
      results.push_back(std::move(r));
    }
    write_tick(t, results);
    pending_.pop_front();
  }
}

void Engine::write_tick(PendingTick& t, std::vector<EpochResult>& worker_results) {
  for (const auto& ev : t.anomalies) sink_.emit(ev);
  std::vector<detect::Finding>& findings = t.findings;
  for (auto& r : worker_results) {
    for (auto& f : r.findings) findings.push_back(std::move(f));
  }
  std::sort(findings.begin(), findings.end(), detect::finding_less);
  for (const auto& f : findings) {
    if (responder_ == nullptr) {
      sink_.emit(finding_to_event(f));
      continue;
    }
    const auto response = responder_->respond(f, f.ts);
    sink_.emit(finding_to_event(f, response));
    for (const auto& ev : response.events) sink_.emit(ev);
  }
  if (responder_ != nullptr) {
    for (const auto& ev : responder_->end_tick(t.at)) sink_.emit(ev);
    totals_.decisions = responder_->decisions();
  }
  totals_.findings += findings.size();
  t.totals.findings = totals_.findings;
  if (!t.stats_due) return;

  output::Event ev;
  ev.type = output::EventType::stats;
  ev.ts = t.at;
  const EngineTotals& tot = t.totals;
  Json anomalies = Json::object();
  const auto& counts = decoder_.anomaly_counts();
  for (size_t i = 1; i < counts.size(); ++i) {
    if (counts[i] != 0) anomalies[std::string(decode::anomaly_name(static_cast<decode::Anomaly>(i)))] = counts[i];
  }
  // Detector and flow stats summed over workers, detectors in the order they run.
  NamedStats summed = t.target_stats;
  detect::FlowStats flows;
  for (const auto& r : worker_results) {
    for (const auto& [name, st] : r.stats) {
      auto it = std::find_if(summed.begin(), summed.end(), [&](const auto& e) { return e.first == name; });
      if (it == summed.end()) summed.emplace_back(name, st);
      else it->second += st;
    }
    flows += r.flow_stats;
  }
  Json detectors = Json::object();
  for (const auto& [name, st] : summed) {
    detectors[std::string(name)] = {{"tracked", st.tracked},     {"capacity", st.capacity},
                                    {"evictions", st.evictions}, {"evictions_with_evidence", st.evictions_with_evidence},
                                    {"findings", st.findings},   {"memory_bytes", st.memory_bytes}};
  }
  ev.body = Json::object();
  ev.body["final"] = t.final_tick;
  ev.body["uptime"] = (t.at - tot.first_ts).to_seconds();
  ev.body["packets"] = tot.packets;
  ev.body["bytes"] = tot.bytes;
  ev.body["ip_packets"] = tot.ip_packets;
  ev.body["non_ip"] = decoder_.non_ip();
  ev.body["filtered_out"] = tot.filtered_out;
  ev.body["anomalies"] = tot.anomalies;
  ev.body["anomalies_by_name"] = std::move(anomalies);
  ev.body["findings"] = totals_.findings;
  ev.body["decisions"] = totals_.decisions;
  ev.body["interval"] = {{"seconds", (t.at - t.interval_start).to_seconds()},
                         {"packets", t.interval_packets},
                         {"bytes", t.interval_bytes}};
  ev.body["flows"] = {{"tracked", flows.flows},         {"capacity", flows.capacity},
                      {"evictions", flows.evictions},   {"established_evicted", flows.established_evicted},
                      {"probes", flows.probes},         {"established", flows.established},
                      {"memory_bytes", flows.memory_bytes}};
  ev.body["detectors"] = std::move(detectors);
  ev.body["learned_servers"] = attribution_.learned();
  sink_.emit(ev);
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
  ev.body = Json::object();
  ev.body["type"] = "decode";
  ev.body["event"] = std::string(decode::anomaly_name(a));
  ev.body["layer"] = std::string(decode::anomaly_layer(a));
  ev.picket = Json::object();
  ev.picket["count"] = decoder_.anomaly_counts()[idx];
  ev.picket["frame_len"] = meta.frame_len;
  ev.picket["cap_len"] = meta.cap_len;
  tick_anomalies_.push_back(std::move(ev));
}

void Engine::finish() {
  if (finished_) return;
  finished_ = true;
  if (!started_) start(Timestamp{});
  end_tick(now_, true);
  sink_.flush();
}

output::Event finding_to_event(const detect::Finding& f, const FindingResponder::Response& response) {
  output::Event ev;
  ev.type = output::EventType::alert;
  ev.ts = f.ts;
  if (!f.source.empty()) ev.src_ip = f.source;
  else if (f.source_prefix) ev.src_ip = f.source_prefix->address();
  ev.dest_ip = f.target;
  if (f.target_port && (f.proto == 6 || f.proto == 17)) ev.dest_port = *f.target_port;
  ev.proto = f.proto;
  output::AlertInfo alert;
  alert.signature = f.signature;
  alert.category = f.category;
  alert.severity = static_cast<int>(f.severity);
  alert.signature_id = f.signature_id;
  alert.action = response.blocked ? "blocked" : "allowed";
  ev.alert = std::move(alert);
  ev.picket = Json::object();
  ev.picket["detector"] = std::string(f.detector);
  ev.picket["kind"] = std::string(f.kind);
  if (f.source_prefix) ev.picket["source_prefix"] = f.source_prefix->to_string();
  if (f.update) ev.picket["update"] = true;
  if (f.aggregate) ev.picket["aggregate"] = true;
  if (response.allowlisted) ev.picket["allowlisted"] = true;
  if (!f.evidence.is_null()) ev.picket["evidence"] = f.evidence;
  return ev;
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
