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
#include "sys/command.hpp"
#include "sys/netns.hpp"

namespace picket::demo {

using std::chrono::milliseconds;

// Set by the SIGINT/SIGTERM handler (or a test); every wait in the demo checks it.
using StopFlag = std::atomic<bool>;

// Commands and namespaces come from src/sys (shared with the kernel tests).
using sys::CommandResult;
using sys::in_netns;
using sys::enter_netns;
using sys::join_argv;
using sys::run_command;

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

// Sleeps up to `d`, waking early (returning false) when `stop` is set.
bool sleep_unless_stopped(milliseconds d, const StopFlag& stop);

}  // namespace picket::demo
