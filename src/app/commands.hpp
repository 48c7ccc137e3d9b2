// The `picket` subcommands. Each returns the process exit status:
// 0 success, 1 a runtime failure, 2 bad input (usage, config, capture file).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace picket::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

// Every component's keys, declared once.
const config::Schema& full_schema();

// Loads `path` (or the built-in normal profile when empty). On errors prints each one to stderr
// and returns nullopt.
std::optional<config::Config> load_config_or_report(const std::string& path);

struct ReplayOptions {
  std::string file;
  std::string config_path;
  std::string events_path = "-";
  std::string log_path;
  std::string filter;
  uint32_t workers = 0;  // 0 = engine.workers from the configuration
  bool progress = true;  // shown only when stderr is a terminal
};
int cmd_replay(const ReplayOptions& opts);

struct RunOptions {
  std::string config_path;
  std::vector<std::string> interfaces;
  std::string events_path;
  std::string log_path;
  std::string store_path;
  bool dry_run = false;
};
// The daemon. Exit 0 after SIGTERM/SIGINT, 1 on a runtime failure, 2 on bad configuration.
int cmd_run(const RunOptions& opts);

// The subcommands that talk to a running daemon (control_commands.cpp, top.cpp). Exit statuses:
// 0 ok, 1 the daemon refused (or status: unhealthy), 2 bad arguments, 3 no daemon reachable.
struct ControlOptions {
  std::string socket;       // --socket; default: control.socket of --config, else /run/picket/picket.sock
  std::string config_path;  // --config: where to read control.socket from
  bool json = false;        // --json: machine-readable output
};
int cmd_status(const ControlOptions& o);
int cmd_bans(const ControlOptions& o);
int cmd_ban(const ControlOptions& o, const std::string& target, const std::string& duration, const std::string& reason);
int cmd_unban(const ControlOptions& o, const std::string& target, bool all);
int cmd_reload(const ControlOptions& o);
int cmd_events(const ControlOptions& o, const std::vector<std::string>& types);
int cmd_top(const ControlOptions& o, double interval_s, bool once);

struct SimulateOptions {
  std::string scenario;
  std::string out;
  std::string truth_path;
  uint64_t packets = 0;
  uint64_t seed = 1;
  double rate = 0;
  uint32_t snaplen = 65535;
  bool ipv6 = false;
  bool list = false;
};
int cmd_simulate(const SimulateOptions& opts);

int cmd_check_config(const std::string& path);
int cmd_config_schema();
int cmd_config_example(const std::string& profile);
int cmd_version();

struct DemoOptions {
  bool no_colour = false;
  bool keep_files = false;
};
// The live demo (src/demo). Needs root. 0 when the proof holds, 1 otherwise, 130 when interrupted.
int cmd_demo(const DemoOptions& opts);

struct InitOptions {
  std::string out = "/etc/picket/picket.yaml";
  bool defaults = false;  // write every default without asking
  bool force = false;     // replace an existing file
};
// Interactive setup (init_wizard.hpp). 0 written, 1 refused (file exists) or aborted (end of
// input) with nothing written, 2 bad usage.
int cmd_init(const InitOptions& opts);

}  // namespace picket::app
