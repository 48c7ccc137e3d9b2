// `picket demo`: the live demonstration behind `make run` (src/demo does the work).
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

#include "app/commands.hpp"
#include "demo/demo.hpp"

namespace picket::app {

namespace {

// Set from the signal handler: a lock-free atomic store is async-signal-safe.
demo::StopFlag g_stop{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }

}  // namespace

int cmd_demo(const DemoOptions& opts) {
  if (geteuid() != 0) {
    fmt::print(stderr, "picket demo: needs root (it creates network namespaces and nftables rules); "
                       "run: sudo picket demo\n");
    return kExitFailure;
  }
  demo::DemoOptions d;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    fmt::print(stderr, "picket demo: cannot find its own binary (/proc/self/exe)\n");
    return kExitFailure;
  }
  d.picket_exe.assign(exe, static_cast<size_t>(n));
  // For developing the demo against another build of the daemon (docs/demo.md).
  if (const char* other = std::getenv("PICKET_DEMO_EXE"); other != nullptr && *other != '\0') d.picket_exe = other;
  const char* no_color = std::getenv("NO_COLOR");
  d.colour = !opts.no_colour && isatty(STDOUT_FILENO) == 1 && (no_color == nullptr || *no_color == '\0');
  d.keep_files = opts.keep_files;

  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  // A closed terminal or pipe must not kill the demo before it cleans up.
  signal(SIGPIPE, SIG_IGN);

  int rc = demo::run_demo(d, g_stop, stdout);

  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return rc;
}

}  // namespace picket::app
