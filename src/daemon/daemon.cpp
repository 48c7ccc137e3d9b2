#include "daemon/daemon.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <time.h>

#include <array>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include <sys/stat.h>

#include <filesystem>

#include "daemon/daemon_impl.hpp"
#include "daemon/privileges.hpp"
#include "policy/local_addresses.hpp"

namespace picket::daemon {

using core::Duration;
using core::Timestamp;

namespace {

constexpr auto kReadWait = std::chrono::milliseconds(100);
constexpr Duration kDropCheck = Duration::seconds(10);
constexpr Duration kTrapPoll = Duration::seconds(1);
constexpr size_t kTrapEventsPerPoll = 100;
// On reload, how long the replaced alert destinations may go on delivering what they hold.
constexpr Duration kAlertHandoverDeadline = Duration::seconds(1);
constexpr Duration kMaxInitBackoff = Duration::seconds(60);

// Every interface that is up, except loopback, in this network namespace.
std::vector<std::string> up_interfaces() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_PACKET) continue;
    if ((i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
    out.emplace_back(i->ifa_name);
  }
  freeifaddrs(list);
  return out;
}

output::Event daemon_event(Timestamp ts, std::string_view type, std::string_view what, Json details) {
  output::Event ev;
  ev.type = output::EventType::anomaly;
  ev.ts = ts;
  ev.body = Json{{"type", type}, {"event", what}, {"layer", "daemon"}};
  ev.picket = std::move(details);
  return ev;
}

}  // namespace

Timestamp wall_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return Timestamp{int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec};
}

void Observer::emit(const output::Event& ev) {
  if (ev.type == output::EventType::stats) {
    last_stats_ = ev.body;
    return;
  }
  if (ev.type != output::EventType::alert) return;
  std::string detector = "-";
  if (ev.picket.is_object() && ev.picket.contains("detector")) detector = ev.picket["detector"].get<std::string>();
  ++alerts_by_detector_[detector];
  recent_.push_back(ev);
  if (recent_.size() > kRecent) recent_.pop_front();
  const double late = std::max(0.0, (wall_now() - ev.ts).to_seconds());
  sum_ += late;
  ++total_;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (late <= bounds_[i]) ++counts_[i];
  }
  ++counts_.back();
}

core::Result<void> Daemon::Impl::open_outputs() {
  const std::string& configured = cfg().string("output.events_file");
  const std::string events_path = !opts.events_path.empty() ? opts.events_path
                                  : !configured.empty()      ? configured
                                                             : std::string("-");
  // Each event line is written at once: `tail -f` and the demo see alerts as they happen.
  auto events = output::JsonLinesSink::open(events_path, true);
  if (!events) return events.error();
  sinks.add(std::move(events.value()));
  const std::string log_path = opts.log_path.empty() ? cfg().string("output.log_file") : opts.log_path;
  if (!log_path.empty()) {
    auto text = output::TextLogSink::open(log_path, true);
    if (!text) return text.error();
    sinks.add(std::move(text.value()));
  }
  sinks.add(observer);
  auto as = alert::parse_settings(cfg());
  if (!as) return core::make_error("alerts: " + as.error().message);
  replace_alerts(std::move(as).value());
  return {};
}

void Daemon::Impl::replace_alerts(alert::Settings fresh) {
  if (alerts != nullptr && fresh == alert_settings) return;
  if (alerts != nullptr) {
    alerts->stop(kAlertHandoverDeadline);
    sinks.remove(alerts);
    alerts = nullptr;
  }
  alert_settings = std::move(fresh);
  auto a = alert::make_alert_sink(alert_settings);
  if (a->empty()) return;
  alerts = a.get();
  sinks.add(std::move(a));
}

core::Result<void> Daemon::Impl::open_control() {
  if (!settings.control_enabled) return {};
  const std::filesystem::path dir = std::filesystem::path(settings.control_socket).parent_path();
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return core::make_error("control socket: cannot create " + dir.string() + ": " + ec.message());
    chmod(dir.c_str(), 0755);
  }
  auto server = control::ControlServer::open({settings.control_socket, 0660, settings.control_group, 32});
  if (!server) return server.error();
  control = std::move(server.value());
  sinks.add(control->event_sink());
  return {};
}

