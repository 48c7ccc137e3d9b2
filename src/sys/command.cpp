#include "sys/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace picket::sys {

namespace {

constexpr size_t kMaxOutput = 1 << 20;

int64_t ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::vector<char*> exec_args(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

void exec_child(std::vector<char*>& args, int out_fd) {
  setpgid(0, 0);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, 0);
  dup2(out_fd, 1);
  dup2(out_fd, 2);
  execvp(args[0], args.data());
  _exit(127);
}

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

CommandResult run_command(const std::vector<std::string>& argv, milliseconds limit) {
  CommandResult out;
  if (argv.empty()) return out;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) return out;
  std::vector<char*> args = exec_args(argv);
  pid_t pid = fork();
  if (pid < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    return out;
  }
  if (pid == 0) exec_child(args, pipefd[1]);
  close(pipefd[1]);
  const auto t0 = std::chrono::steady_clock::now();
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    int64_t left = limit.count() - ms_since(t0);
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      timed_out = r == 0;
      break;
    }
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.output.size() < kMaxOutput) out.output.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  if (timed_out) kill(pid, SIGKILL);  // only the child started here
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!timed_out && WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  return out;
}

}  // namespace picket::sys
