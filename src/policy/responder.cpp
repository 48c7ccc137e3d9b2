#include "policy/responder.hpp"

#include <algorithm>

namespace picket::policy {

using Json = nlohmann::ordered_json;

namespace {
constexpr core::Duration kMaxBackoff = core::Duration::seconds(60);
constexpr size_t kMaxPending = 100'000;  // a dead backend cannot make the queue grow without end
}  // namespace

PolicyResponder::PolicyResponder(Policy& policy, enforce::Enforcer* enforcer) : policy_(policy), enforcer_(enforcer) {}

output::Event decision_event(const core::Decision& d, std::string_view enforcer, bool dry_run) {
  output::Event ev;
  ev.type = output::EventType::decision;
  ev.ts = d.decided_at;
  const bool limit = d.action == core::DecisionAction::rate_limit || d.action == core::DecisionAction::unrate_limit;
  if (limit) {
    ev.dest_ip = d.target.address();
    ev.dest_port = d.port;
    ev.proto = d.proto;
  } else {
    ev.src_ip = d.target.address();
  }
  ev.body = Json::object();
  ev.body["action"] = std::string(core::decision_action_name(d.action));
  ev.body["target"] = d.target.is_host() ? d.target.address().to_string() : d.target.to_string();
  ev.body["scope"] = d.target.is_host() ? "address" : "prefix";
  ev.body["duration"] = d.duration.to_seconds();
  ev.body["expires"] = core::format_iso8601(d.decided_at + d.duration);
  if (limit) ev.body["rate_per_second"] = d.rate_per_second;
  else ev.body["offence"] = d.offence;
  ev.body["detector"] = d.detector;
  ev.body["reason"] = d.reason;
  ev.body["enforcer"] = std::string(enforcer);
  ev.body["dry_run"] = dry_run;
  ev.picket = Json{{"detector", d.detector}};
  return ev;
}

engine::FindingResponder::Response PolicyResponder::respond(const detect::Finding& f, core::Timestamp now) {
  Response r;
  Verdict v = policy_.decide(f, now);
  r.allowlisted = v.allowlisted;
  r.blocked = v.decision.has_value() || v.already_active;
  if (!v.decision) return r;
  ++decisions_;
  // Nothing reaches a kernel in IDS mode, without an enforcer, or with the dry-run one (replay).
  const bool dry = enforcer_ == nullptr || policy_.settings().dry_run || enforcer_->name() == "dry-run";
  const bool apply = enforcer_ != nullptr && !policy_.settings().dry_run;
  r.events.push_back(decision_event(*v.decision, enforcer_ ? enforcer_->name() : "none", dry));
  if (apply && pending_.size() < kMaxPending) {
    pending_.push_back(std::move(*v.decision));
    ++unrecorded_;
  }
  return r;
}

void PolicyResponder::requeue(std::span<const core::Decision> batch) {
  // Before the unjournaled tail, so the tail stays last.
  pending_.insert(pending_.end() - static_cast<std::ptrdiff_t>(unrecorded_), batch.begin(), batch.end());
}

std::vector<output::Event> PolicyResponder::end_tick(core::Timestamp now) {
  std::vector<output::Event> out;
  if (journal_ != nullptr && unrecorded_ > 0) {
    // Durable first: a crash between here and the kernel loses nothing (the next start re-applies).
    const auto fresh = std::span<const core::Decision>(pending_).last(unrecorded_);
    if (auto rec = journal_->record(fresh, now); !rec) {
      ++journal_failures_;
      output::Event ev;
      ev.type = output::EventType::anomaly;
      ev.ts = now;
      ev.body = Json{{"type", "store"}, {"event", "record_failed"}, {"layer", "store"}};
      ev.picket = Json{{"error", rec.error().message}, {"decisions", fresh.size()}};
      out.push_back(std::move(ev));
    }
    unrecorded_ = 0;
  }
  if (pending_.empty() || enforcer_ == nullptr || now < retry_at_) return out;
  auto result = enforcer_->apply(pending_);
  if (result) {
    if (journal_ != nullptr) journal_->applied(pending_, true);
    pending_.clear();
    last_error_.clear();
    backoff_ = core::Duration::seconds(1);
    return out;
  }
  // Detection goes on; the batch waits, and the failure is reported once per attempt.
  ++failures_;
  last_error_ = result.error().message;
  output::Event ev;
  ev.type = output::EventType::anomaly;
  ev.ts = now;
  ev.body = Json{{"type", "enforcer"}, {"event", "apply_failed"}, {"layer", "enforce"}};
  ev.picket = Json{{"enforcer", std::string(enforcer_->name())},
                   {"error", result.error().message},
                   {"pending", pending_.size()},
                   {"retry_in", backoff_.to_seconds()}};
  out.push_back(std::move(ev));
  retry_at_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  return out;
}

}  // namespace picket::policy