core::Result<void> Daemon::Impl::open_metrics() {
  auto ms = metrics::parse_settings(cfg());
  if (!ms) return ms.error();
  if (!ms->enabled) return {};
  auto server = metrics::MetricsServer::open(ms->listen, ms->port);
  if (!server) return server.error();
  metrics_server = std::move(server.value());
  log(fmt::format("metrics on http://{}:{}/metrics", ms->listen, metrics_server->port()));
  return {};
}

void Daemon::Impl::publish_metrics(Timestamp now) {
  if (!metrics_server || now < next_metrics) return;
  next_metrics = now + Duration::seconds(1);  // status() reads the store: once a second is enough
  metrics::Snapshot s;
  s.status = status(now);
  s.latency = metrics::latency_json(observer.latency_bounds(), observer.latency_counts(), observer.latency_sum(),
                                    observer.latency_count());
  s.anomalies_by_name = metrics::anomalies_json(engine->decoder().anomaly_counts());
  if (source) {
    const auto st = source->stats();
    s.interfaces = metrics::interfaces_json(st.per_interface_packets, st.per_interface_bytes);
  }
  metrics_server->publish(std::move(s));
}

core::Result<void> Daemon::Impl::open_conn_table() {
  conn = detect::conn_settings(cfg());
  if (!conn.enabled) return {};
  try {
    snapshot_detectors = detect::make_snapshot_detectors(cfg(), lists);
  } catch (const std::exception& e) {
    return core::make_error(std::string("conn: ") + e.what());
  }
  auto t = conn::ConnTable::open(conn.table);
  if (!t) {
    // Detection from packets goes on; the table's absence is reported, not fatal.
    conn_error = t.error().message;
    log("warning: " + conn_error + " (connection-table detectors are off)");
    return {};
  }
  conn_table = std::move(t.value());
  return {};
}

void Daemon::Impl::take_snapshot(Timestamp now) {
  if (!conn_table || now < next_snapshot) return;
  next_snapshot = now + conn.interval;
  if (auto r = conn_table->refresh(now, snapshot); !r) {
    if (conn_error != r.error().message) {
      conn_error = r.error().message;
      emit(daemon_event(now, "conn", "snapshot_failed", Json{{"error", conn_error}}));
    }
    return;
  }
  conn_error.clear();
  for (auto& d : snapshot_detectors) d->on_snapshot(snapshot, engine->external_findings());
}

core::Result<void> Daemon::Impl::open_store() {
  if (!settings.store_enabled || settings.backend == Backend::dry_run) {
    history = std::make_unique<policy::MemoryHistory>();
    return {};
  }
  auto s = store::Store::open(settings.store_path);
  if (!s) return core::make_error("store: " + s.error().message);
  store = std::move(s.value());
  history = std::make_unique<StoreHistory>(*store);
  journal = std::make_unique<StoreJournal>(*store);
  return {};
}

// Detectors, policy and responder from the current config (at start and on reload).
void Daemon::Impl::build_pipeline(Timestamp now) {
  auto ps = policy::PolicySettings::from_config(cfg());
  if (opts.dry_run || settings.backend == Backend::dry_run) ps.dry_run = true;
  policy = std::make_unique<policy::Policy>(std::move(ps), *history);
  // Never ban the host itself or its way out.
  for (const auto& p : policy::local_addresses_and_gateways()) policy->allow(p);
  if (store) {
    if (auto active = store->active(now)) {
      for (const auto& sd : *active) policy->restore(sd.decision, sd.expires_at);
    }
  }
  responder = std::make_unique<policy::PolicyResponder>(*policy, bundle.enforcer.get());
  responder->set_journal(journal.get());

  auto es = engine::EngineSettings::from_config(cfg());
  if (es.home_net.empty()) es.home_net = policy::local_addresses();  // inbound vs outbound
  engine = std::make_unique<engine::Engine>(cfg(), es, link_type, sinks);
  engine->set_responder(responder.get());
  configure_scan_trap(now);
}

