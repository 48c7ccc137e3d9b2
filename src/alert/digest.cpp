#include "alert/digest.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace picket::alert {

bool RateLimiter::try_acquire(core::Timestamp now) {
  const core::Duration minute = core::Duration::seconds(60);
  while (!sent_.empty() && now - sent_.front() >= minute) sent_.pop_front();
  if (sent_.size() >= max_) return false;
  sent_.push_back(now);
  return true;
}

std::string detector_of(const output::Event& event) {
  if (event.picket.is_object()) {
    auto it = event.picket.find("detector");
    if (it != event.picket.end() && it->is_string()) return it->get<std::string>();
  }
  return "-";
}

void DigestBuilder::add(const output::Event& event, core::Timestamp now) {
  if (empty()) {
    started_ = now;
    first_seen_ = last_seen_ = event.ts;
  }
  first_seen_ = std::min(first_seen_, event.ts);
  last_seen_ = std::max(last_seen_, event.ts);
  std::string name = detector_of(event);
  if (detectors_.size() >= kMaxDetectors && !detectors_.contains(name)) name = "other";
  PerDetector& d = detectors_[name];
  if (event.type == output::EventType::decision) {
    ++decisions_;
    ++d.decisions;
  } else {
    ++alerts_;
    ++d.alerts;
    int sev = event.alert ? event.alert->severity : 3;
    if (highest_severity_ == 0 || sev < highest_severity_) highest_severity_ = sev;
  }
  if (event.src_ip.empty()) return;
  if (d.sources.size() < kMaxTrackedSources)
    d.sources.insert(event.src_ip);
  else if (!d.sources.contains(event.src_ip))
    capped_ = true;
  auto it = sources_.find(event.src_ip);
  if (it != sources_.end())
    ++it->second;
  else if (sources_.size() < kMaxTrackedSources)
    sources_.emplace(event.src_ip, 1);
  else
    capped_ = true;
}

Digest DigestBuilder::take(core::Timestamp wall_now) {
  Digest g;
  g.created = wall_now;
  g.window = window_;
  g.alerts = alerts_;
  g.decisions = decisions_;
  g.highest_severity = highest_severity_;
  g.first_seen = first_seen_;
  g.last_seen = last_seen_;
  g.distinct_sources = sources_.size();
  g.sources_capped = capped_;
  for (const auto& [name, d] : detectors_)
    g.detectors.push_back({name, d.alerts, d.decisions, static_cast<uint64_t>(d.sources.size())});
  std::stable_sort(g.detectors.begin(), g.detectors.end(), [](const DetectorCount& a, const DetectorCount& b) {
    return a.alerts + a.decisions > b.alerts + b.decisions;
  });
  std::vector<std::pair<core::IpAddress, uint64_t>> srcs(sources_.begin(), sources_.end());
  size_t top = std::min(kTopSources, srcs.size());
  // Ties broken by address so the same input always gives the same digest.
  std::partial_sort(
      srcs.begin(), srcs.begin() + static_cast<std::ptrdiff_t>(top), srcs.end(),
      [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  for (size_t i = 0; i < top; ++i) g.top_sources.push_back({srcs[i].first.to_string(), srcs[i].second});

  *this = DigestBuilder(window_);
  return g;
}

namespace {

std::string plural(uint64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

std::string Digest::summary() const {
  std::string head;
  if (alerts > 0) head = plural(alerts, "alert", "alerts");
  if (decisions > 0) head += (head.empty() ? "" : " and ") + plural(decisions, "decision", "decisions");
  std::string out = fmt::format("{} in the last {}", head, core::format_duration(window));
  if (highest_severity > 0) out += fmt::format(" (highest severity {})", highest_severity);
  out += ":";
  bool first = true;
  for (const auto& d : detectors) {
    out += first ? " " : ", ";
    first = false;
    uint64_t n = d.alerts > 0 ? d.alerts : d.decisions;
    out += fmt::format("{} {}", n, d.detector);
    if (d.alerts > 0 && d.decisions > 0)
      out += fmt::format(" (+{} decisions)", d.decisions);
    else if (d.alerts == 0)
      out += " decisions";
    if (d.sources > 0) out += " from " + plural(d.sources, "source", "sources");
  }
  if (!top_sources.empty()) {
    out += "; top sources:";
    for (size_t i = 0; i < top_sources.size(); ++i)
      out += fmt::format("{} {} ({})", i == 0 ? "" : ",", top_sources[i].address, top_sources[i].events);
  }
  return out;
}

nlohmann::ordered_json Digest::to_json() const {
  nlohmann::ordered_json d;
  d["summary"] = summary();
  d["window"] = window.to_seconds();
  d["alerts"] = alerts;
  d["decisions"] = decisions;
  if (highest_severity > 0) d["highest_severity"] = highest_severity;
  d["first_seen"] = core::format_iso8601(first_seen);
  d["last_seen"] = core::format_iso8601(last_seen);
  d["distinct_sources"] = distinct_sources;
  if (sources_capped) d["sources_capped"] = true;
  auto& dets = d["detectors"] = nlohmann::ordered_json::array();
  for (const auto& x : detectors) {
    nlohmann::ordered_json o;
    o["detector"] = x.detector;
    o["alerts"] = x.alerts;
    if (x.decisions > 0) o["decisions"] = x.decisions;
    o["sources"] = x.sources;
    dets.push_back(std::move(o));
  }
  auto& tops = d["top_sources"] = nlohmann::ordered_json::array();
  for (const auto& s : top_sources) tops.push_back({{"src_ip", s.address}, {"events", s.events}});
  nlohmann::ordered_json j;
  j["timestamp"] = core::format_iso8601(created);
  j["event_type"] = "digest";
  j["digest"] = std::move(d);
  return j;
}

}  // namespace picket::alert
