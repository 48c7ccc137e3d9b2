#include "demo/demo.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <fmt/ranges.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <iterator>
#include <optional>
#include <sstream>
#include <thread>

#include "demo/attack_frames.hpp"
#include "demo/event_tail.hpp"
#include "demo/narrator.hpp"
#include "demo/topology.hpp"
#include "demo/traffic.hpp"

namespace picket::demo {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

constexpr milliseconds kBrowsePeriod(1500);
constexpr milliseconds kProbeTimeout(2000);
constexpr milliseconds kPicketStartLimit(15000);
// Between phases, so a reader can follow the narration.
constexpr milliseconds kPause(3000);

// The last `n` lines of a file (picket's own output, shown when it fails).
std::string tail_of_file(const std::string& path, size_t n) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > n) lines.erase(lines.begin());
  }
  std::string out;
  for (const auto& l : lines) out += "      " + l + "\n";
  return out;
}

bool covers(const std::string& target, const core::IpAddress& addr) {
  auto p = core::Prefix::parse(target, /*allow_host_bits=*/true);
  return p && p->contains(addr);
}

class DemoRun {
 public:
  DemoRun(const DemoOptions& opts, StopFlag& stop, std::FILE* out)
      : opts_(opts), stop_(stop), out_(out), narrator_(out, opts.colour), plan_(plan_for_pid(getpid())) {}

  int run();

 private:
  bool setup();
  bool start_picket();
  void pump_events();
  // Narrates for up to `limit`, returning early (true) once `done()` holds; false when stopped.
  bool narrate_until(milliseconds limit, const std::function<bool()>& done);
  bool blocked(const core::IpAddress& a) const;
  bool attack_with_sim(const std::string& title, const std::string& scenario, const core::IpAddress& attacker,
                       const AttackShape& shape);
  bool conn_flood();
  bool prove();
  void show_ruleset();
  void teardown();
  void summary(bool proof);

  const DemoOptions& opts_;
  StopFlag& stop_;
  std::FILE* out_;
  Narrator narrator_;
  TopologyPlan plan_;
  std::string work_dir_;
  std::unique_ptr<Topology> topo_;
  std::unique_ptr<HttpServer> server_;
  Child picket_;
  std::unique_ptr<EventTail> tail_;
  std::unique_ptr<Browser> browser_;
  std::unique_ptr<ConnFlood> flood_;
  std::vector<std::string> attacks_;
  std::vector<std::pair<std::string, bool>> proof_lines_;
};

int DemoRun::run() {
  const auto t0 = Clock::now();
  bool ok = setup() && start_picket();
  if (ok && !stop_) {
    narrator_.say(LineKind::phase, fmt::format("The client browses the victim's web site (a page every {:.1f} s)",
                                               kBrowsePeriod.count() / 1000.0));
    browser_ = std::make_unique<Browser>(plan_.client_ns, plan_.client, plan_.victim, opts_.http_port, kBrowsePeriod);
    narrate_until(milliseconds(4000), [] { return false; });
    narrator_.say(LineKind::info, fmt::format("client: {} pages loaded, {} failed; picket stays quiet",
                                              browser_->ok(), browser_->failed()));
  }
  AttackShape scan_shape;
  scan_shape.max_frames = 1000;
  scan_shape.max_span = core::Duration::seconds(3);
  if (ok && !stop_) {
    ok = attack_with_sim(fmt::format("The attacker scans ports (SYN probes to ~1000 ports from {}, like nmap -sS)",
                                     plan_.scanner.to_string()),
                         "scan-syn", plan_.scanner, scan_shape);
  }
  AttackShape flood_shape;
  flood_shape.max_frames = 3000;
  flood_shape.max_span = core::Duration::seconds(4);
  if (ok && !stop_) {
    ok = attack_with_sim(fmt::format("The attacker floods port {} with SYNs from {} (like hping3 -S --flood)",
                                     opts_.http_port, plan_.syn_flooder.to_string()),
                         "syn-flood", plan_.syn_flooder, flood_shape);
  }
  if (ok && !stop_) ok = conn_flood();
  bool proof = false;
  if (ok && !stop_) {
    proof = prove();
    show_ruleset();
  }
  teardown();
  if (stop_) {
    narrator_.say(LineKind::bad, "Interrupted: everything the demo made has been removed.");
    return kExitInterrupted;
  }
  summary(ok && proof);
  narrator_.say(LineKind::info, fmt::format("({:.0f} s)", std::chrono::duration<double>(Clock::now() - t0).count()));
  return ok && proof ? 0 : 1;
}