void Daemon::Impl::configure_scan_trap(Timestamp now) {
  if (bundle.nftables == nullptr) return;
  enforce::nftables::ScanTrap t;
  // The trap acts ahead of policy, so only where policy would ban a port scanner itself.
  const auto& ps = policy->settings();
  auto it = ps.detectors.find("port_scan");
  const bool scanners_banned = it != ps.detectors.end() && it->second.action == policy::Action::block;
  t.enabled = settings.scan_trap.enabled && !ps.dry_run && scanners_banned;
  t.closed_ports = settings.scan_trap.closed_ports;
  t.hold_ms = static_cast<uint64_t>(settings.scan_trap.hold.ns / 1'000'000);
  t.exempt = ps.allowlist;  // home_net, policy.allowlist, this host's addresses and gateways
  const bool was = bundle.nftables->scan_trap().enabled;
  if (auto r = bundle.nftables->set_scan_trap(std::move(t)); !r) {
    emit(daemon_event(now, "enforcer", "scan_trap_failed", Json{{"error", r.error().message}}));
    log("warning: scan trap: " + r.error().message);
    return;
  }
  const bool on = bundle.nftables->scan_trap().enabled;
  if (on) {
    log(fmt::format("scan trap: on (a source past {} closed ports in a burst is dropped by the kernel for {})",
                    settings.scan_trap.closed_ports, core::format_duration(settings.scan_trap.hold)));
  } else if (was || settings.scan_trap.enabled) {
    log(std::string("scan trap: off (") +
        (!settings.scan_trap.enabled ? "enforce.scan_trap.enabled: false"
                             : ps.dry_run ? "IDS mode" : "policy does not block port_scan") + ")");
  }
}

void Daemon::Impl::try_init_enforcer(Timestamp now) {
  if (enforcer_ready || policy->settings().dry_run) return;
  if (now < next_init_try) return;
  auto r = bundle.enforcer->init();
  if (!r) {
    emit(daemon_event(now, "enforcer", "init_failed",
                      Json{{"enforcer", std::string(bundle.enforcer->name())},
                           {"error", r.error().message},
                           {"retry_in", init_backoff.to_seconds()}}));
    log(fmt::format("warning: {} (detection goes on; retrying in {})", r.error().message,
                    core::format_duration(init_backoff)));
    next_init_try = now + init_backoff;
    init_backoff = std::min(init_backoff * 2, kMaxInitBackoff);
    return;
  }
  enforcer_ready = true;
  init_backoff = Duration::seconds(1);
  if (bundle.nftables != nullptr && !bundle.nftables->scan_trap_error().empty()) {
    emit(daemon_event(now, "enforcer", "scan_trap_failed", Json{{"error", bundle.nftables->scan_trap_error()}}));
    log("warning: " + bundle.nftables->scan_trap_error());
  }
  if (!store) return;
  auto rep = reconcile_at_start(*store, *bundle.enforcer, *policy, now);
  if (!rep) {
    emit(daemon_event(now, "store", "reconcile_failed", Json{{"error", rep.error().message}}));
    log("warning: " + rep.error().message);
    return;
  }
  emit(daemon_event(now, "store", "reconciled",
                    Json{{"reapplied", rep->reapplied},
                         {"removed_from_kernel", rep->removed_from_kernel},
                         {"expired", rep->expired},
                         {"in_force", rep->restored_to_policy}}));
  log(fmt::format("reconciled with the store: {} re-applied, {} removed from the kernel, {} expired",
                  rep->reapplied, rep->removed_from_kernel, rep->expired));
  if (!rep->apply_error.empty()) {
    log("warning: " + rep->apply_error + " (will retry)");
    responder->requeue(rep->unapplied);
  }
}

core::Result<void> Daemon::Impl::open_capture() {
  if (settings.capture_method == CaptureMethod::none) return {};
  capture::LiveOptions lo;
  lo.interfaces = settings.interfaces;
  for (const auto& i : opts.interfaces) lo.interfaces.push_back(i);
  if (lo.interfaces.empty()) lo.interfaces = up_interfaces();
  if (lo.interfaces.empty()) return core::make_error("capture: no interface is up (name one with --interface)");
  lo.method = settings.capture_method == CaptureMethod::pcap ? capture::LiveMethod::pcap : capture::LiveMethod::afpacket;
  lo.rings_per_interface = settings.rings_per_interface;
  lo.ring_mb = settings.ring_mb;
  lo.snaplen = settings.snaplen;
  lo.promiscuous = settings.promiscuous;
  lo.bpf_filter = settings.filter;
  lo.block_timeout_ms = settings.block_timeout_ms;
  auto src = capture::open_live(lo);
  if (!src) return src.error();
  source = std::move(src.value());
  source->set_wait(kReadWait);
  link_type = source->link_type();
  std::string names;
  for (const auto& i : lo.interfaces) names += (names.empty() ? "" : ", ") + i;
  log(fmt::format("capturing on {} ({})", names, settings.capture_method == CaptureMethod::pcap ? "libpcap" : "AF_PACKET"));
  return {};
}

