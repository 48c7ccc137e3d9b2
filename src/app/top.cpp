// `picket top`: a live, full-screen view of a running daemon (seed 000's display, done well).
// Asks the daemon for "top" once per interval and redraws in place; q (or Ctrl-C) quits.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

#include <fmt/format.h>

#include "app/commands.hpp"
#include "app/human.hpp"
#include "control/client.hpp"
#include "core/time.hpp"

namespace picket::app {

using control::Json;

namespace {

std::atomic<bool> g_stop{false};

// Raw keyboard input while the view is up; restored on every way out.
class RawTerminal {
 public:
  RawTerminal() {
    if (isatty(STDIN_FILENO) != 1 || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    active_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

std::string fit(std::string s, size_t w) {
  if (s.size() > w) s = s.substr(0, w > 1 ? w - 1 : 0) + "~";
  return s;
}

int terminal_rows() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) return ws.ws_row;
  return 50;
}

}  // namespace

// One frame of the view, as text (also what `picket top --once` prints).
std::string render_top(const Json& t, int rows) {
  std::string out;
  auto line = [&](const std::string& l) {
    if (rows-- > 0) out += l + "\n";
  };
  const Json& s = t["status"];
  line(fmt::format("picket top — {} mode, up {}, {}   {}   (q quits)", s.value("mode", std::string("?")),
                   core::format_duration(core::Duration::seconds(static_cast<int64_t>(s["uptime"].get<double>()))),
                   s["healthy"].get<bool>() ? "healthy" : "UNHEALTHY: " + s["problems"][0].get<std::string>(),
                   core::format_iso8601(core::Timestamp::from_parts(
                                            std::chrono::duration_cast<std::chrono::seconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count(),
                                            0))
                       .substr(0, 19)));
  const Json& tr = s["traffic"];
  std::string now_rate = "-";
  if (tr.contains("last_interval")) {
    const Json& li = tr["last_interval"];
    const double secs = std::max(li["seconds"].get<double>(), 1e-3);
    now_rate = fmt::format("{} pps, {}bit/s", human_count(li["packets"].get<double>() / secs),
                           human_count(8 * li["bytes"].get<double>() / secs));
  }
  const Json& cap = s["capture"];
  line(fmt::format("traffic  {} (last stats interval); {} packets total; kernel drops {}; anomalies {}", now_rate,
                   human_count(tr["packets"].get<double>()), cap.value("kernel_drops", uint64_t{0}),
                   tr["anomalies"].get<uint64_t>()));
  const Json& e = s["enforcer"];
  line(fmt::format("enforcer {} {}; bans {}; alerts {}; decisions {}", e.value("backend", std::string("?")),
                   e["ready"].get<bool>() ? "ready" : "NOT READY", s["bans"].value("active", s["bans"].value("in_force", 0)),
                   tr["findings"].get<uint64_t>(), tr["decisions"].get<uint64_t>()));
  line("");

  auto talkers = [&](const char* title, const char* key, const char* unit) {
    line(fmt::format("TOP SOURCES BY {} (last {:.0f} s)", title, t.value("talker_window", 0.0)));
    if (!t.contains(key) || t[key].empty()) {
      line("  (none)");
      return;
    }
    for (size_t i = 0; i < t[key].size() && i < 5; ++i) {
      const Json& x = t[key][i];
      line(fmt::format("  {:<40} {:>10} {}", x["source"].get<std::string>(), human_count(x["per_second"].get<double>()), unit));
    }
  };
  talkers("PACKETS", "top_by_packets", "pkt/s");
  talkers("SYNS", "top_by_syns", "syn/s");
  if (t.contains("top_by_connections")) {
    line("TOP SOURCES BY ESTABLISHED CONNECTIONS");
    if (t["top_by_connections"].empty()) line("  (none)");
    for (size_t i = 0; i < t["top_by_connections"].size() && i < 5; ++i) {
      const Json& x = t["top_by_connections"][i];
      line(fmt::format("  {:<40} {:>10}", x["source"].get<std::string>(), x["established"].get<uint64_t>()));
    }
    line("ESTABLISHED CONNECTIONS PER SUBNET");
    if (t["established_by_subnet"].empty()) line("  (none)");
    for (size_t i = 0; i < t["established_by_subnet"].size() && i < 5; ++i) {
      const Json& x = t["established_by_subnet"][i];
      line(fmt::format("  {:<40} {:>10}", x["subnet"].get<std::string>(), x["established"].get<uint64_t>()));
    }
  }
  line("");
  line("ACTIVE FINDINGS (last 5 min)");
  line(fmt::format("  {:<18} {:<40} {:<22} {:<4} {:<8} {:>6}", "DETECTOR", "SOURCE", "KIND", "SEV", "ACTION", "AGE"));
  if (t["findings"].empty()) line("  (none)");
  for (const auto& f : t["findings"]) {
    line(fmt::format("  {:<18} {:<40} {:<22} {:<4} {:<8} {:>5.0f}s", fit(f["detector"].get<std::string>(), 18),
                     fit(f["source"].get<std::string>(), 40), fit(f["kind"].get<std::string>(), 22),
                     f["severity"].get<int>(), f["action"].get<std::string>(), f["age"].get<double>()));
  }
  line("");
  line("BLOCKED");
  line(fmt::format("  {:<40} {:<10} {:>10} {:<16}", "TARGET", "SCOPE", "REMAINING", "DETECTOR"));
  if (!t.contains("bans") || t["bans"].empty()) line("  (none)");
  if (t.contains("bans")) {
    for (const auto& b : t["bans"]) {
      const std::string left = human_duration(b["remaining"]);
      line(fmt::format("  {:<40} {:<10} {:>10} {:<16}", fit(b["target"].get<std::string>(), 40),
                       b["scope"].get<std::string>(), left, b["detector"].get<std::string>()));
    }
  }
  return out;
}

int cmd_top(const ControlOptions& o, double interval_s, bool once) {
  const std::string path = !o.socket.empty() ? o.socket : control::kDefaultSocket;
  auto c = control::ControlClient::connect(path);
  if (!c) {
    fmt::print(stderr, "picket: {}\n", c.error().message);
    return control::kExitUnreachable;
  }
  const Json req = {{"v", control::kProtocolVersion}, {"cmd", "top"}};
  if (once || isatty(STDOUT_FILENO) != 1) {
    auto r = c->request(req);
    if (!r || !(*r)["ok"].get<bool>()) {
      fmt::print(stderr, "picket: {}\n", r ? (*r).value("error", std::string("refused")) : r.error().message);
      return r ? control::kExitRefused : control::kExitUnreachable;
    }
    fmt::print("{}", o.json ? (*r)["result"].dump(2) + "\n" : render_top((*r)["result"], 1000));
    return control::kExitOk;
  }
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_stop.store(true); };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  RawTerminal raw;
  fmt::print("\x1b[?1049h\x1b[?25l");  // alternate screen, hide cursor
  int status = control::kExitOk;
  while (!g_stop.load()) {
    auto r = c->request(req);
    if (!r) {
      status = control::kExitUnreachable;
      break;
    }
    const std::string frame = (*r)["ok"].get<bool>() ? render_top((*r)["result"], terminal_rows() - 1)
                                                      : "picket: " + (*r).value("error", std::string("refused")) + "\n";
    fmt::print("\x1b[H\x1b[2J{}", frame);
    std::fflush(stdout);
    // Wait for the next refresh, or a key.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(interval_s * 1000));
    while (!g_stop.load() && std::chrono::steady_clock::now() < until) {
      pollfd p{STDIN_FILENO, POLLIN, 0};
      if (poll(&p, 1, 100) > 0 && (p.revents & POLLIN)) {
        char ch = 0;
        if (read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q')) g_stop.store(true);
        if (ch == ' ') break;  // refresh now
      }
    }
  }
  fmt::print("\x1b[?25h\x1b[?1049l");
  if (status != control::kExitOk) fmt::print(stderr, "picket: lost the connection to the daemon\n");
  return status;
}

}  // namespace picket::app