bool DemoRun::setup() {
  for (const auto& name : Topology::remove_stale()) {
    narrator_.say(LineKind::info, fmt::format("removed {} (left by an earlier demo that was killed)", name));
  }
  char tmpl[] = "/tmp/picket-demo-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    narrator_.say(LineKind::bad, fmt::format("cannot make a work directory in /tmp: {}", std::strerror(errno)));
    return false;
  }
  work_dir_ = tmpl;

  narrator_.say(LineKind::phase, "Setting up three network namespaces: victim, attacker, client");
  auto topo = Topology::create(plan_);
  if (!topo) {
    narrator_.say(LineKind::bad, "could not build the demo network: " + topo.error().message);
    return false;
  }
  topo_ = std::move(topo).value();
  narrator_.say(LineKind::info, fmt::format("victim   {}  (web server on port {}, picket watching)",
                                            plan_.victim.to_string(), opts_.http_port));
  narrator_.say(LineKind::info, fmt::format("attacker {} (scanner), {} (SYN flooder), {} (40 hosts)",
                                            plan_.scanner.to_string(), plan_.syn_flooder.to_string(),
                                            plan_.conn_flood_net.to_string()));
  narrator_.say(LineKind::info, fmt::format("client   {}  (an ordinary visitor)", plan_.client.to_string()));
  narrator_.say(LineKind::info, "(veth links between them only: nothing reaches this machine's own network)");

  auto server = HttpServer::start(plan_.victim_ns, opts_.http_port);
  if (!server) {
    narrator_.say(LineKind::bad, "could not start the victim's web server: " + server.error().message);
    return false;
  }
  server_ = std::move(server).value();
  return true;
}

std::string q(const std::string& s) { return "\"" + s + "\""; }

bool DemoRun::start_picket() {
  const std::string config = work_dir_ + "/picket.yaml";
  const std::string events = work_dir_ + "/events.json";
  const std::string store = work_dir_ + "/store.db";
  const std::string output = work_dir_ + "/picket.out";
  {
    std::ofstream f(config);
    f << demo_config_yaml(store, plan_.victim_to_attacker, plan_.victim_to_client, plan_.victim.to_string());
    if (!f) {
      narrator_.say(LineKind::bad, "cannot write " + config);
      return false;
    }
  }
  const std::vector<std::string> argv = {"ip",   "netns",    "exec", plan_.victim_ns, opts_.picket_exe,
                                         "run",  "--config", config, "--events",      events,
                                         "--store", store};
  narrator_.say(LineKind::phase, "Starting picket in the victim (nftables enforcement, normal profile)");
  narrator_.say(LineKind::info, join_argv(argv));
  auto child = Child::spawn(argv, output);
  if (!child) {
    narrator_.say(LineKind::bad, "could not start picket: " + child.error().message);
    return false;
  }
  picket_ = std::move(child).value();
  tail_ = std::make_unique<EventTail>(events);

  const auto t0 = Clock::now();
  std::optional<Clock::time_point> table_seen;
  while (Clock::now() - t0 < kPicketStartLimit && !stop_) {
    if (!picket_.running()) {
      narrator_.say(LineKind::bad, fmt::format("picket run stopped at start ({}); its output:", picket_.status()));
      std::fputs(tail_of_file(output, 15).c_str(), out_);
      return false;
    }
    // Ready: its table is in the kernel and it says it runs (capture open). Without that line
    // (a daemon that words it differently), two seconds after the table.
    CommandResult r = run_command({"ip", "netns", "exec", plan_.victim_ns, "nft", "list", "table", "inet", "picket"},
                                  milliseconds(3000));
    if (r.exit_code == 0) {
      if (!table_seen) table_seen = Clock::now();
      std::ifstream log(output);
      std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      if (text.find("running") != std::string::npos || Clock::now() - *table_seen > seconds(2)) {
        narrator_.say(LineKind::info, fmt::format("picket is running (PID {}); its nftables table is in place",
                                                  picket_.pid()));
        return narrate_until(milliseconds(300), [] { return false; });
      }
    }
    pump_events();
    sleep_unless_stopped(milliseconds(200), stop_);
  }
  if (stop_) return false;
  narrator_.say(LineKind::bad, "picket did not set up its nftables table within 15 s; its output:");
  std::fputs(tail_of_file(output, 15).c_str(), out_);
  return false;
}