void Daemon::Impl::maintenance(Timestamp now) {
  if (now >= next_flush) {
    sinks.flush();
    next_flush = now + settings.flush_interval;
  }
  try_init_enforcer(now);
  if (bundle.exec != nullptr && enforcer_ready && now >= next_exec_expiry) {
    if (auto r = bundle.exec->expire(now); !r) {
      emit(daemon_event(now, "enforcer", "expire_failed", Json{{"enforcer", "exec"}, {"error", r.error().message}}));
    }
    next_exec_expiry = now + Duration::seconds(1);
  }
  if (store && now >= next_maintenance) {
    (void)store->expire(now);
    (void)store->forgive(now - policy->settings().forgive_after);
    next_maintenance = now + settings.store_maintenance;
  }
  poll_scan_trap(now);
  if (source && now >= next_drop_check) {
    const auto st = source->stats();
    if (st.kernel_drops > drops_reported) {
      emit(daemon_event(now, "capture", "kernel_drops",
                        Json{{"drops", st.kernel_drops - drops_reported}, {"total_drops", st.kernel_drops},
                             {"packets", st.packets}}));
      drops_reported = st.kernel_drops;
    }
    next_drop_check = now + kDropCheck;
  }
}

void Daemon::Impl::poll_scan_trap(Timestamp now) {
  if (bundle.nftables == nullptr || !enforcer_ready || now < next_trap_poll) return;
  next_trap_poll = now + kTrapPoll;
  if (!bundle.nftables->scan_trap().enabled) {
    trap_known.clear();
    return;
  }
  auto held = bundle.nftables->list_trapped();
  if (!held) return;  // a failing backend shows in apply() and status already
  std::unordered_set<core::IpAddress, core::IpAddressHash> now_held;
  size_t reported = 0, unreported = 0;
  for (const auto& b : *held) {
    const core::IpAddress& a = b.target.address();
    now_held.insert(a);
    if (trap_known.count(a) != 0) continue;
    ++trapped_total;
    // Bounded under attack: a botnet tripping the trap all at once gives one summary line.
    if (reported == kTrapEventsPerPoll) {
      ++unreported;
      continue;
    }
    ++reported;
    emit(daemon_event(now, "scan_trap", "trapped",
                      Json{{"src_ip", a.to_string()},
                           {"closed_ports", bundle.nftables->scan_trap().closed_ports},
                           {"hold_remaining", b.remaining.to_seconds()}}));
  }
  if (unreported > 0) {
    emit(daemon_event(now, "scan_trap", "trapped_more", Json{{"sources", unreported}}));
  }
  trap_known = std::move(now_held);
}

