// Child processes and network namespaces for the live demo.
//
// Every child runs in its own process group, so a Ctrl-C at the terminal reaches only `picket
// demo`, which then stops its children itself, in order (picket first, so it can remove its rules).
// Children are only ever signalled by the PID this module got from fork().
//
// Namespaces are joined per thread: in_netns() runs a function on a short-lived thread that
// setns()es into /run/netns/NAME; sockets made there stay in that namespace afterwards, whichever
// thread uses them. The demo process itself never changes namespace.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace picket::demo {

using std::chrono::milliseconds;

// Set by the SIGINT/SIGTERM handler (or a test); every wait in the demo checks it.
using StopFlag = std::atomic<bool>;

struct CommandResult {
  int exit_code = -1;  // -1: could not start, killed, or timed out
  std::string output;  // stdout and stderr together (at most 1 MiB kept)
};

// Runs argv (no shell) and waits at most `limit`; a child still running then is killed by PID.
CommandResult run_command(const std::vector<std::string>& argv, milliseconds limit = milliseconds(10000));
// The argument vector as a shell-like line, for error messages.
std::string join_argv(const std::vector<std::string>& argv);

// A long-running child (picket run). Its stdout and stderr go to `log_path`.
class Child {
 public:
  static core::Result<Child> spawn(const std::vector<std::string>& argv, const std::string& log_path);
  Child() = default;
  Child(Child&& o) noexcept : pid_(std::exchange(o.pid_, -1)), status_(o.status_) {}
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();  // stops the child (SIGTERM, then SIGKILL) if it still runs

  pid_t pid() const noexcept { return pid_; }
  // True while the child has not exited (reaps it when it has).
  bool running();
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status text ("exit 0", "signal 9").
  std::string stop(milliseconds grace);
  // How it ended, once it has ("exit 1", "signal 15"); empty while it runs.
  const std::string& status() const noexcept { return status_; }

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::string status_;
};

// Joins /run/netns/NAME on the calling thread.
core::Result<void> enter_netns(const std::string& name);

// Runs fn() on a fresh thread inside namespace `name`; fn returns a core::Result<T>.
template <typename F>
auto in_netns(const std::string& name, F fn) -> decltype(fn()) {
  using R = decltype(fn());
  std::optional<R> out;
  std::string join_error;
  std::thread t([&] {
    if (auto r = enter_netns(name); !r) {
      join_error = r.error().message;
      return;
    }
    out.emplace(fn());
  });
  t.join();
  if (!out) return R(core::make_error(join_error));
  return std::move(*out);
}

// Sleeps up to `d`, waking early (returning false) when `stop` is set.
bool sleep_unless_stopped(milliseconds d, const StopFlag& stop);

}  // namespace picket::demo