void DemoRun::pump_events() {
  if (!tail_) return;
  for (const auto& line : tail_->poll()) narrator_.event(line);
}

bool DemoRun::narrate_until(milliseconds limit, const std::function<bool()>& done) {
  const auto end = Clock::now() + limit;
  while (!stop_) {
    pump_events();
    if (done()) return true;
    if (Clock::now() >= end) return true;
    if (!picket_.running()) {
      narrator_.say(LineKind::bad, fmt::format("picket stopped unexpectedly ({})", picket_.status()));
      std::fputs(tail_of_file(work_dir_ + "/picket.out", 15).c_str(), out_);
      return false;
    }
    sleep_unless_stopped(milliseconds(100), stop_);
  }
  return false;
}

bool DemoRun::blocked(const core::IpAddress& a) const {
  for (const auto& t : narrator_.blocked_targets()) {
    if (covers(t, a)) return true;
  }
  return false;
}

bool DemoRun::attack_with_sim(const std::string& title, const std::string& scenario, const core::IpAddress& attacker,
                              const AttackShape& shape) {
  narrator_.say(LineKind::phase, title);
  auto frames = attacker_frames(scenario, attacker, shape);
  if (!frames) {
    narrator_.say(LineKind::bad, "simulator: " + frames.error().message);
    return false;
  }
  auto fd = open_packet_socket(plan_.attacker_ns, plan_.attacker_if);
  if (!fd) {
    narrator_.say(LineKind::bad, fd.error().message);
    return false;
  }
  FrameRewriter rw(plan_.attacker_mac, plan_.victim_attacker_side_mac);
  attacks_.push_back(scenario);
  SendStats stats;
  std::atomic<bool> sending{true};
  StopFlag abort_send{false};  // set when the demo stops (SIGINT) or picket dies mid-attack
  std::thread sender([&] {
    stats = send_frames(fd->get(), *frames, rw, abort_send);
    sending = false;
  });
  bool ok = narrate_until(seconds(30), [&] { return !sending.load(); });
  abort_send = true;
  sender.join();
  if (!ok) return false;
  narrator_.say(LineKind::info, fmt::format("attacker sent {} packets{}", stats.sent,
                                            stats.send_errors ? fmt::format(" ({} not sent: {})", stats.send_errors,
                                                                            std::strerror(stats.first_errno))
                                                              : ""));
  // Give picket a few seconds to report and block (it usually already has).
  ok = narrate_until(seconds(5), [&] { return blocked(attacker); });
  if (ok && !blocked(attacker)) narrator_.say(LineKind::trouble, fmt::format("no block for {} yet", attacker.to_string()));
  return ok && narrate_until(kPause, [] { return false; });
}

bool DemoRun::conn_flood() {
  narrator_.say(LineKind::phase, fmt::format("The attacker opens a connection flood: {} addresses of {} x 5 "
                                             "real connections each, held open",
                                             plan_.conn_flood_hosts, plan_.conn_flood_net.to_string()));
  std::vector<core::IpAddress> sources;
  for (uint32_t i = 0; i < plan_.conn_flood_hosts; ++i) sources.push_back(plan_.conn_flood_source(i));
  auto flood = ConnFlood::open(plan_.attacker_ns, sources, plan_.victim, opts_.http_port, 5, seconds(5));
  if (!flood) {
    narrator_.say(LineKind::bad, "connection flood: " + flood.error().message);
    return false;
  }
  flood_ = std::move(flood).value();
  attacks_.push_back("conn-flood");
  narrator_.say(LineKind::info, fmt::format("attacker holds {} of {} connections (handshakes completed)",
                                            flood_->held(), flood_->attempted()));
  const core::IpAddress first = plan_.conn_flood_source(0);
  bool ok = narrate_until(seconds(10), [&] { return blocked(first); });
  if (ok && !blocked(first)) {
    narrator_.say(LineKind::trouble, fmt::format("no block for {} yet", plan_.conn_flood_net.to_string()));
  }
  return ok && narrate_until(kPause, [] { return false; });
}