core::Result<void> Daemon::Impl::do_reload(Timestamp now) {
  notify_reloading();
  struct Ready {
    ~Ready() { notify_ready("reloaded"); }
  } ready_again;
  sinks.reopen();  // log rotation: whatever the config says, files are reopened
  if (opts.config_path.empty()) {
    log("reload: no configuration file (built-in profile); output files reopened");
    return {};
  }
  auto res = config::load_file(*opts.schema, opts.config_path);
  // Everything that can reject the file is checked before anything changes: the schema's errors,
  // then the alert destinations' own checks (URL schemes, password files).
  std::vector<std::string> errs;
  for (const auto& e : res.errors) errs.push_back(e.to_string());
  std::optional<alert::Settings> fresh_alerts;
  if (errs.empty()) {
    auto as = alert::parse_settings(*res.config);
    if (as) fresh_alerts = std::move(as).value();
    else errs.push_back("alerts: " + as.error().message);
  }
  if (!errs.empty()) {
    for (const auto& e : errs) log("reload: " + e);
    log(fmt::format("reload: {}: {} error(s); the running configuration stays", opts.config_path, errs.size()));
    emit(daemon_event(now, "config", "reload_rejected", Json{{"file", opts.config_path}, {"errors", errs}}));
    std::string joined = opts.config_path + ": the running configuration stays:";
    for (const auto& e : errs) joined += "\n  " + e;
    return core::make_error(joined);
  }
  const DaemonSettings fresh = DaemonSettings::from_config(*res.config);
  if (fresh.capture_method != settings.capture_method || fresh.interfaces != settings.interfaces ||
      fresh.backend != settings.backend || fresh.store_path != settings.store_path ||
      fresh.filter != settings.filter || fresh.ring_mb != settings.ring_mb ||
      fresh.rings_per_interface != settings.rings_per_interface) {
    log("reload: capture, enforce.backend and store settings take effect at the next restart");
  }
  // Pending decisions (a backend that is failing) move to the new responder.
  engine->finish();
  std::vector<core::Decision> carried = responder->take_pending();
  cfg_storage = std::move(*res.config);
  settings.on_exit = fresh.on_exit;
  settings.scan_trap = fresh.scan_trap;
  settings.flush_interval = fresh.flush_interval;
  settings.store_maintenance = fresh.store_maintenance;
  build_pipeline(now);
  responder->requeue(carried);
  replace_alerts(std::move(*fresh_alerts));
  if (conn_table) {
    conn = detect::conn_settings(cfg());
    try {
      snapshot_detectors = detect::make_snapshot_detectors(cfg(), lists);
    } catch (const std::exception& e) {
      log(std::string("reload: conn: ") + e.what());
    }
  }
  emit(daemon_event(now, "config", "reloaded", Json{{"file", opts.config_path}}));
  log(fmt::format("reloaded {}", opts.config_path));
  return {};
}

void Daemon::Impl::shutdown() {
  notify_stopping();
  const Timestamp now = wall_now();
  engine->advance_to(now);
  engine->finish();  // the last tick: its decisions are applied before the firewall is touched
  if (settings.on_exit == OnExit::remove && enforcer_ready && !policy->settings().dry_run) {
    if (auto r = bundle.enforcer->remove(); !r) log("warning: on exit: " + r.error().message);
    else log(fmt::format("removed picket's {} objects (enforce.on_exit: remove)", bundle.enforcer->name()));
  } else if (bundle.nftables != nullptr && enforcer_ready && bundle.nftables->scan_trap().enabled) {
    // Bans kept in the kernel expire by themselves; a trap left armed would go on trapping
    // with no picket to confirm or release anything.
    enforce::nftables::ScanTrap off = bundle.nftables->scan_trap();
    off.enabled = false;
    if (auto r = bundle.nftables->set_scan_trap(std::move(off)); !r) log("warning: on exit: scan trap: " + r.error().message);
  }
  sinks.flush();
  // Alerts still queued go out now (bounded by the sink's deadline), before the sinks go away.
  if (alerts != nullptr) alerts->stop();
}

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() = default;

