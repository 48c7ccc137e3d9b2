// Daemon: `picket run`. Wires live capture → engine (detectors) → policy → enforcer → outputs,
// with the store underneath, and owns the process lifecycle:
//
// Start (start()): load the config, open the outputs, the store and the enforcer, init() the
// backend and reconcile the kernel with the store (missing bans re-applied with their remaining
// time, expired ones dropped, stray elements removed), then open the capture. A start-up error
// is one line ("capture: eth9: no such interface") and start() returns it: the caller exits
// non-zero. A backend that fails (no nftables, no permission) is NOT a start-up error: detection
// runs, the failure is an event, and the responder retries with back-off.
//
// Run (run()): one thread reads packets (blocking at most 100 ms), feeds the engine, moves its
// clock on when idle, flushes outputs, keeps the store tidy. Signals are taken by a dedicated
// thread (sigwait) and only set flags:
//  - SIGTERM / SIGINT: stop. The engine finishes (pending decisions are applied), then the
//    firewall objects are removed (enforce.on_exit: remove) or kept (keep). The store keeps its
//    active decisions either way, so the next start restores whatever time is left.
//  - SIGHUP: reload the config file. An invalid file keeps the running config (the errors are
//    logged); a valid one rebuilds detectors and policy (their state starts afresh) and reopens
//    the output files. Capture, enforcer and store settings need a restart (logged as such).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/schema.hpp"
#include "core/result.hpp"

namespace picket::daemon {

struct RunOptions {
  const config::Schema* schema = nullptr;  // every key picket knows (app::full_schema())
  std::string config_path;              // empty: the built-in normal profile
  std::vector<std::string> interfaces;  // added to capture.interfaces
  std::string events_path;              // overrides output.events_file ("-" = stdout)
  std::string log_path;                 // overrides output.log_file
  std::string store_path;               // overrides store.path
  bool dry_run = false;                 // policy.mode ids, whatever the file says
  // Where start-up notes and warnings go (stderr in `picket run`).
  std::function<void(const std::string&)> log;
};

class Daemon {
 public:
  static core::Result<std::unique_ptr<Daemon>> start(RunOptions opts);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs until a stop is requested; returns the exit status (0 after a clean stop, 1 when the
  // capture failed for good).
  int run();
  // Thread-safe; what SIGTERM/SIGHUP do.
  void request_stop() noexcept;
  void request_reload() noexcept;

  struct Impl;

 private:
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (call before any thread starts, so
// every thread inherits it) and starts a thread that turns them into request_stop() /
// request_reload() on `d`. The returned guard joins the thread.
class SignalThread {
 public:
  static void block_signals();
  explicit SignalThread(Daemon& d);
  ~SignalThread();
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace picket::daemon