bool DemoRun::prove() {
  narrator_.say(LineKind::phase, "Proof: can the attackers still reach the web server? Can the client?");
  const std::vector<core::IpAddress> attackers = {plan_.scanner, plan_.syn_flooder, plan_.conn_flood_source(0)};
  bool all_cut = true;
  for (const auto& a : attackers) {
    if (stop_) return false;
    auto r = in_netns(plan_.attacker_ns, [&]() -> core::Result<core::UniqueFd> {
      return tcp_connect_here(a, plan_.victim, opts_.http_port, kProbeTimeout);
    });
    bool cut = !r.ok();
    all_cut = all_cut && cut;
    std::string text = cut ? fmt::format("attacker {} -> {}:{}: {} - cut off", a.to_string(), plan_.victim.to_string(),
                                         opts_.http_port, r.error().message)
                           : fmt::format("attacker {} -> {}:{}: connected - NOT blocked", a.to_string(),
                                         plan_.victim.to_string(), opts_.http_port);
    narrator_.say(cut ? LineKind::good : LineKind::bad, text);
    proof_lines_.push_back({text, cut});
    pump_events();
  }
  auto page = in_netns(plan_.client_ns, [&]() -> core::Result<int> {
    return http_get_here(plan_.client, plan_.victim, opts_.http_port, seconds(3));
  });
  bool client_ok = page.ok() && *page == 200;
  std::string text = client_ok ? fmt::format("client {} -> http://{}:{}/: 200 OK - still served",
                                             plan_.client.to_string(), plan_.victim.to_string(), opts_.http_port)
                               : fmt::format("client {} -> http://{}:{}/: {} - the client is cut off too",
                                             plan_.client.to_string(), plan_.victim.to_string(), opts_.http_port,
                                             page.ok() ? fmt::format("HTTP {}", *page) : page.error().message);
  narrator_.say(client_ok ? LineKind::good : LineKind::bad, text);
  proof_lines_.push_back({text, client_ok});
  return all_cut && client_ok;
}

void DemoRun::show_ruleset() {
  narrator_.say(LineKind::phase, fmt::format("What picket put in the victim's kernel: ip netns exec {} nft list "
                                             "table inet picket", plan_.victim_ns));
  CommandResult r = run_command({"ip", "netns", "exec", plan_.victim_ns, "nft", "list", "table", "inet", "picket"},
                                milliseconds(5000));
  if (r.exit_code != 0) {
    narrator_.say(LineKind::trouble, "nft list failed: " + r.output);
    return;
  }
  for (const auto& line : summarize_nft_table(r.output)) std::fprintf(out_, "      %s\n", line.c_str());
  std::fflush(out_);
}

void DemoRun::teardown() {
  if (browser_) {
    browser_->stop();
    if (!stop_) {
      narrator_.say(LineKind::info, fmt::format("client: {} pages loaded, {} failed during the demo", browser_->ok(),
                                                browser_->failed()));
    }
  }
  narrator_.say(LineKind::phase, "Cleaning up");
  if (picket_.pid() > 0) {
    pid_t pid = picket_.pid();
    std::string how = picket_.stop(milliseconds(10000));
    narrator_.say(LineKind::info, fmt::format("picket (PID {}) stopped with SIGTERM: {}", pid, how));
  }
  if (tail_) {
    for (const auto& line : tail_->drain()) narrator_.event(line);
  }
  flood_.reset();
  server_.reset();
  if (topo_) {
    auto failed = topo_->remove();
    if (failed.empty()) {
      narrator_.say(LineKind::info, fmt::format("namespaces {}, {}, {} deleted", plan_.victim_ns, plan_.attacker_ns,
                                                plan_.client_ns));
    } else {
      narrator_.say(LineKind::bad, fmt::format("could not delete: {}", fmt::join(failed, ", ")));
    }
  }
  if (!work_dir_.empty()) {
    if (opts_.keep_files) {
      narrator_.say(LineKind::info, fmt::format("config, events and picket's output kept in {}", work_dir_));
    } else {
      std::error_code ec;
      std::filesystem::remove_all(work_dir_, ec);
    }
  }
}