core::Result<std::unique_ptr<Daemon>> Daemon::start(RunOptions opts) {
  if (opts.schema == nullptr) return core::make_error("internal: no schema");
  auto impl = std::make_unique<Impl>();
  Impl& d = *impl;
  d.opts = std::move(opts);
  if (d.opts.config_path.empty()) {
    d.cfg_storage = config::defaults(*d.opts.schema, config::Profile::normal);
  } else {
    auto res = config::load_file(*d.opts.schema, d.opts.config_path);
    if (!res.errors.empty()) {
      for (size_t i = 0; i + 1 < res.errors.size(); ++i) d.log(res.errors[i].to_string());
      return core::make_error(res.errors.back().to_string());
    }
    d.cfg_storage = std::move(*res.config);
  }
  d.settings = DaemonSettings::from_config(d.cfg());
  if (!d.opts.store_path.empty()) d.settings.store_path = d.opts.store_path;

  if (auto r = d.open_outputs(); !r) return r.error();
  if (auto r = d.open_control(); !r) return r.error();
  if (auto r = d.open_metrics(); !r) return r.error();
  // Blocklist files: read once, shared by the detectors; problems are warnings, not fatal.
  d.lists = detect::blocklist::load_lists(d.cfg());
  if (d.lists) {
    for (const auto& p : d.lists->problems()) d.log("warning: " + p.to_string());
  }
  if (auto r = d.open_store(); !r) return r.error();
  auto bundle = make_enforcer(d.settings, d.cfg());
  if (!bundle) return core::make_error("enforce: " + bundle.error().message);
  d.bundle = std::move(bundle.value());
  if (!d.bundle.warning.empty()) d.log("warning: " + d.bundle.warning);
  if (auto r = d.open_capture(); !r) return r.error();
  if (auto r = d.open_conn_table(); !r) return r.error();
  // Everything privileged is open; from here on (and in every thread started later) only the
  // network capabilities remain.
  if (d.settings.drop_capabilities) {
    auto caps = keep_only_network_capabilities(d.conn_table != nullptr && d.conn.table.processes);
    if (!caps) d.log("warning: " + caps.error().message);
    else if (!caps->empty()) d.log(*caps);
  }

  const Timestamp now = wall_now();
  d.started_at = now;
  d.talker_decoder.emplace(d.link_type);
  d.build_pipeline(now);
  d.try_init_enforcer(now);
  d.publish_metrics(now);
  if (d.policy->settings().dry_run) d.log("IDS mode: decisions are logged, nothing is blocked");
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

int Daemon::run() {
  Impl& d = *impl_;
  constexpr size_t kBatch = 256;
  std::array<core::RawPacket, kBatch> batch;
  int status = 0;
  if (d.control) {
    capture::LiveSource* src = d.source.get();
    d.control->set_wake([src] {
      if (src != nullptr) src->interrupt();
    });
  }
  notify_ready(d.source ? "capturing" : "running without packet capture");
  while (!d.stop.load(std::memory_order_relaxed)) {
    if (d.source) {
      const size_t n = d.source->read_batch(batch);
      if (n > 0) {
        d.engine->process_batch(std::span<const core::RawPacket>(batch.data(), n));
        d.engine->flush_findings();  // a decision reaches the kernel now, not at the tick's end
        for (size_t i = 0; i < n; ++i) {
          if (!d.talkers.sample()) continue;
          d.talker_decoder->decode(batch[i], d.talker_meta);
          d.talkers.add(d.talker_meta, batch[i].ts);
        }
      }
      if (d.source->finished()) {
        const std::string why = d.source->error() ? d.source->error()->message : "capture ended";
        d.emit(daemon_event(wall_now(), "capture", "failed", Json{{"error", why}}));
        d.log("error: " + why);
        status = 1;
        break;
      }
    } else {
      std::this_thread::sleep_for(kReadWait);
    }
    const Timestamp now = wall_now();
    d.engine->advance_to(now);
    d.take_snapshot(now);
    d.maintenance(now);
    d.publish_metrics(now);
    if (d.reload.exchange(false)) (void)d.do_reload(now);
    if (d.control) d.control->serve_pending([&d](const Json& req) { return d.handle(req); });
  }
  d.shutdown();
  return status;
}

void Daemon::request_stop() noexcept {
  impl_->stop.store(true);
  if (impl_->source) impl_->source->interrupt();
}

void Daemon::request_reload() noexcept {
  impl_->reload.store(true);
  if (impl_->source) impl_->source->interrupt();
}

// --- signals ---------------------------------------------------------------------------------

struct SignalThread::State {
  std::atomic<bool> done{false};
  std::thread thread;
};

namespace {
sigset_t daemon_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

void SignalThread::block_signals() {
  const sigset_t set = daemon_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalThread::SignalThread(Daemon& d) : state_(std::make_unique<State>()) {
  State* st = state_.get();
  st->thread = std::thread([st, &d] {
    const sigset_t set = daemon_signals();
    const timespec wait{0, 200'000'000};
    while (!st->done.load()) {
      const int sig = sigtimedwait(&set, nullptr, &wait);
      if (sig == SIGTERM || sig == SIGINT) d.request_stop();
      else if (sig == SIGHUP) d.request_reload();
    }
  });
}

SignalThread::~SignalThread() {
  state_->done.store(true);
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace picket::daemon
