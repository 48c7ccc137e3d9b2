#include <fmt/format.h>

#include "app/commands.hpp"
#include "daemon/daemon.hpp"

namespace picket::app {

int cmd_run(const RunOptions& opts) {
  // Before any thread exists, so every thread (engine workers too) leaves the signals to the
  // signal thread.
  daemon::SignalThread::block_signals();
  // A bad configuration is bad input (exit 2), reported like check-config does.
  if (!load_config_or_report(opts.config_path)) return kExitBadInput;
  daemon::RunOptions d;
  d.schema = &full_schema();
  d.config_path = opts.config_path;
  d.interfaces = opts.interfaces;
  d.events_path = opts.events_path;
  d.log_path = opts.log_path;
  d.store_path = opts.store_path;
  d.dry_run = opts.dry_run;
  d.log = [](const std::string& line) { fmt::print(stderr, "picket: {}\n", line); };
  auto started = daemon::Daemon::start(std::move(d));
  if (!started) {
    fmt::print(stderr, "picket: {}\n", started.error().message);
    return kExitFailure;  // no such interface, no permission, an unusable store, ...
  }
  daemon::SignalThread signals(**started);
  fmt::print(stderr, "picket: running (SIGTERM or Ctrl-C stops, SIGHUP reloads)\n");
  const int status = (*started)->run();
  fmt::print(stderr, "picket: stopped\n");
  return status == 0 ? kExitOk : kExitFailure;
}

}  // namespace picket::app