void DemoRun::summary(bool proof) {
  narrator_.say(LineKind::phase, "Summary");
  narrator_.say(LineKind::info, fmt::format("attacks sent: {}", attacks_.empty() ? "none" : fmt::format("{}", fmt::join(attacks_, ", "))));
  std::vector<std::string> by;
  for (const auto& [d, n] : narrator_.alerts_by_detector()) by.push_back(fmt::format("{} {}", d, n));
  narrator_.say(LineKind::info, fmt::format("picket reported {} findings ({}) and took {} decisions", narrator_.alerts(),
                                            by.empty() ? "none" : fmt::format("{}", fmt::join(by, ", ")),
                                            narrator_.blocks()));
  if (!narrator_.blocked_targets().empty()) {
    narrator_.say(LineKind::info, fmt::format("blocked: {}", fmt::join(narrator_.blocked_targets(), ", ")));
  }
  if (narrator_.saw_enforcer_trouble()) narrator_.say(LineKind::trouble, "picket reported firewall errors (above)");
  narrator_.say(proof ? LineKind::good : LineKind::bad,
                proof ? "Result: the attackers are cut off and the client is still served."
                      : "Result: the proof did NOT hold (see above).");
}

}  // namespace

std::vector<std::string> summarize_nft_table(const std::string& listing) {
  std::vector<std::string> out;
  std::istringstream in(listing);
  std::string line, set_name, elements;
  auto trim = [](std::string t) {
    size_t a = t.find_first_not_of(" \t");
    size_t b = t.find_last_not_of(" \t");
    return a == std::string::npos ? std::string() : t.substr(a, b - a + 1);
  };
  while (std::getline(in, line) && out.size() < 40) {
    std::string t = trim(line);
    if (t.rfind("table ", 0) == 0) {
      out.push_back(t.substr(0, t.find(" {")));
    } else if (t.rfind("set ", 0) == 0 || t.rfind("map ", 0) == 0) {
      set_name = t.substr(0, t.find(" {"));
    } else if (!elements.empty() || t.rfind("elements = {", 0) == 0) {
      // nft wraps long element lists over several lines; join them until the closing brace.
      elements += (elements.empty() ? "" : " ") + t;
      if (!t.empty() && t.back() == '}') {
        // The scan trap's bookkeeping (ports counted, meters, exempt ranges) is not what a
        // newcomer needs to see: who is dropped is in ban*, ban_net* and trap*.
        if (set_name.find(" trap_") == std::string::npos) out.push_back("  " + set_name + ": " + elements);
        elements.clear();
      }
    } else if (t.find("counter packets") != std::string::npos && t.find("counter packets 0 ") == std::string::npos &&
               t.find("picket scan trap:") == std::string::npos) {
      out.push_back("  rule: " + t);
    }
  }
  if (!elements.empty()) out.push_back("  " + set_name + ": " + elements + " ...");
  return out;
}

std::string demo_config_yaml(const std::string& store_path, const std::string& victim_if_attacker,
                             const std::string& victim_if_client, const std::string& victim_address) {
  return fmt::format(
      "# Written by `picket demo` for the picket it runs inside the victim namespace.\n"
      "profile: normal\n"
      "capture:\n"
      "  interfaces: [{}, {}]\n"
      "  method: afpacket\n"
      "policy:\n"
      "  mode: ips\n"
      "enforce:\n"
      "  backend: nftables\n"
      "  on_exit: remove\n"
      "store:\n"
      "  path: {}\n"
      "control:\n"
      "  socket: {}\n"
      "engine:\n"
      "  home_net: [{}/32]\n",
      victim_if_attacker, victim_if_client, q(store_path),
      // Its own control socket: a picket already running on this host keeps /run/picket.
      q((std::filesystem::path(store_path).parent_path() / "picket.sock").string()), victim_address);
}

int run_demo(const DemoOptions& opts, StopFlag& stop, std::FILE* out) {
  DemoRun run(opts, stop, out);
  return run.run();
}

}  // namespace picket::demo
