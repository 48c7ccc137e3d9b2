// The control socket's commands (control/protocol.hpp), run on the daemon's main thread.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "daemon/daemon_impl.hpp"
#include "policy/responder.hpp"

namespace picket::daemon {

using core::Duration;
using core::Timestamp;

namespace {

bool is_loopback(const core::IpAddress& a) {
  static const core::Prefix v4 = *core::Prefix::parse("127.0.0.0/8");
  static const core::Prefix v6 = *core::Prefix::parse("::1/128");
  return v4.contains(a) || v6.contains(a);
}

std::string target_text(const core::Prefix& p) { return p.is_host() ? p.address().to_string() : p.to_string(); }

core::Prefix parse_target(const Json& req) {
  // parse_request validated it.
  return *core::Prefix::parse(req["target"].get<std::string>(), false);
}

}  // namespace

std::vector<std::string> Daemon::Impl::health_problems() const {
  std::vector<std::string> out;
  if (source && source->finished()) out.push_back("capture: " + (source->error() ? source->error()->message : "ended"));
  if (!policy->settings().dry_run) {
    if (!enforcer_ready) out.push_back("enforcer: " + std::string(bundle.enforcer->name()) + " not initialised");
    else if (!responder->last_error().empty()) out.push_back("enforcer: " + responder->last_error());
  }
  if (!conn_error.empty()) out.push_back(conn_error);
  return out;
}

Json Daemon::Impl::status(Timestamp now) {
  Json s = Json::object();
  s["version"] = PICKET_VERSION_STRING;
  s["started"] = core::format_iso8601(started_at);
  s["uptime"] = (now - started_at).to_seconds();
  s["config"] = cfg().source();
  s["mode"] = policy->settings().dry_run ? "ids" : "ips";
  const auto problems = health_problems();
  s["healthy"] = problems.empty();
  s["problems"] = problems;

  Json cap = Json::object();
  cap["method"] = settings.capture_method == CaptureMethod::none  ? "none"
                  : settings.capture_method == CaptureMethod::pcap ? "pcap"
                                                                   : "afpacket";
  if (source) {
    const auto st = source->stats();
    cap["packets"] = st.packets;
    cap["kernel_drops"] = st.kernel_drops;
    cap["inbound"] = st.inbound;
    cap["outbound"] = st.outbound;
    Json ifs = Json::object();
    for (const auto& [name, n] : st.per_interface_packets) ifs[name] = n;
    cap["interfaces"] = std::move(ifs);
  }
  s["capture"] = std::move(cap);

  const auto& t = engine->totals();
  const double secs = std::max(1e-9, (t.last_ts - t.first_ts).to_seconds());
  s["traffic"] = {{"packets", t.packets},     {"bytes", t.bytes},
                  {"ip_packets", t.ip_packets}, {"anomalies", t.anomalies},
                  {"findings", t.findings},   {"decisions", t.decisions},
                  {"average_pps", t.packets / secs}, {"average_bps", 8.0 * static_cast<double>(t.bytes) / secs}};
  if (observer.last_stats().is_object()) {
    const Json& ls = observer.last_stats();
    if (ls.contains("interval")) s["traffic"]["last_interval"] = ls["interval"];
    if (ls.contains("detectors")) s["detectors"] = ls["detectors"];
    if (ls.contains("flows")) s["flows"] = ls["flows"];
  }
  Json alert_counts = Json::object();
  for (const auto& [d, n] : observer.alerts_by_detector()) alert_counts[d] = n;
  s["alerts_by_detector"] = std::move(alert_counts);

  Json enf = Json::object();
  enf["backend"] = std::string(bundle.enforcer->name());
  enf["dry_run"] = policy->settings().dry_run;
  enf["ready"] = enforcer_ready || policy->settings().dry_run;  // IDS mode needs no backend
  enf["failures"] = responder->enforcer_failures();
  enf["pending"] = responder->pending();
  enf["last_error"] = responder->last_error();
  if (bundle.cleanup != nullptr) {
    enf["conntrack_cleanups"] = bundle.cleanup->stats().cleanups;
    enf["conntrack_entries_removed"] = bundle.cleanup->stats().entries_removed;
    enf["conntrack_failures"] = bundle.cleanup->stats().failures;
  }
  if (bundle.nftables != nullptr) {
    const auto& trap = bundle.nftables->scan_trap();
    enf["scan_trap"] = {{"enabled", trap.enabled}, {"closed_ports", trap.closed_ports},
                        {"hold", static_cast<double>(trap.hold_ms) / 1000.0},
                        {"held", trap_known.size()}, {"trapped_total", trapped_total}};
  }
  s["enforcer"] = std::move(enf);

  // Counting the store's rows is not free with 100,000 bans, and metrics ask every second: the
  // summary is recomputed at most every kBansSummaryAge (and after a manual ban or unban).
  if (bans_summary_at.ns == 0 || now - bans_summary_at >= kBansSummaryAge) {
    bans_summary = Json{{"in_force", policy->in_force_count(now)}};
    if (store) {
      if (auto active = store->active(now)) {
        std::map<std::string, uint64_t> by;
        for (const auto& sd : *active) {
          const auto& d = sd.decision;
          const std::string fam = d.target.address().is_v6() ? "ipv6" : "ipv4";
          const std::string kind = d.action == core::DecisionAction::rate_limit ? "rate_limit"
                                   : d.target.is_host()                          ? "address"
                                                                                 : "prefix";
          ++by[fam + "/" + kind];
        }
        bans_summary["active"] = active->size();
        Json b = Json::object();
        for (const auto& [k, n] : by) b[k] = n;
        bans_summary["by_family_scope"] = std::move(b);
      }
    }
    bans_summary_at = now;
  }
  s["bans"] = bans_summary;
  if (conn_table) {
    const auto cs = conn_table->stats();
    s["conn_table"] = {{"sockets", cs.sockets}, {"snapshots", cs.snapshots}, {"errors", cs.errors},
                       {"interval", conn.interval.to_seconds()}};
  }
  if (alerts != nullptr) s["alerts"] = Json::parse(alerts->stats_json().dump());
  if (control) {
    const auto st = control->stats();
    s["control"] = {{"connections", st.connections}, {"requests", st.requests}, {"bad_requests", st.bad_requests},
                    {"events_dropped", st.events_dropped}};
  }
  return s;
}

core::Result<Json> Daemon::Impl::bans(Timestamp now) {
  Json list = Json::array();
  if (store) {
    auto active = store->active(now);
    if (!active) return core::make_error("store: " + active.error().message);
    for (const auto& sd : *active) {
      const auto& d = sd.decision;
      Json b = Json::object();
      b["target"] = target_text(d.target);
      b["action"] = std::string(core::decision_action_name(d.action));
      b["scope"] = d.action == core::DecisionAction::rate_limit ? "rate_limit" : d.target.is_host() ? "address" : "prefix";
      if (d.action == core::DecisionAction::rate_limit) {
        b["port"] = d.port;
        b["proto"] = d.proto == 6 ? "tcp" : "udp";
        b["rate_per_second"] = d.rate_per_second;
      }
      b["detector"] = d.detector;
      b["reason"] = d.reason;
      b["offence"] = d.offence;
      b["since"] = core::format_iso8601(sd.created_at);
      if (sd.expires_at) {
        b["expires"] = core::format_iso8601(*sd.expires_at);
        b["remaining"] = sd.remaining(now).to_seconds();
      } else {
        b["remaining"] = nullptr;  // no expiry
      }
      b["applied"] = sd.applied;
      list.push_back(std::move(b));
    }
    append_trapped(list);
    return Json{{"source", "store"}, {"bans", std::move(list)}};
  }
  // No store (dry-run backend or store.enabled: false): what the backend holds.
  auto kernel = bundle.enforcer->list();
  if (!kernel) return core::make_error(kernel.error().message);
  for (const auto& k : *kernel) {
    Json b = Json::object();
    b["target"] = target_text(k.target);
    b["action"] = "block";
    b["scope"] = k.target.is_host() ? "address" : "prefix";
    b["detector"] = k.detector;
    b["reason"] = k.reason;
    b["offence"] = k.offence;
    if (k.remaining.ns > 0) b["remaining"] = k.remaining.to_seconds();
    else b["remaining"] = nullptr;
    list.push_back(std::move(b));
  }
  append_trapped(list);
  return Json{{"source", std::string(bundle.enforcer->name())}, {"bans", std::move(list)}};
}

// Sources the kernel's scan trap holds (enforcement.md): not decisions of picket's, so not in the
// store, but dropped all the same — an operator asking "why is X cut off" must see them.
void Daemon::Impl::append_trapped(Json& list) const {
  if (bundle.nftables == nullptr || !enforcer_ready || !bundle.nftables->scan_trap().enabled) return;
  auto trapped = bundle.nftables->list_trapped();
  if (!trapped) return;
  for (const auto& t : *trapped) {
    Json b = Json::object();
    b["target"] = target_text(t.target);
    b["action"] = "block";
    b["scope"] = "trap";
    b["detector"] = "scan_trap";
    b["reason"] = fmt::format("more than {} closed TCP ports in a burst (kernel scan trap)",
                              bundle.nftables->scan_trap().closed_ports);
    b["offence"] = 1;
    b["remaining"] = t.remaining.to_seconds();
    b["applied"] = true;
    list.push_back(std::move(b));
  }
}

core::Result<Json> Daemon::Impl::manual_ban(const Json& req, Timestamp now) {
  const core::Prefix target = parse_target(req);
  if (policy->is_allowlisted(target)) {
    return core::make_error(target_text(target) + " is allowlisted (policy.allowlist, engine.home_net or this host): not banned");
  }
  core::Decision d;
  d.action = core::DecisionAction::block;
  d.target = target;
  d.duration = Duration::minutes(10);
  if (auto it = req.find("duration"); it != req.end()) d.duration = *core::parse_duration(it->get<std::string>());
  if (d.duration > enforce::kMaxBanDuration) return core::make_error("duration longer than the longest ban (10 years)");
  d.decided_at = now;
  d.detector = "manual";
  d.reason = req.value("reason", std::string("banned by the operator"));
  if (store) {
    if (auto o = store->offender(target); o && o->has_value()) d.offence = (**o).offences + 1;
  }
  const std::vector<core::Decision> batch{d};
  const bool dry = policy->settings().dry_run;
  if (journal && !dry) {
    if (auto r = journal->record(batch, now); !r) return core::make_error("store: " + r.error().message);
  }
  std::string applied = dry ? "dry run: not applied" : "applied";
  if (!dry) {
    if (!enforcer_ready) {
      responder->requeue(batch);
      applied = "stored; the enforcer is not ready, applied when it is";
    } else if (auto r = bundle.enforcer->apply(batch); !r) {
      responder->requeue(batch);
      applied = "stored; the enforcer refused (" + r.error().message + "), retrying";
    } else if (journal) {
      journal->applied(batch, true);
    }
  }
  policy->restore(d, d.duration.ns == 0 ? std::nullopt : std::optional<Timestamp>(now + d.duration));
  ++manual_bans;
  bans_summary_at = Timestamp{};
  emit(policy::decision_event(d, bundle.enforcer->name(), dry));
  return Json{{"target", target_text(target)},
              {"duration", d.duration.to_seconds()},
              {"offence", d.offence},
              {"result", applied}};
}

core::Result<Json> Daemon::Impl::manual_unban(const Json& req, Timestamp now) {
  const bool dry = policy->settings().dry_run;
  if (req.value("all", false)) {
    size_t n = 0;
    if (store) {
      if (auto active = store->active(now)) n = active->size();
      if (auto r = store->clear_active(); !r) return core::make_error("store: " + r.error().message);
    }
    if (!dry && enforcer_ready) {
      if (auto r = bundle.enforcer->flush(); !r) return core::make_error(r.error().message);
    }
    (void)responder->take_pending();
    policy->forget_all();
    bans_summary_at = Timestamp{};
    output::Event ev;
    ev.type = output::EventType::decision;
    ev.ts = now;
    ev.body = Json{{"action", "unblock"}, {"target", "all"}, {"detector", "manual"}, {"dry_run", dry}};
    emit(ev);
    return Json{{"removed", n}, {"target", "all"}};
  }
  const core::Prefix target = parse_target(req);
  bool known = false;
  if (store) {
    if (auto active = store->active(now)) {
      known = std::any_of(active->begin(), active->end(),
                          [&](const store::StoredDecision& sd) { return sd.decision.target == target; });
    }
  }
  core::Decision d;
  d.action = core::DecisionAction::unblock;
  d.target = target;
  d.decided_at = now;
  d.detector = "manual";
  d.reason = req.value("reason", std::string("unbanned by the operator"));
  if (store) {
    if (auto r = store->remove(target); !r) return core::make_error("store: " + r.error().message);
  }
  if (!dry && enforcer_ready) {
    const std::vector<core::Decision> batch{d};
    if (auto r = bundle.enforcer->apply(batch); !r) return core::make_error(r.error().message);
  }
  policy->forget(target);
  bans_summary_at = Timestamp{};
  emit(policy::decision_event(d, bundle.enforcer->name(), dry));
  return Json{{"target", target_text(target)}, {"was_banned", known || !store}};
}

Json Daemon::Impl::top(Timestamp now) {
  Json t = Json::object();
  t["status"] = status(now);
  // Active findings: the latest alert per (detector, source) in the last 5 minutes.
  std::map<std::pair<std::string, std::string>, const output::Event*> latest;
  for (const auto& ev : observer.recent_alerts()) {
    if (now - ev.ts > Duration::minutes(5)) continue;
    const std::string det = ev.picket.value("detector", std::string("-"));
    std::string src = ev.picket.contains("source_prefix") ? ev.picket["source_prefix"].get<std::string>()
                      : ev.src_ip.empty()                  ? std::string("-")
                                                           : ev.src_ip.to_string();
    latest[{det, src}] = &ev;
  }
  Json findings = Json::array();
  for (const auto& [key, ev] : latest) {
    findings.push_back({{"detector", key.first},
                        {"source", key.second},
                        {"target", ev->dest_ip.empty() ? std::string("-") : ev->dest_ip.to_string()},
                        {"kind", ev->picket.value("kind", std::string("-"))},
                        {"severity", ev->alert ? ev->alert->severity : 3},
                        {"action", ev->alert ? ev->alert->action : std::string()},
                        {"age", (now - ev->ts).to_seconds()}});
  }
  t["findings"] = std::move(findings);
  talkers.roll(now);
  auto talker_list = [&](const std::vector<std::pair<core::IpAddress, uint64_t>>& v) {
    Json a = Json::array();
    const double secs = std::max(talkers.window_seconds(), 1e-3);
    for (const auto& [addr, n] : v) a.push_back({{"source", addr.to_string()}, {"count", n}, {"per_second", n / secs}});
    return a;
  };
  t["top_by_packets"] = talker_list(talkers.by_packets());
  t["top_by_syns"] = talker_list(talkers.by_syns());
  t["talker_window"] = talkers.window_seconds();
  if (auto b = bans(now)) t["bans"] = (*b)["bans"];
  // Established connections per remote subnet, from the last connection-table snapshot.
  if (conn_table) {
    std::map<std::string, uint64_t> per_subnet;
    for (const auto& so : snapshot.sockets) {
      if (so.proto != conn::kProtoTcp || so.state != conn::tcp_state::kEstablished || is_loopback(so.remote)) continue;
      const int len = so.remote.is_v6() ? 64 : 24;
      ++per_subnet[so.remote.masked(len).to_string() + (so.remote.is_v6() ? "/64" : "/24")];
    }
    std::vector<std::pair<std::string, uint64_t>> sorted(per_subnet.begin(), per_subnet.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    Json subnets = Json::array();
    for (size_t i = 0; i < sorted.size() && i < 20; ++i) {
      subnets.push_back({{"subnet", sorted[i].first}, {"established", sorted[i].second}});
    }
    t["established_by_subnet"] = std::move(subnets);
    std::map<core::IpAddress, uint64_t> per_source;
    for (const auto& so : snapshot.sockets) {
      if (so.proto != conn::kProtoTcp || so.state != conn::tcp_state::kEstablished || is_loopback(so.remote)) continue;
      ++per_source[so.remote];
    }
    std::vector<std::pair<core::IpAddress, uint64_t>> by_conn(per_source.begin(), per_source.end());
    std::sort(by_conn.begin(), by_conn.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    Json conns = Json::array();
    for (size_t i = 0; i < by_conn.size() && i < 20; ++i) {
      conns.push_back({{"source", by_conn[i].first.to_string()}, {"established", by_conn[i].second}});
    }
    t["top_by_connections"] = std::move(conns);
  }
  return t;
}

core::Result<Json> Daemon::Impl::handle(const Json& req) {
  const std::string cmd = req["cmd"].get<std::string>();
  const Timestamp now = wall_now();
  if (cmd == "status") return status(now);
  if (cmd == "bans") return bans(now);
  if (cmd == "ban") return manual_ban(req, now);
  if (cmd == "unban") return manual_unban(req, now);
  if (cmd == "top") return top(now);
  if (cmd == "reload") {
    if (auto r = do_reload(now); !r) return r.error();
    return Json{{"reloaded", opts.config_path.empty() ? std::string("(built-in profile)") : opts.config_path}};
  }
  return core::make_error("unknown command \"" + cmd + "\"");
}

}  // namespace picket::daemon
