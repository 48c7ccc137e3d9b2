// picket: network intrusion detection and prevention. One binary, many subcommands.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/commands.hpp"

using namespace picket::app;

int main(int argc, char** argv) {
  CLI::App app{"picket — network intrusion detection and prevention for Linux.\n"
               "Watches traffic, recognises floods, scans, connection abuse and known-bad addresses."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("picket ") + PICKET_VERSION);

  ReplayOptions replay;
  auto* r = app.add_subcommand("replay", "Analyse a capture file (pcap or pcapng) and write events");
  r->add_option("file", replay.file, "Capture file to read")->required();
  r->add_option("--config,-c", replay.config_path, "Configuration file (default: built-in normal profile)");
  r->add_option("--events,-e", replay.events_path, "Where JSON-lines events go (\"-\" = standard output)")
      ->capture_default_str();
  r->add_option("--log", replay.log_path, "Also write a human-readable text log to this file");
  r->add_option("--filter,-f", replay.filter, "BPF filter applied to the capture, e.g. 'tcp port 80'");
  r->add_option("--workers,-w", replay.workers, "Detection threads (default: engine.workers, 1)")
      ->check(CLI::Range(1, 64));
  r->add_flag("!--no-progress", replay.progress, "Never show the progress bar");

  RunOptions run;
  auto* rn = app.add_subcommand("run", "Run the daemon: capture live traffic, detect attacks and block them in the kernel");
  rn->add_option("--config,-c", run.config_path, "Configuration file (default: built-in normal profile)");
  rn->add_option("--interface,-i", run.interfaces, "Capture on this interface (repeatable; adds to capture.interfaces)");
  rn->add_option("--events,-e", run.events_path, "Where JSON-lines events go (default: output.events_file, else stdout)");
  rn->add_option("--log", run.log_path, "Also write a human-readable text log to this file");
  rn->add_option("--store", run.store_path, "SQLite store of bans and offenders (default: store.path)");
  rn->add_flag("--dry-run", run.dry_run, "IDS mode: write decisions as events, block nothing");

  // Talking to a running daemon.
  ControlOptions ctl;
  auto control_flags = [&ctl](CLI::App* c, bool json) {
    c->add_option("--socket,-s", ctl.socket, "Control socket (default: control.socket of --config, else /run/picket/picket.sock)");
    c->add_option("--config,-c", ctl.config_path, "Read the control socket's path from this configuration");
    if (json) c->add_flag("--json", ctl.json, "Machine-readable JSON output");
  };
  auto* st = app.add_subcommand("status", "Show a running picket: capture, traffic, detectors, enforcer health, bans");
  control_flags(st, true);
  auto* bn = app.add_subcommand("bans", "List the active bans with remaining time and offence count");
  control_flags(bn, true);
  std::string ban_target, ban_duration, ban_reason;
  auto* ba = app.add_subcommand("ban", "Ban an address or prefix now");
  ba->add_option("target", ban_target, "Address or prefix (198.18.0.7, 2001:db8::/64)")->required();
  ba->add_option("--for,-d", ban_duration, "How long (e.g. 10m, 2h, 1d; default 10m; 0 = until unbanned)");
  ba->add_option("--reason,-r", ban_reason, "Why (shown in picket bans and the decision event)");
  control_flags(ba, true);
  std::string unban_target;
  bool unban_all = false;
  auto* ub = app.add_subcommand("unban", "Lift a ban (an address or prefix), or every ban with --all");
  ub->add_option("target", unban_target, "Address or prefix");
  ub->add_flag("--all", unban_all, "Lift every ban and rate limit");
  control_flags(ub, true);
  auto* rl = app.add_subcommand("reload", "Make a running picket reload its configuration (like SIGHUP, with the result)");
  control_flags(rl, false);
  std::vector<std::string> event_types;
  bool follow = false;
  auto* ev = app.add_subcommand("events", "Print a running picket's events as they happen (EVE JSON lines)");
  ev->add_flag("--follow,-f", follow, "Keep following (the default; accepted for habit)");
  ev->add_option("--type,-t", event_types, "Only these event types: alert, decision, anomaly, stats (repeatable)")
      ->check(CLI::IsMember({"alert", "decision", "anomaly", "stats"}));
  control_flags(ev, false);
  double top_interval = 1.0;
  bool top_once = false;
  auto* tp = app.add_subcommand("top", "Live full-screen view of a running picket (q quits)");
  tp->add_option("--interval,-n", top_interval, "Seconds between refreshes")->check(CLI::Range(0.2, 60.0))->capture_default_str();
  tp->add_flag("--once", top_once, "Print one frame and exit (also when output is not a terminal)");
  control_flags(tp, true);

  SimulateOptions sim;
  auto* s = app.add_subcommand("simulate", "Write a deterministic capture of simulated traffic");
  s->add_option("--scenario,-s", sim.scenario, "Scenario name (see --list)");
  s->add_option("--out,-o", sim.out, "Output pcap file");
  s->add_option("--packets,-n", sim.packets, "Total packets (default: the scenario's own)");
  s->add_option("--seed", sim.seed, "Random seed; the same seed gives the same file")->capture_default_str();
  s->add_option("--rate", sim.rate, "Average packets per second (default: the scenario's own)")
      ->check(CLI::NonNegativeNumber);
  s->add_option("--snaplen", sim.snaplen, "Bytes kept of each frame")->check(CLI::Range(64, 262144))
      ->capture_default_str();
  s->add_flag("--ipv6", sim.ipv6, "Use IPv6 addresses (2001:db8::/32)");
  s->add_option("--truth", sim.truth_path, "Also write the scenario's ground truth as JSON");
  s->add_flag("--list", sim.list, "List the scenarios and exit");

  std::string check_path;
  auto* cc = app.add_subcommand("check-config", "Validate a configuration file (exit 0 if valid, 2 if not)");
  cc->add_option("file", check_path, "Configuration file")->required();

  auto* cfg = app.add_subcommand("config", "Inspect the configuration schema");
  cfg->require_subcommand(1);
  auto* schema = cfg->add_subcommand("schema", "Print every configuration key with its type, range, defaults and help");
  std::string example_profile = "normal";
  auto* example = cfg->add_subcommand("example", "Print a complete, commented configuration file");
  example->add_option("--profile,-p", example_profile, "normal, aggressive or paranoid")->capture_default_str();

  DemoOptions demo_opts;
  auto* dm = app.add_subcommand("demo", "Live demo (needs root): picket stops real attacks in network namespaces of its own");
  dm->add_flag("--no-color", demo_opts.no_colour, "Never colour the narration");
  dm->add_flag("--keep", demo_opts.keep_files, "Keep the work directory (config, events, picket's output)");

  InitOptions init_opts;
  auto* in = app.add_subcommand("init", "Interactive setup: ask the key questions and write a commented configuration file");
  in->add_option("--out,-o", init_opts.out, "Configuration file to write")->capture_default_str();
  in->add_flag("--defaults", init_opts.defaults, "Write every default without asking");
  in->add_flag("--force", init_opts.force, "Replace an existing file");

  auto* version = app.add_subcommand("version", "Print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }

  try {
    if (r->parsed()) return cmd_replay(replay);
    if (rn->parsed()) return cmd_run(run);
    if (st->parsed()) return cmd_status(ctl);
    if (bn->parsed()) return cmd_bans(ctl);
    if (ba->parsed()) return cmd_ban(ctl, ban_target, ban_duration, ban_reason);
    if (ub->parsed()) {
      if (unban_all == !unban_target.empty()) {
        fmt::print(stderr, "picket: unban: give an address or prefix, or --all\n");
        return kExitBadInput;
      }
      return cmd_unban(ctl, unban_target, unban_all);
    }
    if (rl->parsed()) return cmd_reload(ctl);
    if (ev->parsed()) return cmd_events(ctl, event_types);
    if (tp->parsed()) return cmd_top(ctl, top_interval, top_once);
    if (s->parsed()) return cmd_simulate(sim);
    if (cc->parsed()) return cmd_check_config(check_path);
    if (schema->parsed()) return cmd_config_schema();
    if (example->parsed()) return cmd_config_example(example_profile);
    if (version->parsed()) return cmd_version();
    if (dm->parsed()) return cmd_demo(demo_opts);
    if (in->parsed()) return cmd_init(init_opts);
  } catch (const std::exception& e) {
    fmt::print(stderr, "picket: error: {}\n", e.what());
    return kExitFailure;
  }
  return kExitBadInput;
}
