// Running a command without a shell, bounded in time, for the demo and the kernel tests.
//
// Every child gets its own process group (a terminal's Ctrl-C reaches only the parent, which
// stops its children itself), default signal dispositions and /dev/null as stdin. A child still
// running when its time is up is killed by the PID fork() returned — never by name.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace picket::sys {

using std::chrono::milliseconds;

struct CommandResult {
  int exit_code = -1;  // -1: could not start, killed, or timed out
  std::string output;  // stdout and stderr together (at most 1 MiB kept)
};

// Runs argv and waits at most `limit`.
CommandResult run_command(const std::vector<std::string>& argv, milliseconds limit = milliseconds(10000));
// The argument vector as a shell-like line, for error messages.
std::string join_argv(const std::vector<std::string>& argv);

// The argv array for execvp, built before fork(): a process with threads may only make
// async-signal-safe calls in the child (no allocation). Points into `argv`.
std::vector<char*> exec_args(const std::vector<std::string>& argv);
// In the child after fork(): own process group, default signals, stdin /dev/null, stdout and
// stderr to `out_fd`, then exec (exit status 127 when that fails).
[[noreturn]] void exec_child(std::vector<char*>& args, int out_fd);

}  // namespace picket::sys
