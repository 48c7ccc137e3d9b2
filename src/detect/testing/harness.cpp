#include "detect/testing/harness.hpp"

#include <stdexcept>
#include <string>

#include "engine/engine.hpp"
#include "output/sinks.hpp"

namespace picket::detect::testing {

class Harness::Sink : public FindingSink {
 public:
  explicit Sink(std::vector<Finding>& out) : out_(out) {}
  void add(Finding&& f) override { out_.push_back(std::move(f)); }

 private:
  std::vector<Finding>& out_;
};

Harness::Harness(std::unique_ptr<Detector> detector, bool per_target, core::Duration tick, FlowSettings flows)
    : detector_(std::move(detector)),
      interest_(detector_->interest()),
      per_target_(per_target),
      tick_(tick),
      sink_(std::make_unique<Sink>(findings_)),
      flows_(flows, [this](const FlowNotice& n) {
        if (!per_target_ && interest_.notices) detector_->on_flow_notice(n, *sink_);
      }) {}

void Harness::tick_to(core::Timestamp ts) {
  if (!started_) {
    started_ = true;
    now_ = ts;
    epoch_ = ts.ns / tick_.ns;
    return;
  }
  if (ts <= now_) return;
  now_ = ts;
  const int64_t e = ts.ns / tick_.ns;
  if (e > epoch_) {
    const core::Timestamp at{e * tick_.ns};
    if (!per_target_) flows_.on_tick(at);
    detector_->on_tick(at, *sink_);
    epoch_ = e;
  }
}

void Harness::advance(core::Timestamp ts) { tick_to(ts); }

void Harness::frame(core::Timestamp ts, std::span<const uint8_t> bytes, uint32_t wire_len) {
  tick_to(ts);
  core::RawPacket p;
  p.ts = ts;
  p.data = bytes.data();
  p.cap_len = static_cast<uint32_t>(bytes.size());
  p.wire_len = wire_len > p.cap_len ? wire_len : p.cap_len;
  decoder_.decode(p, meta_);
  if (!meta_.has(core::meta_flag::kHasIp)) return;
  PacketContext ctx;
  ctx.meta = &meta_;
  ctx.actor = attribution_.actor(meta_);
  ctx.from_actor = meta_.src == ctx.actor;
  if (per_target_) {
    ctx.probe = classify_probe(meta_);
  } else {
    flows_.on_packet(ctx);
    if ((interest_.packets & packet_interest(ctx, interest_.large_frame)) == 0) return;
  }
  detector_->on_packet(ctx, *sink_);
}

sim::SimSummary Harness::scenario(std::string_view name, const sim::ScenarioOptions& opts) {
  struct Feed : sim::FrameSink {
    explicit Feed(Harness& h) : h_(h) {}
    void frame(core::Timestamp ts, std::span<const uint8_t> bytes, uint32_t wire_len) override {
      h_.frame(ts, bytes, wire_len);
    }
    Harness& h_;
  } feed(*this);
  auto r = sim::generate(name, opts, feed);
  if (!r) throw std::runtime_error(r.error().message);
  return std::move(r.value());
}

const std::vector<Finding>& Harness::finish() {
  const core::Timestamp at{(epoch_ + 1) * tick_.ns};
  if (!per_target_) flows_.on_tick(at);
  detector_->on_tick(at, *sink_);
  return findings_;
}

EngineRun run_engine(const config::Config& cfg, std::string_view scenario, const sim::ScenarioOptions& opts,
                     uint32_t workers) {
  output::MemorySink sink;
  auto settings = engine::EngineSettings::from_config(cfg);
  if (workers != 0) settings.workers = workers;
  engine::Engine eng(cfg, settings, core::link_type::kEthernet, sink);
  struct Feed : sim::FrameSink {
    explicit Feed(engine::Engine& e) : e_(e) {}
    void frame(core::Timestamp ts, std::span<const uint8_t> bytes, uint32_t wire_len) override {
      core::RawPacket p;
      p.ts = ts;
      p.data = bytes.data();
      p.cap_len = static_cast<uint32_t>(bytes.size());
      p.wire_len = wire_len;
      e_.process(p);
    }
    engine::Engine& e_;
  } feed(eng);
  auto summary = sim::generate(scenario, opts, feed);
  if (!summary) throw std::runtime_error(summary.error().message);
  eng.finish();
  return EngineRun{sink.events(), std::move(summary.value()), eng.totals()};
}

std::vector<std::string> alert_lines(const std::vector<output::Event>& events, std::string_view detector) {
  std::vector<std::string> out;
  for (const auto& ev : events) {
    if (ev.type != output::EventType::alert) continue;
    if (!detector.empty() && ev.picket.value("detector", std::string()) != detector) continue;
    out.push_back(output::to_json_line(ev));
  }
  return out;
}

config::Config test_config(config::Profile profile, std::string_view overrides_yaml) {
  config::Schema schema;
  engine::declare_config(schema);
  std::string text = "profile: " + std::string(config::profile_name(profile)) + "\n" + std::string(overrides_yaml);
  auto r = config::load_string(schema, text, "<test overrides>");
  if (!r.errors.empty()) {
    std::string msg;
    for (const auto& e : r.errors) msg += e.to_string() + "\n";
    throw std::runtime_error(msg);
  }
  return std::move(*r.config);
}

}  // namespace picket::detect::testing
