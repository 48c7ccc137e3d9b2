// run_process: runs one program without a shell, with a time limit, feeding it stdin and
// capturing (bounded) stdout and stderr. Shared by the exec and ipset enforcers.
//
// Contract:
// - argv[0] is looked up on PATH (posix_spawnp); the arguments reach the program exactly as given,
//   one string per argument: nothing splits, expands or interprets them.
// - The child gets `stdin_text` on its standard input (then end of file), a copy of picket's
//   environment, and no other file descriptor of picket's (everything picket opens is CLOEXEC).
// - When `timeout` passes before the child exits, the child (by its PID, nothing else) is killed
//   with SIGKILL and reaped; the result says timed_out. Grandchildren it left behind are not
//   tracked (a template should not daemonise).
// - stdout and stderr are kept up to `max_output` bytes each (the rest is read and dropped, so a
//   chatty child never blocks on a full pipe); `truncated` says when something was dropped.
// - The only Error is "could not start" (no such program, fork failed); a child that ran and
//   failed is a ProcessResult with its exit status.
// - Blocking; one call at a time per thread. No signal handlers are touched: writing to a child
//   that closed its stdin cannot raise SIGPIPE (stdin is a socket written with MSG_NOSIGNAL).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace picket::enforce::exec {

struct ProcessResult {
  int exit_code = -1;      // when it exited normally, else -1
  int signal = 0;          // the signal that ended it (SIGKILL after a timeout)
  bool timed_out = false;
  bool truncated = false;  // output beyond max_output was dropped
  std::string out;
  std::string err;

  bool success() const noexcept { return exit_code == 0 && !timed_out; }
};

inline constexpr size_t kDefaultMaxOutput = 64 * 1024;

core::Result<ProcessResult> run_process(const std::vector<std::string>& argv, std::string_view stdin_text,
                                        core::Duration timeout, size_t max_output = kDefaultMaxOutput);

// "exit status 2: ipset v7.17: Set cannot be created" / "timed out after 5s (killed)" /
// "killed by signal 9": for error messages; stderr (else stdout) is trimmed and cut to `max_chars`.
std::string describe_failure(const ProcessResult& r, core::Duration timeout, size_t max_chars = 512);

// "a b 'c d'": for error messages only (never executed).
std::string quote_argv(const std::vector<std::string>& argv);

}  // namespace picket::enforce::exec
